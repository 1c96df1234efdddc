//! Property tests of `core`'s value types and parsers, generated with `proptest`.
//!
//! They live in one integration-test file, against the crate's public API, rather than in a
//! `proptests` module beside each type: the properties are about what callers may rely on
//! (no parser panics, what is printed parses back to the same value, the arithmetic refuses
//! instead of overflowing), and one file keeps them apart from the example-based unit tests.
//!
//! Sections: money, time slots and working hours, medical record numbers, then every other
//! parser of the crate (patient and account fields, identifiers, ICD-10 codes, clinical,
//! billing, pharmacy, allergy, nursing and notification fields, the choice enums).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

use carevault_core::allergy::{Reaction, SubstanceText};
use carevault_core::appointment::{
    AppointmentStatus, AppointmentType, MAX_SLOT_MINUTES, MIN_SLOT_MINUTES,
    SLOT_GRANULARITY_MINUTES, TimeSlot, WeeklyHours, slot_keys,
};
use carevault_core::audit::{ActorKind, AuditAction, Outcome, ResourceType};
use carevault_core::billing::{LineDescription, Quantity, VoidReason};
use carevault_core::clinical::{
    AmendmentReason, DiagnosisCode, DiagnosisText, Dose, DrugName, Frequency, Instructions,
    VITAL_RANGES,
};
use carevault_core::document::DocumentKind;
use carevault_core::icd10;
use carevault_core::money::{Currency, Money, MoneyError, Percent};
use carevault_core::notification::parse_reminder_lead;
use carevault_core::nursing::Acuity;
use carevault_core::patient::{
    Address, BloodGroup, ClinicalText, DateOfBirth, Email, Mrn, NationalId, PatientStatus,
    PersonName, Phone, Sex, ShortText,
};
use carevault_core::pharmacy::parse_expiry_window;
use carevault_core::problem::parse_onset;
use carevault_core::{AppointmentId, DisplayName, PatientId, Role, UserId, UserStatus, Username};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

// =========================================================================================
// Strategies
// =========================================================================================

/// The largest amount in minor units (999 999 999 999.99).
const MAX_MINOR: i64 = 99_999_999_999_999;

/// Any amount of money in range, biased towards the edges of the range and small values.
fn money() -> impl Strategy<Value = Money> {
    prop_oneof![
        -MAX_MINOR..=MAX_MINOR,
        -10_000i64..=10_000,
        prop_oneof![
            Just(0i64),
            Just(MAX_MINOR),
            Just(-MAX_MINOR),
            Just(MAX_MINOR - 1)
        ],
    ]
    .prop_map(|cents| Money::from_minor_units(cents).expect("in range"))
}

/// A non-negative amount.
fn non_negative_money() -> impl Strategy<Value = Money> {
    prop_oneof![0..=MAX_MINOR, 0i64..=100_000]
        .prop_map(|cents| Money::from_minor_units(cents).expect("in range"))
}

/// Any decimal, including ones far outside the range of amounts and with up to 28 decimals.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
}

/// Text a person might type, and text nobody would: arbitrary Unicode, and strings built
/// from the characters the parsers care about (digits, separators, signs, spaces).
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 .,'+\\-%:@a-zA-Z\u{a0}\u{202f}\t\n]{0,40}",
        "\\PC{0,60}",
    ]
}

/// An instant on the 5-minute slot grid between 1970 and about 2100.
fn grid_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let step = SLOT_GRANULARITY_MINUTES * 60;
    (0i64..(130 * 365 * 24 * 12))
        .prop_map(move |n| DateTime::from_timestamp(n * step, 0).expect("within chrono's range"))
}

/// A valid slot: on the grid, 5 minutes to 12 hours long.
fn slot() -> impl Strategy<Value = TimeSlot> {
    let cells =
        MIN_SLOT_MINUTES / SLOT_GRANULARITY_MINUTES..=MAX_SLOT_MINUTES / SLOT_GRANULARITY_MINUTES;
    (grid_instant(), cells).prop_map(|(start, cells)| {
        let end = start + Duration::minutes(cells * SLOT_GRANULARITY_MINUTES);
        TimeSlot::new(start, end).expect("a valid slot")
    })
}

