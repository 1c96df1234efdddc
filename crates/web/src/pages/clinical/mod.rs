//! Clinical record pages: a patient's encounters and prescriptions (`/patients/{id}/clinical`,
//! linked from the patient page), the encounter page, the printable prescription, the
//! patient portal (`/my/encounters`, `/my/prescriptions`) and the diagnoses report with its
//! SVG chart and CSV. A draft its author may edit is the one encounter form
//! ([`super::encounter_form`]); every other encounter page shows what was recorded once —
//! texts, diagnoses, appointment, vitals, prescriptions with the warnings overridden and
//! why, notes and amendments — with the nurses' note and vitals forms on an open encounter,
//! and, on a signed one, the amendment and prescription forms folded away.
//!
//! The service decides who may read and write; these handlers parse forms, call one use case,
//! and redirect (303) or render the page again with the messages next to their fields (422,
//! 409 for a warning that needs an acknowledgement or a signed encounter). Which forms are
//! offered follows the `may_*` flags the service computed: presentation only.

use carevault_core::Action;
use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use carevault_core::{PatientId, Role, ValidationErrors};
use carevault_service::encounters::{
    AmendmentInput, DiagnosisInput, EncounterView, TEXT_FIELDS, VitalsSubmission,
};
use carevault_service::prescriptions::{
    Prescribed, PrescriptionRequest, PrescriptionView, PrescriptionWarning,
};

use super::encounter_form;
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
            &[("GET", Action::SeeMedication)],
            "/patients/{id}/clinical",
            Page,
            get(patient_clinical),
        )
        .add(
            &[
                ("GET", Action::WriteEncounters),
                ("POST", Action::WriteEncounters),
            ],
            "/encounters/new",
            Page,
            get(encounter_form::new_form).post(encounter_form::submit_new),
        )
        .add(
            &[("GET", Action::SeeClinical)],
            "/encounters/{id}",
            Page,
            get(encounter_page),
        )
        .add(
            &[("POST", Action::WriteEncounters)],
            "/encounters/{id}/edit",
            Page,
            post(encounter_form::submit_draft),
        )
        .add(
            &[("POST", Action::WriteEncounters)],
            "/appointments/{id}/start",
            Page,
            post(encounter_form::start_appointment),
        )
        .add(
            &[("POST", Action::WriteEncounters)],
            "/encounters/{id}/amend",
            Page,
            post(amend),
        )
        .add(
            &[("POST", Action::WriteClinicalNotes)],
            "/encounters/{id}/notes",
            Page,
            post(add_note),
        )
        .add(
            &[("POST", Action::WriteClinicalNotes)],
            "/encounters/{id}/vitals",
            Page,
            post(vitals),
        )
        .add(
            &[("POST", Action::Prescribe)],
            "/encounters/{id}/prescriptions",
            Page,
            post(prescribe),
        )
        .add(
            &[("GET", Action::SeeMedication)],
            "/prescriptions/{id}/print",
            Page,
            get(print_prescription),
        )
        .add(
            &[("GET", Action::UsePortal)],
            "/my/encounters",
            Page,
            get(my_encounters),
        )
        .add(
            &[("GET", Action::UsePortal)],
            "/my/prescriptions",
            Page,
            get(my_prescriptions),
        )
        .add(
            &[("GET", Action::ClinicalReports)],
            "/reports/diagnoses",
            Page,
            get(diagnosis_report),
        )
        .add(
            &[("GET", Action::ClinicalReports)],
            "/reports/diagnoses.csv",
            Page,
            get(diagnosis_report_csv),
        )
}

pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn text_label(field: &str) -> &'static str {
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

pub(crate) const VITAL_FIELDS: [(&str, &str); 8] = [
    ("temperature_c", "Temperature (°C)"),
    ("pulse_bpm", "Pulse (/min)"),
    ("systolic_mmhg", "Systolic BP (mmHg)"),
    ("diastolic_mmhg", "Diastolic BP (mmHg)"),
    ("respiratory_rate", "Respiratory rate (/min)"),
    ("spo2_percent", "SpO₂ (%)"),
    ("weight_kg", "Weight (kg)"),
    ("height_cm", "Height (cm)"),
];

