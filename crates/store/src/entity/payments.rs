//! The `payments` table: money received against an invoice. Only ever inserted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub invoice_id: String,
    pub amount_minor: i64,
    /// `cash`, `card`, `insurance` or `transfer`.
    pub method: String,
    /// Sealed.
    pub reference: Option<Vec<u8>>,
    pub received_by: String,
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
