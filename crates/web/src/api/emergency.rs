//! `/api/v1/break-glass`: emergency access's JSON face. A doctor or nurse outside a
//! patient's care team breaks the glass (`POST`, granted at once, audited as
//! `break_glass`); administrators list the review queue and judge each grant; doctors and
//! nurses list their own grants. Handlers parse, call one `carevault_service::emergency`
//! use case with the actor, and render.
//!
//! - **Who**: the service decides (doctors and nurses break the glass; administrators
//!   review). Everyone else gets 403, recorded.
//! - **Times** are RFC 3339 in UTC (`Z`), as the red banner shows them.
//! - **What is shown**: `patient` is the name for administrators and for the holder while
//!   the grant lasts, else the pseudonym (`ANON_…`), as the service chose. The stated
//!   `reason` is shown to administrators and to the holder.
//! - **Bad input** (a short reason, a duration outside 15–1440 minutes, an unknown patient,
//!   a malformed id or status) is a 422 naming the field.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_service::emergency::{EmergencyAccessInput, EmergencyGrant, ReviewStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{path_uuid, validation};
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the break-the-glass API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::SeeEmergencyAccess, routes!(list))
        .api(Action::BreakTheGlass, routes!(request_access))
        .api(Action::ReviewEmergencyAccess, routes!(review))
}

// ---------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------

fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An emergency access grant as the caller may see it.
#[derive(Clone, Serialize, ToSchema)]
pub struct EmergencyGrantRecord {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(value_type = String, format = Uuid)]
    patient_id: String,
    /// The patient's name (administrators; the holder while the grant lasts), else the
    /// pseudonym (`ANON_…`).
    patient: String,
    /// The clinician who broke the glass.
    #[schema(value_type = String, format = Uuid)]
    clinician_id: String,
    /// The clinician's display name.
    #[schema(example = "Dr. Sarah Smith")]
    clinician: String,
    /// The stated reason (administrators and the holder).
    #[schema(example = "Unconscious in the emergency department, no care team reachable")]
    reason: Option<String>,
    #[schema(example = 240)]
    duration_minutes: u32,
    /// RFC 3339, UTC.
    #[schema(example = "2026-03-02T09:00:00Z")]
    granted_at: String,
    /// RFC 3339, UTC; access ends at this instant.
    #[schema(example = "2026-03-02T13:00:00Z")]
    expires_at: String,
    /// Whether the grant is in force now.
    active: bool,
    /// `pending`, `justified` or `unjustified`.
    #[schema(example = "pending")]
    review_status: String,
    /// The reviewer's note; `null` until reviewed.
    review_note: Option<String>,
    /// The reviewer's display name; `null` until reviewed.
    reviewed_by: Option<String>,
    /// RFC 3339, UTC; `null` until reviewed.
    reviewed_at: Option<String>,
}

impl std::fmt::Debug for EmergencyGrantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `patient` may be a name and `reason` is clinical: never in Debug output.
        f.debug_struct("EmergencyGrantRecord")
            .field("id", &self.id)
            .field("review_status", &self.review_status)
            .finish_non_exhaustive()
    }
}

impl From<EmergencyGrant> for EmergencyGrantRecord {
    fn from(g: EmergencyGrant) -> Self {
        Self {
            id: g.id,
            patient_id: g.patient_id.to_string(),
            patient: g.patient_label,
            clinician_id: g.user_id.to_string(),
            clinician: g.clinician_name,
            reason: g.reason,
            duration_minutes: g.duration_minutes,
            granted_at: utc(g.granted_at),
            expires_at: utc(g.expires_at),
            active: g.active,
            review_status: g.review_status.as_str().to_owned(),
            review_note: g.review_note.flatten(),
            reviewed_by: g.reviewed_by,
            reviewed_at: g.reviewed_at.map(utc),
        }
    }
}

/// Grants, newest first as the service lists them.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyGrantList {
    items: Vec<EmergencyGrantRecord>,
}

/// A request for emergency access to one patient's record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyAccessRequest {
    #[serde(default)]
    #[schema(format = Uuid, required = true)]
    patient_id: String,
    /// Why, in at least 20 characters (at most 1,000): it is sealed and reviewed.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 20,
        max_length = 1000,
        example = "Unconscious in the emergency department, no care team reachable"
    )]
    reason: String,
    /// 15–1440 (24 hours); absent or `null`: 240 (4 hours).
    #[serde(default, deserialize_with = "crate::api::scheduling::minutes")]
    #[schema(value_type = Option<i64>, example = 240, minimum = 15, maximum = 1440)]
    duration_minutes: Option<String>,
}

