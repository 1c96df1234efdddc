//! Nurses' own records: triage at check-in and nursing notes, without an encounter.
//!
//! `nursing_notes`: one row per note, never updated. In clear: the ids (the patient, the
//! appointment a triage belongs to, the author), the kind (`triage` or `nursing`) and when.
//! Sealed under the patient's data key (AAD `nursing_notes ‖ body ‖ id ‖ patient id`): the
//! body, a JSON object with the text and, for a triage, the acuity (Emergency Severity
//! Index level) and the id of the vitals measured with it.
//!
//! `vitals.appointment_id` (nullable) links the vitals measured at a triage to the visit;
//! `vitals.encounter_id` was nullable already, so vitals need no encounter. No foreign key:
//! SQLite cannot add one to an existing table; the service checks the appointment (one of
//! the patient's, checked in or in progress) when it writes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, add_column, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NursingNotes {
    Table,
    Id,
    PatientId,
    AppointmentId,
    Kind,
    Body,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Vitals {
    Table,
    AppointmentId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(
                    NursingNotes::Table,
                    NursingNotes::Id,
                    NursingNotes::PatientId,
                )
                .col(string_len_null(NursingNotes::AppointmentId, 36))
                .col(string_len(NursingNotes::Kind, 16))
                .col(blob(NursingNotes::Body))
                .col(string_len(NursingNotes::AuthorId, 36))
                .col(big_integer(NursingNotes::CreatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_nursing_notes_author",
                    (NursingNotes::Table, NursingNotes::AuthorId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_nursing_notes_patient_created",
                NursingNotes::Table,
                [NursingNotes::PatientId, NursingNotes::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_nursing_notes_appointment",
                NursingNotes::Table,
                [NursingNotes::AppointmentId],
            ))
            .await?;
        add_column(
            manager,
            Vitals::Table,
            string_len_null(Vitals::AppointmentId, 36),
        )
        .await?;
        manager
            .create_index(index(
                "ix_vitals_appointment",
                Vitals::Table,
                [Vitals::AppointmentId],
            ))
            .await?;
        Ok(())
    }
}
