//! An invoice's totals (exact sums of its lines' rounded amounts, and of its payments) and
//! the checks made on them: after a correction ([`check_totals`]) and before issuing
//! ([`check_issue`]).

use super::InvoiceStatus::{self, Issued};
use super::{LineAmounts, LineItem, TransitionError};
use crate::ValidationErrors;
use crate::money::{Money, MoneyError};

/// An invoice's totals: the sums of its lines' rounded amounts, and of its payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceTotals {
    /// Σ gross.
    pub subtotal: Money,
    /// Σ discount.
    pub discount_total: Money,
    /// Σ tax.
    pub tax_total: Money,
    /// Σ line total = subtotal − discount total + tax total.
    pub grand_total: Money,
    /// Σ payments.
    pub paid: Money,
    /// grand total − paid.
    pub balance: Money,
}

/// Adds up `lines` and `payments` exactly (see the module's notes).
pub fn invoice_totals(lines: &[LineItem], payments: &[Money]) -> Result<InvoiceTotals, MoneyError> {
    let sum = |pick: fn(&LineAmounts) -> Money| {
        Money::checked_sum(lines.iter().map(|line| pick(&line.amounts())))
    };
    let grand_total = sum(|a| a.total)?;
    let paid = Money::checked_sum(payments.iter().copied())?;
    Ok(InvoiceTotals {
        subtotal: sum(|a| a.gross)?,
        discount_total: sum(|a| a.discount)?,
        tax_total: sum(|a| a.tax)?,
        grand_total,
        paid,
        balance: grand_total.checked_sub(paid)?,
    })
}

/// Checks totals after a change of lines (a correction): the grand total may not be
/// negative, nor below what was already paid (that would be a refund).
pub fn check_totals(totals: &InvoiceTotals) -> Result<(), ValidationErrors> {
    if totals.grand_total.is_negative() {
        return Err(ValidationErrors::single(
            "unit_price",
            "would make the invoice's total negative",
        ));
    }
    if totals.balance.is_negative() {
        return Err(ValidationErrors::single(
            "unit_price",
            format!(
                "would bring the total below the {} already paid; a refund is not a correction",
                totals.paid
            ),
        ));
    }
    Ok(())
}

/// Checks that an invoice in `status` with `totals` may be issued: it has at least one line
/// and something to charge.
pub fn check_issue(
    status: InvoiceStatus,
    line_count: usize,
    totals: &InvoiceTotals,
) -> Result<InvoiceStatus, IssueRefusal> {
    status.transition_to(Issued).map_err(IssueRefusal::Status)?;
    if line_count == 0 {
        return Err(IssueRefusal::NoLines);
    }
    if !totals.grand_total.is_negative() && !totals.grand_total.is_zero() {
        Ok(Issued)
    } else {
        Err(IssueRefusal::NothingToCharge)
    }
}

/// Why an invoice cannot be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IssueRefusal {
    #[error("{0}")]
    Status(TransitionError),
    #[error("an invoice without lines cannot be issued")]
    NoLines,
    #[error("an invoice whose total is zero cannot be issued")]
    NothingToCharge,
}
