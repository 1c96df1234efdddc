//! The `staff_profiles` table: the directory entry of a staff account (department,
//! specialty, work phone, weekly working hours in the text form of
//! `carevault_core::appointment::WeeklyHours`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub department_id: Option<String>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    pub working_hours: String,
    pub active: bool,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
