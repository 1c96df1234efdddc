//! Blind indexes: search identifying fields by equality without decrypting them.
//!
//! # Format
//! `blind index = lowercase hex( HMAC-SHA256(K_kind, normalised value)[0..16] )`: 32 hex
//! characters (128 bits). `K_kind` is derived from `index.key` per [`IndexKind`] (see
//! [`crate::keyring`]: HKDF info `carevault blind index v1 <label>`), so the same value gives
//! unrelated indexes in different kinds, and KEK rotation leaves every index valid. The
//! normalised value is UTF-8, as produced by [`normalized_value`]:
//!
//! | kind | label | normalised value | example |
//! |---|---|---|---|
//! | [`IndexKind::Mrn`] | `mrn` | [`normalize_identifier`] | ` mrn-0042 ` → `MRN0042` |
//! | [`IndexKind::FullName`] | `full-name` | [`normalize_name`] of the full name as displayed (given names first) | `José  O'Brien` → `jose obrien` |
//! | [`IndexKind::FamilyNameAndBirthDate`] | `family-name-birth-date` | [`normalize_name`] ‖ `\|` ‖ `YYYY-MM-DD` | `Smith\|1980-2-3` → `smith\|1980-02-03` |
//! | [`IndexKind::Phone`] | `phone` | [`normalize_phone`] (last 10 digits) | `+44 20 7946 0958` → `2079460958` |
//! | [`IndexKind::NationalId`] | `national-id` | [`normalize_identifier`] | `ab 12 34 56 c` → `AB123456C` |
//! | [`IndexKind::FamilyNamePhonetic`] | `family-name-phonetic` | [`soundex`] of [`normalize_name`] | `Smyth` → `S530` |
//!
//! The raw input of [`IndexKind::FamilyNameAndBirthDate`] is `family name|date of birth`, split
//! at the last `|`, the date parsed as `%Y-%m-%d` and written back zero-padded; prefer
//! [`family_name_and_birth_date_blind_index`], which takes a [`NaiveDate`]. When the normalised
//! value is empty (or the date does not parse, or the name has no ASCII letter for the
//! phonetic kind) there is no index: [`blind_index`] returns `None`, and the caller stores NULL
//! and treats such a search as matching nothing.
//!
//! The labels and normalisation rules are part of the stored format: changing either means
//! recomputing every blind index.
//!
//! # Properties and limits
//! - A blind index is deterministic, so equal values are linkable inside the database (that is
//!   what makes it searchable); without `index.key` it reveals nothing else, but anyone holding
//!   the key can test guesses, so low-entropy kinds (family name + date of birth) are only as
//!   secret as the key.
//! - An index selects candidates. Truncation (2^-128 per pair), the phone rule and the phonetic
//!   code all allow different values to share an index, so the service decrypts the candidates
//!   and compares before treating a hit as the patient.
//! - Crypto-shredding a patient deletes their blind-index rows along with the data key; the
//!   index key itself is never rotated or destroyed.

use chrono::NaiveDate;
use hmac::Mac;
use zeroize::Zeroizing;

use crate::keyring::KeyRing;
use crate::normalize::{normalize_identifier, normalize_name, normalize_phone};
use crate::phonetic::soundex;

/// Bytes of HMAC-SHA256 output kept in a blind index (the hex string is twice as long).
pub const BLIND_INDEX_LEN: usize = 16;

/// Separates the family name from the date of birth in
/// [`IndexKind::FamilyNameAndBirthDate`] input and normalised values.
pub const FAMILY_NAME_BIRTH_DATE_SEPARATOR: char = '|';

const BIRTH_DATE_FORMAT: &str = "%Y-%m-%d";

/// The searchable fields, each with its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Medical record number.
    Mrn,
    /// Full name as displayed.
    FullName,
    /// Family name together with the date of birth.
    FamilyNameAndBirthDate,
    /// Phone number.
    Phone,
    /// National identifier (NHS number, SSN, …).
    NationalId,
    /// Soundex code of the family name, for sound-alike search.
    FamilyNamePhonetic,
}

