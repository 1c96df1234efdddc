//! The search for the next free slots inside a clinician's working hours
//! ([`next_free_slots`]), offered when a booking is refused or shown as availability.

use chrono::{DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

use super::slot::check_duration_minutes;
use super::{SLOT_GRANULARITY_MINUTES, TimeSlot, WeeklyHours};

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
                    .map(|b| b.end())
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
    use crate::appointment::test_support::{SplitMix, cet, random_slot, slot, utc};

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
