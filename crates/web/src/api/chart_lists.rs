//! The allergy list and the problem list as JSON: `/api/v1/patients/{id}/allergies`,
//! `/api/v1/allergies/{id}/status`, `/api/v1/patients/{id}/problems`,
//! `/api/v1/problems/{id}/status`. Handlers parse, call one `carevault_service::allergies` /
//! `problems` use case with the actor, and render.
//!
//! - **Who**: the service decides; a refusal is a 403, recorded. Administrators, the care
//!   team and the patient read; doctors and nurses in the patient's care record allergies;
//!   doctors in the patient's care keep the problem list.
//! - **"No known allergies"** is recorded by `POST …/allergies` with
//!   `{"no_known_allergies": true}`; it is refused (409) while an allergy is active.
//! - **Bad input** is a 422 naming the field (`substance`, `severity`, `code`, `onset`);
//!   nothing is written.
//! - **Times** are RFC 3339 in UTC (`Z`); onsets are `YYYY-MM-DD`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_service::allergies::{
    AllergyList, AllergyRequest, AllergyStatement, AllergyStatusRequest, AllergyView,
};
use carevault_service::problems::{ProblemRequest, ProblemView};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{no_such_patient, path_patient_id};
use crate::AppState;
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

carevault_core::opaque_debug!(
    AllergyRecord,
    NoKnownAllergiesRecord,
    AllergyListRecord,
    AllergyRequestBody,
    AllergyStatusBody,
    ProblemRecord,
    ProblemList,
    ProblemRequestBody,
    ProblemStatusBody,
);

/// Adds the allergy and problem list routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::SeeClinical, routes!(allergies))
        .api(Action::WriteClinicalNotes, routes!(record_allergy))
        .api(Action::WriteClinicalNotes, routes!(change_allergy_status))
        .api(Action::SeeClinical, routes!(problems))
        .api(Action::WriteEncounters, routes!(add_problem))
        .api(Action::WriteEncounters, routes!(change_problem_status))
}

/// One entry of a patient's allergy list.
#[derive(Serialize, ToSchema)]
pub struct AllergyRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    /// `allergy`, or `no_known_allergies` for the statement.
    #[schema(example = "allergy")]
    entry: &'static str,
    /// The coded substance's label, or the free text.
    #[schema(example = "Penicillins")]
    substance: String,
    /// The coded substance's code (see `substance` in the request); absent for free text.
    #[schema(example = "penicillins")]
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// `drug_class`, `drug`, `food` or `environmental`, for a coded substance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "drug_class")]
    substance_kind: Option<&'static str>,
    /// Free text rather than a coded substance.
    free_text: bool,
    #[schema(example = "anaphylaxis")]
    reaction: Option<String>,
    /// `mild`, `moderate`, `severe` or `unknown`.
    #[schema(example = "severe")]
    severity: &'static str,
    /// `active`, `inactive` or `entered_in_error`.
    #[schema(example = "active")]
    status: &'static str,
    /// Why the status last changed, if a reason was given.
    status_reason: Option<String>,
    /// Moved from the earlier free-text field, or typed in from paper at registration.
    transcribed: bool,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
    updated_by: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<AllergyView> for AllergyRecord {
    fn from(e: AllergyView) -> Self {
        Self {
            id: e.id,
            patient_id: e.patient_id.to_string(),
            entry: if e.no_known_allergies {
                "no_known_allergies"
            } else {
                "allergy"
            },
            substance: e.substance,
            code: e.code,
            substance_kind: e.kind.map(|k| k.as_str()),
            free_text: e.free_text,
            reaction: e.reaction,
            severity: e.severity.as_str(),
            status: e.status.as_str(),
            status_reason: e.status_reason,
            transcribed: e.transcribed,
            recorded_by: e.recorded_by,
            recorded_at: e.recorded_at,
            updated_by: e.updated_by,
            updated_at: e.updated_at,
        }
    }
}

