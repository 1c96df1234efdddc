//! The schema as an entity-relationship diagram, generated from the migrations.
//!
//! [`render_markdown`] reads the schema back from a database the migrations were applied to
//! (SQLite's catalogue: `sqlite_master` and the `pragma_table_info`, `pragma_foreign_key_list`
//! and `pragma_index_list` table functions) and renders `docs/SCHEMA.md`: a Mermaid
//! `erDiagram` and one table per relation. A test in `tests/schema_doc.rs` applies the
//! migrations to an empty in-memory database and compares the result with the committed
//! file, so the document cannot drift from the code (`CAREVAULT_BLESS=1` rewrites it).
//!
//! SQLite is the reference because its catalogue is the simplest to read; the migrations
//! create the same tables, columns, keys and indexes on every backend (column types are
//! spelled as SQLite reports them, e.g. `blob` where PostgreSQL has `bytea`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Store;
use crate::connect::Backend;
use crate::error::StoreError;

/// Bookkeeping tables that are not part of the data model.
const SKIPPED_TABLES: &[&str] = &["seaql_migrations"];

#[derive(Debug)]
struct Column {
    name: String,
    sql_type: String,
    not_null: bool,
    primary_key: bool,
}

#[derive(Debug)]
struct ForeignKey {
    from: String,
    table: String,
    to: String,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    foreign_keys: Vec<ForeignKey>,
    /// Columns of unique indexes (each index as its column list).
    unique: Vec<Vec<String>>,
}

/// `docs/SCHEMA.md` for the schema of `store`, which must be a SQLite database.
pub async fn render_markdown(store: &Store) -> Result<String, StoreError> {
    if store.backend() != Backend::Sqlite {
        return Err(StoreError::Corrupt(
            "the schema document is generated from a SQLite database".to_owned(),
        ));
    }
    let tables = read_tables(store).await?;
    Ok(render(&tables))
}

async fn query(store: &Store, sql: &str) -> Result<Vec<sea_orm::QueryResult>, StoreError> {
    Ok(store
        .conn()
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, sql.to_owned()))
        .await?)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn read_tables(store: &Store) -> Result<Vec<Table>, StoreError> {
    let names = query(
        store,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name: String = row.try_get("", "name")?;
        if SKIPPED_TABLES.contains(&name.as_str()) {
            continue;
        }
        let mut columns = Vec::new();
        for col in query(
            store,
            &format!("SELECT * FROM pragma_table_info({})", quote(&name)),
        )
        .await?
        {
            columns.push(Column {
                name: col.try_get("", "name")?,
                sql_type: col.try_get::<String>("", "type")?.to_lowercase(),
                not_null: col.try_get::<i64>("", "notnull")? != 0,
                primary_key: col.try_get::<i64>("", "pk")? != 0,
            });
        }
        let mut foreign_keys = Vec::new();
        for fk in query(
            store,
            &format!("SELECT * FROM pragma_foreign_key_list({})", quote(&name)),
        )
        .await?
        {
            foreign_keys.push(ForeignKey {
                from: fk.try_get("", "from")?,
                table: fk.try_get("", "table")?,
                to: fk.try_get("", "to")?,
            });
        }
        foreign_keys.sort_by(|a, b| (&a.from, &a.table).cmp(&(&b.from, &b.table)));
        let mut unique = Vec::new();
        for index in query(
            store,
            &format!(
                "SELECT name, origin FROM pragma_index_list({}) WHERE \"unique\" = 1",
                quote(&name)
            ),
        )
        .await?
        {
            let origin: String = index.try_get("", "origin")?;
            if origin == "pk" {
                continue;
            }
            let index_name: String = index.try_get("", "name")?;
            let mut cols = Vec::new();
            for col in query(
                store,
                &format!(
                    "SELECT name FROM pragma_index_info({}) ORDER BY seqno",
                    quote(&index_name)
                ),
            )
            .await?
            {
                cols.push(col.try_get::<String>("", "name")?);
            }
            unique.push(cols);
        }
        unique.sort();
        tables.push(Table {
            name,
            columns,
            foreign_keys,
            unique,
        });
    }
    Ok(tables)
}

/// A column type as a Mermaid attribute type (a word: `varchar(36)` → `varchar_36`).
fn mermaid_type(sql_type: &str) -> String {
    let word: String = sql_type
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let word = word.trim_matches('_').to_owned();
    if word.is_empty() {
        "any".to_owned()
    } else {
        word
    }
}

fn render(tables: &[Table]) -> String {
    let mut out = String::new();
    out.push_str(
        "# Database schema\n\n\
         Generated from the migrations by `carevault_store::schema_doc` (SQLite's spelling of \
         the column types; the same tables, keys and indexes exist on PostgreSQL and \
         MariaDB). Do not edit: `CAREVAULT_BLESS=1 cargo test -p carevault-store --test \
         schema_doc` rewrites it, and the test fails when it is stale.\n\n\
         Sealed columns (`blob`) hold AES-256-GCM ciphertext under the patient's data key; see \
         ARCHITECTURE.md, \"What stays in clear\".\n\n",
    );
    out.push_str("```mermaid\nerDiagram\n");
    for table in tables {
        let fk_columns: BTreeSet<&str> = table
            .foreign_keys
            .iter()
            .map(|fk| fk.from.as_str())
            .collect();
        let unique_columns: BTreeSet<&str> = table
            .unique
            .iter()
            .filter(|cols| cols.len() == 1)
            .flat_map(|cols| cols.iter().map(String::as_str))
            .collect();
        let _ = writeln!(out, "    {} {{", table.name);
        for col in &table.columns {
            let mut keys = Vec::new();
            if col.primary_key {
                keys.push("PK");
            }
            if fk_columns.contains(col.name.as_str()) {
                keys.push("FK");
            }
            if unique_columns.contains(col.name.as_str()) {
                keys.push("UK");
            }
            let _ = write!(out, "        {} {}", mermaid_type(&col.sql_type), col.name);
            if !keys.is_empty() {
                let _ = write!(out, " {}", keys.join(", "));
            }
            if !col.not_null && !col.primary_key {
                out.push_str(" \"nullable\"");
            }
            out.push('\n');
        }
        out.push_str("    }\n");
    }
    for table in tables {
        for fk in &table.foreign_keys {
            let nullable = table
                .columns
                .iter()
                .find(|c| c.name == fk.from)
                .is_some_and(|c| !c.not_null);
            let target = if nullable { "o|" } else { "||" };
            let _ = writeln!(
                out,
                "    {} }}o--{} {} : \"{}\"",
                table.name, target, fk.table, fk.from
            );
        }
    }
    out.push_str("```\n\n## Tables\n");
    for table in tables {
        let _ = writeln!(out, "\n### `{}`\n", table.name);
        out.push_str("| column | type | null | key |\n|---|---|---|---|\n");
        for col in &table.columns {
            let mut key = Vec::new();
            if col.primary_key {
                key.push("primary key".to_owned());
            }
            for fk in table.foreign_keys.iter().filter(|fk| fk.from == col.name) {
                key.push(format!("→ `{}.{}`", fk.table, fk.to));
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                col.name,
                col.sql_type,
                if col.not_null { "no" } else { "yes" },
                key.join(", ")
            );
        }
        for cols in &table.unique {
            let _ = writeln!(
                out,
                "\nUnique: ({})",
                cols.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    out
}
