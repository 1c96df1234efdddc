//! Billing persistence: the price list, invoices, their lines and payments.
//!
//! Every change of an invoice goes through [`update_invoice`], a conditional update on the
//! version the caller read (`… WHERE id = ? AND version = ?`): if another transaction
//! changed the invoice meanwhile nothing is written and the caller starts again on fresh
//! data. Lines and payments are inserted in the same transaction as that update.

use carevault_core::billing::{
    InvoiceStatus, LineAmounts, LineKind, PaymentMethod, PriceKind, PriceRule, Quantity,
};
use carevault_core::money::{Currency, Money, Percent};
use carevault_core::time::to_micros;
use carevault_core::{
    AppointmentId, DrugId, InvoiceId, InvoiceLineId, PatientId, PaymentId, PriceId, UserId,
};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::{invoice_lines, invoices, payments, price_list};
use crate::error::StoreError;
use crate::record::{self, Row};

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
    record::insert(conn, price_list::ActiveModel::from(price)).await
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
    record::one(conn, price_list::Entity::find_by_id(id.to_string())).await
}

/// The price list by kind and code (inactive entries too).
pub async fn list_prices(conn: &impl Conn) -> Result<Vec<PriceRecord>, StoreError> {
    record::all(
        conn,
        price_list::Entity::find()
            .order_by_asc(price_list::Column::Kind)
            .order_by_asc(price_list::Column::Code),
    )
    .await
}

