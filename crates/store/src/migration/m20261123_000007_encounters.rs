//! Clinical records: encounters, their diagnoses, the notes appended to them (nurses'
//! treatment notes and amendments of signed encounters), vitals, and de-identified diagnosis
//! counts for the diagnoses report.
//!
//! Sealed under the patient's data key: every clinical text (the encounter's complaint,
//! history, examination, assessment and plan; each diagnosis's code and words; every note;
//! the vitals). In clear: ids, who and when, the encounter's type and status, a diagnosis's
//! kind (primary or secondary) and whether it is free text, and a note's kind.
//!
//! `diagnosis_stats` holds one row per recorded coded diagnosis — the code, the department
//! and the local day — with no patient, encounter or author column, so the report can count
//! by code without decrypting anything and without a clear link from a code to a patient.
//! The diagnosis row keeps its stat row's id sealed (to remove it when an amendment retracts
//! the diagnosis).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Encounters {
    Table,
    Id,
    PatientId,
    ClinicianId,
    AppointmentId,
    DepartmentId,
    Kind,
    Status,
    StartedAt,
    SignedAt,
    ChiefComplaint,
    History,
    Examination,
    Assessment,
    Plan,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EncounterDiagnoses {
    Table,
    Id,
    EncounterId,
    PatientId,
    Kind,
    FreeText,
    Body,
    AddedBy,
    AddedAt,
    RetractedAt,
}

#[derive(DeriveIden)]
enum EncounterNotes {
    Table,
    Id,
    EncounterId,
    PatientId,
    NoteKind,
    Body,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Vitals {
    Table,
    Id,
    PatientId,
    EncounterId,
    Body,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum DiagnosisStats {
    Table,
    Id,
    Code,
    DepartmentId,
    RecordedDay,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(Encounters::Table, Encounters::Id, Encounters::PatientId)
                    .col(string_len(Encounters::ClinicianId, 36))
                    .col(string_len_null(Encounters::AppointmentId, 36))
                    .col(string_len_null(Encounters::DepartmentId, 36))
                    .col(string_len(Encounters::Kind, 20))
                    .col(string_len(Encounters::Status, 20))
                    .col(big_integer(Encounters::StartedAt))
                    .col(big_integer_null(Encounters::SignedAt))
                    .col(blob_null(Encounters::ChiefComplaint))
                    .col(blob_null(Encounters::History))
                    .col(blob_null(Encounters::Examination))
                    .col(blob_null(Encounters::Assessment))
                    .col(blob_null(Encounters::Plan))
                    .col(big_integer(Encounters::CreatedAt))
                    .col(big_integer(Encounters::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_encounters_clinician",
                        (Encounters::Table, Encounters::ClinicianId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_encounters_patient_started",
                Encounters::Table,
                [Encounters::PatientId, Encounters::StartedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EncounterDiagnoses::Table)
                    .col(string_len(EncounterDiagnoses::Id, 36).primary_key())
                    .col(string_len(EncounterDiagnoses::EncounterId, 36))
                    .col(string_len(EncounterDiagnoses::PatientId, 36))
                    .col(string_len(EncounterDiagnoses::Kind, 20))
                    .col(boolean(EncounterDiagnoses::FreeText))
                    .col(blob(EncounterDiagnoses::Body))
                    .col(string_len(EncounterDiagnoses::AddedBy, 36))
                    .col(big_integer(EncounterDiagnoses::AddedAt))
                    .col(big_integer_null(EncounterDiagnoses::RetractedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_encounter_diagnoses_encounter",
                        (EncounterDiagnoses::Table, EncounterDiagnoses::EncounterId),
                        (Encounters::Table, Encounters::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_encounter_diagnoses_encounter",
                EncounterDiagnoses::Table,
                [EncounterDiagnoses::EncounterId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EncounterNotes::Table)
                    .col(string_len(EncounterNotes::Id, 36).primary_key())
                    .col(string_len(EncounterNotes::EncounterId, 36))
                    .col(string_len(EncounterNotes::PatientId, 36))
                    .col(string_len(EncounterNotes::NoteKind, 20))
                    .col(blob(EncounterNotes::Body))
                    .col(string_len(EncounterNotes::AuthorId, 36))
                    .col(big_integer(EncounterNotes::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_encounter_notes_encounter",
                        (EncounterNotes::Table, EncounterNotes::EncounterId),
                        (Encounters::Table, Encounters::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_encounter_notes_encounter",
                EncounterNotes::Table,
                [EncounterNotes::EncounterId, EncounterNotes::CreatedAt],
            ))
            .await?;
        manager
            .create_table(
                patient_record_table(Vitals::Table, Vitals::Id, Vitals::PatientId)
                    .col(string_len_null(Vitals::EncounterId, 36))
                    .col(blob(Vitals::Body))
                    .col(string_len(Vitals::RecordedBy, 36))
                    .col(big_integer(Vitals::RecordedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_vitals_patient_recorded",
                Vitals::Table,
                [Vitals::PatientId, Vitals::RecordedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DiagnosisStats::Table)
                    .col(string_len(DiagnosisStats::Id, 36).primary_key())
                    .col(string_len(DiagnosisStats::Code, 10))
                    .col(string_len_null(DiagnosisStats::DepartmentId, 36))
                    .col(big_integer(DiagnosisStats::RecordedDay))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_diagnosis_stats_day",
                DiagnosisStats::Table,
                [DiagnosisStats::RecordedDay],
            ))
            .await?;
        Ok(())
    }
}
