//! Realistic synthetic patients for `carevault demo seed` and the benchmarks.
//!
//! Everything here is made up from embedded lists: names, fictional streets and towns (all
//! in the invented postcode area "RV", one outward code per town, so a community hospital's
//! catchment has eight postcode areas), e-mail addresses at the reserved `example.*`
//! domains and NHS-number-like identifiers from the `999` range that the NHS keeps for test
//! data. Phone numbers are `07…` mobiles with random digits: the reserved drama range is too
//! small for large data sets, so a generated number may happen to be in service and must
//! never be called or texted.
//!
//! A seeded generator repeats itself exactly for a given seed and version of `rand` (its
//! `StdRng` algorithm may change between major versions), which is what tests and
//! benchmarks need. This module depends on no other part of the service.

use std::collections::HashSet;
use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::rngs::{StdRng, SysRng};
use rand::{RngExt, SeedableRng};

mod lists;

use lists::*;

/// One made-up patient. `Debug` shows everything: none of it belongs to a real person.
#[derive(Debug, Clone)]
pub struct SyntheticPatient {
    pub given_name: String,
    pub family_name: String,
    /// Never after the `today` passed to [`SyntheticPatients::next_patient`].
    pub date_of_birth: NaiveDate,
    /// "female", "male", or (about 1 %) "other".
    pub sex: &'static str,
    /// Mostly `None`.
    pub gender_identity: Option<String>,
    /// "14 Mill Lane, Riverton RV3 4AB".
    pub address: String,
    /// A UK mobile number, "07xxx xxxxxx": 11 digits.
    pub phone: String,
    /// Most adults and teenagers have one, at `example.org`, `example.net` or `example.com`.
    pub email: Option<String>,
    /// (name, relation, phone).
    pub emergency_contact: Option<(String, String, String)>,
    /// About 70 %: ten digits "999 123 4567" with a valid NHS-number check digit, unique
    /// among the patients of one generator.
    pub national_id: Option<String>,
    /// Mostly "English".
    pub preferred_language: String,
    /// "A+", "O-", …, with UK donor frequencies; `None` for about a quarter.
    pub blood_group: Option<&'static str>,
    /// Mostly `None`.
    pub allergies: Option<String>,
    /// Depends on age; more common in older patients.
    pub primary_diagnosis: Option<String>,
}

/// A generator of [`SyntheticPatient`]s.
pub struct SyntheticPatients {
    rng: StdRng,
    /// The NHS-number bodies handed out so far, so none repeats.
    issued_national_ids: HashSet<u64>,
}

impl fmt::Debug for SyntheticPatients {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SyntheticPatients")
            .field("issued_national_ids", &self.issued_national_ids.len())
            .finish_non_exhaustive()
    }
}

/// Attempts at drawing an unused NHS-number-like identifier before giving the patient none.
const NATIONAL_ID_ATTEMPTS: usize = 32;

