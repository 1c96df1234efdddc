//! The audit trail's append path and checkpoints.
//!
//! - **One way in.** Every event goes through [`append_events`]: under the tree-state lock it
//!   numbers the events, computes their RFC 6962 leaf hashes, inserts them and stores the
//!   new frontier, all in the caller's transaction.
//! - **Writes** append their event inside their own transaction ([`Services::append_in`]):
//!   the change and its record commit together or not at all.
//! - **Reads and refusals** go through the group-commit writer ([`Services::record`]):
//!   the events that queue while one batch commits share the next transaction, and each caller waits
//!   until its batch is committed. If the append fails, the caller fails (fail closed).
//! - **Checkpoints**: [`Services::checkpoint_now`] signs the current tree (C2SP signed note,
//!   Ed25519 key from the key directory), stores it and appends it to the checkpoint file
//!   outside the database. `serve` runs it every few seconds and at shutdown.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use carevault_audit::{
    Checkpoint, CheckpointSigner, CheckpointVerifier, Frontier, checkpoint_log_record, encode_leaf,
    leaf_hash,
};
use carevault_core::audit::{
    ActorKind as AuditActorKind, AuditAction, AuditEvent, Outcome, ResourceType,
};
use carevault_store::audit::{self as audit_store, CheckpointRow, NewAuditRow, TreeState};
use carevault_store::{Conn, StoreError, TransactionTrait};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::Services;
use crate::actor::{Actor, ActorKind};
use crate::error::ServiceError;

/// How the audit trail is signed and where its checkpoints go.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    signer: Arc<CheckpointSigner>,
    origin: String,
    /// `<data-dir>/checkpoints/checkpoints.log`, or none (tests that do not need the file).
    pub checkpoint_file: Option<PathBuf>,
    /// How long the group-commit writer waits for more events before committing a batch.
    /// Zero (the default) commits at once what has queued: an event alone waits for no timer,
    /// and under load the events that arrive during one commit form the next batch.
    pub group_commit_window: Duration,
    /// The most events in one batch.
    pub max_batch: usize,
}

/// The log's origin line: derived from the signing key, so each installation's log has its
/// own and the key and origin cannot be mixed up.
pub fn origin_for(key: &ed25519_dalek::VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("carevault/audit/{}", hex::encode(&digest[..8]))
}

impl AuditSettings {
    pub fn new(
        signing_key: ed25519_dalek::SigningKey,
        checkpoint_file: Option<PathBuf>,
    ) -> Result<Self, ServiceError> {
        let origin = origin_for(&signing_key.verifying_key());
        let signer =
            CheckpointSigner::new(origin.clone(), signing_key).map_err(ServiceError::internal)?;
        Ok(Self {
            signer: Arc::new(signer),
            origin,
            checkpoint_file,
            group_commit_window: Duration::ZERO,
            max_batch: 512,
        })
    }

