//! The registration and edit form: its fields, sections and inputs.

use super::*;

/// The patient form as submitted. An input that is not on the form is `None` (the field is
/// kept); an emptied one is `Some("")` (the field is cleared).
#[derive(Deserialize, Default, Clone)]
pub struct PatientForm {
    pub(super) given_name: Option<String>,
    pub(super) family_name: Option<String>,
    pub(super) date_of_birth: Option<String>,
    pub(super) sex: Option<String>,
    pub(super) gender_identity: Option<String>,
    pub(super) address: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    pub(super) emergency_contact_name: Option<String>,
    pub(super) emergency_contact_relation: Option<String>,
    pub(super) emergency_contact_phone: Option<String>,
    pub(super) national_id: Option<String>,
    pub(super) preferred_language: Option<String>,
    pub(super) blood_group: Option<String>,
    pub(super) allergies: Option<String>,
    pub(super) primary_diagnosis: Option<String>,
    pub(super) status: Option<String>,
    pub(super) register_anyway: Option<String>,
    /// The record's `updated_at` (microseconds) when the edit form was drawn.
    pub(super) seen: Option<String>,
}

carevault_core::opaque_debug!(PatientForm);

pub(super) fn change(value: &Option<String>) -> Change<String> {
    match value {
        None => Change::Keep,
        Some(text) if text.trim().is_empty() => Change::Clear,
        Some(text) => Change::Set(text.clone()),
    }
}

impl PatientForm {
    pub(super) fn to_input(&self) -> PatientInput {
        let contact = [
            &self.emergency_contact_name,
            &self.emergency_contact_relation,
            &self.emergency_contact_phone,
        ];
        let emergency_contact = if contact.iter().all(|v| v.is_none()) {
            Change::Keep
        } else if contact
            .iter()
            .all(|v| v.as_deref().unwrap_or_default().trim().is_empty())
        {
            Change::Clear
        } else {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            Change::Set(EmergencyContactInput {
                name: text(&self.emergency_contact_name),
                relation: text(&self.emergency_contact_relation),
                phone: text(&self.emergency_contact_phone),
            })
        };
        PatientInput {
            given_name: change(&self.given_name),
            family_name: change(&self.family_name),
            date_of_birth: change(&self.date_of_birth),
            sex: change(&self.sex),
            gender_identity: change(&self.gender_identity),
            address: change(&self.address),
            phone: change(&self.phone),
            email: change(&self.email),
            emergency_contact,
            national_id: change(&self.national_id),
            preferred_language: change(&self.preferred_language),
            blood_group: change(&self.blood_group),
            allergies: change(&self.allergies),
            primary_diagnosis: change(&self.primary_diagnosis),
            status: change(&self.status),
        }
    }

    /// The form filled with a record as the actor sees it (only fields in clear are ever
    /// editable, so no masked value lands in an input).
    pub(super) fn from_details(d: &PatientDetails) -> Self {
        let shown = |v: &Option<Option<String>>| v.clone().flatten();
        let contact = d.emergency_contact.clone().flatten();
        Self {
            given_name: d.given_name.clone(),
            family_name: d.family_name.clone(),
            date_of_birth: d.date_of_birth.clone(),
            sex: d.sex.clone(),
            gender_identity: shown(&d.gender_identity),
            address: shown(&d.address),
            phone: shown(&d.phone),
            email: shown(&d.email),
            emergency_contact_name: contact.as_ref().map(|c| c.name.clone()),
            emergency_contact_relation: contact.as_ref().map(|c| c.relation.clone()),
            emergency_contact_phone: contact.as_ref().map(|c| c.phone.clone()),
            national_id: shown(&d.national_id),
            preferred_language: shown(&d.preferred_language),
            blood_group: shown(&d.blood_group),
            allergies: shown(&d.allergies),
            primary_diagnosis: shown(&d.primary_diagnosis),
            status: Some(d.status.clone()),
            register_anyway: None,
            seen: d
                .updated_at
                .map(|at| carevault_core::time::to_micros(at).to_string()),
        }
    }

    /// The version of the record the form was drawn from, if it says.
    pub(super) fn seen(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.seen
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(carevault_core::time::from_micros)
    }
}

/// How an input is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Email,
    Tel,
    Date,
    TextArea,
    Sex,
    BloodGroup,
    Status,
}

/// One input of the patient form.
#[derive(Debug, Clone, Copy)]
pub(super) struct InputSpec {
    field: PatientField,
    /// The input's name and id.
    name: &'static str,
    /// The field name the service's validation errors use.
    error_key: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    maxlength: usize,
    autocomplete: &'static str,
    hint: Option<&'static str>,
}

