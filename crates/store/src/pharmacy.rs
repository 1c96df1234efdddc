//! Pharmacy persistence: the formulary, stock batches and the append-only stock movements.
//!
//! Stock is only ever taken away by [`take_from_batch`], a conditional update
//! (`quantity_on_hand = quantity_on_hand - n WHERE id = ? AND quantity_on_hand >= n`): the
//! database checks and changes the row in one statement, so two concurrent dispensings can
//! never both take the last units, on any backend and at any isolation level. Its
//! `rows_affected` says whether the units were there.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::{drugs, prescriptions, stock_batches, stock_movements};
use crate::error::StoreError;

pub type DrugRow = drugs::Model;
pub type BatchRow = stock_batches::Model;
pub type MovementRow = stock_movements::Model;

pub async fn insert_drug(conn: &impl Conn, row: DrugRow) -> Result<(), StoreError> {
    drugs::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Replaces a drug's editable fields; `false` if there is no such drug.
pub async fn update_drug(conn: &impl Conn, row: DrugRow) -> Result<bool, StoreError> {
    let result = drugs::Entity::update_many()
        .col_expr(drugs::Column::Name, Expr::value(row.name))
        .col_expr(drugs::Column::GenericName, Expr::value(row.generic_name))
        .col_expr(drugs::Column::Form, Expr::value(row.form))
        .col_expr(drugs::Column::Strength, Expr::value(row.strength))
        .col_expr(drugs::Column::Unit, Expr::value(row.unit))
        .col_expr(drugs::Column::AtcCode, Expr::value(row.atc_code))
        .col_expr(drugs::Column::ReorderLevel, Expr::value(row.reorder_level))
        .col_expr(
            drugs::Column::ReorderQuantity,
            Expr::value(row.reorder_quantity),
        )
        .col_expr(drugs::Column::Active, Expr::value(row.active))
        .col_expr(drugs::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(drugs::Column::Id.eq(row.id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_drug(conn: &impl Conn, id: &str) -> Result<Option<DrugRow>, StoreError> {
    Ok(drugs::Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// The formulary by name and strength (inactive drugs too, if `include_inactive`).
pub async fn list_drugs(
    conn: &impl Conn,
    include_inactive: bool,
) -> Result<Vec<DrugRow>, StoreError> {
    let mut query = drugs::Entity::find();
    if !include_inactive {
        query = query.filter(drugs::Column::Active.eq(true));
    }
    Ok(query
        .order_by_asc(drugs::Column::Name)
        .order_by_asc(drugs::Column::Strength)
        .all(conn)
        .await?)
}

pub async fn insert_batch(conn: &impl Conn, row: BatchRow) -> Result<(), StoreError> {
    stock_batches::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_batch(conn: &impl Conn, id: &str) -> Result<Option<BatchRow>, StoreError> {
    Ok(stock_batches::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// A drug's batches, earliest expiry first.
pub async fn batches_of_drug(conn: &impl Conn, drug_id: &str) -> Result<Vec<BatchRow>, StoreError> {
    Ok(stock_batches::Entity::find()
        .filter(stock_batches::Column::DrugId.eq(drug_id))
        .order_by_asc(stock_batches::Column::ExpiryDate)
        .order_by_asc(stock_batches::Column::Id)
        .all(conn)
        .await?)
}

/// Every batch, by drug and expiry (for the stock levels).
pub async fn all_batches(conn: &impl Conn) -> Result<Vec<BatchRow>, StoreError> {
    Ok(stock_batches::Entity::find()
        .order_by_asc(stock_batches::Column::DrugId)
        .order_by_asc(stock_batches::Column::ExpiryDate)
        .all(conn)
        .await?)
}

/// Takes `units` (> 0) from a batch only if it still holds them: `false` (nothing changed)
/// if it does not.
pub async fn take_from_batch(
    conn: &impl Conn,
    batch_id: &str,
    units: i32,
) -> Result<bool, StoreError> {
    let result = stock_batches::Entity::update_many()
        .col_expr(
            stock_batches::Column::QuantityOnHand,
            Expr::col(stock_batches::Column::QuantityOnHand).sub(units),
        )
        .filter(stock_batches::Column::Id.eq(batch_id))
        .filter(stock_batches::Column::QuantityOnHand.gte(units))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Adds `units` (> 0) to a batch, never above `max` on hand: `false` if that would exceed it.
pub async fn add_to_batch(
    conn: &impl Conn,
    batch_id: &str,
    units: i32,
    max: i32,
) -> Result<bool, StoreError> {
    let result = stock_batches::Entity::update_many()
        .col_expr(
            stock_batches::Column::QuantityOnHand,
            Expr::col(stock_batches::Column::QuantityOnHand).add(units),
        )
        .filter(stock_batches::Column::Id.eq(batch_id))
        .filter(stock_batches::Column::QuantityOnHand.lte(max - units))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn append_movement(conn: &impl Conn, row: MovementRow) -> Result<(), StoreError> {
    stock_movements::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A batch's movements, oldest first.
pub async fn movements_of_batch(
    conn: &impl Conn,
    batch_id: &str,
) -> Result<Vec<MovementRow>, StoreError> {
    Ok(stock_movements::Entity::find()
        .filter(stock_movements::Column::BatchId.eq(batch_id))
        .order_by_asc(stock_movements::Column::At)
        .order_by_asc(stock_movements::Column::Id)
        .all(conn)
        .await?)
}

/// Raises an active prescription's dispensed quantity by `units`, never above `prescribed`:
/// a conditional update, `false` (nothing changed) if the prescription is no longer active
/// or the units would exceed what was prescribed.
pub async fn raise_quantity_dispensed(
    conn: &impl Conn,
    prescription_id: &str,
    units: i32,
    prescribed: i32,
    active_status: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = prescriptions::Entity::update_many()
        .col_expr(
            prescriptions::Column::QuantityDispensed,
            Expr::col(prescriptions::Column::QuantityDispensed).add(units),
        )
        .col_expr(prescriptions::Column::UpdatedAt, Expr::value(now))
        .filter(prescriptions::Column::Id.eq(prescription_id))
        .filter(prescriptions::Column::Status.eq(active_status))
        .filter(prescriptions::Column::QuantityDispensed.lte(prescribed - units))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
