//! The audit trail's storage: appending events under the tree-state lock, reading them back
//! in sequence, filtering them for the audit pages, and signed checkpoints.

use carevault_core::audit::AuditFields;
use carevault_core::time::to_micros;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::Conn;
use crate::entity::{audit_checkpoints, audit_events, audit_state};
use crate::error::StoreError;

/// The tree's size and serialised frontier, as last committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    pub size: u64,
    /// Serialised frontier bytes (empty for the empty tree).
    pub frontier: Vec<u8>,
}

fn decode_state(m: audit_state::Model) -> Result<TreeState, StoreError> {
    let frontier = hex::decode(&m.frontier)
        .map_err(|_| StoreError::Corrupt("audit_state.frontier is not hex".into()))?;
    let size = u64::try_from(m.tree_size)
        .map_err(|_| StoreError::Corrupt("audit_state.tree_size".into()))?;
    Ok(TreeState { size, frontier })
}

/// Takes the appenders' lock (an update of the state row, which every backend serialises)
/// and reads the tree state. Call inside a transaction; the lock lasts until it ends.
pub async fn lock_state(conn: &impl Conn, now: DateTime<Utc>) -> Result<TreeState, StoreError> {
    let updated = audit_state::Entity::update_many()
        .col_expr(audit_state::Column::UpdatedAt, Expr::value(to_micros(now)))
        .filter(audit_state::Column::Id.eq(1))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(StoreError::Corrupt("audit_state has no row".into()));
    }
    read_state(conn).await
}

/// Reads the tree state without locking.
pub async fn read_state(conn: &impl Conn) -> Result<TreeState, StoreError> {
    let row = audit_state::Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("audit_state has no row".into()))?;
    decode_state(row)
}

/// Stores the tree state after an append.
pub async fn save_state(conn: &impl Conn, state: &TreeState) -> Result<(), StoreError> {
    let size =
        i64::try_from(state.size).map_err(|_| StoreError::Corrupt("tree too large".into()))?;
    audit_state::Entity::update_many()
        .col_expr(audit_state::Column::TreeSize, Expr::value(size))
        .col_expr(
            audit_state::Column::Frontier,
            Expr::value(hex::encode(&state.frontier)),
        )
        .filter(audit_state::Column::Id.eq(1))
        .exec(conn)
        .await?;
    Ok(())
}

/// An event to insert at `seq`.
#[derive(Debug, Clone)]
pub struct NewAuditRow {
    pub seq: u64,
    pub fields: AuditFields,
    pub leaf_hash: [u8; 32],
}

fn to_active(row: &NewAuditRow) -> Result<audit_events::ActiveModel, StoreError> {
    let f = &row.fields;
    Ok(audit_events::ActiveModel {
        seq: Set(i64::try_from(row.seq).map_err(|_| StoreError::Corrupt("seq too large".into()))?),
        recorded_at: Set(f.time_micros),
        actor_kind: Set(f.actor_kind.clone()),
        actor_id: Set(f.actor_id.clone()),
        actor_role: Set(f.actor_role.clone()),
        action: Set(f.action.clone()),
        resource_type: Set(f.resource_type.clone()),
        resource_id: Set(f.resource_id.clone()),
        patient_pseudonym: Set(f.patient_pseudonym.clone()),
        outcome: Set(f.outcome.clone()),
        reason: Set(f.reason.clone()),
        request_id: Set(f.request_id.clone()),
        leaf_hash: Set(hex::encode(row.leaf_hash)),
    })
}

