//! The `price_list` table: what a consultation type, a procedure or a drug costs.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_list")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub code: String,
    /// `consultation`, `procedure`, `drug` or `other`.
    pub kind: String,
    pub label: String,
    /// For a consultation price: the appointment type it charges (unique).
    pub appointment_type: Option<String>,
    /// For a drug price: the drug (unique); null on the default drug markup.
    pub drug_id: Option<String>,
    pub fixed_price_minor: Option<i64>,
    /// Decimal text.
    pub markup_percent: Option<String>,
    /// Decimal text, per cent.
    pub tax_rate: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
