//! The pure rules of pharmacy stock: batches and their expiry, the
//! first-expiry-first-out choice of batches when dispensing, stock levels and reorder and
//! expiry alerts, stock receipts and adjustments. No I/O, no clock: "today" is passed in,
//! as the hospital's local date.
//!
//! Decisions recorded here:
//!
//! - **A batch expires at the start of its expiry date.** It is usable while
//!   `today < expiry` ([`is_usable`]) and never dispensed on its expiry day or after: what
//!   is dispensed today is taken over the following days, so a batch dispensed on its last
//!   day would be taken expired. The same rule refuses a receipt whose expiry is today or
//!   earlier.
//! - **FEFO** ([`allocate_fefo`]): usable batches in order of expiry; among batches with the
//!   same expiry the smaller one first (it clears remnants, so fewer batches stay open),
//!   then the order given. Never more than a batch holds.
//! - **Partial dispensing** is the caller's choice ([`AllocationMode`]): `WholeOrNothing`
//!   refuses unless the whole quantity is available; `Partial` gives what there is and
//!   refuses only when there is nothing. Either way a refusal is a [`Shortfall`] saying how
//!   much was usable. That the allocation holds under concurrency (rows locked, or a
//!   conditional decrement) is the store's job; here it is only computed.
//! - **Stock levels**: [`stock_level`] counts every unit on the shelf, expired ones too (they
//!   are physically there until written off); [`usable_stock`] counts only what may be
//!   dispensed, and is what reorder alerts should compare ([`reorder_needed`]: at or below
//!   the reorder level), so that expired stock does not hide a need to reorder.
//! - **Expiry alerts** ([`expiring_within`]): non-empty batches still usable today whose
//!   expiry falls within the next `window_days` days; already expired ones are listed
//!   separately ([`expired`]), as they need a write-off, not a warning.
//! - **Adjustments** ([`Adjustment`]): a count correction (a signed change, after counting
//!   the shelf), damage (units removed) or an expiry write-off (units removed from an
//!   expired batch only). Each needs a reason. **Stock never goes negative**: every change
//!   goes through [`apply_change`], which refuses to take more than the batch holds.

use chrono::{Days, NaiveDate};

use crate::ValidationErrors;
use crate::money::Money;

/// The most units one receipt, adjustment or batch may hold.
pub const QUANTITY_MAX: u32 = 1_000_000;
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

// ---------------------------------------------------------------------------------------
// Changes of stock
// ---------------------------------------------------------------------------------------

/// A change that would take a batch below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stock cannot go below zero: the batch holds {on_hand}, the change is {change}")]
pub struct NegativeStock {
    pub on_hand: u32,
    pub change: i64,
}

/// Applies a signed `change` to a batch holding `on_hand` units: refused when the result
/// would be negative or above [`QUANTITY_MAX`]. Every change of stock goes through here.
pub fn apply_change(on_hand: u32, change: i64) -> Result<u32, NegativeStock> {
    let refused = NegativeStock { on_hand, change };
    let result = i64::from(on_hand).checked_add(change).ok_or(refused)?;
    if result < 0 {
        return Err(refused);
    }
    u32::try_from(result)
        .ok()
        .filter(|q| *q <= QUANTITY_MAX)
        .ok_or(refused)
}

/// The longest batch number, in characters.
pub const BATCH_NUMBER_MAX: usize = 50;
/// The longest supplier name, in characters.
pub const SUPPLIER_MAX: usize = 200;

/// The raw fields of a stock receipt as typed.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptInput<'a> {
    pub supplier: &'a str,
    pub batch_number: &'a str,
    /// `YYYY-MM-DD`.
    pub expiry: &'a str,
    pub quantity: &'a str,
    pub unit_cost: &'a str,
}

/// A validated stock receipt: a new batch arriving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    supplier: String,
    batch_number: String,
    expiry: NaiveDate,
    quantity: u32,
    unit_cost: Money,
}