pub(super) const fn spec(
    field: PatientField,
    name: &'static str,
    label: &'static str,
    kind: Kind,
    maxlength: usize,
    autocomplete: &'static str,
) -> InputSpec {
    InputSpec {
        field,
        name,
        error_key: name,
        label,
        kind,
        required: false,
        maxlength,
        autocomplete,
        hint: None,
    }
}

pub(super) const fn required(mut spec: InputSpec) -> InputSpec {
    spec.required = true;
    spec
}

pub(super) const fn hinted(mut spec: InputSpec, hint: &'static str) -> InputSpec {
    spec.hint = Some(hint);
    spec
}

pub(super) const fn error_key(mut spec: InputSpec, key: &'static str) -> InputSpec {
    spec.error_key = key;
    spec
}

/// The form's sections and inputs, in order.
const SECTIONS: [(&str, &[InputSpec]); 5] = {
    use PatientField as F;
    [
        (
            "Identity",
            &[
                required(spec(
                    F::GivenName,
                    "given_name",
                    "Given name",
                    Kind::Text,
                    100,
                    "off",
                )),
                required(spec(
                    F::FamilyName,
                    "family_name",
                    "Family name",
                    Kind::Text,
                    100,
                    "off",
                )),
                required(hinted(
                    spec(
                        F::DateOfBirth,
                        "date_of_birth",
                        "Date of birth",
                        Kind::Date,
                        10,
                        "off",
                    ),
                    "YYYY-MM-DD, not in the future",
                )),
                required(spec(F::Sex, "sex", "Sex", Kind::Sex, 0, "off")),
                spec(
                    F::GenderIdentity,
                    "gender_identity",
                    "Gender identity",
                    Kind::Text,
                    50,
                    "off",
                ),
                spec(
                    F::NationalId,
                    "national_id",
                    "National id",
                    Kind::Text,
                    32,
                    "off",
                ),
            ],
        ),
        (
            "Contact details",
            &[
                spec(F::Address, "address", "Address", Kind::TextArea, 300, "off"),
                hinted(
                    spec(F::Phone, "phone", "Phone", Kind::Tel, 30, "off"),
                    "digits, spaces and + - . ( ); 7 to 15 digits",
                ),
                spec(F::Email, "email", "E-mail", Kind::Email, 254, "off"),
                spec(
                    F::PreferredLanguage,
                    "preferred_language",
                    "Preferred language",
                    Kind::Text,
                    50,
                    "off",
                ),
            ],
        ),
        (
            "Emergency contact",
            &[
                error_key(
                    spec(
                        F::EmergencyContact,
                        "emergency_contact_name",
                        "Contact's name",
                        Kind::Text,
                        100,
                        "off",
                    ),
                    "emergency_contact.name",
                ),
                error_key(
                    spec(
                        F::EmergencyContact,
                        "emergency_contact_relation",
                        "Relation",
                        Kind::Text,
                        50,
                        "off",
                    ),
                    "emergency_contact.relation",
                ),
                error_key(
                    spec(
                        F::EmergencyContact,
                        "emergency_contact_phone",
                        "Contact's phone",
                        Kind::Tel,
                        30,
                        "off",
                    ),
                    "emergency_contact.phone",
                ),
            ],
        ),
        (
            "Clinical",
            &[
                spec(
                    F::BloodGroup,
                    "blood_group",
                    "Blood group",
                    Kind::BloodGroup,
                    0,
                    "off",
                ),
                hinted(
                    spec(
                        F::Allergies,
                        "allergies",
                        "Allergies",
                        Kind::TextArea,
                        2000,
                        "off",
                    ),
                    "from the paper record: each allergy (separate them with ; or a new line) becomes a free-text entry of the allergy list; \"NKDA\" or \"none known\" records no known allergies",
                ),
                spec(
                    F::PrimaryDiagnosis,
                    "primary_diagnosis",
                    "Primary diagnosis",
                    Kind::TextArea,
                    2000,
                    "off",
                ),
            ],
        ),
        (
            "Record",
            &[required(spec(
                F::Status,
                "status",
                "Status",
                Kind::Status,
                0,
                "off",
            ))],
        ),
    ]
};

