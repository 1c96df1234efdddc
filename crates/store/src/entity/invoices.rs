//! The `invoices` table: one bill of one patient, with its stored totals.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub patient_id: String,
    /// The patient id while a draft, else null (unique: one open draft per patient).
    pub open_for: Option<String>,
    pub status: String,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub version: i32,
    /// Sealed.
    pub void_reason: Option<Vec<u8>>,
    pub created_by: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
