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
//!   UTC. Working hours are in the clinic's local time, given as one [`FixedOffset`] that the
//!   hospital configures. Daylight-saving changes are the caller's concern for now (pass the
//!   offset in force for the dates asked about).
//! - **Slots** are half-open intervals `[start, end)` on a 5-minute grid
//!   ([`SLOT_GRANULARITY_MINUTES`]) of UTC time, between 5 minutes and 12 hours long, so
//!   back-to-back appointments do not overlap.

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};

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

text_choice!(
    /// Where an appointment stands. See [`TRANSITIONS`] for the allowed moves.
    AppointmentStatus, "the appointment statuses" {
        /// A patient asked for it; nobody has accepted it yet.
        Requested => "requested",
        /// Booked into a slot.
        Scheduled => "scheduled",
        /// The patient has arrived.
        CheckedIn => "checked_in",
        /// The clinician is seeing the patient.
        InProgress => "in_progress",
        /// Done. Final.
        Completed => "completed",
        /// Cancelled or declined (with a reason, kept elsewhere). Final.
        Cancelled => "cancelled",
        /// The patient did not come. Final.
        NoShow => "no_show",
    }
);

text_choice!(
    /// What kind of appointment it is.
    AppointmentType, "the appointment types" {
        Consultation => "consultation",
        FollowUp => "follow_up",
        Procedure => "procedure",
    }
);

use AppointmentStatus::{
    Cancelled, CheckedIn, Completed, InProgress, NoShow, Requested, Scheduled,
};

/// The allowed transitions: for each status, the statuses it may move to. A status with no
/// successors is final. One row per status, in [`AppointmentStatus::ALL`] order.
pub const TRANSITIONS: [(AppointmentStatus, &[AppointmentStatus]); 7] = [
    (Requested, &[Scheduled, Cancelled]),
    (Scheduled, &[CheckedIn, Cancelled, NoShow]),
    (CheckedIn, &[InProgress, Cancelled]),
    (InProgress, &[Completed]),
    (Completed, &[]),
    (Cancelled, &[]),
    (NoShow, &[]),
];

status_graph!(AppointmentStatus, "appointment", TRANSITIONS);

/// A refused appointment status change. Its message names the current status and what it may
/// become: "cannot go from scheduled to completed: from scheduled it can go to: checked_in,
/// cancelled, no_show".
pub type TransitionError = crate::status::TransitionError<AppointmentStatus>;

/// Whether an appointment in `status` holds its slot: no other appointment of the same
/// clinician or the same patient may overlap it. `requested` does not (not yet accepted);
/// `completed` does (the time was used); `cancelled` and `no_show` do not.
pub fn is_active(status: AppointmentStatus) -> bool {
    matches!(status, Scheduled | CheckedIn | InProgress | Completed)
}

/// Whether an appointment in `status` puts its clinician on the patient's care team:
/// scheduled, checked in, in progress or completed. A request, a cancellation or a no-show
/// does not.
pub fn puts_on_care_team(status: AppointmentStatus) -> bool {
    matches!(status, Scheduled | CheckedIn | InProgress | Completed)
}

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

fn check_duration_minutes(minutes: i64) -> Result<i64, String> {
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

/// The days of the week in the order used everywhere here (Monday first).
const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The example shown in messages about working hours.
const HOURS_EXAMPLE: &str = "mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00";

/// When someone works, week by week: for each weekday, zero or more ranges of the clinic's
/// local time. Ranges on a day are sorted, do not touch or overlap (touching ones are
/// merged), lie within the day (none crosses midnight) and are on the 5-minute grid. At
/// least one day has a range.
///
/// The text form is `mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00`: entries separated by
/// `;`, each a list of days (`mon`, `mon-fri`, `sun-thu`, `mon,wed,fri`) and a list of
/// `HH:MM-HH:MM` ranges. [`Display`](fmt::Display) writes that form back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    /// Indexed by `Weekday::num_days_from_monday`.
    days: [Vec<(NaiveTime, NaiveTime)>; 7],
}

