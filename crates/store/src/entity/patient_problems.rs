//! The `patient_problems` table: a patient's problem list; the condition and onset are one
//! sealed JSON body (see the migration).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_problems")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    /// `active` or `resolved`.
    pub status: String,
    /// Sealed under the patient's data key.
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub source_encounter_id: Option<String>,
    pub source_diagnosis_id: Option<String>,
    pub recorded_by: String,
    pub recorded_at: i64,
    pub updated_by: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
