//! A patient's problem list (sealed bodies, clear status and source).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::patient_problems::{self, Column, Entity};
use crate::error::StoreError;

pub type ProblemRow = patient_problems::Model;

pub async fn insert(conn: &impl Conn, row: ProblemRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<ProblemRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// Every problem of the patient, newest first (ties by id, which is time-ordered).
pub async fn of_patient(conn: &impl Conn, patient: &str) -> Result<Vec<ProblemRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient))
        .order_by_desc(Column::RecordedAt)
        .order_by_desc(Column::Id)
        .all(conn)
        .await?)
}

/// Moves a problem from `from` to `to`, if it is still in `from`; `false` otherwise.
pub async fn set_status(
    conn: &impl Conn,
    id: &str,
    from: &str,
    to: &str,
    by: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to))
        .col_expr(Column::UpdatedBy, Expr::value(by))
        .col_expr(Column::UpdatedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
