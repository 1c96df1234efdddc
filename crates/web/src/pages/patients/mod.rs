//! Patient pages: the list with its search box, registration (with the duplicate warning and
//! "Register anyway"), the patient page with its tabs and care team, editing, the patient's
//! own record, the administrator's encryption view and the research export.
//!
//! The service applies the masking policy before a record leaves it: a field it did not send
//! (the outer `None` of [`PatientDetails`]) is not rendered at all, not blanked. Whether the
//! actor may see or change something is the service's decision; these handlers parse the
//! form, call one use case and render what comes back. Which inputs a form shows, and which
//! links a page offers, follow the actor's role and the view the service chose: presentation
//! only, like the navigation menu.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::masking::{PatientField, Visibility, visibility};
use carevault_core::patient::{BloodGroup, Sex};
use carevault_core::{PatientId, Role, UserId, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::patients::{
    Change, EmergencyContactInput, EncryptionView, PatientDetails, PatientInput, PatientQuery,
    PatientSort, Registration,
};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken, query_params};
use crate::pages::banner::with_banner;
use crate::pages::{Layout, notice, render};

/// The file name browsers save the research export as.
pub const RESEARCH_EXPORT_FILE_NAME: &str = "research-export.csv";

fn parse_patient_id(raw: &str) -> Result<PatientId, PageError> {
    raw.parse()
        .map_err(|_| PageError::Status(StatusCode::NOT_FOUND, Some("No such patient.".into())))
}

fn patient_href(id: PatientId) -> String {
    format!("/patients/{id}")
}

/// Whether the role registers patients and manages care teams (the service decides; this
/// only chooses which links and forms to offer).
fn manages_registration(role: Option<Role>) -> bool {
    matches!(role, Some(Role::Admin | Role::Receptionist))
}

#[derive(Deserialize, Default)]
pub struct CareTeamForm {
    #[serde(default)]
    username: String,
}

impl std::fmt::Debug for CareTeamForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CareTeamForm { .. }")
    }
}

/// `POST /patients/{id}/care-team`: puts a doctor or nurse on the care team.
pub async fn assign_care_team(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<CareTeamForm>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let errors = match state
        .services
        .assign_care_team_member(&actor, id, &form.username)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}?notice=care-team-added#care-team"))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::Conflict { field, message }) => {
            ValidationErrors::single(field.unwrap_or("username"), message)
        }
        Err(other) => return Err(other.into()),
    };
    crate::pages::chart::rerender_with(
        &state,
        &actor,
        csrf,
        id,
        crate::pages::chart::ChartForms {
            team_username: form.username,
            errors,
            emergency: None,
        },
    )
    .await
}

