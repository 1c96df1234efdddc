//! `/api/v1/patients/{id}/shares`: a patient shares their record with a named doctor for a
//! number of days, lists their shares and revokes one. Only the patient manages them (an
//! administrator may list); anyone else is refused with 403, whether or not the record exists.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_service::shares::{RecordShare, ShareInput};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{no_such_patient, path_patient_id};
use crate::AppState;
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the share routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::SubjectRights, routes!(list))
        .api(Action::UsePortal, routes!(grant))
        .api(Action::UsePortal, routes!(revoke))
}

/// A share of the patient's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareRecord {
    pub id: String,
    pub patient_id: String,
    pub doctor_id: String,
    pub doctor: String,
    /// `record` (the whole record), `encounter` or `document`.
    pub scope: String,
    /// The shared encounter or document.
    pub scope_id: Option<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// In force now.
    pub active: bool,
}

impl From<RecordShare> for ShareRecord {
    fn from(share: RecordShare) -> Self {
        Self {
            id: share.id,
            patient_id: share.patient_id.to_string(),
            doctor_id: share.doctor_id.to_string(),
            doctor: share.doctor_name,
            scope: share.scope,
            scope_id: share.scope_id,
            granted_at: share.granted_at,
            expires_at: share.expires_at,
            revoked_at: share.revoked_at,
            active: share.active,
        }
    }
}

/// The patient's shares.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareList {
    pub items: Vec<ShareRecord>,
}

/// A new share.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// The doctor's user id (see `/api/v1/staff`).
    pub doctor_id: String,
    /// How many days, 1–365. Default: 30.
    #[serde(default, deserialize_with = "super::scheduling::minutes")]
    #[schema(value_type = Option<u32>)]
    pub days: Option<String>,
    /// `record` (default: the whole record), `encounter` or `document`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The encounter's or document's id, for those scopes.
    #[serde(default)]
    pub scope_id: Option<String>,
}

/// Lists the patient's shares.
///
/// The patient (their own record) and administrators.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/shares", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The shares, newest first", body = ShareList),
        (status = 403, description = "Not the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a patient id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<ShareList>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let shares = state.services.record_shares(&actor, id).await?;
    Ok(Json(ShareList {
        items: shares.into_iter().map(Into::into).collect(),
    }))
}

/// Shares the record, or one signed encounter or document of it, with a doctor.
///
/// The patient only. A record share puts the doctor on the care team (the record in full)
/// until it expires or is revoked; an encounter or document share lets them read that item
/// only.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/shares", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = ShareRequest,
    responses(
        (status = 201, description = "The share", body = ShareRecord),
        (status = 403, description = "Not the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already shared with this doctor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<ShareRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let share = state
        .services
        .grant_record_share(
            &actor,
            id,
            ShareInput {
                doctor_id: body.doctor_id,
                days: body.days,
                scope: body.scope,
                scope_id: body.scope_id,
            },
        )
        .await?;
    let location = format!("/api/v1/patients/{id}/shares/{}", share.id);
    let mut response = (StatusCode::CREATED, Json(ShareRecord::from(share))).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Revokes a share.
///
/// The patient only. The doctor's access ends at once.
#[utoipa::path(
    delete, path = "/api/v1/patients/{id}/shares/{share_id}", tag = "patients",
    params(
        ("id" = String, Path, format = Uuid, description = "The patient's id"),
        ("share_id" = String, Path, description = "The share's id"),
    ),
    responses(
        (status = 200, description = "The revoked share", body = ShareRecord),
        (status = 403, description = "Not the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such share", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Revoked already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((id, share_id)): Path<(String, String)>,
) -> Result<Json<ShareRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let share = state
        .services
        .revoke_record_share(&actor, id, &share_id)
        .await?;
    Ok(Json(share.into()))
}
