//! Batches on the shelf and what is worked out from them: whether a batch may be dispensed,
//! the first-expiry-first-out choice of batches ([`allocate_fefo`]), stock levels, and the
//! reorder and expiry alerts.

use chrono::{Days, NaiveDate};

use super::parse_count;

/// The longest expiry window an alert may look ahead, in days (two years).
pub const EXPIRY_WINDOW_MAX_DAYS: u32 = 730;

/// One batch of one drug on the shelf. `Id` is whatever the caller names batches by (a
/// database id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch<Id> {
    pub id: Id,
    /// The date from which the batch may no longer be dispensed.
    pub expiry: NaiveDate,
    /// Units on hand.
    pub quantity: u32,
}

/// Whether a batch expiring on `expiry` may be dispensed on `today`: only before its expiry
/// date.
pub fn is_usable(expiry: NaiveDate, today: NaiveDate) -> bool {
    today < expiry
}

/// Whether a dispensing must be complete or may be partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationMode {
    /// All of the wanted quantity, or nothing.
    WholeOrNothing,
    /// As much as is usable, up to the wanted quantity; refused only when nothing is.
    Partial,
}

/// Not enough usable stock for a dispensing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not enough usable stock: {wanted} wanted, {available} available")]
pub struct Shortfall {
    pub wanted: u32,
    /// Usable units (unexpired batches) at the time of the request.
    pub available: u64,
}

/// Chooses the batches to dispense `wanted` units from, first expiry first out, as
/// `(batch id, units)` pairs in the order used. Expired and empty batches are never used.
/// Asking for nothing allocates nothing.
pub fn allocate_fefo<Id: Copy>(
    batches: &[Batch<Id>],
    wanted: u32,
    today: NaiveDate,
    mode: AllocationMode,
) -> Result<Vec<(Id, u32)>, Shortfall> {
    if wanted == 0 {
        return Ok(Vec::new());
    }
    let mut usable: Vec<&Batch<Id>> = batches
        .iter()
        .filter(|b| b.quantity > 0 && is_usable(b.expiry, today))
        .collect();
    // A stable sort keeps the given order among equals.
    usable.sort_by_key(|b| (b.expiry, b.quantity));
    let available: u64 = usable.iter().map(|b| u64::from(b.quantity)).sum();
    let shortfall = Shortfall { wanted, available };
    if available == 0 || (mode == AllocationMode::WholeOrNothing && available < u64::from(wanted)) {
        return Err(shortfall);
    }
    let mut remaining = wanted;
    let mut allocation = Vec::new();
    for batch in usable {
        if remaining == 0 {
            break;
        }
        let take = remaining.min(batch.quantity);
        allocation.push((batch.id, take));
        remaining -= take;
    }
    Ok(allocation)
}

/// Every unit on the shelf, expired batches included.
pub fn stock_level<Id>(batches: &[Batch<Id>]) -> u64 {
    batches.iter().map(|b| u64::from(b.quantity)).sum()
}

/// The units that may be dispensed on `today` (unexpired batches only).
pub fn usable_stock<Id>(batches: &[Batch<Id>], today: NaiveDate) -> u64 {
    batches
        .iter()
        .filter(|b| is_usable(b.expiry, today))
        .map(|b| u64::from(b.quantity))
        .sum()
}

/// Whether a drug with `level` units (pass [`usable_stock`]) needs reordering: at or below
/// its reorder level.
pub fn reorder_needed(level: u64, reorder_level: u64) -> bool {
    level <= reorder_level
}

/// Non-empty batches usable today that expire within `window_days` days (expiry on or
/// before `today + window_days`), soonest first.
pub fn expiring_within<Id>(
    batches: &[Batch<Id>],
    today: NaiveDate,
    window_days: u32,
) -> Vec<&Batch<Id>> {
    let horizon = today
        .checked_add_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MAX);
    let mut expiring: Vec<&Batch<Id>> = batches
        .iter()
        .filter(|b| b.quantity > 0 && is_usable(b.expiry, today) && b.expiry <= horizon)
        .collect();
    expiring.sort_by_key(|b| b.expiry);
    expiring
}

