//! The `prescriptions` table; the details are one sealed JSON body.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prescriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub encounter_id: String,
    pub prescriber_id: String,
    pub status: String,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub status_reason: Option<Vec<u8>>,
    pub quantity_dispensed: i32,
    /// The formulary drug prescribed; `None` for a free-text prescription.
    #[sea_orm(nullable)]
    pub drug_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