impl Default for WeeklyHours {
    /// Monday to Friday, 08:00–17:00.
    fn default() -> Self {
        let mut days: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        if let (Some(open), Some(close)) = (
            NaiveTime::from_hms_opt(8, 0, 0),
            NaiveTime::from_hms_opt(17, 0, 0),
        ) {
            for day in days.iter_mut().take(5) {
                day.push((open, close));
            }
        }
        Self { days }
    }
}

impl WeeklyHours {
    /// Parses the text form (see the type's documentation).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut days: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        let entries: Vec<&str> = raw
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(format!("must list working hours, e.g. {HOURS_EXAMPLE}"));
        }
        for entry in entries {
            // Days never contain a digit and times always start with one.
            let needs = || format!("\"{entry}\" needs days and times, e.g. mon-fri 08:00-17:00");
            let split = entry.find(|c: char| c.is_ascii_digit()).ok_or_else(needs)?;
            let (day_list, range_list) = entry.split_at(split);
            if day_list.trim().is_empty() {
                return Err(needs());
            }
            let weekdays = parse_day_list(day_list)?;
            let mut ranges = Vec::new();
            for range in range_list.split(',').map(str::trim) {
                ranges.push(parse_time_range(range)?);
            }
            for weekday in weekdays {
                days[day_index(weekday)].extend(ranges.iter().copied());
            }
        }
        for (weekday, ranges) in WEEK.iter().zip(days.iter_mut()) {
            ranges.sort();
            let mut merged: Vec<(NaiveTime, NaiveTime)> = Vec::with_capacity(ranges.len());
            for &(start, end) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if start < last.1 => {
                        return Err(format!(
                            "{}-{} and {}-{} overlap on {}",
                            hhmm(last.0),
                            hhmm(last.1),
                            hhmm(start),
                            hhmm(end),
                            day_name(*weekday)
                        ));
                    }
                    Some(last) if start == last.1 => last.1 = end,
                    _ => merged.push((start, end)),
                }
            }
            *ranges = merged;
        }
        Ok(Self { days })
    }

    /// The ranges on `day`, sorted.
    pub fn ranges(&self, day: Weekday) -> &[(NaiveTime, NaiveTime)] {
        &self.days[day_index(day)]
    }

    /// Whether `slot`, seen in the clinic's local time at `offset`, lies wholly inside one
    /// range on one day.
    pub fn covers(&self, slot: &TimeSlot, offset: FixedOffset) -> bool {
        let start = slot.start.with_timezone(&offset).naive_local();
        let end = slot.end.with_timezone(&offset).naive_local();
        if start.date() != end.date() {
            return false;
        }
        self.ranges(start.weekday())
            .iter()
            .any(|&(open, close)| open <= start.time() && end.time() <= close)
    }
}

impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first_entry = true;
        let mut i = 0;
        while i < 7 {
            if self.days[i].is_empty() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] == self.days[i] {
                j += 1;
            }
            if !first_entry {
                f.write_str("; ")?;
            }
            first_entry = false;
            f.write_str(day_name(WEEK[i]))?;
            if j > i {
                write!(f, "-{}", day_name(WEEK[j]))?;
            }
            f.write_str(" ")?;
            for (k, &(open, close)) in self.days[i].iter().enumerate() {
                if k > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{}-{}", hhmm(open), hhmm(close))?;
            }
            i = j + 1;
        }
        Ok(())
    }
}

fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn parse_day(raw: &str) -> Result<Weekday, String> {
    let value = raw.trim().to_ascii_lowercase();
    WEEK.iter()
        .copied()
        .find(|day| value == day_name(*day) || value == full_day_name(*day))
        .ok_or_else(|| {
            format!(
                "\"{}\" is not a day: use mon, tue, wed, thu, fri, sat or sun",
                raw.trim()
            )
        })
}

