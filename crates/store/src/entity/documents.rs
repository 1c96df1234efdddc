//! The `documents` table: one uploaded file of a patient. `name`, `title` and `sha256` are
//! sealed under the patient's data key; the file itself is in `document_chunks`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub encounter_id: Option<String>,
    pub kind: String,
    pub size_bytes: i64,
    pub page_count: Option<i32>,
    #[sea_orm(column_type = "Blob")]
    pub name: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub title: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub sha256: Vec<u8>,
    pub chunks: i32,
    pub thumbnail_chunks: i32,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