impl std::fmt::Debug for EmergencyAccessRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyAccessRequest")
            .field("patient_id", &self.patient_id)
            .finish_non_exhaustive()
    }
}

/// An administrator's verdict on a grant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyReviewRequest {
    /// `justified` or `unjustified`.
    #[schema(example = "justified", schema_with = verdict_schema)]
    verdict: String,
    /// 3–1,000 characters.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 3,
        max_length = 1000,
        example = "Confirmed with the ED rota: the patient arrived unconscious."
    )]
    note: String,
}

impl std::fmt::Debug for EmergencyReviewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyReviewRequest")
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

/// Which grants to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EmergencyGrantListParams {
    /// `pending`, `justified` or `unjustified`; absent: all.
    #[param(schema_with = review_status_schema)]
    status: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

/// Breaks the glass: emergency access to one patient's record, at once.
///
/// Doctors and nurses outside the patient's care team. While the grant lasts the caller
/// sees the record as the care team does; the grant is recorded in the audit log as
/// `break_glass` and waits in the administrators' review queue.
#[utoipa::path(
    post, path = "/api/v1/break-glass", tag = "break-glass",
    request_body = EmergencyAccessRequest,
    responses(
        (status = 201, description = "Granted until `expires_at`", body = EmergencyGrantRecord),
        (status = 403, description = "Not a doctor or nurse (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller is on the patient's care team already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (a reason under 20 characters, a duration outside 15–1440 minutes, an unknown patient); `errors[].field` names each bad field", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_access(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<EmergencyAccessRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let grant = state
        .services
        .request_emergency_access(
            &actor,
            EmergencyAccessInput {
                patient_id: body.patient_id,
                reason: body.reason,
                duration_minutes: body.duration_minutes,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(EmergencyGrantRecord::from(grant))).into_response())
}

/// Emergency access grants.
///
/// Administrators: the review queue (every grant, or those with `status`; each listing is
/// recorded). Doctors and nurses: their own grants.
#[utoipa::path(
    get, path = "/api/v1/break-glass", tag = "break-glass",
    params(EmergencyGrantListParams),
    responses(
        (status = 200, description = "The grants", body = EmergencyGrantList),
        (status = 403, description = "Not an administrator, doctor or nurse (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown `status` or parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<EmergencyGrantListParams>, ApiError>,
) -> Result<Json<EmergencyGrantList>, ApiError> {
    let ApiQuery(params) = params?;
    crate::extract::refuse_empty_params(&[("status", params.status.as_deref())])
        .map_err(|e| Problem::validation(&e))?;
    let status = match params.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            ReviewStatus::parse(raw)
                .map_err(|message| validation(&ValidationErrors::single("status", message)))?,
        ),
    };
    let grants = state.services.emergency_grants(&actor, status).await?;
    Ok(Json(EmergencyGrantList {
        items: grants.into_iter().map(Into::into).collect(),
    }))
}

/// Reviews a grant: justified or not, with a note.
///
/// Administrators; once per grant.
#[utoipa::path(
    post, path = "/api/v1/break-glass/{id}/review", tag = "break-glass",
    params(("id" = String, Path, format = Uuid, description = "The grant's id")),
    request_body = EmergencyReviewRequest,
    responses(
        (status = 200, description = "The reviewed grant", body = EmergencyGrantRecord),
        (status = 403, description = "Not an administrator (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The grant has been reviewed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown verdict, a missing note or a malformed id; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn review(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<EmergencyReviewRequest>, ApiError>,
) -> Result<Json<EmergencyGrantRecord>, ApiError> {
    let id = path_uuid(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let grant = state
        .services
        .review_emergency_access(&actor, &id, &body.verdict, &body.note)
        .await?;
    Ok(Json(grant.into()))
}

fn review_status_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(["pending", "justified", "unjustified"])
}

fn verdict_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(["justified", "unjustified"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_arrive_as_numbers_or_text_and_default_when_absent() {
        let body: EmergencyAccessRequest =
            serde_json::from_str(r#"{"patient_id": "x", "reason": "r", "duration_minutes": 60}"#)
                .unwrap();
        assert_eq!(body.duration_minutes.as_deref(), Some("60"));
        let body: EmergencyAccessRequest =
            serde_json::from_str(r#"{"patient_id": "x", "reason": "r"}"#).unwrap();
        assert_eq!(body.duration_minutes, None);
        assert!(
            serde_json::from_str::<EmergencyAccessRequest>(r#"{"patient_id": "x", "why": "r"}"#)
                .is_err()
        );
    }
}
