//! Prescriptions: what a doctor prescribed from an encounter. The details (drug, dose,
//! route, frequency, duration, quantity, instructions) and any acknowledged warnings are one
//! sealed JSON body under the patient's data key; the status, quantities and who/when are
//! clear (the pharmacy issue dispenses against `quantity_dispensed`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Encounters, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Prescriptions {
    Table,
    Id,
    PatientId,
    EncounterId,
    PrescriberId,
    Status,
    Body,
    StatusReason,
    QuantityDispensed,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(
                    Prescriptions::Table,
                    Prescriptions::Id,
                    Prescriptions::PatientId,
                )
                .col(string_len(Prescriptions::EncounterId, 36))
                .col(string_len(Prescriptions::PrescriberId, 36))
                .col(string_len(Prescriptions::Status, 20))
                .col(blob(Prescriptions::Body))
                .col(blob_null(Prescriptions::StatusReason))
                .col(integer(Prescriptions::QuantityDispensed))
                .col(big_integer(Prescriptions::CreatedAt))
                .col(big_integer(Prescriptions::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_prescriptions_encounter",
                    (Prescriptions::Table, Prescriptions::EncounterId),
                    (Encounters::Table, Encounters::Id),
                ))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_prescriptions_patient_status",
                Prescriptions::Table,
                [Prescriptions::PatientId, Prescriptions::Status],
            ))
            .await?;
        Ok(())
    }
}
