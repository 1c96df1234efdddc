//! The `stock_batches` table: one delivered batch of one drug and what is left of it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub drug_id: String,
    pub batch_number: String,
    pub supplier: String,
    /// `YYYY-MM-DD`.
    pub expiry_date: String,
    pub quantity_received: i32,
    pub quantity_on_hand: i32,
    pub unit_cost_minor: i64,
    pub received_at: i64,
    pub received_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
