//! Record shares granted by patients: insert, the access check, listing and revocation.

use carevault_core::{PatientId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::Conn;
use crate::entity::record_shares::{self, Column, Entity};
use crate::error::StoreError;

pub type RecordShareRow = record_shares::Model;

/// A share of the whole record.
pub const SCOPE_RECORD: &str = "record";

pub async fn insert(conn: &impl Conn, row: RecordShareRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Whether `user` holds an unrevoked share of `patient`'s record in force at `now` (micros).
pub async fn holds_record_share(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::Scope.eq(SCOPE_RECORD))
        .filter(Column::GrantedAt.lte(now))
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::RevokedAt.is_null())
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
) -> Result<Vec<RecordShareRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .order_by_desc(Column::GrantedAt)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<RecordShareRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// Revokes a share of `patient` that is not revoked yet; `false` if there is none.
pub async fn revoke(
    conn: &impl Conn,
    id: &str,
    patient: PatientId,
    now: i64,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(record_shares::ActiveModel {
            revoked_at: Set(Some(now)),
            ..Default::default()
        })
        .filter(Column::Id.eq(id))
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
    now: i64,
) -> Result<std::collections::HashSet<PatientId>, StoreError> {
    if patients.is_empty() {
        return Ok(Default::default());
    }
    let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
    Ok(Entity::find()
        .select_only()
        .column(Column::PatientId)
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::PatientId.is_in(ids))
        .filter(Column::Scope.eq(SCOPE_RECORD))
        .filter(Column::GrantedAt.lte(now))
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::RevokedAt.is_null())
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .collect())
}

/// A share of one encounter.
pub const SCOPE_ENCOUNTER: &str = "encounter";
/// A share of one document.
pub const SCOPE_DOCUMENT: &str = "document";

/// Whether `user` holds an unrevoked share of one item (`scope`, `scope_id`) of `patient`'s
/// record in force at `now` (micros).
pub async fn holds_item_share(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    scope: &str,
    scope_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::Scope.eq(scope))
        .filter(Column::ScopeId.eq(scope_id))
        .filter(Column::GrantedAt.lte(now))
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::RevokedAt.is_null())
        .limit(1)
        .into_tuple::<String>()
        .one(conn)
        .await?
        .is_some())
}
