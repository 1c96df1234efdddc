//! Reading the audit trail: the audit pages and API (administrators and auditors), the CSV
//! export, inclusion and consistency proofs, and a patient's "who accessed my record".
//! Every view and export of the log is itself recorded in it.

use std::collections::HashMap;

use carevault_audit::{Hash, consistency_proof, inclusion_proof, subtree_root};
use carevault_core::Action;
use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_store::audit::{self as audit_store, AuditRow};

pub use carevault_store::audit::AuditFilter;
use carevault_store::{Conn, users};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::audit_verify::VerificationReport;
use crate::error::ServiceError;

/// An audit event for display: the stored fields plus the actor's display name.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// The acting account's display name, where the account exists.
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

/// One page of events.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// The largest page.
pub const MAX_PAGE: u64 = 500;

/// Display names of the accounts that acted in audit events, each looked up once.
#[derive(Default)]
pub(crate) struct ActorNames(HashMap<String, Option<String>>);

impl ActorNames {
    /// The display name of the account an event's `actor_id` names, if it exists.
    pub(crate) async fn of(
        &mut self,
        conn: &impl Conn,
        actor_id: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        let Some(id) = actor_id else {
            return Ok(None);
        };
        if !self.0.contains_key(id) {
            let name = match id.parse() {
                Ok(user) => users::find_by_id(conn, user)
                    .await?
                    .map(|u| u.display_name.to_string()),
                Err(_) => None,
            };
            self.0.insert(id.to_owned(), name);
        }
        Ok(self.0.get(id).cloned().flatten())
    }
}

impl Services {
    async fn entries(&self, rows: Vec<AuditRow>) -> Result<Vec<AuditEntry>, ServiceError> {
        let mut names = ActorNames::default();
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let f = row.fields;
            let actor_name = names.of(self.store().conn(), f.actor_id.as_deref()).await?;
            entries.push(AuditEntry {
                seq: row.seq,
                time: carevault_core::time::from_micros(f.time_micros),
                actor_kind: f.actor_kind,
                actor_id: f.actor_id,
                actor_name,
                actor_role: f.actor_role,
                action: f.action,
                resource_type: f.resource_type,
                resource_id: f.resource_id,
                patient_pseudonym: f.patient_pseudonym,
                outcome: f.outcome,
                reason: f.reason,
                request_id: f.request_id,
            });
        }
        Ok(entries)
    }

    /// Whether `actor` may read the audit log; a refusal is recorded. Callers use it to
    /// refuse before they even look at the request's parameters.
    pub async fn require_audit_access(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
            .await
    }

    /// A page of events matching `filter`, newest first. Administrators and auditors; the
    /// view is recorded.
    pub async fn audit_events(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        offset: u64,
        limit: u64,
    ) -> Result<AuditPage, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
            .await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut event = self.audit_event(actor, AuditAction::AuditViewed, ResourceType::AuditLog);
        event.reason = Some(describe_filter(&filter));
        self.record(event).await?;
        let conn = self.store().conn();
        let total = audit_store::count(conn, &filter).await?;
        let rows = audit_store::list(conn, &filter, offset, limit).await?;
        Ok(AuditPage {
            entries: self.entries(rows).await?,
            total,
            offset,
            limit,
        })
    }

    /// Starts an export of the events matching `filter`: records the export (with its row
    /// count) and returns a reader that yields the events in sequence order, page by page.
    pub async fn export_audit_events(
        &self,
        actor: &Actor,
        filter: AuditFilter,
    ) -> Result<AuditExport, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
            .await?;
        let total = audit_store::count(self.store().conn(), &filter).await?;
        let mut event = self.audit_event(actor, AuditAction::AuditExported, ResourceType::AuditLog);
        event.reason = Some(format!("{} rows; {}", total, describe_filter(&filter)));
        let seq = self.record(event).await?;
        Ok(AuditExport {
            services: self.clone(),
            filter,
            after: None,
            up_to: seq,
            total,
            done: false,
        })
    }

    /// Who accessed the actor's own record: events about the patient's record (by its
    /// pseudonym) and about their account, by anyone else, newest first. For patients only.
    pub async fn my_access_history(
        &self,
        actor: &Actor,
        offset: u64,
        limit: u64,
    ) -> Result<AuditPage, ServiceError> {
        let Some(user_id) = actor.user_id() else {
            return Err(ServiceError::Forbidden);
        };
        if !actor.reaches_own_record_only() {
            return Err(self
                .deny(
                    actor,
                    ResourceType::AuditLog,
                    None,
                    "only patients have an access history",
                )
                .await);
        }
        // The patient's record, by its pseudonym (every event about patient data carries
        // it); a patient account not linked to a record has only the account itself.
        let record =
            carevault_store::patients::find_by_account(self.store().conn(), user_id).await?;
        let filter = match record {
            Some(row) => AuditFilter {
                patient_or_account: Some((pseudonym_of(row.pseudonym_number), user_id.to_string())),
                exclude_actor_id: Some(user_id.to_string()),
                ..Default::default()
            },
            None => AuditFilter {
                resource_type: Some(ResourceType::Account.as_str().into()),
                resource_id: Some(user_id.to_string()),
                exclude_actor_id: Some(user_id.to_string()),
                ..Default::default()
            },
        };
        let limit = limit.clamp(1, MAX_PAGE);
        let conn = self.store().conn();
        let total = audit_store::count(conn, &filter).await?;
        let rows = audit_store::list(conn, &filter, offset, limit).await?;
        let mut event = self.audit_event(actor, AuditAction::AuditViewed, ResourceType::AuditLog);
        event.resource_id = Some(user_id.to_string());
        event.reason = Some("own access history".into());
        self.record(event).await?;
        Ok(AuditPage {
            entries: self.entries(rows).await?,
            total,
            offset,
            limit,
        })
    }

    /// An inclusion proof for event `index` in the tree of `size` events.
    pub async fn audit_inclusion_proof(
        &self,
        actor: &Actor,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
            .await?;
        let leaves = self.leaves_for(size).await?;
        let proof = inclusion_proof(&leaves, index, size).map_err(|e| proof_input("index", e))?;
        let root = subtree_root(&leaves, 0, size).map_err(|e| proof_input("size", e))?;
        let leaf = leaves
            .get(usize::try_from(index).unwrap_or(usize::MAX))
            .copied()
            .ok_or_else(|| {
                ServiceError::Validation(carevault_core::ValidationErrors::single(
                    "index",
                    "must be less than size",
                ))
            })?;
        Ok(InclusionProof {
            index,
            size,
            leaf_hash: leaf,
            proof,
            root,
        })
    }

    /// A consistency proof between the trees of `from` and `to` events.
    pub async fn audit_consistency_proof(
        &self,
        actor: &Actor,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::AuditLog)
            .await?;
        if from == 0 || from > to {
            return Err(carevault_core::ValidationErrors::single(
                "from",
                "must be at least 1 and at most `to`",
            )
            .into());
        }
        let leaves = self.leaves_for(to).await?;
        let proof = consistency_proof(&leaves, from, to).map_err(|e| proof_input("to", e))?;
        let from_root = subtree_root(&leaves, 0, from).map_err(|e| proof_input("from", e))?;
        let to_root = subtree_root(&leaves, 0, to).map_err(|e| proof_input("to", e))?;
        Ok(ConsistencyProof {
            from,
            to,
            proof,
            from_root,
            to_root,
        })
    }

    async fn leaves_for(&self, size: u64) -> Result<Vec<Hash>, ServiceError> {
        let state = audit_store::read_state(self.store().conn()).await?;
        if size == 0 || size > state.size {
            return Err(carevault_core::ValidationErrors::single(
                "size",
                format!("must be between 1 and the tree size ({})", state.size),
            )
            .into());
        }
        Ok(audit_store::leaf_hashes(self.store().conn(), size).await?)
    }

    /// The last verification of the audit trail, if one ran.
    pub async fn last_audit_verification(
        &self,
    ) -> Result<Option<VerificationReport>, ServiceError> {
        let stored = carevault_store::settings::get(self.store().conn(), LAST_VERIFICATION).await?;
        Ok(stored.and_then(|json| serde_json::from_str(&json).ok()))
    }

    pub(crate) async fn store_verification(
        &self,
        report: &VerificationReport,
    ) -> Result<(), ServiceError> {
        let json = serde_json::to_string(report).map_err(ServiceError::internal)?;
        carevault_store::settings::set(self.store().conn(), LAST_VERIFICATION, &json).await?;
        Ok(())
    }
}

