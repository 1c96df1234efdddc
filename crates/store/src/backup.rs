//! Engine-neutral table dumps for backups: every backed-up table as canonical NDJSON, read
//! in one consistent snapshot, and loaded back into an empty database of any backend.
//!
//! # What is backed up
//! [`BACKUP_TABLES`], in an order where every foreign key points at a table earlier in the
//! list (so rows load with foreign keys on). Three tables are left out on purpose
//! ([`EXCLUDED_TABLES`]): `sessions` (restoring them would revive sign-ins of the old
//! server, possibly of people whose access ended since), `login_failures` (a sliding
//! window of failed sign-ins, worthless after a restore; it is also the only table with an
//! auto-increment key, so no sequence needs resetting on PostgreSQL after a restore) and
//! `patient_tallies` (counts kept by triggers on `patients`, which the restored patient rows
//! rebuild).
//! `seaql_migrations` is not a table of the backup either: the applied migration names go
//! into the manifest, and a restore migrates the empty target to exactly those.
//!
//! # Canonical rows
//! One row is one line: a JSON object with every column of the entity, keys in byte order
//! of the column names, no white space; integers as JSON numbers, text as JSON strings
//! (serde_json escaping), blobs as standard base64 (with padding) strings, booleans as
//! `true`/`false`, NULL as `null`. A table's file is its lines sorted by their bytes, each
//! ended by `\n`, and its SHA-256 is the SHA-256 of that file. Sorting happens here in Rust,
//! never in SQL (PostgreSQL's text collation ignores hyphens, MariaDB's ignores case), so the
//! same rows give the same bytes on every backend, which is what lets a restore into another
//! engine be checked against the manifest.
//!
//! # Invariants
//! - A dump reads every table inside one transaction: REPEATABLE READ, READ ONLY on
//!   PostgreSQL and MariaDB; a plain deferred transaction on SQLite, which in WAL mode reads
//!   one snapshot from its first read to its end. Writers are never blocked.
//! - A load runs in the caller's transaction and checks every row's keys against the
//!   entity's columns: an unknown column or a value of the wrong type is an error naming the
//!   table and line, never a silent default.
//! - Tables are held in memory one at a time (the encoded lines of the largest table; rows
//!   are streamed from the database). That is the limit of this version; see
//!   docs/BACKUP-FORMAT.md.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{
    AccessMode, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityName, EntityTrait,
    IdenStatic, IsolationLevel, Iterable, ModelTrait, PaginatorTrait, StreamTrait,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::connect::{Backend, Store};
use crate::entity;
use crate::error::StoreError;

/// Tables deliberately left out of backups (see the module docs).
pub const EXCLUDED_TABLES: [&str; 3] = ["sessions", "login_failures", "patient_tallies"];

/// Tables whose migrations insert a row (the audit trail's singleton state): a restore
/// replaces that row with the backup's, and they do not count when a target is checked for
/// emptiness.
pub const SEEDED_TABLES: [&str; 1] = ["audit_state"];

/// At most this many bytes of row text go into one multi-row INSERT (MariaDB's packet limit,
/// and memory).
const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// At most this many bound values go into one multi-row INSERT (SQLite's limit is 32 766).
const BATCH_VALUES: usize = 10_000;

/// Why a table could not be dumped or loaded.
#[derive(Debug, thiserror::Error)]
pub enum BackupDataError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A row in a backup does not fit the table.
    #[error("table {table}, line {line}: {reason}")]
    Row {
        table: String,
        line: usize,
        reason: String,
    },
    /// A value in the database cannot be encoded (a column type this format lacks).
    #[error("table {table}, column {column}: values of this type cannot be backed up")]
    Unsupported { table: String, column: String },
    /// The backup names a table this binary does not back up.
    #[error("table {0} is not known to this version of Carevault")]
    UnknownTable(String),
}

impl From<sea_orm::DbErr> for BackupDataError {
    fn from(err: sea_orm::DbErr) -> Self {
        BackupDataError::Store(StoreError::from(err))
    }
}

/// One table, dumped: its canonical NDJSON (sorted lines, each ended by `\n`), row count
/// and SHA-256 (lowercase hex of the SHA-256 of `ndjson`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDump {
    pub name: &'static str,
    pub rows: u64,
    pub sha256: String,
    pub ndjson: Vec<u8>,
}

