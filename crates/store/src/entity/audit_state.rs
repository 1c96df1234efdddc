//! The `audit_state` table: one row holding the audit tree's size and compact frontier, so
//! an append is O(log n). Appenders lock this row, which serialises them across processes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub tree_size: i64,
    /// Hex of the serialised frontier (empty for the empty tree).
    #[sea_orm(column_type = "Text")]
    pub frontier: String,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
