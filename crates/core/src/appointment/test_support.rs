//! Fixtures shared by the scheduling tests: instants, slots, the clinic's offset and a small
//! deterministic random generator.

use chrono::{DateTime, Duration, FixedOffset, Utc};

use super::TimeSlot;

pub(super) fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn slot(start: &str, end: &str) -> TimeSlot {
    TimeSlot::new(utc(start), utc(end)).unwrap()
}

pub(super) fn cet() -> FixedOffset {
    FixedOffset::east_opt(3600).unwrap()
}

/// SplitMix64: a small deterministic generator, enough for property tests.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> i64 {
        i64::try_from(self.next() % n).unwrap()
    }
}

pub(super) fn random_slot(
    rng: &mut SplitMix,
    base: DateTime<Utc>,
    spread_granules: u64,
) -> TimeSlot {
    let start = base + Duration::minutes(rng.below(spread_granules) * 5);
    // Mostly short slots, sometimes up to the 12-hour maximum.
    let granules = if rng.below(10) == 0 {
        1 + rng.below(144)
    } else {
        1 + rng.below(12)
    };
    TimeSlot::new(start, start + Duration::minutes(granules * 5)).unwrap()
}