/// The "no known allergies" statement in force.
#[derive(Serialize, ToSchema)]
pub struct NoKnownAllergiesRecord {
    /// The statement's entry (to mark it entered in error).
    #[schema(format = Uuid)]
    id: String,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
    /// The words it was transcribed from ("NKDA"), when it was moved from an earlier
    /// free-text record.
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_as: Option<String>,
}

/// A patient's allergy list.
#[derive(Serialize, ToSchema)]
pub struct AllergyListRecord {
    #[schema(format = Uuid)]
    patient_id: String,
    /// What is in force: `allergies` (see `active`), `no_known_allergies`, or
    /// `not_recorded` (nobody has recorded anything: not the same as "none known").
    #[schema(example = "allergies")]
    statement: &'static str,
    /// The list in one line, as the patient record's `allergies` field shows it.
    #[schema(example = "Penicillins — anaphylaxis (severe); Latex")]
    summary: Option<String>,
    /// The active allergies, oldest first.
    active: Vec<AllergyRecord>,
    /// The "no known allergies" statement in force, if that is the statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    no_known_allergies: Option<NoKnownAllergiesRecord>,
    /// Inactive and entered-in-error entries, newest change first.
    history: Vec<AllergyRecord>,
    /// Whether the caller may record allergies and change entries.
    may_record: bool,
}

fn list_record(patient_id: String, list: AllergyList, may_record: bool) -> AllergyListRecord {
    let summary = list.summary();
    let (statement, active, no_known_allergies) = match list.statement {
        AllergyStatement::NotRecorded => ("not_recorded", Vec::new(), None),
        AllergyStatement::NoKnownAllergies {
            id,
            recorded_by,
            recorded_at,
            recorded_as,
        } => (
            "no_known_allergies",
            Vec::new(),
            Some(NoKnownAllergiesRecord {
                id,
                recorded_by,
                recorded_at,
                recorded_as,
            }),
        ),
        AllergyStatement::Allergies(entries) => ("allergies", entries, None),
    };
    AllergyListRecord {
        patient_id,
        statement,
        summary,
        active: active.into_iter().map(Into::into).collect(),
        no_known_allergies,
        history: list.history.into_iter().map(Into::into).collect(),
        may_record,
    }
}

/// A new allergy entry, or the "no known allergies" statement.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AllergyRequestBody {
    /// A code of the coded list (`penicillins`, `latex`, `iodinated_contrast`, …; the form
    /// at `/patients/{id}/allergies` lists them all), or with `free_text` the substance in
    /// words (2–200 characters).
    #[schema(example = "penicillins")]
    substance: String,
    /// The substance is free text (never guessed: an uncoded entry is deliberate).
    free_text: bool,
    /// What happens (2–200 characters).
    #[schema(example = "anaphylaxis")]
    reaction: Option<String>,
    /// `mild`, `moderate`, `severe` or `unknown` (default).
    #[schema(example = "severe")]
    severity: String,
    /// `active` (default) or `inactive`.
    status: String,
    /// `true`: record "no known allergies" instead (send no other field).
    no_known_allergies: bool,
}

/// A status change of an allergy entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllergyStatusBody {
    /// `active`, `inactive` or `entered_in_error` (final).
    #[schema(example = "inactive")]
    status: String,
    /// Why (optional, at most 500 characters).
    #[serde(default)]
    #[schema(example = "Tolerated amoxicillin in a supervised challenge")]
    reason: Option<String>,
}

/// A patient's allergy list.
///
/// Administrators, the patient's care team and the patient (one audited read).
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/allergies", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The list", body = AllergyListRecord),
        (status = 403, description = "Not the care team or the patient (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn allergies(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<AllergyListRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let found = state.services.list_allergies(&actor, id).await?;
    Ok(Json(list_record(
        id.to_string(),
        found.list,
        found.may_record,
    )))
}

