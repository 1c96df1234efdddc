//! Nurses' work and addenda as JSON: `POST /api/v1/appointments/{id}/triage`,
//! `GET|POST /api/v1/patients/{id}/nursing-notes`, `POST /api/v1/encounters/{id}/addenda`
//! and `GET /api/v1/me/patients`. Handlers parse, call one use case of
//! `carevault_service::nursing` / `addenda` with the actor, and render; the service decides
//! who may (403, recorded), bad input is a 422 naming the field, a visit not checked in or a
//! draft encounter a 409. Times are RFC 3339 in UTC; the acuity is the Emergency Severity
//! Index level as text (`"1"` most urgent … `"5"`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_service::encounters::AddendumView;
use carevault_service::nursing::{
    NursePatientList as NurseList, NursePatientRow, NursingNoteView, TriageInput, TriageView,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::clinical::{VitalsRecord, number_or_text, utc, vitals_input};
use crate::api::{no_such_patient, path_patient_id, path_uuid, validation};
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the nursing API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::NursingCare, routes!(record_triage))
        .api(Action::SeeNursingNotes, routes!(nursing_notes))
        .api(Action::NursingCare, routes!(add_nursing_note))
        .api(Action::WriteClinicalNotes, routes!(add_addendum))
        .api(Action::NursingCare, routes!(my_patients))
}

// ---------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------

/// A triage at check-in: the acuity (required), an optional note, optional vitals.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    /// Emergency Severity Index level: 1 (immediate) … 5 (non-urgent).
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 3)]
    acuity: Option<String>,
    #[serde(default)]
    #[schema(example = "Fever for two days, productive cough.")]
    note: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 38.6)]
    temperature_c: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 104)]
    pulse_bpm: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 128)]
    systolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 82)]
    diastolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 20)]
    respiratory_rate: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 94)]
    spo2_percent: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 70.5)]
    weight_kg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 172)]
    height_cm: Option<String>,
}

/// A triage: acuity, note, the vitals measured with it (flagged) and who recorded it.
#[derive(Clone, Serialize, ToSchema)]
pub struct TriageRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    appointment_id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    /// Emergency Severity Index level, `"1"` (immediate) … `"5"` (non-urgent).
    #[schema(example = "3")]
    acuity: String,
    /// "ESI 3 · Urgent".
    #[schema(example = "ESI 3 · Urgent")]
    acuity_label: String,
    note: Option<String>,
    vitals: Option<VitalsRecord>,
    recorded_by: String,
    recorded_at: String,
}

impl From<TriageView> for TriageRecord {
    fn from(t: TriageView) -> Self {
        Self {
            id: t.id,
            appointment_id: t.appointment_id,
            patient_id: t.patient_id.to_string(),
            acuity: t.acuity.as_str().to_owned(),
            acuity_label: t.acuity.label(),
            note: t.note,
            vitals: t.vitals.map(Into::into),
            recorded_by: t.author,
            recorded_at: utc(t.at),
        }
    }
}

/// A nursing note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NursingNoteRequest {
    #[serde(default)]
    #[schema(example = "Mobilised to the chair; tolerating fluids.")]
    text: String,
}

/// A nursing note or a triage.
#[derive(Serialize, ToSchema)]
pub struct NursingNoteRecord {
    #[schema(format = Uuid)]
    id: String,
    /// `nursing` or `triage`.
    #[schema(example = "nursing")]
    kind: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    author: String,
    at: String,
    text: Option<String>,
    /// A triage's acuity (ESI level).
    acuity: Option<String>,
    /// A triage's vitals.
    vitals: Option<VitalsRecord>,
}

impl From<NursingNoteView> for NursingNoteRecord {
    fn from(n: NursingNoteView) -> Self {
        Self {
            id: n.id,
            kind: n.kind.as_str().to_owned(),
            appointment_id: n.appointment_id,
            author: n.author,
            at: utc(n.at),
            text: n.text,
            acuity: n.acuity.map(|a| a.as_str().to_owned()),
            vitals: n.vitals.map(Into::into),
        }
    }
}

/// A patient's nursing notes and triages, newest first.
#[derive(Serialize, ToSchema)]
pub struct NursingNoteList {
    items: Vec<NursingNoteRecord>,
    /// Whether the caller may add one.
    may_write: bool,
}

/// An addendum to a signed encounter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddendumRequest {
    #[serde(default)]
    #[schema(example = "Culture result: no growth at 48 hours.")]
    text: String,
}

/// An addendum: text added to a signed encounter, which itself stays unchanged.
#[derive(Serialize, ToSchema)]
pub struct AddendumRecord {
    #[schema(format = Uuid)]
    id: String,
    author: String,
    /// The author's role (`doctor`, `nurse`).
    author_role: Option<String>,
    at: String,
    text: String,
}

impl From<AddendumView> for AddendumRecord {
    fn from(a: AddendumView) -> Self {
        Self {
            id: a.id,
            author: a.author,
            author_role: a.author_role.map(|r| r.as_str().to_owned()),
            at: utc(a.at),
            text: a.text,
        }
    }
}

