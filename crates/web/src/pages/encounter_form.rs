//! The encounter form: a new encounter (`/encounters/new`) and its author's draft
//! (`/encounters/{id}`) are ONE form — type, the five texts, diagnoses, a vitals fieldset and
//! a prescription fieldset — whose buttons all send everything typed:
//!
//! - "Save draft" and "Sign" call `Services::save_encounter` once: everything is written in
//!   one transaction (vitals when a value is given, the prescription when one is typed, the
//!   appointment completed when "Complete the appointment" is ticked), or nothing is;
//! - a prescription warning comes back as the same form (409) with every value kept and the
//!   warning box — the allergy and the drug, and the acknowledgement field — at the top
//!   (`#prescription-warnings`, `role="alert"`, focused by the script);
//! - "Look up" and each "Use A09 — …" result are submit buttons of the same form: the page
//!   comes back with every value kept and the results listed, and nothing is saved. With
//!   scripts, `assets/encounter.js` offers type-ahead on each diagnosis row instead
//!   (`GET /api/v1/icd10`), and asks before leaving a page with unsaved changes.
//!
//! Also here: "Start" on the doctor's day (`POST /appointments/{id}/start`), which opens the
//! appointment's encounter (creating the draft the first time) and goes to its form.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::time::from_micros;
use carevault_core::{AppointmentId, ValidationErrors};
use carevault_service::encounters::{
    DiagnosisInput, DraftOf, DraftSaved, DraftSubmission, EncounterView, TEXT_FIELDS,
};
use carevault_service::prescriptions::PrescriptionWarning;
use carevault_service::{Actor, ServiceError};
use serde::Deserialize;

use super::clinical::{
    BLANK_DIAGNOSIS_ROWS, DiagnosisFormRow, EncounterRow, FormAction, Icd10Lookup, Pairs,
    PrescriptionForm, PrescriptionRow, RxFields, TextInput, VitalInput, attach_diagnosis_errors,
    blank, blank_rows, clinical_notice, code_title, diagnosis_rows, encounter_id,
    encounter_prescriptions, form_action, formulary, text_inputs, texts_from, use_code, value,
    vital_inputs, vitals_submission, warning_label,
};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::{Layout, PageRequest, not_found, path_patient_id, render};

/// The prefix of the prescription fields in the form (`rx_drug_name`).
const RX: &str = "rx_";

#[derive(Template)]
#[template(path = "encounter_form.html")]
pub(crate) struct EncounterFormPage {
    layout: Layout,
    /// Where the form posts.
    action: String,
    /// A new encounter: its patient and appointment, sent back with the form.
    new_for: Option<(String, String)>,
    /// The version the form was drawn from (a draft's).
    version: String,
    /// The stored draft: its facts, appointment and what was recorded on it.
    e: Option<EncounterRow>,
    patient_href: String,
    kind: String,
    texts: Vec<TextInput>,
    diagnoses: Vec<DiagnosisFormRow>,
    lookup: Icd10Lookup,
    vitals: Vec<VitalInput>,
    /// The prescriptions already written from this draft.
    prescriptions: Vec<PrescriptionRow>,
    rx: RxFields,
    formulary: Vec<(String, String)>,
    /// The prescription's warnings, when the save stopped on them.
    warnings: Vec<PrescriptionWarning>,
    acknowledgement_error: Option<String>,
    /// The button that was used was "Sign".
    signing: bool,
    /// "Complete the appointment" with signing: `None` when not offered, else ticked or not.
    complete: Option<bool>,
    errors: ValidationErrors,
    /// A message for the whole form (a conflict).
    form_error: Option<String>,
    /// The page holds typed values that are not saved (the script asks before leaving).
    unsaved: bool,
}

impl EncounterFormPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }

    /// The drug the warnings are about.
    fn warned_drug(&self) -> &str {
        &self.rx.values.drug_name
    }

    fn warning_label(&self, kind: &str) -> &'static str {
        warning_label(kind)
    }

    /// Messages that have no field of their own on this form.
    fn other_errors(&self) -> Vec<String> {
        self.errors
            .0
            .iter()
            .filter(|e| matches!(e.field.as_str(), "patient_id" | "appointment_id"))
            .map(|e| format!("{} {}.", field_name(&e.field), e.message))
            .collect()
    }
}

