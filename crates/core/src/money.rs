//! Money: amounts of exactly two decimal places held in a [`Decimal`] (never a float), the
//! [`Currency`] code they are in, percentages, the parsing of typed amounts and the one
//! rounding rule of invoices. No I/O.
//!
//! Decisions recorded here:
//!
//! - **Exact decimals only.** An amount is a [`Decimal`] with scale 2; nothing here converts
//!   to or from `f32`/`f64`. Intermediate products (quantity × price, amount × rate) are
//!   exact decimals too and are rounded once, by [`round_money`].
//! - **Rounding is half away from zero** ("commercial" or "half-up" rounding: 0.005 → 0.01,
//!   −0.005 → −0.01), as most tax authorities require on invoices, and not banker's
//!   rounding (half to even), which would round 0.005 down to 0.00.
//! - **Range.** An amount's magnitude is at most [`Money::MAX`] (999 999 999 999.99), far
//!   above any hospital bill and far below what [`Decimal`] holds, so every sum of a few
//!   thousand lines is exact. The checked operations refuse to leave that range with
//!   [`MoneyError::OutOfRange`] instead of wrapping or panicking.
//! - **Sign.** [`Money`] may be negative (a correction line, a balance after a credit);
//!   [`Money::parse`] takes only non-negative amounts (prices, payments) and
//!   [`Money::parse_signed`] is for the places a credit is allowed.
//! - **Typed amounts** ([`Money::parse`]): a dot or a comma as the decimal separator
//!   (`12.50`, `12,50`), spaces (also no-break and narrow no-break spaces) or apostrophes
//!   between groups of three digits (`1 234.56`, `1'234.56`), at most two decimals. Using both
//!   a dot and a comma (`1,234.56` or `1.234,56`) is refused as ambiguous, and a third
//!   decimal is refused rather than rounded: a typed price is taken as typed or not at all.
//! - **Currency.** One currency per installation, configured later; [`Currency`] is three
//!   uppercase ASCII letters (ISO 4217 shape, not checked against the list). [`Money`]
//!   itself carries no currency.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// The number of decimal places of an amount.
pub const MONEY_SCALE: u32 = 2;

/// The largest whole part an amount may have, in digits (999 999 999 999).
const MAX_WHOLE_DIGITS: usize = 12;

/// The example shown in messages about amounts.
const AMOUNT_EXAMPLE: &str = "1 234.50";

/// A three-letter currency code in upper case (`EUR`, `USD`, `KES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The US dollar, the default currency of new invoices (`--currency`).
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a currency code: three ASCII letters, surrounding space ignored, lower case
    /// accepted and upper-cased.
    pub fn parse(raw: &str) -> Result<Currency, String> {
        let value = raw.trim();
        let bytes = value.as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            [] => Err("is required".into()),
            _ => Err("must be three letters, like EUR or USD".into()),
        }
    }

    /// The code, e.g. `EUR`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl TryFrom<&str> for Currency {
    type Error = String;

    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        Currency::parse(raw)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An arithmetic result that left the range of amounts, or a negative amount where none may
/// be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result's magnitude is above [`Money::MAX`].
    #[error("the amount is out of range (at most 999999999999.99)")]
    OutOfRange,
    /// The result has more than two decimals where an exact amount was required.
    #[error("the amount has more than two decimal places")]
    TooPrecise,
}

