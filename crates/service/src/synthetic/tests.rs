//! Tests of the synthetic patient generator.
#![cfg(test)]

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