/// Two valid slots near each other (within a day), so that overlaps are common.
fn nearby_slots() -> impl Strategy<Value = (TimeSlot, TimeSlot)> {
    let cells =
        MIN_SLOT_MINUTES / SLOT_GRANULARITY_MINUTES..=MAX_SLOT_MINUTES / SLOT_GRANULARITY_MINUTES;
    (slot(), -288i64..=288, cells).prop_map(|(a, shift, cells)| {
        let start = a.start() + Duration::minutes(shift * SLOT_GRANULARITY_MINUTES);
        let end = start + Duration::minutes(cells * SLOT_GRANULARITY_MINUTES);
        (a, TimeSlot::new(start, end).expect("a valid slot"))
    })
}

/// The text form of working hours, well-formed or nearly so: entries of day lists and time
/// ranges, some of which overlap or are off the grid and are refused.
fn weekly_hours_text() -> impl Strategy<Value = String> {
    let day = prop::sample::select(vec![
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "Monday", "SUN",
    ]);
    let days = prop_oneof![
        day.clone().prop_map(str::to_owned),
        (day.clone(), day.clone()).prop_map(|(a, b)| format!("{a}-{b}")),
        prop::collection::vec(day, 1..4).prop_map(|d| d.join(",")),
    ];
    let range = (0u32..24, 0u32..12, 1u32..=16, 0u32..12).prop_map(|(h, m, hours, m2)| {
        let end_h = (h + hours).min(23);
        format!("{h:02}:{:02}-{end_h:02}:{:02}", m * 5, m2 * 5)
    });
    let entry = (days, prop::collection::vec(range, 1..3))
        .prop_map(|(days, ranges)| format!("{days} {}", ranges.join(",")));
    prop::collection::vec(entry, 1..4).prop_map(|entries| entries.join("; "))
}

// =========================================================================================
// Money
// =========================================================================================

