//! `/api/v1/audit`: the audit log for administrators and auditors (filtered events, the
//! streamed CSV export), and what an outside party needs to check the log: the latest
//! signed checkpoint with the verifier key, and inclusion and consistency proofs. Hashes
//! are lowercase hex.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use carevault_service::Actor;
use carevault_service::audit_log::{AuditEntry, AuditPage, ConsistencyProof, InclusionProof};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit_query::{AuditEventsParams, AuditExportParams};
use crate::csv_export::{audit_csv_response, rfc3339_utc};
use crate::extract::{ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventRecord {
    /// Position in the log (0 is the first event).
    seq: u64,
    /// RFC 3339, UTC, microseconds.
    #[schema(example = "2026-03-02T09:00:00.000000Z")]
    time: String,
    /// `user`, `operator` (the server's console), `system` or `anonymous`.
    actor_kind: String,
    /// The acting account's user id.
    actor_id: Option<String>,
    /// The acting account's display name, while the account exists.
    actor_name: Option<String>,
    actor_role: Option<String>,
    #[schema(example = "sign_in")]
    action: String,
    #[schema(example = "session")]
    resource_type: String,
    /// Opaque id of the resource; never a name.
    resource_id: Option<String>,
    /// The patient's pseudonym when the resource belongs to a patient.
    patient_pseudonym: Option<String>,
    /// `allowed`, `denied` or `failed`.
    outcome: String,
    reason: Option<String>,
    request_id: Option<String>,
}

impl From<AuditEntry> for AuditEventRecord {
    fn from(e: AuditEntry) -> Self {
        Self {
            seq: e.seq,
            time: rfc3339_utc(e.time),
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            actor_role: e.actor_role,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            patient_pseudonym: e.patient_pseudonym,
            outcome: e.outcome,
            reason: e.reason,
            request_id: e.request_id,
        }
    }
}

/// A page of matching events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventsPage {
    /// How many events match the filters in all.
    total: u64,
    offset: u64,
    limit: u64,
    events: Vec<AuditEventRecord>,
}

