//! Pharmacy: the formulary (`drugs`), stock by batch (`stock_batches`) and the
//! append-only history of every change of stock (`stock_movements`).
//!
//! - `stock_batches.expiry_date` is the calendar date from which the batch may no longer be
//!   dispensed, as `YYYY-MM-DD` text (`varchar(10)`): a date has no time zone, the text form
//!   sorts and compares correctly on all three backends, and it reads plainly in a dump.
//! - `stock_batches.quantity_on_hand` never goes below zero: the store only takes units away
//!   with a conditional update (`… WHERE quantity_on_hand >= n`), so concurrent dispensing
//!   cannot oversell on any backend (see `carevault_store::pharmacy`).
//! - `stock_batches.unit_cost_minor` is money in minor units (cents) as `bigint`
//!   (`carevault_core::money::Money::minor_units`): exact, no floating point.
//! - `stock_movements.quantity` is signed: receipts positive, dispensing negative,
//!   adjustments either. Rows are only ever inserted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{foreign_key, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Drugs {
    Table,
    Id,
    Name,
    GenericName,
    Form,
    Strength,
    Unit,
    AtcCode,
    ReorderLevel,
    ReorderQuantity,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StockBatches {
    Table,
    Id,
    DrugId,
    BatchNumber,
    Supplier,
    ExpiryDate,
    QuantityReceived,
    QuantityOnHand,
    UnitCostMinor,
    ReceivedAt,
    ReceivedBy,
}

#[derive(DeriveIden)]
enum StockMovements {
    Table,
    Id,
    BatchId,
    Kind,
    Quantity,
    Reason,
    PrescriptionId,
    Actor,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Drugs::Table)
                    .col(string_len(Drugs::Id, 36).primary_key())
                    .col(string_len(Drugs::Name, 200))
                    .col(string_len(Drugs::GenericName, 200))
                    .col(string_len(Drugs::Form, 50))
                    .col(string_len(Drugs::Strength, 50))
                    .col(string_len(Drugs::Unit, 30))
                    .col(string_len_null(Drugs::AtcCode, 7))
                    .col(integer(Drugs::ReorderLevel))
                    .col(integer(Drugs::ReorderQuantity))
                    .col(boolean(Drugs::Active))
                    .col(big_integer(Drugs::CreatedAt))
                    .col(big_integer(Drugs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_drugs_name_strength",
                Drugs::Table,
                [Drugs::Name, Drugs::Strength],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StockBatches::Table)
                    .col(string_len(StockBatches::Id, 36).primary_key())
                    .col(string_len(StockBatches::DrugId, 36))
                    .col(string_len(StockBatches::BatchNumber, 50))
                    .col(string_len(StockBatches::Supplier, 200))
                    .col(string_len(StockBatches::ExpiryDate, 10))
                    .col(integer(StockBatches::QuantityReceived))
                    .col(integer(StockBatches::QuantityOnHand))
                    .col(big_integer(StockBatches::UnitCostMinor))
                    .col(big_integer(StockBatches::ReceivedAt))
                    .col(string_len(StockBatches::ReceivedBy, 36))
                    .check(Expr::col(StockBatches::QuantityOnHand).gte(0))
                    .foreign_key(&mut foreign_key(
                        "fk_stock_batches_drug",
                        (StockBatches::Table, StockBatches::DrugId),
                        (Drugs::Table, Drugs::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stock_batches_drug_expiry",
                StockBatches::Table,
                [StockBatches::DrugId, StockBatches::ExpiryDate],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StockMovements::Table)
                    .col(string_len(StockMovements::Id, 36).primary_key())
                    .col(string_len(StockMovements::BatchId, 36))
                    .col(string_len(StockMovements::Kind, 20))
                    .col(integer(StockMovements::Quantity))
                    .col(string_len_null(StockMovements::Reason, 600))
                    .col(string_len_null(StockMovements::PrescriptionId, 36))
                    .col(string_len(StockMovements::Actor, 36))
                    .col(big_integer(StockMovements::At))
                    .foreign_key(&mut foreign_key(
                        "fk_stock_movements_batch",
                        (StockMovements::Table, StockMovements::BatchId),
                        (StockBatches::Table, StockBatches::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stock_movements_batch_at",
                StockMovements::Table,
                [StockMovements::BatchId, StockMovements::At],
            ))
            .await?;
        Ok(())
    }
}
