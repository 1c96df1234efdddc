//! Health probes for load balancers and orchestrators: `/healthz` says the process is alive,
//! `/readyz` whether it can serve. Both are public and reveal nothing but a few fixed words:
//!
//! ```json
//! {"status": "ready" | "unavailable",
//!  "database": "ok" | "unreachable",   (the pre-checks shape, same value as below)
//!  "checks": {"database": "ok" | "unreachable",
//!             "disk": "ok" | "low" | "unknown",
//!             "backup": "ok" | "stale" | "failed" | "none" | "unknown",
//!             "audit": "verified" | "failed" | "pending" | "unknown"}}
//! ```
//!
//! Only an unreachable database answers 503 (takes the node out of the load balancer): a
//! low disk, a stale or failed backup or a failed audit verification are reported for the
//! operator, but every node would share them, and taking them all out would turn a warning
//! into an outage. "unknown" is what a check says when it cannot be read (the backup and
//! audit facts live in the database; the disk is unknown without a data directory).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carevault_service::status::Readiness;
use serde_json::{Value, json};

use crate::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The `/readyz` document for `readiness`, and its status code.
pub fn readiness_document(readiness: &Readiness) -> (StatusCode, Value) {
    let disk = match readiness.disk_low {
        Some(true) => "low",
        Some(false) => "ok",
        None => "unknown",
    };
    let backup = readiness.backup.map_or("unknown", |b| b.as_str());
    let audit = match (readiness.audit_known, readiness.audit_verified) {
        (false, _) => "unknown",
        (true, Some(true)) => "verified",
        (true, Some(false)) => "failed",
        (true, None) => "pending",
    };
    let ready = readiness.ready();
    let database = if readiness.database {
        "ok"
    } else {
        "unreachable"
    };
    let document = json!({
        "status": if ready { "ready" } else { "unavailable" },
        // The shape before the checks existed, kept for probes configured on it.
        "database": database,
        "checks": {
            "database": database,
            "disk": disk,
            "backup": backup,
            "audit": audit,
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, document)
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, document) = readiness_document(&state.services.readiness().await);
    (status, Json(document))
}
