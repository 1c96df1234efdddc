//! What the migrations share: the tables that later migrations point foreign keys at, and
//! builders for the index, foreign-key and column shapes the schema repeats.
//!
//! Applied migrations must keep producing the same statements: a change here has to leave
//! the SQL of every caller exactly as it is, on all three backends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// `users`, as other tables refer to it.
#[derive(DeriveIden)]
pub(super) enum Users {
    Table,
    Id,
}

/// `patients`, as other tables refer to it.
#[derive(DeriveIden)]
pub(super) enum Patients {
    Table,
    Id,
}

/// `encounters`, as other tables refer to it.
#[derive(DeriveIden)]
pub(super) enum Encounters {
    Table,
    Id,
}

/// The index `name` on `table` over `columns`, in that order.
pub(super) fn index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoTableRef,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}

/// The unique index `name` on `table` over `columns`, in that order.
pub(super) fn unique_index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoTableRef,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    index(name, table, columns).unique().to_owned()
}

/// The foreign key `name` from `from` (table, column) to `to` (table, column).
pub(super) fn foreign_key(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

/// The start of a table of records that each belong to one patient: the `id` primary key,
/// then `patient_id` with its foreign key `fk_<table>_patient` to `patients`. The caller adds
/// the other columns (after these two) and keys (after this foreign key).
pub(super) fn patient_record_table(
    table: impl IntoIden,
    id: impl IntoIden,
    patient_id: impl IntoIden,
) -> TableCreateStatement {
    let table = table.into_iden();
    let patient_id = patient_id.into_iden();
    Table::create()
        .table(table.clone())
        .col(string_len(id, 36).primary_key())
        .col(string_len(patient_id.clone(), 36))
        .foreign_key(&mut foreign_key(
            &format!("fk_{table}_patient"),
            (table, patient_id),
            (Patients::Table, Patients::Id),
        ))
        .to_owned()
}

/// Adds `column` to the existing `table`.
pub(super) async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}
