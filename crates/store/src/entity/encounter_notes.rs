//! The `encounter_notes` table: what is appended to an encounter — nurses' treatment notes
//! and amendments of signed encounters; the body is sealed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "encounter_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub encounter_id: String,
    pub patient_id: String,
    pub note_kind: String,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub author_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
