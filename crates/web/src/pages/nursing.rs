//! Nurses' pages: "My patients" (`/my/patients`: today's checked-in patients of her
//! department and her care team, each row opening the chart, with a "Triage" action), the
//! triage form of a checked-in visit (`/appointments/{id}/triage`), a patient's nursing
//! notes (`/patients/{id}/nursing-notes`), and the addendum form post of a signed encounter
//! (`POST /encounters/{id}/addenda`), for doctors and nurses.
//!
//! Also the view-models of two partials other pages include:
//! - `triage_summary.html` needs a [`TriageSummary`] named `triage` in scope (acuity,
//!   note, who and when, the vitals as a flagged table);
//! - `encounter_addenda.html` needs an [`AddendaPanel`] named `addenda` (the list, and the
//!   form when the actor may add one) and `layout`.
//!
//! The service decides who may do what; handlers parse, call one use case, and redirect with
//! a notice (303) or render the form again with every typed value kept and the message next
//! to its field (422; a visit not checked in, or a draft encounter: 409).

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_core::clinical::{VITAL_RANGES, VitalsInput};
use carevault_core::nursing::Acuity;
use carevault_service::encounters::AddendumView;
use carevault_service::nursing::{NursingNoteView, TriageInput, TriageView};
use carevault_service::scheduling::AppointmentView;
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::{
    Layout, PageRequest, QueryNotice, not_found, path_patient_id, render, with_status,
};
use crate::routes::{Access, RouteTable};
use crate::vitals_table::VitalsTable;

/// Adds the nurses' pages and the addendum form post.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .page(Action::NursingCare, "/my/patients", my_patients)
        .page_with_form(
            Action::NursingCare,
            "/appointments/{id}/triage",
            triage_form,
            record_triage,
        )
        .add(
            &[
                ("GET", Action::SeeNursingNotes),
                ("POST", Action::NursingCare),
            ],
            "/patients/{id}/nursing-notes",
            Page,
            get(nursing_notes).post(add_nursing_note),
        )
        .add(
            &[("POST", Action::WriteClinicalNotes)],
            "/encounters/{id}/addenda",
            Page,
            axum::routing::post(add_addendum),
        )
}

fn local(state: &AppState, at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&state.services.clinic_time_zone())
        .format(format)
        .to_string()
}

fn id_from_path(raw: &str, what: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found(what))
}

// ---------------------------------------------------------------------------------------
// Partials
// ---------------------------------------------------------------------------------------

/// A triage as `templates/triage_summary.html` shows it.
#[derive(Debug, Clone)]
pub struct TriageSummary {
    pub id: String,
    /// 1 … 5.
    pub level: u8,
    /// "ESI 2 · Emergent".
    pub acuity_label: String,
    /// What the level means.
    pub acuity_meaning: &'static str,
    /// ESI 1 or 2.
    pub high: bool,
    pub note: Option<String>,
    pub author: String,
    pub at: String,
    pub vitals_table: Option<VitalsTable>,
}

impl TriageSummary {
    pub fn new(state: &AppState, t: &TriageView) -> Self {
        let zone = state.services.clinic_time_zone();
        Self {
            id: t.id.clone(),
            level: t.acuity.level(),
            acuity_label: t.acuity.label(),
            acuity_meaning: t.acuity.meaning(),
            high: t.acuity.is_high(),
            note: t.note.clone(),
            author: t.author.clone(),
            at: local(state, t.at, "%Y-%m-%d %H:%M"),
            vitals_table: t.vitals.as_ref().map(|v| {
                VitalsTable::new(
                    &format!("triage-vitals-{}", t.id),
                    "Vitals at triage",
                    std::slice::from_ref(v),
                    zone,
                )
            }),
        }
    }
}

/// One addendum as listed.
#[derive(Debug, Clone)]
pub struct AddendumItem {
    pub id: String,
    pub author: String,
    /// "doctor", "nurse" or empty.
    pub role: String,
    pub at: String,
    pub text: String,
}

/// The addenda of a signed encounter and the form to add one, for
/// `templates/encounter_addenda.html`.
#[derive(Debug, Clone, Default)]
pub struct AddendaPanel {
    pub encounter_id: String,
    pub items: Vec<AddendumItem>,
    /// Whether to offer the form.
    pub may_add: bool,
    /// The text typed (kept when refused).
    pub text: String,
    pub error: Option<String>,
}

