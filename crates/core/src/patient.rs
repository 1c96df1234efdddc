//! Value types of the patient record. Each has a `parse` constructor returning a message a
//! person can act on, so an invalid name, date, phone number or e-mail address cannot exist
//! past the edge of the system. None of these types prints its value in `Debug` output:
//! they hold personal data.

use std::fmt;

use chrono::NaiveDate;

/// Longest accepted given or family name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest accepted address, in characters.
pub const ADDRESS_MAX: usize = 300;
/// Longest accepted free-text clinical field (allergies, primary diagnosis), in characters.
pub const CLINICAL_TEXT_MAX: usize = 2000;
/// Longest accepted short text (gender identity, relation, language), in characters.
pub const SHORT_TEXT_MAX: usize = 50;
/// Longest accepted e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Phone numbers have between this many …
pub const PHONE_MIN_DIGITS: usize = 7;
/// … and this many digits (E.164).
pub const PHONE_MAX_DIGITS: usize = 15;
/// Longest accepted national identifier, in characters.
pub const NATIONAL_ID_MAX: usize = 32;
/// The earliest accepted date of birth.
pub const EARLIEST_BIRTH_YEAR: i32 = 1880;

/// Trims `raw`, refuses control characters (a newline only when `multiline`) and checks
/// the length in characters.
fn clean_text(raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    crate::text::clean_text(raw, 1, max, multiline)
}

sensitive_text!(
    /// A given or family name: 1–100 characters, at least one letter, no control characters.
    PersonName
);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, NAME_MAX, false)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must contain a letter".into());
        }
        if value.chars().any(|c| "<>{}[]@#$%^*=|\\/_~`\"".contains(c)) {
            return Err("may contain only letters, spaces, apostrophes, hyphens and dots".into());
        }
        Ok(Self(value))
    }
}

sensitive_text!(
    /// A postal address: free text, 1–300 characters, may span lines.
    Address
);

impl Address {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, ADDRESS_MAX, true).map(Self)
    }
}

sensitive_text!(
    /// A phone number as written (`+44 20 7946 0958`, `(555) 010-4592`): digits with
    /// spaces, `+`, `-`, `.`, `(`, `)`; 7–15 digits.
    Phone
);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, 30, false)?;
        if !value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        {
            return Err("may contain only digits, spaces and + - . ( )".into());
        }
        if value.chars().skip(1).any(|c| c == '+') {
            return Err("may have a + only at the start".into());
        }
        let digits = value.chars().filter(char::is_ascii_digit).count();
        if !(PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&digits) {
            return Err(format!(
                "must have between {PHONE_MIN_DIGITS} and {PHONE_MAX_DIGITS} digits"
            ));
        }
        Ok(Self(value))
    }
}

sensitive_text!(
    /// An e-mail address: `local@domain.tld`, at most 254 characters, stored as written
    /// (the domain lowercased).
    Email
);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, EMAIL_MAX, false)?;
        let invalid = || "must be an e-mail address like name@example.org".to_owned();
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        // The domain is lowercased before it is checked, not after: lowercasing can turn one
        // character into several (`İ` becomes `i` and a combining dot, which is not a letter)
        // and what is stored must parse again (found by a property test).
        let domain = domain.to_lowercase();
        if local.is_empty()
            || local.chars().count() > 64
            || local.contains('@')
            || value.chars().any(char::is_whitespace)
        {
            return Err(invalid());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|label| {
                label.is_empty()
                    || label.starts_with('-')
                    || label.ends_with('-')
                    || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(invalid());
        }
        let email = format!("{local}@{domain}");
        if email.chars().count() > EMAIL_MAX {
            return Err(format!("must be at most {EMAIL_MAX} characters"));
        }
        Ok(Self(email))
    }
}

sensitive_text!(
    /// A national identifier (NHS number, social security number, …): 1–32 letters, digits,
    /// spaces and hyphens.
    NationalId
);