proptest! {
    #[test]
    fn money_parsers_never_panic_and_what_they_accept_is_in_range(raw in any_text()) {
        for parsed in [Money::parse(&raw), Money::parse_signed(&raw)].into_iter().flatten() {
            prop_assert!(parsed.amount().abs() <= Money::MAX.amount());
            prop_assert_eq!(parsed.amount().scale(), 2);
            prop_assert_eq!(Money::parse_signed(&parsed.to_string()), Ok(parsed));
        }
        if let Ok(parsed) = Money::parse(&raw) {
            prop_assert!(!parsed.is_negative());
        }
        let _ = Currency::parse(&raw);
        let _ = Percent::parse(&raw);
        let _ = Percent::parse_at_most(&raw, 1000);
    }

    #[test]
    fn display_parses_back_to_the_same_amount(amount in money()) {
        let text = amount.to_string();
        prop_assert_eq!(Money::parse_signed(&text), Ok(amount));
        // Exactly two decimals, a dot, and a minus sign only for a negative amount.
        let (whole, cents) = text.rsplit_once('.').expect("a decimal point");
        prop_assert_eq!(cents.len(), 2);
        prop_assert_eq!(whole.starts_with('-'), amount.is_negative());
        if !amount.is_negative() {
            prop_assert_eq!(Money::parse(&text), Ok(amount));
        }
    }

    #[test]
    fn typed_forms_of_an_amount_parse_to_it(
        amount in non_negative_money(),
        group in prop::sample::select(vec![None, Some(' '), Some('\''), Some('\u{a0}'), Some('\u{202f}')]),
        comma in any::<bool>(),
        padding in "[ ]{0,3}",
    ) {
        // `1234567.80` typed as `1 234 567,80`, `1'234'567.8`, `  1234567.80 `, …
        let plain = amount.to_string();
        let (whole, cents) = plain.split_once('.').expect("a decimal point");
        let grouped = match group {
            None => whole.to_owned(),
            Some(separator) => {
                let digits: Vec<char> = whole.chars().collect();
                let first = match digits.len() % 3 { 0 => 3, n => n };
                let mut out: String = digits[..first].iter().collect();
                for chunk in digits[first..].chunks(3) {
                    out.push(separator);
                    out.extend(chunk);
                }
                out
            }
        };
        let cents = if cents.ends_with('0') && comma { &cents[..1] } else { cents };
        let typed = format!("{padding}{grouped}{}{cents}{padding}", if comma { ',' } else { '.' });
        prop_assert_eq!(Money::parse(&typed), Ok(amount), "{:?}", typed);
    }

    #[test]
    fn a_third_decimal_is_refused_not_rounded(amount in non_negative_money(), digit in 1u8..=9) {
        let typed = format!("{amount}{digit}");
        prop_assert!(Money::parse(&typed).is_err(), "{:?}", typed);
    }

    #[test]
    fn minor_units_round_trip_and_out_of_range_is_an_error(cents in any::<i64>()) {
        match Money::from_minor_units(cents) {
            Ok(amount) => {
                prop_assert!(cents.abs() <= MAX_MINOR);
                prop_assert_eq!(amount.minor_units(), cents);
            }
            Err(error) => {
                prop_assert!(cents.checked_abs().is_none_or(|abs| abs > MAX_MINOR));
                prop_assert_eq!(error, MoneyError::OutOfRange);
            }
        }
    }

    #[test]
    fn addition_is_exact_commutative_and_refuses_overflow(a in money(), b in money()) {
        let exact = i128::from(a.minor_units()) + i128::from(b.minor_units());
        let sum = a.checked_add(b);
        prop_assert_eq!(sum, b.checked_add(a));
        if exact.abs() <= i128::from(MAX_MINOR) {
            prop_assert_eq!(sum.map(|s| i128::from(s.minor_units())), Ok(exact));
        } else {
            prop_assert_eq!(sum, Err(MoneyError::OutOfRange));
        }
    }

    #[test]
    fn subtraction_is_adding_the_negation(a in money(), b in money()) {
        prop_assert_eq!(a.checked_sub(b), a.checked_add(b.negated()));
        prop_assert_eq!(a.checked_sub(a), Ok(Money::ZERO));
        prop_assert_eq!(a.negated().negated(), a);
        prop_assert_eq!(a.negated().minor_units(), -a.minor_units());
    }

    #[test]
    fn a_negated_zero_is_plain_zero(a in money()) {
        let negated = a.negated();
        if a.is_zero() {
            prop_assert_eq!(negated, Money::ZERO);
            prop_assert_eq!(negated.to_string(), "0.00");
            prop_assert!(!negated.amount().is_sign_negative());
            prop_assert_eq!(negated.amount().to_string(), "0.00");
        }
    }

    #[test]
    fn sums_of_many_amounts_never_panic(amounts in prop::collection::vec(money(), 0..40)) {
        let exact: i128 = amounts.iter().map(|m| i128::from(m.minor_units())).sum();
        if let Ok(total) = Money::checked_sum(amounts.iter().copied()) {
            prop_assert_eq!(i128::from(total.minor_units()), exact);
        }
    }

    #[test]
    fn products_stay_in_range_or_are_refused(a in money(), factor in any_decimal()) {
        match a.checked_mul_rounded(factor) {
            Ok(product) => {
                prop_assert!(product.amount().abs() <= Money::MAX.amount());
                prop_assert_eq!(product.amount().scale(), 2);
            }
            Err(error) => prop_assert_eq!(error, MoneyError::OutOfRange),
        }
    }

    #[test]
    fn decimals_become_amounts_or_errors(value in any_decimal()) {
        if let Ok(amount) = Money::from_decimal_exact(value) {
            prop_assert_eq!(amount.amount(), value);
        }
        if let Ok(amount) = Money::from_decimal_rounded(value) {
            // Rounded to the nearest cent: off by at most half a cent.
            prop_assert!((amount.amount() - value).abs() <= Decimal::new(5, 3));
        }
    }

    #[test]
    fn ordering_is_the_order_of_minor_units(a in money(), b in money()) {
        prop_assert_eq!(a.cmp(&b), a.minor_units().cmp(&b.minor_units()));
    }

    #[test]
    fn percentages_print_and_parse_back(thousandths in 0u32..=100_000) {
        let typed = Decimal::new(i64::from(thousandths), 3).normalize().to_string();
        let percent = Percent::parse(&typed).expect("0 to 100 with three decimals");
        prop_assert_eq!(Percent::parse(&percent.to_string()), Ok(percent));
        prop_assert_eq!(percent.fraction() * Decimal::ONE_HUNDRED, percent.value());
    }

    #[test]
    fn a_percentage_of_an_amount_is_at_most_the_amount(a in money(), thousandths in 0u32..=100_000) {
        let percent = Percent::parse(&Decimal::new(i64::from(thousandths), 3).to_string()).unwrap();
        let part = a.checked_percent(percent).expect("never larger than the amount");
        prop_assert!(part.amount().abs() <= a.amount().abs());
    }

    #[test]
    fn currencies_are_three_letters_upper_cased(code in "[a-zA-Z]{3}") {
        let currency = Currency::parse(&code).expect("three letters");
        prop_assert_eq!(currency.as_str(), code.to_ascii_uppercase());
        prop_assert_eq!(Currency::parse(&currency.to_string()), Ok(currency));
    }
}

