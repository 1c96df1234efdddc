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
//!   a nurse a visit of the patient checked in today in her department (`nursing.rs`).
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
//!   (`allergies.rs`); sending `allergies` in a change is a 422 naming the list.
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
use carevault_core::time::{from_micros, to_micros};
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

/// The table name bound into every sealed patient field.
const TABLE: &str = "patients";
/// Every patient has one data key today; the sealed format records its version.
const DATA_KEY_VERSION: u32 = 1;
/// Pseudonym numbers are drawn at random from this range.
const PSEUDONYM_RANGE: std::ops::Range<u64> = 1_000..10_000_000;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A change to one field: keep it, clear it, or set it from raw input.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> std::fmt::Debug for Change<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Change::Keep => "Keep",
            Change::Clear => "Clear",
            Change::Set(_) => "Set(…)",
        })
    }
}

impl<T> Change<T> {
    fn is_keep(&self) -> bool {
        matches!(self, Change::Keep)
    }
}

/// An emergency contact as submitted (unvalidated).
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmergencyContactInput {
    pub name: String,
    pub relation: String,
    pub phone: String,
}

/// Patient fields as submitted (unvalidated). For a registration `Keep` and `Clear` both
/// mean "not given"; for an edit, `Keep` leaves the stored value alone. Its `Debug` output
/// names only the fields that change.
#[derive(Clone, Default)]
pub struct PatientInput {
    pub given_name: Change<String>,
    pub family_name: Change<String>,
    pub date_of_birth: Change<String>,
    pub sex: Change<String>,
    pub gender_identity: Change<String>,
    pub address: Change<String>,
    pub phone: Change<String>,
    pub email: Change<String>,
    pub emergency_contact: Change<EmergencyContactInput>,
    pub national_id: Change<String>,
    pub preferred_language: Change<String>,
    pub blood_group: Change<String>,
    pub allergies: Change<String>,
    pub primary_diagnosis: Change<String>,
    pub status: Change<String>,
}

impl std::fmt::Debug for PatientInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientInput")
            .field("changes", &self.changed_fields())
            .finish()
    }
}

impl PatientInput {
    /// The fields this input sets to a non-empty value (what a registration fills in).
    pub fn given_fields(&self) -> Vec<PatientField> {
        let blank = |c: &Change<String>| match c {
            Change::Set(v) => v.trim().is_empty(),
            _ => true,
        };
        let contact_blank = match &self.emergency_contact {
            Change::Set(c) => {
                c.name.trim().is_empty()
                    && c.relation.trim().is_empty()
                    && c.phone.trim().is_empty()
            }
            _ => true,
        };
        self.changed_fields()
            .into_iter()
            .filter(|field| {
                use PatientField as F;
                let change = match field {
                    F::GivenName => &self.given_name,
                    F::FamilyName => &self.family_name,
                    F::DateOfBirth => &self.date_of_birth,
                    F::Sex => &self.sex,
                    F::GenderIdentity => &self.gender_identity,
                    F::Address => &self.address,
                    F::Phone => &self.phone,
                    F::Email => &self.email,
                    F::EmergencyContact => return !contact_blank,
                    F::NationalId => &self.national_id,
                    F::PreferredLanguage => &self.preferred_language,
                    F::BloodGroup => &self.blood_group,
                    F::Allergies => &self.allergies,
                    F::PrimaryDiagnosis => &self.primary_diagnosis,
                    F::Status => &self.status,
                    _ => return true,
                };
                !blank(change)
            })
            .collect()
    }

    /// The fields this input sets or clears.
    pub fn changed_fields(&self) -> Vec<PatientField> {
        use PatientField as F;
        let mut fields = Vec::new();
        let mut add = |changed: bool, field| {
            if changed {
                fields.push(field);
            }
        };
        add(!self.given_name.is_keep(), F::GivenName);
        add(!self.family_name.is_keep(), F::FamilyName);
        add(!self.date_of_birth.is_keep(), F::DateOfBirth);
        add(!self.sex.is_keep(), F::Sex);
        add(!self.gender_identity.is_keep(), F::GenderIdentity);
        add(!self.address.is_keep(), F::Address);
        add(!self.phone.is_keep(), F::Phone);
        add(!self.email.is_keep(), F::Email);
        add(!self.emergency_contact.is_keep(), F::EmergencyContact);
        add(!self.national_id.is_keep(), F::NationalId);
        add(!self.preferred_language.is_keep(), F::PreferredLanguage);
        add(!self.blood_group.is_keep(), F::BloodGroup);
        add(!self.allergies.is_keep(), F::Allergies);
        add(!self.primary_diagnosis.is_keep(), F::PrimaryDiagnosis);
        add(!self.status.is_keep(), F::Status);
        fields
    }
}

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
    /// allergy list (`allergies.rs`), never a column of the patient row. `None` for a
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

impl std::fmt::Debug for EmergencyContactInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmergencyContactInput(…)")
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

/// The result of a registration.
#[derive(Debug, Clone)]
pub enum Registration {
    Registered(Box<PatientDetails>),
    /// Someone with the same family name and date of birth, or the same phone number, is
    /// already registered: shown as the actor may see them. Submit again with
    /// `register_anyway` to register regardless (audited).
    PossibleDuplicates(Vec<PatientDetails>),
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatientSort {
    /// Best match first when searching; otherwise newest registration first.
    #[default]
    Relevance,
    Newest,
    Oldest,
    RecentlyUpdated,
}

impl PatientSort {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "" | "relevance" => Ok(PatientSort::Relevance),
            "newest" => Ok(PatientSort::Newest),
            "oldest" => Ok(PatientSort::Oldest),
            "updated" => Ok(PatientSort::RecentlyUpdated),
            _ => Err("must be one of relevance, newest, oldest, updated".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatientSort::Relevance => "relevance",
            PatientSort::Newest => "newest",
            PatientSort::Oldest => "oldest",
            PatientSort::RecentlyUpdated => "updated",
        }
    }
}

/// A list or search request. Its `Debug` output leaves the search text out.
#[derive(Clone, Default)]
pub struct PatientQuery {
    /// Search text: a name, "family name date of birth", an MRN, a phone number, a national
    /// id, or a pseudonym. Its content never reaches a log or the audit trail.
    pub q: Option<String>,
    /// 1-based.
    pub page: u64,
    pub per_page: Option<u64>,
    pub sort: PatientSort,
}

impl std::fmt::Debug for PatientQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientQuery")
            .field("searching", &self.q.is_some())
            .field("page", &self.page)
            .field("per_page", &self.per_page)
            .field("sort", &self.sort)
            .finish()
    }
}

/// One page of patients.
#[derive(Debug, Clone)]
pub struct PatientPage {
    pub items: Vec<PatientDetails>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// A care-team member as listed on the patient's page.
#[derive(Debug, Clone)]
pub struct CareTeamMember {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub source: String,
    pub since: DateTime<Utc>,
}

/// How one field of one patient is stored (the encryption view).
#[derive(Debug, Clone)]
pub struct StoredField {
    pub column: &'static str,
    /// `sealed`, `clear`, or `empty` (NULL).
    pub storage: &'static str,
    pub kek_version: Option<u32>,
    pub data_key_version: Option<u32>,
    pub nonce_hex: Option<String>,
    pub stored_bytes: usize,
    /// The first bytes of the ciphertext, hex; for clear columns the stored value.
    pub prefix_hex: String,
    pub blind_index: Option<&'static str>,
}

/// A sealed column of a row: its name, its bytes (if any), and the blind index kind that
/// covers it (if any).
type SealedColumn<'a> = (&'static str, Option<&'a Vec<u8>>, Option<IndexKind>);

/// The encryption view of one patient.
#[derive(Debug, Clone)]
pub struct EncryptionView {
    pub id: PatientId,
    pub pseudonym: String,
    pub kek_version: u32,
    pub wrapped_data_key_bytes: usize,
    pub fields: Vec<StoredField>,
    pub blind_index_kinds: Vec<String>,
}

/// The research export: a de-identified CSV and what was done to make it so.
#[derive(Debug, Clone)]
pub struct ResearchExport {
    pub csv: String,
    pub k_requested: usize,
    pub k_achieved: Option<usize>,
    pub rows: usize,
    pub suppressed: usize,
    pub generalised: usize,
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn parse_optional<T>(
    errors: &mut ValidationErrors,
    field: &str,
    change: &Change<String>,
    current: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
    into_string: impl Fn(T) -> String,
) -> Option<String> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(raw) if raw.trim().is_empty() => None,
        Change::Set(raw) => errors.check(field, parse(raw)).map(into_string),
    }
}

