//! The `encounters` table: clinical contacts; every clinical text is sealed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "encounters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub clinician_id: String,
    pub appointment_id: Option<String>,
    pub department_id: Option<String>,
    pub kind: String,
    pub status: String,
    pub started_at: i64,
    pub signed_at: Option<i64>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub chief_complaint: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub history: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub examination: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub assessment: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub plan: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