/// The settings row holding the last verification report.
pub const LAST_VERIFICATION: &str = "audit_last_verification";

fn proof_input(field: &str, err: carevault_audit::ProofError) -> ServiceError {
    carevault_core::ValidationErrors::single(field, err.to_string()).into()
}

/// The filter in words, for the view's own audit event. Values are kept only when they are
/// ids or names from a fixed vocabulary; anything else a user typed is recorded as
/// "(other)", so no free text (possibly personal) enters the log.
fn describe_filter(filter: &AuditFilter) -> String {
    fn safe(value: &str) -> bool {
        let pseudonym = value
            .strip_prefix("ANON_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let vocabulary = (1..=40).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        pseudonym || vocabulary || uuid::Uuid::parse_str(value).is_ok()
    }
    let mut parts = Vec::new();
    let mut add = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            if safe(v) {
                parts.push(format!("{name}={v}"));
            } else {
                parts.push(format!("{name}=(other)"));
            }
        }
    };
    add("actor", &filter.actor_id);
    add("action", &filter.action);
    add("patient", &filter.patient_pseudonym);
    add("resource_type", &filter.resource_type);
    add("resource", &filter.resource_id);
    add("outcome", &filter.outcome);
    if filter.from_micros.is_some() || filter.until_micros.is_some() {
        parts.push("date range".into());
    }
    if parts.is_empty() {
        "all events".into()
    } else {
        parts.join(" ")
    }
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf_hash: Hash,
    pub proof: Vec<Hash>,
    pub root: Hash,
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Debug, Clone)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub proof: Vec<Hash>,
    pub from_root: Hash,
    pub to_root: Hash,
}

/// An export in progress: call [`AuditExport::next_page`] until it returns `None`. It reads
/// only events up to the export's own record, so it ends even while the log grows.
#[derive(Debug)]
pub struct AuditExport {
    services: Services,
    filter: AuditFilter,
    after: Option<u64>,
    up_to: u64,
    pub total: u64,
    done: bool,
}

impl AuditExport {
    pub async fn next_page(&mut self) -> Result<Option<Vec<AuditEntry>>, ServiceError> {
        if self.done {
            return Ok(None);
        }
        let rows =
            audit_store::list_after(self.services.store().conn(), &self.filter, self.after, 1000)
                .await?;
        let rows: Vec<AuditRow> = rows.into_iter().filter(|r| r.seq < self.up_to).collect();
        if rows.len() < 1000 {
            self.done = true;
        }
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.after = Some(last.seq);
        Ok(Some(self.services.entries(rows).await?))
    }
}

/// The outcome of an event, for filters.
pub fn parse_outcome(text: &str) -> Option<Outcome> {
    Outcome::parse(text)
}
