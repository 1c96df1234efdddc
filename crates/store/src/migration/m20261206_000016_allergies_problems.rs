//! The allergy list and the problem list of a patient.
//!
//! `patient_allergies`: one row per entry, either an allergy (`entry_kind = 'allergy'`) or
//! the "no known allergies" statement (`'no_known_allergies'`). What the entry says (the
//! substance, its code, the free-text flag, the reaction, the severity) is one sealed JSON
//! `body` under the patient's data key (AAD `patient_allergies ‖ body ‖ id ‖ patient id`);
//! the reason given for a status change is sealed too (`status_reason`). In clear: the ids,
//! the kind and status (`active`, `inactive`, `entered_in_error`: the banner and the
//! prescribing check select on them), who and when. `recorded_by` is empty (NULL) for
//! entries moved from the patient record's old free-text `allergies` field at start-up.
//!
//! `patient_problems`: one row per condition. The ICD-10-CM code or free text, the flag and
//! the onset are one sealed JSON `body`; in clear: the ids, the status (`active`,
//! `resolved`), the encounter and diagnosis it was added from (if any), who and when. The
//! source diagnosis has no foreign key: a draft's diagnoses are replaced when it is edited,
//! and the problem keeps its own copy.
//!
//! Erasure empties both sealed columns (the data key is destroyed anyway).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Encounters, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PatientAllergies {
    Table,
    Id,
    PatientId,
    EntryKind,
    Status,
    Body,
    StatusReason,
    RecordedBy,
    RecordedAt,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PatientProblems {
    Table,
    Id,
    PatientId,
    Status,
    Body,
    SourceEncounterId,
    SourceDiagnosisId,
    RecordedBy,
    RecordedAt,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(
                    PatientAllergies::Table,
                    PatientAllergies::Id,
                    PatientAllergies::PatientId,
                )
                .col(string_len(PatientAllergies::EntryKind, 24))
                .col(string_len(PatientAllergies::Status, 20))
                .col(blob(PatientAllergies::Body))
                .col(blob_null(PatientAllergies::StatusReason))
                .col(string_len_null(PatientAllergies::RecordedBy, 36))
                .col(big_integer(PatientAllergies::RecordedAt))
                .col(string_len_null(PatientAllergies::UpdatedBy, 36))
                .col(big_integer(PatientAllergies::UpdatedAt))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_patient_allergies_patient",
                PatientAllergies::Table,
                [PatientAllergies::PatientId, PatientAllergies::Status],
            ))
            .await?;
        manager
            .create_table(
                patient_record_table(
                    PatientProblems::Table,
                    PatientProblems::Id,
                    PatientProblems::PatientId,
                )
                .col(string_len(PatientProblems::Status, 16))
                .col(blob(PatientProblems::Body))
                .col(string_len_null(PatientProblems::SourceEncounterId, 36))
                .col(string_len_null(PatientProblems::SourceDiagnosisId, 36))
                .col(string_len(PatientProblems::RecordedBy, 36))
                .col(big_integer(PatientProblems::RecordedAt))
                .col(string_len_null(PatientProblems::UpdatedBy, 36))
                .col(big_integer(PatientProblems::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_patient_problems_encounter",
                    (PatientProblems::Table, PatientProblems::SourceEncounterId),
                    (Encounters::Table, Encounters::Id),
                ))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_patient_problems_patient",
                PatientProblems::Table,
                [PatientProblems::PatientId, PatientProblems::Status],
            ))
            .await?;
        Ok(())
    }
}