fn full_day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// `mon`, `mon-fri`, `sun-thu` (wrapping past Sunday), or a comma list of those.
fn parse_day_list(raw: &str) -> Result<Vec<Weekday>, String> {
    let mut days = Vec::new();
    for part in raw.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((first, last)) => {
                let mut day = parse_day(first)?;
                let last = parse_day(last)?;
                days.push(day);
                while day != last {
                    day = day.succ();
                    days.push(day);
                }
            }
            None => days.push(parse_day(part)?),
        }
    }
    Ok(days)
}

/// `HH:MM-HH:MM`, start before end, both on the 5-minute grid.
fn parse_time_range(raw: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let (open, close) = raw
        .split_once('-')
        .ok_or_else(|| format!("\"{raw}\" is not a time range like 08:00-17:00"))?;
    let open = parse_clock_time(open)?;
    let close = parse_clock_time(close)?;
    if close <= open {
        return Err(format!(
            "\"{raw}\" must end after it starts (a range cannot cross midnight)"
        ));
    }
    Ok((open, close))
}

/// `HH:MM` (or `H:MM`), 00:00–23:59, minutes a multiple of the slot grid.
fn parse_clock_time(raw: &str) -> Result<NaiveTime, String> {
    let value = raw.trim();
    let invalid = || format!("\"{value}\" is not a time like 08:00");
    let (hours, minutes) = value.split_once(':').ok_or_else(invalid)?;
    let digits = |s: &str, max_len: usize| {
        !s.is_empty() && s.len() <= max_len && s.chars().all(|c| c.is_ascii_digit())
    };
    if !digits(hours, 2) || !digits(minutes, 2) || minutes.len() != 2 {
        return Err(invalid());
    }
    let hours: u32 = hours.parse().map_err(|_| invalid())?;
    let minutes: u32 = minutes.parse().map_err(|_| invalid())?;
    let time = NaiveTime::from_hms_opt(hours, minutes, 0).ok_or_else(invalid)?;
    if i64::from(minutes) % SLOT_GRANULARITY_MINUTES != 0 {
        return Err(format!(
            "\"{value}\" must be on a {SLOT_GRANULARITY_MINUTES}-minute boundary"
        ));
    }
    Ok(time)
}

fn hhmm(time: NaiveTime) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// `instant` rounded up to the slot grid.
fn align_up(instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let granule = SLOT_GRANULARITY_MINUTES * 60;
    let seconds = instant.timestamp();
    let mut aligned = seconds.div_euclid(granule) * granule;
    if aligned < seconds || (aligned == seconds && instant.nanosecond() != 0) {
        aligned += granule;
    }
    DateTime::from_timestamp(aligned, 0)
}

