//! `/api/v1/system`: the installation's status, for administrators and their monitoring.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::CurrentActor;
use crate::problem::{ApiError, Problem};

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    version: String,
    /// `SQLite`, `PostgreSQL` or `MariaDB/MySQL`.
    database_backend: String,
    database_size_bytes: Option<i64>,
    uptime_seconds: u64,
    migrations_applied: Vec<String>,
    migrations_pending: Vec<String>,
    accounts: u64,
    active_sessions: u64,
}

/// Version, database, uptime and migrations (administrators only).
#[utoipa::path(
    get, path = "/api/v1/system/status", tag = "system",
    responses(
        (status = 200, description = "Status", body = StatusResponse),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<StatusResponse>, ApiError> {
    let s = state.services.system_status(&actor).await?;
    Ok(Json(StatusResponse {
        version: s.version.to_owned(),
        database_backend: s.backend.name().to_owned(),
        database_size_bytes: s.database_size_bytes,
        uptime_seconds: s.uptime.as_secs(),
        migrations_applied: s.migrations_applied,
        migrations_pending: s.migrations_pending,
        accounts: s.accounts,
        active_sessions: s.active_sessions,
    }))
}
