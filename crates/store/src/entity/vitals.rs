//! The `vitals` table: one set of measurements, on an encounter, at a triage (the
//! appointment) or on their own; the values are one sealed JSON body.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vitals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub encounter_id: Option<String>,
    /// The visit whose triage measured them (no encounter then).
    pub appointment_id: Option<String>,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
