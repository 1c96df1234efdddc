//! `/api/v1/patients/{id}/access-export` (GDPR Art. 15/20: everything held about the
//! patient, as a ZIP) and `/api/v1/patients/{id}/consents` (the patient's consents and their
//! history; recording one). Who may do what is decided in `service/subject_access/` and
//! `service/consents.rs`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_service::consents::{ConsentInput, ConsentOverview};
use carevault_service::subject_access::AccessExport;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{no_such_patient, path_patient_id};
use crate::AppState;
use crate::extract::{ApiJson, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the access-export and consent routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::SubjectRights, routes!(access_export))
        .api(Action::ManageConsents, routes!(consents))
        .api(Action::ManageConsents, routes!(record_consent))
}

/// The ZIP as an attachment (`application/zip`, never cached).
pub(crate) fn zip_attachment(export: AccessExport) -> Response {
    let mut response = (StatusCode::OK, Body::from(export.bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    // The name is built by the service from a pseudonym and a date: ASCII letters, digits,
    // `_`, `-` and `.`, so it needs no escaping.
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One consent record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordBody {
    pub id: String,
    /// `email_notifications`, `sms_notifications`, `appointment_reminders`, `research` or
    /// `data_sharing`.
    pub purpose: String,
    /// `granted` or `withdrawn`.
    pub status: String,
    pub recorded_at: DateTime<Utc>,
    /// The account that recorded it.
    pub recorded_by: String,
    pub recorded_by_name: String,
    /// Whether the patient recorded it themselves.
    pub recorded_by_patient: bool,
    pub note: Option<String>,
}

/// The consent in force for one purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentConsentBody {
    pub purpose: String,
    pub status: String,
    /// When the record in force was made; absent when nothing was recorded (the default
    /// applies).
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A patient's consents.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentList {
    pub patient_id: String,
    /// One per purpose.
    pub current: Vec<CurrentConsentBody>,
    /// Every record, newest first.
    pub history: Vec<ConsentRecordBody>,
}

impl From<ConsentOverview> for ConsentList {
    fn from(c: ConsentOverview) -> Self {
        Self {
            patient_id: c.patient_id.to_string(),
            current: c
                .current
                .into_iter()
                .map(|cur| CurrentConsentBody {
                    purpose: cur.purpose.as_str().to_owned(),
                    status: cur.status.as_str().to_owned(),
                    recorded_at: cur.recorded_at,
                })
                .collect(),
            history: c
                .history
                .into_iter()
                .map(|r| ConsentRecordBody {
                    purpose: r.purpose.as_str().to_owned(),
                    status: r.status.as_str().to_owned(),
                    id: r.id,
                    recorded_at: r.recorded_at,
                    recorded_by: r.recorded_by,
                    recorded_by_name: r.recorded_by_name,
                    recorded_by_patient: r.by_patient,
                    note: r.note,
                })
                .collect(),
        }
    }
}

/// A consent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// `email_notifications`, `sms_notifications`, `appointment_reminders`, `research` or
    /// `data_sharing`.
    #[schema(schema_with = consent_purpose_schema)]
    pub purpose: String,
    /// `granted` or `withdrawn`.
    #[schema(schema_with = consent_status_schema)]
    pub status: String,
    /// Optional, at most 500 characters (e.g. the reference of a signed paper form).
    #[serde(default)]
    pub note: Option<String>,
}

/// Everything held about the patient, as a ZIP.
///
/// Administrators for any patient; the patient for their own record. One JSON file per
/// section (patient, appointments, encounters, diagnoses, vitals, prescriptions, documents,
/// invoices, notifications, consents, access_log), the documents' original bytes under
/// `documents/`, `manifest.json` and `README.txt`. Audited.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/access-export", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The ZIP archive", content_type = "application/zip", body = Vec<u8>),
        (status = 403, description = "Not an administrator, nor the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient, or the record was erased", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn access_export(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let export = state.services.access_export(&actor, id).await?;
    Ok(zip_attachment(export))
}

/// The patient's consents: the one in force per purpose, and the history.
///
/// Administrators and receptionists for any patient; the patient for their own record.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/consents", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The consents", body = ConsentList),
        (status = 403, description = "Not allowed, or not the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn consents(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<ConsentList>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let overview = state.services.patient_consents(&actor, id).await?;
    Ok(Json(overview.into()))
}

/// Records a consent (granted or withdrawn) for one purpose.
///
/// Administrators and receptionists for any patient (e.g. from a signed paper form); the
/// patient for themselves. The history is kept: each change is a new record.
#[utoipa::path(
    post, path = "/api/v1/patients/{id}/consents", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body = ConsentRequest,
    responses(
        (status = 201, description = "The consents after the change", body = ConsentList),
        (status = 403, description = "Not allowed, or not the patient's own record", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_consent(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<ConsentRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let ApiJson(body) = body?;
    let overview = state
        .services
        .record_consent(
            &actor,
            id,
            ConsentInput {
                purpose: body.purpose,
                status: body.status,
                note: body.note,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ConsentList::from(overview))).into_response())
}

fn consent_purpose_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of([
        "email_notifications",
        "sms_notifications",
        "appointment_reminders",
        "research",
        "data_sharing",
    ])
}

fn consent_status_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(["granted", "withdrawn"])
}