fn parse_required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    change: &Change<String>,
    current: Option<T>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    match change {
        Change::Keep if current.is_some() => current,
        Change::Set(raw) => errors.check(field, parse(raw)),
        _ => {
            errors.push(field, "is required");
            None
        }
    }
}

/// Applies `input` to `current` (or to nothing, for a registration) and validates the
/// result. `mrn` is kept from `current` or taken from `new_mrn`.
fn apply_input(
    input: &PatientInput,
    current: Option<&PatientData>,
    new_mrn: &str,
    today: NaiveDate,
) -> Result<PatientData, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let cur = |f: fn(&PatientData) -> Option<String>| current.and_then(f);
    let given_name = parse_required(
        &mut errors,
        "given_name",
        &input.given_name,
        current.map(|c| c.given_name.clone()),
        |raw| PersonName::parse(raw).map(PersonName::into_string),
    );
    let family_name = parse_required(
        &mut errors,
        "family_name",
        &input.family_name,
        current.map(|c| c.family_name.clone()),
        |raw| PersonName::parse(raw).map(PersonName::into_string),
    );
    let date_of_birth = parse_required(
        &mut errors,
        "date_of_birth",
        &input.date_of_birth,
        current.map(|c| c.date_of_birth),
        |raw| DateOfBirth::parse(raw, today).map(DateOfBirth::date),
    );
    let sex = parse_required(
        &mut errors,
        "sex",
        &input.sex,
        current.map(|c| c.sex),
        Sex::parse,
    );
    let gender_identity = parse_optional(
        &mut errors,
        "gender_identity",
        &input.gender_identity,
        cur(|c| c.gender_identity.clone()),
        ShortText::parse,
        ShortText::into_string,
    );
    let address = parse_optional(
        &mut errors,
        "address",
        &input.address,
        cur(|c| c.address.clone()),
        Address::parse,
        Address::into_string,
    );
    let phone = parse_optional(
        &mut errors,
        "phone",
        &input.phone,
        cur(|c| c.phone.clone()),
        Phone::parse,
        Phone::into_string,
    );
    let email = parse_optional(
        &mut errors,
        "email",
        &input.email,
        cur(|c| c.email.clone()),
        Email::parse,
        Email::into_string,
    );
    let emergency_contact = match &input.emergency_contact {
        Change::Keep => current.and_then(|c| c.emergency_contact.clone()),
        Change::Clear => None,
        Change::Set(contact)
            if contact.name.trim().is_empty()
                && contact.relation.trim().is_empty()
                && contact.phone.trim().is_empty() =>
        {
            None
        }
        Change::Set(contact) => {
            let name = errors.check("emergency_contact.name", PersonName::parse(&contact.name));
            let relation = errors.check(
                "emergency_contact.relation",
                ShortText::parse(&contact.relation),
            );
            let phone = errors.check("emergency_contact.phone", Phone::parse(&contact.phone));
            match (name, relation, phone) {
                (Some(name), Some(relation), Some(phone)) => Some(EmergencyContactInput {
                    name: name.into_string(),
                    relation: relation.into_string(),
                    phone: phone.into_string(),
                }),
                _ => None,
            }
        }
    };
    let national_id = parse_optional(
        &mut errors,
        "national_id",
        &input.national_id,
        cur(|c| c.national_id.clone()),
        NationalId::parse,
        NationalId::into_string,
    );
    let preferred_language = parse_optional(
        &mut errors,
        "preferred_language",
        &input.preferred_language,
        cur(|c| c.preferred_language.clone()),
        ShortText::parse,
        ShortText::into_string,
    );
    let blood_group = parse_optional(
        &mut errors,
        "blood_group",
        &input.blood_group,
        cur(|c| c.blood_group.clone()),
        BloodGroup::parse,
        |g| g.as_str().to_owned(),
    );
    let allergies = parse_optional(
        &mut errors,
        "allergies",
        &input.allergies,
        cur(|c| c.allergies.clone()),
        ClinicalText::parse,
        ClinicalText::into_string,
    );
    let primary_diagnosis = parse_optional(
        &mut errors,
        "primary_diagnosis",
        &input.primary_diagnosis,
        cur(|c| c.primary_diagnosis.clone()),
        ClinicalText::parse,
        ClinicalText::into_string,
    );
    errors.clone().into_result()?;
    match (given_name, family_name, date_of_birth, sex) {
        (Some(given_name), Some(family_name), Some(date_of_birth), Some(sex)) => Ok(PatientData {
            mrn: current.map_or_else(|| new_mrn.to_owned(), |c| c.mrn.clone()),
            given_name,
            family_name,
            date_of_birth,
            sex,
            gender_identity,
            address,
            phone,
            email,
            emergency_contact,
            national_id,
            preferred_language,
            blood_group,
            allergies,
            primary_diagnosis,
        }),
        _ => Err(errors),
    }
}

/// The answer when a record changed between reading it and writing it.
fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "someone else changed this record meanwhile; reload it and make your change again"
            .into(),
    }
}

/// The fields whose values differ between two versions of a record.
fn differing_fields(before: &PatientData, after: &PatientData) -> Vec<PatientField> {
    use PatientField as F;
    let mut out = Vec::new();
    let mut check = |differs: bool, field| {
        if differs {
            out.push(field);
        }
    };
    check(before.given_name != after.given_name, F::GivenName);
    check(before.family_name != after.family_name, F::FamilyName);
    check(before.date_of_birth != after.date_of_birth, F::DateOfBirth);
    check(before.sex != after.sex, F::Sex);
    check(
        before.gender_identity != after.gender_identity,
        F::GenderIdentity,
    );
    check(before.address != after.address, F::Address);
    check(before.phone != after.phone, F::Phone);
    check(before.email != after.email, F::Email);
    check(
        before.emergency_contact != after.emergency_contact,
        F::EmergencyContact,
    );
    check(before.national_id != after.national_id, F::NationalId);
    check(
        before.preferred_language != after.preferred_language,
        F::PreferredLanguage,
    );
    check(before.blood_group != after.blood_group, F::BloodGroup);
    check(before.allergies != after.allergies, F::Allergies);
    check(
        before.primary_diagnosis != after.primary_diagnosis,
        F::PrimaryDiagnosis,
    );
    out
}

