//! Record shares granted by patients: insert, the access check, listing and revocation.

use std::collections::HashSet;

use carevault_core::time::to_micros;
use carevault_core::{PatientId, RecordShareId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::record_shares::{self, Column, Entity};
use crate::error::StoreError;
use crate::grant_window::GrantColumns;
use crate::record::{self, Row};

/// A share of the whole record.
pub const SCOPE_RECORD: &str = "record";
/// A share of one encounter.
pub const SCOPE_ENCOUNTER: &str = "encounter";
/// A share of one document.
pub const SCOPE_DOCUMENT: &str = "document";

const ROW: Row = Row("record_shares");
const GRANT: GrantColumns<Column> = GrantColumns {
    patient_id: Column::PatientId,
    user_id: Column::UserId,
    granted_at: Column::GrantedAt,
    expires_at: Column::ExpiresAt,
};

/// A patient's share with a doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordShareRecord {
    pub id: RecordShareId,
    pub patient_id: PatientId,
    /// The doctor the record is shared with.
    pub user_id: UserId,
    /// [`SCOPE_RECORD`], [`SCOPE_ENCOUNTER`] or [`SCOPE_DOCUMENT`].
    pub scope: String,
    /// The shared encounter's or document's id, for those scopes.
    pub scope_id: Option<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<record_shares::Model> for RecordShareRecord {
    type Error = StoreError;

    fn try_from(m: record_shares::Model) -> Result<Self, StoreError> {
        Ok(RecordShareRecord {
            id: ROW.parse("id", &m.id)?,
            patient_id: ROW.parse("patient_id", &m.patient_id)?,
            user_id: ROW.parse("user_id", &m.user_id)?,
            scope: m.scope,
            scope_id: m.scope_id,
            granted_at: ROW.time(m.granted_at),
            expires_at: ROW.time(m.expires_at),
            revoked_at: ROW.time_opt(m.revoked_at),
        })
    }
}

pub async fn insert(conn: &impl Conn, share: &RecordShareRecord) -> Result<(), StoreError> {
    let row = record_shares::ActiveModel {
        id: Set(share.id.to_string()),
        patient_id: Set(share.patient_id.to_string()),
        user_id: Set(share.user_id.to_string()),
        scope: Set(share.scope.clone()),
        scope_id: Set(share.scope_id.clone()),
        granted_at: Set(to_micros(share.granted_at)),
        expires_at: Set(to_micros(share.expires_at)),
        revoked_at: Set(share.revoked_at.map(to_micros)),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// Unrevoked shares to `user` in force at `now`.
fn in_force(user: UserId, now: DateTime<Utc>) -> sea_orm::Select<Entity> {
    GRANT
        .in_force(Entity::find(), user, now)
        .filter(Column::RevokedAt.is_null())
}

/// Whether `user` holds an unrevoked share of `patient`'s record in force at `now`.
pub async fn holds_record_share(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    holds(conn, patient, user, SCOPE_RECORD, None, now).await
}

/// Whether `user` holds an unrevoked share of one item (`scope`, `scope_id`) of `patient`'s
/// record in force at `now`.
pub async fn holds_item_share(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    scope: &str,
    scope_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    holds(conn, patient, user, scope, Some(scope_id), now).await
}

async fn holds(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    scope: &str,
    scope_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut query = in_force(user, now)
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::Scope.eq(scope));
    if let Some(scope_id) = scope_id {
        query = query.filter(Column::ScopeId.eq(scope_id));
    }
    Ok(query
        .select_only()
        .column(Column::Id)
        .limit(1)
        .into_tuple::<String>()
        .one(conn)
        .await?
        .is_some())
}

/// The patient's shares, newest first.
pub async fn for_patient(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<RecordShareRecord>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .order_by_desc(Column::GrantedAt)
            .limit(limit),
    )
    .await
}

pub async fn find(
    conn: &impl Conn,
    id: RecordShareId,
) -> Result<Option<RecordShareRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// Revokes a share of `patient` that is not revoked yet; `false` if there is none.
pub async fn revoke(
    conn: &impl Conn,
    id: RecordShareId,
    patient: PatientId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(record_shares::ActiveModel {
            revoked_at: Set(Some(to_micros(now))),
            ..Default::default()
        })
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which of `patients` have shared their whole record with `user`, in force at `now`.
pub async fn shared_among(
    conn: &impl Conn,
    user: UserId,
    patients: &[PatientId],
    now: DateTime<Utc>,
) -> Result<HashSet<PatientId>, StoreError> {
    let query = in_force(user, now).filter(Column::Scope.eq(SCOPE_RECORD));
    GRANT.patients_among(conn, ROW, query, patients).await
}
