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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip() {
        let now = Utc::now();
        let back = from_micros(to_micros(now));
        assert_eq!(to_micros(back), to_micros(now));
    }
}
