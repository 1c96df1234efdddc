//! Invoice lines: what a line is ([`LineKind`]: a charge, or a correction added after
//! issuing), its checked fields, its amounts (rounded per line, in the order set out in the
//! notes of `billing/mod.rs`), and when lines may be added or edited.

use std::fmt;

use rust_decimal::Decimal;

use super::InvoiceStatus::{self, Draft, Issued, Paid, PartiallyPaid, Void};
use super::{clean_text, given};
use crate::ValidationErrors;
use crate::money::{Money, Percent, parse_decimal_text};

text_choice!(
    /// What a line is: an ordinary charge, or a money correction added after issuing.
    LineKind, "the line kinds" {
        /// A charge: a consultation, a procedure, a drug. Non-negative price.
        Charge => "charge",
        /// A correction: a new line that credits (negative price) or adds to the invoice.
        Correction => "correction",
    }
);

/// Longest accepted line description, in characters.
pub const DESCRIPTION_MAX: usize = 200;
/// The largest quantity on one line.
pub const QUANTITY_MAX: u32 = 100_000;
/// The decimal places a quantity may have (2.5 ml, 0.125 g).
pub const QUANTITY_SCALE: u32 = 3;

/// What a line is for ("Consultation", "Amoxicillin 500 mg capsules"): 1–200 characters on
/// one line. `Debug` hides the text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LineDescription(String);

impl LineDescription {
    pub fn parse(raw: &str) -> Result<LineDescription, String> {
        clean_text(raw, 1, DESCRIPTION_MAX, false).map(LineDescription)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LineDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LineDescription(…)")
    }
}

impl fmt::Display for LineDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many of a line's unit: more than zero, at most [`QUANTITY_MAX`], at most three
/// decimals (`3`, `2.5`, `0,125`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(Decimal);

impl Quantity {
    pub fn parse(raw: &str) -> Result<Quantity, String> {
        let value = parse_decimal_text(raw, QUANTITY_SCALE, 6, false)?;
        Quantity::new(value)
    }

    /// A quantity from a decimal (a dispensed count, a stored value), with the same checks.
    pub fn new(value: Decimal) -> Result<Quantity, String> {
        if value <= Decimal::ZERO {
            return Err("must be more than zero".into());
        }
        if value > Decimal::from(QUANTITY_MAX) {
            return Err(format!("must be at most {QUANTITY_MAX}"));
        }
        if value.round_dp(QUANTITY_SCALE) != value {
            return Err(format!("must have at most {QUANTITY_SCALE} decimal places"));
        }
        Ok(Quantity(value.normalize()))
    }

    /// A whole-number quantity (dispensed units).
    pub fn whole(count: u32) -> Result<Quantity, String> {
        Quantity::new(Decimal::from(count))
    }

    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A line's discount: none, a percentage of the line's gross amount, or a fixed amount (at
/// most the gross amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discount {
    #[default]
    None,
    Percent(Percent),
    Amount(Money),
}

/// A line's amounts, each rounded to the cent (see the module's notes for the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    /// `round(quantity × unit price)`.
    pub gross: Money,
    /// The discount taken off `gross`.
    pub discount: Money,
    /// `gross − discount`.
    pub net: Money,
    /// `round(net × tax rate)`.
    pub tax: Money,
    /// `net + tax`.
    pub total: Money,
}

/// The raw fields of a line as typed (a blank optional field counts as not given).
#[derive(Debug, Clone, Copy)]
pub struct LineItemInput<'a> {
    pub description: &'a str,
    pub quantity: &'a str,
    pub unit_price: &'a str,
    pub discount_percent: Option<&'a str>,
    pub discount_amount: Option<&'a str>,
    /// The tax rate in per cent; absent or blank means 0.
    pub tax_rate: Option<&'a str>,
}

/// A validated invoice line with its amounts computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    kind: LineKind,
    description: LineDescription,
    quantity: Quantity,
    unit_price: Money,
    discount: Discount,
    tax_rate: Percent,
    amounts: LineAmounts,
}

impl LineItem {
    /// Parses a line typed into a form, reporting every problem under its field
    /// (`description`, `quantity`, `unit_price`, `discount_percent`, `discount_amount`,
    /// `tax_rate`).
    pub fn parse(kind: LineKind, input: &LineItemInput<'_>) -> Result<LineItem, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let description = errors.check("description", LineDescription::parse(input.description));
        let quantity = errors.check("quantity", Quantity::parse(input.quantity));
        let unit_price = errors.check(
            "unit_price",
            match kind {
                LineKind::Charge => Money::parse(input.unit_price),
                LineKind::Correction => Money::parse_signed(input.unit_price),
            },
        );
        let percent = given(input.discount_percent)
            .and_then(|raw| errors.check("discount_percent", Percent::parse(raw)));
        let amount = given(input.discount_amount)
            .and_then(|raw| errors.check("discount_amount", Money::parse(raw)));
        let discount = match (percent, amount) {
            (Some(_), Some(_)) => {
                errors.push(
                    "discount_amount",
                    "give a discount percent or a discount amount, not both",
                );
                Discount::None
            }
            (Some(percent), None) => Discount::Percent(percent),
            (None, Some(amount)) => Discount::Amount(amount),
            (None, None) => Discount::None,
        };
        let tax_rate = match given(input.tax_rate) {
            Some(raw) => errors.check("tax_rate", Percent::parse(raw)),
            None => Some(Percent::ZERO),
        };
        errors.into_result()?;
        match (description, quantity, unit_price, tax_rate) {
            (Some(description), Some(quantity), Some(unit_price), Some(tax_rate)) => {
                LineItem::new(kind, description, quantity, unit_price, discount, tax_rate)
            }
            _ => Err(ValidationErrors::single("description", "is required")),
        }
    }

