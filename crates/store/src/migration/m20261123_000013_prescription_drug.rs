//! Prescriptions choose from the formulary: a nullable `prescriptions.drug_id`,
//! the formulary drug prescribed. Null for a free-text prescription (a drug the pharmacy
//! does not stock, and every prescription written before the formulary existed). No foreign
//! key: SQLite cannot add one to an existing table, and the service checks the id (an
//! active formulary drug) when it writes it; drugs are withdrawn, never deleted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Prescriptions {
    Table,
    DrugId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            Prescriptions::Table,
            string_len_null(Prescriptions::DrugId, 36),
        )
        .await
    }
}