impl From<AuditPage> for AuditEventsPage {
    fn from(page: AuditPage) -> Self {
        Self {
            total: page.total,
            offset: page.offset,
            limit: page.limit,
            events: page.entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// An audit route's query parameters, looked at only once the caller has audit access (a
/// refusal is recorded, whatever the parameters).
async fn audit_params<P>(
    state: &AppState,
    actor: &Actor,
    params: Result<ApiQuery<P>, ApiError>,
) -> Result<P, ApiError> {
    state.services.require_audit_access(actor).await?;
    let ApiQuery(params) = params?;
    Ok(params)
}

/// Audit events matching the filters, newest first.
///
/// For administrators and auditors. The view is itself recorded as an `audit_viewed` event
/// (before the events are read, so it is the newest one listed).
#[utoipa::path(
    get, path = "/api/v1/audit/events", tag = "audit",
    params(AuditEventsParams),
    responses(
        (status = 200, description = "A page of events", body = AuditEventsPage),
        (status = 403, description = "Not an administrator or auditor (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AuditEventsParams>, ApiError>,
) -> Result<Json<AuditEventsPage>, ApiError> {
    let params = audit_params(&state, &actor, params).await?;
    let query = params
        .to_api_query()
        .map_err(|errors| Problem::validation(&errors))?;
    let page = state
        .services
        .audit_events(&actor, query.filter, query.offset, query.limit)
        .await?;
    Ok(Json(page.into()))
}

/// The events matching the filters as a CSV download.
///
/// For administrators and auditors. RFC 4180 with CRLF line ends, oldest first, streamed.
/// Cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// TAB or CR) get a leading apostrophe. Columns: seq, time, actor_id, actor_name, actor_role,
/// action, resource_type, resource_id, patient_pseudonym, outcome, reason, request_id. The
/// export is itself recorded as an `audit_exported` event, and does not include that event.
#[utoipa::path(
    get, path = "/api/v1/audit/export.csv", tag = "audit",
    params(AuditExportParams),
    responses(
        (status = 200, description = "The CSV file, as an attachment `audit-events.csv`", body = String, content_type = "text/csv"),
        (status = 403, description = "Not an administrator or auditor (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AuditExportParams>, ApiError>,
) -> Result<Response, ApiError> {
    let params = AuditEventsParams::from(audit_params(&state, &actor, params).await?);
    let query = params
        .to_api_query()
        .map_err(|errors| Problem::validation(&errors))?;
    let export = state
        .services
        .export_audit_events(&actor, query.filter)
        .await?;
    Ok(audit_csv_response(export))
}

/// The latest signed checkpoint of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditCheckpointInfo {
    /// The log's origin line (first line of the note).
    origin: String,
    /// Events covered.
    tree_size: u64,
    /// RFC 6962 root of the first `tree_size` events, hex.
    root_hash: String,
    /// The C2SP signed note (tlog-checkpoint), verbatim.
    note: String,
    /// The C2SP verifier key that checks the note's signature.
    verifier_key: String,
    created_at: DateTime<Utc>,
}

/// The latest signed checkpoint and the key that verifies it.
///
/// For administrators and auditors. The note is a C2SP tlog-checkpoint signed note; check
/// it with the verifier key, then check proofs against its root.
#[utoipa::path(
    get, path = "/api/v1/audit/checkpoint", tag = "audit",
    responses(
        (status = 200, description = "The checkpoint", body = AuditCheckpointInfo),
        (status = 403, description = "Not an administrator or auditor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint has been signed yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkpoint(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<AuditCheckpointInfo>, ApiError> {
    let Some(row) = state.services.latest_checkpoint(&actor).await? else {
        return Err(Problem::for_status(StatusCode::NOT_FOUND)
            .with_detail("No audit checkpoint has been signed yet.")
            .into());
    };
    Ok(Json(AuditCheckpointInfo {
        origin: state.services.audit_origin().to_owned(),
        tree_size: row.tree_size,
        root_hash: row.root_hash.to_lowercase(),
        note: row.note,
        verifier_key: state.services.audit_verifier_key(),
        created_at: row.created_at,
    }))
}

/// Which inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionProofParams {
    /// The event's sequence number.
    index: u64,
    /// The tree size to prove against (at most the current size), e.g. a checkpoint's.
    size: u64,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditInclusionProof {
    index: u64,
    tree_size: u64,
    /// The event's leaf hash, hex.
    leaf_hash: String,
    /// Sibling hashes from the leaf up, hex.
    proof: Vec<String>,
    /// Root of the first `tree_size` events, hex.
    root_hash: String,
}

impl From<InclusionProof> for AuditInclusionProof {
    fn from(p: InclusionProof) -> Self {
        Self {
            index: p.index,
            tree_size: p.size,
            leaf_hash: hex::encode(p.leaf_hash),
            proof: p.proof.iter().map(hex::encode).collect(),
            root_hash: hex::encode(p.root),
        }
    }
}

/// Proof that event `index` is in the log of its first `size` events.
///
/// For administrators and auditors. RFC 9162 §2.1.3.
#[utoipa::path(
    get, path = "/api/v1/audit/proof/inclusion", tag = "audit",
    params(InclusionProofParams),
    responses(
        (status = 200, description = "The proof", body = AuditInclusionProof),
        (status = 403, description = "Not an administrator or auditor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid `index` or `size`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<InclusionProofParams>, ApiError>,
) -> Result<Json<AuditInclusionProof>, ApiError> {
    let params = audit_params(&state, &actor, params).await?;
    let proof = state
        .services
        .audit_inclusion_proof(&actor, params.index, params.size)
        .await?;
    Ok(Json(proof.into()))
}

/// Which consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyProofParams {
    /// The older tree size (at least 1).
    from: u64,
    /// The newer tree size (at least `from`, at most the current size).
    to: u64,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditConsistencyProof {
    from: u64,
    to: u64,
    /// The proof's hashes, hex.
    proof: Vec<String>,
    /// Root of the first `from` events, hex.
    from_root: String,
    /// Root of the first `to` events, hex.
    to_root: String,
}

impl From<ConsistencyProof> for AuditConsistencyProof {
    fn from(p: ConsistencyProof) -> Self {
        Self {
            from: p.from,
            to: p.to,
            proof: p.proof.iter().map(hex::encode).collect(),
            from_root: hex::encode(p.from_root),
            to_root: hex::encode(p.to_root),
        }
    }
}

/// Proof that the log of `from` events is a prefix of the log of `to` events.
///
/// For administrators and auditors. RFC 9162 §2.1.4.
#[utoipa::path(
    get, path = "/api/v1/audit/proof/consistency", tag = "audit",
    params(ConsistencyProofParams),
    responses(
        (status = 200, description = "The proof", body = AuditConsistencyProof),
        (status = 403, description = "Not an administrator or auditor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid `from` or `to`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn consistency_proof(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<ConsistencyProofParams>, ApiError>,
) -> Result<Json<AuditConsistencyProof>, ApiError> {
    let params = audit_params(&state, &actor, params).await?;
    let proof = state
        .services
        .audit_consistency_proof(&actor, params.from, params.to)
        .await?;
    Ok(Json(proof.into()))
}
