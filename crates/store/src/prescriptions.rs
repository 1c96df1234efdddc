//! Prescriptions (sealed details, clear status).

use carevault_core::PatientId;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::Conn;
use crate::entity::prescriptions::{self, Column, Entity};
use crate::error::StoreError;

pub type PrescriptionRow = prescriptions::Model;

pub async fn insert(conn: &impl Conn, row: PrescriptionRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<PrescriptionRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// The patient's prescriptions, newest first (only those in `status`, if given).
pub async fn of_patient(
    conn: &impl Conn,
    patient: PatientId,
    status: Option<&str>,
    limit: u64,
) -> Result<Vec<PrescriptionRow>, StoreError> {
    let mut query = Entity::find().filter(Column::PatientId.eq(patient.to_string()));
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status));
    }
    Ok(query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Moves a prescription from `from` to `to` with a sealed reason; `false` if its status is
/// no longer `from`.
pub async fn set_status(
    conn: &impl Conn,
    id: &str,
    from: &str,
    to: &str,
    reason: Option<Vec<u8>>,
    now: i64,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(prescriptions::ActiveModel {
            status: Set(to.to_owned()),
            status_reason: Set(reason),
            updated_at: Set(now),
            ..Default::default()
        })
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Active prescriptions of every patient, oldest first (the pharmacy's dispensing queue).
pub async fn active(
    conn: &impl Conn,
    active_status: &str,
    limit: u64,
) -> Result<Vec<PrescriptionRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Status.eq(active_status))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}