/// A submitted form as name/value pairs (the diagnosis rows have numbered names).
pub(crate) type Pairs = Vec<(String, String)>;

pub(crate) fn value<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
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

/// The appointment an encounter belongs to, as its page shows it.
#[derive(Debug, Clone)]
pub struct AppointmentFacts {
    pub href: String,
    pub when: String,
    pub department: String,
    pub kind: &'static str,
    pub status: String,
    pub may_complete: bool,
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
    /// The encounter's vitals, flagged (`None`: none recorded).
    pub vitals_table: Option<crate::vitals_table::VitalsTable>,
    pub appointment: Option<AppointmentFacts>,
    /// The version the draft form was drawn from (`updated_at` in microseconds).
    pub version: i64,
}

impl EncounterRow {
    pub(crate) fn from_view(e: &EncounterView) -> Self {
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
            vitals_table: (!e.vitals.is_empty()).then(|| {
                crate::vitals_table::VitalsTable::new(
                    &format!("encounter-vitals-{}", e.id),
                    "Vitals recorded on this encounter",
                    &e.vitals,
                    chrono_tz::UTC,
                )
            }),
            appointment: e.appointment.as_ref().map(|a| AppointmentFacts {
                href: format!("/appointments/{}", a.id),
                when: format!(
                    "{}–{} UTC",
                    a.start.format("%Y-%m-%d %H:%M"),
                    a.end.format("%H:%M")
                ),
                department: a.department.clone(),
                kind: match a.kind.as_str() {
                    "follow_up" => "Follow-up",
                    "procedure" => "Procedure",
                    _ => "Consultation",
                },
                status: a.status.as_str().replace('_', " "),
                may_complete: a.may_complete,
            }),
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
    /// The warnings overridden when it was written: (kind, what matched).
    pub warnings: Vec<(String, String)>,
    /// The prescriber's reason for overriding them.
    pub override_reason: Option<String>,
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
            warnings: p
                .warnings
                .iter()
                .map(|w| (warning_label(&w.kind).to_owned(), w.detail.clone()))
                .collect(),
            override_reason: p.acknowledgement.clone(),
            created_at: time(p.created_at),
        }
    }
}

/// A warning's kind in words.
pub(crate) fn warning_label(kind: &str) -> &'static str {
    match kind {
        "allergy" => "Allergy",
        "duplicate" => "Already prescribed",
        _ => "Warning",
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
    /// The code's title, when the code is one of the list.
    pub title: String,
    pub text: String,
    pub free_text: bool,
    pub error: Option<String>,
}

impl DiagnosisFormRow {
    /// Whether nothing was typed in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.code.trim().is_empty() && self.text.trim().is_empty()
    }
}

/// The title of `code`, if it is one of the list.
pub(crate) fn code_title(code: &str) -> String {
    carevault_core::icd10::lookup(code)
        .map(|c| c.title.to_owned())
        .unwrap_or_default()
}

pub(crate) const BLANK_DIAGNOSIS_ROWS: usize = 2;