fn created(location: String, record: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(record)).into_response();
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Records an allergy, or "no known allergies".
///
/// Doctors and nurses in the patient's care. Recording an active allergy makes an active
/// "no known allergies" statement inactive; "no known allergies" is refused (409) while an
/// allergy is active. Answers the entry written.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/allergies", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = AllergyRequestBody,
    responses(
        (status = 201, description = "Recorded", body = AllergyRecord),
        (status = 403, description = "Not a doctor or nurse in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "\"No known allergies\" while an allergy is active", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_allergy(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AllergyRequestBody>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let entry = if body.no_known_allergies {
        let stray = !body.substance.trim().is_empty()
            || body.free_text
            || body.reaction.is_some()
            || !body.severity.trim().is_empty()
            || !body.status.trim().is_empty();
        if stray {
            return Err(Problem::validation(&carevault_core::ValidationErrors::single(
                "no_known_allergies",
                "is a statement of its own: send no substance, reaction, severity or status with it",
            ))
            .into());
        }
        state.services.record_no_known_allergies(&actor, id).await?
    } else {
        state
            .services
            .record_allergy(
                &actor,
                id,
                AllergyRequest {
                    substance: body.substance,
                    free_text: body.free_text,
                    reaction: body.reaction,
                    severity: body.severity,
                    status: body.status,
                },
            )
            .await?
    };
    Ok(created(
        format!("/api/v1/patients/{id}/allergies"),
        AllergyRecord::from(entry),
    ))
}

/// Changes an allergy entry's status.
///
/// Doctors and nurses in the patient's care: `active ↔ inactive`, either →
/// `entered_in_error` (final), with an optional reason (sealed). Reactivating an allergy
/// makes an active "no known allergies" inactive.
#[utoipa::path(
    post, path = "/api/v1/allergies/{id}/status", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The entry's id")),
    request_body = AllergyStatusBody,
    responses(
        (status = 200, description = "The entry, changed", body = AllergyRecord),
        (status = 403, description = "Not a doctor or nurse in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a change the entry's status allows", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_allergy_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AllergyStatusBody>, ApiError>,
) -> Result<Json<AllergyRecord>, ApiError> {
    let ApiJson(body) = body?;
    let entry = state
        .services
        .change_allergy_status(
            &actor,
            None,
            &id,
            AllergyStatusRequest {
                status: body.status,
                reason: body.reason,
            },
        )
        .await?;
    Ok(Json(entry.into()))
}

/// One problem of a patient's problem list.
#[derive(Serialize, ToSchema)]
pub struct ProblemRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    /// The ICD-10-CM code; absent for free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// The code's title, or the free text.
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    text: String,
    free_text: bool,
    onset: Option<NaiveDate>,
    /// `active` or `resolved`.
    #[schema(example = "active")]
    status: &'static str,
    /// The encounter and diagnosis it was added from, if any.
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    #[schema(format = Uuid)]
    diagnosis_id: Option<String>,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
    updated_by: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<ProblemView> for ProblemRecord {
    fn from(p: ProblemView) -> Self {
        Self {
            id: p.id,
            patient_id: p.patient_id.to_string(),
            code: p.code,
            text: p.text,
            free_text: p.free_text,
            onset: p.onset,
            status: p.status.as_str(),
            encounter_id: p.encounter_id,
            diagnosis_id: p.diagnosis_id,
            recorded_by: p.recorded_by,
            recorded_at: p.recorded_at,
            updated_by: p.updated_by,
            updated_at: p.updated_at,
        }
    }
}

/// A patient's problem list: active first, then resolved; newest first within each.
#[derive(Serialize, ToSchema)]
pub struct ProblemList {
    #[schema(format = Uuid)]
    patient_id: String,
    items: Vec<ProblemRecord>,
    /// Whether the caller may add, resolve and reactivate problems.
    may_manage: bool,
}

/// A new problem: a code or free text, or an encounter's diagnosis.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProblemRequestBody {
    /// An ICD-10-CM code from Carevault's list (see `/api/v1/icd10`).
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// With `free_text`: the condition in words (2–500 characters).
    text: Option<String>,
    free_text: bool,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(example = "2019-06-01")]
    onset: Option<String>,
    /// `active` (default) or `resolved`.
    status: String,
    /// Add this encounter's diagnosis instead (with `diagnosis_id`; send no other field):
    /// its code or text, onset the encounter's date.
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    #[schema(format = Uuid)]
    diagnosis_id: Option<String>,
}

/// A problem's status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemStatusBody {
    /// `resolved` or `active` (reactivate).
    #[schema(example = "resolved")]
    status: String,
}

