//! The patient registry: registering, reading, searching and changing patients, and their
//! care teams.
//!
//! Every identifying and clinical field is sealed with the patient's own data key before it
//! reaches the store, and opened here only for an actor allowed to see it. Before a record
//! leaves this module it is reduced to the actor's [`PatientView`] (the masking policy of
//! `carevault_core::masking`): a hidden field is absent, not blank. Every read, listing,
//! search hit and change is one audit event carrying the patient's pseudonym, and the caller
//! gets nothing until that event is durable.
//!
//! - **Relation.** [`Services::relation_to`] and `in_care_of` are the one definition of "in
//!   the patient's care": the care team (assigned by an administrator or receptionist, or by
//!   an appointment), a break-the-glass grant or a whole-record share while it lasts, and for
//!   a nurse a visit of the patient checked in today in her department (`nursing/`).
//! - **Search without decrypting.** `patient_search_index` holds blind indexes of the MRN,
//!   full name, family name + date of birth, phone, national id and the Soundex code of the
//!   family name. The search text is turned into every index it could be, one query ranks the
//!   hits by the best kind of match (`MIN(weight)`), and only the page's rows are opened. A
//!   search may match only on what the caller's view shows in clear: doctors and nurses search
//!   their own care team's patients, auditors only by pseudonym (`ANON_…`), receptionists
//!   not by pseudonym (that would map the audit trail's pseudonyms back to people), and
//!   pharmacists not at all (`may_search_patients`). Names are sealed, so lists sort by
//!   registration or last change, never by name.
//! - **Who writes what.** Registration: administrators and receptionists (only administrators
//!   fill in the clinical summary, transcribing paper records). Changes: administrators
//!   everything, receptionists demographics, doctors in the care team the clinical summary, a
//!   patient their own contact details (`may_write`). Allergies belong to the allergy list
//!   (`allergies/`); sending `allergies` in a change is a 422 naming the list.
//! - **No lost updates.** A change is written only if `updated_at` is still the version it was
//!   based on (`store::patients::update` is conditional): the edit form carries the version it
//!   was drawn from (409 when stale), and the API answers an `ETag` and honours `If-Match`
//!   (412).
//! - **Duplicates.** Before a registration the family name + date of birth and phone indexes
//!   select candidates, which are opened and compared; registering anyway is a second
//!   submission with `register_anyway`, recorded in the `create` event.
//! - **Research export.** Administrators download a CSV keyed by a pseudonym of that export
//!   only (random, never stored), with age band, sex, postcode area, blood group, primary
//!   diagnosis and status, made k-anonymous over (age band, sex, postcode area) by
//!   `core::deidentify::k_anonymize`; the header and the audit event state k requested and
//!   achieved and the rows suppressed.

use carevault_core::Action;
use carevault_core::Grant;
use carevault_core::Scope;
use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_core::masking::{
    PatientField, PatientView, Relation, Visibility, view_for, visibility,
};
use carevault_core::patient::{
    Address, BloodGroup, ClinicalText, DateOfBirth, Email, MRN_FIRST_SERIAL, Mrn, NationalId,
    PatientStatus, PersonName, Phone, Sex, ShortText,
};
use carevault_core::policy::grant;
use carevault_core::time::{to_micros, version_after, whole_micros};
use carevault_core::{PatientId, Role, UserId, ValidationErrors};
use carevault_crypto::blind_index::{
    IndexKind, blind_index, family_name_and_birth_date_blind_index,
};
use carevault_crypto::data_key::{DataKey, wrap_data_key};
use carevault_crypto::keyring::KeyRing;
use carevault_crypto::mask::{age_band, birth_year, mask_email, mask_phone, parse_pseudonym};
use carevault_crypto::normalize::{normalize_name, normalize_phone};
use carevault_crypto::seal::{FieldContext, open_text, seal_text, sealed_data_key_version};
use carevault_store::patients::{IndexEntry, ListOrder, PatientRow};
use carevault_store::{StoreError, care_team, patients, users};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::error::ServiceError;
use crate::tx;

mod access;
mod care_teams;
mod encryption;
mod input;
mod record;
mod register;
mod research;
mod sealed;
mod search;

