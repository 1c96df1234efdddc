//! De-identification for the research export: coarsening the quasi-identifiers of a patient
//! (postcode → postcode area, date of birth → age band) and making the resulting table
//! k-anonymous over the triple (age band, sex, postcode area).
//!
//! # The k-anonymity algorithm
//!
//! [`k_anonymize`] uses local recoding followed by suppression. It is deterministic and
//! keeps the input order among the rows it keeps:
//!
//! 1. Rows are grouped by their exact triple. Every row in a group of at least `k` rows is
//!    kept unchanged.
//! 2. The remaining rows, and only they, get their postcode area replaced by `"*"` and are
//!    grouped again among themselves. Rows in groups of at least `k` are kept (generalised).
//! 3. The rows still remaining get their age band widened to ten years (`"40-44"` →
//!    `"40-49"`; `"90+"` stays) and their postcode area replaced by `"*"`, and are grouped
//!    again among themselves. Rows in groups of at least `k` are kept (generalised).
//! 4. The rest are suppressed: dropped from the output and counted.
//!
//! Every kept row was kept because at least `k` rows carried its exact triple at the step
//! that kept it. Rows kept at different steps may end up with equal triples, which only
//! makes their groups larger, so every triple in the output occurs at least `k` times. With
//! `k` of 0 or 1 every row is kept unchanged at step 1.
//!
//! Local recoding means one output can mix band widths (`"40-44"` next to `"40-49"`); each
//! row is still indistinguishable from at least `k - 1` others by its own triple.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

/// The value that stands for a suppressed quasi-identifier.
pub const SUPPRESSED_VALUE: &str = "*";

/// Oldest age with its own five-year band; everybody older shares the top band.
const TOP_BAND_START: u32 = 90;

/// The outward part ("RV3") of a UK postcode, or the first three digits ("627") of a US ZIP
/// code, found at the end of a free-text address. `None` when the address does not end in
/// one. Never more than four characters, uppercase.
///
/// UK postcodes are read with or without the space ("RV3 4AB", "RV34AB"): the inward code is
/// always a digit and two letters, so the outward code is what comes before its last three
/// characters, and must itself look like an outward code (one or two letters, a digit, then
/// optionally a digit or a letter). US ZIP codes may carry the "+4" ("62704-1234").
/// Trailing commas and full stops are ignored; anything else after the code (a country name,
/// say) means no code is recognised.
pub fn postcode_area(address: &str) -> Option<String> {
    let mut tokens = address
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|token| token.trim_end_matches('.'))
        .filter(|token| !token.is_empty())
        .rev();
    let last = tokens.next()?;

    if let Some(zip_prefix) = us_zip_prefix(last) {
        return Some(zip_prefix);
    }
    if is_uk_inward_code(last) {
        let outward = tokens.next()?;
        return is_uk_outward_code(outward).then(|| outward.to_ascii_uppercase());
    }
    // A UK postcode written without its space: the inward code is the last three characters.
    if last.is_ascii() && (5..=7).contains(&last.len()) {
        let (outward, inward) = last.split_at(last.len() - 3);
        if is_uk_inward_code(inward) && is_uk_outward_code(outward) {
            return Some(outward.to_ascii_uppercase());
        }
    }
    None
}