impl TableDump {
    fn from_lines(name: &'static str, mut lines: Vec<String>) -> TableDump {
        lines.sort_unstable();
        let mut ndjson = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in &lines {
            ndjson.extend_from_slice(line.as_bytes());
            ndjson.push(b'\n');
        }
        TableDump {
            name,
            rows: lines.len() as u64,
            sha256: sha256_hex(&ndjson),
            ndjson,
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The whole database, dumped in one snapshot.
#[derive(Debug, Clone)]
pub struct DatabaseDump {
    pub backend: Backend,
    /// Applied migrations, oldest first.
    pub migrations: Vec<String>,
    /// Every table of [`BACKUP_TABLES`], in that order.
    pub tables: Vec<TableDump>,
}

macro_rules! backup_tables {
    ($($module:ident),* $(,)?) => {
        /// Every backed-up table, parents before children (the load order).
        pub const BACKUP_TABLES: &[&str] = &[$(stringify!($module)),*];

        async fn dump_named<C: ConnectionTrait + StreamTrait>(
            conn: &C,
            name: &str,
        ) -> Result<Vec<String>, BackupDataError> {
            match name {
                $(stringify!($module) => dump_entity::<entity::$module::Entity, C>(conn).await,)*
                other => Err(BackupDataError::UnknownTable(other.to_owned())),
            }
        }

        async fn load_named<C: ConnectionTrait>(
            conn: &C,
            name: &str,
            ndjson: &[u8],
        ) -> Result<u64, BackupDataError> {
            match name {
                $(stringify!($module) => {
                    load_entity::<entity::$module::Entity, C>(conn, name, ndjson).await
                })*
                other => Err(BackupDataError::UnknownTable(other.to_owned())),
            }
        }

        async fn count_named<C: ConnectionTrait>(
            conn: &C,
            name: &str,
        ) -> Result<u64, BackupDataError> {
            match name {
                $(stringify!($module) => Ok(entity::$module::Entity::find().count(conn).await?),)*
                other => Err(BackupDataError::UnknownTable(other.to_owned())),
            }
        }

        /// The SQL table name of every entry of [`BACKUP_TABLES`] (for the test that they
        /// agree).
        pub fn entity_table_names() -> Vec<&'static str> {
            vec![$(entity::$module::Entity.table_name()),*]
        }
    };
}

backup_tables!(
    users,
    departments,
    staff_profiles,
    settings,
    counters,
    audit_events,
    audit_checkpoints,
    audit_state,
    patients,
    patient_search_index,
    care_team_members,
    appointments,
    appointment_slot_claims,
    emergency_access,
    record_shares,
    encounters,
    encounter_notes,
    encounter_diagnoses,
    vitals,
    diagnosis_stats,
    documents,
    document_chunks,
    drugs,
    prescriptions,
    stock_batches,
    stock_movements,
    price_list,
    invoices,
    invoice_lines,
    payments,
    notification_preferences,
    notifications,
    legal_holds,
    erasures,
    consents,
    patient_allergies,
    patient_problems,
    nursing_notes,
);

/// Whether `name` is one of [`BACKUP_TABLES`], as a `'static` name.
pub fn backup_table(name: &str) -> Option<&'static str> {
    BACKUP_TABLES.iter().copied().find(|t| *t == name)
}

/// Dumps every table of [`BACKUP_TABLES`] in one consistent read transaction (module docs).
/// Refuses a database with unapplied migrations (its tables would not match the entities).
pub async fn dump_database(store: &Store) -> Result<DatabaseDump, BackupDataError> {
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "the database has {} unapplied migrations; run `carevault migrate` first",
            pending.len()
        ))
        .into());
    }
    let migrations = store.applied_migrations().await?;
    let txn = match store.backend() {
        Backend::Sqlite => store.conn().begin().await?,
        Backend::Postgres | Backend::MySql => {
            store
                .conn()
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await?
        }
    };
    let mut tables = Vec::with_capacity(BACKUP_TABLES.len());
    for name in BACKUP_TABLES {
        let lines = dump_named(&txn, name).await?;
        tables.push(TableDump::from_lines(name, lines));
    }
    txn.rollback().await?;
    Ok(DatabaseDump {
        backend: store.backend(),
        migrations,
        tables,
    })
}