impl IndexKind {
    /// Every kind, in declaration order.
    pub const ALL: [IndexKind; 6] = [
        IndexKind::Mrn,
        IndexKind::FullName,
        IndexKind::FamilyNameAndBirthDate,
        IndexKind::Phone,
        IndexKind::NationalId,
        IndexKind::FamilyNamePhonetic,
    ];

    /// The stable label used in key derivation (and usable as a column or enum value).
    pub fn label(self) -> &'static str {
        match self {
            IndexKind::Mrn => "mrn",
            IndexKind::FullName => "full-name",
            IndexKind::FamilyNameAndBirthDate => "family-name-birth-date",
            IndexKind::Phone => "phone",
            IndexKind::NationalId => "national-id",
            IndexKind::FamilyNamePhonetic => "family-name-phonetic",
        }
    }

    /// The kind with this [`label`](IndexKind::label).
    pub fn from_label(label: &str) -> Option<IndexKind> {
        IndexKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
    }
}

/// The string that is HMACed for `raw` in `kind` (table in the module docs), or `None` when it
/// would be empty. The result is PHI: keep it in memory only.
pub fn normalized_value(kind: IndexKind, raw: &str) -> Option<String> {
    let normalized = match kind {
        IndexKind::Mrn | IndexKind::NationalId => normalize_identifier(raw),
        IndexKind::FullName => normalize_name(raw),
        IndexKind::Phone => normalize_phone(raw),
        IndexKind::FamilyNamePhonetic => soundex(&normalize_name(raw))?,
        IndexKind::FamilyNameAndBirthDate => {
            let (family_name, birth_date) = raw.rsplit_once(FAMILY_NAME_BIRTH_DATE_SEPARATOR)?;
            let birth_date =
                NaiveDate::parse_from_str(birth_date.trim(), BIRTH_DATE_FORMAT).ok()?;
            family_name_and_birth_date_value(family_name, birth_date)?
        }
    };
    (!normalized.is_empty()).then_some(normalized)
}

/// The blind index of `raw` in `kind`: 32 lowercase hex characters, or `None` when the
/// normalised value is empty.
pub fn blind_index(keyring: &KeyRing, kind: IndexKind, raw: &str) -> Option<String> {
    let normalized = Zeroizing::new(normalized_value(kind, raw)?);
    keyed_index(keyring, kind, &normalized)
}

/// The [`IndexKind::FamilyNameAndBirthDate`] blind index of a family name and a date of birth.
pub fn family_name_and_birth_date_blind_index(
    keyring: &KeyRing,
    family_name: &str,
    birth_date: NaiveDate,
) -> Option<String> {
    let normalized = Zeroizing::new(family_name_and_birth_date_value(family_name, birth_date)?);
    keyed_index(keyring, IndexKind::FamilyNameAndBirthDate, &normalized)
}

/// `normalize_name(family_name)|YYYY-MM-DD`, or `None` when the name normalises to nothing.
fn family_name_and_birth_date_value(family_name: &str, birth_date: NaiveDate) -> Option<String> {
    let mut value = normalize_name(family_name);
    if value.is_empty() {
        return None;
    }
    value.push(FAMILY_NAME_BIRTH_DATE_SEPARATOR);
    value.push_str(&birth_date.format(BIRTH_DATE_FORMAT).to_string());
    Some(value)
}

