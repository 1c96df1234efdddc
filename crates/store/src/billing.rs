//! Billing persistence: the price list, invoices, their lines and payments.
//!
//! Every change of an invoice goes through [`update_invoice`], a conditional update on the
//! version the caller read (`… WHERE id = ? AND version = ?`): if another transaction
//! changed the invoice meanwhile nothing is written and the caller starts again on fresh
//! data. Lines and payments are inserted in the same transaction as that update.

use carevault_core::billing::{PriceKind, PriceRule};
use carevault_core::money::{Money, Percent};
use carevault_core::time::to_micros;
use carevault_core::{DrugId, PriceId};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::{invoice_lines, invoices, payments, price_list};
use crate::error::StoreError;
use crate::record::Row;

pub type InvoiceRow = invoices::Model;
pub type LineRow = invoice_lines::Model;
pub type PaymentRow = payments::Model;

/// A price-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRecord {
    pub id: PriceId,
    pub code: String,
    pub kind: PriceKind,
    pub label: String,
    /// Consultations: the appointment type charged, as entered.
    pub appointment_type: Option<String>,
    /// Drugs: the formulary drug; `None` for the default drug entry.
    pub drug_id: Option<DrugId>,
    pub rule: PriceRule,
    pub tax_rate: Percent,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<price_list::Model> for PriceRecord {
    type Error = StoreError;

    fn try_from(m: price_list::Model) -> Result<Self, StoreError> {
        let row = Row("price_list");
        let rule = match (m.fixed_price_minor, m.markup_percent.as_deref()) {
            (Some(minor), _) => PriceRule::Fixed(row.convert(
                "fixed_price_minor",
                minor,
                Money::from_minor_units,
            )?),
            (None, Some(markup)) => {
                PriceRule::Markup(row.convert("markup_percent", markup, Percent::parse)?)
            }
            (None, None) => {
                return Err(row.corrupt("fixed_price_minor", "neither a price nor a markup"));
            }
        };
        Ok(PriceRecord {
            id: row.parse("id", &m.id)?,
            code: m.code,
            kind: row.convert("kind", m.kind.as_str(), PriceKind::parse)?,
            label: m.label,
            appointment_type: m.appointment_type,
            drug_id: row.parse_opt("drug_id", m.drug_id.as_deref())?,
            rule,
            tax_rate: row.convert("tax_rate", m.tax_rate.as_str(), Percent::parse)?,
            active: m.active,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

/// A percentage as stored: its normalised decimal text.
fn percent_text(percent: Percent) -> String {
    percent.value().normalize().to_string()
}

impl From<&PriceRecord> for price_list::ActiveModel {
    fn from(price: &PriceRecord) -> Self {
        let (fixed_price_minor, markup_percent) = match price.rule {
            PriceRule::Fixed(amount) => (Some(amount.minor_units()), None),
            PriceRule::Markup(markup) => (None, Some(percent_text(markup))),
        };
        price_list::ActiveModel {
            id: Set(price.id.to_string()),
            code: Set(price.code.clone()),
            kind: Set(price.kind.as_str().to_owned()),
            label: Set(price.label.clone()),
            appointment_type: Set(price.appointment_type.clone()),
            drug_id: Set(price.drug_id.map(|id| id.to_string())),
            fixed_price_minor: Set(fixed_price_minor),
            markup_percent: Set(markup_percent),
            tax_rate: Set(percent_text(price.tax_rate)),
            active: Set(price.active),
            created_at: Set(to_micros(price.created_at)),
            updated_at: Set(to_micros(price.updated_at)),
        }
    }
}

pub async fn insert_price(conn: &impl Conn, price: &PriceRecord) -> Result<(), StoreError> {
    price_list::Entity::insert(price_list::ActiveModel::from(price))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Replaces a price-list entry (all but its creation time); `false` if there is no such
/// entry.
pub async fn update_price(conn: &impl Conn, price: &PriceRecord) -> Result<bool, StoreError> {
    use price_list::Column as C;
    let row = price_list::ActiveModel::from(price);
    let result = price_list::Entity::update_many()
        .set(price_list::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            created_at: sea_orm::ActiveValue::NotSet,
            ..row
        })
        .filter(C::Id.eq(price.id.to_string()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_price(conn: &impl Conn, id: PriceId) -> Result<Option<PriceRecord>, StoreError> {
    price_list::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
        .map(PriceRecord::try_from)
        .transpose()
}

/// The price list by kind and code (inactive entries too).
pub async fn list_prices(conn: &impl Conn) -> Result<Vec<PriceRecord>, StoreError> {
    price_list::Entity::find()
        .order_by_asc(price_list::Column::Kind)
        .order_by_asc(price_list::Column::Code)
        .all(conn)
        .await?
        .into_iter()
        .map(PriceRecord::try_from)
        .collect()
}

pub async fn insert_invoice(conn: &impl Conn, row: InvoiceRow) -> Result<(), StoreError> {
    invoices::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_invoice(conn: &impl Conn, id: &str) -> Result<Option<InvoiceRow>, StoreError> {
    Ok(invoices::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// The patient's open (draft) invoice, if any.
pub async fn open_invoice_of(
    conn: &impl Conn,
    patient_id: &str,
) -> Result<Option<InvoiceRow>, StoreError> {
    Ok(invoices::Entity::find()
        .filter(invoices::Column::OpenFor.eq(patient_id))
        .one(conn)
        .await?)
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub patient_id: Option<String>,
    pub status: Option<String>,
    pub limit: u64,
}

/// Invoices, newest first.
pub async fn list_invoices(
    conn: &impl Conn,
    filter: &InvoiceFilter,
) -> Result<Vec<InvoiceRow>, StoreError> {
    use sea_orm::QuerySelect;
    let mut query = invoices::Entity::find();
    if let Some(patient) = &filter.patient_id {
        query = query.filter(invoices::Column::PatientId.eq(patient.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(invoices::Column::Status.eq(status.as_str()));
    }
    Ok(query
        .order_by_desc(invoices::Column::CreatedAt)
        .order_by_desc(invoices::Column::Id)
        .limit(std::cmp::max(filter.limit, 1))
        .all(conn)
        .await?)
}

/// Invoices issued (or paid or voided after issue) with `issued_at` in `[from, to)`, and
/// every invoice still owing whatever its date: the billing report's input.
pub async fn invoices_for_report(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<InvoiceRow>, StoreError> {
    use sea_orm::Condition;
    Ok(invoices::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(invoices::Column::IssuedAt.gte(from))
                        .add(invoices::Column::IssuedAt.lt(to)),
                )
                .add(invoices::Column::Status.is_in(["issued", "partially_paid"])),
        )
        .order_by_asc(invoices::Column::IssuedAt)
        .all(conn)
        .await?)
}

/// Payments received in `[from, to)`.
pub async fn payments_between(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<PaymentRow>, StoreError> {
    Ok(payments::Entity::find()
        .filter(payments::Column::ReceivedAt.gte(from))
        .filter(payments::Column::ReceivedAt.lt(to))
        .order_by_asc(payments::Column::ReceivedAt)
        .all(conn)
        .await?)
}

/// Writes the invoice's status, totals and closing fields if it is still at
/// `expected_version`, raising the version: `false` (nothing written) if it moved.
pub async fn update_invoice(
    conn: &impl Conn,
    row: &InvoiceRow,
    expected_version: i32,
) -> Result<bool, StoreError> {
    use invoices::Column as C;
    let result = invoices::Entity::update_many()
        .col_expr(C::Status, Expr::value(row.status.clone()))
        .col_expr(C::OpenFor, Expr::value(row.open_for.clone()))
        .col_expr(C::SubtotalMinor, Expr::value(row.subtotal_minor))
        .col_expr(C::DiscountMinor, Expr::value(row.discount_minor))
        .col_expr(C::TaxMinor, Expr::value(row.tax_minor))
        .col_expr(C::TotalMinor, Expr::value(row.total_minor))
        .col_expr(C::PaidMinor, Expr::value(row.paid_minor))
        .col_expr(C::VoidReason, Expr::value(row.void_reason.clone()))
        .col_expr(C::IssuedAt, Expr::value(row.issued_at))
        .col_expr(C::ClosedAt, Expr::value(row.closed_at))
        .col_expr(C::UpdatedAt, Expr::value(row.updated_at))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(row.id.as_str()))
        .filter(C::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How inserting a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineInsert {
    Inserted,
    /// What the line charges is charged already: the appointment it names
    /// (`ux_invoice_lines_appointment`) or its `(source, source_id)`
    /// (`ux_invoice_lines_source`). Nothing was written. On PostgreSQL the failed statement
    /// has aborted the caller's transaction: roll it back (and start again on fresh data).
    AlreadyCharged,
}

/// Inserts a line. A line's id is a fresh UUIDv7, so the only unique keys a new line can
/// collide on are the two that say "charged once"; the collision is recognised by its
/// error class (`StoreError::UniqueViolation`, SeaORM's classification of the driver's
/// code), never by the text of the message.
pub async fn insert_line(conn: &impl Conn, row: LineRow) -> Result<LineInsert, StoreError> {
    match invoice_lines::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await
        .map_err(StoreError::from)
    {
        Ok(_) => Ok(LineInsert::Inserted),
        Err(StoreError::UniqueViolation(_)) => Ok(LineInsert::AlreadyCharged),
        Err(err) => Err(err),
    }
}

/// The line that charges `appointment_id`, if any (whatever its invoice's status: a void
/// invoice's line still counts).
pub async fn line_of_appointment(
    conn: &impl Conn,
    appointment_id: &str,
) -> Result<Option<LineRow>, StoreError> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::AppointmentId.eq(appointment_id))
        .one(conn)
        .await?)
}

/// Of `appointment_ids`, the ones some line charges.
pub async fn charged_appointments(
    conn: &impl Conn,
    appointment_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    if appointment_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::AppointmentId.is_in(appointment_ids.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|line| line.appointment_id)
        .collect())
}

/// Deletes a line of an invoice; `false` if there was no such line.
pub async fn delete_line(
    conn: &impl Conn,
    invoice_id: &str,
    line_id: &str,
) -> Result<bool, StoreError> {
    let result = invoice_lines::Entity::delete_many()
        .filter(invoice_lines::Column::Id.eq(line_id))
        .filter(invoice_lines::Column::InvoiceId.eq(invoice_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// An invoice's lines in order.
pub async fn lines_of(conn: &impl Conn, invoice_id: &str) -> Result<Vec<LineRow>, StoreError> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(invoice_lines::Column::Position)
        .order_by_asc(invoice_lines::Column::Id)
        .all(conn)
        .await?)
}

pub async fn insert_payment(conn: &impl Conn, row: PaymentRow) -> Result<(), StoreError> {
    payments::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// An invoice's payments, oldest first.
pub async fn payments_of(
    conn: &impl Conn,
    invoice_id: &str,
) -> Result<Vec<PaymentRow>, StoreError> {
    Ok(payments::Entity::find()
        .filter(payments::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(payments::Column::ReceivedAt)
        .order_by_asc(payments::Column::Id)
        .all(conn)
        .await?)
}

/// The line that charged `source_id` of `source`, if any.
pub async fn line_of_source(
    conn: &impl Conn,
    source: &str,
    source_id: &str,
) -> Result<Option<LineRow>, StoreError> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::Source.eq(source))
        .filter(invoice_lines::Column::SourceId.eq(source_id))
        .one(conn)
        .await?)
}

/// The highest line position of an invoice (0 without lines).
pub async fn line_count(conn: &impl Conn, invoice_id: &str) -> Result<i32, StoreError> {
    Ok(lines_of(conn, invoice_id)
        .await?
        .iter()
        .map(|line| line.position)
        .max()
        .unwrap_or(0))
}