impl Receipt {
    /// Parses a receipt, reporting every problem under its field (`supplier`,
    /// `batch_number`, `expiry`, `quantity`, `unit_cost`). The expiry must be after `today`:
    /// a batch that could not be dispensed today is not received.
    pub fn parse(input: &ReceiptInput<'_>, today: NaiveDate) -> Result<Receipt, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let supplier = errors.check("supplier", clean_text(input.supplier, 1, SUPPLIER_MAX));
        let batch_number = errors.check(
            "batch_number",
            clean_text(input.batch_number, 1, BATCH_NUMBER_MAX),
        );
        let expiry = errors.check(
            "expiry",
            parse_date(input.expiry).and_then(|expiry| {
                if is_usable(expiry, today) {
                    Ok(expiry)
                } else {
                    Err("must be after today: an expired batch is not received".to_owned())
                }
            }),
        );
        let quantity = errors.check(
            "quantity",
            parse_count(input.quantity, "units").and_then(|q| {
                if q == 0 {
                    Err("must be more than zero".to_owned())
                } else {
                    Ok(q)
                }
            }),
        );
        let unit_cost = errors.check("unit_cost", Money::parse(input.unit_cost));
        errors.into_result()?;
        match (supplier, batch_number, expiry, quantity, unit_cost) {
            (Some(supplier), Some(batch_number), Some(expiry), Some(quantity), Some(unit_cost)) => {
                Ok(Receipt {
                    supplier,
                    batch_number,
                    expiry,
                    quantity,
                    unit_cost,
                })
            }
            _ => Err(ValidationErrors::single("quantity", "is required")),
        }
    }

    pub fn supplier(&self) -> &str {
        &self.supplier
    }

    pub fn batch_number(&self) -> &str {
        &self.batch_number
    }

    pub fn expiry(&self) -> NaiveDate {
        self.expiry
    }

    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    pub fn unit_cost(&self) -> Money {
        self.unit_cost
    }
}

text_choice!(
    /// Why stock is adjusted by hand.
    AdjustmentKind, "the adjustment kinds" {
        /// The shelf was counted and differs: a signed change.
        CountCorrection => "count_correction",
        /// Units broken, spoiled or lost: removed.
        Damage => "damage",
        /// Units of an expired batch removed.
        ExpiryWriteOff => "expiry_write_off",
    }
);

/// Shortest accepted adjustment reason, in characters.
pub const ADJUSTMENT_REASON_MIN: usize = 5;
/// Longest accepted adjustment reason, in characters.
pub const ADJUSTMENT_REASON_MAX: usize = 500;

/// The raw fields of an adjustment as typed. `quantity` is a signed change (`+3`, `-2`)
/// for a count correction and a number of units removed (`4`) otherwise.
#[derive(Debug, Clone, Copy)]
pub struct AdjustmentInput<'a> {
    pub kind: &'a str,
    pub quantity: &'a str,
    pub reason: &'a str,
}

/// A validated adjustment of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    kind: AdjustmentKind,
    change: i64,
    reason: String,
}

impl Adjustment {
    /// Parses an adjustment of a batch that holds `on_hand` units and expires on `expiry`,
    /// reporting every problem under its field (`kind`, `quantity`, `reason`). Refused: a
    /// zero change, a change that would take the batch below zero, an expiry write-off of a
    /// batch still usable on `today`, a reason without words.
    pub fn parse(
        input: &AdjustmentInput<'_>,
        on_hand: u32,
        expiry: NaiveDate,
        today: NaiveDate,
    ) -> Result<Adjustment, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = errors.check("kind", AdjustmentKind::parse(input.kind));
        let reason = errors.check(
            "reason",
            clean_text_multiline(input.reason).and_then(|reason| {
                if reason.chars().any(char::is_alphabetic) {
                    Ok(reason)
                } else {
                    Err("must say in words why the stock is adjusted".to_owned())
                }
            }),
        );
        let change = kind.and_then(|kind| {
            let change = match kind {
                AdjustmentKind::CountCorrection => parse_signed_count(input.quantity),
                AdjustmentKind::Damage | AdjustmentKind::ExpiryWriteOff => {
                    parse_count(input.quantity, "units").map(|q| -i64::from(q))
                }
            };
            let change = change.and_then(|change| {
                if change == 0 {
                    return Err("must not be zero".to_owned());
                }
                apply_change(on_hand, change)
                    .map_err(|_| format!("would take the batch below zero: it holds {on_hand}"))?;
                Ok(change)
            });
            errors.check("quantity", change)
        });
        if kind == Some(AdjustmentKind::ExpiryWriteOff) && is_usable(expiry, today) {
            errors.push(
                "kind",
                format!(
                    "the batch is usable until {expiry}: an expiry write-off is for expired batches"
                ),
            );
        }
        errors.into_result()?;
        match (kind, change, reason) {
            (Some(kind), Some(change), Some(reason)) => Ok(Adjustment {
                kind,
                change,
                reason,
            }),
            _ => Err(ValidationErrors::single("quantity", "is required")),
        }
    }

    pub fn kind(&self) -> AdjustmentKind {
        self.kind
    }

    /// The signed change to the batch's quantity.
    pub fn change(&self) -> i64 {
        self.change
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The batch's quantity after this adjustment, refused if it would be negative (the
    /// batch changed since the adjustment was checked).
    pub fn apply(&self, on_hand: u32) -> Result<u32, NegativeStock> {
        apply_change(on_hand, self.change)
    }
}

