//! Payments: how they are made, a payment as typed, whether an invoice may take it
//! ([`check_payment`]), and the invoice's status once its balance changes
//! ([`status_after_payment`]).

use std::fmt;

use super::InvoiceStatus::{self, Draft, Issued, Paid, PartiallyPaid};
use super::{InvoiceTotals, clean_text, given};
use crate::ValidationErrors;
use crate::money::Money;

text_choice!(
    /// How a payment was made.
    PaymentMethod, "the payment methods" {
        Cash => "cash",
        Card => "card",
        Insurance => "insurance",
        Transfer => "transfer",
    }
);

/// Longest accepted payment reference (a card slip, a transfer or claim number).
pub const PAYMENT_REFERENCE_MAX: usize = 100;

/// The raw fields of a payment as typed.
#[derive(Debug, Clone, Copy)]
pub struct PaymentInput<'a> {
    pub amount: &'a str,
    pub method: &'a str,
    pub reference: Option<&'a str>,
}

/// A validated payment (not yet checked against an invoice: see [`check_payment`]).
/// `Debug` hides the reference (it may be a card slip or an insurance claim number).
#[derive(Clone, PartialEq, Eq)]
pub struct Payment {
    amount: Money,
    method: PaymentMethod,
    reference: Option<String>,
}

impl fmt::Debug for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payment")
            .field("amount", &self.amount)
            .field("method", &self.method)
            .field("reference", &self.reference.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Payment {
    /// Parses a payment, reporting every problem under its field (`amount`, `method`,
    /// `reference`).
    pub fn parse(input: &PaymentInput<'_>) -> Result<Payment, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let amount = errors.check(
            "amount",
            Money::parse(input.amount).and_then(|amount| {
                if amount.is_zero() {
                    Err("must be more than zero".to_owned())
                } else {
                    Ok(amount)
                }
            }),
        );
        let method = errors.check("method", PaymentMethod::parse(input.method));
        let reference = match given(input.reference) {
            Some(raw) => errors
                .check(
                    "reference",
                    clean_text(raw, 1, PAYMENT_REFERENCE_MAX, false),
                )
                .map(Some),
            None => Some(None),
        };
        errors.into_result()?;
        match (amount, method, reference) {
            (Some(amount), Some(method), Some(reference)) => Ok(Payment {
                amount,
                method,
                reference,
            }),
            _ => Err(ValidationErrors::single("amount", "is required")),
        }
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn method(&self) -> PaymentMethod {
        self.method
    }

    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
}

/// Checks a payment of `amount` against an invoice in `status` with `balance` left to pay,
/// returning the invoice's status after it: `paid` when it settles the balance,
/// `partially_paid` otherwise.
pub fn check_payment(
    status: InvoiceStatus,
    balance: Money,
    amount: Money,
) -> Result<InvoiceStatus, PaymentRefusal> {
    if !matches!(status, Issued | PartiallyPaid) {
        return Err(PaymentRefusal::NotPayable { status });
    }
    if amount.is_negative() || amount.is_zero() {
        return Err(PaymentRefusal::NotPositive);
    }
    if amount > balance {
        return Err(PaymentRefusal::ExceedsBalance { balance });
    }
    Ok(if amount == balance {
        Paid
    } else {
        PartiallyPaid
    })
}

/// A refused payment; the message names the invoice's status or its balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    #[error("a {status} invoice cannot take payments{}", payable_hint(*status))]
    NotPayable { status: InvoiceStatus },
    #[error("a payment must be more than zero")]
    NotPositive,
    #[error("the payment is more than the balance of {balance}")]
    ExceedsBalance { balance: Money },
}

fn payable_hint(status: InvoiceStatus) -> &'static str {
    match status {
        Draft => ": issue it first",
        Paid => ": nothing is left to pay",
        _ => "",
    }
}

/// The status an issued or partially paid invoice should have given its totals (after a
/// payment or a correction): `paid` when nothing is left to pay, `partially_paid` when
/// something was paid, `issued` otherwise. Other statuses are returned unchanged.
pub fn status_after_payment(status: InvoiceStatus, totals: &InvoiceTotals) -> InvoiceStatus {
    match status {
        Issued | PartiallyPaid => {
            if !totals.balance.is_negative() && !totals.balance.is_zero() {
                if totals.paid.is_zero() {
                    Issued
                } else {
                    PartiallyPaid
                }
            } else {
                Paid
            }
        }
        other => other,
    }
}