impl NationalId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, NATIONAL_ID_MAX, false)?;
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            return Err("may contain only letters, digits, spaces and hyphens".into());
        }
        if !value.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err("must contain a letter or a digit".into());
        }
        Ok(Self(value))
    }
}

sensitive_text!(
    /// Short free text: gender identity, a relation ("daughter"), a language. 1–50 characters.
    ShortText
);

impl ShortText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, SHORT_TEXT_MAX, false).map(Self)
    }
}

sensitive_text!(
    /// Free clinical text (allergies, a primary diagnosis): 1–2000 characters, may span lines.
    ClinicalText
);

impl ClinicalText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, CLINICAL_TEXT_MAX, true).map(Self)
    }
}

/// A date of birth: `YYYY-MM-DD`, not in the future, not before 1880.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    /// Parses `raw` and checks it against `today` (the hospital's current date).
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, String> {
        let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| "must be a date written YYYY-MM-DD".to_owned())?;
        Self::new(date, today)
    }

    pub fn new(date: NaiveDate, today: NaiveDate) -> Result<Self, String> {
        if date > today {
            return Err("must not be in the future".into());
        }
        if date < NaiveDate::from_ymd_opt(EARLIEST_BIRTH_YEAR, 1, 1).unwrap_or(NaiveDate::MIN) {
            return Err(format!("must not be before {EARLIEST_BIRTH_YEAR}"));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl fmt::Debug for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DateOfBirth(…)")
    }
}

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                let value = raw.trim();
                $(if value.eq_ignore_ascii_case($text) { return Ok($name::$variant); })*
                Err(format!(
                    concat!("must be one of ", $what, ": {}"),
                    [$($text),*].join(", ")
                ))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice!(
    /// Sex as recorded for administrative and statistical purposes.
    Sex, "the recorded sexes" {
        Female => "female",
        Male => "male",
        Other => "other",
        Unknown => "unknown",
    }
);

choice!(
    /// ABO/Rh blood group.
    BloodGroup, "the blood groups" {
        APositive => "A+",
        ANegative => "A-",
        BPositive => "B+",
        BNegative => "B-",
        AbPositive => "AB+",
        AbNegative => "AB-",
        OPositive => "O+",
        ONegative => "O-",
    }
);

choice!(
    /// Where a patient record stands. Only `active` records are edited; `erased` records
    /// have been crypto-shredded and keep only a tombstone.
    PatientStatus, "the statuses" {
        Active => "active",
        Deceased => "deceased",
        Merged => "merged",
        Erased => "erased",
    }
);

/// Someone to call in an emergency.
#[derive(Clone, PartialEq, Eq)]
pub struct EmergencyContact {
    pub name: PersonName,
    pub relation: ShortText,
    pub phone: Phone,
}

impl fmt::Debug for EmergencyContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmergencyContact(…)")
    }
}

/// A medical record number: the hospital number printed on wristbands and letters. Seven
/// digits of serial number and a Luhn check digit (`10000014`), so a mistyped digit or two
/// swapped neighbours are caught before a search (all swaps but `09` ↔ `90`, Luhn's blind
/// spot).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mrn(String);

/// Serial numbers start here so every MRN has eight digits.
pub const MRN_FIRST_SERIAL: u64 = 1_000_000;

impl Mrn {
    /// The MRN for the `serial`-th registration (counting from [`MRN_FIRST_SERIAL`]).
    pub fn from_serial(serial: u64) -> Self {
        let body = serial.to_string();
        let check = luhn_check_digit(&body);
        Self(format!("{body}{check}"))
    }

    /// Parses an MRN as typed (spaces and hyphens ignored), checking the check digit.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.len() < 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("must be a hospital number (digits)".into());
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        if luhn_check_digit(body).to_string() != check {
            return Err("has a wrong check digit".into());
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Mrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mrn(…)")
    }
}