    /// A line from validated parts (an automatic charge, a stored line), with the checks
    /// that involve several fields: a charge's price is not negative, a correction is not
    /// zero and has no discount, a fixed discount is at most the gross amount, and the
    /// amounts stay in range.
    pub fn new(
        kind: LineKind,
        description: LineDescription,
        quantity: Quantity,
        unit_price: Money,
        discount: Discount,
        tax_rate: Percent,
    ) -> Result<LineItem, ValidationErrors> {
        match kind {
            LineKind::Charge if unit_price.is_negative() => {
                return Err(ValidationErrors::single(
                    "unit_price",
                    "must not be negative: a credit is a correction line",
                ));
            }
            LineKind::Correction if unit_price.is_zero() => {
                return Err(ValidationErrors::single(
                    "unit_price",
                    "must not be zero on a correction",
                ));
            }
            LineKind::Correction if discount != Discount::None => {
                return Err(ValidationErrors::single(
                    "discount_amount",
                    "a correction carries no discount: give the corrected amount",
                ));
            }
            _ => {}
        }
        let too_large =
            || ValidationErrors::single("quantity", "makes the line's amount too large");
        let gross = unit_price
            .checked_mul_rounded(quantity.value())
            .map_err(|_| too_large())?;
        let discount_money = match discount {
            Discount::None => Money::ZERO,
            Discount::Percent(percent) => {
                gross.checked_percent(percent).map_err(|_| too_large())?
            }
            Discount::Amount(amount) => {
                if amount > gross {
                    return Err(ValidationErrors::single(
                        "discount_amount",
                        format!("must be at most the line's amount of {gross}"),
                    ));
                }
                amount
            }
        };
        let net = gross.checked_sub(discount_money).map_err(|_| too_large())?;
        let tax = net.checked_percent(tax_rate).map_err(|_| too_large())?;
        let total = net.checked_add(tax).map_err(|_| too_large())?;
        Ok(LineItem {
            kind,
            description,
            quantity,
            unit_price,
            discount,
            tax_rate,
            amounts: LineAmounts {
                gross,
                discount: discount_money,
                net,
                tax,
                total,
            },
        })
    }

    pub fn kind(&self) -> LineKind {
        self.kind
    }

    pub fn description(&self) -> &LineDescription {
        &self.description
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    pub fn discount(&self) -> Discount {
        self.discount
    }

    pub fn tax_rate(&self) -> Percent {
        self.tax_rate
    }

    /// The line's amounts, rounded per line.
    pub fn amounts(&self) -> LineAmounts {
        self.amounts
    }
}

/// Whether the lines of an invoice in `status` may be edited or removed: only in a draft.
/// Once issued, money corrections are new lines ([`check_line_addition`]).
pub fn check_line_edit(status: InvoiceStatus) -> Result<(), LineRefusal> {
    if status == Draft {
        Ok(())
    } else {
        Err(LineRefusal::Edit { status })
    }
}

/// Whether a line of `kind` may be added to an invoice in `status`: any line to a draft,
/// only a correction to an issued or partially paid invoice, nothing to a paid or void one.
pub fn check_line_addition(status: InvoiceStatus, kind: LineKind) -> Result<(), LineRefusal> {
    match (status, kind) {
        (Draft, _) | (Issued | PartiallyPaid, LineKind::Correction) => Ok(()),
        (Issued | PartiallyPaid, LineKind::Charge) => Err(LineRefusal::ChargeAfterIssue { status }),
        (Paid | Void, _) => Err(LineRefusal::Closed { status }),
    }
}

/// A refused change to an invoice's lines; the message names the invoice's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineRefusal {
    #[error(
        "the lines of {} invoice cannot be changed: money corrections are new lines",
        a(*status)
    )]
    Edit { status: InvoiceStatus },
    #[error(
        "{} invoice takes only correction lines; new charges go on a draft invoice",
        a(*status)
    )]
    ChargeAfterIssue { status: InvoiceStatus },
    #[error("a {status} invoice is closed and takes no new lines")]
    Closed { status: InvoiceStatus },
}

/// The status with its indefinite article, for messages: "an issued", "a draft".
fn a(status: InvoiceStatus) -> String {
    match status {
        Issued => format!("an {status}"),
        _ => format!("a {status}"),
    }
}
