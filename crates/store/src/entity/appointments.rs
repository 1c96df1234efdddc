//! The `appointments` table. Times are microseconds since the epoch (UTC); `reason`,
//! `notes`, `preferred_times` and `status_reason` are sealed under the patient's data key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub clinician_id: Option<String>,
    pub department_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub kind: String,
    pub status: String,
    #[sea_orm(column_type = "Blob")]
    pub reason: Vec<u8>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub notes: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub preferred_times: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub status_reason: Option<Vec<u8>>,
    pub requested_by: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