/// One patient on a nurse's list.
#[derive(Serialize, ToSchema)]
pub struct NursePatientRecord {
    #[schema(format = Uuid)]
    patient_id: String,
    patient: String,
    mrn: String,
    date_of_birth: String,
    /// `department` (checked in today to her department), `care_team` or `both`.
    #[schema(example = "department")]
    reason: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    appointment_start: Option<String>,
    appointment_status: Option<String>,
    clinician: Option<String>,
    /// The latest triage of today's visit.
    triage: Option<TriageRecord>,
    /// Whether the visit can be triaged now (checked in or in progress).
    may_triage: bool,
}

impl From<NursePatientRow> for NursePatientRecord {
    fn from(r: NursePatientRow) -> Self {
        Self {
            patient_id: r.patient_id.to_string(),
            patient: r.patient_label,
            mrn: r.mrn,
            date_of_birth: r.date_of_birth.to_string(),
            reason: r.reason.as_str().to_owned(),
            appointment_id: r.visit.as_ref().map(|v| v.appointment_id.to_string()),
            appointment_start: r.visit.as_ref().map(|v| utc(v.start)),
            appointment_status: r.visit.as_ref().map(|v| v.status.as_str().to_owned()),
            clinician: r.visit.and_then(|v| v.clinician_name),
            triage: r.triage.map(Into::into),
            may_triage: r.may_triage,
        }
    }
}

/// The nurse's patients today.
#[derive(Serialize, ToSchema)]
pub struct NursePatientList {
    /// The clinic's date.
    today: String,
    items: Vec<NursePatientRecord>,
}

impl From<NurseList> for NursePatientList {
    fn from(l: NurseList) -> Self {
        Self {
            today: l.today.to_string(),
            items: l.rows.into_iter().map(Into::into).collect(),
        }
    }
}

carevault_core::opaque_debug!(
    TriageRequest,
    TriageRecord,
    NursingNoteRequest,
    NursingNoteRecord,
    NursingNoteList,
    AddendumRequest,
    AddendumRecord,
    NursePatientRecord,
    NursePatientList,
);

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

/// Records the triage of a checked-in visit.
///
/// Nurses in the patient's care (care team, or the visit's department today): the acuity on
/// the Emergency Severity Index, a note and vitals, without any doctor or encounter. One
/// transaction; nothing is written when any field is refused.
#[utoipa::path(
    post, path = "/api/v1/appointments/{id}/triage", tag = "nursing",
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = TriageRequest,
    responses(
        (status = 201, description = "The recorded triage, vitals flagged", body = TriageRecord),
        (status = 403, description = "Not a nurse in the patient's care or department (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The visit is not checked in (or in progress)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No or a bad acuity, a vital out of range, a bad id; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_triage(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<TriageRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let input = TriageInput {
        acuity: body.acuity.as_deref().unwrap_or_default(),
        note: body.note.as_deref().unwrap_or_default(),
        vitals: vitals_input!(body),
    };
    let view = state.services.record_triage(&actor, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(TriageRecord::from(view))).into_response())
}

/// A patient's nursing notes and triages.
///
/// Those with the full view of the patient (care team, a nurse's department today,
/// administrators, emergency access); one audited listing.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/nursing-notes", tag = "nursing",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The notes, newest first", body = NursingNoteList),
        (status = 403, description = "Not in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn nursing_notes(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<NursingNoteList>, ApiError> {
    let patient = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let notes = state.services.nursing_notes(&actor, patient).await?;
    Ok(Json(NursingNoteList {
        items: notes.notes.into_iter().map(Into::into).collect(),
        may_write: notes.may_write,
    }))
}

/// Adds a nursing note.
///
/// Nurses in the patient's care or department; no encounter needed.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/nursing-notes", tag = "nursing",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = NursingNoteRequest,
    responses(
        (status = 201, description = "The note", body = NursingNoteRecord),
        (status = 403, description = "Not a nurse in the patient's care or department (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long text", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_nursing_note(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<NursingNoteRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let patient = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let note = state
        .services
        .add_nursing_note(&actor, patient, &body.text)
        .await?;
    Ok((StatusCode::CREATED, Json(NursingNoteRecord::from(note))).into_response())
}

/// Adds an addendum to a signed encounter.
///
/// Doctors and nurses in the patient's care; the signed encounter stays unchanged. A draft
/// takes no addendum (409).
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/addenda", tag = "nursing",
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = AddendumRequest,
    responses(
        (status = 201, description = "The addendum", body = AddendumRecord),
        (status = 403, description = "Not a doctor or nurse in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The encounter is a draft", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long text, a bad id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_addendum(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AddendumRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let addendum = state.services.add_addendum(&actor, &id, &body.text).await?;
    Ok((StatusCode::CREATED, Json(AddendumRecord::from(addendum))).into_response())
}

/// The signed-in nurse's patients today.
///
/// Today's checked-in (and in-progress) visits of her department, with the clinician and the
/// triage, then her care-team patients. Nurses only; each patient listed is recorded.
#[utoipa::path(
    get, path = "/api/v1/me/patients", tag = "nursing",
    responses(
        (status = 200, description = "The list", body = NursePatientList),
        (status = 403, description = "Not a nurse (recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_patients(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<NursePatientList>, ApiError> {
    let list = state.services.my_patients(&actor).await?;
    Ok(Json(list.into()))
}
