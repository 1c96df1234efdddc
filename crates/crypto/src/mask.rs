//! Masked renderings of identifying values, for actors who may not see them in full.
//!
//! These are display strings only; nothing here is reversible and nothing is stored. Which
//! actor sees which rendering is decided by the masking policy in `carevault-core`.
//!
//! # Formats
//! - Phone: [`mask_phone`] → `XXX-XXX-4592` (the last four ASCII digits of the input), or
//!   `XXX-XXX-XXXX` when the input has fewer than four digits. The shape is fixed whatever the
//!   length of the number, so the mask does not reveal it.
//! - Email: [`mask_email`] → `a***@example.com`: the first character of the local part, three
//!   asterisks, `@`, the domain (after the last `@`). Input without a local part or a domain
//!   masks to `***`.
//! - Date of birth: [`birth_year`] → `1984`; [`age_band`] → five-year bands `0–4`, `5–9`, …,
//!   `85–89`, then `90+` (EN DASH U+2013 between the bounds, as in `40–44`). A date of birth
//!   after `today` gives `unknown`.
//! - Pseudonym: [`pseudonym`] → `ANON_1021`, where the number is assigned by the database (a
//!   per-patient sequence); this module only formats and parses it ([`parse_pseudonym`]).
//!   Because the number is not derived from any patient data there is no pseudonym key.

use chrono::{Datelike, NaiveDate};

/// What a phone number looks like when it has fewer than four digits to show.
pub const MASKED_PHONE_NO_DIGITS: &str = "XXX-XXX-XXXX";
/// What a malformed email address masks to.
pub const MASKED_EMAIL_MALFORMED: &str = "***";
/// The prefix of every pseudonym.
pub const PSEUDONYM_PREFIX: &str = "ANON_";
/// Ages from this one up share the top band.
pub const TOP_AGE_BAND_START: u32 = 90;
/// Width of an age band in years.
pub const AGE_BAND_WIDTH: u32 = 5;

/// `XXX-XXX-` followed by the last four digits of `raw`, or [`MASKED_PHONE_NO_DIGITS`].
pub fn mask_phone(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    match digits
        .len()
        .checked_sub(4)
        .and_then(|start| digits.get(start..))
    {
        Some(last_four) => {
            let mut masked = String::from("XXX-XXX-");
            masked.extend(last_four);
            masked
        }
        None => MASKED_PHONE_NO_DIGITS.to_owned(),
    }
}

/// The first character of the local part, `***@`, and the domain; or
/// [`MASKED_EMAIL_MALFORMED`] when `raw` has no `@`, an empty local part or an empty domain.
pub fn mask_email(raw: &str) -> String {
    let raw = raw.trim();
    let Some((local, domain)) = raw.rsplit_once('@') else {
        return MASKED_EMAIL_MALFORMED.to_owned();
    };
    match local.chars().next() {
        Some(first) if !domain.is_empty() => format!("{first}***@{domain}"),
        _ => MASKED_EMAIL_MALFORMED.to_owned(),
    }
}

/// The year of birth, e.g. `1984`.
pub fn birth_year(dob: NaiveDate) -> String {
    dob.year().to_string()
}

/// The five-year age band of someone born on `dob`, on `today`: `40–44`, …, `90+`; `unknown`
/// when `dob` is after `today`.
pub fn age_band(dob: NaiveDate, today: NaiveDate) -> String {
    let Some(age) = today.years_since(dob) else {
        return "unknown".to_owned();
    };
    if age >= TOP_AGE_BAND_START {
        return format!("{TOP_AGE_BAND_START}+");
    }
    let low = age / AGE_BAND_WIDTH * AGE_BAND_WIDTH;
    format!("{low}\u{2013}{}", low + AGE_BAND_WIDTH - 1)
}

/// The display pseudonym for the database-assigned `number`: `ANON_1021`.
pub fn pseudonym(number: u64) -> String {
    format!("{PSEUDONYM_PREFIX}{number}")
}