impl AddendaPanel {
    /// The panel of an encounter (`may_add` from `EncounterView::may_add_addendum`).
    pub fn new(
        state: &AppState,
        encounter_id: &str,
        addenda: &[AddendumView],
        may_add: bool,
    ) -> Self {
        Self {
            encounter_id: encounter_id.to_owned(),
            items: addenda
                .iter()
                .map(|a| AddendumItem {
                    id: a.id.clone(),
                    author: a.author.clone(),
                    role: a.author_role.map(|r| r.as_str()).unwrap_or_default().into(),
                    at: local(state, a.at, "%Y-%m-%d %H:%M"),
                    text: a.text.clone(),
                })
                .collect(),
            may_add,
            text: String::new(),
            error: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// My patients
// ---------------------------------------------------------------------------------------

/// One row of "My patients".
#[derive(Debug, Clone)]
pub struct PatientListRow {
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    pub date_of_birth: String,
    pub reason: &'static str,
    pub time: Option<String>,
    pub clinician: Option<String>,
    pub status: Option<&'static str>,
    pub status_code: Option<&'static str>,
    pub triage: Option<TriageSummary>,
    /// The triage form, for a visit checked in and not triaged yet.
    pub triage_href: Option<String>,
    /// Re-triage, for a visit already triaged.
    pub retriage_href: Option<String>,
}

#[derive(Template)]
#[template(path = "my_patients.html")]
struct MyPatientsPage {
    layout: Layout,
    today: String,
    department: Option<String>,
    rows: Vec<PatientListRow>,
}

/// `GET /my/patients`: the nurse's patients today.
pub async fn my_patients(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let list = state.services.my_patients(&actor).await?;
    let rows = list
        .rows
        .iter()
        .map(|r| {
            let visit = r.visit.as_ref();
            let triage_href = visit.map(|v| format!("/appointments/{}/triage", v.appointment_id));
            PatientListRow {
                patient_id: r.patient_id.to_string(),
                name: r.patient_label.clone(),
                mrn: r.mrn.clone(),
                date_of_birth: r.date_of_birth.to_string(),
                reason: r.reason.label(),
                time: visit.map(|v| {
                    format!(
                        "{}–{}",
                        local(&state, v.start, "%H:%M"),
                        local(&state, v.end, "%H:%M")
                    )
                }),
                clinician: visit.and_then(|v| v.clinician_name.clone()),
                status: visit.map(|v| crate::pages::scheduling::status_label(v.status)),
                status_code: visit.map(|v| v.status.as_str()),
                triage: r.triage.as_ref().map(|t| TriageSummary::new(&state, t)),
                triage_href: (r.may_triage && r.triage.is_none())
                    .then(|| triage_href.clone())
                    .flatten(),
                retriage_href: (r.may_triage && r.triage.is_some())
                    .then_some(triage_href)
                    .flatten(),
            }
        })
        .collect();
    render(&MyPatientsPage {
        layout: Layout::new(&state, &actor, "My patients", "/my/patients", csrf)
            .with_notice(notice),
        today: list.today.format("%A %Y-%m-%d").to_string(),
        department: list.department_name,
        rows,
    })
}

// ---------------------------------------------------------------------------------------
// Triage
// ---------------------------------------------------------------------------------------

/// A vitals input with its value and message.
#[derive(Debug, Clone)]
pub struct VitalField {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub example: &'static str,
    pub reference: Option<String>,
    pub value: String,
    pub error: Option<String>,
}

/// An acuity choice.
#[derive(Debug, Clone)]
pub struct AcuityChoice {
    pub value: &'static str,
    pub label: String,
    pub meaning: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "triage_form.html")]
struct TriagePage {
    layout: Layout,
    appointment_id: String,
    patient_id: String,
    patient: String,
    when: String,
    clinician: Option<String>,
    department: String,
    status: &'static str,
    /// The latest triage already recorded, when this is a re-triage.
    previous: Option<TriageSummary>,
    acuities: Vec<AcuityChoice>,
    vitals: Vec<VitalField>,
    note: String,
    errors: ValidationErrors,
    /// A refusal that belongs to no field (the visit is no longer checked in).
    form_error: Option<String>,
}

/// The submitted triage form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TriageForm {
    acuity: String,
    note: String,
    temperature_c: String,
    pulse_bpm: String,
    systolic_mmhg: String,
    diastolic_mmhg: String,
    respiratory_rate: String,
    spo2_percent: String,
    weight_kg: String,
    height_cm: String,
}

impl TriageForm {
    fn value(&self, field: &str) -> &str {
        match field {
            "temperature_c" => &self.temperature_c,
            "pulse_bpm" => &self.pulse_bpm,
            "systolic_mmhg" => &self.systolic_mmhg,
            "diastolic_mmhg" => &self.diastolic_mmhg,
            "respiratory_rate" => &self.respiratory_rate,
            "spo2_percent" => &self.spo2_percent,
            "weight_kg" => &self.weight_kg,
            "height_cm" => &self.height_cm,
            _ => "",
        }
    }