/// `POST /patients/{id}/care-team/{user_id}/remove`: takes an assigned member off the team.
pub async fn remove_care_team(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let user_id: UserId = user_id.parse().map_err(|_| {
        PageError::Status(
            StatusCode::NOT_FOUND,
            Some("No such care team member.".into()),
        )
    })?;
    state
        .services
        .remove_care_team_member(&actor, id, user_id)
        .await?;
    Ok(Redirect::to(&format!(
        "/patients/{id}?notice=care-team-removed#care-team"
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------

/// One patient in the list.
#[derive(Debug, Clone)]
struct ListRow {
    href: String,
    name: String,
    mrn: Option<String>,
    born: Option<String>,
    sex: Option<String>,
    status: String,
}

impl From<&PatientDetails> for ListRow {
    fn from(d: &PatientDetails) -> Self {
        Self {
            href: patient_href(d.id),
            name: d.display_name(),
            mrn: d.mrn.clone(),
            born: d.date_of_birth.clone(),
            sex: d.sex.clone(),
            status: d.status.clone(),
        }
    }
}

/// Which optional columns any row has.
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    mrn: bool,
    born: bool,
    sex: bool,
}

impl Columns {
    fn of(rows: &[ListRow]) -> Self {
        Self {
            mrn: rows.iter().any(|r| r.mrn.is_some()),
            born: rows.iter().any(|r| r.born.is_some()),
            sex: rows.iter().any(|r| r.sex.is_some()),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ListPaging {
    total: u64,
    first: u64,
    last: u64,
    page: u64,
    pages: u64,
    previous_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    layout: Layout,
    q: String,
    sorts: Vec<SelectOption>,
    search_hint: &'static str,
    errors: ValidationErrors,
    searched: bool,
    rows: Vec<ListRow>,
    columns: Columns,
    paging: ListPaging,
    register_href: Option<&'static str>,
    csv_href: String,
}

#[derive(Deserialize, Default)]
struct ListParams {
    q: Option<String>,
    page: Option<String>,
    sort: Option<String>,
    notice: Option<String>,
}

const SORTS: [(&str, &str); 4] = [
    ("relevance", "Best match"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("updated", "Recently changed"),
];

fn list_href(q: &str, sort: PatientSort, page: u64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if sort != PatientSort::Relevance {
        query.append_pair("sort", sort.as_str());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        "/patients".to_owned()
    } else {
        format!("/patients?{query}")
    }
}

/// `GET /patients`: the list, searched, sorted and paged.
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // Who may search is decided (and a refusal recorded) before the parameters are judged.
    state.services.may_search_patients(&actor).await?;
    let role = actor.role();
    let mut errors = ValidationErrors::new();
    let params = match query_params::<ListParams>(raw.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(problems) => {
            errors = problems;
            ListParams::default()
        }
    };
    let q = params.q.clone().unwrap_or_default().trim().to_owned();
    let page = match params.page.as_deref().map(str::trim) {
        None | Some("") => Some(1),
        Some(raw) => errors.check(
            "page",
            raw.parse::<u64>()
                .ok()
                .filter(|p| *p >= 1 && i64::try_from(*p).is_ok())
                .ok_or_else(|| "must be a whole number, 1 or more".to_owned()),
        ),
    };
    let sort = errors.check(
        "sort",
        PatientSort::parse(params.sort.as_deref().unwrap_or_default().trim()),
    );
    let layout = Layout::new(&state, &actor, "Patients", "/patients", csrf)
        .with_notice(notice(params.notice.as_deref()));
    let mut page_view = PatientsPage {
        layout,
        q: q.clone(),
        sorts: select_options(
            SORTS.map(|(value, label)| (value.to_owned(), label.to_owned())),
            sort.unwrap_or_default().as_str(),
        ),
        search_hint: if role == Some(Role::Auditor) {
            "A pseudonym (ANON_…): auditors see patients by pseudonym only."
        } else {
            "A name, a family name and date of birth (Smith 1980-02-03), a hospital number, a phone number, a national id or a pseudonym."
        },
        errors: ValidationErrors::new(),
        searched: !q.is_empty(),
        rows: Vec::new(),
        columns: Columns::default(),
        paging: ListPaging::default(),
        register_href: manages_registration(role).then_some("/patients/new"),
        csv_href: list_href(&q, sort.unwrap_or_default(), 1).replacen(
            "/patients",
            "/patients.csv",
            1,
        ),
    };
    let (Some(page), Some(sort), true) = (page, sort, errors.is_empty()) else {
        // Nothing is asked of the service: the page shows the problems and no patients.
        page_view.errors = errors;
        return unprocessable(&page_view);
    };
    let result = state
        .services
        .search_patients(
            &actor,
            PatientQuery {
                q: (!q.is_empty()).then(|| q.clone()),
                page,
                per_page: None,
                sort,
            },
        )
        .await;
    let found = match result {
        Ok(found) => found,
        Err(ServiceError::Validation(errors)) => {
            page_view.errors = errors;
            return unprocessable(&page_view);
        }
        Err(other) => return Err(other.into()),
    };
    let rows: Vec<ListRow> = found.items.iter().map(ListRow::from).collect();
    let offset = (found.page - 1).saturating_mul(found.per_page);
    let shown = rows.len() as u64;
    let pages = found.total.div_ceil(found.per_page.max(1));
    page_view.paging = ListPaging {
        total: found.total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        page: found.page,
        pages,
        previous_href: (found.page > 1).then(|| list_href(&q, sort, found.page - 1)),
        next_href: (found.page < pages).then(|| list_href(&q, sort, found.page + 1)),
    };
    page_view.columns = Columns::of(&rows);
    page_view.rows = rows;
    render(&page_view)
}

/// The file name browsers save the patient list export as.
pub const PATIENTS_CSV_FILE_NAME: &str = "patients.csv";

/// One column of the patient export: its header and how a row fills it.
type PatientColumn = (&'static str, fn(&PatientDetails) -> Option<String>);

fn shown(value: &Option<Option<String>>) -> Option<String> {
    value.clone().flatten()
}

/// Every column the export could have, with the masking policy's field behind it.
const PATIENT_COLUMNS: [(PatientField, PatientColumn); 20] = [
    (PatientField::Id, ("id", |d| Some(d.id.to_string()))),
    (PatientField::Mrn, ("mrn", |d| d.mrn.clone())),
    (
        PatientField::GivenName,
        ("given_name", |d| d.given_name.clone()),
    ),
    (
        PatientField::FamilyName,
        ("family_name", |d| d.family_name.clone()),
    ),
    (
        PatientField::DateOfBirth,
        ("date_of_birth", |d| d.date_of_birth.clone()),
    ),
    (PatientField::Sex, ("sex", |d| d.sex.clone())),
    (
        PatientField::GenderIdentity,
        ("gender_identity", |d| shown(&d.gender_identity)),
    ),
    (PatientField::Address, ("address", |d| shown(&d.address))),
    (PatientField::Phone, ("phone", |d| shown(&d.phone))),
    (PatientField::Email, ("email", |d| shown(&d.email))),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_name", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.name)
        }),
    ),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_relation", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.relation)
        }),
    ),
    (
        PatientField::EmergencyContact,
        ("emergency_contact_phone", |d| {
            d.emergency_contact.clone().flatten().map(|c| c.phone)
        }),
    ),
    (
        PatientField::NationalId,
        ("national_id", |d| shown(&d.national_id)),
    ),
    (
        PatientField::PreferredLanguage,
        ("preferred_language", |d| shown(&d.preferred_language)),
    ),
    (
        PatientField::BloodGroup,
        ("blood_group", |d| shown(&d.blood_group)),
    ),
    (
        PatientField::Allergies,
        ("allergies", |d| shown(&d.allergies)),
    ),
    (
        PatientField::PrimaryDiagnosis,
        ("primary_diagnosis", |d| shown(&d.primary_diagnosis)),
    ),
    (PatientField::Status, ("status", |d| Some(d.status.clone()))),
    (
        PatientField::UpdatedAt,
        ("updated_at", |d| {
            d.updated_at.map(crate::csv_export::rfc3339_utc)
        }),
    ),
];

/// The export's columns for `role`: a field is a column only if one of the views the role
/// can get of a patient (on the care team or not) shows it, so a receptionist's file has
/// no clinical column at all, not empty ones. Presentation only: the cells come from the
/// records the service already masked.
fn patient_columns(role: Option<Role>) -> Vec<PatientColumn> {
    use carevault_core::masking::{Relation, view_for};
    let views: Vec<_> = role
        .into_iter()
        .flat_map(|role| [Relation::CareTeam, Relation::None].map(|r| view_for(role, r)))
        .flatten()
        .collect();
    PATIENT_COLUMNS
        .iter()
        .filter(|(field, _)| {
            views
                .iter()
                .any(|view| visibility(*view, *field) != Visibility::Hidden)
        })
        .map(|(_, column)| *column)
        .collect()
}

/// `GET /patients.csv?q=…&sort=…`: every patient the `/patients` list would show for these
/// filters (all pages), masked as there; audited as one export with its row count.
pub async fn list_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params::<ListParams>(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let sort =
        PatientSort::parse(params.sort.as_deref().unwrap_or_default().trim()).map_err(|e| {
            PageError::Status(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Order {e}.")),
            )
        })?;
    let q = params
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    let export = state.services.export_patients(&actor, q, sort).await?;
    let columns = patient_columns(actor.role());
    let header: Vec<String> = columns.iter().map(|(name, _)| (*name).to_owned()).collect();
    Ok(crate::csv_export::csv_stream_response(
        PATIENTS_CSV_FILE_NAME,
        header,
        export,
        move |d| {
            columns
                .iter()
                .map(|(_, cell)| cell(d).unwrap_or_default())
                .collect::<Vec<String>>()
        },
    ))
}

fn unprocessable(template: &impl Template) -> Result<Response, PageError> {
    let mut response = render(template)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// Register and edit forms
// ---------------------------------------------------------------------------------------

/// The patient form as submitted. An input that is not on the form is `None` (the field is
/// kept); an emptied one is `Some("")` (the field is cleared).
#[derive(Deserialize, Default, Clone)]
pub struct PatientForm {
    given_name: Option<String>,
    family_name: Option<String>,
    date_of_birth: Option<String>,
    sex: Option<String>,
    gender_identity: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    emergency_contact_name: Option<String>,
    emergency_contact_relation: Option<String>,
    emergency_contact_phone: Option<String>,
    national_id: Option<String>,
    preferred_language: Option<String>,
    blood_group: Option<String>,
    allergies: Option<String>,
    primary_diagnosis: Option<String>,
    status: Option<String>,
    register_anyway: Option<String>,
    /// The record's `updated_at` (microseconds) when the edit form was drawn.
    seen: Option<String>,
}

impl std::fmt::Debug for PatientForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientForm { .. }")
    }
}

