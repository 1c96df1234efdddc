//! Billing: the price list, invoices, their lines and payments.
//!
//! - Money is `bigint` minor units (cents); quantities, percentages and tax rates are exact
//!   decimal text (`carevault_core::money`), never floating point.
//! - `invoices.open_for` holds the patient id while the invoice is a draft and is null
//!   otherwise; its unique index makes "the patient's open invoice" one row on every backend
//!   (a partial unique index would not exist on MariaDB), so two concurrent charges cannot
//!   open two drafts.
//! - `invoices.version` is raised by every change of an invoice: changes are conditional
//!   updates on the version read (optimistic locking), so two concurrent payments cannot
//!   both take the last of the balance.
//! - The stored totals are the sums of the lines' stored amounts (per-line rounding,
//!   `carevault_core::billing`); reports read them without opening any sealed field.
//! - `invoice_lines (source, source_id)` is unique: a completed appointment or a dispensing
//!   is charged once, however often the step is retried.
//! - Line descriptions, payment references and void reasons are sealed under the patient's
//!   data key (a drug on a bill is health data).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{foreign_key, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PriceList {
    Table,
    Id,
    Code,
    Kind,
    Label,
    AppointmentType,
    DrugId,
    FixedPriceMinor,
    MarkupPercent,
    TaxRate,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    Number,
    PatientId,
    OpenFor,
    Status,
    Currency,
    SubtotalMinor,
    DiscountMinor,
    TaxMinor,
    TotalMinor,
    PaidMinor,
    Version,
    VoidReason,
    CreatedBy,
    CreatedAt,
    IssuedAt,
    ClosedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    Position,
    Kind,
    Source,
    SourceId,
    Description,
    Quantity,
    UnitPriceMinor,
    DiscountPercent,
    TaxRate,
    GrossMinor,
    DiscountMinor,
    NetMinor,
    TaxMinor,
    TotalMinor,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    InvoiceId,
    AmountMinor,
    Method,
    Reference,
    ReceivedBy,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PriceList::Table)
                    .col(string_len(PriceList::Id, 36).primary_key())
                    .col(string_len(PriceList::Code, 40))
                    .col(string_len(PriceList::Kind, 20))
                    .col(string_len(PriceList::Label, 200))
                    .col(string_len_null(PriceList::AppointmentType, 20))
                    .col(string_len_null(PriceList::DrugId, 36))
                    .col(big_integer_null(PriceList::FixedPriceMinor))
                    .col(string_len_null(PriceList::MarkupPercent, 20))
                    .col(string_len(PriceList::TaxRate, 20))
                    .col(boolean(PriceList::Active))
                    .col(big_integer(PriceList::CreatedAt))
                    .col(big_integer(PriceList::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ux_price_list_code", PriceList::Code),
            ("ux_price_list_appointment_type", PriceList::AppointmentType),
            ("ux_price_list_drug", PriceList::DrugId),
        ] {
            manager
                .create_index(unique_index(name, PriceList::Table, [column]))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .col(string_len(Invoices::Id, 36).primary_key())
                    .col(string_len(Invoices::Number, 20))
                    .col(string_len(Invoices::PatientId, 36))
                    .col(string_len_null(Invoices::OpenFor, 36))
                    .col(string_len(Invoices::Status, 20))
                    .col(string_len(Invoices::Currency, 3))
                    .col(big_integer(Invoices::SubtotalMinor))
                    .col(big_integer(Invoices::DiscountMinor))
                    .col(big_integer(Invoices::TaxMinor))
                    .col(big_integer(Invoices::TotalMinor))
                    .col(big_integer(Invoices::PaidMinor))
                    .col(integer(Invoices::Version))
                    .col(blob_null(Invoices::VoidReason))
                    .col(string_len(Invoices::CreatedBy, 36))
                    .col(big_integer(Invoices::CreatedAt))
                    .col(big_integer_null(Invoices::IssuedAt))
                    .col(big_integer_null(Invoices::ClosedAt))
                    .col(big_integer(Invoices::UpdatedAt))
                    .check(Expr::col(Invoices::PaidMinor).gte(0))
                    .check(Expr::col(Invoices::PaidMinor).lte(Expr::col(Invoices::TotalMinor)))
                    .to_owned(),
            )
            .await?;
        for statement in [
            unique_index("ux_invoices_number", Invoices::Table, [Invoices::Number]),
            unique_index("ux_invoices_open_for", Invoices::Table, [Invoices::OpenFor]),
            index(
                "ix_invoices_patient",
                Invoices::Table,
                [Invoices::PatientId],
            ),
            index(
                "ix_invoices_issued_at",
                Invoices::Table,
                [Invoices::IssuedAt],
            ),
        ] {
            manager.create_index(statement).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(InvoiceLines::Table)
                    .col(string_len(InvoiceLines::Id, 36).primary_key())
                    .col(string_len(InvoiceLines::InvoiceId, 36))
                    .col(integer(InvoiceLines::Position))
                    .col(string_len(InvoiceLines::Kind, 20))
                    .col(string_len(InvoiceLines::Source, 20))
                    .col(string_len_null(InvoiceLines::SourceId, 36))
                    .col(blob(InvoiceLines::Description))
                    .col(string_len(InvoiceLines::Quantity, 20))
                    .col(big_integer(InvoiceLines::UnitPriceMinor))
                    .col(string_len_null(InvoiceLines::DiscountPercent, 20))
                    .col(string_len(InvoiceLines::TaxRate, 20))
                    .col(big_integer(InvoiceLines::GrossMinor))
                    .col(big_integer(InvoiceLines::DiscountMinor))
                    .col(big_integer(InvoiceLines::NetMinor))
                    .col(big_integer(InvoiceLines::TaxMinor))
                    .col(big_integer(InvoiceLines::TotalMinor))
                    .col(string_len(InvoiceLines::CreatedBy, 36))
                    .col(big_integer(InvoiceLines::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_invoice_lines_invoice",
                        (InvoiceLines::Table, InvoiceLines::InvoiceId),
                        (Invoices::Table, Invoices::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_invoice_lines_source",
                InvoiceLines::Table,
                [InvoiceLines::Source, InvoiceLines::SourceId],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_invoice_lines_invoice",
                InvoiceLines::Table,
                [InvoiceLines::InvoiceId, InvoiceLines::Position],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(string_len(Payments::Id, 36).primary_key())
                    .col(string_len(Payments::InvoiceId, 36))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string_len(Payments::Method, 20))
                    .col(blob_null(Payments::Reference))
                    .col(string_len(Payments::ReceivedBy, 36))
                    .col(big_integer(Payments::ReceivedAt))
                    .check(Expr::col(Payments::AmountMinor).gt(0))
                    .foreign_key(&mut foreign_key(
                        "fk_payments_invoice",
                        (Payments::Table, Payments::InvoiceId),
                        (Invoices::Table, Invoices::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_payments_invoice",
                Payments::Table,
                [Payments::InvoiceId],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_payments_received_at",
                Payments::Table,
                [Payments::ReceivedAt],
            ))
            .await?;
        Ok(())
    }
}
