//! Changes of stock: the one way a batch's quantity changes ([`apply_change`], never below
//! zero), a receipt of a new batch, and adjustments by hand (count corrections, damage,
//! expiry write-offs).

use chrono::NaiveDate;

use super::{QUANTITY_MAX, is_usable, parse_count};
use crate::ValidationErrors;
use crate::money::Money;

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

text_choice!(
    /// What changed a batch's stock (a row of `stock_movements`).
    MovementKind, "the stock movement kinds" {
        /// A new batch received: positive.
        Receipt => "receipt",
        /// Units dispensed against a prescription: negative.
        Dispense => "dispense",
        /// A hand adjustment (its kind and reason in the movement's reason): signed.
        Adjustment => "adjustment",
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
    crate::text::clean_text(raw, min, max, false)
}

/// An adjustment reason: trimmed, [`ADJUSTMENT_REASON_MIN`]–[`ADJUSTMENT_REASON_MAX`]
/// characters, may span lines.
fn clean_text_multiline(raw: &str) -> Result<String, String> {
    crate::text::clean_text(raw, ADJUSTMENT_REASON_MIN, ADJUSTMENT_REASON_MAX, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-11-23";

    fn today() -> NaiveDate {
        day(TODAY)
    }

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