    /// Settings with a fresh random key and no checkpoint file, for tests and benchmarks.
    pub fn ephemeral() -> Result<Self, ServiceError> {
        let key = ed25519_dalek::SigningKey::from_bytes(&carevault_crypto::random_bytes::<32>());
        Self::new(key, None)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier(&self) -> CheckpointVerifier {
        self.signer.verifier()
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn frontier_of(state: &TreeState) -> Result<Frontier, StoreError> {
    let frontier = if state.frontier.is_empty() {
        Frontier::new()
    } else {
        Frontier::from_bytes(&state.frontier)
            .map_err(|_| corrupt("audit_state.frontier cannot be read"))?
    };
    if frontier.size() != state.size {
        return Err(corrupt(
            "audit_state.frontier does not match audit_state.tree_size",
        ));
    }
    Ok(frontier)
}

/// Appends `events` in the caller's transaction and returns their sequence numbers.
pub(crate) async fn append_events(
    conn: &impl Conn,
    now: DateTime<Utc>,
    events: &[AuditEvent],
) -> Result<Vec<u64>, StoreError> {
    let state = audit_store::lock_state(conn, now).await?;
    let mut frontier = frontier_of(&state)?;
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let seq = frontier.size();
        let fields = event.fields();
        let hash = leaf_hash(&encode_leaf(seq, &fields.canonical_bytes()));
        frontier.push(hash);
        rows.push(NewAuditRow {
            seq,
            fields,
            leaf_hash: hash,
        });
    }
    audit_store::insert_events(conn, &rows).await?;
    audit_store::save_state(
        conn,
        &TreeState {
            size: frontier.size(),
            frontier: frontier.to_bytes(),
        },
    )
    .await?;
    Ok(rows.iter().map(|r| r.seq).collect())
}

struct Pending {
    event: AuditEvent,
    done: oneshot::Sender<Result<u64, ServiceError>>,
}

/// The group-commit writer's handle.
#[derive(Debug)]
pub(crate) struct AuditWriter {
    sender: Mutex<Option<mpsc::Sender<Pending>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

impl AuditWriter {
    pub(crate) fn start(
        store: carevault_store::Store,
        settings: &AuditSettings,
        clock: Arc<dyn crate::Clock>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel::<Pending>(8192);
        let window = settings.group_commit_window;
        let max_batch = settings.max_batch;
        let task = tokio::spawn(run_writer(store, receiver, window, max_batch, clock));
        Self {
            sender: Mutex::new(Some(sender)),
            task: Mutex::new(Some(task)),
        }
    }

    async fn submit(&self, event: AuditEvent) -> Result<u64, ServiceError> {
        let sender = self
            .sender
            .lock()
            .await
            .clone()
            .ok_or(ServiceError::Unavailable)?;
        let (done, wait) = oneshot::channel();
        sender
            .send(Pending { event, done })
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        wait.await.map_err(|_| ServiceError::Unavailable)?
    }

    /// Submits several events at once (so they share a group commit) and waits until all
    /// are durable.
    async fn submit_many(&self, events: Vec<AuditEvent>) -> Result<(), ServiceError> {
        let sender = self
            .sender
            .lock()
            .await
            .clone()
            .ok_or(ServiceError::Unavailable)?;
        let mut waits = Vec::with_capacity(events.len());
        for event in events {
            let (done, wait) = oneshot::channel();
            sender
                .send(Pending { event, done })
                .await
                .map_err(|_| ServiceError::Unavailable)?;
            waits.push(wait);
        }
        for wait in waits {
            wait.await.map_err(|_| ServiceError::Unavailable)??;
        }
        Ok(())
    }

    /// Events accepted but not yet taken by the writer (the `/metrics` queue depth).
    pub(crate) async fn queue_depth(&self) -> usize {
        self.sender
            .lock()
            .await
            .as_ref()
            .map_or(0, |s| s.max_capacity() - s.capacity())
    }

    /// Stops accepting events and waits until every accepted one is committed.
    pub(crate) async fn close(&self) {
        self.sender.lock().await.take();
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn run_writer(
    store: carevault_store::Store,
    mut receiver: mpsc::Receiver<Pending>,
    window: Duration,
    max_batch: usize,
    clock: Arc<dyn crate::Clock>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        // What queued up while the last batch was committing joins this one: alone, an
        // event commits at once; under load, batches grow by themselves.
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if !window.is_zero() {
            let deadline = tokio::time::Instant::now() + window;
            while batch.len() < max_batch {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(next)) => batch.push(next),
                    _ => break,
                }
            }
        }
        let events: Vec<AuditEvent> = batch.iter().map(|p| p.event.clone()).collect();
        let result = commit_batch(&store, clock.now(), &events).await;
        match result {
            Ok(seqs) => {
                for (pending, seq) in batch.into_iter().zip(seqs) {
                    let _ = pending.done.send(Ok(seq));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, events = batch.len(), "audit append failed; the requests fail");
                let unavailable = err.is_unavailable();
                for pending in batch {
                    let _ = pending.done.send(Err(if unavailable {
                        ServiceError::Unavailable
                    } else {
                        ServiceError::internal(anyhow::anyhow!("audit append failed"))
                    }));
                }
            }
        }
    }
}

async fn commit_batch(
    store: &carevault_store::Store,
    now: DateTime<Utc>,
    events: &[AuditEvent],
) -> Result<Vec<u64>, StoreError> {
    let txn = store.conn().begin().await?;
    let seqs = append_events(&txn, now, events).await?;
    txn.commit().await?;
    Ok(seqs)
}

/// The pseudonym (`ANON_…`) of the patient with this stored pseudonym number: what audit
/// events carry and what masked and pseudonymous views show instead of a name.
pub(crate) fn pseudonym_of(pseudonym_number: i64) -> String {
    carevault_crypto::mask::pseudonym(u64::try_from(pseudonym_number).unwrap_or(0))
}

impl Services {
    /// A new event by `actor`, allowed, at the current time; the builder steps of
    /// [`AuditEvent`] (`.resource_id(…)`, `.patient(…)`, `.reason(…)`, `.outcome(…)`) set
    /// the rest.
    pub(crate) fn audit_event(
        &self,
        actor: &Actor,
        action: AuditAction,
        resource_type: ResourceType,
    ) -> AuditEvent {
        AuditEvent {
            time: self.now(),
            actor_kind: match actor.kind() {
                ActorKind::User => AuditActorKind::User,
                ActorKind::Operator => AuditActorKind::Operator,
                ActorKind::System => AuditActorKind::System,
            },
            actor_id: actor.user_id(),
            actor_role: actor.role(),
            action,
            resource_type,
            resource_id: None,
            patient_pseudonym: None,
            outcome: Outcome::Allowed,
            reason: None,
            request_id: actor.request_id().map(str::to_owned),
        }
    }

    /// An event by nobody in particular (a failed sign-in).
    pub(crate) fn anonymous_event(
        &self,
        action: AuditAction,
        outcome: Outcome,
        request_id: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            time: self.now(),
            actor_kind: AuditActorKind::Anonymous,
            actor_id: None,
            actor_role: None,
            action,
            resource_type: ResourceType::Session,
            resource_id: None,
            patient_pseudonym: None,
            outcome,
            reason: None,
            request_id,
        }
    }

    /// Events waiting for the audit trail's group-commit writer.
    pub async fn audit_queue_depth(&self) -> usize {
        self.inner.audit_writer.queue_depth().await
    }

    /// Records an event through the group-commit writer and waits until it is durable.
    pub(crate) async fn record(&self, event: AuditEvent) -> Result<u64, ServiceError> {
        self.inner.audit_writer.submit(event).await
    }

    /// Records several events through the group-commit writer (one batch) and waits until
    /// all are durable.
    pub(crate) async fn record_all(&self, events: Vec<AuditEvent>) -> Result<(), ServiceError> {
        if events.is_empty() {
            return Ok(());
        }
        self.inner.audit_writer.submit_many(events).await
    }

    /// Records an event inside the caller's transaction.
    pub(crate) async fn append_in(
        &self,
        conn: &impl Conn,
        event: AuditEvent,
    ) -> Result<u64, ServiceError> {
        let seqs = append_events(conn, event.time, std::slice::from_ref(&event)).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("no sequence number")))
    }

    /// Appends several events inside `conn`'s transaction (one lock of the tree for all).
    pub(crate) async fn append_many_in(
        &self,
        conn: &impl Conn,
        events: &[AuditEvent],
    ) -> Result<(), ServiceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        append_events(conn, first.time, events).await?;
        Ok(())
    }

    /// Refuses `actor` and records the refusal (HIPAA wants denied attempts on record).
    pub(crate) async fn deny(
        &self,
        actor: &Actor,
        resource_type: ResourceType,
        resource_id: Option<String>,
        reason: &str,
    ) -> ServiceError {
        let mut event = self.audit_event(actor, AuditAction::AccessDenied, resource_type);
        event.resource_id = resource_id;
        event.outcome = Outcome::Denied;
        event.reason = Some(reason.to_owned());
        match self.record(event).await {
            Ok(_) => ServiceError::Forbidden,
            Err(err) => err,
        }
    }

    /// The answer for a record that is not there: a patient may only ask for their own
    /// records, so any other id is an attempt on someone else's and is refused and
    /// recorded (403); staff are told that no such `noun` exists (404).
    pub(crate) async fn missing(
        &self,
        actor: &Actor,
        resource_type: ResourceType,
        resource_id: Option<String>,
        noun: &'static str,
    ) -> ServiceError {
        if actor.reaches_own_record_only() {
            return self
                .deny(
                    actor,
                    resource_type,
                    resource_id,
                    "not the patient's own record",
                )
                .await;
        }
        ServiceError::NotFound(noun)
    }

    /// `Ok` when the policy grants `action` outright; otherwise the refusal, recorded.
    pub(crate) async fn authorize(
        &self,
        actor: &Actor,
        action: carevault_core::Action,
        resource_type: ResourceType,
    ) -> Result<(), ServiceError> {
        match actor.require(action) {
            Ok(()) => Ok(()),
            Err(_) => Err(self
                .deny(actor, resource_type, None, action.refusal())
                .await),
        }
    }

    /// The route table's gate: `Ok` when the policy gives `actor` any grant for `action`
    /// (a scope is then decided by the use case, for the record in question); otherwise the
    /// refusal, recorded against `resource_type` and the record the request named, if any.
    pub async fn authorize_route(
        &self,
        actor: &Actor,
        action: carevault_core::Action,
        resource_type: ResourceType,
        record: Option<String>,
    ) -> Result<(), ServiceError> {
        if actor.may(action) {
            return Ok(());
        }
        Err(self
            .deny(actor, resource_type, record, action.refusal())
            .await)
    }

    /// Signs a checkpoint of the current tree if it grew since the last one; stores it and
    /// appends it to the checkpoint file. Returns the new checkpoint, if any.
    pub async fn checkpoint_now(&self) -> Result<Option<CheckpointRow>, ServiceError> {
        let _guard = self.inner.checkpoint_lock.lock().await;
        let conn = self.store().conn();
        let state = audit_store::read_state(conn).await?;
        if state.size == 0 {
            return Ok(None);
        }
        if let Some(latest) = audit_store::latest_checkpoint(conn).await?
            && latest.tree_size >= state.size
        {
            return Ok(None);
        }
        let frontier = frontier_of(&state)?;
        let settings = &self.inner.audit;
        let checkpoint = Checkpoint::new(settings.origin.clone(), state.size, frontier.root())
            .map_err(ServiceError::internal)?;
        let note = settings.signer.sign(&checkpoint);
        let row = CheckpointRow {
            tree_size: state.size,
            root_hash: hex::encode(frontier.root()),
            note: note.clone(),
            created_at: self.now(),
        };
        if let Some(path) = settings.checkpoint_file.clone() {
            let record = checkpoint_log_record(&note);
            tokio::task::spawn_blocking(move || append_durably(&path, record.as_bytes()))
                .await
                .map_err(ServiceError::internal)?
                .map_err(ServiceError::internal)?;
        }
        audit_store::insert_checkpoint(conn, &row).await?;
        tracing::debug!(tree_size = state.size, "audit checkpoint signed");
        Ok(Some(row))
    }

    /// The newest stored checkpoint.
    pub async fn latest_checkpoint(
        &self,
        actor: &Actor,
    ) -> Result<Option<CheckpointRow>, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::ReadAuditLog,
            ResourceType::AuditLog,
        )
        .await?;
        Ok(audit_store::latest_checkpoint(self.store().conn()).await?)
    }

    /// The key that verifies checkpoints, in the standard verifier-key format.
    pub fn audit_verifier_key(&self) -> String {
        self.inner.audit.verifier().verifier_key_string()
    }

    pub fn audit_origin(&self) -> &str {
        self.inner.audit.origin()
    }

    /// Stops the group-commit writer after committing every event already accepted, then
    /// signs a final checkpoint. For graceful shutdown.
    pub async fn shutdown(&self) {
        self.inner.audit_writer.close().await;
        if let Err(err) = self.checkpoint_now().await {
            tracing::error!(error = %err, "could not sign the final audit checkpoint");
        }
    }
}

/// Appends `bytes` to `path` (created 0600) and syncs it to disk before returning.
fn append_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
