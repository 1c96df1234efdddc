//! The price list's rule for a drug's selling price: a fixed price, or the unit cost plus a
//! markup ([`PriceRule`]).

use rust_decimal::Decimal;

use super::given;
use crate::ValidationErrors;
use crate::money::{Money, MoneyError, Percent};

/// What a price-list entry prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceKind {
    /// An appointment type (charged when such an appointment is completed).
    Consultation,
    Procedure,
    /// A drug (charged when dispensed); without a drug, the default for every drug.
    Drug,
    Other,
}

impl PriceKind {
    pub const ALL: [PriceKind; 4] = [
        PriceKind::Consultation,
        PriceKind::Procedure,
        PriceKind::Drug,
        PriceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceKind::Consultation => "consultation",
            PriceKind::Procedure => "procedure",
            PriceKind::Drug => "drug",
            PriceKind::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Result<PriceKind, String> {
        PriceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or_else(|| "must be one of consultation, procedure, drug, other".to_owned())
    }
}

/// The largest markup, in per cent.
pub const MARKUP_MAX_PERCENT: u32 = 1000;

/// How a drug's selling price is set: a fixed price, or a markup on the unit cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceRule {
    Fixed(Money),
    Markup(Percent),
}

impl PriceRule {
    /// Parses a price-list entry from its two fields (`fixed_price`, `markup_percent`):
    /// exactly one must be given.
    pub fn parse(
        fixed_price: Option<&str>,
        markup_percent: Option<&str>,
    ) -> Result<PriceRule, ValidationErrors> {
        match (given(fixed_price), given(markup_percent)) {
            (Some(_), Some(_)) => Err(ValidationErrors::single(
                "markup_percent",
                "give a fixed price or a markup, not both",
            )),
            (None, None) => Err(ValidationErrors::single(
                "fixed_price",
                "give a fixed price or a markup",
            )),
            (Some(raw), None) => Money::parse(raw)
                .map(PriceRule::Fixed)
                .map_err(|message| ValidationErrors::single("fixed_price", message)),
            (None, Some(raw)) => Percent::parse_at_most(raw, MARKUP_MAX_PERCENT)
                .map(PriceRule::Markup)
                .map_err(|message| ValidationErrors::single("markup_percent", message)),
        }
    }

    /// The selling price of one unit: the fixed price, or `unit_cost × (1 + markup %)`
    /// rounded half away from zero to the cent. A markup needs the unit cost.
    pub fn unit_price(&self, unit_cost: Option<Money>) -> Result<Money, PriceError> {
        match self {
            PriceRule::Fixed(price) => Ok(*price),
            PriceRule::Markup(percent) => {
                let cost = unit_cost.ok_or(PriceError::NoCost)?;
                let factor = Decimal::ONE
                    .checked_add(percent.fraction())
                    .ok_or(PriceError::Money(MoneyError::OutOfRange))?;
                cost.checked_mul_rounded(factor).map_err(PriceError::Money)
            }
        }
    }
}

/// Why a price could not be worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("a markup price needs the unit cost, and none is known")]
    NoCost,
    #[error(transparent)]
    Money(MoneyError),
}