fn keyed_index(keyring: &KeyRing, kind: IndexKind, normalized: &str) -> Option<String> {
    let mut mac = keyring.blind_index_mac(kind).clone();
    mac.update(normalized.as_bytes());
    let tag = mac.finalize().into_bytes();
    tag.get(..BLIND_INDEX_LEN).map(hex::encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring() -> KeyRing {
        KeyRing::from_master_key(&[7u8; 32]).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn labels_are_unique_and_round_trip() {
        for kind in IndexKind::ALL {
            assert_eq!(IndexKind::from_label(kind.label()), Some(kind));
        }
        assert_eq!(IndexKind::from_label("name"), None);
    }

    #[test]
    fn indexes_have_the_documented_shape() {
        let index = blind_index(&ring(), IndexKind::FullName, "John Smith").unwrap();
        assert_eq!(index.len(), 2 * BLIND_INDEX_LEN);
        assert!(
            index
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn names_match_after_normalisation() {
        let ring = ring();
        let smith = blind_index(&ring, IndexKind::FullName, "Smith");
        assert!(smith.is_some());
        assert_eq!(smith, blind_index(&ring, IndexKind::FullName, " smith "));
        assert_eq!(smith, blind_index(&ring, IndexKind::FullName, "SMITH"));
        assert_ne!(smith, blind_index(&ring, IndexKind::FullName, "Smyth"));
        assert_eq!(
            blind_index(&ring, IndexKind::FullName, "José O'Brien"),
            blind_index(&ring, IndexKind::FullName, "jose  obrien")
        );
        assert_eq!(blind_index(&ring, IndexKind::FullName, " -- "), None);
    }

    #[test]
    fn phonetic_index_finds_sound_alikes() {
        let ring = ring();
        let smith = blind_index(&ring, IndexKind::FamilyNamePhonetic, "Smith");
        assert!(smith.is_some());
        assert_eq!(
            smith,
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Smyth")
        );
        assert_eq!(
            smith,
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "SMITHE")
        );
        assert_ne!(
            smith,
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Jones")
        );
        assert_eq!(
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Müller"),
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Mueller")
        );
        assert_eq!(
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Иванов"),
            None
        );
        assert_eq!(
            normalized_value(IndexKind::FamilyNamePhonetic, "Smyth").as_deref(),
            Some("S530")
        );
    }

    #[test]
    fn phone_formats_match() {
        let ring = ring();
        let london = blind_index(&ring, IndexKind::Phone, "+44 20 7946 0958");
        assert!(london.is_some());
        for spelling in [
            "020 7946 0958",
            "0044 20 7946 0958",
            "(020) 7946-0958",
            "2079460958",
        ] {
            assert_eq!(
                london,
                blind_index(&ring, IndexKind::Phone, spelling),
                "{spelling}"
            );
        }
        assert_ne!(
            london,
            blind_index(&ring, IndexKind::Phone, "020 7946 0959")
        );
        assert_eq!(
            blind_index(&ring, IndexKind::Phone, "+1 (555) 123-4567"),
            blind_index(&ring, IndexKind::Phone, "555-123-4567")
        );
        assert_eq!(blind_index(&ring, IndexKind::Phone, "none"), None);
    }

    #[test]
    fn identifiers_match_ignoring_case_and_punctuation() {
        let ring = ring();
        let id = blind_index(&ring, IndexKind::NationalId, "AB 12 34 56 C");
        assert!(id.is_some());
        assert_eq!(id, blind_index(&ring, IndexKind::NationalId, "ab123456c"));
        assert_eq!(
            id,
            blind_index(&ring, IndexKind::NationalId, "AB-12-34-56-C")
        );
        assert_ne!(id, blind_index(&ring, IndexKind::NationalId, "AB123456D"));
        let mrn = blind_index(&ring, IndexKind::Mrn, "mrn-0042");
        assert_eq!(mrn, blind_index(&ring, IndexKind::Mrn, "MRN0042"));
        assert_ne!(mrn, blind_index(&ring, IndexKind::Mrn, "MRN042"));
    }

    #[test]
    fn kinds_are_domain_separated() {
        let ring = ring();
        // The same normalised string in two kinds gives unrelated indexes.
        assert_eq!(
            normalized_value(IndexKind::Mrn, "AB123"),
            normalized_value(IndexKind::NationalId, "AB123")
        );
        assert_ne!(
            blind_index(&ring, IndexKind::Mrn, "AB123"),
            blind_index(&ring, IndexKind::NationalId, "AB123")
        );
    }

    #[test]
    fn family_name_and_birth_date() {
        let ring = ring();
        let typed = family_name_and_birth_date_blind_index(&ring, "Smith", date(1980, 2, 3));
        assert!(typed.is_some());
        assert_eq!(
            typed,
            blind_index(
                &ring,
                IndexKind::FamilyNameAndBirthDate,
                " SMITH |1980-02-03"
            )
        );
        assert_eq!(
            typed,
            blind_index(&ring, IndexKind::FamilyNameAndBirthDate, "smith|1980-2-3")
        );
        assert_eq!(
            normalized_value(IndexKind::FamilyNameAndBirthDate, "O'Brien-Smith|1980-2-3")
                .as_deref(),
            Some("obrien smith|1980-02-03")
        );
        assert_ne!(
            typed,
            family_name_and_birth_date_blind_index(&ring, "Smith", date(1980, 2, 4))
        );
        assert_eq!(
            blind_index(&ring, IndexKind::FamilyNameAndBirthDate, "Smith|1980-02-30"),
            None
        );
        assert_eq!(
            blind_index(&ring, IndexKind::FamilyNameAndBirthDate, "Smith"),
            None
        );
        assert_eq!(
            family_name_and_birth_date_blind_index(&ring, " ", date(1980, 2, 3)),
            None
        );
    }

    #[test]
    fn indexes_depend_on_the_index_key_only() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("keys");
        let before = KeyRing::open(&dir, true).unwrap();
        let index = blind_index(&before, IndexKind::FullName, "Ada Lovelace");
        KeyRing::rotate(&dir).unwrap();
        let after = KeyRing::open(&dir, false).unwrap();
        assert_eq!(
            index,
            blind_index(&after, IndexKind::FullName, "Ada Lovelace")
        );
        assert_ne!(
            index,
            blind_index(&ring(), IndexKind::FullName, "Ada Lovelace")
        );
    }

    #[test]
    fn known_answers() {
        // Computed independently (Python hmac/hashlib) from master key [7; 32]:
        // index key = HKDF-SHA256(salt "carevault master key v1", info "carevault master index v1"),
        // K_kind = HKDF-SHA256(no salt, index key, "carevault blind index v1 <label>").
        let ring = ring();
        assert_eq!(
            blind_index(&ring, IndexKind::Mrn, "MRN0042").as_deref(),
            Some(KAT_MRN)
        );
        assert_eq!(
            blind_index(&ring, IndexKind::FamilyNamePhonetic, "Smith").as_deref(),
            Some(KAT_PHONETIC)
        );
        assert_eq!(ring.index_fingerprint(), KAT_INDEX_FINGERPRINT);
        assert_eq!(ring.fingerprint(1), Some(KAT_KEK_FINGERPRINT));
    }

    const KAT_MRN: &str = "71c4b7771a97a92fa316e408b3eb7d6d";
    const KAT_PHONETIC: &str = "9a538e47c936c30c264d824cb102fb37";
    const KAT_INDEX_FINGERPRINT: &str = "ef784548fcff569488080be8ffbf49dd";
    const KAT_KEK_FINGERPRINT: &str = "bea371578acdda045de0f0df0a2684c8";

    proptest! {
        #[test]
        fn equal_normalised_values_give_equal_indexes(name in "[A-Za-z]{1,12}", pad in "[ \\t]{0,3}") {
            let ring = ring();
            let padded = format!("{pad}{}{pad}", name.to_uppercase());
            prop_assert_eq!(
                blind_index(&ring, IndexKind::FullName, &name),
                blind_index(&ring, IndexKind::FullName, &padded)
            );
        }
    }
}
