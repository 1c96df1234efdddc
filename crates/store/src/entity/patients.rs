//! The `patients` table: one row per patient; identifying and clinical columns are sealed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub pseudonym_number: i64,
    pub status: String,
    pub sex: String,
    pub birth_year: i32,
    pub account_id: Option<String>,
    #[sea_orm(column_type = "Blob")]
    pub wrapped_data_key: Vec<u8>,
    pub kek_version: i32,
    #[sea_orm(column_type = "Blob")]
    pub mrn: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub given_name: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub family_name: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub date_of_birth: Vec<u8>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub gender_identity: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub address: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub phone: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub email: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub emergency_contact: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub national_id: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub preferred_language: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub blood_group: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub allergies: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub primary_diagnosis: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