impl fmt::Display for Mrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Luhn (mod 10) check digit of a string of ASCII digits.
fn luhn_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// The whole patient age in years on `today`.
pub fn age_in_years(date_of_birth: NaiveDate, today: NaiveDate) -> u32 {
    use chrono::Datelike;
    let mut age = today.year() - date_of_birth.year();
    if (today.month(), today.day()) < (date_of_birth.month(), date_of_birth.day()) {
        age -= 1;
    }
    u32::try_from(age).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn names() {
        assert_eq!(PersonName::parse("  O'Brien ").unwrap().as_str(), "O'Brien");
        assert!(PersonName::parse("José-María").is_ok());
        assert_eq!(PersonName::parse("").unwrap_err(), "is required");
        assert_eq!(
            PersonName::parse(&"a".repeat(300)).unwrap_err(),
            "must be at most 100 characters"
        );
        assert!(PersonName::parse("1234").is_err());
        assert!(PersonName::parse("<script>").is_err());
        assert!(PersonName::parse("a\nb").is_err());
    }

    #[test]
    fn dates_of_birth() {
        assert!(DateOfBirth::parse("1980-02-29", today()).is_ok());
        assert_eq!(
            DateOfBirth::parse("2027-01-01", today()).unwrap_err(),
            "must not be in the future"
        );
        assert!(DateOfBirth::parse("1980-02-30", today()).is_err());
        assert!(DateOfBirth::parse("22/11/1980", today()).is_err());
        assert!(DateOfBirth::parse("1850-01-01", today()).is_err());
        assert!(DateOfBirth::parse("2026-11-22", today()).is_ok());
    }

    #[test]
    fn phones_and_emails() {
        assert!(Phone::parse("+44 20 7946 0958").is_ok());
        assert!(Phone::parse("(555) 010-4592").is_ok());
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("12+3456789").is_err());
        assert_eq!(
            Email::parse("Ann.Lee@Example.ORG").unwrap().as_str(),
            "Ann.Lee@example.org"
        );
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "a b@example.org",
            "ann@ex..org",
            // Lowercased, `İ` is `i` and a combining dot: not a letter.
            "ann@İ.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn choices_are_case_insensitive_and_list_the_options() {
        assert_eq!(Sex::parse("Female").unwrap(), Sex::Female);
        assert_eq!(BloodGroup::parse("ab+").unwrap(), BloodGroup::AbPositive);
        let message = Sex::parse("x").unwrap_err();
        assert!(
            message.contains("female, male, other, unknown"),
            "{message}"
        );
    }

    #[test]
    fn mrn_check_digit() {
        let mrn = Mrn::from_serial(MRN_FIRST_SERIAL);
        assert_eq!(mrn.as_str().len(), 8);
        assert_eq!(Mrn::parse(mrn.as_str()).unwrap(), mrn);
        // Luhn's own example: 7992739871 has check digit 3.
        assert!(Mrn::parse("79927398713").is_ok());
        assert!(Mrn::parse("79927398710").is_err());
        // Swapping two neighbouring digits is caught.
        let text = mrn.as_str();
        let swapped = format!("{}{}{}{}", &text[..2], &text[3..4], &text[2..3], &text[4..]);
        if swapped != text {
            assert!(Mrn::parse(&swapped).is_err());
        }
        assert!(Mrn::parse("abc").is_err());
    }

    #[test]
    fn debug_never_shows_the_value() {
        let name = PersonName::parse("Marker").unwrap();
        assert!(!format!("{name:?}").contains("Marker"));
        let dob = DateOfBirth::parse("1980-01-01", today()).unwrap();
        assert!(!format!("{dob:?}").contains("1980"));
    }

    #[test]
    fn ages() {
        let dob = NaiveDate::from_ymd_opt(1980, 11, 23).unwrap();
        assert_eq!(age_in_years(dob, today()), 45);
        let dob = NaiveDate::from_ymd_opt(1980, 11, 22).unwrap();
        assert_eq!(age_in_years(dob, today()), 46);
    }
}
