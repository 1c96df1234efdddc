//! Record shares: a patient grants a named doctor access to their record for a period, and
//! may revoke it at any time.
//!
//! `scope` is `record` today; encounters and documents (with `scope_id`) join when they
//! exist. Everything here is clear: who shared with whom, when and until when is what the
//! access check needs, and it is not clinical content.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RecordShares {
    Table,
    Id,
    PatientId,
    UserId,
    Scope,
    ScopeId,
    GrantedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecordShares::Table)
                    .col(string_len(RecordShares::Id, 36).primary_key())
                    .col(string_len(RecordShares::PatientId, 36))
                    .col(string_len(RecordShares::UserId, 36))
                    .col(string_len(RecordShares::Scope, 20))
                    .col(string_len_null(RecordShares::ScopeId, 36))
                    .col(big_integer(RecordShares::GrantedAt))
                    .col(big_integer(RecordShares::ExpiresAt))
                    .col(big_integer_null(RecordShares::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_record_shares_patient")
                            .from(RecordShares::Table, RecordShares::PatientId)
                            .to(Patients::Table, Patients::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_record_shares_user")
                            .from(RecordShares::Table, RecordShares::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_record_shares_holder")
                    .table(RecordShares::Table)
                    .col(RecordShares::UserId)
                    .col(RecordShares::PatientId)
                    .col(RecordShares::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_record_shares_patient")
                    .table(RecordShares::Table)
                    .col(RecordShares::PatientId)
                    .col(RecordShares::GrantedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