/// The first three digits of `token` if it is a five-digit ZIP code or a ZIP+4 code.
fn us_zip_prefix(token: &str) -> Option<String> {
    let (zip, plus_four) = match token.split_once('-') {
        Some((zip, plus_four)) => (zip, Some(plus_four)),
        None => (token, None),
    };
    let all_digits = |part: &str, length: usize| {
        part.len() == length && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !all_digits(zip, 5) || plus_four.is_some_and(|part| !all_digits(part, 4)) {
        return None;
    }
    zip.get(..3).map(str::to_owned)
}

/// A UK inward code: a digit followed by two letters ("4AB").
fn is_uk_inward_code(token: &str) -> bool {
    matches!(
        token.as_bytes(),
        [digit, first, second]
            if digit.is_ascii_digit() && first.is_ascii_alphabetic() && second.is_ascii_alphabetic()
    )
}

/// A UK outward code: one or two letters, a digit, then optionally one digit or letter
/// ("B1", "RV3", "SW1A", "EC2R", "M60").
fn is_uk_outward_code(token: &str) -> bool {
    let bytes = token.as_bytes();
    if !(2..=4).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if !(1..=2).contains(&letters) {
        return false;
    }
    match bytes.get(letters..) {
        Some([digit]) => digit.is_ascii_digit(),
        Some([digit, last]) => digit.is_ascii_digit() && last.is_ascii_alphanumeric(),
        _ => false,
    }
}

/// Age in whole years on `today` of someone born on `date_of_birth`, counting a birthday
/// only once it has been reached (someone born on 29 February turns a year older on
/// 1 March in other years). Zero for a date of birth in the future.
pub fn age_in_years(date_of_birth: NaiveDate, today: NaiveDate) -> u32 {
    if date_of_birth >= today {
        return 0;
    }
    let birthday_not_yet_reached =
        (today.month(), today.day()) < (date_of_birth.month(), date_of_birth.day());
    let years = today.year() - date_of_birth.year() - i32::from(birthday_not_yet_reached);
    u32::try_from(years).unwrap_or(0)
}

/// The five-year age band ("40-44") of someone born on `date_of_birth`, on `today`. Ages of
/// 90 and over share the band "90+"; a date of birth in the future gives "0-4".
pub fn age_band_5y(date_of_birth: NaiveDate, today: NaiveDate) -> String {
    let age = age_in_years(date_of_birth, today);
    if age >= TOP_BAND_START {
        return format!("{TOP_BAND_START}+");
    }
    let start = age - age % 5;
    format!("{start}-{}", start + 4)
}

/// The ten-year band containing an age band: "40-44" and "45-49" → "40-49". Open-ended
/// bands ("90+") and the suppressed value stay as they are; anything unrecognised becomes
/// the suppressed value.
fn widen_age_band_10y(age_band: &str) -> String {
    if age_band == SUPPRESSED_VALUE || age_band.ends_with('+') {
        return age_band.to_owned();
    }
    let Some(Ok(start)) = age_band
        .split_once('-')
        .map(|(start, _)| start.parse::<u32>())
    else {
        return SUPPRESSED_VALUE.to_owned();
    };
    let decade = start - start % 10;
    format!("{decade}-{}", decade + 9)
}

/// The quasi-identifiers of one de-identified patient row; `"*"` ([`SUPPRESSED_VALUE`])
/// stands for a suppressed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuasiIdentifiers {
    pub age_band: String,
    pub sex: String,
    pub postcode_area: String,
}

impl QuasiIdentifiers {
    /// Step 2: the postcode area suppressed.
    fn without_postcode_area(self) -> Self {
        Self {
            postcode_area: SUPPRESSED_VALUE.to_owned(),
            ..self
        }
    }

    /// Step 3 (applied to step 2's output): the age band widened to ten years.
    fn with_decade_age_band(self) -> Self {
        Self {
            age_band: widen_age_band_10y(&self.age_band),
            ..self
        }
    }
}

/// The outcome of [`k_anonymize`].
#[derive(Debug, Clone)]
pub struct KAnonymized<T> {
    /// The kept rows, in input order, with their (possibly generalised) quasi-identifiers.
    pub rows: Vec<(QuasiIdentifiers, T)>,
    pub k_requested: usize,
    /// The smallest number of kept rows sharing one triple; `None` when no row was kept.
    pub k_achieved: Option<usize>,
    /// Rows dropped because no generalisation put them in a group of `k`.
    pub suppressed_rows: usize,
    /// Kept rows whose quasi-identifiers were generalised (steps 2 and 3).
    pub generalised_rows: usize,
}