fn field_name(field: &str) -> &'static str {
    match field {
        "patient_id" => "Patient",
        "appointment_id" => "Appointment",
        _ => "Field",
    }
}

/// Everything typed into the form.
struct Typed {
    kind: String,
    texts: HashMap<String, String>,
    rows: Vec<DiagnosisFormRow>,
    submitted: Vec<(usize, DiagnosisInput)>,
    rx: PrescriptionForm,
    complete: bool,
    /// The version the form was drawn from, as sent.
    seen: String,
    icd10: String,
}

impl Typed {
    fn from_pairs(pairs: &Pairs) -> Self {
        let (rows, submitted) = diagnosis_rows(pairs, "dx");
        Self {
            kind: value(pairs, "kind").to_owned(),
            texts: texts_from(pairs, None),
            rows,
            submitted,
            rx: PrescriptionForm::from_pairs(pairs, RX),
            complete: !value(pairs, "complete_appointment").is_empty(),
            seen: value(pairs, "seen").trim().to_owned(),
            icd10: value(pairs, "icd10").to_owned(),
        }
    }

    fn submission(&self, pairs: &Pairs, sign: bool) -> DraftSubmission {
        DraftSubmission {
            kind: blank(&self.kind),
            texts: self.texts.clone(),
            diagnoses: self.submitted.iter().map(|(_, d)| d.clone()).collect(),
            vitals: vitals_submission(pairs),
            prescription: (!self.rx.is_blank()).then(|| self.rx.request("")),
            sign,
            complete_appointment: self.complete,
            seen_version: self.seen.parse::<i64>().ok().map(from_micros),
        }
    }
}

/// The page of a new encounter for `patient`.
async fn new_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    patient: carevault_core::PatientId,
    appointment: String,
    formulary: Vec<(String, String)>,
) -> Result<EncounterFormPage, PageError> {
    let layout = crate::pages::banner::with_banner(
        state,
        actor,
        Layout::new(state, actor, "New encounter", "/patients", csrf),
        patient,
    )
    .await?;
    let patient = patient.to_string();
    let mut diagnoses = Vec::new();
    blank_rows(&mut diagnoses);
    diagnoses.truncate(BLANK_DIAGNOSIS_ROWS);
    if let Some(first) = diagnoses.first_mut() {
        first.primary = true;
    }
    Ok(EncounterFormPage {
        layout,
        action: "/encounters/new".into(),
        patient_href: format!("/patients/{patient}"),
        new_for: Some((patient, appointment)),
        version: String::new(),
        e: None,
        kind: "consultation".into(),
        texts: text_inputs(&HashMap::new(), &ValidationErrors::new()),
        diagnoses,
        lookup: Icd10Lookup::default(),
        vitals: vital_inputs(&Vec::new(), &ValidationErrors::new(), "vitals."),
        prescriptions: Vec::new(),
        rx: RxFields::default(),
        formulary,
        warnings: Vec::new(),
        acknowledgement_error: None,
        signing: false,
        complete: None,
        errors: ValidationErrors::new(),
        form_error: None,
        unsaved: false,
    })
}

