//! The `invoice_lines` table: one charge or correction with its rounded amounts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub invoice_id: String,
    pub position: i32,
    /// `charge` or `correction`.
    pub kind: String,
    /// `manual`, `appointment` or `dispensing`.
    pub source: String,
    /// The appointment or dispensing charged (unique with `source`).
    pub source_id: Option<String>,
    /// Sealed.
    pub description: Vec<u8>,
    /// Decimal text.
    pub quantity: String,
    pub unit_price_minor: i64,
    /// Decimal text, when the discount was a percentage.
    pub discount_percent: Option<String>,
    /// Decimal text, per cent.
    pub tax_rate: String,
    pub gross_minor: i64,
    pub discount_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub created_by: String,
    pub created_at: i64,
    /// The appointment this line charges (unique: a visit is charged once), whether the
    /// line was written when the appointment was completed or by hand; null otherwise.
    pub appointment_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