// ---------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------

/// A whole number of `what` from 0 to [`QUANTITY_MAX`].
fn parse_count(raw: &str, what: &str) -> Result<u32, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    if value.starts_with('-') {
        return Err("must not be negative".into());
    }
    let digits = value.strip_prefix('+').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be a whole number of {what}"));
    }
    let too_large = || format!("must be at most {QUANTITY_MAX} {what}");
    let number: u32 = digits.parse().map_err(|_| too_large())?;
    if number > QUANTITY_MAX {
        return Err(too_large());
    }
    Ok(number)
}

/// A signed whole number of units (`+3`, `-2`, `3`), magnitude at most [`QUANTITY_MAX`].
fn parse_signed_count(raw: &str) -> Result<i64, String> {
    let value = raw.trim();
    match value.strip_prefix('-') {
        Some(rest) if rest.starts_with(['+', '-']) => Err("must not be negative".to_owned()),
        Some(rest) => parse_count(rest, "units").map(|q| -i64::from(q)),
        None => parse_count(value, "units").map(i64::from),
    }
    .map_err(|message| {
        if message == "must not be negative" {
            "must be a whole number of units, like +3 or -2".to_owned()
        } else {
            message
        }
    })
}

/// A date written `YYYY-MM-DD`.
fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| "must be a date like 2027-03-31".to_owned())
}