/// The status an edit may set: `active` or `deceased` (merging and erasure have their own
/// procedures).
fn parse_status_change(change: &Change<String>) -> Result<Option<PatientStatus>, ValidationErrors> {
    match change {
        Change::Keep => Ok(None),
        Change::Clear => Err(ValidationErrors::single("status", "is required")),
        Change::Set(raw) => match PatientStatus::parse(raw) {
            Ok(status @ (PatientStatus::Active | PatientStatus::Deceased)) => Ok(Some(status)),
            Ok(_) => Err(ValidationErrors::single(
                "status",
                "can only be set to active or deceased here",
            )),
            Err(message) => Err(ValidationErrors::single("status", message)),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Sealing
// ---------------------------------------------------------------------------------------

fn seal(
    dek: &DataKey,
    id: &str,
    column: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    value
        .map(|text| {
            let context = FieldContext {
                table: TABLE,
                column,
                row_id: id,
                patient_id: id,
            };
            seal_text(dek, DATA_KEY_VERSION, &context, text).map_err(ServiceError::internal)
        })
        .transpose()
}

fn open(
    dek: &DataKey,
    id: &str,
    column: &str,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, ServiceError> {
    sealed
        .map(|bytes| {
            let context = FieldContext {
                table: TABLE,
                column,
                row_id: id,
                patient_id: id,
            };
            open_text(dek, &context, bytes)
                .map(|text| text.to_string())
                .map_err(|_| ServiceError::Integrity)
        })
        .transpose()
}

fn required(value: Option<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    value.ok_or_else(|| ServiceError::internal(anyhow::anyhow!("required field not sealed")))
}

/// Seals `data` into `row` (every sealed column, fresh nonces) and sets the clear columns
/// derived from it.
fn seal_into(row: &mut PatientRow, dek: &DataKey, data: &PatientData) -> Result<(), ServiceError> {
    let id = row.id.clone();
    let s = |column: &str, value: Option<&str>| seal(dek, &id, column, value);
    row.mrn = required(s("mrn", Some(&data.mrn))?)?;
    row.given_name = required(s("given_name", Some(&data.given_name))?)?;
    row.family_name = required(s("family_name", Some(&data.family_name))?)?;
    let dob = data.date_of_birth.format("%Y-%m-%d").to_string();
    row.date_of_birth = required(s("date_of_birth", Some(&dob))?)?;
    row.gender_identity = s("gender_identity", data.gender_identity.as_deref())?;
    row.address = s("address", data.address.as_deref())?;
    row.phone = s("phone", data.phone.as_deref())?;
    row.email = s("email", data.email.as_deref())?;
    let contact = data
        .emergency_contact
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ServiceError::internal)?;
    row.emergency_contact = s("emergency_contact", contact.as_deref())?;
    row.national_id = s("national_id", data.national_id.as_deref())?;
    row.preferred_language = s("preferred_language", data.preferred_language.as_deref())?;
    row.blood_group = s("blood_group", data.blood_group.as_deref())?;
    // `allergies` is not written: the allergy list holds them (`allergies.rs`); the old
    // column is only read and emptied by the move at start-up.
    row.primary_diagnosis = s("primary_diagnosis", data.primary_diagnosis.as_deref())?;
    row.sex = data.sex.as_str().to_owned();
    row.birth_year = data.date_of_birth.year();
    Ok(())
}

/// Opens the given and family names of `row` (for labels elsewhere in the service).
pub(crate) fn open_names(
    row: &PatientRow,
    dek: &DataKey,
) -> Result<(String, String), ServiceError> {
    let id = row.id.as_str();
    let need = |value: Option<String>| value.ok_or(ServiceError::Integrity);
    Ok((
        need(open(dek, id, "given_name", Some(&row.given_name))?)?,
        need(open(dek, id, "family_name", Some(&row.family_name))?)?,
    ))
}

/// Opens every sealed column of `row`.
fn open_all(row: &PatientRow, dek: &DataKey) -> Result<PatientData, ServiceError> {
    let id = row.id.as_str();
    let o =
        |column: &str, sealed: Option<&Vec<u8>>| open(dek, id, column, sealed.map(Vec::as_slice));
    let need = |value: Option<String>| value.ok_or(ServiceError::Integrity);
    let dob = need(o("date_of_birth", Some(&row.date_of_birth))?)?;
    let contact = o("emergency_contact", row.emergency_contact.as_ref())?
        .map(|json| serde_json::from_str(&json).map_err(|_| ServiceError::Integrity))
        .transpose()?;
    Ok(PatientData {
        mrn: need(o("mrn", Some(&row.mrn))?)?,
        given_name: need(o("given_name", Some(&row.given_name))?)?,
        family_name: need(o("family_name", Some(&row.family_name))?)?,
        date_of_birth: NaiveDate::parse_from_str(&dob, "%Y-%m-%d")
            .map_err(|_| ServiceError::Integrity)?,
        sex: Sex::parse(&row.sex).map_err(|_| ServiceError::Integrity)?,
        gender_identity: o("gender_identity", row.gender_identity.as_ref())?,
        address: o("address", row.address.as_ref())?,
        phone: o("phone", row.phone.as_ref())?,
        email: o("email", row.email.as_ref())?,
        emergency_contact: contact,
        national_id: o("national_id", row.national_id.as_ref())?,
        preferred_language: o("preferred_language", row.preferred_language.as_ref())?,
        blood_group: o("blood_group", row.blood_group.as_ref())?,
        allergies: None,
        primary_diagnosis: o("primary_diagnosis", row.primary_diagnosis.as_ref())?,
    })
}

/// Opens the old free-text `allergies` column of `row` (for moving it into the allergy
/// list).
pub(crate) fn open_legacy_allergies(
    row: &PatientRow,
    dek: &DataKey,
) -> Result<Option<String>, ServiceError> {
    open(dek, &row.id, "allergies", row.allergies.as_deref())
}

/// Search weight per index kind: lower sorts first.
fn weight(kind: IndexKind) -> i16 {
    match kind {
        IndexKind::Mrn | IndexKind::NationalId => 0,
        IndexKind::FullName | IndexKind::FamilyNameAndBirthDate | IndexKind::Phone => 1,
        IndexKind::FamilyNamePhonetic => 3,
    }
}

/// The blind indexes of a patient.
fn index_entries(ring: &KeyRing, data: &PatientData) -> Vec<IndexEntry> {
    let full_name = format!("{} {}", data.given_name, data.family_name);
    let mut values = vec![
        (IndexKind::Mrn, blind_index(ring, IndexKind::Mrn, &data.mrn)),
        (
            IndexKind::FullName,
            blind_index(ring, IndexKind::FullName, &full_name),
        ),
        (
            IndexKind::FamilyNameAndBirthDate,
            family_name_and_birth_date_blind_index(ring, &data.family_name, data.date_of_birth),
        ),
        (
            IndexKind::FamilyNamePhonetic,
            blind_index(ring, IndexKind::FamilyNamePhonetic, &data.family_name),
        ),
    ];
    if let Some(phone) = &data.phone {
        values.push((IndexKind::Phone, blind_index(ring, IndexKind::Phone, phone)));
    }
    if let Some(national_id) = &data.national_id {
        values.push((
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, national_id),
        ));
    }
    values
        .into_iter()
        .filter_map(|(kind, value)| {
            value.map(|value| IndexEntry {
                kind: kind.label(),
                value,
                weight: weight(kind),
            })
        })
        .collect()
}

/// The blind indexes a search text may match. The text is tried as every kind it could be.
fn search_entries(ring: &KeyRing, q: &str) -> Vec<(&'static str, String)> {
    let q = q.trim();
    let mut out = Vec::new();
    let mut push = |kind: IndexKind, value: Option<String>| {
        if let Some(value) = value {
            out.push((kind.label(), value));
        }
    };
    // "Smith 1980-02-03" or "1980-02-03 Smith": family name and date of birth.
    let words: Vec<&str> = q.split_whitespace().collect();
    let date = words
        .iter()
        .position(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").is_ok());
    if let Some(at) = date {
        let name: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, w)| *w)
            .collect();
        if let Ok(dob) = NaiveDate::parse_from_str(words[at], "%Y-%m-%d") {
            let family = name
                .last()
                .copied()
                .unwrap_or_default()
                .trim_end_matches(',');
            push(
                IndexKind::FamilyNameAndBirthDate,
                family_name_and_birth_date_blind_index(ring, family, dob),
            );
            if let Some(first) = name.first() {
                push(
                    IndexKind::FamilyNameAndBirthDate,
                    family_name_and_birth_date_blind_index(ring, first.trim_end_matches(','), dob),
                );
            }
        }
        return out;
    }
    let digits = q.chars().filter(char::is_ascii_digit).count();
    if digits > 0 {
        push(IndexKind::Mrn, blind_index(ring, IndexKind::Mrn, q));
        push(
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, q),
        );
        if digits >= 7 && normalize_phone(q).len() >= 7 {
            push(IndexKind::Phone, blind_index(ring, IndexKind::Phone, q));
        }
        if q.chars().any(char::is_alphabetic) {
            // National ids like "AB 12 34 56 C" mix both.
            return out;
        }
        return out;
    }
    // A name: "Given Family", or "Family, Given".
    let (full, family) = match q.split_once(',') {
        Some((family, given)) => (
            format!("{} {}", given.trim(), family.trim()),
            family.trim().to_owned(),
        ),
        None => (
            q.to_owned(),
            words.last().copied().unwrap_or_default().to_owned(),
        ),
    };
    push(
        IndexKind::FullName,
        blind_index(ring, IndexKind::FullName, &full),
    );
    push(
        IndexKind::FamilyNamePhonetic,
        blind_index(ring, IndexKind::FamilyNamePhonetic, &family),
    );
    if words.len() == 1 {
        push(
            IndexKind::NationalId,
            blind_index(ring, IndexKind::NationalId, q),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------

fn show<T: Clone>(
    view: PatientView,
    field: PatientField,
    value: &Option<T>,
    mask: impl Fn(&T) -> T,
) -> Shown<T> {
    match visibility(view, field) {
        Visibility::Hidden => None,
        Visibility::Clear => Some(value.clone()),
        Visibility::Masked | Visibility::Pseudonym => Some(value.as_ref().map(mask)),
    }
}

/// `allergies`: the allergy list in one line (`AllergyList::summary`), shown where the
/// view shows allergies.
pub(crate) fn present(
    row: &PatientRow,
    data: &PatientData,
    view: PatientView,
    today: NaiveDate,
    allergies: Option<String>,
) -> Result<PatientDetails, ServiceError> {
    use PatientField as F;
    let id: PatientId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
    let pseudonym = pseudonym_of(row.pseudonym_number);
    let vis = |field| visibility(view, field);
    let clear_if = |field, value: &str| (vis(field) == Visibility::Clear).then(|| value.to_owned());
    let family_name = match vis(F::FamilyName) {
        Visibility::Clear => Some(data.family_name.clone()),
        Visibility::Hidden => None,
        Visibility::Masked | Visibility::Pseudonym => Some(pseudonym.clone()),
    };
    let given_name = match vis(F::GivenName) {
        Visibility::Clear => Some(data.given_name.clone()),
        Visibility::Hidden => None,
        Visibility::Masked | Visibility::Pseudonym => Some(pseudonym.clone()),
    };
    let date_of_birth = match vis(F::DateOfBirth) {
        Visibility::Clear => Some(data.date_of_birth.format("%Y-%m-%d").to_string()),
        Visibility::Masked => Some(birth_year(data.date_of_birth)),
        Visibility::Pseudonym => Some(age_band(data.date_of_birth, today)),
        Visibility::Hidden => None,
    };
    let when = |field, at: i64| (vis(field) != Visibility::Hidden).then(|| from_micros(at));
    Ok(PatientDetails {
        id,
        view,
        pseudonym: pseudonym.clone(),
        mrn: clear_if(F::Mrn, &data.mrn),
        given_name,
        family_name,
        date_of_birth,
        sex: (vis(F::Sex) != Visibility::Hidden).then(|| data.sex.as_str().to_owned()),
        gender_identity: show(view, F::GenderIdentity, &data.gender_identity, |_| {
            "***".into()
        }),
        address: show(view, F::Address, &data.address, |_| "***".into()),
        phone: show(view, F::Phone, &data.phone, |p| mask_phone(p)),
        email: show(view, F::Email, &data.email, |e| mask_email(e)),
        emergency_contact: show(view, F::EmergencyContact, &data.emergency_contact, |c| {
            EmergencyContactInput {
                name: "***".into(),
                relation: c.relation.clone(),
                phone: mask_phone(&c.phone),
            }
        }),
        national_id: show(view, F::NationalId, &data.national_id, |_| "***".into()),
        preferred_language: show(
            view,
            F::PreferredLanguage,
            &data.preferred_language,
            Clone::clone,
        ),
        blood_group: show(view, F::BloodGroup, &data.blood_group, |_| "***".into()),
        allergies: show(view, F::Allergies, &allergies, |_| "***".into()),
        primary_diagnosis: show(view, F::PrimaryDiagnosis, &data.primary_diagnosis, |_| {
            "***".into()
        }),
        status: row.status.clone(),
        created_at: when(F::CreatedAt, row.created_at),
        updated_at: when(F::UpdatedAt, row.updated_at),
    })
}

fn random_pseudonym_number() -> i64 {
    let bytes: [u8; 8] = carevault_crypto::random_bytes();
    let span = PSEUDONYM_RANGE.end - PSEUDONYM_RANGE.start;
    let n = PSEUDONYM_RANGE.start + u64::from_be_bytes(bytes) % span;
    i64::try_from(n).unwrap_or(1_000)
}

/// Whether a view includes the care team. Who treats a patient is itself revealing (an
/// oncologist, a psychiatrist), so the masked, dispensing and pseudonymous views leave it out.
fn sees_care_team(view: PatientView) -> bool {
    matches!(
        view,
        PatientView::Full | PatientView::Own | PatientView::Registration
    )
}

/// The fields a role may fill in, given its relation to the patient (`existing`: on a
/// registered record, where the status can change too).
fn writable_fields(role: Option<Role>, relation: Relation, existing: bool) -> Vec<PatientField> {
    PatientField::ALL
        .into_iter()
        .filter(|field| {
            !matches!(
                field,
                PatientField::Id
                    | PatientField::Mrn
                    | PatientField::CreatedAt
                    | PatientField::UpdatedAt
            )
        })
        .filter(|field| may_write(role, relation, *field))
        .filter(|field| existing || *field != PatientField::Status)
        // On a registered record, allergies are the allergy list's (its own page and API).
        .filter(|field| !existing || *field != PatientField::Allergies)
        .collect()
}

/// The fields a role may change on a record it was shown in `view`. For presentation only
/// (which links and inputs to offer): every use case checks each submitted field itself.
pub fn editable_fields(role: Option<Role>, view: PatientView) -> Vec<PatientField> {
    let relation = match (role, view) {
        (_, PatientView::Own) => Relation::Own,
        (Some(_), PatientView::Full) => Relation::CareTeam,
        _ => Relation::None,
    };
    writable_fields(role, relation, true)
}

/// Fields a role may write, given its relation to the patient: the scope of its
/// [`Action::EditRecord`] grant.
fn may_write(role: Option<Role>, relation: Relation, field: PatientField) -> bool {
    let Some(role) = role else {
        return false;
    };
    match grant(role, Action::EditRecord) {
        Grant::Yes => true,
        Grant::Scoped(Scope::NonClinicalFields) => !field.is_clinical(),
        Grant::Scoped(Scope::ClinicalFieldsInCare) => relation.is_care() && field.is_clinical(),
        Grant::Scoped(Scope::OwnContactDetails) => {
            relation == Relation::Own && field.is_own_contact_detail()
        }
        _ => false,
    }
}

/// Whether the actor's view of a patient depends on being in the patient's care (so the
/// care relation must be looked up).
fn sees_by_care(actor: &Actor) -> bool {
    actor.grant(Action::SeeIdentity) == Grant::Scoped(Scope::CareTeamElsePseudonym)
}

// ---------------------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------------------

impl Services {
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// [`present`], with the patient's allergy list in one line where the view shows it.
    pub(crate) async fn present_one(
        &self,
        row: &PatientRow,
        data: &PatientData,
        view: PatientView,
    ) -> Result<PatientDetails, ServiceError> {
        let summary = self
            .allergy_summaries(&[(row, view)])
            .await?
            .remove(&row.id)
            .flatten();
        present(row, data, view, self.today(), summary)
    }

    /// How `actor` stands to the patient in `row`: the one place the relation the policy
    /// decides on is worked out.
    pub(crate) async fn relation_to(
        &self,
        actor: &Actor,
        row: &PatientRow,
    ) -> Result<Relation, ServiceError> {
        let Some(user_id) = actor.user_id() else {
            return Ok(Relation::None);
        };
        if row.account_id.as_deref() == Some(&user_id.to_string()) {
            return Ok(Relation::Own);
        }
        if !sees_by_care(actor) {
            return Ok(Relation::None);
        }
        let id: PatientId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
        Ok(self
            .care_relations(user_id, &[id])
            .await?
            .remove(&id)
            .unwrap_or(Relation::None))
    }

    /// Which of `patients` are in `user`'s care now: on the care team (assigned, or by an
    /// appointment), or reachable through emergency access (break the glass) or a share the
    /// patient granted, while those last, or — for a nurse — by department: checked in
    /// (or being seen) today in her department (`nursing.rs`). The one definition of "care
    /// team" for masking, the chart and every check.
    pub(crate) async fn in_care_of(
        &self,
        user: UserId,
        patients: &[PatientId],
    ) -> Result<std::collections::HashSet<PatientId>, ServiceError> {
        Ok(self
            .care_relations(user, patients)
            .await?
            .into_keys()
            .collect())
    }

    /// [`Services::in_care_of`], saying for each patient by which relation (the first that
    /// holds of care team, share, department, break-the-glass).
    pub(crate) async fn care_relations(
        &self,
        user: UserId,
        patients: &[PatientId],
    ) -> Result<std::collections::HashMap<PatientId, Relation>, ServiceError> {
        let conn = self.store().conn();
        let now = to_micros(self.now());
        let mut found: std::collections::HashMap<PatientId, Relation> =
            care_team::memberships_among(conn, user, patients)
                .await?
                .into_iter()
                .map(|id| (id, Relation::CareTeam))
                .collect();
        for id in carevault_store::record_shares::shared_among(conn, user, patients, now).await? {
            found.entry(id).or_insert(Relation::Share);
        }
        if found.len() < patients.len() {
            let rest: Vec<PatientId> = patients
                .iter()
                .filter(|p| !found.contains_key(p))
                .copied()
                .collect();
            for id in self.department_care_among(user, &rest).await? {
                found.entry(id).or_insert(Relation::Department);
            }
        }
        for id in carevault_store::emergency_access::held_among(conn, user, patients, now).await? {
            found.entry(id).or_insert(Relation::BreakGlass);
        }
        Ok(found)
    }

    /// Records that a sealed value failed to open, and returns the error to give the caller.
    async fn integrity_failure(
        &self,
        actor: &Actor,
        row: &PatientRow,
        action: AuditAction,
    ) -> ServiceError {
        let mut event = self
            .audit_event(actor, action, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.outcome = Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(patient_id = %row.id, "sealed patient data failed its integrity check");
        match self.record(event).await {
            Ok(_) => ServiceError::Integrity,
            Err(err) => err,
        }
    }

    /// Opens `row` with its already unwrapped data key `dek`, recording an integrity failure
    /// if it does not open (for use cases that need the key for more than the row).
    pub(crate) async fn open_row_with(
        &self,
        actor: &Actor,
        row: &PatientRow,
        dek: &DataKey,
        action: AuditAction,
    ) -> Result<PatientData, ServiceError> {
        match open_all(row, dek) {
            Ok(data) => Ok(data),
            Err(ServiceError::Integrity) => Err(self.integrity_failure(actor, row, action).await),
            Err(other) => Err(other),
        }
    }

    /// Opens `row` for the actor, recording an integrity failure if it does not open.
    pub(crate) async fn open_row(
        &self,
        actor: &Actor,
        row: &PatientRow,
        action: AuditAction,
    ) -> Result<PatientData, ServiceError> {
        let opened = match self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await
        {
            Ok(dek) => open_all(row, &dek),
            Err(err) => Err(err),
        };
        match opened {
            Ok(data) => Ok(data),
            Err(ServiceError::Integrity) => Err(self.integrity_failure(actor, row, action).await),
            Err(other) => Err(other),
        }
    }

    /// Refuses actors who may not look at patients at all.
    async fn require_patient_access(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.grant(Action::SeeIdentity).is_possible() {
            Ok(())
        } else {
            Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    None,
                    "requires access to patient records",
                )
                .await)
        }
    }

    /// Loads a patient the actor may see, with the view that applies. A patient asking for
    /// someone else's record is refused (and recorded) whether or not it exists.
    pub(crate) async fn load_for(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<(PatientRow, Relation, PatientView), ServiceError> {
        self.require_patient_access(actor).await?;
        let row = patients::find(self.store().conn(), id).await?;
        let Some(row) = row.filter(|row| row.status != patients::ERASED_STATUS) else {
            let id = Some(id.to_string());
            return Err(self
                .missing(actor, ResourceType::Patient, id, "patient")
                .await);
        };
        let relation = self.relation_to(actor, &row).await?;
        let Some(role) = actor.role() else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    "no role",
                )
                .await);
        };
        match view_for(role, relation) {
            Some(view) => Ok((row, relation, view)),
            None => {
                let mut event = self
                    .audit_event(actor, AuditAction::AccessDenied, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number));
                event.outcome = Outcome::Denied;
                event.reason = Some("not the patient's own record".into());
                self.record(event).await?;
                Err(ServiceError::Forbidden)
            }
        }
    }

    /// Registers a patient. Administrators and receptionists; only administrators may fill
    /// in clinical fields (paper records being transcribed).
    pub async fn register_patient(
        &self,
        actor: &Actor,
        input: PatientInput,
        register_anyway: bool,
    ) -> Result<Registration, ServiceError> {
        self.require_registration_rights(actor, None).await?;
        if let Some(field) = input.changed_fields().into_iter().find(|field| {
            !may_write(actor.role(), Relation::None, *field) && *field != PatientField::Status
        }) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    None,
                    &format!("may not set {}", field.name()),
                )
                .await);
        }
        if !input.status.is_keep() {
            return Err(
                ValidationErrors::single("status", "is set by the system at registration").into(),
            );
        }
        let data = apply_input(&input, None, "", self.today())?;
        let duplicates = self.possible_duplicates(actor, &data).await?;
        if !duplicates.is_empty() && !register_anyway {
            return Ok(Registration::PossibleDuplicates(duplicates));
        }
        let row = self
            .insert_patients(actor, vec![data], !duplicates.is_empty())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("nothing registered")))?;
        let (row, _, view) = self.load_for(actor, row).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        Ok(Registration::Registered(Box::new(
            self.present_one(&row, &data, view).await?,
        )))
    }

    /// Patients sharing the family name and date of birth, or the phone number, of `data`
    /// (confirmed by decrypting the candidates), shown as the actor may see them and
    /// recorded as listed.
    async fn possible_duplicates(
        &self,
        actor: &Actor,
        data: &PatientData,
    ) -> Result<Vec<PatientDetails>, ServiceError> {
        let ring = self.key_ring();
        let mut entries = Vec::new();
        if let Some(value) =
            family_name_and_birth_date_blind_index(&ring, &data.family_name, data.date_of_birth)
        {
            entries.push((IndexKind::FamilyNameAndBirthDate.label(), value));
        }
        if let Some(phone) = &data.phone
            && let Some(value) = blind_index(&ring, IndexKind::Phone, phone)
        {
            entries.push((IndexKind::Phone.label(), value));
        }
        let ids = patients::matching_ids(self.store().conn(), &entries, 10).await?;
        let rows = patients::find_many(self.store().conn(), &ids).await?;
        let mut matches = Vec::new();
        let mut events = Vec::new();
        for row in rows
            .into_iter()
            .filter(|row| row.status != patients::ERASED_STATUS)
        {
            let other = self.open_row(actor, &row, AuditAction::Listed).await?;
            let same_person = normalize_name(&other.family_name)
                == normalize_name(&data.family_name)
                && other.date_of_birth == data.date_of_birth;
            let same_phone = match (&other.phone, &data.phone) {
                (Some(a), Some(b)) => normalize_phone(a) == normalize_phone(b),
                _ => false,
            };
            if !(same_person || same_phone) {
                continue;
            }
            let relation = self.relation_to(actor, &row).await?;
            let Some(view) = actor.role().and_then(|role| view_for(role, relation)) else {
                continue;
            };
            matches.push(self.present_one(&row, &other, view).await?);
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some("possible duplicate at registration".into());
            events.push(event);
        }
        for event in events {
            self.record(event).await?;
        }
        Ok(matches)
    }

    /// Inserts validated patients, each in its own transaction with its audit event (a
    /// batch from the synthetic-data generator shares one transaction per chunk). Returns
    /// the new ids.
    pub(crate) async fn insert_patients(
        &self,
        actor: &Actor,
        batch: Vec<PatientData>,
        duplicate_override: bool,
    ) -> Result<Vec<PatientId>, ServiceError> {
        let ring = self.key_ring();
        let ids = self
            .transaction(async |txn| {
                let mut ids = Vec::with_capacity(batch.len());
                for mut data in batch.iter().cloned() {
                    let serial = patients::next_counter_value(
                        txn,
                        "mrn",
                        i64::try_from(MRN_FIRST_SERIAL).unwrap_or(1),
                    )
                    .await?;
                    data.mrn = Mrn::from_serial(u64::try_from(serial).unwrap_or(0)).to_string();
                    let id = PatientId::generate();
                    let id_text = id.to_string();
                    let dek = DataKey::generate();
                    let wrapped =
                        wrap_data_key(&ring, &dek, &id_text).map_err(ServiceError::internal)?;
                    let mut number = random_pseudonym_number();
                    while patients::pseudonym_taken(txn, number).await? {
                        number = random_pseudonym_number();
                    }
                    let now = to_micros(self.now());
                    let mut row = PatientRow {
                        id: id_text.clone(),
                        pseudonym_number: number,
                        status: PatientStatus::Active.as_str().to_owned(),
                        sex: String::new(),
                        birth_year: 0,
                        account_id: None,
                        kek_version: i32::try_from(wrapped.kek_version()).unwrap_or(i32::MAX),
                        wrapped_data_key: wrapped.into_bytes(),
                        mrn: Vec::new(),
                        given_name: Vec::new(),
                        family_name: Vec::new(),
                        date_of_birth: Vec::new(),
                        gender_identity: None,
                        address: None,
                        phone: None,
                        email: None,
                        emergency_contact: None,
                        national_id: None,
                        preferred_language: None,
                        blood_group: None,
                        allergies: None,
                        primary_diagnosis: None,
                        created_at: now,
                        updated_at: now,
                    };
                    seal_into(&mut row, &dek, &data)?;
                    let mut event = self
                        .audit_event(actor, AuditAction::Create, ResourceType::Patient)
                        .resource_id(&row.id)
                        .patient(pseudonym_of(row.pseudonym_number));
                    if duplicate_override {
                        event.reason = Some("registered despite a possible duplicate".into());
                    }
                    // Allergies typed in from paper become entries of the allergy list.
                    let allergy_rows = match &data.allergies {
                        Some(text) => crate::allergies::transcribed_rows(
                            text,
                            &row.id,
                            &dek,
                            actor.user_id(),
                            now,
                        )?,
                        None => Vec::new(),
                    };
                    patients::insert(txn, row, &index_entries(&ring, &data))
                        .await
                        .map_err(|err| match err {
                            // Two registrations drew the same pseudonym number at once: try again.
                            StoreError::UniqueViolation(_) => tx::again(ServiceError::internal(
                                anyhow::anyhow!("could not register"),
                            )),
                            other => other.into(),
                        })?;
                    for entry in allergy_rows {
                        carevault_store::allergies::insert(txn, entry).await?;
                    }
                    self.append_in(txn, event).await?;
                    ids.push(id);
                }
                Ok(ids)
            })
            .await?;
        for id in &ids {
            tracing::info!(patient_id = %id, "patient registered");
        }
        Ok(ids)
    }

    /// One patient, as the actor may see them. Audited (fail closed).
    pub async fn get_patient(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<PatientDetails, ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        let details = self.present_one(&row, &data, view).await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number)),
        )
        .await?;
        Ok(details)
    }

    /// The id of the record linked to a patient's own account (`None`: not linked). Anyone
    /// but a patient is refused, and the refusal recorded.
    pub(crate) async fn own_patient_id(
        &self,
        actor: &Actor,
    ) -> Result<Option<PatientId>, ServiceError> {
        let Some(user_id) = actor.user_id().filter(|_| actor.may(Action::UsePortal)) else {
            return Err(self
                .deny(actor, ResourceType::Patient, None, "patients only")
                .await);
        };
        patients::find_by_account(self.store().conn(), user_id)
            .await?
            .map(|row| row.id.parse().map_err(|_| ServiceError::Integrity))
            .transpose()
    }

    /// `Ok` for roles that register patients and manage their care teams (administrators,
    /// receptionists); otherwise the refusal, recorded against the patient if there is one.
    async fn require_registration_rights(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
    ) -> Result<(), ServiceError> {
        if actor.grant(Action::RegisterPatients) == carevault_core::Grant::Yes {
            return Ok(());
        }
        Err(self
            .deny(
                actor,
                ResourceType::Patient,
                patient.map(|id| id.to_string()),
                "requires registration rights",
            )
            .await)
    }

    /// The patient's own page (record and care team, one audited read), if their account is
    /// linked to a record.
    pub async fn my_patient_page(
        &self,
        actor: &Actor,
    ) -> Result<Option<(PatientDetails, Vec<CareTeamMember>)>, ServiceError> {
        match self.own_patient_id(actor).await? {
            Some(id) => self.patient_page(actor, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// The patient record linked to a patient's own account, if any.
    pub async fn my_patient_record(
        &self,
        actor: &Actor,
    ) -> Result<Option<PatientDetails>, ServiceError> {
        match self.own_patient_id(actor).await? {
            Some(id) => self.get_patient(actor, id).await.map(Some),
            None => Ok(None),
        }
    }

    /// A page of patients, optionally searched. Every patient on the page is recorded as
    /// listed (search hits as `search`). Auditors search by pseudonym only; patients use
    /// their own record instead.
    pub async fn search_patients(
        &self,
        actor: &Actor,
        query: PatientQuery,
    ) -> Result<PatientPage, ServiceError> {
        self.may_search_patients(actor).await?;
        let per_page = query
            .per_page
            .unwrap_or(self.settings().patients.page_size)
            .clamp(1, MAX_PAGE_SIZE);
        let page = query.page.max(1);
        // The databases take a signed 64-bit offset: a page beyond it is just empty.
        let offset = (page - 1)
            .saturating_mul(per_page)
            .min(i64::MAX.unsigned_abs());
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = q
            && q.chars().count() > 200
        {
            return Err(ValidationErrors::single("q", "must be at most 200 characters").into());
        }
        let conn = self.store().conn();
        let (rows, total, action) = match q {
            None => {
                let order = match query.sort {
                    PatientSort::Relevance | PatientSort::Newest => ListOrder::NewestFirst,
                    PatientSort::Oldest => ListOrder::OldestFirst,
                    PatientSort::RecentlyUpdated => ListOrder::RecentlyUpdated,
                };
                let (rows, total) = patients::list(conn, order, offset, per_page).await?;
                (rows, total, AuditAction::Listed)
            }
            Some(q) => {
                if let Some(number) = parse_pseudonym(q) {
                    if !actor.may(Action::LookUpPseudonyms) {
                        // Their view shows names: a pseudonym look-up would map pseudonyms
                        // (the audit trail's, a masked screen's) back to people.
                        return Err(ValidationErrors::single(
                            "q",
                            "search by name, date of birth, hospital number or phone; pseudonyms are looked up by clinicians, auditors and administrators",
                        )
                        .into());
                    }
                    let row =
                        patients::find_by_pseudonym(conn, i64::try_from(number).unwrap_or(-1))
                            .await?
                            .filter(|row| row.status != patients::ERASED_STATUS);
                    let total = u64::from(row.is_some());
                    (
                        row.into_iter().filter(|_| offset == 0).collect(),
                        total,
                        AuditAction::Search,
                    )
                } else if actor.grant(Action::FindPatients) == Grant::Scoped(Scope::Pseudonym) {
                    return Err(ValidationErrors::single(
                        "q",
                        "auditors search by pseudonym (ANON_…) only",
                    )
                    .into());
                } else {
                    let entries = search_entries(&self.key_ring(), q);
                    // A search may only match on what the caller's view shows in clear, or a
                    // hit would confirm a hidden value (a phone number, a name behind a
                    // pseudonym): clinicians see identities on their own care team only.
                    // (Pharmacists do not search patients at all: `may_search_patients`.)
                    let care_team_of = actor.user_id().filter(|_| sees_by_care(actor));
                    let (ids, total) =
                        patients::search(conn, &entries, care_team_of, offset, per_page).await?;
                    let mut rows = patients::find_many(conn, &ids).await?;
                    rows.retain(|row| row.status != patients::ERASED_STATUS);
                    if query.sort != PatientSort::Relevance {
                        match query.sort {
                            PatientSort::Oldest => rows.sort_by(|a, b| a.id.cmp(&b.id)),
                            PatientSort::RecentlyUpdated => {
                                rows.sort_by_key(|row| std::cmp::Reverse(row.updated_at))
                            }
                            _ => rows.sort_by(|a, b| b.id.cmp(&a.id)),
                        }
                    }
                    (rows, total, AuditAction::Search)
                }
            }
        };
        let role = actor.role().ok_or(ServiceError::Forbidden)?;
        let ids: Vec<PatientId> = rows.iter().filter_map(|row| row.id.parse().ok()).collect();
        let on_team = match actor.user_id() {
            Some(user) if sees_by_care(actor) => self.in_care_of(user, &ids).await?,
            _ => Default::default(),
        };
        let mut shown = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: PatientId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
            let relation = if on_team.contains(&id) {
                Relation::CareTeam
            } else {
                Relation::None
            };
            if let Some(view) = view_for(role, relation) {
                shown.push((row, view));
            }
        }
        let mut allergies = self.allergy_summaries(&shown).await?;
        let mut items = Vec::with_capacity(shown.len());
        let mut events = Vec::with_capacity(shown.len());
        for (row, view) in shown {
            let data = self.open_row(actor, row, action).await?;
            let summary = allergies.remove(&row.id).flatten();
            items.push(present(row, &data, view, self.today(), summary)?);
            events.push(
                self.audit_event(actor, action, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number)),
            );
        }
        if events.is_empty() && q.is_some() {
            let mut event = self.audit_event(actor, AuditAction::Search, ResourceType::Patient);
            event.reason = Some("no match".into());
            events.push(event);
        }
        self.record_all(events).await?;
        Ok(PatientPage {
            items,
            total,
            page,
            per_page,
        })
    }

    /// Changes a patient. Who may change what: administrators everything; receptionists
    /// demographics; doctors on the care team the clinical fields; a patient their own
    /// contact details. Audited with the names (never the values) of the changed fields.
    ///
    /// `seen_updated_at` is the `updated_at` of the copy the change was made on (an edit
    /// form carries it): if the record changed since, nothing is written and the answer is
    /// a conflict, so one person's edit never silently undoes another's. Whatever the
    /// caller says, the write itself only succeeds if the record is still as this call read
    /// it.
    pub async fn update_patient(
        &self,
        actor: &Actor,
        id: PatientId,
        input: PatientInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<PatientDetails, ServiceError> {
        let (row, relation, view) = self.load_for(actor, id).await?;
        let changed = input.changed_fields();
        if let Some(field) = changed
            .iter()
            .find(|field| !may_write(actor.role(), relation, **field))
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    &format!("may not change {}", field.name()),
                )
                .await);
        }
        if !input.allergies.is_keep() {
            return Err(ValidationErrors::single(
                PatientField::Allergies.name(),
                format!(
                    "are kept in the patient's allergy list: record or change them at /patients/{id}/allergies (API: /api/v1/patients/{id}/allergies)"
                ),
            )
            .into());
        }
        // Only now (after the refusal of forbidden fields was recorded): is the caller's copy
        // still the stored version?
        if seen_updated_at.is_some_and(|seen| to_micros(seen) != row.updated_at) {
            return Err(changed_meanwhile());
        }
        let status = parse_status_change(&input.status)?;
        let current = self.open_row(actor, &row, AuditAction::Update).await?;
        if changed.is_empty() {
            let details = self.present_one(&row, &current, view).await?;
            self.record(
                self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number)),
            )
            .await?;
            return Ok(details);
        }
        let data = apply_input(&input, Some(&current), &current.mrn, self.today())?;
        let status = status.filter(|status| status.as_str() != row.status);
        let mut names: Vec<&str> = differing_fields(&current, &data)
            .into_iter()
            .map(PatientField::name)
            .collect();
        if status.is_some() {
            names.push(PatientField::Status.name());
        }
        if names.is_empty() {
            // Everything submitted equals what is stored (a form saved unchanged).
            let details = self.present_one(&row, &current, view).await?;
            self.record(
                self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number)),
            )
            .await?;
            return Ok(details);
        }
        let ring = self.key_ring();
        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        let mut updated = row.clone();
        seal_into(&mut updated, &dek, &data)?;
        if let Some(status) = status {
            updated.status = status.as_str().to_owned();
        }
        // Strictly later than the version it replaces, even with a coarse or frozen clock.
        updated.updated_at = to_micros(self.now()).max(row.updated_at + 1);
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("changed: {}", names.join(", ")));
        self.transaction(async |txn| {
            if !patients::update(
                txn,
                updated.clone(),
                row.updated_at,
                &index_entries(&ring, &data),
            )
            .await?
            {
                return Err(changed_meanwhile());
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        tracing::info!(patient_id = %id, fields = names.len(), "patient changed");
        self.present_one(&updated, &data, view).await
    }

    /// A patient's page: the record as the actor may see it and the care team, as one
    /// audited read.
    pub async fn patient_page(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<(PatientDetails, Vec<CareTeamMember>), ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        let details = self.present_one(&row, &data, view).await?;
        let members = if sees_care_team(view) {
            self.care_team_members(id).await?
        } else {
            Vec::new()
        };
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number)),
        )
        .await?;
        Ok((details, members))
    }

    /// `Ok` when the actor may list and search patients (and so export the list), as the
    /// permission matrix's `FindPatients` grants it; otherwise the refusal, recorded. This is
    /// the one decision behind `/patients`, `/patients.csv` and `GET /api/v1/patients`.
    /// Handlers call it before they judge the request's parameters, so a role that may not
    /// search is refused (and recorded) even when its parameters are also wrong.
    pub async fn may_search_patients(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.grant(Action::FindPatients).is_possible() {
            return Ok(());
        }
        Err(self
            .deny(
                actor,
                ResourceType::Patient,
                None,
                Action::FindPatients.refusal(),
            )
            .await)
    }

    /// The fields the actor may fill in: at a registration (`id` = `None`), or on the record
    /// `id`. Refused (and recorded) when there are none, so an edit or registration form is
    /// offered only to someone who may submit it. Returns no patient data and records no read.
    pub async fn writable_patient_fields(
        &self,
        actor: &Actor,
        id: Option<PatientId>,
    ) -> Result<Vec<PatientField>, ServiceError> {
        let relation = match id {
            None => {
                self.require_registration_rights(actor, None).await?;
                Relation::None
            }
            Some(id) => self.load_for(actor, id).await?.1,
        };
        let fields = writable_fields(actor.role(), relation, id.is_some());
        if fields.is_empty() {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    id.map(|id| id.to_string()),
                    "may not change this record",
                )
                .await);
        }
        Ok(fields)
    }

    /// The research export's default k, for its form. Administrators (refusals recorded).
    pub async fn research_export_defaults(&self, actor: &Actor) -> Result<usize, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        Ok(self.settings().patients.research_export_k)
    }

    /// The row of `patient` when it is the record linked to the patient account `user` (and
    /// not erased); otherwise a refusal, recorded, whether the record exists or not (no
    /// existence oracle for another patient's id).
    pub(crate) async fn patients_own_record(
        &self,
        actor: &Actor,
        user: UserId,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        match patients::find_by_account(self.store().conn(), user).await? {
            Some(row) if row.id == patient.to_string() && row.status != patients::ERASED_STATUS => {
                Ok(row)
            }
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(patient.to_string()),
                    "not the patient's own record",
                )
                .await),
        }
    }

    /// The patient's care team. Anyone who may see the patient; audited as a read.
    pub async fn care_team(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        if !sees_care_team(view) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    "the care team is not part of this view",
                )
                .await);
        }
        let members = self.care_team_members(id).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("care team".into());
        self.record(event).await?;
        Ok(members)
    }

    pub(crate) async fn care_team_members(
        &self,
        id: PatientId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        let mut out = Vec::new();
        for membership in care_team::members(self.store().conn(), id).await? {
            if let Some(user) = users::find_by_id(self.store().conn(), membership.user_id).await? {
                out.push(CareTeamMember {
                    user_id: user.id,
                    username: user.username.to_string(),
                    display_name: user.display_name.to_string(),
                    role: user.role,
                    source: membership.source,
                    since: membership.created_at,
                });
            }
        }
        Ok(out)
    }

    /// Puts a doctor or nurse on the patient's care team. Administrators and receptionists.
    pub async fn assign_care_team_member(
        &self,
        actor: &Actor,
        id: PatientId,
        username: &str,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        self.require_registration_rights(actor, Some(id)).await?;
        let (row, _, _) = self.load_for(actor, id).await?;
        let user =
            users::find_by_username(self.store().conn(), username.trim().to_lowercase().as_str())
                .await?
                .filter(|user| {
                    grant(user.role, Action::SeeClinical) == Grant::Scoped(Scope::CareTeam)
                        && user.status == carevault_core::UserStatus::Active
                })
                .ok_or_else(|| {
                    ValidationErrors::single(
                        "username",
                        "must be an active doctor's or nurse's username",
                    )
                })?;
        self.transaction(async |txn| {
            care_team::add(
                txn,
                id,
                user.id,
                care_team::SOURCE_ASSIGNED,
                actor.user_id(),
                self.now(),
            )
            .await?;
            let mut event = self
                .audit_event(actor, AuditAction::Update, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some(format!("care team: added {}", user.id));
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.care_team_members(id).await
    }

    /// Takes an assigned member off the patient's care team. Administrators and receptionists.
    pub async fn remove_care_team_member(
        &self,
        actor: &Actor,
        id: PatientId,
        user_id: UserId,
    ) -> Result<Vec<CareTeamMember>, ServiceError> {
        self.require_registration_rights(actor, Some(id)).await?;
        let (row, _, _) = self.load_for(actor, id).await?;
        self.transaction(async |txn| {
            if !care_team::remove(txn, id, user_id, care_team::SOURCE_ASSIGNED).await? {
                return Err(ServiceError::NotFound("care team member"));
            }
            let mut event = self
                .audit_event(actor, AuditAction::Update, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some(format!("care team: removed {user_id}"));
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.care_team_members(id).await
    }

    /// Links a patient record to a patient's portal account. Administrators.
    pub async fn link_patient_account(
        &self,
        actor: &Actor,
        id: PatientId,
        username: &str,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = patients::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("patient"))?;
        let user = users::find_by_username(self.store().conn(), username)
            .await?
            .filter(|user| grant(user.role, Action::UsePortal).is_possible())
            .ok_or_else(|| ValidationErrors::single("username", "must be a patient account"))?;
        let mut updated = row.clone();
        updated.account_id = Some(user.id.to_string());
        updated.updated_at = to_micros(self.now()).max(row.updated_at + 1);
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("portal account linked: {}", user.id));
        self.transaction(async |txn| {
            let ring = self.key_ring();
            let dek = self
                .unwrap_patient_key(&row.id, &row.wrapped_data_key)
                .await?;
            let data = open_all(&row, &dek)?;
            match patients::update(
                txn,
                updated.clone(),
                row.updated_at,
                &index_entries(&ring, &data),
            )
            .await
            {
                Ok(false) => return Err(changed_meanwhile()),
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("username"),
                        message: "is already linked to another patient".into(),
                    });
                }
                other => {
                    other?;
                }
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// How one patient's fields are stored: sealed or clear, key versions, nonce, sizes,
    /// a ciphertext prefix, blind indexes. Never key material or plaintext. Administrators.
    pub async fn patient_encryption_view(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<EncryptionView, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = patients::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("patient"))?;
        let kinds = patients::index_kinds(self.store().conn(), id).await?;
        let sealed_columns: [SealedColumn<'_>; 14] = [
            ("mrn", Some(&row.mrn), Some(IndexKind::Mrn)),
            (
                "given_name",
                Some(&row.given_name),
                Some(IndexKind::FullName),
            ),
            (
                "family_name",
                Some(&row.family_name),
                Some(IndexKind::FamilyNamePhonetic),
            ),
            (
                "date_of_birth",
                Some(&row.date_of_birth),
                Some(IndexKind::FamilyNameAndBirthDate),
            ),
            ("gender_identity", row.gender_identity.as_ref(), None),
            ("address", row.address.as_ref(), None),
            ("phone", row.phone.as_ref(), Some(IndexKind::Phone)),
            ("email", row.email.as_ref(), None),
            ("emergency_contact", row.emergency_contact.as_ref(), None),
            (
                "national_id",
                row.national_id.as_ref(),
                Some(IndexKind::NationalId),
            ),
            ("preferred_language", row.preferred_language.as_ref(), None),
            ("blood_group", row.blood_group.as_ref(), None),
            ("allergies", row.allergies.as_ref(), None),
            ("primary_diagnosis", row.primary_diagnosis.as_ref(), None),
        ];
        let kek_version = u32::try_from(row.kek_version).unwrap_or(0);
        let mut fields: Vec<StoredField> = sealed_columns
            .into_iter()
            .map(|(column, bytes, index)| match bytes {
                Some(bytes) => StoredField {
                    column,
                    storage: "sealed",
                    kek_version: Some(kek_version),
                    data_key_version: sealed_data_key_version(bytes).ok(),
                    nonce_hex: bytes.get(5..17).map(hex::encode),
                    stored_bytes: bytes.len(),
                    prefix_hex: hex::encode(bytes.get(17..33).unwrap_or_default()),
                    blind_index: index
                        .filter(|kind| kinds.iter().any(|k| k == kind.label()))
                        .map(IndexKind::label),
                },
                None => StoredField {
                    column,
                    storage: "empty",
                    kek_version: None,
                    data_key_version: None,
                    nonce_hex: None,
                    stored_bytes: 0,
                    prefix_hex: String::new(),
                    blind_index: None,
                },
            })
            .collect();
        for (column, value) in [
            ("id", row.id.clone()),
            ("pseudonym_number", row.pseudonym_number.to_string()),
            ("status", row.status.clone()),
            ("sex", row.sex.clone()),
            ("birth_year", row.birth_year.to_string()),
        ] {
            fields.push(StoredField {
                column,
                storage: "clear",
                kek_version: None,
                data_key_version: None,
                nonce_hex: None,
                stored_bytes: value.len(),
                prefix_hex: value,
                blind_index: None,
            });
        }
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("encryption view".into());
        self.record(event).await?;
        Ok(EncryptionView {
            id,
            pseudonym: pseudonym_of(row.pseudonym_number),
            kek_version,
            wrapped_data_key_bytes: row.wrapped_data_key.len(),
            fields,
            blind_index_kinds: kinds,
        })
    }

    /// The de-identified research export (see `carevault_core::deidentify`). Administrators.
    pub async fn research_export(
        &self,
        actor: &Actor,
        k: Option<usize>,
    ) -> Result<ResearchExport, ServiceError> {
        use carevault_core::deidentify::{
            QuasiIdentifiers, age_band_5y, k_anonymize, postcode_area,
        };
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let k = k.unwrap_or(self.settings().patients.research_export_k);
        if !(1..=100).contains(&k) {
            return Err(ValidationErrors::single("k", "must be between 1 and 100").into());
        }
        let today = self.today();
        let mut rows = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = patients::batch_after(self.store().conn(), after.as_deref(), 500).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id.clone());
            for row in batch
                .iter()
                .filter(|row| row.status != patients::ERASED_STATUS)
            {
                let data = self.open_row(actor, row, AuditAction::Export).await?;
                let qi = QuasiIdentifiers {
                    age_band: age_band_5y(data.date_of_birth, today),
                    sex: data.sex.as_str().to_owned(),
                    postcode_area: data
                        .address
                        .as_deref()
                        .and_then(postcode_area)
                        .unwrap_or_else(|| "*".into()),
                };
                // A pseudonym of this export only: random, never stored, so the file cannot be
                // joined with the application's own `ANON_` pseudonyms (which staff can look
                // up) or with another export.
                let payload = (
                    format!("R{}", hex::encode(carevault_crypto::random_bytes::<8>())),
                    data.blood_group.unwrap_or_default(),
                    data.primary_diagnosis.unwrap_or_default(),
                    row.status.clone(),
                );
                rows.push((qi, payload));
            }
        }
        let result = k_anonymize(rows, k);
        let achieved = result
            .k_achieved
            .map_or_else(|| "none".to_owned(), |k| k.to_string());
        let mut csv = format!(
            "# Carevault research export (de-identified)\n# k requested: {k}; k achieved: {achieved}; rows: {}; suppressed rows: {}; generalised rows: {}\n# pseudonyms are random for this export and appear nowhere else\n",
            result.rows.len(),
            result.suppressed_rows,
            result.generalised_rows
        );
        csv.push_str("pseudonym,age_band,sex,postcode_area,blood_group,primary_diagnosis,status\n");
        for (qi, (pseudonym, blood_group, diagnosis, status)) in &result.rows {
            let fields = [
                pseudonym,
                &qi.age_band,
                &qi.sex,
                &qi.postcode_area,
                blood_group,
                diagnosis,
                status,
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Patient);
        event.reason = Some(format!(
            "research export: k={k}, achieved k={achieved}, rows={}, suppressed={}, generalised={}",
            result.rows.len(),
            result.suppressed_rows,
            result.generalised_rows
        ));
        self.record(event).await?;
        Ok(ResearchExport {
            csv,
            k_requested: k,
            k_achieved: result.k_achieved,
            rows: result.rows.len(),
            suppressed: result.suppressed_rows,
            generalised: result.generalised_rows,
        })
    }

    /// Generates `count` synthetic patients through the registration path (sealed, indexed,
    /// audited as created by `actor`), in chunks of one transaction each. Administrators and
    /// the console operator; refused on a database holding real patients unless it is a
    /// demo database or `allow_real` is set (benchmarks on a scratch database).
    pub async fn seed_synthetic_patients(
        &self,
        actor: &Actor,
        count: u64,
        seed: Option<u64>,
    ) -> Result<u64, ServiceError> {
        use crate::synthetic::SyntheticPatients;
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let mut generator = seed.map_or_else(SyntheticPatients::random, SyntheticPatients::seeded);
        let today = self.today();
        let mut done = 0u64;
        while done < count {
            let chunk = (count - done).min(200);
            let mut batch = Vec::with_capacity(usize::try_from(chunk).unwrap_or(200));
            for _ in 0..chunk {
                let p = generator.next_patient(today);
                batch.push(PatientData {
                    mrn: String::new(),
                    given_name: p.given_name,
                    family_name: p.family_name,
                    date_of_birth: p.date_of_birth,
                    sex: Sex::parse(p.sex).unwrap_or(Sex::Unknown),
                    gender_identity: p.gender_identity,
                    address: Some(p.address),
                    phone: Some(p.phone),
                    email: p.email,
                    emergency_contact: p.emergency_contact.map(|(name, relation, phone)| {
                        EmergencyContactInput {
                            name,
                            relation,
                            phone,
                        }
                    }),
                    national_id: p.national_id,
                    preferred_language: Some(p.preferred_language),
                    blood_group: p.blood_group.map(str::to_owned),
                    allergies: p.allergies,
                    primary_diagnosis: p.primary_diagnosis,
                });
            }
            self.insert_patients(actor, batch, false).await?;
            done += chunk;
        }
        Ok(done)
    }
}

/// One CSV field (RFC 4180), with spreadsheet formulas neutralised.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['\t', '\r'])
        || value.trim_start().starts_with(['=', '+', '-', '@'])
    {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
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
