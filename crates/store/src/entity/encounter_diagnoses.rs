//! The `encounter_diagnoses` table: an encounter's diagnoses; the code, words and stat id
//! are one sealed JSON body.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "encounter_diagnoses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub encounter_id: String,
    pub patient_id: String,
    pub kind: String,
    pub free_text: bool,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub added_by: String,
    pub added_at: i64,
    pub retracted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