/// The number in a pseudonym produced by [`pseudonym`] (`ANON_1021` → `1021`). Exact: no
/// whitespace, sign or leading zeros, so every number has exactly one spelling.
pub fn parse_pseudonym(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(PSEUDONYM_PREFIX)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn phones_show_only_the_last_four_digits() {
        assert_eq!(mask_phone("+1 (555) 012-4592"), "XXX-XXX-4592");
        assert_eq!(mask_phone("020 7946 4592"), "XXX-XXX-4592");
        assert_eq!(mask_phone("4592"), "XXX-XXX-4592");
        assert_eq!(mask_phone("592"), "XXX-XXX-XXXX");
        assert_eq!(mask_phone(""), "XXX-XXX-XXXX");
    }

    #[test]
    fn emails_show_the_first_letter_and_domain() {
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
        assert_eq!(mask_email(" Émile@hôpital.fr "), "É***@hôpital.fr");
        assert_eq!(mask_email("a@b"), "a***@b");
        assert_eq!(mask_email("no-at-sign"), "***");
        assert_eq!(mask_email("@example.com"), "***");
        assert_eq!(mask_email("alice@"), "***");
    }

    #[test]
    fn dates_of_birth_become_a_year_or_a_band() {
        let today = date(2026, 6, 15);
        assert_eq!(birth_year(date(1984, 2, 29)), "1984");
        assert_eq!(age_band(date(1984, 2, 29), today), "40\u{2013}44");
        assert_eq!(age_band(date(1984, 2, 29), today), "40–44");
        assert_eq!(age_band(date(1981, 6, 15), today), "45–49"); // 45th birthday today
        assert_eq!(age_band(date(1981, 6, 16), today), "40–44"); // 45 tomorrow
        assert_eq!(age_band(today, today), "0–4");
        assert_eq!(age_band(date(1937, 1, 1), today), "85–89");
        assert_eq!(age_band(date(1936, 6, 15), today), "90+");
        assert_eq!(age_band(date(1900, 1, 1), today), "90+");
        assert_eq!(age_band(date(2027, 1, 1), today), "unknown");
    }

    #[test]
    fn pseudonyms_round_trip() {
        assert_eq!(pseudonym(1021), "ANON_1021");
        assert_eq!(parse_pseudonym("ANON_1021"), Some(1021));
        assert_eq!(parse_pseudonym("ANON_0"), Some(0));
        assert_eq!(parse_pseudonym("ANON_01021"), None);
        assert_eq!(parse_pseudonym("ANON_+1"), None);
        assert_eq!(parse_pseudonym("ANON_"), None);
        assert_eq!(parse_pseudonym("anon_1021"), None);
        assert_eq!(parse_pseudonym("ANON_99999999999999999999"), None);
    }

    proptest! {
        #[test]
        fn pseudonym_parse_inverts_format(number: u64) {
            prop_assert_eq!(parse_pseudonym(&pseudonym(number)), Some(number));
        }

        #[test]
        fn masked_phones_have_a_fixed_shape(raw in "\\PC{0,30}") {
            let masked = mask_phone(&raw);
            prop_assert_eq!(masked.len(), 12);
            prop_assert!(masked.starts_with("XXX-XXX-"));
        }

        #[test]
        fn age_bands_contain_the_age(days in 0u32..40_000) {
            let today = date(2026, 1, 1);
            let dob = today - chrono::Days::new(u64::from(days));
            let age = today.years_since(dob).unwrap();
            let band = age_band(dob, today);
            if age >= 90 {
                prop_assert_eq!(band, "90+");
            } else {
                let (low, high) = band.split_once('\u{2013}').unwrap();
                let (low, high): (u32, u32) = (low.parse().unwrap(), high.parse().unwrap());
                prop_assert!(low <= age && age <= high && high - low == 4 && low % 5 == 0);
            }
        }
    }
}
