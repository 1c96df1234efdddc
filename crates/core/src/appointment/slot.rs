//! A validated appointment time ([`TimeSlot`]: half-open, in UTC, on the 5-minute grid), read
//! from a booking form, and the slot keys that let the database refuse double bookings.

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};

use crate::ValidationErrors;

/// The grid slots are placed on, in minutes. Slot starts and ends are multiples of it (in
/// UTC, counted from the Unix epoch), and [`slot_keys`] numbers its cells.
pub const SLOT_GRANULARITY_MINUTES: i64 = 5;
/// The shortest slot, in minutes.
pub const MIN_SLOT_MINUTES: i64 = 5;
/// The longest slot, in minutes (12 hours).
pub const MAX_SLOT_MINUTES: i64 = 12 * 60;

/// The example shown in messages about date-times.
const DATE_TIME_EXAMPLE: &str = "2026-11-23T10:00:00+01:00";

/// A validated appointment time: the half-open interval `[start, end)` in UTC, both ends on
/// the [`SLOT_GRANULARITY_MINUTES`] grid, 5 minutes to 12 hours long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeSlot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeSlot {
    /// Parses a booking's time from its input fields and checks it against `now`.
    ///
    /// - `start_raw` (field `start`): RFC 3339 with an explicit offset or `Z`.
    /// - `end_raw` (field `end`) or `duration_minutes_raw` (field `duration_minutes`): give
    ///   either; when both are given they must agree; when neither is,
    ///   `default_minutes` (the department's slot length) is used. Blank text counts as not
    ///   given, as an empty form field arrives.
    ///
    /// Every problem found is reported, each under its field.
    pub fn parse(
        start_raw: &str,
        end_raw: Option<&str>,
        duration_minutes_raw: Option<&str>,
        default_minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<TimeSlot, ValidationErrors> {
        let mut errors = ValidationErrors::new();

        let start = errors.check("start", parse_instant(start_raw).and_then(on_grid));
        if let Some(start) = start
            && start < now
        {
            errors.push("start", "must not be in the past");
        }

        let end = given(end_raw).and_then(|raw| {
            let end = errors.check("end", parse_instant(raw).and_then(on_grid))?;
            let start = start?;
            let length = (end - start).num_minutes();
            let verdict = if end <= start {
                Err("must be after the start".to_owned())
            } else if length < MIN_SLOT_MINUTES {
                Err(format!(
                    "must be at least {MIN_SLOT_MINUTES} minutes after the start"
                ))
            } else if length > MAX_SLOT_MINUTES {
                Err(format!(
                    "must be at most {} hours after the start",
                    MAX_SLOT_MINUTES / 60
                ))
            } else {
                Ok(end)
            };
            errors.check("end", verdict)
        });

        let minutes = match given(duration_minutes_raw) {
            Some(raw) => errors.check("duration_minutes", parse_duration_minutes(raw)),
            None if given(end_raw).is_none() => {
                errors.check("duration_minutes", check_duration_minutes(default_minutes))
            }
            None => None,
        };

        if let (Some(start), Some(end), Some(minutes)) = (start, end, minutes)
            && (end - start).num_minutes() != minutes
        {
            errors.push(
                "duration_minutes",
                "does not match the end: give an end or a duration",
            );
        }

        errors.into_result()?;
        let start = start.ok_or_else(|| ValidationErrors::single("start", "is required"))?;
        let end = match (end, minutes) {
            (Some(end), _) => end,
            (None, Some(minutes)) => start
                .checked_add_signed(Duration::minutes(minutes))
                .ok_or_else(|| ValidationErrors::single("start", "is too far in the future"))?,
            (None, None) => return Err(ValidationErrors::single("end", "is required")),
        };
        TimeSlot::new(start, end).map_err(|message| ValidationErrors::single("end", message))
    }

    /// A slot from instants already in UTC (a stored appointment, or one computed here):
    /// checks the grid and the length, not the past.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<TimeSlot, String> {
        on_grid(start)?;
        on_grid(end)?;
        if end <= start {
            return Err("must be after the start".into());
        }
        let length = (end - start).num_minutes();
        if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&length) {
            return Err(format!(
                "must be between {MIN_SLOT_MINUTES} minutes and {} hours long",
                MAX_SLOT_MINUTES / 60
            ));
        }
        Ok(TimeSlot { start, end })
    }

    /// The first instant of the slot.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the slot.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How long the slot is.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Whether the two slots share any instant. Back-to-back slots (one ends when the other
    /// starts) do not overlap.
    pub fn overlaps(&self, other: &TimeSlot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// `raw` trimmed, or `None` when it is absent or blank (an empty form field).
fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// Parses an RFC 3339 instant that carries its own offset.
fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return Ok(instant.with_timezone(&Utc));
    }
    let without_offset = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|format| NaiveDateTime::parse_from_str(value, format).is_ok());
    if without_offset {
        Err(format!(
            "must include a time zone offset, e.g. {DATE_TIME_EXAMPLE}"
        ))
    } else {
        Err(format!("must be a date and time like {DATE_TIME_EXAMPLE}"))
    }
}

