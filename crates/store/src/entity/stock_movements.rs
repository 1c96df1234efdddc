//! The `stock_movements` table: every change of a batch's stock, append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub batch_id: String,
    /// `receipt`, `dispense` or `adjustment`.
    pub kind: String,
    /// Signed: positive adds to the batch, negative takes from it.
    pub quantity: i32,
    pub reason: Option<String>,
    pub prescription_id: Option<String>,
    pub actor: String,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
