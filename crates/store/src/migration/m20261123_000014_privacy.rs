//! Erasure (GDPR Art. 17) and legal holds.
//!
//! - `legal_holds`: a hold on a patient's record that refuses erasure while it is in force
//!   (not released, and `until` absent or in the future). The reason is **clear text**
//!   written by staff (a case or matter reference, at most 200 characters): it must outlive
//!   the patient's data key, which erasure destroys, and the installation has no system-wide
//!   sealing key. The form asks for a reference, not for names or clinical details.
//! - `erasures`: the tombstone of an erased patient (one row per patient). Only ids, times
//!   and a reason category; `ledger_sequence` is the entry of the erasure ledger file that
//!   records it, NULL while the ledger still has to catch up.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Patients, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LegalHolds {
    Table,
    Id,
    PatientId,
    Reason,
    SetBy,
    SetAt,
    Until,
    ReleasedAt,
    ReleasedBy,
}

#[derive(DeriveIden)]
enum Erasures {
    Table,
    PatientId,
    ErasedAt,
    ErasedBy,
    ActorKind,
    ReasonCategory,
    LedgerSequence,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(LegalHolds::Table, LegalHolds::Id, LegalHolds::PatientId)
                    .col(string_len(LegalHolds::Reason, 200))
                    .col(string_len_null(LegalHolds::SetBy, 36))
                    .col(big_integer(LegalHolds::SetAt))
                    .col(big_integer_null(LegalHolds::Until))
                    .col(big_integer_null(LegalHolds::ReleasedAt))
                    .col(string_len_null(LegalHolds::ReleasedBy, 36))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_legal_holds_patient",
                LegalHolds::Table,
                [LegalHolds::PatientId, LegalHolds::SetAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Erasures::Table)
                    .col(string_len(Erasures::PatientId, 36).primary_key())
                    .col(big_integer(Erasures::ErasedAt))
                    .col(string_len_null(Erasures::ErasedBy, 36))
                    .col(string_len(Erasures::ActorKind, 20))
                    .col(string_len(Erasures::ReasonCategory, 40))
                    .col(big_integer_null(Erasures::LedgerSequence))
                    .foreign_key(&mut foreign_key(
                        "fk_erasures_patient",
                        (Erasures::Table, Erasures::PatientId),
                        (Patients::Table, Patients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
