//! The `notifications` table: the outbox and in-app inbox, one row per recipient and
//! channel. `subject` and `body` are sealed under the patient's data key when `patient_id`
//! is set, UTF-8 text otherwise.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub recipient_user_id: String,
    pub patient_id: Option<String>,
    pub kind: String,
    pub channel: String,
    #[sea_orm(column_type = "Blob")]
    pub subject: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub related_id: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub read_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
