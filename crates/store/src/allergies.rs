//! A patient's allergy entries and "no known allergies" statements (sealed bodies, clear
//! kind and status).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::patient_allergies::{self, Column, Entity};
use crate::error::StoreError;

pub type AllergyRow = patient_allergies::Model;

/// An allergy or intolerance.
pub const KIND_ALLERGY: &str = "allergy";
/// The "no known allergies" statement.
pub const KIND_NO_KNOWN_ALLERGIES: &str = "no_known_allergies";

pub async fn insert(conn: &impl Conn, row: AllergyRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<AllergyRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// Every entry of the patient, newest first (ties by id, which is time-ordered).
pub async fn of_patient(conn: &impl Conn, patient: &str) -> Result<Vec<AllergyRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient))
        .order_by_desc(Column::RecordedAt)
        .order_by_desc(Column::Id)
        .all(conn)
        .await?)
}

/// The entries of these patients in `status`, oldest first per patient (for lists of
/// patients, where each shows its active allergies).
pub async fn of_patients(
    conn: &impl Conn,
    patients: &[String],
    status: &str,
) -> Result<Vec<AllergyRow>, StoreError> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::PatientId.is_in(patients.iter().cloned()))
        .filter(Column::Status.eq(status))
        .order_by_asc(Column::RecordedAt)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// Moves an entry from `from` to `to` with a sealed reason, if it is still in `from`;
/// `false` otherwise.
pub async fn set_status(
    conn: &impl Conn,
    id: &str,
    from: &str,
    to: &str,
    reason: Option<Vec<u8>>,
    by: Option<&str>,
    at: i64,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to))
        .col_expr(Column::StatusReason, Expr::value(reason))
        .col_expr(Column::UpdatedBy, Expr::value(by.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
