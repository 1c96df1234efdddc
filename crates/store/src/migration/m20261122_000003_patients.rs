//! The patient registry: sealed patient rows, their blind indexes, care-team membership and
//! named counters (the MRN serial).
//!
//! `patients` keeps in clear only what must be queried or counted without decrypting the
//! table (see ARCHITECTURE.md, "What stays in clear"): the opaque id, the random pseudonym
//! number, status, sex and birth year (statistics), the linked portal account, the KEK
//! version of the wrapped data key (rotation finds what to re-wrap), and timestamps.
//! Every other column is a sealed field (`carevault_crypto::seal`) or the wrapped data key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    Id,
    PseudonymNumber,
    Status,
    Sex,
    BirthYear,
    AccountId,
    WrappedDataKey,
    KekVersion,
    Mrn,
    GivenName,
    FamilyName,
    DateOfBirth,
    GenderIdentity,
    Address,
    Phone,
    Email,
    EmergencyContact,
    NationalId,
    PreferredLanguage,
    BloodGroup,
    Allergies,
    PrimaryDiagnosis,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PatientSearchIndex {
    Table,
    Kind,
    Value,
    PatientId,
    Weight,
}

#[derive(DeriveIden)]
enum CareTeamMembers {
    Table,
    PatientId,
    UserId,
    Source,
    AddedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Patients::Table)
                    .col(string_len(Patients::Id, 36).primary_key())
                    .col(big_integer_uniq(Patients::PseudonymNumber))
                    .col(string_len(Patients::Status, 20))
                    .col(string_len(Patients::Sex, 10))
                    .col(integer(Patients::BirthYear))
                    .col(string_len_null(Patients::AccountId, 36).unique_key())
                    .col(blob(Patients::WrappedDataKey))
                    .col(integer(Patients::KekVersion))
                    .col(blob(Patients::Mrn))
                    .col(blob(Patients::GivenName))
                    .col(blob(Patients::FamilyName))
                    .col(blob(Patients::DateOfBirth))
                    .col(blob_null(Patients::GenderIdentity))
                    .col(blob_null(Patients::Address))
                    .col(blob_null(Patients::Phone))
                    .col(blob_null(Patients::Email))
                    .col(blob_null(Patients::EmergencyContact))
                    .col(blob_null(Patients::NationalId))
                    .col(blob_null(Patients::PreferredLanguage))
                    .col(blob_null(Patients::BloodGroup))
                    .col(blob_null(Patients::Allergies))
                    .col(blob_null(Patients::PrimaryDiagnosis))
                    .col(big_integer(Patients::CreatedAt))
                    .col(big_integer(Patients::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_patients_account",
                        (Patients::Table, Patients::AccountId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_patients_kek_version",
                Patients::Table,
                [Patients::KekVersion],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_patients_updated_at",
                Patients::Table,
                [Patients::UpdatedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PatientSearchIndex::Table)
                    .col(string_len(PatientSearchIndex::Kind, 32))
                    .col(string_len(PatientSearchIndex::Value, 64))
                    .col(string_len(PatientSearchIndex::PatientId, 36))
                    .col(small_integer(PatientSearchIndex::Weight))
                    .primary_key(
                        Index::create()
                            .col(PatientSearchIndex::Kind)
                            .col(PatientSearchIndex::Value)
                            .col(PatientSearchIndex::PatientId),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_patient_search_index_patient",
                        (PatientSearchIndex::Table, PatientSearchIndex::PatientId),
                        (Patients::Table, Patients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_patient_search_index_patient",
                PatientSearchIndex::Table,
                [PatientSearchIndex::PatientId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CareTeamMembers::Table)
                    .col(string_len(CareTeamMembers::PatientId, 36))
                    .col(string_len(CareTeamMembers::UserId, 36))
                    .col(string_len(CareTeamMembers::Source, 20))
                    .col(string_len_null(CareTeamMembers::AddedBy, 36))
                    .col(big_integer(CareTeamMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(CareTeamMembers::PatientId)
                            .col(CareTeamMembers::UserId)
                            .col(CareTeamMembers::Source),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_care_team_patient",
                        (CareTeamMembers::Table, CareTeamMembers::PatientId),
                        (Patients::Table, Patients::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        "fk_care_team_user",
                        (CareTeamMembers::Table, CareTeamMembers::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_care_team_user",
                CareTeamMembers::Table,
                [CareTeamMembers::UserId, CareTeamMembers::PatientId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(string_len(Counters::Name, 32).primary_key())
                    .col(big_integer(Counters::Value))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