/// An amount of money: exactly two decimal places, magnitude at most [`Money::MAX`].
///
/// Made by [`Money::parse`], [`Money::parse_signed`], [`Money::from_minor_units`],
/// [`Money::from_decimal_exact`] or [`Money::from_decimal_rounded`]. `Display` prints the
/// plain form (`1234.50`, `-0.05`), which [`Money::parse_signed`] reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Money(Decimal);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, MONEY_SCALE));
    /// The largest amount: 999 999 999 999.99.
    pub const MAX: Money = Money(Decimal::from_parts(
        // 99_999_999_999_999 = 0x5AF3_107A_3FFF
        0x107A_3FFF,
        0x5AF3,
        0,
        false,
        MONEY_SCALE,
    ));

    /// Parses a non-negative typed amount (a price, a payment). See the module's notes for
    /// what is accepted.
    pub fn parse(raw: &str) -> Result<Money, String> {
        let value = parse_decimal_text(raw, MONEY_SCALE, MAX_WHOLE_DIGITS, false)?;
        Ok(Money(with_scale(value)))
    }

    /// Like [`Money::parse`], but a leading `-` is allowed (a credit).
    pub fn parse_signed(raw: &str) -> Result<Money, String> {
        let value = parse_decimal_text(raw, MONEY_SCALE, MAX_WHOLE_DIGITS, true)?;
        Ok(Money(with_scale(value)))
    }

    /// An amount from minor units (cents): `1250` is 12.50. The stored form.
    pub fn from_minor_units(cents: i64) -> Result<Money, MoneyError> {
        Money::from_decimal_exact(Decimal::new(cents, MONEY_SCALE))
    }

    /// The amount in minor units (cents): 12.50 is `1250`. Always fits: the magnitude is at
    /// most 99 999 999 999 999.
    pub fn minor_units(&self) -> i64 {
        // The scale is always 2 and the magnitude bounded, so the mantissa fits an i64.
        i64::try_from(self.0.mantissa()).unwrap_or(0)
    }

    /// An amount from a decimal that must already have at most two (non-zero) decimals.
    pub fn from_decimal_exact(value: Decimal) -> Result<Money, MoneyError> {
        if value.round_dp(MONEY_SCALE) != value {
            return Err(MoneyError::TooPrecise);
        }
        Money::in_range(with_scale(value))
    }

    /// An amount from any decimal, rounded half away from zero to cents ([`round_money`]).
    pub fn from_decimal_rounded(value: Decimal) -> Result<Money, MoneyError> {
        Money::in_range(with_scale(round_money(value)))
    }

    fn in_range(value: Decimal) -> Result<Money, MoneyError> {
        if value.abs() > Money::MAX.0 {
            Err(MoneyError::OutOfRange)
        } else {
            Ok(Money(value))
        }
    }

    /// The amount as a decimal with scale 2.
    pub fn amount(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// `self + other`, refused when it leaves the range.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        let sum = self.0.checked_add(other.0).ok_or(MoneyError::OutOfRange)?;
        Money::in_range(with_scale(sum))
    }

    /// `self − other`, refused when it leaves the range. The result may be negative.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        let difference = self.0.checked_sub(other.0).ok_or(MoneyError::OutOfRange)?;
        Money::in_range(with_scale(difference))
    }

    /// `−self` (always in range: the range is symmetric).
    pub fn negated(self) -> Money {
        // Through `with_scale`, so that negating zero gives zero and not a negative zero,
        // whose `amount()` would print as `-0.00` (found by a property test).
        Money(with_scale(-self.0))
    }

    /// `self × factor`, rounded half away from zero to cents; refused when it leaves the
    /// range.
    pub fn checked_mul_rounded(self, factor: Decimal) -> Result<Money, MoneyError> {
        let product = self.0.checked_mul(factor).ok_or(MoneyError::OutOfRange)?;
        Money::from_decimal_rounded(product)
    }

    /// The percentage `percent` of this amount, rounded half away from zero to cents.
    pub fn checked_percent(self, percent: Percent) -> Result<Money, MoneyError> {
        self.checked_mul_rounded(percent.fraction())
    }

    /// The sum of `amounts`, refused when any partial sum leaves the range.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |total, amount| total.checked_add(amount))
    }

    /// The amount followed by its currency: `1234.50 EUR`.
    pub fn display_with(&self, currency: Currency) -> String {
        format!("{self} {currency}")
    }
}

impl TryFrom<&str> for Money {
    type Error = String;

    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        Money::parse(raw)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The scale is always 2, so Decimal prints exactly two decimals ("12.50", "0.05").
        // A negative zero cannot arise from the constructors, but print it as "0.00" anyway.
        if self.0.is_zero() {
            f.write_str("0.00")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Rounds `value` to cents, half away from zero: 0.125 → 0.13, −0.125 → −0.13, 0.124 → 0.12.
/// The one rounding rule of invoices (see the module's notes).
pub fn round_money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::MidpointAwayFromZero)
}

/// `value` with exactly two decimals (only ever called on values with at most two non-zero
/// decimals, so nothing is lost).
fn with_scale(mut value: Decimal) -> Decimal {
    value.rescale(MONEY_SCALE);
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value
}

/// The decimal places a [`Percent`] may have (8.875 % is a real sales-tax rate).
pub const PERCENT_SCALE: u32 = 3;

/// A percentage between 0 and a bound (100 for discounts and tax rates, 1000 for markups),
/// with at most three decimals: `20`, `7.5`, `8,875`. A trailing `%` is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Percent(Decimal);

impl Percent {
    /// Zero per cent.
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    /// Parses a percentage from 0 to 100 (a discount, a tax rate).
    pub fn parse(raw: &str) -> Result<Percent, String> {
        Percent::parse_at_most(raw, 100)
    }