/// One option of a select.
#[derive(Debug, Clone)]
pub(super) struct SelectOption {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// One input, ready to draw.
#[derive(Debug, Clone)]
pub(super) struct FormInput {
    pub(super) name: &'static str,
    label: &'static str,
    /// `input`, `select` or `textarea`.
    element: &'static str,
    input_type: &'static str,
    value: String,
    options: Vec<SelectOption>,
    required: bool,
    maxlength: usize,
    autocomplete: &'static str,
    hint: Option<&'static str>,
    error: Option<String>,
    /// Ids of the hint and the error, for `aria-describedby`.
    described_by: String,
}

#[derive(Debug, Clone)]
pub(super) struct FormSection {
    legend: &'static str,
    pub(super) inputs: Vec<FormInput>,
}

pub(super) fn select_options(
    choices: impl IntoIterator<Item = (String, String)>,
    current: &str,
) -> Vec<SelectOption> {
    choices
        .into_iter()
        .map(|(value, label)| SelectOption {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

fn form_input(spec: &InputSpec, values: &PatientForm, errors: &ValidationErrors) -> FormInput {
    let value = match spec.name {
        "given_name" => &values.given_name,
        "family_name" => &values.family_name,
        "date_of_birth" => &values.date_of_birth,
        "sex" => &values.sex,
        "gender_identity" => &values.gender_identity,
        "address" => &values.address,
        "phone" => &values.phone,
        "email" => &values.email,
        "emergency_contact_name" => &values.emergency_contact_name,
        "emergency_contact_relation" => &values.emergency_contact_relation,
        "emergency_contact_phone" => &values.emergency_contact_phone,
        "national_id" => &values.national_id,
        "preferred_language" => &values.preferred_language,
        "blood_group" => &values.blood_group,
        "allergies" => &values.allergies,
        "primary_diagnosis" => &values.primary_diagnosis,
        "status" => &values.status,
        _ => &None,
    }
    .clone()
    .unwrap_or_default();
    let own = |v: &str| (v.to_owned(), v.to_owned());
    let (element, input_type, options) = match spec.kind {
        Kind::Text => ("input", "text", Vec::new()),
        Kind::Email => ("input", "email", Vec::new()),
        Kind::Tel => ("input", "tel", Vec::new()),
        Kind::Date => ("input", "date", Vec::new()),
        Kind::TextArea => ("textarea", "", Vec::new()),
        Kind::Sex => (
            "select",
            "",
            select_options(
                std::iter::once((String::new(), "Choose…".to_owned()))
                    .chain(Sex::ALL.iter().map(|s| own(s.as_str()))),
                &value,
            ),
        ),
        Kind::BloodGroup => (
            "select",
            "",
            select_options(
                std::iter::once((String::new(), "Not recorded".to_owned()))
                    .chain(BloodGroup::ALL.iter().map(|g| own(g.as_str()))),
                &value,
            ),
        ),
        Kind::Status => (
            "select",
            "",
            select_options(
                [
                    ("active".to_owned(), "Active".to_owned()),
                    ("deceased".to_owned(), "Deceased".to_owned()),
                ],
                &value,
            ),
        ),
    };
    let error = errors.message_for(spec.error_key).map(str::to_owned);
    let described_by = [
        spec.hint.map(|_| format!("{}-hint", spec.name)),
        error.as_ref().map(|_| format!("{}-error", spec.name)),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    FormInput {
        name: spec.name,
        label: spec.label,
        element,
        input_type,
        value,
        options,
        required: spec.required,
        maxlength: spec.maxlength,
        autocomplete: spec.autocomplete,
        hint: spec.hint,
        error,
        described_by,
    }
}

/// The sections of a form showing `fields`. The status input appears only on an edit of a
/// record whose status an edit may set.
pub(super) fn form_sections(
    fields: &[PatientField],
    values: &PatientForm,
    errors: &ValidationErrors,
    with_status: bool,
) -> Vec<FormSection> {
    SECTIONS
        .iter()
        .map(|(legend, specs)| FormSection {
            legend,
            inputs: specs
                .iter()
                .filter(|s| fields.contains(&s.field))
                .filter(|s| s.field != PatientField::Status || with_status)
                .map(|s| form_input(s, values, errors))
                .collect(),
        })
        .filter(|section| !section.inputs.is_empty())
        .collect()
}

/// Problems that no input shows (a field the form does not have).
pub(super) fn unplaced_errors(sections: &[FormSection], errors: &ValidationErrors) -> Vec<String> {
    errors
        .0
        .iter()
        .filter(|e| {
            !SECTIONS.iter().any(|(_, specs)| {
                specs.iter().any(|s| {
                    s.error_key == e.field
                        && sections
                            .iter()
                            .any(|sec| sec.inputs.iter().any(|i| i.name == s.name))
                })
            })
        })
        .map(|e| format!("{} {}.", e.field, e.message))
        .collect()
}

#[derive(Template)]
#[template(path = "patient_form.html")]
pub(super) struct PatientFormPage {
    pub(super) layout: Layout,
    pub(super) action: String,
    pub(super) submit_label: &'static str,
    pub(super) cancel_href: String,
    pub(super) intro: &'static str,
    pub(super) sections: Vec<FormSection>,
    pub(super) problems: Vec<String>,
    pub(super) has_errors: bool,
    pub(super) duplicates: Vec<ListRow>,
    /// Carried back on submit, so a change to a record edited meanwhile is refused.
    pub(super) seen: Option<String>,
    /// On an edit: where the patient's allergies are kept (they are not on this form).
    pub(super) allergy_list_href: Option<String>,
}
