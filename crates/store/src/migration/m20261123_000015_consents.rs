//! Consent records: one row per change, never updated; the consent in force for a
//! purpose is the patient's latest row for it.
//!
//! In clear: the ids, the purpose and status (short enumerations, see
//! `carevault_core::consent`), when and by whom (an account id). The optional note (for
//! example the reference of a signed paper form) is free text and is sealed under the
//! patient's data key (AAD `consents ‖ note ‖ id ‖ patient id`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    PatientId,
    Purpose,
    Status,
    RecordedAt,
    RecordedBy,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(Consents::Table, Consents::Id, Consents::PatientId)
                    .col(string_len(Consents::Purpose, 32))
                    .col(string_len(Consents::Status, 16))
                    .col(big_integer(Consents::RecordedAt))
                    .col(string_len(Consents::RecordedBy, 36))
                    .col(blob_null(Consents::Note))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_consents_patient",
                Consents::Table,
                [Consents::PatientId, Consents::Purpose, Consents::RecordedAt],
            ))
            .await?;
        Ok(())
    }
}