/// Reads the numbered diagnosis rows `{prefix}{i}_kind|code|text|free`; blank rows are
/// skipped. Returns the rows (for showing the form again) and the inputs with their row.
pub(crate) fn diagnosis_rows(
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
        let code = value(pairs, &name("code")).trim().to_owned();
        let row = DiagnosisFormRow {
            index,
            primary: value(pairs, &name("kind")) == "primary",
            title: code_title(&code),
            code,
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
pub(crate) fn attach_diagnosis_errors(
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

pub(crate) fn blank_rows(rows: &mut Vec<DiagnosisFormRow>) {
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

pub(crate) fn text_inputs(
    values: &HashMap<String, String>,
    errors: &ValidationErrors,
) -> Vec<TextInput> {
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

pub(crate) fn texts_from(
    pairs: &Pairs,
    only_changed_from: Option<&EncounterView>,
) -> HashMap<String, String> {
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
    pub(crate) fn search(query: &str) -> Self {
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

/// The prescription form's values (named as here in the prescription form of a signed
/// encounter, and with an `rx_` prefix in the encounter form).
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

impl PrescriptionForm {
    /// The fields named `{prefix}drug_name` … of a submitted form.
    pub(crate) fn from_pairs(pairs: &Pairs, prefix: &str) -> Self {
        let get = |name: &str| value(pairs, &format!("{prefix}{name}")).to_owned();
        Self {
            drug_id: get("drug_id"),
            drug_name: get("drug_name"),
            generic_name: get("generic_name"),
            dose: get("dose"),
            route: get("route"),
            frequency: get("frequency"),
            duration_days: get("duration_days"),
            quantity: get("quantity"),
            instructions: get("instructions"),
            acknowledgement: get("acknowledgement"),
        }
    }

    /// Whether no prescription was typed (the acknowledgement alone is not one).
    pub(crate) fn is_blank(&self) -> bool {
        [
            &self.drug_id,
            &self.drug_name,
            &self.generic_name,
            &self.dose,
            &self.route,
            &self.frequency,
            &self.duration_days,
            &self.quantity,
            &self.instructions,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    /// The request for the service.
    pub(crate) fn request(&self, encounter_id: &str) -> PrescriptionRequest {
        PrescriptionRequest {
            encounter_id: encounter_id.to_owned(),
            drug_id: blank(&self.drug_id),
            drug_name: self.drug_name.clone(),
            generic_name: blank(&self.generic_name),
            dose: self.dose.clone(),
            route: self.route.clone(),
            frequency: self.frequency.clone(),
            duration_days: self.duration_days.clone(),
            quantity: self.quantity.clone(),
            instructions: blank(&self.instructions),
            acknowledgement: blank(&self.acknowledgement),
        }
    }
}

/// A prescription fieldset as shown: the values and the messages beside them.
#[derive(Debug, Clone, Default)]
pub struct RxFields {
    pub values: PrescriptionForm,
    /// (field, message), the fields named as in a prescription request (`drug_name`).
    pub errors: Vec<(String, String)>,
}

impl RxFields {
    /// The fields with the messages of `errors` whose field starts with `prefix`.
    pub(crate) fn with_errors(
        values: PrescriptionForm,
        errors: &ValidationErrors,
        prefix: &str,
    ) -> Self {
        Self {
            values,
            errors: errors
                .0
                .iter()
                .filter_map(|e| {
                    e.field
                        .strip_prefix(prefix)
                        .map(|f| (f.to_owned(), e.message.clone()))
                })
                .collect(),
        }
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The active formulary drugs a doctor may prescribe from: `(id, label)`.
pub(crate) async fn formulary(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(state
        .services
        .formulary_for_prescribing(actor)
        .await?
        .into_iter()
        .map(|d| {
            let label = format!("{} ({}) {} {}", d.name, d.generic_name, d.strength, d.form);
            (d.id, label)
        })
        .collect())
}

pub(crate) fn blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A vitals input with its value and message.
#[derive(Debug, Clone)]
pub struct VitalInput {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// The vitals inputs of a submitted form (fields named as in [`VITAL_FIELDS`]), with the
/// messages of `errors` under `prefix` (`vitals.` in the encounter form).
pub(crate) fn vital_inputs(
    pairs: &Pairs,
    errors: &ValidationErrors,
    prefix: &str,
) -> Vec<VitalInput> {
    VITAL_FIELDS
        .iter()
        .map(|(name, label)| VitalInput {
            name,
            label,
            value: value(pairs, name).trim().to_owned(),
            error: errors
                .message_for(&format!("{prefix}{name}"))
                .map(str::to_owned),
        })
        .collect()
}

/// The raw vitals of a submitted form, for the service.
pub(crate) fn vitals_submission(pairs: &Pairs) -> VitalsSubmission {
    let get = |name: &str| blank(value(pairs, name));
    VitalsSubmission {
        temperature_c: get("temperature_c"),
        pulse_bpm: get("pulse_bpm"),
        systolic_mmhg: get("systolic_mmhg"),
        diastolic_mmhg: get("diastolic_mmhg"),
        respiratory_rate: get("respiratory_rate"),
        spo2_percent: get("spo2_percent"),
        weight_kg: get("weight_kg"),
        height_cm: get("height_cm"),
    }
}

/// What a submit button of a form with a lookup asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormAction {
    Save,
    Sign,
    /// Search the ICD-10 list; nothing is saved.
    Lookup,
    /// Put this code into the first empty diagnosis row; nothing is saved.
    Use(String),
}

pub(crate) fn form_action(pairs: &Pairs) -> FormAction {
    match value(pairs, "action").trim() {
        "sign" => FormAction::Sign,
        "lookup" => FormAction::Lookup,
        other => match other.strip_prefix("use:") {
            Some(code) => FormAction::Use(code.trim().to_owned()),
            None => FormAction::Save,
        },
    }
}

/// Puts `code` into the first empty row (a new row if none is empty).
pub(crate) fn use_code(rows: &mut Vec<DiagnosisFormRow>, code: &str) {
    let title = code_title(code);
    let code =
        carevault_core::icd10::lookup(code).map_or_else(|| code.to_owned(), |c| c.code.to_owned());
    match rows.iter_mut().find(|r| r.is_empty()) {
        Some(row) => {
            row.code = code;
            row.title = title;
            row.free_text = false;
        }
        None => {
            let index = rows.iter().map(|r| r.index + 1).max().unwrap_or(0);
            rows.push(DiagnosisFormRow {
                index,
                primary: rows.is_empty(),
                code,
                title,
                ..DiagnosisFormRow::default()
            });
        }
    }
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
    let layout = crate::pages::banner::with_banner(
        &state,
        &actor,
        Layout::new(&state, &actor, &title, "/patients", csrf),
        id,
    )
    .await?;
    render(&ClinicalListPage {
        layout,
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
// The encounter page (what was recorded, once)
// ---------------------------------------------------------------------------------------

/// Which of the page's forms the messages belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Which {
    #[default]
    None,
    Amend,
    Note,
    Vitals,
    Prescription,
}

#[derive(Template)]
#[template(path = "encounter.html")]
struct EncounterPage {
    layout: Layout,
    e: EncounterRow,
    may_amend: bool,
    may_add_note: bool,
    may_prescribe: bool,
    /// Offer "Add to problem list" beside each current diagnosis.
    may_add_problem: bool,
    patient_href: Option<String>,
    /// The amendment form (folded unless it is being corrected).
    amend_reason: String,
    amend_texts: Vec<TextInput>,
    amend_diagnoses: Vec<DiagnosisFormRow>,
    /// The note form.
    note_text: String,
    vitals: Vec<VitalInput>,
    /// The prescription form (folded unless it is being corrected).
    rx: RxFields,
    rx_warnings: Vec<PrescriptionWarning>,
    formulary: Vec<(String, String)>,
    prescriptions: Vec<PrescriptionRow>,
    lookup: Icd10Lookup,
    errors: ValidationErrors,
    which: Which,
    /// A message for the whole form named by `which`.
    form_error: Option<String>,
    /// The page holds typed values that are not saved (the script asks before leaving).
    unsaved: bool,
    /// The addenda of a signed encounter and the form to add one.
    addenda: crate::pages::nursing::AddendaPanel,
}

impl EncounterPage {
    fn is(&self, which: &str) -> bool {
        matches!(
            (self.which, which),
            (Which::Amend, "amend")
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

    /// The drug the warnings are about.
    fn warned_drug(&self) -> &str {
        &self.rx.values.drug_name
    }

    fn warning_label(&self, kind: &str) -> &'static str {
        warning_label(kind)
    }
}

async fn build_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    view: EncounterView,
    notice_code: Option<&str>,
) -> Result<EncounterPage, PageError> {
    let role = actor.role();
    let prescriptions = encounter_prescriptions(state, actor, &view).await?;
    let current: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| view.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    let mut amend_diagnoses = Vec::new();
    blank_rows(&mut amend_diagnoses);
    let title = format!("Encounter: {}", view.patient_label);
    let layout = crate::pages::banner::with_banner(
        state,
        actor,
        Layout::new(state, actor, &title, "/patients", csrf)
            .with_notice(clinical_notice(notice_code)),
        view.patient_id,
    )
    .await?;
    let is_staff = role.is_some_and(Role::is_staff);
    let may_prescribe = role == Some(Role::Doctor) && view.may_amend;
    let formulary = if may_prescribe {
        formulary(state, actor).await?
    } else {
        Vec::new()
    };
    Ok(EncounterPage {
        layout,
        may_amend: view.may_amend,
        may_add_note: view.may_add_note,
        may_prescribe,
        may_add_problem: view.may_amend,
        patient_href: is_staff.then(|| format!("/patients/{}", view.patient_id)),
        amend_reason: String::new(),
        amend_texts: text_inputs(&current, &ValidationErrors::new()),
        amend_diagnoses,
        note_text: String::new(),
        vitals: vital_inputs(&Vec::new(), &ValidationErrors::new(), ""),
        rx: RxFields::default(),
        rx_warnings: Vec::new(),
        formulary,
        prescriptions,
        lookup: Icd10Lookup::default(),
        errors: ValidationErrors::new(),
        which: Which::None,
        form_error: None,
        unsaved: false,
        addenda: crate::pages::nursing::AddendaPanel::new(
            state,
            &view.id,
            &view.addenda,
            view.may_add_addendum,
        ),
        e: EncounterRow::from_view(&view),
    })
}

/// The prescriptions written from an encounter, for those who read them with it.
pub(crate) async fn encounter_prescriptions(
    state: &AppState,
    actor: &Actor,
    view: &EncounterView,
) -> Result<Vec<PrescriptionRow>, PageError> {
    if !matches!(
        actor.role(),
        Some(Role::Doctor | Role::Nurse | Role::Admin | Role::Patient)
    ) {
        return Ok(Vec::new());
    }
    Ok(state
        .services
        .list_prescriptions(actor, view.patient_id)
        .await?
        .iter()
        .filter(|p| p.encounter_id == view.id)
        .map(Into::into)
        .collect())
}

/// The notices of these pages (a fixed set: nothing from the URL is echoed).
pub(crate) fn clinical_notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "encounter-saved" => Some("The encounter has been saved as a draft."),
        "encounter-saved-rx" => {
            Some("The encounter has been saved as a draft and the prescription written.")
        }
        "encounter-signed" => {
            Some("The encounter has been signed. Corrections are now amendments.")
        }
        "encounter-signed-completed" => Some(
            "The encounter has been signed and the appointment completed. Corrections are now amendments.",
        ),
        "encounter-amended" => Some("The amendment has been recorded; the original stays visible."),
        "note-added" => Some("The treatment note has been added."),
        "vitals-recorded" => Some("The vitals have been recorded."),
        "prescription-written" => Some("The prescription has been written."),
        // Notices shared with other pages (added to the problem list, an addendum, …).
        other => crate::pages::notice(Some(other)),
    }
}

pub(crate) fn encounter_id(raw: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("encounter"))
}

#[derive(Debug, Default, Deserialize)]
struct EncounterQuery {
    notice: Option<String>,
}

/// `GET /encounters/{id}`: the one form for its author's draft; what was recorded for
/// everyone else and once signed.
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
    if view.may_edit {
        return encounter_form::draft_page(&state, &actor, csrf, view, query.notice.as_deref())
            .await;
    }
    let page = build_page(&state, &actor, csrf, view, query.notice.as_deref()).await?;
    render(&page)
}

pub(crate) fn redirect(id: &str, notice: &str) -> Response {
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
    let mut page = build_page(state, actor, csrf, view, None).await?;
    page.which = which;
    page.errors = errors;
    page.form_error = form_error;
    page.unsaved = true;
    fill(&mut page);
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /encounters/{id}/amend`: a correction of a signed encounter, with a reason. Its
/// "Look up" and "Use …" buttons search the ICD-10 list and fill a row, saving nothing.
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
    let mut all = texts_from(&pairs, None);
    all.retain(|_, v| !v.is_empty());
    let action = form_action(&pairs);
    if matches!(action, FormAction::Lookup | FormAction::Use(_)) {
        if let FormAction::Use(code) = &action {
            use_code(&mut rows, code);
        }
        if rows.iter().all(|r| !r.is_empty()) {
            blank_rows(&mut rows);
        }
        let mut page = build_page(&state, &actor, csrf, current, None).await?;
        page.which = Which::Amend;
        page.unsaved = true;
        page.amend_reason = reason;
        page.amend_texts = text_inputs(&all, &ValidationErrors::new());
        page.amend_diagnoses = rows;
        page.lookup = Icd10Lookup::search(value(&pairs, "icd10"));
        return render(&page);
    }
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

/// `POST /encounters/{id}/vitals`: vitals on this open encounter (the care team's nurses;
/// the author records them with the draft's form).
pub async fn vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let raw = vitals_submission(&pairs);
    match state
        .services
        .record_vitals(&actor, current.patient_id, Some(&id), &raw.input())
        .await
    {
        Ok(_) => Ok(redirect(&id, "vitals-recorded")),
        Err(err) => {
            let errors = match &err {
                ServiceError::Validation(e) => e.clone(),
                _ => ValidationErrors::new(),
            };
            again(&state, &actor, csrf, &id, Which::Vitals, err, |page| {
                page.vitals = vital_inputs(&pairs, &errors, "");
            })
            .await
        }
    }
}

/// `POST /encounters/{id}/prescriptions`: prescribes from a signed encounter; warnings
/// come back as a 409 page with the warning box, and the acknowledgement field in it, at the
/// top.
pub async fn prescribe(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    Form(form): Form<PrescriptionForm>,
) -> Result<Response, PageError> {
    let id = encounter_id(&id)?;
    let result = state.services.prescribe(&actor, form.request(&id)).await;
    match result {
        Ok(Prescribed::Written(_)) => Ok(redirect(&id, "prescription-written")),
        Ok(Prescribed::NeedsAcknowledgement(warnings)) => {
            let view = state.services.get_encounter(&actor, &id).await?;
            let mut page = build_page(&state, &actor, csrf, view, None).await?;
            page.which = Which::Prescription;
            page.unsaved = true;
            page.rx = RxFields::with_errors(form, &ValidationErrors::new(), "");
            page.rx_warnings = warnings;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(err) => {
            let errors = match &err {
                ServiceError::Validation(e) => e.clone(),
                _ => ValidationErrors::new(),
            };
            again(
                &state,
                &actor,
                csrf,
                &id,
                Which::Prescription,
                err,
                |page| {
                    page.rx = RxFields::with_errors(form, &errors, "");
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
    let layout = Layout::new(&state, &actor, "Prescription", "/patients", csrf);
    render(&PrintPage {
        layout: crate::pages::banner::with_banner(&state, &actor, layout, view.patient_id).await?,
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
        layout: crate::pages::banner::with_own_banner(
            &state,
            &actor,
            Layout::new(&state, &actor, "My encounters", "/my/encounters", csrf),
        )
        .await?,
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
        layout: crate::pages::banner::with_own_banner(
            &state,
            &actor,
            Layout::new(
                &state,
                &actor,
                "My prescriptions",
                "/my/prescriptions",
                csrf,
            ),
        )
        .await?,
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