/// Makes `rows` k-anonymous over their quasi-identifiers by local recoding, then
/// suppression, as described in the [module documentation](self). `k` of 0 or 1 keeps every
/// row unchanged.
pub fn k_anonymize<T>(rows: Vec<(QuasiIdentifiers, T)>, k: usize) -> KAnonymized<T> {
    // What happens to each input row, by index: `None` until decided, then the
    // quasi-identifiers it is kept with, or suppression.
    let mut fates: Vec<Option<RowFate>> = (0..rows.len()).map(|_| None).collect();

    let exact: Vec<(usize, QuasiIdentifiers)> = rows
        .iter()
        .enumerate()
        .map(|(index, (quasi_identifiers, _))| (index, quasi_identifiers.clone()))
        .collect();
    let remaining = keep_groups_of_at_least(k, exact, &mut fates, |_| RowFate::KeptUnchanged);

    let without_postcode = remaining
        .into_iter()
        .map(|(index, quasi_identifiers)| (index, quasi_identifiers.without_postcode_area()))
        .collect();
    let remaining =
        keep_groups_of_at_least(k, without_postcode, &mut fates, RowFate::KeptGeneralised);

    let widened = remaining
        .into_iter()
        .map(|(index, quasi_identifiers)| (index, quasi_identifiers.with_decade_age_band()))
        .collect();
    // Whatever is left after this step is suppressed.
    keep_groups_of_at_least(k, widened, &mut fates, RowFate::KeptGeneralised);

    let mut kept = Vec::with_capacity(rows.len());
    let mut suppressed_rows = 0;
    let mut generalised_rows = 0;
    for ((original, payload), fate) in rows.into_iter().zip(fates) {
        match fate {
            Some(RowFate::KeptUnchanged) => kept.push((original, payload)),
            Some(RowFate::KeptGeneralised(generalised)) => {
                generalised_rows += 1;
                kept.push((generalised, payload));
            }
            None => suppressed_rows += 1,
        }
    }

    let k_achieved = group_sizes(kept.iter().map(|(quasi_identifiers, _)| quasi_identifiers))
        .into_values()
        .min();
    KAnonymized {
        rows: kept,
        k_requested: k,
        k_achieved,
        suppressed_rows,
        generalised_rows,
    }
}

/// How a row was kept; rows never given a fate are suppressed.
enum RowFate {
    KeptUnchanged,
    KeptGeneralised(QuasiIdentifiers),
}

/// Groups `candidates` (row index, quasi-identifiers) among themselves, records `kept` as
/// the fate of every row in a group of at least `k`, and returns the other candidates.
fn keep_groups_of_at_least(
    k: usize,
    candidates: Vec<(usize, QuasiIdentifiers)>,
    fates: &mut [Option<RowFate>],
    kept: fn(QuasiIdentifiers) -> RowFate,
) -> Vec<(usize, QuasiIdentifiers)> {
    let sizes = group_sizes(
        candidates
            .iter()
            .map(|(_, quasi_identifiers)| quasi_identifiers),
    );
    let is_large_enough: Vec<bool> = candidates
        .iter()
        .map(|(_, quasi_identifiers)| sizes.get(quasi_identifiers).copied().unwrap_or(0) >= k)
        .collect();
    let mut remaining = Vec::new();
    for ((index, quasi_identifiers), large_enough) in candidates.into_iter().zip(is_large_enough) {
        match fates.get_mut(index) {
            Some(fate) if large_enough => *fate = Some(kept(quasi_identifiers)),
            _ => remaining.push((index, quasi_identifiers)),
        }
    }
    remaining
}

