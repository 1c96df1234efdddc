//! Break-the-glass grants: insert, the access check, the review queue and the review.

use carevault_core::{PatientId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::emergency_access::{self, Column, Entity};
use crate::error::StoreError;

pub type EmergencyAccessRow = emergency_access::Model;

/// Review status of a grant nobody has reviewed yet.
pub const PENDING: &str = "pending";

pub async fn insert(conn: &impl Conn, row: EmergencyAccessRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<EmergencyAccessRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// The grant of `user` to `patient` in force at `now` (micros) with the latest expiry.
pub async fn active(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    now: i64,
) -> Result<Option<EmergencyAccessRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::GrantedAt.lte(now))
        .filter(Column::ExpiresAt.gt(now))
        .order_by_desc(Column::ExpiresAt)
        .one(conn)
        .await?)
}

/// Grants, newest first: all of them, or only `user`'s, or only those in `status`.
pub async fn list(
    conn: &impl Conn,
    user: Option<UserId>,
    status: Option<&str>,
    limit: u64,
) -> Result<Vec<EmergencyAccessRow>, StoreError> {
    let mut query = Entity::find();
    if let Some(user) = user {
        query = query.filter(Column::UserId.eq(user.to_string()));
    }
    if let Some(status) = status {
        query = query.filter(Column::ReviewStatus.eq(status));
    }
    Ok(query
        .order_by_desc(Column::GrantedAt)
        .limit(limit)
        .all(conn)
        .await?)
}

/// How many grants await review.
pub async fn pending_count(conn: &impl Conn) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::ReviewStatus.eq(PENDING))
        .count(conn)
        .await?)
}

/// Records a review if the grant is still pending; `false` if it was reviewed meanwhile.
pub async fn review(
    conn: &impl Conn,
    id: &str,
    status: &str,
    note: Vec<u8>,
    reviewer: UserId,
    now: i64,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(emergency_access::ActiveModel {
            review_status: Set(status.to_owned()),
            review_note: Set(Some(note)),
            reviewed_by: Set(Some(reviewer.to_string())),
            reviewed_at: Set(Some(now)),
            ..Default::default()
        })
        .filter(Column::Id.eq(id))
        .filter(Column::ReviewStatus.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which of `patients` `user` holds emergency access to at `now` (micros).
pub async fn held_among(
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
        .filter(Column::GrantedAt.lte(now))
        .filter(Column::ExpiresAt.gt(now))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .collect())
}