// =========================================================================================
// Time slots and working hours
// =========================================================================================

proptest! {
    #[test]
    fn overlap_is_symmetric((a, b) in nearby_slots()) {
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
    }

    #[test]
    fn a_slot_overlaps_itself_and_not_its_neighbours(a in slot()) {
        prop_assert!(a.overlaps(&a));
        let length = a.duration();
        let after = TimeSlot::new(a.end(), a.end() + length).unwrap();
        let before = TimeSlot::new(a.start() - length, a.start()).unwrap();
        prop_assert!(!a.overlaps(&after));
        prop_assert!(!a.overlaps(&before));
    }

    #[test]
    fn overlap_means_sharing_an_instant((a, b) in nearby_slots()) {
        let shared = a.start().max(b.start()) < a.end().min(b.end());
        prop_assert_eq!(a.overlaps(&b), shared);
    }

    #[test]
    fn a_contained_slot_overlaps_its_container((a, b) in nearby_slots()) {
        let contains = a.start() <= b.start() && b.end() <= a.end();
        if contains {
            prop_assert!(a.overlaps(&b));
            prop_assert!(b.duration() <= a.duration());
        }
    }

    #[test]
    fn slots_overlap_exactly_when_their_keys_intersect((a, b) in nearby_slots()) {
        // What the unique indexes against double booking rely on.
        let keys_a = slot_keys(&a);
        let keys_b = slot_keys(&b);
        let intersect = keys_a.iter().any(|k| keys_b.contains(k));
        prop_assert_eq!(a.overlaps(&b), intersect);
        prop_assert_eq!(
            i64::try_from(keys_a.len()).unwrap() * SLOT_GRANULARITY_MINUTES,
            a.duration().num_minutes()
        );
    }

    #[test]
    fn slots_are_ordered_by_start_then_end((a, b) in nearby_slots()) {
        prop_assert_eq!(a.cmp(&b), (a.start(), a.end()).cmp(&(b.start(), b.end())));
        if a.start() < b.start() {
            prop_assert!(a < b);
        }
    }

    #[test]
    fn new_accepts_exactly_the_valid_slots(start in any::<i32>(), minutes in -20i64..800, seconds in 0i64..60) {
        let start = DateTime::from_timestamp(i64::from(start), 0).unwrap();
        let end = start + Duration::minutes(minutes) + Duration::seconds(seconds);
        let on_grid = |t: DateTime<Utc>| t.timestamp() % (SLOT_GRANULARITY_MINUTES * 60) == 0;
        let valid = on_grid(start)
            && on_grid(end)
            && (MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&(end - start).num_minutes())
            && seconds == 0;
        let slot = TimeSlot::new(start, end);
        prop_assert_eq!(slot.is_ok(), valid);
        if let Ok(slot) = slot {
            prop_assert_eq!((slot.start(), slot.end()), (start, end));
            prop_assert_eq!(slot.duration(), end - start);
        }
    }

    #[test]
    fn slot_parsing_never_panics(
        start in any_text(),
        end in prop::option::of(any_text()),
        minutes in prop::option::of(any_text()),
        default in any::<i64>(),
    ) {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let _ = TimeSlot::parse(&start, end.as_deref(), minutes.as_deref(), default, now);
    }

    #[test]
    fn a_slot_written_in_rfc_3339_parses_back(a in slot(), offset_hours in -12i32..=14, by_duration in any::<bool>()) {
        let zone = chrono::FixedOffset::east_opt(offset_hours * 3600).unwrap();
        let start = a.start().with_timezone(&zone).to_rfc3339();
        let end = a.end().with_timezone(&zone).to_rfc3339();
        let minutes = a.duration().num_minutes().to_string();
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let parsed = if by_duration {
            TimeSlot::parse(&start, None, Some(&minutes), 30, now)
        } else {
            TimeSlot::parse(&start, Some(&end), Some(""), 30, now)
        };
        prop_assert_eq!(parsed.ok(), Some(a));
    }

    #[test]
    fn working_hours_print_and_parse_back(text in weekly_hours_text()) {
        if let Ok(hours) = WeeklyHours::parse(&text) {
            let printed = hours.to_string();
            prop_assert_eq!(WeeklyHours::parse(&printed), Ok(hours), "{:?} printed as {:?}", text, printed);
        }
    }

    #[test]
    fn working_hours_parsing_never_panics(text in any_text()) {
        let _ = WeeklyHours::parse(&text);
    }
}

