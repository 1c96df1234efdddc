//! The `patient_allergies` table: a patient's allergy entries and "no known allergies"
//! statements; what an entry says is one sealed JSON body (see the migration).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_allergies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    /// `allergy` or `no_known_allergies`.
    pub entry_kind: String,
    /// `active`, `inactive` or `entered_in_error`.
    pub status: String,
    /// Sealed under the patient's data key.
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    /// Sealed under the patient's data key.
    #[sea_orm(column_type = "Blob", nullable)]
    pub status_reason: Option<Vec<u8>>,
    /// `None`: moved from the old free-text field.
    pub recorded_by: Option<String>,
    pub recorded_at: i64,
    pub updated_by: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
