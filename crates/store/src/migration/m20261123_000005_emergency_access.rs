//! Break-the-glass: emergency access of a clinician outside a patient's care team.
//!
//! One row per grant: who, to whom, for how long, and the review an administrator gives it.
//! The stated reason and the reviewer's note are sealed under the patient's data key (they
//! may describe the patient's condition); the times, the review status and the ids are clear
//! so that the access check and the review queue need no decryption.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmergencyAccess {
    Table,
    Id,
    PatientId,
    UserId,
    Reason,
    DurationMinutes,
    GrantedAt,
    ExpiresAt,
    ReviewStatus,
    ReviewNote,
    ReviewedBy,
    ReviewedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(
                    EmergencyAccess::Table,
                    EmergencyAccess::Id,
                    EmergencyAccess::PatientId,
                )
                .col(string_len(EmergencyAccess::UserId, 36))
                .col(blob(EmergencyAccess::Reason))
                .col(integer(EmergencyAccess::DurationMinutes))
                .col(big_integer(EmergencyAccess::GrantedAt))
                .col(big_integer(EmergencyAccess::ExpiresAt))
                .col(string_len(EmergencyAccess::ReviewStatus, 20))
                .col(blob_null(EmergencyAccess::ReviewNote))
                .col(string_len_null(EmergencyAccess::ReviewedBy, 36))
                .col(big_integer_null(EmergencyAccess::ReviewedAt))
                .foreign_key(&mut foreign_key(
                    "fk_emergency_access_user",
                    (EmergencyAccess::Table, EmergencyAccess::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_emergency_access_holder",
                EmergencyAccess::Table,
                [
                    EmergencyAccess::UserId,
                    EmergencyAccess::PatientId,
                    EmergencyAccess::ExpiresAt,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_emergency_access_review",
                EmergencyAccess::Table,
                [EmergencyAccess::ReviewStatus, EmergencyAccess::GrantedAt],
            ))
            .await?;
        Ok(())
    }
}