    fn input(&self) -> TriageInput<'_> {
        TriageInput {
            acuity: &self.acuity,
            note: &self.note,
            vitals: VitalsInput {
                temperature_c: Some(&self.temperature_c),
                pulse_bpm: Some(&self.pulse_bpm),
                systolic_mmhg: Some(&self.systolic_mmhg),
                diastolic_mmhg: Some(&self.diastolic_mmhg),
                respiratory_rate: Some(&self.respiratory_rate),
                spo2_percent: Some(&self.spo2_percent),
                weight_kg: Some(&self.weight_kg),
                height_cm: Some(&self.height_cm),
            },
        }
    }
}

async fn triage_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    a: &AppointmentView,
    form: &TriageForm,
    errors: ValidationErrors,
    form_error: Option<String>,
) -> Result<Response, PageError> {
    let vitals = VITAL_RANGES
        .iter()
        .map(|r| VitalField {
            name: r.field,
            label: r.label,
            unit: r.short_unit,
            example: r.example,
            reference: carevault_core::reference_range::reference_range(r.field)
                .map(|x| x.describe()),
            value: form.value(r.field).to_owned(),
            error: errors.message_for(r.field).map(str::to_owned),
        })
        .collect();
    let acuities = Acuity::ALL
        .iter()
        .map(|x| AcuityChoice {
            value: x.as_str(),
            label: x.label(),
            meaning: x.meaning(),
            checked: form.acuity.trim() == x.as_str(),
        })
        .collect();
    let layout = Layout::new(state, actor, "Triage", "/my/patients", csrf);
    render(&TriagePage {
        layout: crate::pages::banner::with_banner(state, actor, layout, a.patient_id).await?,
        appointment_id: a.id.to_string(),
        patient_id: a.patient_id.to_string(),
        patient: a.patient_label.clone(),
        when: format!(
            "{}–{}",
            local(state, a.start, "%a %Y-%m-%d %H:%M"),
            local(state, a.end, "%H:%M")
        ),
        clinician: a.clinician_name.clone(),
        department: a.department_name.clone(),
        status: crate::pages::scheduling::status_label(a.status),
        previous: a.triage.as_ref().map(|t| TriageSummary::new(state, t)),
        acuities,
        vitals,
        note: form.note.clone(),
        errors,
        form_error,
    })
}

/// `GET /appointments/{id}/triage`: the triage form (nurses in the patient's care, for a
/// visit checked in or in progress).
pub async fn triage_form(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = id_from_path(&id, "appointment")?;
    let appointment = match state.services.triage_form(&actor, &id).await {
        Ok(a) => a,
        // Not checked in (any more): say so plainly.
        Err(ServiceError::Conflict { message, .. }) => {
            return Err(PageError::Status(StatusCode::CONFLICT, Some(message)));
        }
        Err(other) => return Err(other.into()),
    };
    triage_page(
        &state,
        &actor,
        csrf,
        &appointment,
        &TriageForm::default(),
        ValidationErrors::new(),
        None,
    )
    .await
}