impl SyntheticPatients {
    /// A generator that yields the same patients for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Self::from_rng(StdRng::seed_from_u64(seed))
    }

    /// A generator seeded from the operating system (falling back to the clock if the
    /// operating system has no randomness to give: this is test data, not a secret).
    pub fn random() -> Self {
        let rng = StdRng::try_from_rng(&mut SysRng).unwrap_or_else(|_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            // Truncation is fine: any 64 bits of the clock will do as a seed.
            StdRng::seed_from_u64(nanos as u64)
        });
        Self::from_rng(rng)
    }

    fn from_rng(rng: StdRng) -> Self {
        Self {
            rng,
            issued_national_ids: HashSet::new(),
        }
    }

    /// The next patient, born on or before `today`.
    pub fn next_patient(&mut self, today: NaiveDate) -> SyntheticPatient {
        let age = self.age_in_years();
        let date_of_birth = self.date_of_birth(age, today);
        let sex = self.pick_weighted(SEXES);
        let gender_identity = self.gender_identity(sex);
        let given_name = self.given_name(sex).to_owned();
        let family_name = self.pick(FAMILY_NAMES).to_owned();
        let email = self.email(&given_name, &family_name, age, date_of_birth);
        let emergency_contact = self.emergency_contact(&family_name, age);
        let national_id = self.national_id();
        let blood_group = self.blood_group();
        let allergies = self.allergies();
        let primary_diagnosis = self.primary_diagnosis(age);
        SyntheticPatient {
            address: self.address(),
            phone: self.mobile_phone(),
            preferred_language: self.pick_weighted(LANGUAGES).to_owned(),
            given_name,
            family_name,
            date_of_birth,
            sex,
            gender_identity,
            email,
            emergency_contact,
            national_id,
            blood_group,
            allergies,
            primary_diagnosis,
        }
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: f64) -> bool {
        self.rng.random_bool((percent / 100.0).clamp(0.0, 1.0))
    }

    /// A uniformly chosen item of a non-empty list.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// An item of a non-empty list, chosen in proportion to its weight.
    fn pick_weighted<T: Copy>(&mut self, weighted: &[(T, u32)]) -> T {
        let total: u32 = weighted.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        let chosen = weighted
            .iter()
            .position(|(_, weight)| {
                if roll < *weight {
                    return true;
                }
                roll -= weight;
                false
            })
            .unwrap_or(weighted.len() - 1);
        weighted[chosen].0
    }

    fn age_in_years(&mut self) -> u32 {
        let (youngest, oldest) = self.pick_weighted(AGE_RANGES);
        self.rng.random_range(youngest..=oldest)
    }

    /// A date of birth giving exactly `age` on `today`: after `today` minus `age + 1` years
    /// and no later than `today` minus `age` years.
    fn date_of_birth(&mut self, age: u32, today: NaiveDate) -> NaiveDate {
        let latest = today
            .checked_sub_months(Months::new(12 * age))
            .unwrap_or(today);
        let earliest = today
            .checked_sub_months(Months::new(12 * (age + 1)))
            .and_then(|date| date.checked_add_days(Days::new(1)))
            .unwrap_or(latest);
        let span = u64::try_from(latest.signed_duration_since(earliest).num_days()).unwrap_or(0);
        earliest
            .checked_add_days(Days::new(self.rng.random_range(0..=span)))
            .unwrap_or(latest)
            .min(today)
    }

    fn gender_identity(&mut self, sex: &str) -> Option<String> {
        let choices: &[&str] = match sex {
            "female" => &["Non-binary", "Transgender man", "Genderfluid"],
            "male" => &["Non-binary", "Transgender woman", "Genderfluid"],
            _ => &["Non-binary", "Genderqueer", "Agender", "Prefer not to say"],
        };
        let recorded = (sex != "female" && sex != "male") || self.chance(0.6);
        recorded.then(|| self.pick(choices).to_owned())
    }

    fn given_name(&mut self, sex: &str) -> &'static str {
        let female = match sex {
            "female" => true,
            "male" => false,
            _ => self.chance(50.0),
        };
        self.pick(if female {
            FEMALE_GIVEN_NAMES
        } else {
            MALE_GIVEN_NAMES
        })
    }

    fn address(&mut self) -> String {
        let house_number = if self.chance(70.0) {
            self.rng.random_range(1..=40)
        } else {
            self.rng.random_range(1..=250)
        };
        let street = self.pick(STREET_NAMES);
        let street_kind = self.pick(STREET_KINDS);
        let (town, outward_code) = self.pick_weighted(TOWNS);
        let inward_letters = INWARD_CODE_LETTERS.as_bytes();
        let inward = format!(
            "{}{}{}",
            self.rng.random_range(0..10),
            char::from(self.pick(inward_letters)),
            char::from(self.pick(inward_letters)),
        );
        format!("{house_number} {street} {street_kind}, {town} {outward_code} {inward}")
    }

    /// "07xxx xxxxxx": 07, then 4, 5, 7, 8 or 9 (mobile ranges), then eight random digits.
    fn mobile_phone(&mut self) -> String {
        let range = self.pick(&[4, 5, 7, 8, 9]);
        let rest_of_first_group = self.rng.random_range(0..100);
        let second_group = self.rng.random_range(0..1_000_000);
        format!("07{range}{rest_of_first_group:02} {second_group:06}")
    }

    fn email(
        &mut self,
        given_name: &str,
        family_name: &str,
        age: u32,
        date_of_birth: NaiveDate,
    ) -> Option<String> {
        if age < 13 || !self.chance(88.0) {
            return None;
        }
        let given = email_local_part(given_name);
        let family = email_local_part(family_name);
        let number = self.rng.random_range(1..100);
        let local_part = match self.rng.random_range(0..4) {
            0 => format!("{given}.{family}{number}"),
            1 => {
                let initial = given.chars().next().map(String::from).unwrap_or_default();
                format!("{initial}{family}{number}")
            }
            2 => format!("{given}{family}{:02}", date_of_birth.year().rem_euclid(100)),
            _ => format!("{family}.{given}{number}"),
        };
        let domain = self.pick_weighted(EMAIL_DOMAINS);
        Some(format!("{local_part}@{domain}"))
    }

    fn emergency_contact(
        &mut self,
        family_name: &str,
        age: u32,
    ) -> Option<(String, String, String)> {
        if !self.chance(80.0) {
            return None;
        }
        let relations = match age {
            0..18 => RELATIONS_OF_A_CHILD,
            18..65 => RELATIONS_OF_AN_ADULT,
            _ => RELATIONS_OF_AN_OLDER_PERSON,
        };
        let relation = self.pick_weighted(relations);
        let contact_sex = match relation {
            "Mother" | "Grandmother" | "Aunt" | "Daughter" | "Sister" | "Niece" => "female",
            "Father" | "Grandfather" | "Uncle" | "Son" | "Brother" | "Nephew" => "male",
            _ if self.chance(50.0) => "female",
            _ => "male",
        };
        let is_family = !matches!(relation, "Friend" | "Neighbour" | "Partner" | "Guardian");
        let contact_family_name = if is_family && self.chance(80.0) {
            family_name
        } else {
            self.pick(FAMILY_NAMES)
        };
        let name = format!("{} {contact_family_name}", self.given_name(contact_sex));
        Some((name, relation.to_owned(), self.mobile_phone()))
    }

    /// An NHS-number-like identifier in the test range 999 000 0000 – 999 999 9999 with a
    /// valid modulus-11 check digit, never repeated by this generator.
    fn national_id(&mut self) -> Option<String> {
        if !self.chance(70.0) {
            return None;
        }
        for _ in 0..NATIONAL_ID_ATTEMPTS {
            let body = 999_000_000 + self.rng.random_range(0..1_000_000u64);
            let Some(check_digit) = nhs_check_digit(body) else {
                continue;
            };
            if self.issued_national_ids.insert(body) {
                return Some(format!(
                    "{:03} {:03} {:03}{check_digit}",
                    body / 1_000_000,
                    body / 1_000 % 1_000,
                    body % 1_000,
                ));
            }
        }
        None
    }

    fn blood_group(&mut self) -> Option<&'static str> {
        self.chance(75.0).then(|| self.pick_weighted(BLOOD_GROUPS))
    }

    fn allergies(&mut self) -> Option<String> {
        if !self.chance(15.0) {
            return None;
        }
        let first = self.pick(ALLERGIES);
        let second = self.pick(ALLERGIES);
        if first != second && self.chance(20.0) {
            Some(format!("{first}, {second}"))
        } else {
            Some(first.to_owned())
        }
    }

    fn primary_diagnosis(&mut self, age: u32) -> Option<String> {
        let (percent, diagnoses) = match age {
            0..18 => (30.0, DIAGNOSES_OF_CHILDREN),
            18..65 => (50.0, DIAGNOSES_OF_ADULTS),
            _ => (80.0, DIAGNOSES_OF_OLDER_PEOPLE),
        };
        self.chance(percent)
            .then(|| self.pick_weighted(diagnoses).to_owned())
    }
}