fn change(value: &Option<String>) -> Change<String> {
    match value {
        None => Change::Keep,
        Some(text) if text.trim().is_empty() => Change::Clear,
        Some(text) => Change::Set(text.clone()),
    }
}

impl PatientForm {
    fn to_input(&self) -> PatientInput {
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
    fn from_details(d: &PatientDetails) -> Self {
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
    fn seen(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.seen
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(carevault_core::time::from_micros)
    }
}

/// How an input is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
struct InputSpec {
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

const fn spec(
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

const fn required(mut spec: InputSpec) -> InputSpec {
    spec.required = true;
    spec
}

const fn hinted(mut spec: InputSpec, hint: &'static str) -> InputSpec {
    spec.hint = Some(hint);
    spec
}

const fn error_key(mut spec: InputSpec, key: &'static str) -> InputSpec {
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
struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

/// One input, ready to draw.
#[derive(Debug, Clone)]
struct FormInput {
    name: &'static str,
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
struct FormSection {
    legend: &'static str,
    inputs: Vec<FormInput>,
}

fn select_options(
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
fn form_sections(
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
fn unplaced_errors(sections: &[FormSection], errors: &ValidationErrors) -> Vec<String> {
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
struct PatientFormPage {
    layout: Layout,
    action: String,
    submit_label: &'static str,
    cancel_href: String,
    intro: &'static str,
    sections: Vec<FormSection>,
    problems: Vec<String>,
    has_errors: bool,
    duplicates: Vec<ListRow>,
    /// Carried back on submit, so a change to a record edited meanwhile is refused.
    seen: Option<String>,
    /// On an edit: where the patient's allergies are kept (they are not on this form).
    allergy_list_href: Option<String>,
}

fn register_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    values: &PatientForm,
    fields: &[PatientField],
    errors: &ValidationErrors,
    duplicates: Vec<ListRow>,
) -> PatientFormPage {
    let sections = form_sections(fields, values, errors, false);
    PatientFormPage {
        layout: Layout::new(state, actor, "Register a patient", "/patients", csrf),
        action: "/patients/new".to_owned(),
        submit_label: "Register",
        cancel_href: "/patients".to_owned(),
        intro: "Fields marked as optional may be left empty. A hospital number (MRN) is assigned when the patient is registered. Every registration is recorded in the audit trail.",
        problems: unplaced_errors(&sections, errors),
        has_errors: !errors.is_empty(),
        sections,
        duplicates,
        seen: None,
        allergy_list_href: None,
    }
}

/// `GET /patients/new`: the registration form.
pub async fn new_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    // The service says which fields the actor may fill in (and records a refusal).
    let fields = state.services.writable_patient_fields(&actor, None).await?;
    render(&register_page(
        &state,
        &actor,
        csrf,
        &PatientForm::default(),
        &fields,
        &ValidationErrors::new(),
        Vec::new(),
    ))
}

/// `POST /patients/new`: registers the patient, or shows the form again with the problems
/// (422) or the possible duplicates (409).
pub async fn register(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<PatientForm>,
) -> Result<Response, PageError> {
    let anyway = form.register_anyway.as_deref() == Some("true");
    let result = state
        .services
        .register_patient(&actor, form.to_input(), anyway)
        .await;
    let (errors, duplicates, status) = match result {
        Ok(Registration::Registered(details)) => {
            return Ok(Redirect::to(&format!(
                "/patients/{}?notice=patient-registered",
                details.id
            ))
            .into_response());
        }
        Ok(Registration::PossibleDuplicates(matches)) => (
            ValidationErrors::new(),
            matches.iter().map(ListRow::from).collect(),
            StatusCode::CONFLICT,
        ),
        Err(ServiceError::Validation(errors)) => {
            (errors, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => return Err(other.into()),
    };
    let values = PatientForm {
        register_anyway: None,
        ..form
    };
    let fields = state.services.writable_patient_fields(&actor, None).await?;
    let mut response = render(&register_page(
        &state, &actor, csrf, &values, &fields, &errors, duplicates,
    ))?;
    *response.status_mut() = status;
    Ok(response)
}

fn edit_page(
    layout: Layout,
    role: Option<Role>,
    id: PatientId,
    fields: &[PatientField],
    values: &PatientForm,
    errors: &ValidationErrors,
) -> PatientFormPage {
    let with_status = matches!(values.status.as_deref(), Some("active" | "deceased"));
    let sections = form_sections(fields, values, errors, with_status);
    let back = if role == Some(Role::Patient) {
        "/my/record".to_owned()
    } else {
        patient_href(id)
    };
    PatientFormPage {
        layout,
        action: format!("/patients/{id}/edit"),
        submit_label: "Save changes",
        cancel_href: back,
        intro: "Only the fields you may change are shown. Emptying an optional field removes it from the record. Every change is recorded in the audit trail.",
        problems: unplaced_errors(&sections, errors),
        has_errors: !errors.is_empty(),
        sections,
        duplicates: Vec::new(),
        seen: values.seen.clone(),
        // Presentation only: the allergy page itself says who may read and change it.
        allergy_list_href: matches!(role, Some(Role::Admin | Role::Doctor | Role::Nurse))
            .then(|| format!("{}/allergies", patient_href(id))),
    }
}

fn edit_layout(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    title: &str,
) -> Layout {
    let current = if actor.role() == Some(Role::Patient) {
        "/my/record"
    } else {
        "/patients"
    };
    Layout::new(state, actor, title, current, csrf)
}

/// `GET /patients/{id}/edit`: the fields the actor may change, filled in.
pub async fn edit_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let fields = state
        .services
        .writable_patient_fields(&actor, Some(id))
        .await?;
    let details = state.services.get_patient(&actor, id).await?;
    let title = format!("Edit {}", details.display_name());
    let layout = with_banner(
        &state,
        &actor,
        edit_layout(&state, &actor, csrf, &title),
        id,
    )
    .await?;
    render(&edit_page(
        layout,
        actor.role(),
        id,
        &fields,
        &PatientForm::from_details(&details),
        &ValidationErrors::new(),
    ))
}

/// `POST /patients/{id}/edit`: saves the change, or shows the form again with the problems
/// next to their fields (422).
pub async fn update(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<PatientForm>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let (errors, status) = match state
        .services
        .update_patient(&actor, id, form.to_input(), form.seen())
        .await
    {
        Ok(_) if actor.role() == Some(Role::Patient) => {
            return Ok(Redirect::to("/my/record?notice=patient-updated").into_response());
        }
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}?notice=patient-updated")).into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(ServiceError::Conflict { message, .. }) => (
            ValidationErrors::single("Not saved:", message),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    let fields = state
        .services
        .writable_patient_fields(&actor, Some(id))
        .await?;
    let layout = with_banner(
        &state,
        &actor,
        edit_layout(&state, &actor, csrf, "Edit patient"),
        id,
    )
    .await?;
    let mut response = render(&edit_page(
        layout,
        actor.role(),
        id,
        &fields,
        &form,
        &errors,
    ))?;
    *response.status_mut() = status;
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// Encryption view and research export (administrators)
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "patient_encryption.html")]
struct EncryptionPage {
    layout: Layout,
    patient_href: String,
    view: EncryptionView,
}

/// `GET /patients/{id}/encryption`: how one patient's fields are stored.
pub async fn encryption(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let view = state.services.patient_encryption_view(&actor, id).await?;
    let layout = Layout::new(
        &state,
        &actor,
        &format!("Encryption at rest: {}", view.pseudonym),
        "/patients",
        csrf,
    );
    // No banner: this page shows how the record is stored, never what it holds.
    render(&EncryptionPage {
        layout,
        patient_href: patient_href(id),
        view,
    })
}

#[derive(Template)]
#[template(path = "research_export.html")]
struct ResearchExportPage {
    layout: Layout,
    k: String,
    errors: ValidationErrors,
}

#[derive(Debug, Deserialize, Default)]
pub struct ResearchExportForm {
    k: Option<String>,
}

/// `GET /admin/research-export`: what the export does, and its one setting.
pub async fn research_export_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    let k = state.services.research_export_defaults(&actor).await?;
    render(&ResearchExportPage {
        layout: Layout::new(
            &state,
            &actor,
            "Research export",
            "/admin/research-export",
            csrf,
        ),
        k: k.to_string(),
        errors: ValidationErrors::new(),
    })
}

/// `POST /admin/research-export`: the de-identified CSV, as a download.
pub async fn research_export(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(form): Form<ResearchExportForm>,
) -> Result<Response, PageError> {
    let raw_k = form.k.unwrap_or_default().trim().to_owned();
    let k = if raw_k.is_empty() {
        Ok(None)
    } else {
        raw_k.parse::<usize>().map(Some).map_err(|_| {
            ServiceError::Validation(ValidationErrors::single(
                "k",
                "must be a whole number between 1 and 100",
            ))
        })
    };
    let result = match k {
        Ok(k) => state.services.research_export(&actor, k).await,
        Err(err) => {
            // Refuse a non-administrator (recorded) before telling them about the number.
            state.services.research_export_defaults(&actor).await?;
            Err(err)
        }
    };
    match result {
        Ok(export) => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{RESEARCH_EXPORT_FILE_NAME}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            export.csv,
        )
            .into_response()),
        Err(ServiceError::Validation(errors)) => unprocessable(&ResearchExportPage {
            layout: Layout::new(
                &state,
                &actor,
                "Research export",
                "/admin/research-export",
                csrf,
            ),
            k: raw_k,
            errors,
        }),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carevault_core::masking::PatientView;
    use carevault_service::patients::editable_fields;

    #[test]
    fn an_emptied_input_clears_and_a_missing_one_keeps() {
        let form = PatientForm {
            phone: Some("  ".into()),
            email: Some("a@example.org".into()),
            ..PatientForm::default()
        };
        let input = form.to_input();
        assert_eq!(input.phone, Change::Clear);
        assert_eq!(input.email, Change::Set("a@example.org".into()));
        assert_eq!(input.address, Change::Keep);
        assert_eq!(input.emergency_contact, Change::Keep);
        assert_eq!(
            input.changed_fields(),
            [PatientField::Phone, PatientField::Email]
        );
    }

    #[test]
    fn the_emergency_contact_is_one_change() {
        let empty = PatientForm {
            emergency_contact_name: Some(String::new()),
            emergency_contact_relation: Some(String::new()),
            emergency_contact_phone: Some(String::new()),
            ..PatientForm::default()
        };
        assert_eq!(empty.to_input().emergency_contact, Change::Clear);
        let partial = PatientForm {
            emergency_contact_name: Some("Ann".into()),
            ..empty
        };
        assert!(matches!(
            partial.to_input().emergency_contact,
            Change::Set(EmergencyContactInput { ref name, .. }) if name == "Ann"
        ));
    }

    #[test]
    fn forms_offer_only_what_the_role_may_change() {
        let names = |role, view| -> Vec<&str> {
            form_sections(
                &editable_fields(Some(role), view),
                &PatientForm::default(),
                &ValidationErrors::new(),
                true,
            )
            .iter()
            .flat_map(|s| s.inputs.iter().map(|i| i.name))
            .collect()
        };
        let reception = names(Role::Receptionist, PatientView::Registration);
        assert!(reception.contains(&"given_name") && !reception.contains(&"allergies"));
        // Allergies are the allergy list's, not an input of the edit form.
        assert_eq!(
            names(Role::Doctor, PatientView::Full),
            ["blood_group", "primary_diagnosis"]
        );
        assert!(names(Role::Doctor, PatientView::Masked).is_empty());
        assert!(names(Role::Nurse, PatientView::Full).is_empty());
        assert_eq!(
            names(Role::Patient, PatientView::Own),
            [
                "address",
                "phone",
                "email",
                "preferred_language",
                "emergency_contact_name",
                "emergency_contact_relation",
                "emergency_contact_phone"
            ]
        );
    }

    #[test]
    fn list_links_keep_the_search() {
        assert_eq!(list_href("", PatientSort::Relevance, 1), "/patients");
        assert_eq!(
            list_href("Smith & Co", PatientSort::Oldest, 3),
            "/patients?q=Smith+%26+Co&sort=oldest&page=3"
        );
    }
}
