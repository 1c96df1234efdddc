//! The `nursing_notes` table: a nurse's triage at check-in or nursing note, outside any
//! encounter; the body (text, acuity, the triage's vitals id) is sealed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "nursing_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub patient_id: String,
    pub appointment_id: Option<String>,
    /// `triage` or `nursing` (`carevault_core::nursing::NursingNoteKind`).
    pub kind: String,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub author_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