/// The check digit of a nine-digit NHS-number body (modulus 11, weights 10 down to 2), or
/// `None` when the body has no valid check digit.
fn nhs_check_digit(body: u64) -> Option<u64> {
    let mut remaining = body;
    let mut weighted_sum = 0;
    for weight in 2..=10 {
        weighted_sum += (remaining % 10) * weight;
        remaining /= 10;
    }
    match 11 - weighted_sum % 11 {
        11 => Some(0),
        10 => None,
        digit => Some(digit),
    }
}

/// `name` as an e-mail local part: lowercase ASCII letters only, accents removed
/// ("Zoë" → "zoe", "O'Brien" → "obrien").
fn email_local_part(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' | 'ć' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ł' => 'l',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ś' | 'š' => 's',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            other => other,
        })
        .filter(char::is_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    //! Tests of the synthetic patient generator.

    use std::time::{Duration, Instant};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, 28).expect("valid date")
    }

    fn patients(seed: u64, count: usize, today: NaiveDate) -> Vec<SyntheticPatient> {
        let mut generator = SyntheticPatients::seeded(seed);
        (0..count).map(|_| generator.next_patient(today)).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_patients() {
        let first = format!("{:?}", patients(42, 200, today()));
        let second = format!("{:?}", patients(42, 200, today()));
        let other_seed = format!("{:?}", patients(43, 200, today()));
        assert_eq!(first, second);
        assert_ne!(first, other_seed);
    }

    #[test]
    fn random_generators_differ() {
        let mut first = SyntheticPatients::random();
        let mut second = SyntheticPatients::random();
        let first: Vec<String> = (0..20).map(|_| first.next_patient(today()).phone).collect();
        let second: Vec<String> = (0..20)
            .map(|_| second.next_patient(today()).phone)
            .collect();
        assert_ne!(first, second);
    }

    #[test]
    fn no_one_is_born_in_the_future_and_ages_span_a_century() {
        for today in [
            today(),
            NaiveDate::from_ymd_opt(2024, 2, 29).expect("valid date"),
            NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"),
        ] {
            let generated = patients(7, 5_000, today);
            assert!(generated.iter().all(|p| p.date_of_birth <= today));
            let oldest = generated.iter().map(|p| p.date_of_birth).min();
            let youngest = generated.iter().map(|p| p.date_of_birth).max();
            let hundred_and_one_years_ago = today
                .checked_sub_months(Months::new(12 * 101))
                .expect("valid date");
            assert!(oldest.is_some_and(|dob| dob > hundred_and_one_years_ago));
            assert!(oldest.is_some_and(|dob| today.year() - dob.year() >= 90));
            assert!(youngest.is_some_and(|dob| today.year() - dob.year() <= 1));
        }
    }

    #[test]
    fn phone_numbers_are_eleven_digit_uk_mobiles() {
        for patient in patients(1, 2_000, today()) {
            let mut phones = vec![patient.phone];
            phones.extend(patient.emergency_contact.map(|(_, _, phone)| phone));
            for phone in phones {
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                assert_eq!(digits.len(), 11, "{phone}");
                assert!(digits.starts_with("07"), "{phone}");
                assert_eq!(phone.len(), 12, "{phone}");
            }
        }
    }

    #[test]
    fn national_ids_are_unique_valid_test_range_nhs_numbers() {
        let generated = patients(3, 5_000, today());
        let ids: Vec<String> = generated
            .iter()
            .filter_map(|p| p.national_id.clone())
            .collect();
        assert!((3_200..=3_800).contains(&ids.len()), "{}", ids.len());
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 12, "{id}");
            let digits: Vec<u64> = id
                .chars()
                .filter_map(|c| c.to_digit(10))
                .map(u64::from)
                .collect();
            assert_eq!(digits.len(), 10, "{id}");
            assert!(id.starts_with("999 "), "{id}");
            let weighted_sum: u64 = digits[..9]
                .iter()
                .zip((2..=10).rev())
                .map(|(digit, weight)| digit * weight)
                .sum();
            assert_eq!((weighted_sum + digits[9]) % 11, 0, "{id}");
        }
    }

    #[test]
    fn the_nhs_documentation_example_checks_out() {
        // 943 476 5919 is the example NHS number in the NHS data dictionary.
        assert_eq!(nhs_check_digit(943_476_591), Some(9));
    }

    #[test]
    fn addresses_end_in_one_of_the_eight_catchment_postcode_areas() {
        let mut areas = HashSet::new();
        for patient in patients(5, 2_000, today()) {
            let area = carevault_core::deidentify::postcode_area(&patient.address);
            let area = area.unwrap_or_else(|| panic!("no postcode in {}", patient.address));
            assert!(
                TOWNS.iter().any(|((town, outward), _)| {
                    *outward == area && patient.address.contains(&format!(", {town} {outward} "))
                }),
                "{}",
                patient.address
            );
            areas.insert(area);
        }
        assert_eq!(areas.len(), 8);
    }

    #[test]
    fn emails_use_reserved_domains_and_ascii_local_parts() {
        let generated = patients(9, 2_000, today());
        let with_email = generated.iter().filter(|p| p.email.is_some()).count();
        assert!(with_email > 1_400, "{with_email}");
        for email in generated.iter().filter_map(|p| p.email.as_deref()) {
            let (local_part, domain) = email.split_once('@').expect("an @");
            assert!(["example.org", "example.net", "example.com"].contains(&domain));
            assert!(local_part.len() >= 3, "{email}");
            assert!(
                local_part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'),
                "{email}"
            );
        }
        assert_eq!(email_local_part("Zoë"), "zoe");
        assert_eq!(email_local_part("O'Brien"), "obrien");
        assert_eq!(email_local_part("Łukasz"), "lukasz");
        assert_eq!(email_local_part("Lloyd-Jones"), "lloydjones");
    }

    #[test]
    fn name_lists_are_large_latin_and_short() {
        assert!(FEMALE_GIVEN_NAMES.len() >= 100);
        assert!(MALE_GIVEN_NAMES.len() >= 100);
        assert!(FAMILY_NAMES.len() >= 150);
        assert!(STREET_NAMES.len() >= 40);
        assert_eq!(TOWNS.len(), 8);
        for pair in [
            ("Smith", "Smyth"),
            ("Thompson", "Thomson"),
            ("Clark", "Clarke"),
        ] {
            assert!(FAMILY_NAMES.contains(&pair.0) && FAMILY_NAMES.contains(&pair.1));
        }
        let names = FEMALE_GIVEN_NAMES
            .iter()
            .chain(MALE_GIVEN_NAMES)
            .chain(FAMILY_NAMES);
        for name in names {
            assert!(!name.is_empty() && name.chars().count() <= 50, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_alphabetic() && u32::from(c) < 0x250 || "'- ".contains(c)),
                "{name}"
            );
            assert!(!email_local_part(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn distributions_look_plausible() {
        let generated = patients(11, 10_000, today());
        let share = |predicate: &dyn Fn(&SyntheticPatient) -> bool| {
            generated.iter().filter(|p| predicate(p)).count() * 100 / generated.len()
        };
        assert!((45..=56).contains(&share(&|p| p.sex == "female")));
        assert!(share(&|p| p.sex == "other") <= 2);
        assert!(share(&|p| p.gender_identity.is_some()) <= 3);
        assert!((84..=92).contains(&share(&|p| p.preferred_language == "English")));
        assert!((70..=80).contains(&share(&|p| p.blood_group.is_some())));
        assert!(share(&|p| p.blood_group == Some("O+")) > share(&|p| p.blood_group == Some("B+")));
        assert!((10..=20).contains(&share(&|p| p.allergies.is_some())));
        assert!((75..=85).contains(&share(&|p| p.emergency_contact.is_some())));
        assert!(generated.iter().all(|p| p.given_name.chars().count() <= 50));
    }

    #[test]
    fn thousands_of_patients_generate_quickly() {
        let started = Instant::now();
        let generated = patients(13, 20_000, today());
        assert_eq!(generated.len(), 20_000);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