/// `POST /appointments/{id}/triage`: records it, then to "My patients"; or the form again.
pub async fn record_triage(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> Result<Response, PageError> {
    let id = id_from_path(&id, "appointment")?;
    let (errors, form_error, status) = match state
        .services
        .record_triage(&actor, &id, &form.input())
        .await
    {
        Ok(triage) => {
            return Ok(Redirect::to(&format!(
                "/appointments/{}?notice=triage-recorded",
                triage.appointment_id
            ))
            .into_response());
        }
        Err(ServiceError::Validation(errors)) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(ServiceError::Conflict { message, .. }) => {
            (ValidationErrors::new(), Some(message), StatusCode::CONFLICT)
        }
        Err(other) => return Err(other.into()),
    };
    let appointment = state
        .services
        .get_appointment(&actor, id.parse().map_err(|_| not_found("appointment"))?)
        .await?;
    let response = triage_page(
        &state,
        &actor,
        csrf,
        &appointment,
        &form,
        errors,
        form_error,
    )
    .await?;
    Ok(with_status(response, status))
}

// ---------------------------------------------------------------------------------------
// Nursing notes
// ---------------------------------------------------------------------------------------

/// A nursing note or triage as listed.
#[derive(Debug, Clone)]
pub struct NoteItem {
    pub id: String,
    pub kind: &'static str,
    pub author: String,
    pub at: String,
    pub text: Option<String>,
    pub triage: Option<TriageSummary>,
}

#[derive(Template)]
#[template(path = "nursing_notes.html")]
struct NursingNotesPage {
    layout: Layout,
    patient_id: String,
    notes: Vec<NoteItem>,
    may_write: bool,
    text: String,
    error: Option<String>,
}

fn note_item(state: &AppState, n: &NursingNoteView) -> NoteItem {
    let triage = match (n.acuity, &n.appointment_id) {
        (Some(acuity), Some(appointment)) => Some(TriageSummary::new(
            state,
            &TriageView {
                id: n.id.clone(),
                appointment_id: appointment.clone(),
                patient_id: n.patient_id,
                acuity,
                note: n.text.clone(),
                vitals: n.vitals.clone(),
                author: n.author.clone(),
                at: n.at,
            },
        )),
        _ => None,
    };
    NoteItem {
        id: n.id.clone(),
        kind: n.kind.as_str(),
        author: n.author.clone(),
        at: local(state, n.at, "%Y-%m-%d %H:%M"),
        text: n.text.clone(),
        triage,
    }
}

async fn notes_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    patient: carevault_core::PatientId,
    text: String,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let notes = state.services.nursing_notes(actor, patient).await?;
    let layout = Layout::new(
        state,
        actor,
        &format!("Nursing notes: {}", notes.patient_label),
        "/my/patients",
        csrf,
    )
    .with_notice(notice);
    render(&NursingNotesPage {
        layout: crate::pages::banner::with_banner(state, actor, layout, patient).await?,
        patient_id: patient.to_string(),
        notes: notes.notes.iter().map(|n| note_item(state, n)).collect(),
        may_write: notes.may_write,
        text,
        error,
    })
}

/// `GET /patients/{id}/nursing-notes`.
pub async fn nursing_notes(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let patient = path_patient_id(&id)?;
    notes_page(&state, &actor, csrf, patient, String::new(), None, notice).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TextForm {
    text: String,
}

/// `POST /patients/{id}/nursing-notes`: adds the note, then back to the list; or the form
/// again with the text kept.
pub async fn add_nursing_note(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    let patient = path_patient_id(&id)?;
    match state
        .services
        .add_nursing_note(&actor, patient, &form.text)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{patient}/nursing-notes?notice=nursing-note-added"
        ))
        .into_response()),
        Err(ServiceError::Validation(errors)) => {
            let message = errors.message_for("text").map(|m| format!("Note {m}."));
            let response =
                notes_page(&state, &actor, csrf, patient, form.text, message, None).await?;
            Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Addenda
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "encounter_addendum.html")]
struct AddendumPage {
    layout: Layout,
    encounter_id: String,
    addenda: AddendaPanel,
}

/// `POST /encounters/{id}/addenda`: adds the addendum, then back to the encounter with a
/// notice; refused input shows the form again (on its own page) with the text kept.
pub async fn add_addendum(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    let id = id_from_path(&id, "encounter")?;
    let (error, status) = match state.services.add_addendum(&actor, &id, &form.text).await {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/encounters/{id}?notice=addendum-added#addenda"))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => (
            errors
                .message_for("text")
                .map(|m| format!("Addendum {m}."))
                .unwrap_or_else(|| errors.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(ServiceError::Conflict { message, .. }) => (message, StatusCode::CONFLICT),
        Err(other) => return Err(other.into()),
    };
    let encounter = state.services.get_encounter(&actor, &id).await?;
    let mut addenda =
        AddendaPanel::new(&state, &id, &encounter.addenda, encounter.may_add_addendum);
    addenda.text = form.text;
    addenda.error = Some(error);
    let layout = Layout::new(&state, &actor, "Add an addendum", "/patients", csrf);
    let response = render(&AddendumPage {
        layout: crate::pages::banner::with_banner(&state, &actor, layout, encounter.patient_id)
            .await?,
        encounter_id: id,
        addenda,
    })?;
    Ok(with_status(response, status))
}
