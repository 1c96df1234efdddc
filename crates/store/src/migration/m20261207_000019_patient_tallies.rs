//! `patient_tallies`: how many patient records (not erased) there are per sex and birth
//! year, kept by triggers on `patients` in the same transaction as the change. The
//! administrator's dashboard and the unfiltered patient list count from its few hundred rows
//! instead of scanning every patient (a million, in a large hospital).
//!
//! Triggers rather than code in the store: every path that writes a patient row (the
//! registration, an edit, the erasure, a restore's bulk insert, a database administrator by
//! hand) keeps the tally, with no path to forget. The table is derived data: it is not in a
//! backup ([`crate::backup::EXCLUDED_TABLES`]); a restore's inserts rebuild it.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PatientTallies {
    Table,
    Sex,
    BirthYear,
    N,
}

const BACKFILL: &str = "INSERT INTO patient_tallies (sex, birth_year, n) \
     SELECT sex, birth_year, COUNT(*) FROM patients WHERE status <> 'erased' \
     GROUP BY sex, birth_year";

fn triggers(backend: DbBackend) -> Vec<String> {
    let add = |row: &str, upsert: &str| {
        format!(
            "INSERT INTO patient_tallies (sex, birth_year, n) \
             VALUES ({row}.sex, {row}.birth_year, 1) {upsert}"
        )
    };
    let remove = |row: &str| {
        format!(
            "UPDATE patient_tallies SET n = n - 1 \
             WHERE sex = {row}.sex AND birth_year = {row}.birth_year"
        )
    };
    match backend {
        DbBackend::Sqlite => {
            let upsert = "ON CONFLICT (sex, birth_year) DO UPDATE SET n = n + 1";
            vec![
                format!(
                    "CREATE TRIGGER patients_tally_insert AFTER INSERT ON patients \
                     WHEN NEW.status <> 'erased' BEGIN {}; END",
                    add("NEW", upsert)
                ),
                format!(
                    "CREATE TRIGGER patients_tally_delete AFTER DELETE ON patients \
                     WHEN OLD.status <> 'erased' BEGIN {}; END",
                    remove("OLD")
                ),
                format!(
                    "CREATE TRIGGER patients_tally_update AFTER UPDATE OF sex, birth_year, status \
                     ON patients WHEN OLD.sex IS NOT NEW.sex OR OLD.birth_year IS NOT \
                     NEW.birth_year OR OLD.status IS NOT NEW.status BEGIN \
                     {} AND OLD.status <> 'erased'; \
                     INSERT INTO patient_tallies (sex, birth_year, n) \
                     SELECT NEW.sex, NEW.birth_year, 1 WHERE NEW.status <> 'erased' {upsert}; END",
                    remove("OLD")
                ),
            ]
        }
        DbBackend::Postgres => {
            let upsert = "ON CONFLICT (sex, birth_year) DO UPDATE SET n = patient_tallies.n + 1";
            vec![
                format!(
                    "CREATE OR REPLACE FUNCTION carevault_patient_tally() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                     IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'erased' THEN {}; END IF; \
                     IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'erased' THEN {}; END IF; \
                     RETURN NULL; END $$",
                    remove("OLD"),
                    add("NEW", upsert)
                ),
                "CREATE TRIGGER patients_tally_insert_delete AFTER INSERT OR DELETE ON patients \
                 FOR EACH ROW EXECUTE FUNCTION carevault_patient_tally()"
                    .to_owned(),
                "CREATE TRIGGER patients_tally_update AFTER UPDATE ON patients FOR EACH ROW \
                 WHEN (OLD.sex IS DISTINCT FROM NEW.sex OR OLD.birth_year IS DISTINCT FROM \
                 NEW.birth_year OR OLD.status IS DISTINCT FROM NEW.status) \
                 EXECUTE FUNCTION carevault_patient_tally()"
                    .to_owned(),
            ]
        }
        _ => {
            let upsert = "ON DUPLICATE KEY UPDATE n = n + 1";
            vec![
                format!(
                    "CREATE TRIGGER patients_tally_insert AFTER INSERT ON patients FOR EACH ROW \
                     BEGIN IF NEW.status <> 'erased' THEN {}; END IF; END",
                    add("NEW", upsert)
                ),
                format!(
                    "CREATE TRIGGER patients_tally_delete AFTER DELETE ON patients FOR EACH ROW \
                     BEGIN IF OLD.status <> 'erased' THEN {}; END IF; END",
                    remove("OLD")
                ),
                format!(
                    "CREATE TRIGGER patients_tally_update AFTER UPDATE ON patients FOR EACH ROW \
                     BEGIN IF NOT (OLD.sex <=> NEW.sex AND OLD.birth_year <=> NEW.birth_year \
                     AND OLD.status <=> NEW.status) THEN \
                     IF OLD.status <> 'erased' THEN {}; END IF; \
                     IF NEW.status <> 'erased' THEN {}; END IF; \
                     END IF; END",
                    remove("OLD"),
                    add("NEW", upsert)
                ),
            ]
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PatientTallies::Table)
                    .col(string_len(PatientTallies::Sex, 10))
                    .col(integer(PatientTallies::BirthYear))
                    .col(big_integer(PatientTallies::N))
                    .primary_key(
                        Index::create()
                            .col(PatientTallies::Sex)
                            .col(PatientTallies::BirthYear),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        for statement in triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