/// The form of `view`, a draft, with its stored values.
async fn stored_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    view: &EncounterView,
) -> Result<EncounterFormPage, PageError> {
    let prescriptions = encounter_prescriptions(state, actor, view).await?;
    let formulary = formulary(state, actor).await?;
    let current: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| view.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    let mut diagnoses: Vec<DiagnosisFormRow> = view
        .diagnoses
        .iter()
        .filter(|d| d.retracted_at.is_none())
        .enumerate()
        .map(|(index, d)| DiagnosisFormRow {
            index,
            primary: d.kind.as_str() == "primary",
            code: d.code.clone().unwrap_or_default(),
            title: d.code.as_deref().map(code_title).unwrap_or_default(),
            text: if d.free_text {
                d.text.clone()
            } else {
                String::new()
            },
            free_text: d.free_text,
            error: None,
        })
        .collect();
    blank_rows(&mut diagnoses);
    if let Some(first) = diagnoses.first_mut()
        && view.diagnoses.is_empty()
    {
        first.primary = true;
    }
    let e = EncounterRow::from_view(view);
    let complete = e
        .appointment
        .as_ref()
        .and_then(|a| a.may_complete.then_some(true));
    let layout = Layout::new(
        state,
        actor,
        &format!("Encounter: {}", view.patient_label),
        "/patients",
        csrf,
    );
    Ok(EncounterFormPage {
        layout: crate::pages::banner::with_banner(state, actor, layout, view.patient_id).await?,
        action: format!("/encounters/{}/edit", view.id),
        new_for: None,
        version: e.version.to_string(),
        patient_href: format!("/patients/{}", view.patient_id),
        kind: view.kind.as_str().to_owned(),
        texts: text_inputs(&current, &ValidationErrors::new()),
        diagnoses,
        lookup: Icd10Lookup::default(),
        vitals: vital_inputs(&Vec::new(), &ValidationErrors::new(), "vitals."),
        prescriptions,
        rx: RxFields::default(),
        formulary,
        warnings: Vec::new(),
        acknowledgement_error: None,
        signing: false,
        complete,
        errors: ValidationErrors::new(),
        form_error: None,
        unsaved: false,
        e: Some(e),
    })
}

/// Puts what was typed (and the messages about it) into `page`.
fn fill_typed(page: &mut EncounterFormPage, typed: Typed, pairs: &Pairs, errors: ValidationErrors) {
    let Typed {
        kind,
        texts,
        mut rows,
        submitted,
        rx,
        complete,
        seen,
        icd10: _,
    } = typed;
    attach_diagnosis_errors(&mut rows, &submitted, "diagnoses", &errors);
    if rows.iter().all(|r| !r.is_empty()) {
        blank_rows(&mut rows);
    }
    page.kind = if kind.trim().is_empty() {
        page.kind.clone()
    } else {
        kind
    };
    page.texts = text_inputs(&texts, &errors);
    page.diagnoses = rows;
    page.vitals = vital_inputs(pairs, &errors, "vitals.");
    page.rx = RxFields::with_errors(rx, &errors, "prescription.");
    if page.complete.is_some() {
        page.complete = Some(complete);
    }
    if page.new_for.is_none() {
        page.version = seen;
    }
    page.errors = errors;
    page.unsaved = true;
}

/// `GET /encounters/{id}` for the draft's author: the form with the stored values.
pub(crate) async fn draft_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    view: EncounterView,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let mut page = stored_page(state, actor, csrf, &view).await?;
    page.layout = page.layout.with_notice(clinical_notice(notice));
    render(&page)
}

#[derive(Debug, Default, Deserialize)]
struct NewEncounterQuery {
    #[serde(default)]
    patient: String,
    #[serde(default)]
    appointment: String,
}

/// `GET /encounters/new?patient=…[&appointment=…]`: the form (doctors: the formulary for
/// its prescription fieldset is theirs alone, and the service refuses anyone else).
pub async fn new_form(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let query: NewEncounterQuery = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
    let id = path_patient_id(&query.patient)?;
    let formulary = formulary(&state, &actor).await?;
    render(
        &new_page(
            &state,
            &actor,
            csrf,
            id,
            query.appointment.trim().to_owned(),
            formulary,
        )
        .await?,
    )
}

/// Which form was sent.
enum FormOf {
    New {
        patient: String,
        appointment: String,
    },
    Draft(String),
}

impl FormOf {
    fn draft_of(&self) -> DraftOf {
        match self {
            FormOf::New {
                patient,
                appointment,
            } => DraftOf::New {
                patient_id: patient.clone(),
                appointment_id: blank(appointment),
            },
            FormOf::Draft(id) => DraftOf::Draft(id.clone()),
        }
    }

    /// The form drawn afresh, to be filled with what was typed.
    async fn page(
        &self,
        state: &AppState,
        actor: &Actor,
        csrf: String,
    ) -> Result<EncounterFormPage, PageError> {
        match self {
            FormOf::New {
                patient,
                appointment,
            } => {
                let formulary = formulary(state, actor).await?;
                let patient = path_patient_id(patient)?;
                new_page(state, actor, csrf, patient, appointment.clone(), formulary).await
            }
            FormOf::Draft(id) => {
                let view = state.services.get_encounter(actor, id).await?;
                stored_page(state, actor, csrf, &view).await
            }
        }
    }
}