/// A patient's problem list.
///
/// Administrators, the patient's care team and the patient (one audited read).
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/problems", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The problem list", body = ProblemList),
        (status = 403, description = "Not the care team or the patient (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn problems(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<ProblemList>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let found = state.services.list_problems(&actor, id).await?;
    Ok(Json(ProblemList {
        patient_id: id.to_string(),
        items: found.problems.into_iter().map(Into::into).collect(),
        may_manage: found.may_manage,
    }))
}

/// Adds a problem.
///
/// Doctors in the patient's care. A code already on the active list (or a diagnosis added
/// already) answers 409, and nothing is written.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/problems", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = ProblemRequestBody,
    responses(
        (status = 201, description = "Added", body = ProblemRecord),
        (status = 403, description = "Not a doctor in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient, encounter or diagnosis", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on the active list, or a retracted diagnosis", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_problem(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<ProblemRequestBody>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let problem = match (&body.encounter_id, &body.diagnosis_id) {
        (None, None) => {
            state
                .services
                .add_problem(
                    &actor,
                    id,
                    ProblemRequest {
                        code: body.code,
                        text: body.text,
                        free_text: body.free_text,
                        onset: body.onset,
                        status: body.status,
                    },
                )
                .await?
        }
        (Some(encounter), Some(diagnosis)) => {
            let stray = body.code.is_some()
                || body.text.is_some()
                || body.free_text
                || body.onset.is_some()
                || !body.status.trim().is_empty();
            if stray {
                return Err(Problem::validation(&carevault_core::ValidationErrors::single(
                    "encounter_id",
                    "adds the encounter's diagnosis as it is: send only encounter_id and diagnosis_id",
                ))
                .into());
            }
            state
                .services
                .add_patient_problem_from_diagnosis(&actor, id, encounter, diagnosis)
                .await?
        }
        (Some(_), None) => {
            return Err(
                Problem::validation(&carevault_core::ValidationErrors::single(
                    "diagnosis_id",
                    "is required with encounter_id",
                ))
                .into(),
            );
        }
        (None, Some(_)) => {
            return Err(
                Problem::validation(&carevault_core::ValidationErrors::single(
                    "encounter_id",
                    "is required with diagnosis_id",
                ))
                .into(),
            );
        }
    };
    Ok(created(
        format!("/api/v1/patients/{id}/problems"),
        ProblemRecord::from(problem),
    ))
}

/// Resolves or reactivates a problem.
///
/// Doctors in the patient's care.
#[utoipa::path(
    post, path = "/api/v1/problems/{id}/status", tag = "clinical",
    params(("id" = String, Path, format = Uuid, description = "The problem's id")),
    request_body = ProblemStatusBody,
    responses(
        (status = 200, description = "The problem, changed", body = ProblemRecord),
        (status = 403, description = "Not a doctor in the patient's care (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such problem", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already in that status, or its code is active on another problem", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_problem_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<ProblemStatusBody>, ApiError>,
) -> Result<Json<ProblemRecord>, ApiError> {
    let ApiJson(body) = body?;
    let problem = state
        .services
        .change_problem_status(&actor, None, &id, &body.status)
        .await?;
    Ok(Json(problem.into()))
}
