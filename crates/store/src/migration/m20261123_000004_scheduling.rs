//! Scheduling: departments, staff profiles, appointments and the slot claims that make a
//! double booking impossible.
//!
//! `appointment_slot_claims` is how the database itself refuses overlapping bookings on every
//! backend: an active appointment owns one row per 5-minute grid cell it covers
//! (`carevault_core::appointment::slot_keys`) for its clinician (`owner_kind = 'c'`) and one
//! for its patient (`'p'`), under a primary key of (owner kind, owner id, slot key). Two
//! overlapping appointments for the same clinician or the same patient would need the same
//! key, so the second insert fails with a uniqueness violation whatever the concurrency and
//! isolation level. Claims are deleted when an appointment is cancelled or marked a no-show,
//! and replaced when it is rescheduled, in the same transaction as the status change.
//!
//! In clear on `appointments`: the ids (opaque), times, type and status (the calendar and the
//! status job query them). Reason, notes, the patient's preferred times and the cancellation
//! reason are sealed under the patient's data key, like the patient's own clinical fields.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    Code,
    Name,
    Location,
    SlotMinutes,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StaffProfiles {
    Table,
    UserId,
    DepartmentId,
    Specialty,
    WorkPhone,
    WorkingHours,
    Active,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    PatientId,
    ClinicianId,
    DepartmentId,
    StartAt,
    EndAt,
    Kind,
    Status,
    Reason,
    Notes,
    PreferredTimes,
    StatusReason,
    RequestedBy,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppointmentSlotClaims {
    Table,
    OwnerKind,
    OwnerId,
    SlotKey,
    AppointmentId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(string_len(Departments::Id, 36).primary_key())
                    .col(string_len_uniq(Departments::Code, 16))
                    .col(string_len_uniq(Departments::Name, 100))
                    .col(string_len(Departments::Location, 200))
                    .col(integer(Departments::SlotMinutes))
                    .col(boolean(Departments::Active))
                    .col(big_integer(Departments::CreatedAt))
                    .col(big_integer(Departments::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffProfiles::Table)
                    .col(string_len(StaffProfiles::UserId, 36).primary_key())
                    .col(string_len_null(StaffProfiles::DepartmentId, 36))
                    .col(string_len_null(StaffProfiles::Specialty, 100))
                    .col(string_len_null(StaffProfiles::WorkPhone, 40))
                    .col(string_len(StaffProfiles::WorkingHours, 400))
                    .col(boolean(StaffProfiles::Active))
                    .col(big_integer(StaffProfiles::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_staff_profiles_user",
                        (StaffProfiles::Table, StaffProfiles::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        "fk_staff_profiles_department",
                        (StaffProfiles::Table, StaffProfiles::DepartmentId),
                        (Departments::Table, Departments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                patient_record_table(
                    Appointments::Table,
                    Appointments::Id,
                    Appointments::PatientId,
                )
                .col(string_len_null(Appointments::ClinicianId, 36))
                .col(string_len(Appointments::DepartmentId, 36))
                .col(big_integer(Appointments::StartAt))
                .col(big_integer(Appointments::EndAt))
                .col(string_len(Appointments::Kind, 20))
                .col(string_len(Appointments::Status, 20))
                .col(blob(Appointments::Reason))
                .col(blob_null(Appointments::Notes))
                .col(blob_null(Appointments::PreferredTimes))
                .col(blob_null(Appointments::StatusReason))
                .col(string_len_null(Appointments::RequestedBy, 36))
                .col(string_len_null(Appointments::CreatedBy, 36))
                .col(big_integer(Appointments::CreatedAt))
                .col(big_integer(Appointments::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_appointments_clinician",
                    (Appointments::Table, Appointments::ClinicianId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut foreign_key(
                    "fk_appointments_department",
                    (Appointments::Table, Appointments::DepartmentId),
                    (Departments::Table, Departments::Id),
                ))
                .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_appointments_clinician_start", Appointments::ClinicianId),
            ("ix_appointments_patient_start", Appointments::PatientId),
            (
                "ix_appointments_department_start",
                Appointments::DepartmentId,
            ),
            ("ix_appointments_status_start", Appointments::Status),
        ] {
            manager
                .create_index(index(
                    name,
                    Appointments::Table,
                    [column, Appointments::StartAt],
                ))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AppointmentSlotClaims::Table)
                    .col(string_len(AppointmentSlotClaims::OwnerKind, 1))
                    .col(string_len(AppointmentSlotClaims::OwnerId, 36))
                    .col(big_integer(AppointmentSlotClaims::SlotKey))
                    .col(string_len(AppointmentSlotClaims::AppointmentId, 36))
                    .primary_key(
                        Index::create()
                            .col(AppointmentSlotClaims::OwnerKind)
                            .col(AppointmentSlotClaims::OwnerId)
                            .col(AppointmentSlotClaims::SlotKey),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_slot_claims_appointment",
                        (
                            AppointmentSlotClaims::Table,
                            AppointmentSlotClaims::AppointmentId,
                        ),
                        (Appointments::Table, Appointments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_slot_claims_appointment",
                AppointmentSlotClaims::Table,
                [AppointmentSlotClaims::AppointmentId],
            ))
            .await?;
        Ok(())
    }
}
