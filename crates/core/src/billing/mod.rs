//! The pure rules of billing: invoice line items and their amounts, invoice totals,
//! the invoice status graph, payments and their methods, which lines may still be edited,
//! and the price-list rule for drugs. Amounts are [`Money`](crate::money::Money) (exact
//! decimals); no I/O, no clock.
//!
//! Decisions recorded here:
//!
//! - **Line amounts are rounded per line, then summed.** For each line, in this order:
//!   `gross = round(quantity × unit price)`; `discount = round(gross × percent)` or the fixed
//!   discount amount; `net = gross − discount`; `tax = round(net × tax rate)`;
//!   `total = net + tax`. `round` is half away from zero to the cent
//!   ([`crate::money::round_money`]). The invoice's subtotal, discount total, tax total and
//!   grand total are the exact sums of those per-line cents, so the printed lines always add
//!   up to the printed totals (tax is computed on each line's discounted amount, because
//!   lines may carry different tax rates). Example: 3 × 0.10 with 10 % tax is a gross of
//!   0.30, tax 0.03, total 0.33.
//! - **Statuses.** `draft → issued | void`; `issued → partially_paid | paid | void`;
//!   `partially_paid → paid | void`; `paid` and `void` are final. Payments move the status
//!   ([`status_after_payment`]); voiding needs a [`VoidReason`] ([`void`]). Only admins may
//!   void: that is the service's rule (the permission matrix), not checked here. Voiding a
//!   partially paid invoice does not refund anything: the payments stay recorded, and a
//!   refund is a separate act (not modelled yet).
//! - **Money corrections are new lines, never edits of issued lines.** Lines are edited or
//!   removed only while the invoice is a draft ([`check_line_edit`]). An issued or partially
//!   paid invoice only takes new [`LineKind::Correction`] lines ([`check_line_addition`]),
//!   whose unit price may be negative (a credit); a paid or void invoice takes nothing (a
//!   correction of a paid invoice is a refund, not modelled yet). A correction carries no
//!   discount (its amount is already the net correction) but does carry tax, so that
//!   reversing a taxed charge reverses its tax too. A correction may not bring the grand
//!   total below what was already paid, nor below zero ([`check_totals`]).
//! - **Automatic charges** (completed appointments, dispensing) go on the patient's draft
//!   invoice; choosing or opening that draft is the service's job.
//! - **Payments** are positive, never more than the balance, and only on an issued or
//!   partially paid invoice ([`check_payment`]).
//! - **Drug prices** ([`PriceRule`]): a fixed price, or the unit cost × (1 + markup %),
//!   rounded half away from zero to the cent. Markups go up to 1000 %.
//!
//! Line descriptions may name a drug, so [`LineDescription`] does not print its text in
//! `Debug` output (a drug on a patient's bill is health data).
//!
//! One file per concept, everything re-exported here (`billing::LineItem`): `status.rs` (the
//! invoice status graph and voiding), `lines.rs` (line items, their amounts, and when lines
//! may change), `totals.rs` (the totals, and the checks before issuing and after a
//! correction), `payment.rs` and `price.rs` (the drug price rule). The tests are in
//! `tests.rs`.

mod lines;
mod payment;
mod price;
mod status;
mod totals;

#[cfg(test)]
mod tests;

pub use lines::*;
pub use payment::*;
pub use price::*;
pub use status::*;
pub use totals::*;

use crate::text::{clean_text, given};
