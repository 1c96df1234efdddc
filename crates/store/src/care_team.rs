//! Care-team membership: which clinicians are on which patient's care team, and why.

use std::collections::HashSet;

use carevault_core::time::{from_micros, to_micros};
use carevault_core::{PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::OnConflict,
};

use crate::Conn;
use crate::entity::care_team_members::{self, Column, Entity};
use crate::error::StoreError;

/// Membership by explicit assignment (an administrator or receptionist added them).
pub const SOURCE_ASSIGNED: &str = "assigned";

/// One membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user_id: UserId,
    pub source: String,
    pub added_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// Adds `user` to the patient's care team for `source`; adding twice changes nothing.
pub async fn add(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    source: &str,
    added_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = care_team_members::ActiveModel {
        patient_id: Set(patient.to_string()),
        user_id: Set(user.to_string()),
        source: Set(source.to_owned()),
        added_by: Set(added_by.map(|id| id.to_string())),
        created_at: Set(to_micros(now)),
    };
    Entity::insert(row)
        // A no-op update rather than `DO NOTHING` (rendered invalidly for MariaDB).
        .on_conflict(
            OnConflict::columns([Column::PatientId, Column::UserId, Column::Source])
                .update_column(Column::Source)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Removes one membership; `false` when there was none.
pub async fn remove(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
    source: &str,
) -> Result<bool, StoreError> {
    let result = Entity::delete_many()
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::Source.eq(source))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Everyone on the patient's care team, earliest first.
pub async fn members(conn: &impl Conn, patient: PatientId) -> Result<Vec<Membership>, StoreError> {
    Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .order_by_asc(Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let corrupt = |e: String| StoreError::Corrupt(format!("care_team_members: {e}"));
            Ok(Membership {
                user_id: row.user_id.parse().map_err(corrupt)?,
                source: row.source,
                added_by: row
                    .added_by
                    .map(|id| id.parse())
                    .transpose()
                    .map_err(corrupt)?,
                created_at: from_micros(row.created_at),
            })
        })
        .collect()
}

pub async fn is_member(
    conn: &impl Conn,
    patient: PatientId,
    user: UserId,
) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::UserId.eq(user.to_string()))
        .count(conn)
        .await?
        > 0)
}

/// Which of `patients` have `user` on their care team.
pub async fn memberships_among(
    conn: &impl Conn,
    user: UserId,
    patients: &[PatientId],
) -> Result<HashSet<PatientId>, StoreError> {
    if patients.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
    let rows = Entity::find()
        .filter(Column::UserId.eq(user.to_string()))
        .filter(Column::PatientId.is_in(ids))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.patient_id.parse().ok())
        .collect())
}