/// How many times each triple occurs.
fn group_sizes<'a>(
    triples: impl Iterator<Item = &'a QuasiIdentifiers>,
) -> HashMap<&'a QuasiIdentifiers, usize> {
    let mut sizes = HashMap::new();
    for triple in triples {
        *sizes.entry(triple).or_insert(0) += 1;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    fn triple(age_band: &str, sex: &str, postcode_area: &str) -> QuasiIdentifiers {
        QuasiIdentifiers {
            age_band: age_band.to_owned(),
            sex: sex.to_owned(),
            postcode_area: postcode_area.to_owned(),
        }
    }

    #[test]
    fn uk_postcodes_give_their_outward_code() {
        let cases = [
            ("12 Elm Street, Riverton RV3 4AB", "RV3"),
            ("12 Elm Street, Riverton rv3 4ab", "RV3"),
            ("12 Elm Street, Riverton RV34AB", "RV3"),
            ("Flat 2, 10 Downing Street, London SW1A 2AA", "SW1A"),
            ("1 Broad Street, Birmingham B1 1AA.", "B1"),
            ("Piccadilly, Manchester M60 1QD", "M60"),
            ("3 Mill Lane,Leeds,LS11 5AB,", "LS11"),
            ("Leeds LS115AB", "LS11"),
            ("EC2R 8AH", "EC2R"),
        ];
        for (address, expected) in cases {
            assert_eq!(
                postcode_area(address).as_deref(),
                Some(expected),
                "{address}"
            );
        }
    }

    #[test]
    fn us_zip_codes_give_their_first_three_digits() {
        let cases = [
            ("742 Evergreen Terrace, Springfield, IL 62704", "627"),
            ("742 Evergreen Terrace, Springfield, IL 62704-1234", "627"),
            ("1 Main St, Boston MA 02108", "021"),
        ];
        for (address, expected) in cases {
            assert_eq!(
                postcode_area(address).as_deref(),
                Some(expected),
                "{address}"
            );
        }
    }

    #[test]
    fn addresses_without_a_trailing_code_give_none() {
        let cases = [
            "",
            "   ",
            "12 Elm Street, Riverton",
            "12 Elm Street",
            "Flat 3 4AB",
            "12 Elm Street, Riverton RV3 4AB, United Kingdom",
            "Springfield 6270",
            "Springfield 627041",
            "Springfield 62704-12",
            "Somewhere ABCDE 4AB",
            "Somewhere 4AB",
            "Riverton RV3 44B",
            "Riverton RVX3 4AB",
            "Riverton 3RV 4AB",
            "Riverton RV3-4AB",
            "Zürich 8001 Ä4ÄB",
            "12 Elm Street, Riverton 4AB",
        ];
        for address in cases {
            assert_eq!(postcode_area(address), None, "{address:?}");
        }
    }

    #[test]
    fn postcode_area_is_short_and_never_the_street() {
        let streets = ["12 Elm Street", "Flat 9, 1 Ash Road", "SW1A House"];
        let endings = [
            "Riverton RV3 4AB",
            "RV34AB",
            "IL 62704",
            "62704-0001",
            "Riverton",
            "",
            "W1 1AA",
        ];
        for street in streets {
            for ending in endings {
                let address = format!("{street}, {ending}");
                if let Some(area) = postcode_area(&address) {
                    assert!(area.chars().count() <= 4, "{address}");
                    assert!(ending.to_ascii_uppercase().contains(&area), "{address}");
                    assert_eq!(area, area.to_ascii_uppercase());
                }
                // The street part never changes the answer.
                let other_street = format!("99 Other Road, {ending}");
                assert_eq!(
                    postcode_area(&address),
                    postcode_area(&other_street),
                    "{address}"
                );
            }
        }
    }

    #[test]
    fn age_bands_count_birthdays() {
        let today = date(2026, 6, 15);
        assert_eq!(age_band_5y(date(1986, 6, 15), today), "40-44");
        assert_eq!(age_band_5y(date(1986, 6, 16), today), "35-39");
        assert_eq!(age_band_5y(date(1982, 1, 1), today), "40-44");
        assert_eq!(age_band_5y(date(1981, 6, 16), today), "40-44");
        assert_eq!(age_band_5y(date(1981, 6, 15), today), "45-49");
        assert_eq!(age_band_5y(date(2026, 6, 15), today), "0-4");
        assert_eq!(age_band_5y(date(2021, 6, 15), today), "5-9");
        assert_eq!(age_band_5y(date(1936, 6, 16), today), "85-89");
        assert_eq!(age_band_5y(date(1936, 6, 15), today), "90+");
        assert_eq!(age_band_5y(date(1900, 1, 1), today), "90+");
    }

    #[test]
    fn future_dates_of_birth_fall_in_the_youngest_band() {
        assert_eq!(age_band_5y(date(2030, 1, 1), date(2026, 6, 15)), "0-4");
    }

    #[test]
    fn leap_day_birthdays_count_from_the_first_of_march() {
        let born = date(2000, 2, 29);
        assert_eq!(age_in_years(born, date(2025, 2, 28)), 24);
        assert_eq!(age_in_years(born, date(2025, 3, 1)), 25);
        assert_eq!(age_in_years(born, date(2024, 2, 29)), 24);
    }

    #[test]
    fn age_bands_widen_to_decades() {
        assert_eq!(widen_age_band_10y("40-44"), "40-49");
        assert_eq!(widen_age_band_10y("45-49"), "40-49");
        assert_eq!(widen_age_band_10y("0-4"), "0-9");
        assert_eq!(widen_age_band_10y("90+"), "90+");
        assert_eq!(widen_age_band_10y("*"), "*");
        assert_eq!(widen_age_band_10y("forty"), "*");
    }

    #[test]
    fn small_k_keeps_everything_unchanged() {
        let rows = vec![
            (triple("40-44", "female", "RV1"), 0),
            (triple("40-44", "female", "RV1"), 1),
            (triple("90+", "male", "RV2"), 2),
        ];
        for k in [0, 1] {
            let result = k_anonymize(rows.clone(), k);
            assert_eq!(result.rows, rows);
            assert_eq!(result.k_requested, k);
            assert_eq!(result.k_achieved, Some(1));
            assert_eq!(result.suppressed_rows, 0);
            assert_eq!(result.generalised_rows, 0);
        }
    }

    #[test]
    fn no_rows_gives_no_k() {
        let result = k_anonymize(Vec::<(QuasiIdentifiers, ())>::new(), 5);
        assert!(result.rows.is_empty());
        assert_eq!(result.k_achieved, None);
        assert_eq!(result.suppressed_rows, 0);
    }

    #[test]
    fn each_step_applies_only_to_rows_the_previous_steps_left() {
        let rows = vec![
            // Step 1: a group of two is kept as is.
            (triple("40-44", "female", "RV1"), "a"),
            (triple("40-44", "female", "RV1"), "b"),
            // Step 2: different postcodes, same band and sex.
            (triple("40-44", "male", "RV1"), "c"),
            (triple("40-44", "male", "RV2"), "d"),
            // Step 3: neighbouring bands in one decade.
            (triple("50-54", "female", "RV3"), "e"),
            (triple("55-59", "female", "RV4"), "f"),
            // Step 4: alone whatever is done.
            (triple("70-74", "other", "RV5"), "g"),
        ];
        let result = k_anonymize(rows, 2);
        assert_eq!(
            result.rows,
            vec![
                (triple("40-44", "female", "RV1"), "a"),
                (triple("40-44", "female", "RV1"), "b"),
                (triple("40-44", "male", "*"), "c"),
                (triple("40-44", "male", "*"), "d"),
                (triple("50-59", "female", "*"), "e"),
                (triple("50-59", "female", "*"), "f"),
            ]
        );
        assert_eq!(result.k_achieved, Some(2));
        assert_eq!(result.generalised_rows, 4);
        assert_eq!(result.suppressed_rows, 1);
    }

    #[test]
    fn rows_kept_at_step_one_are_not_regrouped() {
        // Three rows of one triple are kept at step 1 with k = 3; the lone row with the same
        // band and sex but another postcode must not join them at step 2.
        let rows = vec![
            (triple("20-24", "male", "RV1"), 0),
            (triple("20-24", "male", "RV1"), 1),
            (triple("20-24", "male", "RV1"), 2),
            (triple("20-24", "male", "RV2"), 3),
        ];
        let result = k_anonymize(rows, 3);
        let kept: Vec<i32> = result.rows.iter().map(|(_, payload)| *payload).collect();
        assert_eq!(kept, vec![0, 1, 2]);
        assert_eq!(result.suppressed_rows, 1);
        assert_eq!(result.generalised_rows, 0);
    }

    /// A small deterministic generator (xorshift64*), so the property test needs no crate.
    struct TestRandom(u64);

    impl TestRandom {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
            usize::try_from(value).expect("fits") % bound
        }
    }

    fn is_generalisation_of(kept: &QuasiIdentifiers, original: &QuasiIdentifiers) -> bool {
        kept.sex == original.sex
            && (kept.postcode_area == original.postcode_area
                || kept.postcode_area == SUPPRESSED_VALUE)
            && (kept.age_band == original.age_band
                || (kept.age_band == widen_age_band_10y(&original.age_band)
                    && kept.postcode_area == SUPPRESSED_VALUE))
    }

    #[test]
    fn every_kept_triple_occurs_at_least_k_times() {
        let bands = [
            "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
            "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
        ];
        let sexes = ["female", "female", "male", "male", "other"];
        let areas = ["RV1", "RV2", "RV3", "RV4", "RV5", "RV6", "RV7", "RV8", "*"];
        let mut random = TestRandom(0x9E37_79B9_7F4A_7C15);
        for size in [0, 1, 50, 3_000] {
            let rows: Vec<(QuasiIdentifiers, usize)> = (0..size)
                .map(|index| {
                    // Skewed towards a few areas, so some groups are large and some tiny.
                    let area = areas[random.below(areas.len()).min(random.below(areas.len()))];
                    let band = bands[random.below(bands.len())];
                    let sex = sexes[random.below(sexes.len())];
                    (triple(band, sex, area), index)
                })
                .collect();
            for k in [0, 1, 2, 3, 5, 10, 20, 50, 5_000] {
                let result = k_anonymize(rows.clone(), k);
                let sizes = group_sizes(result.rows.iter().map(|(triple, _)| triple));
                for (kept, _) in &result.rows {
                    let occurrences = sizes.get(kept).copied().unwrap_or(0);
                    assert!(
                        occurrences >= k,
                        "k={k}: {kept:?} occurs {occurrences} times"
                    );
                }
                assert_eq!(result.rows.len() + result.suppressed_rows, rows.len());
                assert!(result.generalised_rows <= result.rows.len());
                assert_eq!(result.k_requested, k);
                match result.k_achieved {
                    Some(achieved) => assert!(achieved >= k.max(1)),
                    None => assert!(result.rows.is_empty()),
                }
                let payloads: Vec<usize> = result.rows.iter().map(|(_, index)| *index).collect();
                assert!(
                    payloads.windows(2).all(|pair| pair[0] < pair[1]),
                    "order kept"
                );
                let mut unchanged = 0;
                for (kept, index) in &result.rows {
                    let original = &rows[*index].0;
                    assert!(
                        is_generalisation_of(kept, original),
                        "{kept:?} / {original:?}"
                    );
                    if kept == original {
                        unchanged += 1;
                    }
                }
                assert!(result.rows.len() - unchanged <= result.generalised_rows);
                if k <= 1 {
                    assert_eq!(result.rows, rows);
                }
            }
        }
    }
}
