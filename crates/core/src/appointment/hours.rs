//! A clinician's weekly working hours ([`WeeklyHours`]): their text form
//! (`mon-fri 08:00-12:00; sat 09:00-12:00`), and whether they cover a slot.

use std::fmt;

use chrono::{Datelike, FixedOffset, NaiveTime, Timelike, Weekday};

use super::{SLOT_GRANULARITY_MINUTES, TimeSlot};

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
        let start = slot.start().with_timezone(&offset).naive_local();
        let end = slot.end().with_timezone(&offset).naive_local();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appointment::test_support::{SplitMix, cet, slot};

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
}
