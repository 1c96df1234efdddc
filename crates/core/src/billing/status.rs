//! The invoice statuses and their graph ([`TRANSITIONS`]), and voiding, which needs a
//! [`VoidReason`].

use std::fmt;

use super::clean_text;

text_choice!(
    /// Where an invoice stands. See [`TRANSITIONS`].
    InvoiceStatus, "the invoice statuses" {
        /// Being put together; lines may be edited.
        Draft => "draft",
        /// Sent to the patient; nothing paid yet.
        Issued => "issued",
        /// Some of it paid.
        PartiallyPaid => "partially_paid",
        /// Fully paid. Final.
        Paid => "paid",
        /// Cancelled, with a reason. Final.
        Void => "void",
    }
);

use InvoiceStatus::{Draft, Issued, Paid, PartiallyPaid, Void};

/// The allowed transitions: for each status, the statuses it may move to. A status with no
/// successors is final. One row per status, in [`InvoiceStatus::ALL`] order.
pub const TRANSITIONS: [(InvoiceStatus, &[InvoiceStatus]); 5] = [
    (Draft, &[Issued, Void]),
    (Issued, &[PartiallyPaid, Paid, Void]),
    (PartiallyPaid, &[Paid, Void]),
    (Paid, &[]),
    (Void, &[]),
];

status_graph!(InvoiceStatus, "invoice", TRANSITIONS);

/// Voids an invoice in `from`: allowed from any status that is not final, and only with a
/// reason (so the signature asks for one). Admin-only is the service's rule.
pub fn void(from: InvoiceStatus, _reason: &VoidReason) -> Result<InvoiceStatus, TransitionError> {
    from.transition_to(Void)
}

/// A refused invoice status change. Its message names the current status and what it may
/// become: "cannot go from draft to paid: from draft it can go to: issued, void".
pub type TransitionError = crate::status::TransitionError<InvoiceStatus>;

/// Shortest accepted void reason, in characters.
pub const VOID_REASON_MIN: usize = 5;
/// Longest accepted void reason, in characters.
pub const VOID_REASON_MAX: usize = 500;

/// Why an invoice is voided: 5–500 characters with at least one letter, may span lines.
#[derive(Clone, PartialEq, Eq)]
pub struct VoidReason(String);

impl VoidReason {
    pub fn parse(raw: &str) -> Result<VoidReason, String> {
        let value = clean_text(raw, VOID_REASON_MIN, VOID_REASON_MAX, true)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must say in words why the invoice is voided".into());
        }
        Ok(VoidReason(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VoidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VoidReason(…)")
    }
}

impl fmt::Display for VoidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