    /// Parses a percentage from 0 to `max` (a markup may exceed 100 %).
    pub fn parse_at_most(raw: &str, max: u32) -> Result<Percent, String> {
        let value = raw.trim();
        let value = value.strip_suffix('%').unwrap_or(value);
        let number = parse_decimal_text(value, PERCENT_SCALE, 4, false)?;
        if number > Decimal::from(max) {
            return Err(format!("must be at most {max} %"));
        }
        Ok(Percent(number.normalize()))
    }

    /// The percentage as a number: 7.5 for 7.5 %.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// The percentage as a fraction: 0.075 for 7.5 %.
    pub fn fraction(&self) -> Decimal {
        // Dividing by 100 only moves the decimal point: exact.
        let mut fraction = self.0;
        let scale = fraction.scale() + 2;
        // The scale stays far below Decimal's limit of 28.
        if fraction.set_scale(scale).is_err() {
            return self.0 / Decimal::ONE_HUNDRED;
        }
        fraction
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", self.0)
    }
}

/// Parses typed decimal text: digits with an optional `.` or `,` decimal separator, groups
/// of three digits separated by spaces or apostrophes, at most `max_decimals` decimals and
/// `max_whole_digits` digits before the separator, a leading `-` only if `allow_negative`.
/// Built digit by digit, so no float and no locale is involved. Shared by the money,
/// quantity and percentage types.
pub(crate) fn parse_decimal_text(
    raw: &str,
    max_decimals: u32,
    max_whole_digits: usize,
    allow_negative: bool,
) -> Result<Decimal, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, value.strip_prefix('+').unwrap_or(value).trim_start()),
    };
    if negative && !allow_negative {
        return Err("must not be negative".into());
    }
    let has_dot = unsigned.contains('.');
    let has_comma = unsigned.contains(',');
    if has_dot && has_comma {
        return Err(
            "use either a dot or a comma for the decimals, and spaces to group thousands".into(),
        );
    }
    let separator = if has_comma { ',' } else { '.' };
    let mut parts = unsigned.split(separator);
    let whole_text = parts.next().unwrap_or_default();
    let fraction_text = parts.next();
    if parts.next().is_some() {
        return Err(format!(
            "must be a number like {AMOUNT_EXAMPLE} (one decimal separator)"
        ));
    }

    let whole_digits = whole_digits(whole_text)?;
    let fraction_digits = match fraction_text {
        None => "",
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text,
        Some(_) => return Err(format!("must be a number like {AMOUNT_EXAMPLE}")),
    };
    let significant_whole = whole_digits.trim_start_matches('0');
    if significant_whole.len() > max_whole_digits {
        return Err("is too large".into());
    }
    let significant_fraction = fraction_digits.trim_end_matches('0');
    if significant_fraction.len() > max_decimals as usize {
        return Err(match max_decimals {
            0 => "must be a whole number".to_owned(),
            1 => "must have at most one decimal place".to_owned(),
            n => format!("must have at most {n} decimal places"),
        });
    }

    // At most 12 + 3 digits: fits an i64 with room to spare.
    let digits = format!("{significant_whole}{significant_fraction}");
    let mantissa = if digits.is_empty() {
        0
    } else {
        digits
            .parse::<i64>()
            .map_err(|_| "is too large".to_owned())?
    };
    let scale = u32::try_from(significant_fraction.len()).map_err(|_| "is too large")?;
    let mut number = Decimal::new(mantissa, scale);
    if negative && !number.is_zero() {
        number.set_sign_negative(true);
    }
    Ok(number)
}