/// `POST /encounters/new`: the form of a new encounter, with any of its buttons.
pub async fn submit_new(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let form = FormOf::New {
        patient: value(&pairs, "patient_id").trim().to_owned(),
        appointment: value(&pairs, "appointment_id").trim().to_owned(),
    };
    submit(&state, &actor, csrf, form, pairs).await
}

/// `POST /encounters/{id}/edit`: the draft's form, with any of its buttons.
pub async fn submit_draft(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, PageError> {
    let form = FormOf::Draft(encounter_id(&id)?);
    submit(&state, &actor, csrf, form, pairs).await
}

/// Handles any button of the form: a lookup or a code picked (the form again, nothing
/// saved), or a save (and sign) through the one use case.
async fn submit(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    form: FormOf,
    pairs: Pairs,
) -> Result<Response, PageError> {
    let mut typed = Typed::from_pairs(&pairs);
    let action = form_action(&pairs);
    let sign = match &action {
        FormAction::Save => false,
        FormAction::Sign => true,
        FormAction::Lookup | FormAction::Use(_) => {
            if let FormAction::Use(code) = &action {
                use_code(&mut typed.rows, code);
            }
            let lookup = Icd10Lookup::search(&typed.icd10);
            let mut shown = form.page(state, actor, csrf).await?;
            fill_typed(&mut shown, typed, &pairs, ValidationErrors::new());
            shown.lookup = lookup;
            return render(&shown);
        }
    };
    let submission = typed.submission(&pairs, sign);
    let outcome = state
        .services
        .save_encounter(actor, form.draft_of(), submission)
        .await;
    let (status, errors, form_error, warnings, acknowledgement_error) = match outcome {
        Ok(DraftSaved::Saved {
            encounter,
            prescription_id,
            completed_appointment,
        }) => {
            let notice = match (sign, completed_appointment, prescription_id.is_some()) {
                (true, true, _) => "encounter-signed-completed",
                (true, false, _) => "encounter-signed",
                (false, _, true) => "encounter-saved-rx",
                (false, _, false) => "encounter-saved",
            };
            return Ok(
                Redirect::to(&format!("/encounters/{}?notice={notice}", encounter.id))
                    .into_response(),
            );
        }
        Ok(DraftSaved::NeedsAcknowledgement {
            warnings,
            acknowledgement_error,
        }) => (
            StatusCode::CONFLICT,
            ValidationErrors::new(),
            None,
            warnings,
            acknowledgement_error,
        ),
        Err(ServiceError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            None,
            Vec::new(),
            None,
        ),
        Err(ServiceError::Conflict { message, .. }) => (
            StatusCode::CONFLICT,
            ValidationErrors::new(),
            Some(message),
            Vec::new(),
            None,
        ),
        Err(other) => return Err(other.into()),
    };
    let mut shown = form.page(state, actor, csrf).await?;
    fill_typed(&mut shown, typed, &pairs, errors);
    shown.form_error = form_error;
    shown.warnings = warnings;
    shown.acknowledgement_error = acknowledgement_error;
    shown.signing = sign;
    let mut response = render(&shown)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `POST /appointments/{id}/start`: starts the appointment and opens its encounter (the
/// draft is created the first time; starting again opens the same one).
pub async fn start_appointment(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: AppointmentId = id.trim().parse().map_err(|_| not_found("appointment"))?;
    match state.services.start_appointment_encounter(&actor, id).await {
        Ok(started) => {
            Ok(Redirect::to(&format!("/encounters/{}", started.encounter_id)).into_response())
        }
        Err(ServiceError::Conflict { message, .. }) => Err(PageError::Status(
            StatusCode::CONFLICT,
            Some(sentence(&message)),
        )),
        Err(other) => Err(other.into()),
    }
}

/// `message` as a sentence: capitalised, with a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_becomes_a_sentence() {
        assert_eq!(
            sentence("the patient is not checked in yet"),
            "The patient is not checked in yet."
        );
        assert_eq!(sentence("Done."), "Done.");
    }
}
