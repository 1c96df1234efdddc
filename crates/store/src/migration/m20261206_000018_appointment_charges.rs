//! A visit is charged once: `invoice_lines.appointment_id` names the appointment a line
//! charges, whether the line was written automatically when the appointment was completed
//! or by hand at the desk. Its unique index makes "this appointment is charged" one row on
//! every backend (NULLs never collide on SQLite, PostgreSQL or MariaDB, the same trick as
//! `invoices.open_for`), so the automatic charge and a manual one cannot both land, even at
//! the same instant. Lines that charge no appointment (dispensing, other manual lines,
//! corrections) leave it null.
//!
//! Existing automatic consultation lines (`source = 'appointment'`) already name their
//! appointment in `source_id`; it is copied over before the index is created.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{add_column, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    AppointmentId,
    Source,
    SourceId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            InvoiceLines::Table,
            string_len_null(InvoiceLines::AppointmentId, 36),
        )
        .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(InvoiceLines::Table)
                    .value(
                        InvoiceLines::AppointmentId,
                        Expr::col(InvoiceLines::SourceId),
                    )
                    .and_where(Expr::col(InvoiceLines::Source).eq("appointment"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_invoice_lines_appointment",
                InvoiceLines::Table,
                [InvoiceLines::AppointmentId],
            ))
            .await
    }
}