/// Up to `count` free slots of `length`, the earliest first, for the offer in a 409 answer
/// or an availability view: on the slot grid, starting at or after `from`, wholly inside
/// `hours` (local time at `offset`), overlapping no slot in `busy` nor each other. The search
/// covers `horizon_days` local calendar days, starting with the day `from` falls on.
///
/// `length` must be a valid slot length (5 minutes to 12 hours, a multiple of the grid);
/// otherwise there is nothing to offer and the result is empty.
pub fn next_free_slots(
    busy: &[TimeSlot],
    hours: &WeeklyHours,
    offset: FixedOffset,
    from: DateTime<Utc>,
    length: Duration,
    count: usize,
    horizon_days: u32,
) -> Vec<TimeSlot> {
    let mut found = Vec::new();
    if count == 0 || check_duration_minutes(length.num_minutes()).is_err() {
        return found;
    }
    if length != Duration::minutes(length.num_minutes()) {
        return found;
    }
    let Some(from) = align_up(from) else {
        return found;
    };
    let first_day: NaiveDate = from.with_timezone(&offset).date_naive();
    for day_offset in 0..horizon_days {
        let Some(date) = first_day.checked_add_days(Days::new(u64::from(day_offset))) else {
            break;
        };
        for &(open, close) in hours.ranges(date.weekday()) {
            let (Some(open), Some(close)) = (
                offset.from_local_datetime(&date.and_time(open)).single(),
                offset.from_local_datetime(&date.and_time(close)).single(),
            ) else {
                continue;
            };
            let close = close.with_timezone(&Utc);
            let Some(mut start) = align_up(open.with_timezone(&Utc).max(from)) else {
                continue;
            };
            while let Some(end) = start.checked_add_signed(length) {
                if end > close {
                    break;
                }
                let Ok(candidate) = TimeSlot::new(start, end) else {
                    break;
                };
                let blocking_end = busy
                    .iter()
                    .filter(|b| b.overlaps(&candidate))
                    .map(|b| b.end)
                    .max();
                match blocking_end {
                    Some(blocked_until) => match align_up(blocked_until) {
                        Some(next) if next > start => start = next,
                        _ => break,
                    },
                    None => {
                        found.push(candidate);
                        if found.len() == count {
                            return found;
                        }
                        start = end;
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn slot(start: &str, end: &str) -> TimeSlot {
        TimeSlot::new(utc(start), utc(end)).unwrap()
    }

    fn now() -> DateTime<Utc> {
        utc("2026-11-22T12:00:00Z")
    }

    fn cet() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    fn parse_error(start: &str, end: Option<&str>, duration: Option<&str>) -> ValidationErrors {
        TimeSlot::parse(start, end, duration, 30, now()).unwrap_err()
    }

    // ---- statuses and transitions ----

    #[test]
    fn statuses_and_types_round_trip_their_text() {
        for status in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(status.as_str()).unwrap(), *status);
            assert_eq!(status.to_string(), status.as_str());
        }
        for kind in AppointmentType::ALL {
            assert_eq!(AppointmentType::parse(kind.as_str()).unwrap(), *kind);
        }
        let texts: Vec<&str> = AppointmentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            texts,
            [
                "requested",
                "scheduled",
                "checked_in",
                "in_progress",
                "completed",
                "cancelled",
                "no_show"
            ]
        );
        assert_eq!(
            AppointmentStatus::parse(" Checked-In ").unwrap(),
            AppointmentStatus::CheckedIn
        );
        assert_eq!(
            AppointmentType::parse("follow-up").unwrap(),
            AppointmentType::FollowUp
        );
        assert_eq!(
            AppointmentStatus::parse("done").unwrap_err(),
            "must be one of the appointment statuses: requested, scheduled, checked_in, \
             in_progress, completed, cancelled, no_show"
        );
        assert_eq!(
            AppointmentType::parse("surgery").unwrap_err(),
            "must be one of the appointment types: consultation, follow_up, procedure"
        );
    }

    #[test]
    fn the_transition_table_has_one_row_per_status_in_order() {
        for (i, status) in AppointmentStatus::ALL.iter().enumerate() {
            assert_eq!(TRANSITIONS[i].0, *status);
        }
    }

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (AppointmentStatus::ALL); x = allowed.
        assert_status_matrix!(
            AppointmentStatus,
            [
                // req sch chk inp com can nos
                ".   x   .   .   .   x   .", // requested
                ".   .   x   .   .   x   x", // scheduled
                ".   .   .   x   .   x   .", // checked_in
                ".   .   .   .   x   .   .", // in_progress
                ".   .   .   .   .   .   .", // completed
                ".   .   .   .   .   .   .", // cancelled
                ".   .   .   .   .   .   .", // no_show
            ]
        );
    }

    #[test]
    fn the_allowed_graph() {
        use AppointmentStatus as S;
        let allowed = [
            (S::Requested, S::Scheduled),
            (S::Requested, S::Cancelled),
            (S::Scheduled, S::CheckedIn),
            (S::Scheduled, S::Cancelled),
            (S::Scheduled, S::NoShow),
            (S::CheckedIn, S::InProgress),
            (S::CheckedIn, S::Cancelled),
            (S::InProgress, S::Completed),
        ];
        for &from in S::ALL {
            for &to in S::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert_eq!(S::Scheduled.transition_to(S::CheckedIn), Ok(S::CheckedIn));
        assert!(S::Completed.is_final() && S::Cancelled.is_final() && S::NoShow.is_final());
        assert!(!S::Requested.is_final() && !S::InProgress.is_final());
    }

    #[test]
    fn a_checked_in_patient_who_leaves_is_cancelled_not_a_no_show() {
        use AppointmentStatus as S;
        assert!(S::CheckedIn.can_transition_to(S::Cancelled));
        assert!(!S::CheckedIn.can_transition_to(S::NoShow));
    }

    #[test]
    fn refusals_name_the_current_status_and_the_way_on() {
        use AppointmentStatus as S;
        assert_eq!(
            S::Completed
                .transition_to(S::Scheduled)
                .unwrap_err()
                .to_string(),
            "cannot go from completed to scheduled: a completed appointment is final"
        );
        assert_eq!(
            S::Scheduled
                .transition_to(S::Completed)
                .unwrap_err()
                .to_string(),
            "cannot go from scheduled to completed: from scheduled it can go to: checked_in, \
             cancelled, no_show"
        );
        assert_eq!(
            S::Scheduled
                .transition_to(S::Scheduled)
                .unwrap_err()
                .to_string(),
            "cannot go from scheduled to scheduled: from scheduled it can go to: checked_in, \
             cancelled, no_show"
        );
        let error = S::NoShow.transition_to(S::CheckedIn).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot go from no_show to checked_in: a no_show appointment is final"
        );
        assert_eq!((error.from(), error.to()), (S::NoShow, S::CheckedIn));
        assert!(error.allowed().is_empty());
    }

    #[test]
    fn which_statuses_hold_the_slot_and_join_the_care_team() {
        use AppointmentStatus as S;
        let active: Vec<S> = S::ALL.iter().copied().filter(|s| is_active(*s)).collect();
        assert_eq!(
            active,
            [S::Scheduled, S::CheckedIn, S::InProgress, S::Completed]
        );
        let care: Vec<S> = S::ALL
            .iter()
            .copied()
            .filter(|s| puts_on_care_team(*s))
            .collect();
        assert_eq!(
            care,
            [S::Scheduled, S::CheckedIn, S::InProgress, S::Completed]
        );
    }

    // ---- time slots ----

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

    /// SplitMix64: a small deterministic generator, enough for property tests.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> i64 {
            i64::try_from(self.next() % n).unwrap()
        }
    }

    fn random_slot(rng: &mut SplitMix, base: DateTime<Utc>, spread_granules: u64) -> TimeSlot {
        let start = base + Duration::minutes(rng.below(spread_granules) * 5);
        // Mostly short slots, sometimes up to the 12-hour maximum.
        let granules = if rng.below(10) == 0 {
            1 + rng.below(144)
        } else {
            1 + rng.below(12)
        };
        TimeSlot::new(start, start + Duration::minutes(granules * 5)).unwrap()
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

    // ---- working hours ----

    fn time(raw: &str) -> NaiveTime {
        NaiveTime::parse_from_str(raw, "%H:%M").unwrap()
    }

    #[test]
    fn weekly_hours_parse_and_display() {
        let hours = WeeklyHours::parse("mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00").unwrap();
        assert_eq!(
            hours.ranges(Weekday::Wed),
            [
                (time("08:00"), time("12:00")),
                (time("13:00"), time("17:00"))
            ]
        );
        assert_eq!(hours.ranges(Weekday::Sat), [(time("09:00"), time("12:00"))]);
        assert!(hours.ranges(Weekday::Sun).is_empty());
        assert_eq!(
            hours.to_string(),
            "mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00"
        );
        let loose = WeeklyHours::parse(" Monday , WED-thu  8:00-12:00 , 12:00-13:30 ;; ").unwrap();
        assert_eq!(loose.to_string(), "mon 08:00-13:30; wed-thu 08:00-13:30");
        // Ranges listed in several entries for one day are merged and sorted.
        let split = WeeklyHours::parse("mon 13:00-17:00; mon 08:00-12:00").unwrap();
        assert_eq!(split.to_string(), "mon 08:00-12:00,13:00-17:00");
        // A week may start on Sunday.
        let sun_thu = WeeklyHours::parse("sun-thu 07:30-15:30").unwrap();
        assert_eq!(sun_thu.to_string(), "mon-thu 07:30-15:30; sun 07:30-15:30");
        assert!(sun_thu.ranges(Weekday::Fri).is_empty());
    }

    #[test]
    fn weekly_hours_errors() {
        for (raw, message) in [
            (
                "",
                "must list working hours, e.g. mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00",
            ),
            (
                "mon-fri",
                "\"mon-fri\" needs days and times, e.g. mon-fri 08:00-17:00",
            ),
            (
                "mo-fr 08:00-17:00",
                "\"mo\" is not a day: use mon, tue, wed, thu, fri, sat or sun",
            ),
            ("mon 8-17", "\"8\" is not a time like 08:00"),
            (
                "mon 08:00",
                "\"08:00\" is not a time range like 08:00-17:00",
            ),
            ("mon 25:00-26:00", "\"25:00\" is not a time like 08:00"),
            ("mon 08:00-24:00", "\"24:00\" is not a time like 08:00"),
            (
                "mon 08:07-12:00",
                "\"08:07\" must be on a 5-minute boundary",
            ),
            (
                "mon 17:00-08:00",
                "\"17:00-08:00\" must end after it starts (a range cannot cross midnight)",
            ),
            (
                "mon-fri 08:00-12:00; wed 11:00-13:00",
                "08:00-12:00 and 11:00-13:00 overlap on wed",
            ),
        ] {
            assert_eq!(WeeklyHours::parse(raw).unwrap_err(), message, "{raw}");
        }
    }

    #[test]
    fn weekly_hours_display_round_trips() {
        let mut rng = SplitMix(7);
        for _ in 0..500 {
            let mut text = Vec::new();
            for day in WEEK {
                if rng.below(3) == 0 {
                    continue;
                }
                let mut minute = rng.below(60) * 5;
                let mut ranges = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let open = minute + rng.below(24) * 5;
                    let close = open + 5 + rng.below(60) * 5;
                    if close >= 24 * 60 {
                        break;
                    }
                    ranges.push(format!(
                        "{:02}:{:02}-{:02}:{:02}",
                        open / 60,
                        open % 60,
                        close / 60,
                        close % 60
                    ));
                    minute = close;
                }
                if !ranges.is_empty() {
                    text.push(format!("{} {}", day_name(day), ranges.join(",")));
                }
            }
            if text.is_empty() {
                continue;
            }
            let hours = WeeklyHours::parse(&text.join("; ")).unwrap();
            assert_eq!(WeeklyHours::parse(&hours.to_string()).unwrap(), hours);
        }
        let default = WeeklyHours::default();
        assert_eq!(default.to_string(), "mon-fri 08:00-17:00");
        assert_eq!(WeeklyHours::parse(&default.to_string()).unwrap(), default);
    }

    #[test]
    fn hours_cover_a_slot_wholly_inside_one_range() {
        let hours = WeeklyHours::parse("mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00").unwrap();
        // 2026-11-23 is a Monday.
        let covered = |start: &str, end: &str| hours.covers(&slot(start, end), cet());
        assert!(covered(
            "2026-11-23T08:00:00+01:00",
            "2026-11-23T08:30:00+01:00"
        ));
        assert!(covered(
            "2026-11-23T11:30:00+01:00",
            "2026-11-23T12:00:00+01:00"
        ));
        assert!(covered(
            "2026-11-23T16:30:00+01:00",
            "2026-11-23T17:00:00+01:00"
        ));
        // The same instant written in UTC: local time decides.
        assert!(covered("2026-11-23T07:00:00Z", "2026-11-23T07:30:00Z"));
        assert!(!covered(
            "2026-11-23T07:30:00+01:00",
            "2026-11-23T08:30:00+01:00"
        ));
        assert!(!covered(
            "2026-11-23T11:30:00+01:00",
            "2026-11-23T12:30:00+01:00"
        ));
        assert!(!covered(
            "2026-11-23T11:45:00+01:00",
            "2026-11-23T13:15:00+01:00"
        ));
        assert!(!covered(
            "2026-11-23T16:45:00+01:00",
            "2026-11-23T17:15:00+01:00"
        ));
        assert!(covered(
            "2026-11-28T09:00:00+01:00",
            "2026-11-28T12:00:00+01:00"
        ));
        assert!(!covered(
            "2026-11-28T13:00:00+01:00",
            "2026-11-28T13:30:00+01:00"
        ));
        assert!(!covered(
            "2026-11-29T09:00:00+01:00",
            "2026-11-29T09:30:00+01:00"
        ));
        // Seen from UTC the Monday 08:00 slot starts at 07:00 and is outside the hours.
        assert!(!hours.covers(
            &slot("2026-11-23T08:00:00+01:00", "2026-11-23T08:30:00+01:00"),
            FixedOffset::east_opt(0).unwrap()
        ));
        // A slot crossing midnight is never covered.
        let late = WeeklyHours::parse("mon-sun 18:00-23:55").unwrap();
        assert!(!late.covers(
            &slot("2026-11-23T23:30:00+01:00", "2026-11-24T00:30:00+01:00"),
            cet()
        ));
        assert!(late.covers(
            &slot("2026-11-23T23:30:00+01:00", "2026-11-23T23:55:00+01:00"),
            cet()
        ));
    }

    // ---- next free slots ----

    #[test]
    fn next_free_slots_skip_busy_time_and_stay_inside_the_hours() {
        let hours = WeeklyHours::parse("mon-fri 08:00-12:00,13:00-17:00").unwrap();
        let busy = [
            slot("2026-11-23T10:00:00+01:00", "2026-11-23T10:30:00+01:00"),
            slot("2026-11-23T10:30:00+01:00", "2026-11-23T11:20:00+01:00"),
            slot("2026-11-23T11:40:00+01:00", "2026-11-23T12:00:00+01:00"),
        ];
        let free = next_free_slots(
            &busy,
            &hours,
            cet(),
            utc("2026-11-23T10:07:00+01:00"),
            Duration::minutes(30),
            4,
            14,
        );
        let starts: Vec<String> = free
            .iter()
            .map(|s| {
                s.start()
                    .with_timezone(&cet())
                    .format("%a %H:%M")
                    .to_string()
            })
            .collect();
        assert_eq!(starts, ["Mon 13:00", "Mon 13:30", "Mon 14:00", "Mon 14:30"]);
        for candidate in &free {
            assert!(hours.covers(candidate, cet()));
            assert!(busy.iter().all(|b| !b.overlaps(candidate)));
            assert_eq!(candidate.duration(), Duration::minutes(30));
        }
        // A 20-minute gap fits a 20-minute slot, back to back with its neighbours.
        let short = next_free_slots(
            &busy,
            &hours,
            cet(),
            utc("2026-11-23T10:07:00+01:00"),
            Duration::minutes(20),
            1,
            14,
        );
        assert_eq!(
            short,
            [slot(
                "2026-11-23T11:20:00+01:00",
                "2026-11-23T11:40:00+01:00"
            )]
        );
    }

    #[test]
    fn next_free_slots_roll_over_to_the_next_working_day() {
        let hours = WeeklyHours::parse("mon-fri 08:00-17:00").unwrap();
        // Friday 16:45: nothing fits today; Saturday and Sunday are closed.
        let free = next_free_slots(
            &[],
            &hours,
            cet(),
            utc("2026-11-27T16:45:00+01:00"),
            Duration::minutes(30),
            2,
            7,
        );
        assert_eq!(
            free,
            [
                slot("2026-11-30T08:00:00+01:00", "2026-11-30T08:30:00+01:00"),
                slot("2026-11-30T08:30:00+01:00", "2026-11-30T09:00:00+01:00"),
            ]
        );
        // The horizon counts calendar days from the first one: three days reach Sunday.
        assert!(
            next_free_slots(
                &[],
                &hours,
                cet(),
                utc("2026-11-27T16:45:00+01:00"),
                Duration::minutes(30),
                2,
                3,
            )
            .is_empty()
        );
        // `from` is judged in local time: 23:30Z on Sunday is already Monday in +01:00.
        let free = next_free_slots(
            &[],
            &hours,
            cet(),
            utc("2026-11-29T23:30:00Z"),
            Duration::minutes(60),
            1,
            1,
        );
        assert_eq!(
            free,
            [slot(
                "2026-11-30T08:00:00+01:00",
                "2026-11-30T09:00:00+01:00"
            )]
        );
    }

    #[test]
    fn next_free_slots_edge_cases() {
        let hours = WeeklyHours::default();
        let from = utc("2026-11-23T08:00:00+01:00");
        let ask = |length: Duration, count: usize, horizon: u32| {
            next_free_slots(&[], &hours, cet(), from, length, count, horizon)
        };
        assert!(ask(Duration::minutes(30), 0, 7).is_empty());
        assert!(ask(Duration::minutes(30), 3, 0).is_empty());
        assert!(ask(Duration::minutes(7), 3, 7).is_empty());
        assert!(ask(Duration::seconds(1810), 3, 7).is_empty());
        assert!(ask(Duration::minutes(0), 3, 7).is_empty());
        assert!(ask(Duration::minutes(-30), 3, 7).is_empty());
        assert!(ask(Duration::hours(13), 3, 7).is_empty());
        // Longer than any working range: nothing fits.
        assert!(ask(Duration::hours(10), 3, 7).is_empty());
        assert_eq!(ask(Duration::hours(9), 3, 7).len(), 3);
    }

    #[test]
    fn next_free_slots_property() {
        let hours = WeeklyHours::parse("mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00").unwrap();
        let mut rng = SplitMix(42);
        let base = utc("2026-11-23T06:00:00Z");
        for _ in 0..200 {
            let busy: Vec<TimeSlot> = (0..rng.below(40))
                .map(|_| random_slot(&mut rng, base, 12 * 24 * 3))
                .collect();
            let from = base + Duration::seconds(rng.below(3 * 24 * 3600));
            let length = Duration::minutes(5 * (1 + rng.below(24)));
            let free = next_free_slots(&busy, &hours, cet(), from, length, 5, 10);
            assert!(!free.is_empty());
            for (i, candidate) in free.iter().enumerate() {
                assert!(candidate.start() >= from);
                assert_eq!(candidate.duration(), length);
                assert!(hours.covers(candidate, cet()), "{candidate:?}");
                assert!(busy.iter().all(|b| !b.overlaps(candidate)));
                assert!(
                    free[..i]
                        .iter()
                        .all(|earlier| earlier.end() <= candidate.start())
                );
            }
            // Nothing free was skipped before the first offer: every grid start between
            // `from` and it either leaves the hours or hits a busy slot.
            let mut start = align_up(from).unwrap();
            while start < free[0].start() {
                let candidate = TimeSlot::new(start, start + length).unwrap();
                assert!(
                    !hours.covers(&candidate, cet()) || busy.iter().any(|b| b.overlaps(&candidate)),
                    "skipped {candidate:?}"
                );
                start += Duration::minutes(SLOT_GRANULARITY_MINUTES);
            }
        }
    }
}
