//! Clinical record pages: a patient's encounters and prescriptions (`/patients/{id}/clinical`,
//! linked from the patient page), the new-encounter form with diagnosis rows and an ICD-10
//! lookup that works without JavaScript (a GET search whose results also feed a
//! `<datalist>`), the encounter page (the author's draft form and Sign button, the
//! amendment form and every amendment with its before and after, nurses' treatment-note and
//! vitals forms, the prescription form with its warnings and acknowledgement), the
//! printable prescription, the patient portal (`/my/encounters`, `/my/prescriptions`) and
//! the diagnoses report with its SVG chart and CSV.
//!
//! The service decides who may read and write; these handlers parse forms, call one use case,
//! and redirect (303) or render the page again with the messages next to their fields (422,
//! 409 for a warning that needs an acknowledgement or a signed encounter). Which forms are
//! offered follows the `may_*` flags the service computed: presentation only.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use carevault_core::clinical::VitalsInput;
use carevault_core::{PatientId, Role, ValidationErrors};
use carevault_service::encounters::{
    AmendmentInput, DiagnosisInput, EncounterInput, EncounterView, TEXT_FIELDS,
};
use carevault_service::prescriptions::{
    Prescribed, PrescriptionRequest, PrescriptionView, PrescriptionWarning,
};
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken, query_params};
use crate::pages::path_patient_id;
use crate::pages::{Layout, csv_download, not_found, render, report_range};
use crate::routes::{Access, RouteTable};

/// Adds the clinical pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .add(
            &["GET"],
            "/patients/{id}/clinical",
            Page,
            get(patient_clinical),
        )
        .add(
            &["GET", "POST"],
            "/encounters/new",
            Page,
            get(new_encounter_form).post(create_encounter),
        )
        .add(&["GET"], "/encounters/{id}", Page, get(encounter_page))
        .add(&["POST"], "/encounters/{id}/edit", Page, post(edit_draft))
        .add(&["POST"], "/encounters/{id}/sign", Page, post(sign))
        .add(&["POST"], "/encounters/{id}/amend", Page, post(amend))
        .add(&["POST"], "/encounters/{id}/notes", Page, post(add_note))
        .add(&["POST"], "/encounters/{id}/vitals", Page, post(vitals))
        .add(
            &["POST"],
            "/encounters/{id}/prescriptions",
            Page,
            post(prescribe),
        )
        .add(
            &["GET"],
            "/prescriptions/{id}/print",
            Page,
            get(print_prescription),
        )
        .add(&["GET"], "/my/encounters", Page, get(my_encounters))
        .add(&["GET"], "/my/prescriptions", Page, get(my_prescriptions))
        .add(&["GET"], "/reports/diagnoses", Page, get(diagnosis_report))
        .add(
            &["GET"],
            "/reports/diagnoses.csv",
            Page,
            get(diagnosis_report_csv),
        )
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn text_label(field: &str) -> &'static str {
    match field {
        "chief_complaint" => "Chief complaint",
        "history" => "History",
        "examination" => "Examination",
        "assessment" => "Assessment",
        "plan" => "Plan",
        "diagnoses" => "Diagnoses",
        _ => "Field",
    }
}

const VITAL_FIELDS: [(&str, &str); 8] = [
    ("temperature_c", "Temperature (°C)"),
    ("pulse_bpm", "Pulse (/min)"),
    ("systolic_mmhg", "Systolic BP (mmHg)"),
    ("diastolic_mmhg", "Diastolic BP (mmHg)"),
    ("respiratory_rate", "Respiratory rate (/min)"),
    ("spo2_percent", "SpO₂ (%)"),
    ("weight_kg", "Weight (kg)"),
    ("height_cm", "Height (cm)"),
];

fn vital_label(field: &str) -> &'static str {
    VITAL_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("Value", |(_, l)| l)
}

/// A submitted form as name/value pairs (the diagnosis rows have numbered names).
type Pairs = Vec<(String, String)>;

fn value<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------
// Rows shown
// ---------------------------------------------------------------------------------------

/// One of the five texts, as shown.
#[derive(Debug, Clone)]
pub struct TextRow {
    pub name: &'static str,
    pub label: &'static str,
    pub value: Option<String>,
}

/// A diagnosis as shown.
#[derive(Debug, Clone)]
pub struct DiagnosisRow {
    pub id: String,
    pub primary: bool,
    pub code: Option<String>,
    pub text: String,
    pub free_text: bool,
    pub retracted_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone)]
pub struct AmendmentRow {
    pub author: String,
    pub at: String,
    pub reason: String,
    pub changes: Vec<ChangeRow>,
}

