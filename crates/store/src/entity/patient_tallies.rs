//! The `patient_tallies` table: how many patient records (not erased) there are per sex and
//! birth year, kept by triggers on `patients` (migration `m20261207_000019`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_tallies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sex: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub birth_year: i32,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
