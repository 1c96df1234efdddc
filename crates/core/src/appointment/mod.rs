//! The pure rules of scheduling: appointment statuses and the transitions allowed between
//! them, appointment types, validated time slots, a clinician's weekly working hours, the
//! slot keys that let the database refuse double bookings, and the search for the next free
//! slots. No I/O, no clock: "now" is always passed in.
//!
//! Decisions recorded here:
//!
//! - **Transitions.** `requested → scheduled | cancelled` (declining a request is cancelling
//!   it); `scheduled → checked_in | cancelled | no_show`; `checked_in → in_progress |
//!   cancelled` (a patient who checked in and then left did show up, so that is a
//!   cancellation, not a no-show); `in_progress → completed`; `completed`, `cancelled` and
//!   `no_show` are final. Rescheduling changes a slot, not a status, and is not a transition.
//! - **Which appointments hold their slot** ([`is_active`]): `scheduled`, `checked_in`,
//!   `in_progress` and `completed`. A `requested` appointment does not: it is a wish until
//!   reception or the clinician accepts it into a free slot. A completed appointment keeps its
//!   slot even if it ended early (that was used time, and its slot keys need not be released
//!   on completion). `cancelled` and `no_show` free the slot.
//! - **Time zones.** Input instants are RFC 3339 with an explicit offset and are stored in
//!   UTC. Working hours are in the clinic's local time, given as one
//!   [`FixedOffset`](chrono::FixedOffset) that the hospital configures. Daylight-saving
//!   changes are the caller's concern for now (pass the offset in force for the dates asked
//!   about).
//! - **Slots** are half-open intervals `[start, end)` on a 5-minute grid
//!   ([`SLOT_GRANULARITY_MINUTES`]) of UTC time, between 5 minutes and 12 hours long, so
//!   back-to-back appointments do not overlap.
//!
//! One file per concept, everything re-exported here (`appointment::TimeSlot`): `status.rs`
//! (statuses, their graph, and the appointment types), `slot.rs` (a validated time slot and
//! its slot keys), `hours.rs` (weekly working hours) and `free_slots.rs` (the search for the
//! next free slots).

mod free_slots;
mod hours;
mod slot;
mod status;

pub use free_slots::*;
pub use hours::*;
pub use slot::*;
pub use status::*;

#[cfg(test)]
mod test_support {
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
}