#[derive(Debug, Clone)]
pub struct NoteRow {
    pub author: String,
    pub at: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct VitalsRow {
    pub at: String,
    pub by: String,
    pub values: Vec<(&'static str, String)>,
    pub bmi: Option<String>,
}

/// An encounter as listed or shown.
#[derive(Debug, Clone)]
pub struct EncounterRow {
    pub id: String,
    pub patient_id: String,
    pub patient: String,
    pub clinician: String,
    pub kind: String,
    pub signed: bool,
    pub started_at: String,
    pub signed_at: Option<String>,
    pub texts: Vec<TextRow>,
    pub diagnoses: Vec<DiagnosisRow>,
    pub amendments: Vec<AmendmentRow>,
    pub notes: Vec<NoteRow>,
    pub vitals: Vec<VitalsRow>,
    /// The version the draft form was drawn from (`updated_at` in microseconds).
    pub version: i64,
}

impl EncounterRow {
    fn from_view(e: &EncounterView) -> Self {
        Self {
            id: e.id.clone(),
            patient_id: e.patient_id.to_string(),
            patient: e.patient_label.clone(),
            clinician: e.clinician_name.clone(),
            kind: e.kind.as_str().replace('_', " "),
            signed: e.signed_at.is_some(),
            started_at: time(e.started_at),
            signed_at: e.signed_at.map(time),
            version: carevault_core::time::to_micros(e.updated_at),
            // Hidden texts are absent; empty ones say so.
            texts: e
                .texts
                .iter()
                .filter_map(|(name, shown)| {
                    shown.as_ref().map(|v| TextRow {
                        name,
                        label: text_label(name),
                        value: v.clone(),
                    })
                })
                .collect(),
            diagnoses: e
                .diagnoses
                .iter()
                .map(|d| DiagnosisRow {
                    id: d.id.clone(),
                    primary: d.kind.as_str() == "primary",
                    code: d.code.clone(),
                    text: d.text.clone(),
                    free_text: d.free_text,
                    retracted_at: d.retracted_at.map(time),
                })
                .collect(),
            amendments: e
                .amendments
                .iter()
                .map(|a| AmendmentRow {
                    author: a.author.clone(),
                    at: time(a.at),
                    reason: a.reason.clone(),
                    changes: a
                        .changes
                        .iter()
                        .map(|c| ChangeRow {
                            label: text_label(&c.field),
                            before: c.before.clone(),
                            after: c.after.clone(),
                        })
                        .collect(),
                })
                .collect(),
            notes: e
                .notes
                .iter()
                .map(|n| NoteRow {
                    author: n.author.clone(),
                    at: time(n.at),
                    text: n.text.clone(),
                })
                .collect(),
            vitals: e
                .vitals
                .iter()
                .map(|v| VitalsRow {
                    at: time(v.at),
                    by: v.recorded_by.clone(),
                    values: v
                        .measurements
                        .iter()
                        .map(|m| (vital_label(m.field), m.value.clone()))
                        .collect(),
                    bmi: v
                        .bmi
                        .as_ref()
                        .map(|b| format!("{} ({})", b.value, b.category.as_str())),
                })
                .collect(),
        }
    }
}

/// A prescription as listed or printed.
#[derive(Debug, Clone)]
pub struct PrescriptionRow {
    pub id: String,
    pub patient: String,
    pub encounter_id: String,
    pub prescriber: String,
    pub status: String,
    pub drug: String,
    pub generic_name: Option<String>,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    pub instructions: Option<String>,
    pub acknowledgement: Option<String>,
    pub created_at: String,
}

impl From<&PrescriptionView> for PrescriptionRow {
    fn from(p: &PrescriptionView) -> Self {
        Self {
            id: p.id.clone(),
            patient: p.patient_label.clone(),
            encounter_id: p.encounter_id.clone(),
            prescriber: p.prescriber_name.clone(),
            status: p.status.as_str().to_owned(),
            drug: p.drug_name.clone(),
            generic_name: p.generic_name.clone(),
            dose: p.dose.clone(),
            route: p.route.clone(),
            frequency: p.frequency.clone(),
            duration_days: p.duration_days,
            quantity: p.quantity,
            instructions: p.instructions.clone(),
            acknowledgement: p.acknowledged.as_ref().map(|(w, reason)| {
                let kinds: Vec<String> = w
                    .iter()
                    .map(|w| format!("{} ({})", w.kind, w.detail))
                    .collect();
                format!("{} — {}", kinds.join(", "), reason)
            }),
            created_at: time(p.created_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------

/// One row of the diagnosis inputs.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisFormRow {
    pub index: usize,
    pub primary: bool,
    pub code: String,
    pub text: String,
    pub free_text: bool,
    pub error: Option<String>,
}

const BLANK_DIAGNOSIS_ROWS: usize = 2;

/// Reads the numbered diagnosis rows `{prefix}{i}_kind|code|text|free`; blank rows are
/// skipped. Returns the rows (for showing the form again) and the inputs with their row.
fn diagnosis_rows(
    pairs: &Pairs,
    prefix: &str,
) -> (Vec<DiagnosisFormRow>, Vec<(usize, DiagnosisInput)>) {
    let mut rows = Vec::new();
    let mut inputs = Vec::new();
    for index in 0..20 {
        let name = |part: &str| format!("{prefix}{index}_{part}");
        if !pairs
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{prefix}{index}_")))
        {
            continue;
        }
        let row = DiagnosisFormRow {
            index,
            primary: value(pairs, &name("kind")) == "primary",
            code: value(pairs, &name("code")).trim().to_owned(),
            text: value(pairs, &name("text")).trim().to_owned(),
            free_text: !value(pairs, &name("free")).is_empty(),
            error: None,
        };
        if !row.code.is_empty() || !row.text.is_empty() {
            inputs.push((
                index,
                DiagnosisInput {
                    kind: if row.primary { "primary" } else { "secondary" }.to_owned(),
                    code: (!row.free_text && !row.code.is_empty()).then(|| row.code.clone()),
                    text: (!row.text.is_empty()).then(|| row.text.clone()),
                    free_text: row.free_text,
                },
            ));
        }
        rows.push(row);
    }
    (rows, inputs)
}

/// Puts the service's messages about `{list}[k].…` beside row `k`'s inputs.
fn attach_diagnosis_errors(
    rows: &mut [DiagnosisFormRow],
    submitted: &[(usize, DiagnosisInput)],
    list: &str,
    errors: &ValidationErrors,
) {
    for e in &errors.0 {
        let Some(rest) = e.field.strip_prefix(&format!("{list}[")) else {
            continue;
        };
        let Some((k, part)) = rest.split_once("].") else {
            continue;
        };
        let Some(index) = k
            .parse::<usize>()
            .ok()
            .and_then(|k| submitted.get(k))
            .map(|s| s.0)
        else {
            continue;
        };
        if let Some(row) = rows.iter_mut().find(|r| r.index == index) {
            let label = match part {
                "code" => "Code",
                "text" => "Text",
                _ => "Diagnosis",
            };
            row.error = Some(format!("{label} {}.", e.message));
        }
    }
}

fn blank_rows(rows: &mut Vec<DiagnosisFormRow>) {
    let next = rows.iter().map(|r| r.index + 1).max().unwrap_or(0);
    for index in next..next + BLANK_DIAGNOSIS_ROWS {
        rows.push(DiagnosisFormRow {
            index,
            ..DiagnosisFormRow::default()
        });
    }
}

/// A text input of a form, with its message.
#[derive(Debug, Clone)]
pub struct TextInput {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

fn text_inputs(values: &HashMap<String, String>, errors: &ValidationErrors) -> Vec<TextInput> {
    TEXT_FIELDS
        .iter()
        .map(|name| TextInput {
            name,
            label: text_label(name),
            value: values.get(*name).cloned().unwrap_or_default(),
            error: errors.message_for(name).map(str::to_owned),
        })
        .collect()
}

fn texts_from(pairs: &Pairs, only_changed_from: Option<&EncounterView>) -> HashMap<String, String> {
    TEXT_FIELDS
        .iter()
        .filter_map(|name| {
            let v = value(pairs, name).to_owned();
            match only_changed_from {
                // An amendment: only the texts that differ from the current ones.
                Some(current) => (v.trim() != current.text(name).unwrap_or("").trim())
                    .then(|| ((*name).to_owned(), v)),
                None => Some(((*name).to_owned(), v)),
            }
        })
        .collect()
}

/// The ICD-10 lookup's results (the GET search of the form, also its `<datalist>`).
#[derive(Debug, Clone, Default)]
pub struct Icd10Lookup {
    pub query: String,
    pub results: Vec<(String, String)>,
    pub searched: bool,
}

impl Icd10Lookup {
    fn search(query: &str) -> Self {
        let query = query.trim();
        if query.is_empty() {
            return Self::default();
        }
        Self {
            query: query.to_owned(),
            results: carevault_core::icd10::search(query, 25)
                .into_iter()
                .map(|c| (c.code.to_owned(), c.title.to_owned()))
                .collect(),
            searched: true,
        }
    }
}

/// The prescription form's values.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrescriptionForm {
    /// A formulary drug's id, or empty for free text.
    #[serde(default)]
    pub drug_id: String,
    #[serde(default)]
    pub drug_name: String,
    #[serde(default)]
    pub generic_name: String,
    #[serde(default)]
    pub dose: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub duration_days: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub acknowledgement: String,
}

fn blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

// ---------------------------------------------------------------------------------------
// A patient's clinical record (from the patient page)
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "clinical_list.html")]
struct ClinicalListPage {
    layout: Layout,
    patient_href: Option<String>,
    new_encounter_href: Option<String>,
    encounters: Vec<EncounterRow>,
    prescriptions: Option<Vec<PrescriptionRow>>,
    portal: bool,
    /// The patient's vitals as a flagged table (not for pharmacists).
    vitals_table: Option<crate::vitals_table::VitalsTable>,
    /// Sparklines of the signs measured more than once.
    trends: Vec<crate::vitals_table::TrendItem>,
}

/// The vitals table and trend sparklines of a patient's readings (newest first).
fn vitals_section(
    state: &AppState,
    readings: &[carevault_service::encounters::VitalsView],
    caption: &str,
) -> (
    Option<crate::vitals_table::VitalsTable>,
    Vec<crate::vitals_table::TrendItem>,
) {
    let zone = state.services.clinic_time_zone();
    let table = crate::vitals_table::VitalsTable::new("patient-vitals", caption, readings, zone);
    (
        Some(table),
        crate::vitals_table::trend_items(readings, 10, zone),
    )
}

/// `GET /patients/{id}/clinical`: the patient's encounters and prescriptions, for those
/// who may read them (pharmacists: prescriptions only).
pub async fn patient_clinical(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let encounters = if actor.role() == Some(Role::Pharmacist) {
        Vec::new()
    } else {
        state.services.list_encounters(&actor, id).await?
    };
    let prescriptions = state.services.list_prescriptions(&actor, id).await?;
    let (vitals_table, trends) = if actor.role() == Some(Role::Pharmacist) {
        (None, Vec::new())
    } else {
        let readings = state.services.list_vitals(&actor, id).await?;
        vitals_section(&state, &readings, "Vitals, newest first")
    };
    let title = prescriptions
        .first()
        .map(|p| p.patient_label.clone())
        .or_else(|| encounters.first().map(|e| e.patient_label.clone()))
        .map_or_else(
            || "Clinical record".to_owned(),
            |n| format!("Clinical record: {n}"),
        );
    render(&ClinicalListPage {
        layout: Layout::new(&state, &actor, &title, "/patients", csrf),
        patient_href: Some(format!("/patients/{id}")),
        new_encounter_href: (actor.role() == Some(Role::Doctor))
            .then(|| format!("/encounters/new?patient={id}")),
        encounters: encounters.iter().map(EncounterRow::from_view).collect(),
        prescriptions: Some(prescriptions.iter().map(Into::into).collect()),
        portal: false,
        vitals_table,
        trends,
    })
}

// ---------------------------------------------------------------------------------------
// The new-encounter form
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "encounter_form.html")]
struct EncounterFormPage {
    layout: Layout,
    patient_id: String,
    kind: String,
    texts: Vec<TextInput>,
    diagnoses: Vec<DiagnosisFormRow>,
    diagnoses_error: Option<String>,
    lookup: Icd10Lookup,
    errors: ValidationErrors,
}

#[derive(Debug, Default, Deserialize)]
struct NewEncounterQuery {
    #[serde(default)]
    patient: String,
    #[serde(default)]
    icd10: String,
}

/// `GET /encounters/new?patient=…[&icd10=…]`: the form (doctors); `icd10` runs the lookup.
pub async fn new_encounter_form(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let query: NewEncounterQuery = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let id = path_patient_id(&query.patient)?;
    if actor.role() != Some(Role::Doctor) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            Some("Encounters are written by doctors in the care team.".into()),
        ));
    }
    let mut diagnoses = Vec::new();
    blank_rows(&mut diagnoses);
    diagnoses.truncate(BLANK_DIAGNOSIS_ROWS);
    if let Some(first) = diagnoses.first_mut() {
        first.primary = true;
    }
    render(&EncounterFormPage {
        layout: Layout::new(&state, &actor, "New encounter", "/patients", csrf),
        patient_id: id.to_string(),
        kind: "consultation".into(),
        texts: text_inputs(&HashMap::new(), &ValidationErrors::new()),
        diagnoses,
        diagnoses_error: None,
        lookup: Icd10Lookup::search(&query.icd10),
        errors: ValidationErrors::new(),
    })
}