pub use access::*;
pub use care_teams::*;
pub use encryption::*;
pub use input::*;
pub use register::*;
pub use research::*;
pub(crate) use sealed::*;
pub use search::*;

/// The table name bound into every sealed patient field.
const TABLE: &str = "patients";
/// Every patient has one data key today; the sealed format records its version.
const DATA_KEY_VERSION: u32 = 1;
/// Pseudonym numbers are drawn at random from this range.
const PSEUDONYM_RANGE: std::ops::Range<u64> = 1_000..10_000_000;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A patient's data in clear, validated. Exists only inside this crate, in memory.
#[derive(Clone)]
pub(crate) struct PatientData {
    pub(crate) mrn: String,
    pub(crate) given_name: String,
    pub(crate) family_name: String,
    pub(crate) date_of_birth: NaiveDate,
    pub(crate) sex: Sex,
    pub(crate) gender_identity: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) emergency_contact: Option<EmergencyContactInput>,
    pub(crate) national_id: Option<String>,
    pub(crate) preferred_language: Option<String>,
    pub(crate) blood_group: Option<String>,
    /// Allergies typed in from a paper record at registration: they become entries of the
    /// allergy list (`allergies/`), never a column of the patient row. `None` for a
    /// record read back.
    pub(crate) allergies: Option<String>,
    pub(crate) primary_diagnosis: Option<String>,
}

/// A field as shown to one actor: `None` (the outer option, on [`PatientDetails`]) means
/// hidden; `Some(None)` means shown but empty.
pub type Shown<T> = Option<Option<T>>;

/// A patient record as one actor may see it. A field the actor's view hides is `None` and
/// must not be rendered at all; masked and pseudonymised fields carry the masked value.
/// Its `Debug` output shows the id and view only.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientDetails {
    pub id: PatientId,
    /// Which view of the masking policy produced this.
    pub view: PatientView,
    /// The patient's pseudonym (`ANON_…`), for audit-safe references; shown in the UI only
    /// where the family name is pseudonymised.
    pub pseudonym: String,
    pub mrn: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`, or the year (masked), or an age band (pseudonym).
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub gender_identity: Shown<String>,
    pub address: Shown<String>,
    pub phone: Shown<String>,
    pub email: Shown<String>,
    pub emergency_contact: Shown<EmergencyContactInput>,
    pub national_id: Shown<String>,
    pub preferred_language: Shown<String>,
    pub blood_group: Shown<String>,
    pub allergies: Shown<String>,
    pub primary_diagnosis: Shown<String>,
    pub status: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for PatientDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientDetails")
            .field("id", &self.id)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl PatientDetails {
    /// How to name the patient on a page: the name in clear, or the pseudonym.
    pub fn display_name(&self) -> String {
        match (&self.given_name, &self.family_name) {
            (Some(given), Some(family)) => format!("{given} {family}"),
            (None, Some(family)) => family.clone(),
            _ => self.pseudonym.clone(),
        }
    }
}

impl Services {
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::from_master_key(&[7u8; 32]).unwrap()
    }

    #[test]
    fn search_text_is_tried_as_every_kind_it_could_be() {
        let ring = ring();
        let kinds = |q: &str| -> Vec<&str> {
            search_entries(&ring, q)
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(
            kinds("Smyth"),
            ["full-name", "family-name-phonetic", "national-id"]
        );
        assert_eq!(kinds("Ann Smith"), ["full-name", "family-name-phonetic"]);
        assert_eq!(
            kinds("Smith 1980-02-03"),
            ["family-name-birth-date", "family-name-birth-date"]
        );
        assert_eq!(kinds("10000014"), ["mrn", "national-id", "phone"]);
        assert_eq!(kinds("+44 20 7946 0958"), ["mrn", "national-id", "phone"]);
    }

    #[test]
    fn sound_alike_names_share_the_phonetic_index() {
        let ring = ring();
        let phonetic = |q: &str| {
            search_entries(&ring, q)
                .into_iter()
                .find(|(k, _)| *k == "family-name-phonetic")
                .map(|(_, v)| v)
        };
        assert_eq!(phonetic("Smith"), phonetic("Smyth"));
        assert_ne!(phonetic("Smith"), phonetic("Jones"));
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
