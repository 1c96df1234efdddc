//! The `erasures` table: the tombstone of an erased patient — who erased whom, when, why (a
//! category word) and which erasure-ledger entry records it. No personal data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "erasures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: String,
    pub erased_at: i64,
    pub erased_by: Option<String>,
    pub actor_kind: String,
    pub reason_category: String,
    pub ledger_sequence: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