/// `POST /encounters/new`: creates the draft, then to its page; or the form again (422).
pub async fn create_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let patient = value(&pairs, "patient_id").trim().to_owned();
    let kind = value(&pairs, "kind").to_owned();
    let texts = texts_from(&pairs, None);
    let (mut rows, submitted) = diagnosis_rows(&pairs, "dx");
    let result = state
        .services
        .create_encounter(
            &actor,
            EncounterInput {
                patient_id: patient.clone(),
                appointment_id: blank(value(&pairs, "appointment_id")),
                kind: blank(&kind),
                texts: texts.clone(),
                diagnoses: submitted.iter().map(|(_, d)| d.clone()).collect(),
            },
        )
        .await;
    let errors = match result {
        Ok(view) => {
            return Ok(
                Redirect::to(&format!("/encounters/{}?notice=encounter-saved", view.id))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(other) => return Err(other.into()),
    };
    attach_diagnosis_errors(&mut rows, &submitted, "diagnoses", &errors);
    blank_rows(&mut rows);
    let mut response = render(&EncounterFormPage {
        layout: Layout::new(&state, &actor, "New encounter", "/patients", csrf),
        patient_id: patient,
        kind,
        texts: text_inputs(&texts, &errors),
        diagnoses: rows,
        diagnoses_error: errors.message_for("diagnoses").map(str::to_owned),
        lookup: Icd10Lookup::default(),
        errors,
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// The encounter page
// ---------------------------------------------------------------------------------------

/// Which of the page's forms the messages belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Which {
    #[default]
    None,
    Edit,
    Amend,
    Note,
    Vitals,
    Prescription,
}

/// A vitals input with its value and message.
#[derive(Debug, Clone)]
pub struct VitalInput {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "encounter.html")]
struct EncounterPage {
    layout: Layout,
    e: EncounterRow,
    may_edit: bool,
    may_sign: bool,
    may_amend: bool,
    may_add_note: bool,
    may_prescribe: bool,
    patient_href: Option<String>,
    /// The draft form.
    edit_kind: String,
    edit_texts: Vec<TextInput>,
    edit_diagnoses: Vec<DiagnosisFormRow>,
    /// The amendment form.
    amend_reason: String,
    amend_texts: Vec<TextInput>,
    amend_diagnoses: Vec<DiagnosisFormRow>,
    /// The note form.
    note_text: String,
    vitals: Vec<VitalInput>,
    rx: PrescriptionForm,
    rx_warnings: Vec<PrescriptionWarning>,
    /// The active formulary drugs offered in the prescription form: `(id, label)`.
    formulary: Vec<(String, String)>,
    prescriptions: Vec<PrescriptionRow>,
    lookup: Icd10Lookup,
    errors: ValidationErrors,
    which: Which,
    /// A message for the whole form named by `which`.
    form_error: Option<String>,
}

impl EncounterPage {
    fn is(&self, which: &str) -> bool {
        matches!(
            (self.which, which),
            (Which::Edit, "edit")
                | (Which::Amend, "amend")
                | (Which::Note, "note")
                | (Which::Vitals, "vitals")
                | (Which::Prescription, "rx")
        )
    }

    fn error(&self, which: &str, field: &str) -> Option<&str> {
        if self.is(which) {
            self.errors.message_for(field)
        } else {
            None
        }
    }
}

async fn build_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    view: EncounterView,
    notice_code: Option<&str>,
    icd10: &str,
) -> Result<EncounterPage, PageError> {
    let role = actor.role();
    let prescriptions = if matches!(
        role,
        Some(Role::Doctor | Role::Nurse | Role::Admin | Role::Patient)
    ) {
        state
            .services
            .list_prescriptions(actor, view.patient_id)
            .await?
            .iter()
            .filter(|p| p.encounter_id == view.id)
            .map(Into::into)
            .collect()
    } else {
        Vec::new()
    };
    let current: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| view.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    let mut edit_diagnoses: Vec<DiagnosisFormRow> = view
        .diagnoses
        .iter()
        .filter(|d| d.retracted_at.is_none())
        .enumerate()
        .map(|(index, d)| DiagnosisFormRow {
            index,
            primary: d.kind.as_str() == "primary",
            code: d.code.clone().unwrap_or_default(),
            text: if d.free_text {
                d.text.clone()
            } else {
                String::new()
            },
            free_text: d.free_text,
            error: None,
        })
        .collect();
    blank_rows(&mut edit_diagnoses);
    let mut amend_diagnoses = Vec::new();
    blank_rows(&mut amend_diagnoses);
    let title = format!("Encounter: {}", view.patient_label);
    let layout = Layout::new(state, actor, &title, "/patients", csrf)
        .with_notice(clinical_notice(notice_code));
    let is_staff = role.is_some_and(Role::is_staff);
    let may_prescribe = role == Some(Role::Doctor) && (view.may_edit || view.may_amend);
    let formulary = if may_prescribe {
        state
            .services
            .formulary_for_prescribing(actor)
            .await?
            .into_iter()
            .map(|d| {
                let label = format!("{} ({}) {} {}", d.name, d.generic_name, d.strength, d.form);
                (d.id, label)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(EncounterPage {
        layout,
        may_edit: view.may_edit,
        may_sign: view.may_sign,
        may_amend: view.may_amend,
        may_add_note: view.may_add_note,
        may_prescribe,
        patient_href: is_staff.then(|| format!("/patients/{}", view.patient_id)),
        edit_kind: view.kind.as_str().to_owned(),
        edit_texts: text_inputs(&current, &ValidationErrors::new()),
        edit_diagnoses,
        amend_reason: String::new(),
        amend_texts: text_inputs(&current, &ValidationErrors::new()),
        amend_diagnoses,
        note_text: String::new(),
        vitals: VITAL_FIELDS
            .iter()
            .map(|(name, label)| VitalInput {
                name,
                label,
                value: String::new(),
                error: None,
            })
            .collect(),
        rx: PrescriptionForm::default(),
        rx_warnings: Vec::new(),
        formulary,
        prescriptions,
        lookup: Icd10Lookup::search(icd10),
        errors: ValidationErrors::new(),
        which: Which::None,
        form_error: None,
        e: EncounterRow::from_view(&view),
    })
}

/// The notices of these pages (a fixed set: nothing from the URL is echoed).
fn clinical_notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "encounter-saved" => Some("The encounter has been saved as a draft."),
        "encounter-signed" => {
            Some("The encounter has been signed. Corrections are now amendments.")
        }
        "encounter-amended" => Some("The amendment has been recorded; the original stays visible."),
        "note-added" => Some("The treatment note has been added."),
        "vitals-recorded" => Some("The vitals have been recorded."),
        "prescription-written" => Some("The prescription has been written."),
        _ => None,
    }
}

fn encounter_id(raw: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("encounter"))
}

#[derive(Debug, Default, Deserialize)]
struct EncounterQuery {
    notice: Option<String>,
    icd10: Option<String>,
}

/// `GET /encounters/{id}[?icd10=…]`.
pub async fn encounter_page(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let query: EncounterQuery =
        query_params(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let view = state.services.get_encounter(&actor, &id).await?;
    let page = build_page(
        &state,
        &actor,
        csrf,
        view,
        query.notice.as_deref(),
        query.icd10.as_deref().unwrap_or_default(),
    )
    .await?;
    render(&page)
}

fn redirect(id: &str, notice: &str) -> Response {
    Redirect::to(&format!("/encounters/{id}?notice={notice}")).into_response()
}

/// Renders the page again after a refused form: 422 with the messages, 409 for a conflict.
async fn again(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: &str,
    which: Which,
    err: ServiceError,
    fill: impl FnOnce(&mut EncounterPage),
) -> Result<Response, PageError> {
    let (status, errors, form_error) = match err {
        ServiceError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        ServiceError::Conflict { message, .. } => {
            (StatusCode::CONFLICT, ValidationErrors::new(), Some(message))
        }
        other => return Err(other.into()),
    };
    let view = state.services.get_encounter(actor, id).await?;
    let mut page = build_page(state, actor, csrf, view, None, "").await?;
    page.which = which;
    page.errors = errors;
    page.form_error = form_error;
    fill(&mut page);
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /encounters/{id}/edit`: the author saves the draft.
pub async fn edit_draft(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let seen = value(&pairs, "seen")
        .trim()
        .parse::<i64>()
        .ok()
        .map(carevault_core::time::from_micros);
    let texts = texts_from(&pairs, None);
    let (mut rows, submitted) = diagnosis_rows(&pairs, "dx");
    let kind = value(&pairs, "kind").to_owned();
    let result = state
        .services
        .update_draft_encounter(
            &actor,
            &id,
            EncounterInput {
                patient_id: current.patient_id.to_string(),
                appointment_id: current.appointment_id.clone(),
                kind: blank(&kind),
                texts: texts.clone(),
                diagnoses: submitted.iter().map(|(_, d)| d.clone()).collect(),
            },
            seen,
        )
        .await;
    match result {
        Ok(_) => Ok(redirect(&id, "encounter-saved")),
        Err(err) => {
            let errors = match &err {
                ServiceError::Validation(e) => e.clone(),
                _ => ValidationErrors::new(),
            };
            attach_diagnosis_errors(&mut rows, &submitted, "diagnoses", &errors);
            blank_rows(&mut rows);
            again(&state, &actor, csrf, &id, Which::Edit, err, |page| {
                page.edit_kind = kind;
                page.edit_texts = text_inputs(&texts, &errors);
                page.edit_diagnoses = rows;
            })
            .await
        }
    }
}

/// `POST /encounters/{id}/sign`.
pub async fn sign(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    match state.services.sign_encounter(&actor, &id).await {
        Ok(_) => Ok(redirect(&id, "encounter-signed")),
        Err(err) => again(&state, &actor, csrf, &id, Which::Edit, err, |_| {}).await,
    }
}

/// `POST /encounters/{id}/amend`: a correction of a signed encounter, with a reason.
pub async fn amend(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let texts = texts_from(&pairs, Some(&current));
    let (mut rows, submitted) = diagnosis_rows(&pairs, "add");
    let retract: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "retract")
        .map(|(_, v)| v.clone())
        .collect();
    let reason = value(&pairs, "reason").to_owned();
    let result = state
        .services
        .amend_encounter(
            &actor,
            &id,
            AmendmentInput {
                reason: reason.clone(),
                texts: texts.clone(),
                add_diagnoses: submitted.iter().map(|(_, d)| d.clone()).collect(),
                retract_diagnoses: retract,
            },
        )
        .await;
    match result {
        Ok(_) => Ok(redirect(&id, "encounter-amended")),
        Err(err) => {
            let errors = match &err {
                ServiceError::Validation(e) => e.clone(),
                _ => ValidationErrors::new(),
            };
            attach_diagnosis_errors(&mut rows, &submitted, "add_diagnoses", &errors);
            blank_rows(&mut rows);
            let mut all = texts_from(&pairs, None);
            all.retain(|_, v| !v.is_empty());
            again(&state, &actor, csrf, &id, Which::Amend, err, |page| {
                page.amend_reason = reason;
                page.amend_texts = text_inputs(&all, &errors);
                page.amend_diagnoses = rows;
            })
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct NoteForm {
    #[serde(default)]
    text: String,
}

impl std::fmt::Debug for NoteForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteForm(…)")
    }
}

/// `POST /encounters/{id}/notes`: a treatment note (nurses and doctors in the care team).
pub async fn add_note(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    match state
        .services
        .add_treatment_note(&actor, &id, &form.text)
        .await
    {
        Ok(_) => Ok(redirect(&id, "note-added")),
        Err(err) => {
            again(&state, &actor, csrf, &id, Which::Note, err, |page| {
                page.note_text = form.text;
            })
            .await
        }
    }
}

/// `POST /encounters/{id}/vitals`: vitals on this open encounter.
pub async fn vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let get = |name: &str| blank(value(&pairs, name));
    let raw: Vec<Option<String>> = VITAL_FIELDS.iter().map(|(n, _)| get(n)).collect();
    let input = VitalsInput {
        temperature_c: raw[0].as_deref(),
        pulse_bpm: raw[1].as_deref(),
        systolic_mmhg: raw[2].as_deref(),
        diastolic_mmhg: raw[3].as_deref(),
        respiratory_rate: raw[4].as_deref(),
        spo2_percent: raw[5].as_deref(),
        weight_kg: raw[6].as_deref(),
        height_cm: raw[7].as_deref(),
    };
    match state
        .services
        .record_vitals(&actor, current.patient_id, Some(&id), &input)
        .await
    {
        Ok(_) => Ok(redirect(&id, "vitals-recorded")),
        Err(err) => {
            let errors = match &err {
                ServiceError::Validation(e) => e.clone(),
                _ => ValidationErrors::new(),
            };
            again(&state, &actor, csrf, &id, Which::Vitals, err, |page| {
                page.vitals = VITAL_FIELDS
                    .iter()
                    .zip(raw)
                    .map(|((name, label), v)| VitalInput {
                        name,
                        label,
                        value: v.unwrap_or_default(),
                        error: errors.message_for(name).map(str::to_owned),
                    })
                    .collect();
            })
            .await
        }
    }
}

/// `POST /encounters/{id}/prescriptions`: prescribes; warnings come back as a 409 page with
/// the acknowledgement field.
pub async fn prescribe(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<PrescriptionForm>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let result = state
        .services
        .prescribe(
            &actor,
            PrescriptionRequest {
                encounter_id: id.clone(),
                drug_id: blank(&form.drug_id),
                drug_name: form.drug_name.clone(),
                generic_name: blank(&form.generic_name),
                dose: form.dose.clone(),
                route: form.route.clone(),
                frequency: form.frequency.clone(),
                duration_days: form.duration_days.clone(),
                quantity: form.quantity.clone(),
                instructions: blank(&form.instructions),
                acknowledgement: blank(&form.acknowledgement),
            },
        )
        .await;
    match result {
        Ok(Prescribed::Written(_)) => Ok(redirect(&id, "prescription-written")),
        Ok(Prescribed::NeedsAcknowledgement(warnings)) => {
            let view = state.services.get_encounter(&actor, &id).await?;
            let mut page = build_page(&state, &actor, csrf, view, None, "").await?;
            page.which = Which::Prescription;
            page.rx = form;
            page.rx_warnings = warnings;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(err) => {
            again(
                &state,
                &actor,
                csrf,
                &id,
                Which::Prescription,
                err,
                |page| {
                    page.rx = form;
                },
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// The printable prescription
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "prescription_print.html")]
struct PrintPage {
    layout: Layout,
    p: PrescriptionRow,
}

/// `GET /prescriptions/{id}/print`.
pub async fn print_prescription(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = id
        .trim()
        .parse::<uuid::Uuid>()
        .map_err(|_| not_found("prescription"))?
        .to_string();
    let view = state.services.get_prescription(&actor, &id).await?;
    render(&PrintPage {
        layout: Layout::new(&state, &actor, "Prescription", "/patients", csrf),
        p: (&view).into(),
    })
}

// ---------------------------------------------------------------------------------------
// The patient portal
// ---------------------------------------------------------------------------------------

async fn own_record(state: &AppState, actor: &Actor) -> Result<Option<PatientId>, PageError> {
    if actor.role() != Some(Role::Patient) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            Some("These pages are for patients.".into()),
        ));
    }
    Ok(state
        .services
        .my_patient_record(actor)
        .await?
        .map(|details| details.id))
}

/// `GET /my/encounters`: the patient's own signed encounters (summary, diagnoses, plan).
pub async fn my_encounters(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    let (encounters, readings) = match own_record(&state, &actor).await? {
        Some(id) => (
            state.services.list_encounters(&actor, id).await?,
            state.services.list_vitals(&actor, id).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let (vitals_table, trends) = vitals_section(&state, &readings, "Your vitals, newest first");
    render(&ClinicalListPage {
        layout: Layout::new(&state, &actor, "My encounters", "/my/encounters", csrf),
        patient_href: None,
        new_encounter_href: None,
        encounters: encounters.iter().map(EncounterRow::from_view).collect(),
        prescriptions: None,
        portal: true,
        vitals_table,
        trends,
    })
}

/// `GET /my/prescriptions`: the patient's own prescriptions.
pub async fn my_prescriptions(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    let prescriptions = match own_record(&state, &actor).await? {
        Some(id) => state.services.list_prescriptions(&actor, id).await?,
        None => Vec::new(),
    };
    render(&ClinicalListPage {
        layout: Layout::new(
            &state,
            &actor,
            "My prescriptions",
            "/my/prescriptions",
            csrf,
        ),
        patient_href: None,
        new_encounter_href: None,
        encounters: Vec::new(),
        prescriptions: Some(prescriptions.iter().map(Into::into).collect()),
        portal: true,
        vitals_table: None,
        trends: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------
// The diagnoses report
// ---------------------------------------------------------------------------------------

fn diagnosis_range(
    state: &AppState,
    raw: Option<&str>,
) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(
        state,
        raw,
        |today| today - Duration::days(30),
        |_, today| today,
    )
}

/// One bar of the chart.
#[derive(Debug, Clone)]
pub struct ChartBar {
    pub y: u32,
    pub width: u32,
    pub label: String,
    pub count: u64,
    pub text_y: u32,
}

#[derive(Template)]
#[template(path = "diagnosis_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    total: u64,
    by_code: Vec<(String, String, u64)>,
    by_department: Vec<(String, u64)>,
    by_code_and_department: Vec<(String, String, u64)>,
    bars: Vec<ChartBar>,
    chart_height: u32,
    csv_href: String,
}

const CHART_BARS: usize = 15;

fn chart(by_code: &[(String, String, u64)]) -> (Vec<ChartBar>, u32) {
    let max = by_code.iter().map(|c| c.2).max().unwrap_or(1).max(1);
    let bars: Vec<ChartBar> = by_code
        .iter()
        .take(CHART_BARS)
        .enumerate()
        .map(|(i, (code, _, count))| {
            let y = 10 + u32::try_from(i).unwrap_or(0) * 28;
            ChartBar {
                y,
                width: u32::try_from(count * 440 / max).unwrap_or(440).max(2),
                label: code.clone(),
                count: *count,
                text_y: y + 15,
            }
        })
        .collect();
    let height = 20 + u32::try_from(bars.len()).unwrap_or(0) * 28;
    (bars, height)
}

/// `GET /reports/diagnoses?from=…&to=…` (administrators and doctors).
pub async fn diagnosis_report(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = diagnosis_range(&state, raw.as_deref());
    let report = if errors.is_empty() {
        match state.services.diagnosis_report(&actor, from, to).await {
            Ok(r) => Some(r),
            Err(ServiceError::Validation(e)) => {
                errors = e;
                None
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        // The role check still runs (and a refusal is recorded).
        state.services.diagnosis_report(&actor, from, from).await?;
        None
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let report = report.unwrap_or_default();
    let (bars, chart_height) = chart(&report.by_code);
    let mut response = render(&ReportPage {
        layout: Layout::new(
            &state,
            &actor,
            "Diagnoses report",
            "/reports/diagnoses",
            csrf,
        ),
        from: from.to_string(),
        to: to.to_string(),
        errors,
        total: report.total,
        by_code: report.by_code,
        by_department: report.by_department,
        by_code_and_department: report.by_code_and_department,
        bars,
        chart_height,
        csv_href: format!("/reports/diagnoses.csv?from={from}&to={to}"),
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /reports/diagnoses.csv?from=…&to=…`: `code,title,department,count`.
pub async fn diagnosis_report_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = diagnosis_range(&state, raw.as_deref());
    if !errors.is_empty() {
        state.services.diagnosis_report(&actor, from, from).await?;
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(errors.to_string()),
        ));
    }
    let report = state.services.diagnosis_report(&actor, from, to).await?;
    let titles: HashMap<&str, &str> = report
        .by_code
        .iter()
        .map(|(c, t, _)| (c.as_str(), t.as_str()))
        .collect();
    let mut rows: Vec<[String; 4]> = vec![[
        "code".into(),
        "title".into(),
        "department".into(),
        "count".into(),
    ]];
    for (code, department, count) in &report.by_code_and_department {
        rows.push([
            code.clone(),
            titles
                .get(code.as_str())
                .copied()
                .unwrap_or_default()
                .to_owned(),
            department.clone(),
            count.to_string(),
        ]);
    }
    csv_download(&format!("diagnoses-{from}-{to}.csv"), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn diagnosis_rows_skip_blanks_and_messages_find_their_row() {
        let form = pairs(&[
            ("dx0_kind", "primary"),
            ("dx0_code", ""),
            ("dx1_kind", "secondary"),
            ("dx1_code", "QQQ"),
            ("dx2_code", ""),
            ("dx2_text", "Worried"),
            ("dx2_free", "on"),
        ]);
        let (mut rows, submitted) = diagnosis_rows(&form, "dx");
        assert_eq!(rows.len(), 3);
        assert_eq!(submitted.len(), 2);
        assert_eq!(submitted[0].0, 1);
        assert!(submitted[1].1.free_text);
        let errors = ValidationErrors::single("diagnoses[0].code", "is not a known code");
        attach_diagnosis_errors(&mut rows, &submitted, "diagnoses", &errors);
        assert!(
            rows[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("known"))
        );
        assert!(rows[0].error.is_none());
    }

    #[test]
    fn the_chart_scales_to_the_largest_count() {
        let (bars, height) = chart(&[
            ("E11.9".into(), "x".into(), 4),
            ("I10".into(), "y".into(), 2),
        ]);
        assert_eq!(bars[0].width, 440);
        assert_eq!(bars[1].width, 220);
        assert_eq!(height, 76);
    }
}
