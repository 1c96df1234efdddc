//! How instants are stored: whole microseconds since the Unix epoch, UTC, in a 64-bit
//! integer. That is exact, sorts correctly and means the same on SQLite, PostgreSQL and
//! MariaDB (whose date-time types differ in range, precision and time-zone handling).

use chrono::{DateTime, TimeZone, Utc};

/// Microseconds since the Unix epoch for `instant`.
pub fn to_micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

/// The instant `micros` microseconds after the Unix epoch; out-of-range values clamp to the
/// epoch rather than panic (they can only come from a tampered row).
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// `instant` at the precision it is stored with (whole microseconds), so that a record built
/// in memory shows the same time as the one read back.
pub fn whole_micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    from_micros(to_micros(instant))
}

/// The new version stamp (`updated_at`) of a row last changed at `previous`: `now` in whole
/// microseconds, but strictly later than `previous` even with a coarse or frozen clock.
pub fn version_after(previous: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    from_micros(to_micros(now).max(to_micros(previous) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip() {
        let now = Utc::now();
        let back = from_micros(to_micros(now));
        assert_eq!(to_micros(back), to_micros(now));
        assert_eq!(whole_micros(now), back);
    }

    #[test]
    fn a_new_version_is_later_than_the_old_one() {
        let old = from_micros(1_000);
        assert_eq!(version_after(old, from_micros(5_000)), from_micros(5_000));
        assert_eq!(version_after(old, from_micros(1_000)), from_micros(1_001));
        assert_eq!(version_after(old, from_micros(10)), from_micros(1_001));
    }
}