/// Checks that `instant` is a whole minute on the slot grid.
fn on_grid(instant: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if instant.second() != 0 || instant.nanosecond() != 0 {
        return Err("must be a whole minute (no seconds)".into());
    }
    if instant.timestamp().div_euclid(60) % SLOT_GRANULARITY_MINUTES != 0 {
        return Err(format!(
            "must be on a {SLOT_GRANULARITY_MINUTES}-minute boundary"
        ));
    }
    Ok(instant)
}

fn parse_duration_minutes(raw: &str) -> Result<i64, String> {
    let minutes = raw
        .trim()
        .parse::<i64>()
        .map_err(|_| "must be a whole number of minutes".to_owned())?;
    check_duration_minutes(minutes)
}

pub(super) fn check_duration_minutes(minutes: i64) -> Result<i64, String> {
    if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&minutes) {
        return Err(format!(
            "must be between {MIN_SLOT_MINUTES} and {MAX_SLOT_MINUTES} minutes"
        ));
    }
    if minutes % SLOT_GRANULARITY_MINUTES != 0 {
        return Err(format!(
            "must be a multiple of {SLOT_GRANULARITY_MINUTES} minutes"
        ));
    }
    Ok(minutes)
}

/// The grid cells `slot` occupies: for each, minutes since the Unix epoch divided by
/// [`SLOT_GRANULARITY_MINUTES`]. A 10:00–10:30 slot has six. Two slots overlap exactly when
/// their keys intersect, so a unique index on (clinician, key) and another on (patient, key),
/// filled with the keys of every active appointment, makes the database refuse a double
/// booking on every backend, under any concurrency.
pub fn slot_keys(slot: &TimeSlot) -> Vec<i64> {
    let granule = SLOT_GRANULARITY_MINUTES * 60;
    let first = slot.start.timestamp().div_euclid(granule);
    // The cell holding the slot's last instant, i.e. `end` rounded up, exclusive.
    let past_last = (slot.end.timestamp() + granule - 1).div_euclid(granule);
    (first..past_last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appointment::test_support::{SplitMix, random_slot, slot, utc};

    fn now() -> DateTime<Utc> {
        utc("2026-11-22T12:00:00Z")
    }

    fn parse_error(start: &str, end: Option<&str>, duration: Option<&str>) -> ValidationErrors {
        TimeSlot::parse(start, end, duration, 30, now()).unwrap_err()
    }

    #[test]
    fn a_slot_from_start_and_end_with_an_offset() {
        let parsed = TimeSlot::parse(
            "2026-11-23T10:00:00+01:00",
            Some("2026-11-23T10:30:00+01:00"),
            None,
            30,
            now(),
        )
        .unwrap();
        assert_eq!(parsed.start(), utc("2026-11-23T09:00:00Z"));
        assert_eq!(parsed.end(), utc("2026-11-23T09:30:00Z"));
        assert_eq!(parsed.duration(), Duration::minutes(30));
        let zulu = TimeSlot::parse("2026-11-23T09:00:00Z", Some(""), Some("45"), 30, now());
        assert_eq!(zulu.unwrap().end(), utc("2026-11-23T09:45:00Z"));
    }

    #[test]
    fn the_default_length_applies_when_neither_end_nor_duration_is_given() {
        let parsed =
            TimeSlot::parse("2026-11-23T10:00:00+01:00", None, Some("  "), 20, now()).unwrap();
        assert_eq!(parsed.duration(), Duration::minutes(20));
        let bad_default =
            TimeSlot::parse("2026-11-23T10:00:00+01:00", None, None, 0, now()).unwrap_err();
        assert_eq!(
            bad_default.message_for("duration_minutes"),
            Some("must be between 5 and 720 minutes")
        );
    }

    #[test]
    fn end_and_duration_must_agree_when_both_are_given() {
        assert!(
            TimeSlot::parse(
                "2026-11-23T10:00:00+01:00",
                Some("2026-11-23T10:30:00+01:00"),
                Some("30"),
                30,
                now()
            )
            .is_ok()
        );
        let errors = parse_error(
            "2026-11-23T10:00:00+01:00",
            Some("2026-11-23T10:30:00+01:00"),
            Some("45"),
        );
        assert_eq!(
            errors.message_for("duration_minutes"),
            Some("does not match the end: give an end or a duration")
        );
    }

    #[test]
    fn date_time_messages() {
        let missing_offset = parse_error("2026-11-23T10:00:00", None, None);
        assert_eq!(
            missing_offset.message_for("start"),
            Some("must include a time zone offset, e.g. 2026-11-23T10:00:00+01:00")
        );
        for raw in [
            "2026-11-23T10:00",
            "2026-11-23 10:00",
            "2026-11-23T10:00:00.000",
        ] {
            assert_eq!(
                parse_error(raw, None, None).message_for("start"),
                Some("must include a time zone offset, e.g. 2026-11-23T10:00:00+01:00"),
                "{raw}"
            );
        }
        for raw in [
            "tomorrow",
            "23/11/2026 10:00",
            "2026-11-31T10:00:00+01:00",
            "10:00",
        ] {
            assert_eq!(
                parse_error(raw, None, None).message_for("start"),
                Some("must be a date and time like 2026-11-23T10:00:00+01:00"),
                "{raw}"
            );
        }
        assert_eq!(
            parse_error("  ", None, None).message_for("start"),
            Some("is required")
        );
        let bad_end = parse_error("2026-11-23T10:00:00+01:00", Some("10:30"), None);
        assert_eq!(
            bad_end.message_for("end"),
            Some("must be a date and time like 2026-11-23T10:00:00+01:00")
        );
    }

    #[test]
    fn end_must_be_after_the_start() {
        for end in ["2026-11-23T09:30:00+01:00", "2026-11-23T10:00:00+01:00"] {
            let errors = parse_error("2026-11-23T10:00:00+01:00", Some(end), None);
            assert_eq!(
                errors.message_for("end"),
                Some("must be after the start"),
                "{end}"
            );
        }
        // The same instant written in another offset is still the same instant.
        let errors = parse_error(
            "2026-11-23T10:00:00+01:00",
            Some("2026-11-23T09:00:00Z"),
            None,
        );
        assert_eq!(errors.message_for("end"), Some("must be after the start"));
    }

    #[test]
    fn length_between_five_minutes_and_twelve_hours() {
        let start = "2026-11-23T10:00:00+01:00";
        let three_years = parse_error(start, Some("2029-11-23T10:00:00+01:00"), None);
        assert_eq!(
            three_years.message_for("end"),
            Some("must be at most 12 hours after the start")
        );
        assert!(TimeSlot::parse(start, Some("2026-11-23T22:00:00+01:00"), None, 30, now()).is_ok());
        assert!(TimeSlot::parse(start, Some("2026-11-23T10:05:00+01:00"), None, 30, now()).is_ok());
        for (raw, message) in [
            ("0", "must be between 5 and 720 minutes"),
            ("725", "must be between 5 and 720 minutes"),
            ("1576800", "must be between 5 and 720 minutes"),
            ("-30", "must be between 5 and 720 minutes"),
            ("12", "must be a multiple of 5 minutes"),
            ("half an hour", "must be a whole number of minutes"),
            ("30.5", "must be a whole number of minutes"),
        ] {
            assert_eq!(
                parse_error(start, None, Some(raw)).message_for("duration_minutes"),
                Some(message),
                "{raw}"
            );
        }
        assert_eq!(
            TimeSlot::parse(start, None, Some("720"), 30, now())
                .unwrap()
                .duration(),
            Duration::hours(12)
        );
    }

    #[test]
    fn start_must_not_be_in_the_past() {
        let errors = parse_error("2026-11-22T12:55:00+01:00", None, None);
        assert_eq!(errors.message_for("start"), Some("must not be in the past"));
        // Exactly now is allowed.
        assert!(TimeSlot::parse("2026-11-22T13:00:00+01:00", None, None, 30, now()).is_ok());
    }

    #[test]
    fn minute_precision_on_the_five_minute_grid() {
        let seconds = parse_error("2026-11-23T10:00:30+01:00", None, None);
        assert_eq!(
            seconds.message_for("start"),
            Some("must be a whole minute (no seconds)")
        );
        let fraction = parse_error("2026-11-23T10:00:00.5+01:00", None, None);
        assert_eq!(
            fraction.message_for("start"),
            Some("must be a whole minute (no seconds)")
        );
        let off_grid = parse_error("2026-11-23T10:02:00+01:00", None, None);
        assert_eq!(
            off_grid.message_for("start"),
            Some("must be on a 5-minute boundary")
        );
        let end_off_grid = parse_error(
            "2026-11-23T10:00:00+01:00",
            Some("2026-11-23T10:33:00+01:00"),
            None,
        );
        assert_eq!(
            end_off_grid.message_for("end"),
            Some("must be on a 5-minute boundary")
        );
        // A +05:45 offset keeps local five-minute times on the UTC grid.
        assert!(TimeSlot::parse("2026-11-23T10:05:00+05:45", None, None, 30, now()).is_ok());
    }

    #[test]
    fn every_problem_is_reported_under_its_field() {
        let errors = parse_error("2026-11-20T10:02:00+01:00", Some("soon"), None);
        assert_eq!(
            errors.message_for("start"),
            Some("must be on a 5-minute boundary")
        );
        assert_eq!(
            errors.message_for("end"),
            Some("must be a date and time like 2026-11-23T10:00:00+01:00")
        );
        let errors = parse_error("2026-11-20T10:00:00+01:00", None, Some("x"));
        assert_eq!(errors.0.len(), 2);
        assert_eq!(errors.message_for("start"), Some("must not be in the past"));
    }

    #[test]
    fn new_checks_the_grid_and_the_length_but_not_the_past() {
        assert!(TimeSlot::new(utc("2001-01-01T10:00:00Z"), utc("2001-01-01T10:30:00Z")).is_ok());
        assert_eq!(
            TimeSlot::new(utc("2026-11-23T10:00:00Z"), utc("2026-11-23T10:00:00Z")).unwrap_err(),
            "must be after the start"
        );
        assert_eq!(
            TimeSlot::new(utc("2026-11-23T10:00:00Z"), utc("2026-11-24T10:00:00Z")).unwrap_err(),
            "must be between 5 minutes and 12 hours long"
        );
        assert_eq!(
            TimeSlot::new(utc("2026-11-23T10:01:00Z"), utc("2026-11-23T10:30:00Z")).unwrap_err(),
            "must be on a 5-minute boundary"
        );
    }

    #[test]
    fn back_to_back_slots_do_not_overlap() {
        let first = slot("2026-11-23T10:00:00+01:00", "2026-11-23T10:30:00+01:00");
        let second = slot("2026-11-23T10:30:00+01:00", "2026-11-23T11:00:00+01:00");
        assert!(!first.overlaps(&second));
        assert!(!second.overlaps(&first));
        let straddling = slot("2026-11-23T10:25:00+01:00", "2026-11-23T10:35:00+01:00");
        assert!(first.overlaps(&straddling) && second.overlaps(&straddling));
        let inside = slot("2026-11-23T10:10:00+01:00", "2026-11-23T10:15:00+01:00");
        assert!(first.overlaps(&inside) && inside.overlaps(&first));
        assert!(first.overlaps(&first));
    }

    // ---- slot keys ----

    #[test]
    fn slot_keys_count_the_five_minute_cells() {
        let half_hour = slot("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z");
        let keys = slot_keys(&half_hour);
        assert_eq!(keys.len(), 6);
        let first = utc("2026-11-23T10:00:00Z").timestamp() / 60 / 5;
        assert_eq!(keys, (first..first + 6).collect::<Vec<_>>());
        let next = slot("2026-11-23T10:30:00Z", "2026-11-23T11:00:00Z");
        assert_eq!(slot_keys(&next)[0], first + 6);
        let twelve_hours = slot("2026-11-23T08:00:00Z", "2026-11-23T20:00:00Z");
        assert_eq!(slot_keys(&twelve_hours).len(), 144);
        let before_epoch = slot("1969-12-31T23:55:00Z", "1970-01-01T00:05:00Z");
        assert_eq!(slot_keys(&before_epoch), [-1, 0]);
    }

    #[test]
    fn slots_overlap_exactly_when_their_keys_intersect() {
        let mut rng = SplitMix(0x00C0_FFEE);
        let base = utc("2026-11-23T00:00:00Z");
        let mut overlapping = 0;
        for _ in 0..20_000 {
            let a = random_slot(&mut rng, base, 300);
            let b = random_slot(&mut rng, base, 300);
            let keys_a = slot_keys(&a);
            let shared = slot_keys(&b).iter().any(|k| keys_a.contains(k));
            assert_eq!(a.overlaps(&b), shared, "{a:?} {b:?}");
            assert_eq!(
                keys_a.len() as i64,
                a.duration().num_minutes() / SLOT_GRANULARITY_MINUTES
            );
            overlapping += usize::from(shared);
        }
        // Both outcomes were exercised.
        assert!(overlapping > 1_000 && overlapping < 19_000, "{overlapping}");
    }
}