/// Trimmed one-line text of `min..=max` characters without control characters.
fn clean_text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let length = value.chars().count();
    if length < min {
        return Err(format!("must be at least {min} characters"));
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// An adjustment reason: trimmed, [`ADJUSTMENT_REASON_MIN`]–[`ADJUSTMENT_REASON_MAX`]
/// characters, may span lines.
fn clean_text_multiline(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let length = value.chars().count();
    if length < ADJUSTMENT_REASON_MIN {
        return Err(format!(
            "must be at least {ADJUSTMENT_REASON_MIN} characters"
        ));
    }
    if length > ADJUSTMENT_REASON_MAX {
        return Err(format!(
            "must be at most {ADJUSTMENT_REASON_MAX} characters"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
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

    // ---- FEFO ----

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

    // ---- changes ----

    #[test]
    fn stock_never_goes_negative() {
        assert_eq!(apply_change(10, -10), Ok(0));
        assert_eq!(apply_change(10, 5), Ok(15));
        let err = apply_change(10, -11).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stock cannot go below zero: the batch holds 10, the change is -11"
        );
        assert!(apply_change(0, i64::MIN).is_err());
        assert!(apply_change(u32::MAX, i64::MAX).is_err());
        assert!(apply_change(QUANTITY_MAX, 1).is_err());
    }

    fn receipt_input() -> ReceiptInput<'static> {
        ReceiptInput {
            supplier: "Central Medical Stores",
            batch_number: "AMX-2026-117",
            expiry: "2027-03-31",
            quantity: "500",
            unit_cost: "0.28",
        }
    }

    #[test]
    fn receipts() {
        let receipt = Receipt::parse(&receipt_input(), today()).unwrap();
        assert_eq!(receipt.supplier(), "Central Medical Stores");
        assert_eq!(receipt.batch_number(), "AMX-2026-117");
        assert_eq!(receipt.expiry(), day("2027-03-31"));
        assert_eq!(receipt.quantity(), 500);
        assert_eq!(receipt.unit_cost(), Money::parse("0.28").unwrap());

        let err = Receipt::parse(
            &ReceiptInput {
                supplier: "",
                batch_number: "x\ty",
                expiry: TODAY,
                quantity: "-5",
                unit_cost: "1.234",
            },
            today(),
        )
        .unwrap_err();
        assert_eq!(err.message_for("supplier"), Some("is required"));
        assert_eq!(
            err.message_for("batch_number"),
            Some("must not contain control characters")
        );
        assert_eq!(
            err.message_for("expiry"),
            Some("must be after today: an expired batch is not received")
        );
        assert_eq!(err.message_for("quantity"), Some("must not be negative"));
        assert!(err.message_for("unit_cost").is_some());

        let with = |f: fn(&mut ReceiptInput<'static>)| {
            let mut input = receipt_input();
            f(&mut input);
            Receipt::parse(&input, today()).unwrap_err()
        };
        assert_eq!(
            with(|i| i.quantity = "0").message_for("quantity"),
            Some("must be more than zero")
        );
        assert_eq!(
            with(|i| i.quantity = "1000001").message_for("quantity"),
            Some("must be at most 1000000 units")
        );
        assert_eq!(
            with(|i| i.quantity = "2.5").message_for("quantity"),
            Some("must be a whole number of units")
        );
        assert_eq!(
            with(|i| i.expiry = "31/03/2027").message_for("expiry"),
            Some("must be a date like 2027-03-31")
        );
        assert_eq!(
            with(|i| i.expiry = "2026-02-30").message_for("expiry"),
            Some("must be a date like 2027-03-31")
        );
    }

    fn adjust(
        kind: &str,
        quantity: &str,
        on_hand: u32,
        expiry: &str,
    ) -> Result<Adjustment, ValidationErrors> {
        Adjustment::parse(
            &AdjustmentInput {
                kind,
                quantity,
                reason: "Counted at the monthly stock take",
            },
            on_hand,
            day(expiry),
            today(),
        )
    }

    #[test]
    fn count_corrections_go_both_ways() {
        let up = adjust("count_correction", "+3", 10, "2027-01-31").unwrap();
        assert_eq!(up.kind(), AdjustmentKind::CountCorrection);
        assert_eq!(up.change(), 3);
        assert_eq!(up.apply(10), Ok(13));
        assert_eq!(up.reason(), "Counted at the monthly stock take");
        let down = adjust("Count correction", "-10", 10, "2027-01-31").unwrap();
        assert_eq!(down.change(), -10);
        assert_eq!(down.apply(10), Ok(0));
        // The batch changed since: still never negative.
        assert!(down.apply(9).is_err());
        assert_eq!(
            adjust("count_correction", "4", 10, "2027-01-31")
                .unwrap()
                .change(),
            4
        );
        let err = adjust("count_correction", "-11", 10, "2027-01-31").unwrap_err();
        assert_eq!(
            err.message_for("quantity"),
            Some("would take the batch below zero: it holds 10")
        );
        let err = adjust("count_correction", "0", 10, "2027-01-31").unwrap_err();
        assert_eq!(err.message_for("quantity"), Some("must not be zero"));
        let err = adjust("count_correction", "--3", 10, "2027-01-31").unwrap_err();
        assert_eq!(
            err.message_for("quantity"),
            Some("must be a whole number of units, like +3 or -2")
        );
        assert!(adjust("count_correction", "-+3", 10, "2027-01-31").is_err());
    }

    #[test]
    fn damage_and_write_offs_remove_units() {
        let damage = adjust("damage", "4", 10, "2027-01-31").unwrap();
        assert_eq!(damage.change(), -4);
        assert_eq!(
            adjust("damage", "-4", 10, "2027-01-31")
                .unwrap_err()
                .message_for("quantity"),
            Some("must not be negative")
        );
        assert!(adjust("damage", "11", 10, "2027-01-31").is_err());

        let write_off = adjust("expiry-write-off", "10", 10, TODAY).unwrap();
        assert_eq!(write_off.kind(), AdjustmentKind::ExpiryWriteOff);
        assert_eq!(write_off.apply(10), Ok(0));
        let err = adjust("expiry_write_off", "10", 10, "2026-11-24").unwrap_err();
        assert_eq!(
            err.message_for("kind"),
            Some(
                "the batch is usable until 2026-11-24: an expiry write-off is for expired batches"
            )
        );
    }

    #[test]
    fn every_adjustment_needs_a_reason() {
        let parse = |reason: &str| {
            Adjustment::parse(
                &AdjustmentInput {
                    kind: "damage",
                    quantity: "1",
                    reason,
                },
                10,
                day("2027-01-31"),
                today(),
            )
        };
        assert_eq!(
            parse(" ").unwrap_err().message_for("reason"),
            Some("is required")
        );
        assert_eq!(
            parse("oops").unwrap_err().message_for("reason"),
            Some("must be at least 5 characters")
        );
        assert!(
            parse("12345")
                .unwrap_err()
                .message_for("reason")
                .unwrap()
                .contains("in words")
        );
        assert!(parse(&"a".repeat(501)).is_err());
        assert!(parse("Dropped a box.\nTwo vials broken.").is_ok());
        let err = Adjustment::parse(
            &AdjustmentInput {
                kind: "theft",
                quantity: "1",
                reason: "",
            },
            10,
            day("2027-01-31"),
            today(),
        )
        .unwrap_err();
        assert_eq!(
            err.message_for("kind"),
            Some("must be one of the adjustment kinds: count_correction, damage, expiry_write_off")
        );
        assert_eq!(err.message_for("reason"), Some("is required"));
    }
}