/// Dumps the named tables through `conn` (a restore's transaction, to check what it loaded).
pub async fn dump_tables<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    names: &[&'static str],
) -> Result<Vec<TableDump>, BackupDataError> {
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let lines = dump_named(conn, name).await?;
        tables.push(TableDump::from_lines(name, lines));
    }
    Ok(tables)
}

/// Loads one table's NDJSON (as in a backup) through `conn`; returns the rows inserted.
pub async fn load_table<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    ndjson: &[u8],
) -> Result<u64, BackupDataError> {
    load_named(conn, name, ndjson).await
}

/// Deletes the rows the migrations seeded ([`SEEDED_TABLES`]), in a restore's transaction
/// before its rows are loaded.
pub async fn clear_seeded_tables<C: ConnectionTrait>(conn: &C) -> Result<(), BackupDataError> {
    entity::audit_state::Entity::delete_many()
        .exec(conn)
        .await?;
    Ok(())
}

/// The first backed-up table that holds rows, if any (a restore target must have none).
pub async fn first_non_empty_table<C: ConnectionTrait>(
    conn: &C,
) -> Result<Option<&'static str>, BackupDataError> {
    for name in BACKUP_TABLES {
        if SEEDED_TABLES.contains(name) {
            continue;
        }
        if count_named(conn, name).await? > 0 {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// The names of every migration this binary knows, oldest first.
pub fn known_migrations() -> Vec<String> {
    use sea_orm_migration::MigratorTrait;
    crate::migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// Applies the next `count` pending migrations (a restore brings an empty database to
/// exactly the backup's schema before loading rows).
pub async fn migrate_by(store: &Store, count: u32) -> Result<(), StoreError> {
    use sea_orm_migration::MigratorTrait;
    if count == 0 {
        return Ok(());
    }
    crate::migration::Migrator::up(store.conn(), Some(count))
        .await
        .map_err(StoreError::from)
}

/// The name of `backend` as the manifest records it.
pub fn backend_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

fn sorted_columns<E: EntityTrait>() -> Vec<(&'static str, E::Column)> {
    let mut columns: Vec<(&'static str, E::Column)> =
        E::Column::iter().map(|c| (c.as_str(), c)).collect();
    columns.sort_by(|a, b| a.0.cmp(b.0));
    columns
}

async fn dump_entity<E: EntityTrait, C: ConnectionTrait + StreamTrait>(
    conn: &C,
) -> Result<Vec<String>, BackupDataError> {
    use futures::TryStreamExt as _;
    let columns = sorted_columns::<E>();
    let table = E::default().table_name();
    // Rows are streamed and encoded one by one: only the encoded lines are held.
    let mut lines = Vec::new();
    let mut rows = std::pin::pin!(E::find().stream(conn).await?);
    while let Some(model) = rows.try_next().await? {
        let mut line = String::from("{");
        for (i, (name, column)) in columns.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&json_string(name));
            line.push(':');
            let encoded =
                encode_value(model.get(*column)).ok_or_else(|| BackupDataError::Unsupported {
                    table: table.to_owned(),
                    column: (*name).to_owned(),
                })?;
            line.push_str(&encoded);
        }
        line.push('}');
        lines.push(line);
    }
    Ok(lines)
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The canonical JSON text of one value; `None` for a type the format does not carry.
fn encode_value(value: Value) -> Option<String> {
    Some(match value {
        Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::String(None)
        | Value::Bytes(None) => "null".to_owned(),
        Value::Bool(Some(b)) => b.to_string(),
        Value::TinyInt(Some(n)) => n.to_string(),
        Value::SmallInt(Some(n)) => n.to_string(),
        Value::Int(Some(n)) => n.to_string(),
        Value::BigInt(Some(n)) => n.to_string(),
        Value::String(Some(s)) => json_string(&s),
        Value::Bytes(Some(b)) => json_string(&STANDARD.encode(b)),
        _ => return None,
    })
}

/// The value of `json` for a column of type `column_type`; `Err` says why not.
fn decode_value(json: &serde_json::Value, column_type: &ColumnType) -> Result<Value, String> {
    use serde_json::Value as J;
    let int = |json: &J| -> Result<Option<i64>, String> {
        match json {
            J::Null => Ok(None),
            J::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| "an integer was expected".to_owned()),
            _ => Err("an integer was expected".to_owned()),
        }
    };
    let narrow = |n: Option<i64>| -> Result<Option<i32>, String> {
        n.map(|n| i32::try_from(n).map_err(|_| "the integer is out of range".to_owned()))
            .transpose()
    };
    Ok(match column_type {
        ColumnType::BigInteger => Value::BigInt(int(json)?),
        ColumnType::Integer => Value::Int(narrow(int(json)?)?),
        ColumnType::SmallInteger => Value::SmallInt(
            int(json)?
                .map(|n| i16::try_from(n).map_err(|_| "the integer is out of range".to_owned()))
                .transpose()?,
        ),
        ColumnType::TinyInteger => Value::TinyInt(
            int(json)?
                .map(|n| i8::try_from(n).map_err(|_| "the integer is out of range".to_owned()))
                .transpose()?,
        ),
        ColumnType::Boolean => match json {
            J::Null => Value::Bool(None),
            J::Bool(b) => Value::Bool(Some(*b)),
            _ => return Err("true or false was expected".to_owned()),
        },
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => match json {
            J::Null => Value::String(None),
            J::String(s) => Value::String(Some(s.clone())),
            _ => return Err("a string was expected".to_owned()),
        },
        ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => match json {
            J::Null => Value::Bytes(None),
            J::String(s) => Value::Bytes(Some(
                STANDARD
                    .decode(s)
                    .map_err(|_| "a base64 string was expected".to_owned())?,
            )),
            _ => return Err("a base64 string was expected".to_owned()),
        },
        _ => return Err("the column's type cannot be restored".to_owned()),
    })
}

async fn load_entity<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    table: &str,
    ndjson: &[u8],
) -> Result<u64, BackupDataError> {
    let columns = sorted_columns::<E>();
    let row_error = |line: usize, reason: String| BackupDataError::Row {
        table: table.to_owned(),
        line,
        reason,
    };
    let rows_per_batch = (BATCH_VALUES / columns.len().max(1)).max(1);
    let mut batch: Vec<E::ActiveModel> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut loaded = 0u64;
    for (index, line) in ndjson.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line)
            .map_err(|_| row_error(number, "not a JSON object".to_owned()))?;
        for key in object.keys() {
            if !columns.iter().any(|(name, _)| name == key) {
                return Err(row_error(number, format!("unknown column {key}")));
            }
        }
        let mut model = <E::ActiveModel as ActiveModelTrait>::default();
        for (name, column) in &columns {
            // A column missing from an older backup keeps its database default (a restore
            // loads into the schema of the backup's own migrations).
            let Some(json) = object.get(*name) else {
                continue;
            };
            let value = decode_value(json, column.def().get_column_type())
                .map_err(|reason| row_error(number, format!("column {name}: {reason}")))?;
            model
                .try_set(*column, value)
                .map_err(|_| row_error(number, format!("column {name}: wrong type")))?;
        }
        batch.push(model);
        batch_bytes += line.len();
        if batch.len() >= rows_per_batch || batch_bytes >= BATCH_BYTES {
            loaded += E::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(conn)
                .await?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        loaded += E::insert_many(batch).exec_without_returning(conn).await?;
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_the_table_names() {
        assert_eq!(entity_table_names(), BACKUP_TABLES.to_vec());
        for excluded in EXCLUDED_TABLES {
            assert!(!BACKUP_TABLES.contains(&excluded));
        }
    }

    #[test]
    fn values_round_trip_canonically() {
        assert_eq!(encode_value(Value::BigInt(Some(-5))).as_deref(), Some("-5"));
        assert_eq!(
            encode_value(Value::Bool(Some(true))).as_deref(),
            Some("true")
        );
        assert_eq!(encode_value(Value::String(None)).as_deref(), Some("null"));
        assert_eq!(
            encode_value(Value::Bytes(Some(vec![0, 255]))).as_deref(),
            Some("\"AP8=\"")
        );
        let json: serde_json::Value = serde_json::from_str("\"AP8=\"").unwrap();
        assert_eq!(
            decode_value(&json, &ColumnType::Blob).unwrap(),
            Value::Bytes(Some(vec![0, 255]))
        );
        let big: serde_json::Value = serde_json::from_str("4294967296").unwrap();
        assert!(decode_value(&big, &ColumnType::Integer).is_err());
    }
}
