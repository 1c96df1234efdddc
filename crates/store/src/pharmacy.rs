//! Pharmacy persistence: the formulary, stock batches and the append-only stock movements.
//!
//! Stock is only ever taken away by [`take_from_batch`], a conditional update
//! (`quantity_on_hand = quantity_on_hand - n WHERE id = ? AND quantity_on_hand >= n`): the
//! database checks and changes the row in one statement, so two concurrent dispensings can
//! never both take the last units, on any backend and at any isolation level. Its
//! `rows_affected` says whether the units were there.

use carevault_core::money::Money;
use carevault_core::pharmacy::MovementKind;
use carevault_core::time::to_micros;
use carevault_core::{BatchId, DrugId, PrescriptionId, StockMovementId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::{drugs, prescriptions, stock_batches, stock_movements};
use crate::error::StoreError;
use crate::record::{self, Row};

/// How an expiry date is stored: `YYYY-MM-DD` text (it sorts on every backend).
const EXPIRY_FORMAT: &str = "%Y-%m-%d";

/// A formulary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugRecord {
    pub id: DrugId,
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: u32,
    pub reorder_quantity: u32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<drugs::Model> for DrugRecord {
    type Error = StoreError;

    fn try_from(m: drugs::Model) -> Result<Self, StoreError> {
        let row = Row("drugs");
        Ok(DrugRecord {
            id: row.parse("id", &m.id)?,
            name: m.name,
            generic_name: m.generic_name,
            form: m.form,
            strength: m.strength,
            unit: m.unit,
            atc_code: m.atc_code,
            reorder_level: row.convert("reorder_level", m.reorder_level, u32::try_from)?,
            reorder_quantity: row.convert("reorder_quantity", m.reorder_quantity, u32::try_from)?,
            active: m.active,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

/// A count of units as stored (the formulary and stock never hold more than `i32::MAX`).
fn stored_count(table: &'static str, column: &'static str, value: u32) -> Result<i32, StoreError> {
    Row(table).convert(column, value, i32::try_from)
}

pub async fn insert_drug(conn: &impl Conn, drug: &DrugRecord) -> Result<(), StoreError> {
    let row = drugs::ActiveModel {
        id: Set(drug.id.to_string()),
        name: Set(drug.name.clone()),
        generic_name: Set(drug.generic_name.clone()),
        form: Set(drug.form.clone()),
        strength: Set(drug.strength.clone()),
        unit: Set(drug.unit.clone()),
        atc_code: Set(drug.atc_code.clone()),
        reorder_level: Set(stored_count("drugs", "reorder_level", drug.reorder_level)?),
        reorder_quantity: Set(stored_count(
            "drugs",
            "reorder_quantity",
            drug.reorder_quantity,
        )?),
        active: Set(drug.active),
        created_at: Set(to_micros(drug.created_at)),
        updated_at: Set(to_micros(drug.updated_at)),
    };
    drugs::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Replaces a drug's editable fields; `false` if there is no such drug.
pub async fn update_drug(conn: &impl Conn, drug: &DrugRecord) -> Result<bool, StoreError> {
    let result = drugs::Entity::update_many()
        .col_expr(drugs::Column::Name, Expr::value(drug.name.clone()))
        .col_expr(
            drugs::Column::GenericName,
            Expr::value(drug.generic_name.clone()),
        )
        .col_expr(drugs::Column::Form, Expr::value(drug.form.clone()))
        .col_expr(drugs::Column::Strength, Expr::value(drug.strength.clone()))
        .col_expr(drugs::Column::Unit, Expr::value(drug.unit.clone()))
        .col_expr(drugs::Column::AtcCode, Expr::value(drug.atc_code.clone()))
        .col_expr(
            drugs::Column::ReorderLevel,
            Expr::value(stored_count("drugs", "reorder_level", drug.reorder_level)?),
        )
        .col_expr(
            drugs::Column::ReorderQuantity,
            Expr::value(stored_count(
                "drugs",
                "reorder_quantity",
                drug.reorder_quantity,
            )?),
        )
        .col_expr(drugs::Column::Active, Expr::value(drug.active))
        .col_expr(
            drugs::Column::UpdatedAt,
            Expr::value(to_micros(drug.updated_at)),
        )
        .filter(drugs::Column::Id.eq(drug.id.to_string()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_drug(conn: &impl Conn, id: DrugId) -> Result<Option<DrugRecord>, StoreError> {
    record::one(conn, drugs::Entity::find_by_id(id.to_string())).await
}

/// The formulary by name and strength (inactive drugs too, if `include_inactive`).
pub async fn list_drugs(
    conn: &impl Conn,
    include_inactive: bool,
) -> Result<Vec<DrugRecord>, StoreError> {
    let mut query = drugs::Entity::find();
    if !include_inactive {
        query = query.filter(drugs::Column::Active.eq(true));
    }
    record::all(
        conn,
        query
            .order_by_asc(drugs::Column::Name)
            .order_by_asc(drugs::Column::Strength),
    )
    .await
}

/// One batch of a drug on the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub id: BatchId,
    pub drug_id: DrugId,
    pub batch_number: String,
    pub supplier: String,
    /// The day from which the batch may no longer be dispensed.
    pub expiry: NaiveDate,
    pub quantity_received: u32,
    pub quantity_on_hand: u32,
    pub unit_cost: Money,
    pub received_at: DateTime<Utc>,
    pub received_by: UserId,
}

impl TryFrom<stock_batches::Model> for BatchRecord {
    type Error = StoreError;

    fn try_from(m: stock_batches::Model) -> Result<Self, StoreError> {
        let row = Row("stock_batches");
        Ok(BatchRecord {
            id: row.parse("id", &m.id)?,
            drug_id: row.parse("drug_id", &m.drug_id)?,
            batch_number: m.batch_number,
            supplier: m.supplier,
            expiry: row.convert("expiry_date", m.expiry_date.as_str(), |text| {
                NaiveDate::parse_from_str(text, EXPIRY_FORMAT)
            })?,
            quantity_received: row.convert(
                "quantity_received",
                m.quantity_received,
                u32::try_from,
            )?,
            quantity_on_hand: row.convert("quantity_on_hand", m.quantity_on_hand, u32::try_from)?,
            unit_cost: row.convert(
                "unit_cost_minor",
                m.unit_cost_minor,
                Money::from_minor_units,
            )?,
            received_at: row.time(m.received_at),
            received_by: row.parse("received_by", &m.received_by)?,
        })
    }
}

pub async fn insert_batch(conn: &impl Conn, batch: &BatchRecord) -> Result<(), StoreError> {
    let row = stock_batches::ActiveModel {
        id: Set(batch.id.to_string()),
        drug_id: Set(batch.drug_id.to_string()),
        batch_number: Set(batch.batch_number.clone()),
        supplier: Set(batch.supplier.clone()),
        expiry_date: Set(batch.expiry.format(EXPIRY_FORMAT).to_string()),
        quantity_received: Set(stored_count(
            "stock_batches",
            "quantity_received",
            batch.quantity_received,
        )?),
        quantity_on_hand: Set(stored_count(
            "stock_batches",
            "quantity_on_hand",
            batch.quantity_on_hand,
        )?),
        unit_cost_minor: Set(batch.unit_cost.minor_units()),
        received_at: Set(to_micros(batch.received_at)),
        received_by: Set(batch.received_by.to_string()),
    };
    stock_batches::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_batch(conn: &impl Conn, id: BatchId) -> Result<Option<BatchRecord>, StoreError> {
    record::one(conn, stock_batches::Entity::find_by_id(id.to_string())).await
}

/// A drug's batches, earliest expiry first.
pub async fn batches_of_drug(
    conn: &impl Conn,
    drug_id: DrugId,
) -> Result<Vec<BatchRecord>, StoreError> {
    record::all(
        conn,
        stock_batches::Entity::find()
            .filter(stock_batches::Column::DrugId.eq(drug_id.to_string()))
            .order_by_asc(stock_batches::Column::ExpiryDate)
            .order_by_asc(stock_batches::Column::Id),
    )
    .await
}

/// Every batch, by drug and expiry (for the stock levels).
pub async fn all_batches(conn: &impl Conn) -> Result<Vec<BatchRecord>, StoreError> {
    record::all(
        conn,
        stock_batches::Entity::find()
            .order_by_asc(stock_batches::Column::DrugId)
            .order_by_asc(stock_batches::Column::ExpiryDate),
    )
    .await
}

/// Takes `units` (> 0) from a batch only if it still holds them: `false` (nothing changed)
/// if it does not.
pub async fn take_from_batch(
    conn: &impl Conn,
    batch_id: BatchId,
    units: i32,
) -> Result<bool, StoreError> {
    let result = stock_batches::Entity::update_many()
        .col_expr(
            stock_batches::Column::QuantityOnHand,
            Expr::col(stock_batches::Column::QuantityOnHand).sub(units),
        )
        .filter(stock_batches::Column::Id.eq(batch_id.to_string()))
        .filter(stock_batches::Column::QuantityOnHand.gte(units))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Adds `units` (> 0) to a batch, never above `max` on hand: `false` if that would exceed it.
pub async fn add_to_batch(
    conn: &impl Conn,
    batch_id: BatchId,
    units: i32,
    max: i32,
) -> Result<bool, StoreError> {
    let result = stock_batches::Entity::update_many()
        .col_expr(
            stock_batches::Column::QuantityOnHand,
            Expr::col(stock_batches::Column::QuantityOnHand).add(units),
        )
        .filter(stock_batches::Column::Id.eq(batch_id.to_string()))
        .filter(stock_batches::Column::QuantityOnHand.lte(max - units))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// One change of a batch's stock, signed. Movements are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRecord {
    pub id: StockMovementId,
    pub batch_id: BatchId,
    pub kind: MovementKind,
    /// Signed: positive adds units, negative takes them.
    pub quantity: i32,
    pub reason: Option<String>,
    /// The prescription dispensed against, for a dispensing.
    pub prescription_id: Option<PrescriptionId>,
    pub actor: UserId,
    pub at: DateTime<Utc>,
}

impl TryFrom<stock_movements::Model> for MovementRecord {
    type Error = StoreError;

    fn try_from(m: stock_movements::Model) -> Result<Self, StoreError> {
        let row = Row("stock_movements");
        Ok(MovementRecord {
            id: row.parse("id", &m.id)?,
            batch_id: row.parse("batch_id", &m.batch_id)?,
            kind: row.convert("kind", m.kind.as_str(), MovementKind::parse)?,
            quantity: m.quantity,
            reason: m.reason,
            prescription_id: row.parse_opt("prescription_id", m.prescription_id.as_deref())?,
            actor: row.parse("actor", &m.actor)?,
            at: row.time(m.at),
        })
    }
}

pub async fn append_movement(
    conn: &impl Conn,
    movement: &MovementRecord,
) -> Result<(), StoreError> {
    let row = stock_movements::ActiveModel {
        id: Set(movement.id.to_string()),
        batch_id: Set(movement.batch_id.to_string()),
        kind: Set(movement.kind.as_str().to_owned()),
        quantity: Set(movement.quantity),
        reason: Set(movement.reason.clone()),
        prescription_id: Set(movement.prescription_id.map(|id| id.to_string())),
        actor: Set(movement.actor.to_string()),
        at: Set(to_micros(movement.at)),
    };
    stock_movements::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A batch's movements, oldest first.
pub async fn movements_of_batch(
    conn: &impl Conn,
    batch_id: BatchId,
) -> Result<Vec<MovementRecord>, StoreError> {
    record::all(
        conn,
        stock_movements::Entity::find()
            .filter(stock_movements::Column::BatchId.eq(batch_id.to_string()))
            .order_by_asc(stock_movements::Column::At)
            .order_by_asc(stock_movements::Column::Id),
    )
    .await
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