/// An invoice with its stored totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub id: InvoiceId,
    /// `INV-000001`.
    pub number: String,
    pub patient_id: PatientId,
    /// The patient while a draft, else `None` (one open draft per patient).
    pub open_for: Option<PatientId>,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    pub paid: Money,
    /// Raised by every [`update_invoice`].
    pub version: i32,
    /// Sealed.
    pub void_reason: Option<Vec<u8>>,
    /// The user id of who opened it, or `system` (an automatic charge by a job).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<invoices::Model> for InvoiceRecord {
    type Error = StoreError;

    fn try_from(m: invoices::Model) -> Result<Self, StoreError> {
        let row = Row("invoices");
        let money = |column, minor| row.convert(column, minor, Money::from_minor_units);
        Ok(InvoiceRecord {
            id: row.parse("id", &m.id)?,
            number: m.number,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            open_for: row.parse_opt("open_for", m.open_for.as_deref())?,
            status: row.convert("status", m.status.as_str(), InvoiceStatus::parse)?,
            currency: row.convert("currency", m.currency.as_str(), Currency::parse)?,
            subtotal: money("subtotal_minor", m.subtotal_minor)?,
            discount: money("discount_minor", m.discount_minor)?,
            tax: money("tax_minor", m.tax_minor)?,
            total: money("total_minor", m.total_minor)?,
            paid: money("paid_minor", m.paid_minor)?,
            version: m.version,
            void_reason: m.void_reason,
            created_by: m.created_by,
            created_at: row.time(m.created_at),
            issued_at: row.time_opt(m.issued_at),
            closed_at: row.time_opt(m.closed_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<&InvoiceRecord> for invoices::ActiveModel {
    fn from(invoice: &InvoiceRecord) -> Self {
        invoices::ActiveModel {
            id: Set(invoice.id.to_string()),
            number: Set(invoice.number.clone()),
            patient_id: Set(invoice.patient_id.to_string()),
            open_for: Set(invoice.open_for.map(|id| id.to_string())),
            status: Set(invoice.status.as_str().to_owned()),
            currency: Set(invoice.currency.as_str().to_owned()),
            subtotal_minor: Set(invoice.subtotal.minor_units()),
            discount_minor: Set(invoice.discount.minor_units()),
            tax_minor: Set(invoice.tax.minor_units()),
            total_minor: Set(invoice.total.minor_units()),
            paid_minor: Set(invoice.paid.minor_units()),
            version: Set(invoice.version),
            void_reason: Set(invoice.void_reason.clone()),
            created_by: Set(invoice.created_by.clone()),
            created_at: Set(to_micros(invoice.created_at)),
            issued_at: Set(invoice.issued_at.map(to_micros)),
            closed_at: Set(invoice.closed_at.map(to_micros)),
            updated_at: Set(to_micros(invoice.updated_at)),
        }
    }
}

/// A line of an invoice with the amounts it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub id: InvoiceLineId,
    pub invoice_id: InvoiceId,
    pub position: i32,
    pub kind: LineKind,
    /// `manual`, `appointment` or `dispensing`.
    pub source: String,
    /// The appointment or dispensing charged (unique with `source`), as stored.
    pub source_id: Option<String>,
    /// Sealed.
    pub description: Vec<u8>,
    pub quantity: Quantity,
    pub unit_price: Money,
    /// When the discount was a percentage.
    pub discount_percent: Option<Percent>,
    pub tax_rate: Percent,
    pub amounts: LineAmounts,
    /// The user id of who wrote it, or `system` (an automatic charge by a job).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The appointment this line charges (a visit is charged once).
    pub appointment_id: Option<AppointmentId>,
}

impl TryFrom<invoice_lines::Model> for LineRecord {
    type Error = StoreError;

    fn try_from(m: invoice_lines::Model) -> Result<Self, StoreError> {
        let row = Row("invoice_lines");
        let money = |column, minor| row.convert(column, minor, Money::from_minor_units);
        Ok(LineRecord {
            id: row.parse("id", &m.id)?,
            invoice_id: row.parse("invoice_id", &m.invoice_id)?,
            position: m.position,
            kind: row.convert("kind", m.kind.as_str(), LineKind::parse)?,
            source: m.source,
            source_id: m.source_id,
            description: m.description,
            quantity: row.convert("quantity", m.quantity.as_str(), Quantity::parse)?,
            unit_price: money("unit_price_minor", m.unit_price_minor)?,
            discount_percent: m
                .discount_percent
                .as_deref()
                .map(|text| row.convert("discount_percent", text, Percent::parse))
                .transpose()?,
            tax_rate: row.convert("tax_rate", m.tax_rate.as_str(), Percent::parse)?,
            amounts: LineAmounts {
                gross: money("gross_minor", m.gross_minor)?,
                discount: money("discount_minor", m.discount_minor)?,
                net: money("net_minor", m.net_minor)?,
                tax: money("tax_minor", m.tax_minor)?,
                total: money("total_minor", m.total_minor)?,
            },
            created_by: m.created_by,
            created_at: row.time(m.created_at),
            appointment_id: row.parse_opt("appointment_id", m.appointment_id.as_deref())?,
        })
    }
}

impl From<&LineRecord> for invoice_lines::ActiveModel {
    fn from(line: &LineRecord) -> Self {
        invoice_lines::ActiveModel {
            id: Set(line.id.to_string()),
            invoice_id: Set(line.invoice_id.to_string()),
            position: Set(line.position),
            kind: Set(line.kind.as_str().to_owned()),
            source: Set(line.source.clone()),
            source_id: Set(line.source_id.clone()),
            description: Set(line.description.clone()),
            quantity: Set(line.quantity.value().normalize().to_string()),
            unit_price_minor: Set(line.unit_price.minor_units()),
            discount_percent: Set(line.discount_percent.map(percent_text)),
            tax_rate: Set(percent_text(line.tax_rate)),
            gross_minor: Set(line.amounts.gross.minor_units()),
            discount_minor: Set(line.amounts.discount.minor_units()),
            net_minor: Set(line.amounts.net.minor_units()),
            tax_minor: Set(line.amounts.tax.minor_units()),
            total_minor: Set(line.amounts.total.minor_units()),
            created_by: Set(line.created_by.clone()),
            created_at: Set(to_micros(line.created_at)),
            appointment_id: Set(line.appointment_id.map(|id| id.to_string())),
        }
    }
}

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub invoice_id: InvoiceId,
    pub amount: Money,
    pub method: PaymentMethod,
    /// Sealed.
    pub reference: Option<Vec<u8>>,
    pub received_by: UserId,
    pub received_at: DateTime<Utc>,
}

impl TryFrom<payments::Model> for PaymentRecord {
    type Error = StoreError;

    fn try_from(m: payments::Model) -> Result<Self, StoreError> {
        let row = Row("payments");
        Ok(PaymentRecord {
            id: row.parse("id", &m.id)?,
            invoice_id: row.parse("invoice_id", &m.invoice_id)?,
            amount: row.convert("amount_minor", m.amount_minor, Money::from_minor_units)?,
            method: row.convert("method", m.method.as_str(), PaymentMethod::parse)?,
            reference: m.reference,
            received_by: row.parse("received_by", &m.received_by)?,
            received_at: row.time(m.received_at),
        })
    }
}

impl From<&PaymentRecord> for payments::ActiveModel {
    fn from(payment: &PaymentRecord) -> Self {
        payments::ActiveModel {
            id: Set(payment.id.to_string()),
            invoice_id: Set(payment.invoice_id.to_string()),
            amount_minor: Set(payment.amount.minor_units()),
            method: Set(payment.method.as_str().to_owned()),
            reference: Set(payment.reference.clone()),
            received_by: Set(payment.received_by.to_string()),
            received_at: Set(to_micros(payment.received_at)),
        }
    }
}

pub async fn insert_invoice(conn: &impl Conn, invoice: &InvoiceRecord) -> Result<(), StoreError> {
    record::insert(conn, invoices::ActiveModel::from(invoice)).await
}

pub async fn find_invoice(
    conn: &impl Conn,
    id: InvoiceId,
) -> Result<Option<InvoiceRecord>, StoreError> {
    record::one(conn, invoices::Entity::find_by_id(id.to_string())).await
}

/// The patient's open (draft) invoice, if any.
pub async fn open_invoice_of(
    conn: &impl Conn,
    patient_id: PatientId,
) -> Result<Option<InvoiceRecord>, StoreError> {
    record::one(
        conn,
        invoices::Entity::find().filter(invoices::Column::OpenFor.eq(patient_id.to_string())),
    )
    .await
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub patient_id: Option<PatientId>,
    pub status: Option<InvoiceStatus>,
    pub limit: u64,
}

/// Invoices, newest first.
pub async fn list_invoices(
    conn: &impl Conn,
    filter: &InvoiceFilter,
) -> Result<Vec<InvoiceRecord>, StoreError> {
    use sea_orm::QuerySelect;
    let mut query = invoices::Entity::find();
    if let Some(patient) = filter.patient_id {
        query = query.filter(invoices::Column::PatientId.eq(patient.to_string()));
    }
    if let Some(status) = filter.status {
        query = query.filter(invoices::Column::Status.eq(status.as_str()));
    }
    record::all(
        conn,
        query
            .order_by_desc(invoices::Column::CreatedAt)
            .order_by_desc(invoices::Column::Id)
            .limit(std::cmp::max(filter.limit, 1)),
    )
    .await
}

/// Invoices issued (or paid or voided after issue) with `issued_at` in `[from, to)`, and
/// every invoice still owing whatever its date: the billing report's input.
pub async fn invoices_for_report(
    conn: &impl Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<InvoiceRecord>, StoreError> {
    use sea_orm::Condition;
    record::all(
        conn,
        invoices::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(invoices::Column::IssuedAt.gte(to_micros(from)))
                            .add(invoices::Column::IssuedAt.lt(to_micros(to))),
                    )
                    .add(invoices::Column::Status.is_in([
                        InvoiceStatus::Issued.as_str(),
                        InvoiceStatus::PartiallyPaid.as_str(),
                    ])),
            )
            .order_by_asc(invoices::Column::IssuedAt),
    )
    .await
}

/// Payments received in `[from, to)`.
pub async fn payments_between(
    conn: &impl Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PaymentRecord>, StoreError> {
    record::all(
        conn,
        payments::Entity::find()
            .filter(payments::Column::ReceivedAt.gte(to_micros(from)))
            .filter(payments::Column::ReceivedAt.lt(to_micros(to)))
            .order_by_asc(payments::Column::ReceivedAt),
    )
    .await
}

/// Writes the invoice's status, totals and closing fields if it is still at
/// `expected_version`, raising the version: `false` (nothing written) if it moved.
pub async fn update_invoice(
    conn: &impl Conn,
    invoice: &InvoiceRecord,
    expected_version: i32,
) -> Result<bool, StoreError> {
    use invoices::Column as C;
    let result = invoices::Entity::update_many()
        .col_expr(C::Status, Expr::value(invoice.status.as_str().to_owned()))
        .col_expr(
            C::OpenFor,
            Expr::value(invoice.open_for.map(|id| id.to_string())),
        )
        .col_expr(
            C::SubtotalMinor,
            Expr::value(invoice.subtotal.minor_units()),
        )
        .col_expr(
            C::DiscountMinor,
            Expr::value(invoice.discount.minor_units()),
        )
        .col_expr(C::TaxMinor, Expr::value(invoice.tax.minor_units()))
        .col_expr(C::TotalMinor, Expr::value(invoice.total.minor_units()))
        .col_expr(C::PaidMinor, Expr::value(invoice.paid.minor_units()))
        .col_expr(C::VoidReason, Expr::value(invoice.void_reason.clone()))
        .col_expr(C::IssuedAt, Expr::value(invoice.issued_at.map(to_micros)))
        .col_expr(C::ClosedAt, Expr::value(invoice.closed_at.map(to_micros)))
        .col_expr(C::UpdatedAt, Expr::value(to_micros(invoice.updated_at)))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(invoice.id.to_string()))
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
pub async fn insert_line(conn: &impl Conn, line: &LineRecord) -> Result<LineInsert, StoreError> {
    match invoice_lines::Entity::insert(invoice_lines::ActiveModel::from(line))
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
    appointment_id: AppointmentId,
) -> Result<Option<LineRecord>, StoreError> {
    record::one(
        conn,
        invoice_lines::Entity::find()
            .filter(invoice_lines::Column::AppointmentId.eq(appointment_id.to_string())),
    )
    .await
}

/// Of `appointment_ids`, the ones some line charges.
pub async fn charged_appointments(
    conn: &impl Conn,
    appointment_ids: &[AppointmentId],
) -> Result<Vec<AppointmentId>, StoreError> {
    if appointment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let row = Row("invoice_lines");
    invoice_lines::Entity::find()
        .filter(
            invoice_lines::Column::AppointmentId
                .is_in(appointment_ids.iter().map(ToString::to_string)),
        )
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|line| line.appointment_id)
        .map(|id| row.parse("appointment_id", &id))
        .collect()
}

/// Deletes a line of an invoice; `false` if there was no such line.
pub async fn delete_line(
    conn: &impl Conn,
    invoice_id: InvoiceId,
    line_id: InvoiceLineId,
) -> Result<bool, StoreError> {
    let result = invoice_lines::Entity::delete_many()
        .filter(invoice_lines::Column::Id.eq(line_id.to_string()))
        .filter(invoice_lines::Column::InvoiceId.eq(invoice_id.to_string()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// An invoice's lines in order.
pub async fn lines_of(
    conn: &impl Conn,
    invoice_id: InvoiceId,
) -> Result<Vec<LineRecord>, StoreError> {
    record::all(
        conn,
        invoice_lines::Entity::find()
            .filter(invoice_lines::Column::InvoiceId.eq(invoice_id.to_string()))
            .order_by_asc(invoice_lines::Column::Position)
            .order_by_asc(invoice_lines::Column::Id),
    )
    .await
}

pub async fn insert_payment(conn: &impl Conn, payment: &PaymentRecord) -> Result<(), StoreError> {
    record::insert(conn, payments::ActiveModel::from(payment)).await
}

/// An invoice's payments, oldest first.
pub async fn payments_of(
    conn: &impl Conn,
    invoice_id: InvoiceId,
) -> Result<Vec<PaymentRecord>, StoreError> {
    record::all(
        conn,
        payments::Entity::find()
            .filter(payments::Column::InvoiceId.eq(invoice_id.to_string()))
            .order_by_asc(payments::Column::ReceivedAt)
            .order_by_asc(payments::Column::Id),
    )
    .await
}

/// The line that charged `source_id` of `source`, if any.
pub async fn line_of_source(
    conn: &impl Conn,
    source: &str,
    source_id: &str,
) -> Result<Option<LineRecord>, StoreError> {
    record::one(
        conn,
        invoice_lines::Entity::find()
            .filter(invoice_lines::Column::Source.eq(source))
            .filter(invoice_lines::Column::SourceId.eq(source_id)),
    )
    .await
}

/// The highest line position of an invoice (0 without lines).
pub async fn line_count(conn: &impl Conn, invoice_id: InvoiceId) -> Result<i32, StoreError> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::InvoiceId.eq(invoice_id.to_string()))
        .all(conn)
        .await?
        .iter()
        .map(|line| line.position)
        .max()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use sea_orm::TryIntoModel;

    use super::*;

    fn line_model() -> invoice_lines::Model {
        invoice_lines::Model {
            id: InvoiceLineId::generate().to_string(),
            invoice_id: InvoiceId::generate().to_string(),
            position: 2,
            kind: "charge".into(),
            source: "appointment".into(),
            source_id: Some("anything".into()),
            description: b"sealed".to_vec(),
            quantity: "2.5".into(),
            unit_price_minor: 1999,
            discount_percent: Some("12.5".into()),
            tax_rate: "7".into(),
            gross_minor: 4998,
            discount_minor: 625,
            net_minor: 4373,
            tax_minor: 306,
            total_minor: 4679,
            created_by: "system".into(),
            created_at: 1_765_000_000_123_456,
            appointment_id: Some(AppointmentId::generate().to_string()),
        }
    }

    fn invoice_model() -> invoices::Model {
        let patient = PatientId::generate().to_string();
        invoices::Model {
            id: InvoiceId::generate().to_string(),
            number: "INV-000001".into(),
            patient_id: patient.clone(),
            open_for: Some(patient),
            status: "partially_paid".into(),
            currency: "EUR".into(),
            subtotal_minor: 4998,
            discount_minor: 625,
            tax_minor: 306,
            total_minor: 4679,
            paid_minor: 100,
            version: 3,
            void_reason: None,
            created_by: UserId::generate().to_string(),
            created_at: 1,
            issued_at: Some(2),
            closed_at: None,
            updated_at: 3,
        }
    }

    #[test]
    fn records_write_back_the_text_they_were_read_from() {
        let line = line_model();
        let record = LineRecord::try_from(line.clone()).unwrap();
        let back = invoice_lines::ActiveModel::from(&record)
            .try_into_model()
            .unwrap();
        assert_eq!(back, line);

        let invoice = invoice_model();
        let record = InvoiceRecord::try_from(invoice.clone()).unwrap();
        assert_eq!(record.status, InvoiceStatus::PartiallyPaid);
        let back = invoices::ActiveModel::from(&record)
            .try_into_model()
            .unwrap();
        assert_eq!(back, invoice);

        let payment = payments::Model {
            id: PaymentId::generate().to_string(),
            invoice_id: InvoiceId::generate().to_string(),
            amount_minor: 100,
            method: "card".into(),
            reference: Some(b"sealed".to_vec()),
            received_by: UserId::generate().to_string(),
            received_at: 1_765_000_000_000_001,
        };
        let record = PaymentRecord::try_from(payment.clone()).unwrap();
        let back = payments::ActiveModel::from(&record)
            .try_into_model()
            .unwrap();
        assert_eq!(back, payment);
    }

    #[test]
    fn a_column_that_does_not_convert_is_named() {
        let corrupt =
            |line: invoice_lines::Model| LineRecord::try_from(line).unwrap_err().to_string();
        assert!(
            corrupt(invoice_lines::Model {
                quantity: "0".into(),
                ..line_model()
            })
            .contains("invoice_lines.quantity: ")
        );
        assert!(
            corrupt(invoice_lines::Model {
                kind: "gift".into(),
                ..line_model()
            })
            .contains("invoice_lines.kind: ")
        );
        let err = InvoiceRecord::try_from(invoices::Model {
            status: "lost".into(),
            ..invoice_model()
        })
        .unwrap_err();
        assert!(err.to_string().contains("invoices.status: "), "{err}");
    }
}