// =========================================================================================
// Medical record numbers
// =========================================================================================

/// An MRN as [`Mrn::from_serial`] makes them: seven digits of serial and a check digit.
fn mrn() -> impl Strategy<Value = Mrn> {
    (1_000_000u64..=9_999_999).prop_map(Mrn::from_serial)
}

proptest! {
    #[test]
    fn an_mrn_is_eight_digits_and_parses_back(mrn in mrn()) {
        let text = mrn.to_string();
        prop_assert_eq!(text.len(), 8);
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(Mrn::parse(&text), Ok(mrn));
    }

    #[test]
    fn spaces_and_hyphens_in_a_typed_mrn_are_ignored(
        mrn in mrn(),
        gaps in prop::collection::vec(prop::sample::select(vec!["", " ", "-", "  ", " - "]), 9),
    ) {
        let typed: String = mrn
            .as_str()
            .chars()
            .zip(&gaps)
            .flat_map(|(digit, gap)| gap.chars().chain(std::iter::once(digit)))
            .chain(gaps[8].chars())
            .collect();
        prop_assert_eq!(Mrn::parse(&typed), Ok(mrn));
    }

    #[test]
    fn a_mistyped_digit_is_caught(mrn in mrn(), position in 0usize..8, replacement in 0u8..=9) {
        let mut digits = mrn.as_str().as_bytes().to_vec();
        prop_assume!(digits[position] != b'0' + replacement);
        digits[position] = b'0' + replacement;
        let typed = String::from_utf8(digits).unwrap();
        prop_assert!(Mrn::parse(&typed).is_err(), "{} accepted", typed);
    }

    #[test]
    fn swapped_neighbours_are_caught_except_0_and_9(mrn in mrn(), position in 0usize..7) {
        // Luhn's one blind spot: `09` and `90` have the same weighted sum.
        let mut digits = mrn.as_str().as_bytes().to_vec();
        let pair = (digits[position], digits[position + 1]);
        prop_assume!(pair.0 != pair.1);
        prop_assume!(pair != (b'0', b'9') && pair != (b'9', b'0'));
        digits.swap(position, position + 1);
        let typed = String::from_utf8(digits).unwrap();
        prop_assert!(Mrn::parse(&typed).is_err(), "{} accepted", typed);
    }

    #[test]
    fn mrn_parsing_never_panics_and_accepts_only_digits(raw in any_text()) {
        if let Ok(mrn) = Mrn::parse(&raw) {
            prop_assert!(mrn.as_str().len() >= 2);
            prop_assert!(mrn.as_str().bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(Mrn::parse(&mrn.to_string()), Ok(mrn));
        }
    }
}

// =========================================================================================
// Every other parser: no panic on any input; what is accepted prints and parses back
// =========================================================================================

/// Asserts that `parse` does not panic on `raw`, and that a value it accepts prints (with
/// `show`) as text it accepts again, giving the same value.
fn check_text_parser<T: PartialEq + std::fmt::Debug>(
    raw: &str,
    parse: impl Fn(&str) -> Result<T, String>,
    show: impl Fn(&T) -> String,
) -> Result<(), TestCaseError> {
    if let Ok(value) = parse(raw) {
        let shown = show(&value);
        let again = parse(&shown);
        prop_assert!(
            again.as_ref() == Ok(&value),
            "{:?} → {:?} → {:?}",
            raw,
            shown,
            again
        );
    }
    Ok(())
}

/// A debuggable stand-in for types whose `Debug` hides their value: compared by text.
fn shown<T: ToString>(value: T) -> String {
    value.to_string()
}

proptest! {
    #[test]
    fn patient_fields(raw in any_text()) {
        check_text_parser(&raw, |s| PersonName::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Address::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Phone::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Email::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| NationalId::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| ShortText::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| ClinicalText::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, Sex::parse, |v| v.to_string())?;
        check_text_parser(&raw, BloodGroup::parse, |v| v.to_string())?;
        check_text_parser(&raw, PatientStatus::parse, |v| v.to_string())?;
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let _ = DateOfBirth::parse(&raw, today);
    }

    #[test]
    fn e_mail_addresses_print_and_parse_back(
        local in "[a-zA-Z0-9._%+-]{1,20}",
        labels in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    any::<char>(),
                    prop::char::range('a', 'z'),
                    prop::char::range('A', 'Z'),
                    // Latin-1 and Latin Extended-A: accented capitals among them.
                    prop::char::range('\u{c0}', '\u{17f}'),
                ]
                .prop_filter("a letter or digit", |c| c.is_alphanumeric()),
                1..8,
            ),
            2..4,
        ),
    ) {
        let domain: Vec<String> = labels.into_iter().map(String::from_iter).collect();
        let raw = format!("{local}@{}", domain.join("."));
        // Accepted unless lowercasing the domain makes something other than letters and
        // digits of it (`İ` lowercases to `i` and a combining dot).
        let lower_case_is_alphanumeric = domain
            .iter()
            .all(|label| label.to_lowercase().chars().all(char::is_alphanumeric));
        let email = Email::parse(&raw).map(shown);
        prop_assert_eq!(email.is_ok(), lower_case_is_alphanumeric, "{:?}: {:?}", raw, email);
        check_text_parser(&raw, |s| Email::parse(s).map(shown), String::clone)?;
    }

    #[test]
    fn dates_of_birth_written_yyyy_mm_dd_parse_back(days in 0i64..(147 * 366)) {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let date = today - Duration::days(days);
        let parsed = DateOfBirth::parse(&date.format("%Y-%m-%d").to_string(), today);
        prop_assert_eq!(parsed.ok().map(DateOfBirth::date), DateOfBirth::new(date, today).ok().map(DateOfBirth::date));
        prop_assert_eq!(
            parse_onset(&format!(" {} ", date.format("%Y-%m-%d")), today).ok(),
            DateOfBirth::new(date, today).ok().map(DateOfBirth::date)
        );
    }

    #[test]
    fn account_fields(raw in any_text()) {
        check_text_parser(&raw, Username::parse, |v| v.to_string())?;
        check_text_parser(&raw, DisplayName::parse, |v| v.to_string())?;
        check_text_parser(&raw, |s| s.parse::<UserStatus>(), |v| v.as_str().to_owned())?;
        check_text_parser(&raw, |s| s.parse::<Role>(), |v| v.to_string())?;
        if let Ok(name) = Username::for_sign_in(&raw) {
            prop_assert!(name.chars().count() <= carevault_core::user::USERNAME_MAX);
        }
    }

    #[test]
    fn ids_print_and_parse_back(bits in any::<u128>(), raw in any_text()) {
        let uuid = uuid::Uuid::from_u128(bits);
        let id: UserId = uuid.to_string().parse().unwrap();
        prop_assert_eq!(id.as_uuid(), uuid);
        prop_assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
        check_text_parser(&raw, |s| s.parse::<PatientId>(), |v| v.to_string())?;
        check_text_parser(&raw, |s| s.parse::<AppointmentId>(), |v| v.to_string())?;
    }

    #[test]
    fn icd10_parsers_never_panic(raw in any_text()) {
        if let Ok(code) = icd10::parse_code(&raw) {
            prop_assert_eq!(icd10::parse_code(code), Ok(code));
            prop_assert_eq!(icd10::lookup(&raw).map(|c| c.code), Some(code));
        }
        let _ = icd10::search(&raw, 20);
        check_text_parser(&raw, |s| DiagnosisCode::parse(s).map(shown), String::clone)?;
    }

    #[test]
    fn icd10_codes_are_accepted_in_any_case_with_or_without_the_dot(
        index in any::<prop::sample::Index>(),
        lower in any::<bool>(),
        padding in "[ ]{0,2}",
    ) {
        let code = icd10::all().nth(index.index(icd10::all().len())).unwrap().code;
        let mut typed = code.replace('.', "");
        if lower {
            typed = typed.to_ascii_lowercase();
        }
        let typed = format!("{padding}{typed}{padding}");
        prop_assert_eq!(icd10::parse_code(&typed), Ok(code));
        let diagnosis = DiagnosisCode::parse(&typed).expect("a well-formed code");
        prop_assert_eq!(diagnosis.as_str(), code);
        prop_assert_eq!(diagnosis.category(), &code[..3]);
    }

    #[test]
    fn clinical_fields(raw in any_text()) {
        check_text_parser(&raw, |s| AmendmentReason::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| DiagnosisText::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| DrugName::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Dose::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Frequency::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| Instructions::parse(s).map(shown), String::clone)?;
        for range in &VITAL_RANGES {
            check_text_parser(&raw, |s| range.parse(s), |v| range.format(*v))?;
        }
        check_text_parser(&raw, Acuity::parse, |v| v.as_str().to_owned())?;
    }

    #[test]
    fn vital_signs_print_and_parse_back(index in any::<prop::sample::Index>(), position in any::<prop::sample::Index>()) {
        let range = &VITAL_RANGES[index.index(VITAL_RANGES.len())];
        let span = usize::try_from(range.max - range.min).unwrap() + 1;
        let scaled = range.min + u32::try_from(position.index(span)).unwrap();
        prop_assert_eq!(range.parse(&range.format(scaled)), Ok(scaled));
        let comma = range.format(scaled).replace('.', ",");
        prop_assert_eq!(range.parse(&comma), Ok(scaled));
    }

    #[test]
    fn billing_and_allergy_fields(raw in any_text()) {
        check_text_parser(&raw, |s| VoidReason::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, |s| LineDescription::parse(s).map(shown), String::clone)?;
        check_text_parser(&raw, Quantity::parse, |v| v.to_string())?;
        check_text_parser(&raw, |s| SubstanceText::parse(s).map(|v| v.as_str().to_owned()), String::clone)?;
        check_text_parser(&raw, |s| SubstanceText::parse_transcribed(s).map(|v| v.as_str().to_owned()), String::clone)?;
        check_text_parser(&raw, |s| Reaction::parse(s).map(|v| v.as_str().to_owned()), String::clone)?;
    }

    #[test]
    fn quantities_print_and_parse_back(thousandths in 1u64..=100_000_000) {
        let quantity = Quantity::new(Decimal::new(i64::try_from(thousandths).unwrap(), 3)).unwrap();
        prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
    }

    #[test]
    fn counts_and_lead_times(raw in any_text(), hours in 1i64..=168, days in 1u32..=365) {
        let _ = parse_reminder_lead(&raw);
        let _ = parse_expiry_window(&raw);
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let _ = parse_onset(&raw, today);
        prop_assert_eq!(parse_reminder_lead(&format!(" {hours} ")), Ok(Duration::hours(hours)));
        if let Ok(window) = parse_expiry_window(&days.to_string()) {
            prop_assert_eq!(window, days);
        }
    }

    #[test]
    fn choices_print_and_parse_back(raw in any_text()) {
        check_text_parser(&raw, AppointmentStatus::parse, |v| v.to_string())?;
        check_text_parser(&raw, AppointmentType::parse, |v| v.to_string())?;
        check_text_parser(&raw, DocumentKind::parse, |v| v.as_str().to_owned())?;
        for parsed in [
            AuditAction::parse(&raw).map(|v| (v.as_str(), AuditAction::parse(v.as_str()).map(|w| w.as_str()))),
            ResourceType::parse(&raw).map(|v| (v.as_str(), ResourceType::parse(v.as_str()).map(|w| w.as_str()))),
            Outcome::parse(&raw).map(|v| (v.as_str(), Outcome::parse(v.as_str()).map(|w| w.as_str()))),
            ActorKind::parse(&raw).map(|v| (v.as_str(), ActorKind::parse(v.as_str()).map(|w| w.as_str()))),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert_eq!(Some(parsed.0), parsed.1);
        }
    }

    #[test]
    fn choices_accept_any_case_and_hyphens(
        status in prop::sample::select(AppointmentStatus::ALL.to_vec()),
        kind in prop::sample::select(AppointmentType::ALL.to_vec()),
        upper in any::<bool>(),
    ) {
        let typed = |text: &str| {
            let text = text.replace('_', "-");
            if upper { text.to_uppercase() } else { text }
        };
        prop_assert_eq!(AppointmentStatus::parse(&typed(status.as_str())), Ok(status));
        prop_assert_eq!(AppointmentType::parse(&typed(kind.as_str())), Ok(kind));
    }
}
