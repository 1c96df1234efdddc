//! Consent records: append one, read a patient's history. Rows are never updated.

use carevault_core::PatientId;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::consents::{self, Column, Entity};
use crate::error::StoreError;

pub type ConsentRow = consents::Model;

pub async fn insert(conn: &impl Conn, row: ConsentRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The patient's consent records, newest first (ties by id, which is time-ordered).
pub async fn for_patient(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<ConsentRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .order_by_desc(Column::RecordedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The patient's records for one purpose, newest first, at most `limit`.
pub async fn for_purpose(
    conn: &impl Conn,
    patient: &str,
    purpose: &str,
    limit: u64,
) -> Result<Vec<ConsentRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient))
        .filter(Column::Purpose.eq(purpose))
        .order_by_desc(Column::RecordedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Removes the patient's consent records (for erasure); returns how many were removed.
pub async fn delete_for_patient(conn: &impl Conn, patient: &str) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::PatientId.eq(patient))
        .exec(conn)
        .await?
        .rows_affected)
}