/// Inserts events (already numbered and hashed) in one statement per chunk.
pub async fn insert_events(conn: &impl Conn, rows: &[NewAuditRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(200) {
        let models = chunk.iter().map(to_active).collect::<Result<Vec<_>, _>>()?;
        audit_events::Entity::insert_many(models)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// A stored event.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: u64,
    pub fields: AuditFields,
    /// The stored leaf hash, hex (as written at append time).
    pub leaf_hash: String,
}

/// Runs a query for events (ordered and limited by the caller) and reads them.
async fn events(
    conn: &impl Conn,
    query: Select<audit_events::Entity>,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(query.all(conn).await?.into_iter().map(from_model).collect())
}

fn from_model(m: audit_events::Model) -> AuditRow {
    AuditRow {
        // A negative seq can only come from tampering; the verifier reports it as out of order.
        seq: u64::try_from(m.seq).unwrap_or(u64::MAX),
        fields: AuditFields {
            time_micros: m.recorded_at,
            actor_kind: m.actor_kind,
            actor_id: m.actor_id,
            actor_role: m.actor_role,
            action: m.action,
            resource_type: m.resource_type,
            resource_id: m.resource_id,
            patient_pseudonym: m.patient_pseudonym,
            outcome: m.outcome,
            reason: m.reason,
            request_id: m.request_id,
        },
        leaf_hash: m.leaf_hash,
    }
}

/// Up to `limit` events with `seq >= from`, in sequence order (for streaming verification).
pub async fn events_from(
    conn: &impl Conn,
    from: u64,
    limit: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    events(
        conn,
        audit_events::Entity::find()
            .filter(audit_events::Column::Seq.gte(from))
            .order_by_asc(audit_events::Column::Seq)
            .limit(limit),
    )
    .await
}

/// The stored leaf hashes of events `0..size`, in order (for proofs).
pub async fn leaf_hashes(conn: &impl Conn, size: u64) -> Result<Vec<[u8; 32]>, StoreError> {
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut from = 0i64;
    let end = i64::try_from(size).unwrap_or(i64::MAX);
    while from < end {
        let page: Vec<(i64, String)> = audit_events::Entity::find()
            .select_only()
            .column(audit_events::Column::Seq)
            .column(audit_events::Column::LeafHash)
            .filter(audit_events::Column::Seq.gte(from))
            .filter(audit_events::Column::Seq.lt(end))
            .order_by_asc(audit_events::Column::Seq)
            .limit(10_000)
            .into_tuple()
            .all(conn)
            .await?;
        if page.is_empty() {
            break;
        }
        for (seq, hash) in page {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(&hash, &mut bytes)
                .map_err(|_| StoreError::Corrupt(format!("audit_events.leaf_hash at seq {seq}")))?;
            out.push(bytes);
            from = seq + 1;
        }
    }
    Ok(out)
}

/// Filters for the audit pages and API; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive, microseconds.
    pub from_micros: Option<i64>,
    /// Exclusive, microseconds.
    pub until_micros: Option<i64>,
    /// Leave out events by this actor (for "who accessed my record").
    pub exclude_actor_id: Option<String>,
    /// Events about the patient with this pseudonym OR about this account (a patient's
    /// record and their portal login, for "who accessed my record").
    pub patient_or_account: Option<(String, String)>,
}

fn condition(filter: &AuditFilter) -> Condition {
    use audit_events::Column as C;
    // `column = value` for a field the filter names; an absent field matches every event.
    let equals = |column: C, value: &Option<String>| value.as_ref().map(|v| column.eq(v.clone()));
    Condition::all()
        .add_option(equals(C::ActorId, &filter.actor_id))
        .add_option(equals(C::Action, &filter.action))
        .add_option(equals(C::PatientPseudonym, &filter.patient_pseudonym))
        .add_option(equals(C::ResourceType, &filter.resource_type))
        .add_option(equals(C::ResourceId, &filter.resource_id))
        .add_option(equals(C::Outcome, &filter.outcome))
        .add_option(filter.from_micros.map(|v| C::RecordedAt.gte(v)))
        .add_option(filter.until_micros.map(|v| C::RecordedAt.lt(v)))
        .add_option(
            filter
                .patient_or_account
                .as_ref()
                .map(|(pseudonym, account)| {
                    Condition::any()
                        .add(C::PatientPseudonym.eq(pseudonym.clone()))
                        .add(
                            Condition::all()
                                .add(C::ResourceType.eq("account"))
                                .add(C::ResourceId.eq(account.clone())),
                        )
                }),
        )
        .add_option(filter.exclude_actor_id.as_ref().map(|v| {
            Condition::any()
                .add(C::ActorId.ne(v.clone()))
                .add(C::ActorId.is_null())
        }))
}

/// Matching events, newest first: `limit` of them after skipping `offset`.
pub async fn list(
    conn: &impl Conn,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    events(
        conn,
        audit_events::Entity::find()
            .filter(condition(filter))
            .order_by_desc(audit_events::Column::Seq)
            .offset(offset)
            .limit(limit),
    )
    .await
}

/// Matching events in sequence order with `seq > after` (for streaming exports).
pub async fn list_after(
    conn: &impl Conn,
    filter: &AuditFilter,
    after: Option<u64>,
    limit: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut query = audit_events::Entity::find().filter(condition(filter));
    if let Some(after) = after {
        query =
            query.filter(audit_events::Column::Seq.gt(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    events(
        conn,
        query.order_by_asc(audit_events::Column::Seq).limit(limit),
    )
    .await
}

pub async fn count(conn: &impl Conn, filter: &AuditFilter) -> Result<u64, StoreError> {
    Ok(audit_events::Entity::find()
        .filter(condition(filter))
        .count(conn)
        .await?)
}

/// A stored checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointRow {
    pub tree_size: u64,
    pub root_hash: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

fn checkpoint_from(m: audit_checkpoints::Model) -> CheckpointRow {
    CheckpointRow {
        tree_size: u64::try_from(m.tree_size).unwrap_or(0),
        root_hash: m.root_hash,
        note: m.note,
        created_at: carevault_core::time::from_micros(m.created_at),
    }
}

/// Stores a checkpoint; a checkpoint of the same size already stored (by another process)
/// is kept as it is.
pub async fn insert_checkpoint(conn: &impl Conn, row: &CheckpointRow) -> Result<(), StoreError> {
    let model = audit_checkpoints::ActiveModel {
        tree_size: Set(i64::try_from(row.tree_size)
            .map_err(|_| StoreError::Corrupt("tree too large".into()))?),
        root_hash: Set(row.root_hash.clone()),
        note: Set(row.note.clone()),
        created_at: Set(to_micros(row.created_at)),
    };
    let result = audit_checkpoints::Entity::insert(model)
        .on_conflict(
            OnConflict::column(audit_checkpoints::Column::TreeSize)
                .update_column(audit_checkpoints::Column::TreeSize)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await;
    match result {
        Ok(_) => Ok(()),
        // The append-only trigger refuses even the no-op update of an existing row.
        Err(err) if is_append_only_refusal(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

fn is_append_only_refusal(err: &sea_orm::DbErr) -> bool {
    err.to_string().contains("append-only")
}

pub async fn latest_checkpoint(conn: &impl Conn) -> Result<Option<CheckpointRow>, StoreError> {
    Ok(audit_checkpoints::Entity::find()
        .order_by_desc(audit_checkpoints::Column::TreeSize)
        .one(conn)
        .await?
        .map(checkpoint_from))
}

/// Every stored checkpoint, smallest tree first.
pub async fn all_checkpoints(conn: &impl Conn) -> Result<Vec<CheckpointRow>, StoreError> {
    Ok(audit_checkpoints::Entity::find()
        .order_by_asc(audit_checkpoints::Column::TreeSize)
        .all(conn)
        .await?
        .into_iter()
        .map(checkpoint_from)
        .collect())
}

/// Checkpoints with a tree larger than `size`, smallest first.
pub async fn checkpoints_after(
    conn: &impl Conn,
    size: u64,
) -> Result<Vec<CheckpointRow>, StoreError> {
    Ok(audit_checkpoints::Entity::find()
        .filter(audit_checkpoints::Column::TreeSize.gt(i64::try_from(size).unwrap_or(i64::MAX)))
        .order_by_asc(audit_checkpoints::Column::TreeSize)
        .all(conn)
        .await?
        .into_iter()
        .map(checkpoint_from)
        .collect())
}
