//! Erasure (GDPR Art. 17), legal holds and the retention report in the API:
//! `/api/v1/patients/{id}/erasure`, `/api/v1/patients/{id}/legal-holds[/{hold_id}]`,
//! `/api/v1/retention`. Administrators only; a refused erasure is 409 with the reason.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_service::erasure::{ErasureOutcome, LegalHold, LegalHoldInput, Tombstone};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{no_such_patient, path_patient_id};
use crate::AppState;
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the privacy routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::ManageRetention, routes!(tombstone))
        .api(Action::ManageRetention, routes!(erase))
        .api(Action::ManageRetention, routes!(list_holds))
        .api(Action::ManageRetention, routes!(set_hold))
        .api(Action::ManageRetention, routes!(release_hold))
        .api(Action::ManageRetention, routes!(retention))
}

/// The confirmation of an erasure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The patient's MRN, typed as confirmation.
    #[serde(default)]
    pub confirm_mrn: String,
}

/// An erasure, or the tombstone of an erased patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureRecord {
    pub patient_id: String,
    pub pseudonym: String,
    pub erased_at: DateTime<Utc>,
    /// `data_subject_request`, `retention_expired` or `ledger_replay` (tombstones only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_category: Option<String>,
    /// The erasure ledger's entry, once written.
    pub ledger_sequence: Option<u64>,
    /// Set when the erasure is done but the ledger could not be written: repair the ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_problem: Option<String>,
}

impl From<ErasureOutcome> for ErasureRecord {
    fn from(o: ErasureOutcome) -> Self {
        Self {
            patient_id: o.patient_id.to_string(),
            pseudonym: o.pseudonym,
            erased_at: o.erased_at,
            reason_category: None,
            ledger_sequence: o.ledger_sequence,
            ledger_problem: o.ledger_problem,
        }
    }
}

impl From<Tombstone> for ErasureRecord {
    fn from(t: Tombstone) -> Self {
        Self {
            patient_id: t.patient_id.to_string(),
            pseudonym: t.pseudonym,
            erased_at: t.erased_at,
            reason_category: Some(t.reason_category),
            ledger_sequence: t.ledger_sequence,
            ledger_problem: None,
        }
    }
}

/// A legal hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalHoldRecord {
    pub id: String,
    pub patient_id: String,
    /// A case or matter reference (stored in clear).
    pub reason: String,
    pub set_by: Option<String>,
    pub set_at: DateTime<Utc>,
    /// The hold ends at this instant (the end of its last day); absent: until released.
    pub until: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    /// In force now.
    pub active: bool,
}

impl From<LegalHold> for LegalHoldRecord {
    fn from(h: LegalHold) -> Self {
        Self {
            id: h.id,
            patient_id: h.patient_id.to_string(),
            reason: h.reason,
            set_by: h.set_by,
            set_at: h.set_at,
            until: h.until,
            released_at: h.released_at,
            released_by: h.released_by,
            active: h.active,
        }
    }
}

/// The patient's legal holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalHoldList {
    pub items: Vec<LegalHoldRecord>,
}

/// A new legal hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldRequest {
    /// A case or matter reference, 3–200 characters (no names or clinical details).
    #[serde(default)]
    #[schema(required = true, min_length = 1, pattern = r"\S")]
    pub reason: String,
    /// The hold's last day (`YYYY-MM-DD`, clinic time zone); absent: until released.
    #[serde(default)]
    pub until: Option<String>,
}

/// One patient past retention.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionEntry {
    pub patient_id: String,
    pub pseudonym: String,
    pub last_activity: DateTime<Utc>,
    /// `encounter` or `registration`.
    pub basis: String,
}

/// The retention report.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionReportRecord {
    pub years: u32,
    pub cutoff: DateTime<Utc>,
    pub items: Vec<RetentionEntry>,
    /// Past retention but under a legal hold.
    pub held: usize,
    pub job_erases: bool,
    /// Erasures not yet in the erasure ledger.
    pub ledger_pending: usize,
}

/// Erases a patient (GDPR Art. 17).
///
/// Administrators. Crypto-shreds the patient (their data key, sealed fields and search
/// indexes), keeps a tombstone and writes the erasure ledger. Refused with 409 and the
/// reason under a legal hold or within clinical-record retention.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/erasure", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = ErasureRequest,
    responses(
        (status = 200, description = "Erased", body = ErasureRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused: a legal hold or retention applies, or erased already (the detail says which)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The MRN confirmation is missing or wrong", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<ErasureRequest>, ApiError>,
) -> Result<Json<ErasureRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let outcome = state
        .services
        .erase_patient(&actor, id, &body.confirm_mrn)
        .await?;
    Ok(Json(outcome.into()))
}

/// The tombstone of an erased patient.
///
/// Administrators. 404 when the patient is not erased.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/erasure", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The tombstone", body = ErasureRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient, or not erased", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn tombstone(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<ErasureRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let tombstone = state.services.erasure_tombstone(&actor, id).await?;
    Ok(Json(tombstone.into()))
}

/// Lists the patient's legal holds.
///
/// Administrators.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/legal-holds", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The holds, newest first", body = LegalHoldList),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_holds(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<LegalHoldList>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let holds = state.services.legal_holds(&actor, id).await?;
    Ok(Json(LegalHoldList {
        items: holds.into_iter().map(Into::into).collect(),
    }))
}

/// Sets a legal hold: the patient cannot be erased while it is in force.
///
/// Administrators.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/legal-holds", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = LegalHoldRequest,
    responses(
        (status = 201, description = "The hold", body = LegalHoldRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_hold(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<LegalHoldRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let hold = state
        .services
        .set_legal_hold(
            &actor,
            id,
            LegalHoldInput {
                reason: body.reason,
                until: body.until,
            },
        )
        .await?;
    let location = format!("/api/v1/patients/{id}/legal-holds/{}", hold.id);
    let mut response = (StatusCode::CREATED, Json(LegalHoldRecord::from(hold))).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Releases a legal hold.
///
/// Administrators.
#[utoipa::path(
    delete, path = "/api/v1/patients/{id}/legal-holds/{hold_id}", tag = "patients",
    params(
        ("id" = String, Path, format = Uuid, description = "The patient's id"),
        ("hold_id" = String, Path, description = "The hold's id"),
    ),
    responses(
        (status = 200, description = "The released hold", body = LegalHoldRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Released already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn release_hold(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((id, hold_id)): Path<(String, String)>,
) -> Result<Json<LegalHoldRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let hold = state
        .services
        .release_legal_hold(&actor, id, &hold_id)
        .await?;
    Ok(Json(hold.into()))
}

/// The patients past clinical-record retention without a legal hold.
///
/// Administrators. Each patient listed is recorded in the audit trail.
#[utoipa::path(
    get, path = "/api/v1/retention", tag = "patients",
    responses(
        (status = 200, description = "The report", body = RetentionReportRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn retention(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<RetentionReportRecord>, ApiError> {
    let report = state.services.retention_report(&actor).await?;
    Ok(Json(RetentionReportRecord {
        years: report.years,
        cutoff: report.cutoff,
        items: report
            .items
            .into_iter()
            .map(|item| RetentionEntry {
                patient_id: item.patient_id.to_string(),
                pseudonym: item.pseudonym,
                last_activity: item.last_activity,
                basis: if item.from_encounter {
                    "encounter"
                } else {
                    "registration"
                }
                .into(),
            })
            .collect(),
        held: report.held,
        job_erases: report.job_erases,
        ledger_pending: report.ledger_pending,
    }))
}
