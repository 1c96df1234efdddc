//! The `legal_holds` table: a hold that refuses a patient's erasure while it is in force. The
//! reason is clear, staff-written reference text (it must survive the erasure it blocks).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legal_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub reason: String,
    pub set_by: Option<String>,
    pub set_at: i64,
    pub until: Option<i64>,
    pub released_at: Option<i64>,
    pub released_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
