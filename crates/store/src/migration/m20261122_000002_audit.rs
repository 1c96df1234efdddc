//! The audit trail: events (the Merkle tree's leaves, in sequence), signed checkpoints, and
//! the tree's compact state. Events and checkpoints are append-only: triggers reject UPDATE
//! and DELETE on every backend (and TRUNCATE on PostgreSQL).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Seq,
    RecordedAt,
    ActorKind,
    ActorId,
    ActorRole,
    Action,
    ResourceType,
    ResourceId,
    PatientPseudonym,
    Outcome,
    Reason,
    RequestId,
    LeafHash,
}

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    TreeSize,
    RootHash,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditState {
    Table,
    Id,
    TreeSize,
    Frontier,
    UpdatedAt,
}

/// The tables whose rows may never change or go away.
pub const APPEND_ONLY_TABLES: [&str; 2] = ["audit_events", "audit_checkpoints"];

fn append_only_triggers(backend: DbBackend) -> Vec<String> {
    let mut statements = Vec::new();
    match backend {
        DbBackend::Sqlite => {
            for table in APPEND_ONLY_TABLES {
                for op in ["UPDATE", "DELETE"] {
                    statements.push(format!(
                        "CREATE TRIGGER {table}_no_{op_l} BEFORE {op} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
                        op_l = op.to_lowercase()
                    ));
                }
            }
        }
        DbBackend::Postgres => {
            statements.push(
                "CREATE OR REPLACE FUNCTION carevault_reject_audit_change() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                 RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; \
                 END $$"
                    .to_owned(),
            );
            for table in APPEND_ONLY_TABLES {
                statements.push(format!(
                    "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION carevault_reject_audit_change()"
                ));
                statements.push(format!(
                    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION carevault_reject_audit_change()"
                ));
            }
        }
        _ => {
            for table in APPEND_ONLY_TABLES {
                for op in ["UPDATE", "DELETE"] {
                    statements.push(format!(
                        "CREATE TRIGGER {table}_no_{op_l} BEFORE {op} ON {table} FOR EACH ROW \
                         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{table} is append-only'",
                        op_l = op.to_lowercase()
                    ));
                }
            }
        }
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_integer(AuditEvents::Seq).primary_key())
                    .col(big_integer(AuditEvents::RecordedAt))
                    .col(string_len(AuditEvents::ActorKind, 16))
                    .col(string_len_null(AuditEvents::ActorId, 36))
                    .col(string_len_null(AuditEvents::ActorRole, 20))
                    .col(string_len(AuditEvents::Action, 40))
                    .col(string_len(AuditEvents::ResourceType, 40))
                    .col(string_len_null(AuditEvents::ResourceId, 64))
                    .col(string_len_null(AuditEvents::PatientPseudonym, 32))
                    .col(string_len(AuditEvents::Outcome, 10))
                    .col(string_len_null(AuditEvents::Reason, 500))
                    .col(string_len_null(AuditEvents::RequestId, 64))
                    .col(string_len(AuditEvents::LeafHash, 64))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_audit_events_recorded_at", AuditEvents::RecordedAt),
            ("ix_audit_events_actor", AuditEvents::ActorId),
            ("ix_audit_events_patient", AuditEvents::PatientPseudonym),
            ("ix_audit_events_action", AuditEvents::Action),
        ] {
            manager
                .create_index(index(name, AuditEvents::Table, [column]))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(big_integer(AuditCheckpoints::TreeSize).primary_key())
                    .col(string_len(AuditCheckpoints::RootHash, 64))
                    .col(text(AuditCheckpoints::Note))
                    .col(big_integer(AuditCheckpoints::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditState::Table)
                    .col(integer(AuditState::Id).primary_key())
                    .col(big_integer(AuditState::TreeSize))
                    .col(text(AuditState::Frontier))
                    .col(big_integer(AuditState::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditState::Table)
                    .columns([
                        AuditState::Id,
                        AuditState::TreeSize,
                        AuditState::Frontier,
                        AuditState::UpdatedAt,
                    ])
                    .values_panic([1.into(), 0i64.into(), "".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for statement in append_only_triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
