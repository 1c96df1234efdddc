//! The `emergency_access` table: break-the-glass grants and their review. `reason` and
//! `review_note` are sealed under the patient's data key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "emergency_access")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub user_id: String,
    #[sea_orm(column_type = "Blob")]
    pub reason: Vec<u8>,
    pub duration_minutes: i32,
    pub granted_at: i64,
    pub expires_at: i64,
    pub review_status: String,
    #[sea_orm(column_type = "Blob", nullable)]
    pub review_note: Option<Vec<u8>>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
