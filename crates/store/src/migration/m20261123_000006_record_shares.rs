//! Record shares: a patient grants a named doctor access to their record for a period, and
//! may revoke it at any time.
//!
//! `scope` is `record` today; encounters and documents (with `scope_id`) join when they
//! exist. Everything here is clear: who shared with whom, when and until when is what the
//! access check needs, and it is not clinical content.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index, patient_record_table};

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(
                    RecordShares::Table,
                    RecordShares::Id,
                    RecordShares::PatientId,
                )
                .col(string_len(RecordShares::UserId, 36))
                .col(string_len(RecordShares::Scope, 20))
                .col(string_len_null(RecordShares::ScopeId, 36))
                .col(big_integer(RecordShares::GrantedAt))
                .col(big_integer(RecordShares::ExpiresAt))
                .col(big_integer_null(RecordShares::RevokedAt))
                .foreign_key(&mut foreign_key(
                    "fk_record_shares_user",
                    (RecordShares::Table, RecordShares::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_record_shares_holder",
                RecordShares::Table,
                [
                    RecordShares::UserId,
                    RecordShares::PatientId,
                    RecordShares::ExpiresAt,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_record_shares_patient",
                RecordShares::Table,
                [RecordShares::PatientId, RecordShares::GrantedAt],
            ))
            .await?;
        Ok(())
    }
}