/// Non-empty batches that may no longer be dispensed on `today` (to be written off),
/// earliest expiry first.
pub fn expired<Id>(batches: &[Batch<Id>], today: NaiveDate) -> Vec<&Batch<Id>> {
    let mut expired: Vec<&Batch<Id>> = batches
        .iter()
        .filter(|b| b.quantity > 0 && !is_usable(b.expiry, today))
        .collect();
    expired.sort_by_key(|b| b.expiry);
    expired
}

/// Parses the expiry-alert window in days: a whole number from 1 to
/// [`EXPIRY_WINDOW_MAX_DAYS`].
pub fn parse_expiry_window(raw: &str) -> Result<u32, String> {
    let days = parse_count(raw, "days")?;
    if !(1..=EXPIRY_WINDOW_MAX_DAYS).contains(&days) {
        return Err(format!(
            "must be between 1 and {EXPIRY_WINDOW_MAX_DAYS} days"
        ));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn batch(id: u32, expiry: &str, quantity: u32) -> Batch<u32> {
        Batch {
            id,
            expiry: day(expiry),
            quantity,
        }
    }

    const TODAY: &str = "2026-11-23";

    fn today() -> NaiveDate {
        day(TODAY)
    }

    #[test]
    fn the_earlier_expiring_batch_is_used_first() {
        let batches = [batch(1, "2027-06-30", 10), batch(2, "2027-01-31", 10)];
        assert_eq!(
            allocate_fefo(&batches, 4, today(), AllocationMode::WholeOrNothing),
            Ok(vec![(2, 4)])
        );
        assert_eq!(
            allocate_fefo(&batches, 15, today(), AllocationMode::WholeOrNothing),
            Ok(vec![(2, 10), (1, 5)])
        );
        assert_eq!(
            allocate_fefo(&batches, 20, today(), AllocationMode::WholeOrNothing),
            Ok(vec![(2, 10), (1, 10)])
        );
    }

    #[test]
    fn an_expired_batch_is_never_used() {
        let batches = [
            batch(1, "2026-11-22", 50), // expired yesterday
            batch(2, TODAY, 50),        // expires today: not usable either
            batch(3, "2026-11-24", 5),  // last usable day is today
        ];
        assert_eq!(
            allocate_fefo(&batches, 5, today(), AllocationMode::WholeOrNothing),
            Ok(vec![(3, 5)])
        );
        assert_eq!(
            allocate_fefo(&batches, 6, today(), AllocationMode::WholeOrNothing),
            Err(Shortfall {
                wanted: 6,
                available: 5
            })
        );
        assert!(!is_usable(day(TODAY), today()));
        assert!(is_usable(day("2026-11-24"), today()));
    }

    #[test]
    fn whole_or_nothing_versus_partial() {
        let batches = [batch(1, "2027-01-31", 3), batch(2, "2027-02-28", 4)];
        let shortfall =
            allocate_fefo(&batches, 10, today(), AllocationMode::WholeOrNothing).unwrap_err();
        assert_eq!(
            shortfall,
            Shortfall {
                wanted: 10,
                available: 7
            }
        );
        assert_eq!(
            shortfall.to_string(),
            "not enough usable stock: 10 wanted, 7 available"
        );
        assert_eq!(
            allocate_fefo(&batches, 10, today(), AllocationMode::Partial),
            Ok(vec![(1, 3), (2, 4)])
        );
        // Partial with nothing usable is still refused.
        let expired_only = [batch(1, "2026-01-01", 9)];
        assert_eq!(
            allocate_fefo(&expired_only, 1, today(), AllocationMode::Partial),
            Err(Shortfall {
                wanted: 1,
                available: 0
            })
        );
        assert_eq!(
            allocate_fefo::<u32>(&[], 1, today(), AllocationMode::Partial),
            Err(Shortfall {
                wanted: 1,
                available: 0
            })
        );
    }

    #[test]
    fn ties_take_the_smaller_batch_then_the_given_order() {
        let batches = [
            batch(1, "2027-01-31", 8),
            batch(2, "2027-01-31", 2),
            batch(3, "2027-01-31", 8),
            batch(4, "2026-12-31", 0), // empty: skipped
        ];
        assert_eq!(
            allocate_fefo(&batches, 12, today(), AllocationMode::WholeOrNothing),
            Ok(vec![(2, 2), (1, 8), (3, 2)])
        );
    }

    #[test]
    fn never_more_than_wanted_or_held() {
        let batches: Vec<Batch<u32>> = (0..20)
            .map(|i| {
                batch(
                    i,
                    if i % 3 == 0 {
                        "2026-10-01"
                    } else {
                        "2027-05-01"
                    },
                    i % 7,
                )
            })
            .collect();
        let usable = usable_stock(&batches, today());
        for wanted in 0..=u32::try_from(usable).unwrap() + 3 {
            for mode in [AllocationMode::WholeOrNothing, AllocationMode::Partial] {
                let Ok(allocation) = allocate_fefo(&batches, wanted, today(), mode) else {
                    assert!(u64::from(wanted) > usable || usable == 0);
                    continue;
                };
                let total: u32 = allocation.iter().map(|(_, q)| q).sum();
                assert!(total <= wanted);
                assert_eq!(u64::from(total), u64::from(wanted).min(usable));
                for (id, taken) in allocation {
                    let b = batches.iter().find(|b| b.id == id).unwrap();
                    assert!(taken > 0 && taken <= b.quantity);
                    assert!(is_usable(b.expiry, today()));
                }
            }
        }
        assert_eq!(
            allocate_fefo(&batches, 0, today(), AllocationMode::WholeOrNothing),
            Ok(vec![])
        );
    }

    // ---- levels and alerts ----

    #[test]
    fn stock_levels_and_reorder() {
        let batches = [batch(1, "2026-11-01", 5), batch(2, "2027-01-31", 7)];
        assert_eq!(stock_level(&batches), 12);
        assert_eq!(usable_stock(&batches, today()), 7);
        assert_eq!(stock_level::<u32>(&[]), 0);
        assert!(reorder_needed(7, 10));
        assert!(reorder_needed(10, 10)); // at the level
        assert!(!reorder_needed(11, 10));
        assert!(reorder_needed(0, 0));
        // u32::MAX units in several batches do not overflow.
        let huge = [
            batch(1, "2027-01-31", u32::MAX),
            batch(2, "2027-01-31", u32::MAX),
        ];
        assert_eq!(stock_level(&huge), 2 * u64::from(u32::MAX));
    }

    #[test]
    fn batches_expiring_within_a_window() {
        let batches = [
            batch(1, "2026-11-20", 5), // expired
            batch(2, TODAY, 5),        // expired today
            batch(3, "2026-12-23", 5), // exactly 30 days ahead
            batch(4, "2026-11-30", 5),
            batch(5, "2026-12-24", 5), // 31 days ahead
            batch(6, "2026-11-25", 0), // empty
        ];
        let ids = |found: Vec<&Batch<u32>>| found.iter().map(|b| b.id).collect::<Vec<_>>();
        assert_eq!(ids(expiring_within(&batches, today(), 30)), vec![4, 3]);
        assert_eq!(
            ids(expiring_within(&batches, today(), 0)),
            Vec::<u32>::new()
        );
        assert_eq!(ids(expired(&batches, today())), vec![1, 2]);
        assert_eq!(
            ids(expiring_within(&batches, NaiveDate::MAX, u32::MAX)),
            Vec::<u32>::new()
        );
        assert_eq!(parse_expiry_window("30"), Ok(30));
        assert!(parse_expiry_window("0").is_err());
        assert!(parse_expiry_window("731").is_err());
        assert!(parse_expiry_window("x").is_err());
    }
}
