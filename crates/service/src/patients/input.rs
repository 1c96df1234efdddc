//! What a registration or a change submits, and how it is validated and applied.

use super::*;

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
    pub(super) fn is_keep(&self) -> bool {
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

impl std::fmt::Debug for EmergencyContactInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmergencyContactInput(…)")
    }
}

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
pub(super) fn apply_input(
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
pub(super) fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "someone else changed this record meanwhile; reload it and make your change again"
            .into(),
    }
}

/// The fields whose values differ between two versions of a record.
pub(super) fn differing_fields(before: &PatientData, after: &PatientData) -> Vec<PatientField> {
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
pub(super) fn parse_status_change(
    change: &Change<String>,
) -> Result<Option<PatientStatus>, ValidationErrors> {
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
