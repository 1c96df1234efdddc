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
//!
//! Two files, everything re-exported here (`pharmacy::allocate_fefo`): `batches.rs` (batches
//! on the shelf, FEFO, stock levels and alerts) and `changes.rs` (receipts, adjustments and
//! the one way a batch's quantity changes).

mod batches;
mod changes;

pub use batches::*;
pub use changes::*;

/// The most units one receipt, adjustment or batch may hold.
pub const QUANTITY_MAX: u32 = 1_000_000;

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