/// The digits of the part before the decimal separator, with group separators (space,
/// no-break space, narrow no-break space, apostrophe) checked and removed: every group after
/// the first has exactly three digits.
fn whole_digits(text: &str) -> Result<String, String> {
    let is_group_separator = |c: char| matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'');
    let groups: Vec<&str> = text.split(is_group_separator).collect();
    let shape_error = || format!("must be a number like {AMOUNT_EXAMPLE}");
    if groups
        .iter()
        .any(|g| !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(shape_error());
    }
    let (first, rest) = groups.split_first().ok_or_else(shape_error)?;
    if first.is_empty() {
        return Err(shape_error());
    }
    if rest.iter().any(|g| g.len() != 3) {
        return Err(format!(
            "must group digits in threes (like {AMOUNT_EXAMPLE}) or not at all"
        ));
    }
    Ok(groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(raw: &str) -> Money {
        Money::parse_signed(raw).unwrap()
    }

    fn dec(raw: &str) -> Decimal {
        Decimal::from_str_exact(raw).unwrap()
    }

    // ---- currency ----

    #[test]
    fn currencies_are_three_letters_upper_cased() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        assert_eq!(Currency::parse(" kes ").unwrap().to_string(), "KES");
        assert_eq!(Currency::try_from("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("").unwrap_err(), "is required");
        for bad in ["EU", "EURO", "E1R", "€UR", "US$"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    // ---- parsing ----

    #[test]
    fn typed_amounts_in_the_common_forms() {
        for (raw, expected) in [
            ("12.50", "12.50"),
            ("12,50", "12.50"),
            ("12", "12.00"),
            ("12.5", "12.50"),
            ("0.05", "0.05"),
            ("  7 ", "7.00"),
            ("1 234.56", "1234.56"),
            ("1 234 567,8", "1234567.80"),
            ("1\u{a0}234.56", "1234.56"),
            ("1\u{202f}234.56", "1234.56"),
            ("1'234.56", "1234.56"),
            ("+3.10", "3.10"),
            ("0", "0.00"),
            ("007.10", "7.10"),
            ("12.500", "12.50"),
            ("999 999 999 999.99", "999999999999.99"),
        ] {
            assert_eq!(Money::parse(raw).unwrap().to_string(), expected, "{raw}");
        }
    }

    #[test]
    fn malformed_amounts_are_refused_with_a_reason() {
        assert_eq!(Money::parse("").unwrap_err(), "is required");
        assert_eq!(Money::parse("   ").unwrap_err(), "is required");
        assert_eq!(Money::parse("-1.00").unwrap_err(), "must not be negative");
        assert_eq!(
            Money::parse("12.345").unwrap_err(),
            "must have at most 2 decimal places"
        );
        assert!(
            Money::parse("1,234.56")
                .unwrap_err()
                .contains("either a dot or a comma")
        );
        assert!(
            Money::parse("1.234,56")
                .unwrap_err()
                .contains("either a dot or a comma")
        );
        // A thousands comma without decimals reads as three decimals, so it is refused
        // rather than misread as 1.234.
        assert_eq!(
            Money::parse("1,234").unwrap_err(),
            "must have at most 2 decimal places"
        );
        assert!(
            Money::parse("12 50")
                .unwrap_err()
                .contains("group digits in threes")
        );
        assert!(Money::parse("1 2345.00").unwrap_err().contains("threes"));
        assert_eq!(
            Money::parse("1 000 000 000 000").unwrap_err(),
            "is too large"
        );
        for bad in [
            "abc", "12.", ".50", "1..2", "1.2.3", "12,5,0", "12 .50", "1e3", "0x10", "12€", "€12",
            "--1", "NaN", "1 234 .5", " .",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn signed_amounts_for_credits() {
        assert_eq!(money("-12.50").to_string(), "-12.50");
        assert_eq!(money("- 0,05").to_string(), "-0.05");
        assert!(money("-12.50").is_negative());
        // Minus zero is just zero.
        assert_eq!(money("-0").to_string(), "0.00");
        assert!(!money("-0").is_negative());
        assert_eq!(money("-0"), Money::ZERO);
    }

    #[test]
    fn display_reads_back() {
        for raw in [
            "0.00",
            "0.01",
            "-0.01",
            "12.50",
            "999999999999.99",
            "-999999999999.99",
        ] {
            let amount = money(raw);
            assert_eq!(amount.to_string(), raw);
            assert_eq!(money(&amount.to_string()), amount);
        }
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(money("3").display_with(eur), "3.00 EUR");
    }

    // ---- construction and range ----

    #[test]
    fn max_is_what_it_says() {
        assert_eq!(Money::MAX.to_string(), "999999999999.99");
        assert_eq!(Money::MAX.minor_units(), 99_999_999_999_999);
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::default(), Money::ZERO);
    }

    #[test]
    fn minor_units_round_trip() {
        assert_eq!(Money::from_minor_units(1250).unwrap().to_string(), "12.50");
        assert_eq!(Money::from_minor_units(-5).unwrap().to_string(), "-0.05");
        assert_eq!(money("12.50").minor_units(), 1250);
        assert_eq!(money("-0.05").minor_units(), -5);
        assert_eq!(
            Money::from_minor_units(100_000_000_000_000),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::from_minor_units(i64::MIN),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn exact_and_rounded_construction() {
        assert_eq!(
            Money::from_decimal_exact(dec("1.5")).unwrap().to_string(),
            "1.50"
        );
        assert_eq!(
            Money::from_decimal_exact(dec("1.5000"))
                .unwrap()
                .to_string(),
            "1.50"
        );
        assert_eq!(
            Money::from_decimal_exact(dec("1.505")),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(
            Money::from_decimal_rounded(dec("1.505"))
                .unwrap()
                .to_string(),
            "1.51"
        );
        assert_eq!(
            Money::from_decimal_rounded(dec("1000000000000")),
            Err(MoneyError::OutOfRange)
        );
    }

    // ---- rounding ----

    #[test]
    fn rounding_is_half_away_from_zero_not_bankers() {
        for (raw, expected) in [
            ("0.005", "0.01"),
            ("0.015", "0.02"),
            ("0.025", "0.03"), // banker's rounding would give 0.02
            ("0.0049999", "0.00"),
            ("2.675", "2.68"), // a float would give 2.67
            ("-0.005", "-0.01"),
            ("-2.675", "-2.68"),
            ("1.004", "1.00"),
            ("1.006", "1.01"),
        ] {
            assert_eq!(
                Money::from_decimal_rounded(dec(raw)).unwrap().to_string(),
                expected,
                "{raw}"
            );
        }
        assert_eq!(round_money(dec("0.125")), dec("0.13"));
    }

    // ---- arithmetic ----

    #[test]
    fn sums_are_exact() {
        // 0.10 + 0.20 is 0.30, not 0.30000000000000004.
        assert_eq!(
            money("0.10").checked_add(money("0.20")).unwrap(),
            money("0.30")
        );
        let ten_cents = std::iter::repeat_n(money("0.10"), 10);
        assert_eq!(Money::checked_sum(ten_cents).unwrap(), money("1.00"));
        assert_eq!(Money::checked_sum([]).unwrap(), Money::ZERO);
        assert_eq!(
            money("1.00").checked_sub(money("2.50")).unwrap(),
            money("-1.50")
        );
        assert_eq!(money("1.50").negated(), money("-1.50"));
        assert_eq!(money("0").negated().to_string(), "0.00");
        assert_eq!(Money::ZERO.negated().amount().to_string(), "0.00");
    }

    #[test]
    fn arithmetic_never_overflows_silently() {
        assert_eq!(
            Money::MAX.checked_add(money("0.01")),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::MAX.negated().checked_sub(money("0.01")),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::checked_sum([Money::MAX, Money::MAX, Money::MAX.negated()]),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::MAX.checked_mul_rounded(Decimal::TWO),
            Err(MoneyError::OutOfRange)
        );
        // Beyond even Decimal's own range.
        assert_eq!(
            Money::MAX.checked_mul_rounded(Decimal::MAX),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(Money::MAX.checked_add(Money::ZERO).unwrap(), Money::MAX);
    }

    #[test]
    fn products_are_rounded_once() {
        assert_eq!(
            money("0.10").checked_mul_rounded(Decimal::from(3)).unwrap(),
            money("0.30")
        );
        assert_eq!(
            money("1.99").checked_mul_rounded(dec("0.5")).unwrap(),
            money("1.00") // 0.995 → 1.00
        );
        assert_eq!(
            money("10.00")
                .checked_percent(Percent::parse("7.5").unwrap())
                .unwrap(),
            money("0.75")
        );
        assert_eq!(
            money("0.05")
                .checked_percent(Percent::parse("10").unwrap())
                .unwrap(),
            money("0.01") // 0.005 → 0.01
        );
    }

    #[test]
    fn ordering_is_numeric() {
        assert!(money("2.00") > money("1.99"));
        assert!(money("-1.00") < Money::ZERO);
        assert_eq!(money("1.5"), money("1.50"));
    }

    // ---- percentages ----

    #[test]
    fn percentages() {
        assert_eq!(Percent::parse("20").unwrap().value(), dec("20"));
        assert_eq!(Percent::parse("7,5 %").unwrap().value(), dec("7.5"));
        assert_eq!(Percent::parse("8.875%").unwrap().fraction(), dec("0.08875"));
        assert_eq!(Percent::parse("100").unwrap().fraction(), Decimal::ONE);
        assert_eq!(Percent::parse("0").unwrap(), Percent::ZERO);
        assert!(Percent::parse("0").unwrap().is_zero());
        assert_eq!(Percent::parse("12.50").unwrap().to_string(), "12.5 %");
        assert_eq!(
            Percent::parse("100.5").unwrap_err(),
            "must be at most 100 %"
        );
        assert_eq!(Percent::parse("-5").unwrap_err(), "must not be negative");
        assert_eq!(
            Percent::parse("1.2345").unwrap_err(),
            "must have at most 3 decimal places"
        );
        assert_eq!(Percent::parse("").unwrap_err(), "is required");
        assert_eq!(
            Percent::parse_at_most("250", 1000).unwrap().value(),
            dec("250")
        );
        assert_eq!(
            Percent::parse_at_most("1001", 1000).unwrap_err(),
            "must be at most 1000 %"
        );
    }
}
