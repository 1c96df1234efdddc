//! Billing: the price list, invoices per patient with their lines, payments,
//! issuing and voiding, and the billing report.
//!
//! Who: administrators, receptionists and pharmacists create invoices, add lines, issue
//! them and record payments (`ManageBilling`); only administrators void (with a reason) and
//! manage the price list; a patient reads their own invoices and nobody else's (refusals are
//! recorded). Doctors, nurses and auditors have no access to bills.
//!
//! How: the rules (line amounts, totals, statuses, corrections, payments) are
//! `carevault_core::billing`; this module loads, decides with those rules and writes in one
//! transaction. Every change of an invoice is a conditional update on the version it read
//! (`carevault_store::billing::update_invoice`); when another change got in first the use
//! case starts again on fresh data, so two concurrent payments can never both take the last
//! of a balance. Automatic charges (a completed appointment, a dispensing) are written by
//! [`add_charge_in`] inside the transaction of the step that causes them: they land on the
//! patient's open draft invoice (opened if there is none), or nothing happens at all.
//!
//! Line descriptions, payment references and void reasons are sealed under the patient's
//! data key (a drug on a bill is health data); amounts, statuses and dates are in clear so
//! that reports need no key.
//!
//! - **One open draft per patient, by the database**: `invoices.open_for` holds the patient
//!   id while the invoice is a draft (null afterwards) under a unique index (a partial unique
//!   index would not exist on MariaDB; NULLs never collide), so two concurrent first charges
//!   cannot open two drafts.
//! - **Charged once**: an automatic line is unique by `(source, source_id)`, so a dispensing
//!   or completion retried is charged once; a visit is charged once (`visit_charges.rs`).
//! - **Prices**: a consultation price names an appointment type (no entry, no charge); a drug
//!   price names a drug, or none for every drug, as a fixed price or a markup on the weighted
//!   average unit cost of the units taken; a drug with no entry is charged at cost, without
//!   tax. Lines keep the amounts they were written with.
//! - **Money** is `bigint` minor units in the database and decimal strings (`"0.33"`) in the
//!   API, never JSON numbers; the currency is `--currency`, stored per invoice.
//! - **Printing**: print views and PDFs (`web::pdf`) of invoice and receipt, for billing staff
//!   and the patient; every view is a `read` event on the invoice.

use crate::audit_trail::pseudonym_of;
use carevault_core::Grant;
use carevault_core::audit::{AuditAction, AuditEvent, ResourceType};
use carevault_core::billing::{
    Discount, InvoiceStatus, InvoiceTotals, LineAmounts, LineItem, LineItemInput, LineKind,
    Payment, PaymentInput, PaymentMethod, PriceRule, VoidReason, check_issue, check_line_addition,
    check_line_edit, check_payment, check_totals, void,
};
use carevault_core::money::{Currency, Money, MoneyError, Percent};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{Action, DrugId, PatientId, PriceId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::StoreError;
use carevault_store::billing::{
    self as store, InvoiceFilter, InvoiceRow, LineInsert, LineRow, PaymentRow, PriceRecord,
};
use carevault_store::patients::{self as patient_store, PatientRow};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::patients::open_names;
use crate::sealing::Place;
use crate::tx;
use crate::visit_charges::{NamedVisit, VisitToCharge, may_charge_visits};

mod changes;
mod charges;
mod invoices;
mod prices;
mod report;

pub use changes::*;
pub(crate) use charges::*;
pub use prices::*;
pub use report::*;

/// The longest invoice list.
const LIST_LIMIT: u64 = 500;

/// Where automatic and manual lines come from.
pub const SOURCE_MANUAL: &str = "manual";
pub const SOURCE_APPOINTMENT: &str = "appointment";
pub const SOURCE_DISPENSING: &str = "dispensing";

/// Tunables of billing.
#[derive(Debug, Clone, Copy)]
pub struct BillingSettings {
    /// The currency of new invoices (`--currency`, ISO 4217).
    pub currency: Currency,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            currency: Currency::USD,
        }
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    pub id: String,
    pub position: i32,
    pub kind: LineKind,
    /// `manual`, `appointment` or `dispensing`.
    pub source: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Money,
    pub discount_percent: Option<Percent>,
    pub tax_rate: Percent,
    pub amounts: LineAmounts,
    pub created_at: DateTime<Utc>,
    /// The visit (appointment) this line charges, if any.
    pub appointment_id: Option<String>,
}

/// One payment of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub id: String,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// An invoice in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: String,
    pub number: String,
    pub patient_id: String,
    /// "Family, Given" as the actor may see it.
    pub patient_name: String,
    pub mrn: String,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub totals: InvoiceTotals,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// An invoice with its lines and payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceView {
    pub summary: InvoiceSummary,
    pub lines: Vec<LineView>,
    pub payments: Vec<PaymentView>,
    pub void_reason: Option<String>,
    /// What the actor may do with it now.
    pub may_edit: bool,
    pub may_void: bool,
    /// The patient's recent visits not charged yet, which a manual charge may name (a draft,
    /// read by administrators or reception; otherwise empty).
    pub visits_to_charge: Vec<VisitToCharge>,
}

fn money(minor: i64) -> Result<Money, ServiceError> {
    Money::from_minor_units(minor).map_err(|_| ServiceError::Integrity)
}

fn decimal(text: &str) -> Result<Decimal, ServiceError> {
    text.parse::<Decimal>().map_err(|_| ServiceError::Integrity)
}

fn percent(text: &str) -> Result<Percent, ServiceError> {
    Percent::parse(text).map_err(|_| ServiceError::Integrity)
}

fn too_large(_: MoneyError) -> ServiceError {
    ValidationErrors::single("unit_price", "makes the invoice's total too large").into()
}

fn totals_of(row: &InvoiceRow) -> Result<InvoiceTotals, ServiceError> {
    let grand_total = money(row.total_minor)?;
    let paid = money(row.paid_minor)?;
    Ok(InvoiceTotals {
        subtotal: money(row.subtotal_minor)?,
        discount_total: money(row.discount_minor)?,
        tax_total: money(row.tax_minor)?,
        grand_total,
        paid,
        balance: grand_total
            .checked_sub(paid)
            .map_err(|_| ServiceError::Integrity)?,
    })
}

/// `row` with a line's amounts added to its totals.
fn with_line(row: &InvoiceRow, line: &LineRow) -> Result<InvoiceRow, ServiceError> {
    let add = |a: i64, b: i64| {
        Money::from_minor_units(a)
            .and_then(|a| Money::from_minor_units(b).and_then(|b| a.checked_add(b)))
            .map(|sum| sum.minor_units())
            .map_err(too_large)
    };
    let mut next = row.clone();
    next.subtotal_minor = add(row.subtotal_minor, line.gross_minor)?;
    next.discount_minor = add(row.discount_minor, line.discount_minor)?;
    next.tax_minor = add(row.tax_minor, line.tax_minor)?;
    next.total_minor = add(row.total_minor, line.total_minor)?;
    Ok(next)
}

/// `row` with a line's amounts taken off its totals (a draft line removed).
fn without_line(row: &InvoiceRow, line: &LineRow) -> Result<InvoiceRow, ServiceError> {
    let sub = |a: i64, b: i64| {
        Money::from_minor_units(a)
            .and_then(|a| Money::from_minor_units(b).and_then(|b| a.checked_sub(b)))
            .map(|diff| diff.minor_units())
            .map_err(|_| ServiceError::Integrity)
    };
    let mut next = row.clone();
    next.subtotal_minor = sub(row.subtotal_minor, line.gross_minor)?;
    next.discount_minor = sub(row.discount_minor, line.discount_minor)?;
    next.tax_minor = sub(row.tax_minor, line.tax_minor)?;
    next.total_minor = sub(row.total_minor, line.total_minor)?;
    Ok(next)
}

fn status_of(row: &InvoiceRow) -> Result<InvoiceStatus, ServiceError> {
    InvoiceStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)
}

fn place<'a>(table: &'a str, row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table,
        row_id,
        patient_id,
    }
}

/// A line row (sealed description, stored amounts) for `item`.
pub(crate) fn line_row(
    item: &LineItem,
    dek: &DataKey,
    patient_id: &str,
    source: &str,
    source_id: Option<String>,
    actor_id: &str,
    now: i64,
) -> Result<LineRow, ServiceError> {
    let id = Uuid::now_v7().to_string();
    let description = place("invoice_lines", &id, patient_id)
        .seal(dek, "description", Some(item.description().as_str()))?
        .ok_or(ServiceError::Integrity)?;
    let amounts = item.amounts();
    Ok(LineRow {
        invoice_id: String::new(),
        position: 0,
        kind: item.kind().as_str().to_owned(),
        source: source.to_owned(),
        source_id,
        description,
        quantity: item.quantity().value().normalize().to_string(),
        unit_price_minor: item.unit_price().minor_units(),
        discount_percent: match item.discount() {
            Discount::Percent(p) => Some(p.value().normalize().to_string()),
            _ => None,
        },
        tax_rate: item.tax_rate().value().normalize().to_string(),
        gross_minor: amounts.gross.minor_units(),
        discount_minor: amounts.discount.minor_units(),
        net_minor: amounts.net.minor_units(),
        tax_minor: amounts.tax.minor_units(),
        total_minor: amounts.total.minor_units(),
        created_by: actor_id.to_owned(),
        created_at: now,
        appointment_id: None,
        id,
    })
}

/// What an actor may do with bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BillingRole {
    /// Administrators, receptionists, pharmacists: every patient's bills.
    Staff { admin: bool },
    /// A patient: their own, read only.
    Patient,
}

impl Services {
    fn billing_actor_id(&self, actor: &Actor) -> Result<String, ServiceError> {
        actor
            .user_id()
            .map(|id| id.to_string())
            .ok_or(ServiceError::Forbidden)
    }

    async fn billing_role(&self, actor: &Actor) -> Result<BillingRole, ServiceError> {
        if !actor.may(Action::SeeBills) {
            return Err(self
                .deny(actor, ResourceType::Invoice, None, "no access to bills")
                .await);
        }
        Ok(match actor.grant(Action::SeeBills) {
            Grant::Scoped(_) => BillingRole::Patient,
            _ => BillingRole::Staff {
                admin: actor.may(Action::AdministerBilling),
            },
        })
    }

    /// Refuses patients (who only read their own bills).
    async fn billing_staff(&self, actor: &Actor) -> Result<bool, ServiceError> {
        match self.billing_role(actor).await? {
            BillingRole::Staff { admin } => Ok(admin),
            BillingRole::Patient => Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    None,
                    "patients read their bills; staff write them",
                )
                .await),
        }
    }

    /// The patient of a bill and their data key, if `actor` may see that patient's bills.
    async fn bill_patient(
        &self,
        actor: &Actor,
        role: BillingRole,
        patient_id: &str,
    ) -> Result<(PatientRow, DataKey), ServiceError> {
        let id: PatientId = patient_id
            .trim()
            .parse()
            .map_err(|_| ValidationErrors::single("patient_id", "is not a patient id"))?;
        let row = match role {
            BillingRole::Patient => self.load_for(actor, id).await?.0,
            BillingRole::Staff { .. } => patient_store::find(self.store().conn(), id)
                .await?
                .filter(|row| !row.is_erased())
                .ok_or(ServiceError::NotFound("patient"))?,
        };
        if role == BillingRole::Patient && row.account_id != actor.user_id() {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    Some(patient_id.to_owned()),
                    "not the patient's own bill",
                )
                .await);
        }
        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        Ok((row, dek))
    }

    /// Loads an invoice and its patient for `actor`: a patient asking for someone else's
    /// invoice is refused (and recorded) whether or not it exists.
    async fn load_invoice(
        &self,
        actor: &Actor,
        role: BillingRole,
        invoice_id: &str,
    ) -> Result<(InvoiceRow, PatientRow, DataKey), ServiceError> {
        let row = store::find_invoice(self.store().conn(), invoice_id.trim()).await?;
        let Some(row) = row else {
            if role == BillingRole::Patient {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Invoice,
                        Some(invoice_id.trim().to_owned()),
                        "not the patient's own bill",
                    )
                    .await);
            }
            return Err(ServiceError::NotFound("invoice"));
        };
        let (patient, dek) = self.bill_patient(actor, role, &row.patient_id).await?;
        Ok((row, patient, dek))
    }

    pub(crate) fn summary_of(
        &self,
        row: &InvoiceRow,
        patient: &PatientRow,
        dek: &DataKey,
    ) -> Result<InvoiceSummary, ServiceError> {
        let (given_name, family_name) = open_names(patient, dek)?;
        let mrn = place("patients", &patient.id.to_string(), &patient.id.to_string())
            .open(dek, "mrn", Some(&patient.mrn))?
            .ok_or(ServiceError::Integrity)?;
        Ok(InvoiceSummary {
            id: row.id.clone(),
            number: row.number.clone(),
            patient_id: row.patient_id.clone(),
            patient_name: format!("{family_name}, {given_name}"),
            mrn,
            status: status_of(row)?,
            currency: Currency::parse(&row.currency).map_err(|_| ServiceError::Integrity)?,
            totals: totals_of(row)?,
            created_at: from_micros(row.created_at),
            issued_at: row.issued_at.map(from_micros),
            closed_at: row.closed_at.map(from_micros),
        })
    }

    async fn present_invoice(
        &self,
        row: &InvoiceRow,
        patient: &PatientRow,
        dek: &DataKey,
        role: BillingRole,
    ) -> Result<InvoiceView, ServiceError> {
        let conn = self.store().conn();
        let mut lines = Vec::new();
        for line in store::lines_of(conn, &row.id).await? {
            let description = place("invoice_lines", &line.id, &patient.id.to_string())
                .open(dek, "description", Some(&line.description))?
                .ok_or(ServiceError::Integrity)?;
            lines.push(LineView {
                id: line.id.clone(),
                position: line.position,
                kind: LineKind::parse(&line.kind).map_err(|_| ServiceError::Integrity)?,
                source: line.source.clone(),
                description,
                quantity: decimal(&line.quantity)?,
                unit_price: money(line.unit_price_minor)?,
                discount_percent: line.discount_percent.as_deref().map(percent).transpose()?,
                tax_rate: percent(&line.tax_rate)?,
                amounts: LineAmounts {
                    gross: money(line.gross_minor)?,
                    discount: money(line.discount_minor)?,
                    net: money(line.net_minor)?,
                    tax: money(line.tax_minor)?,
                    total: money(line.total_minor)?,
                },
                created_at: from_micros(line.created_at),
                appointment_id: line.appointment_id.clone(),
            });
        }
        let mut payments = Vec::new();
        for payment in store::payments_of(conn, &row.id).await? {
            payments.push(PaymentView {
                reference: place("payments", &payment.id, &patient.id.to_string()).open(
                    dek,
                    "reference",
                    payment.reference.as_deref(),
                )?,
                id: payment.id,
                amount: money(payment.amount_minor)?,
                method: PaymentMethod::parse(&payment.method)
                    .map_err(|_| ServiceError::Integrity)?,
                received_at: from_micros(payment.received_at),
            });
        }
        let status = status_of(row)?;
        Ok(InvoiceView {
            summary: self.summary_of(row, patient, dek)?,
            lines,
            payments,
            void_reason: place("invoices", &row.id, &patient.id.to_string()).open(
                dek,
                "void_reason",
                row.void_reason.as_deref(),
            )?,
            may_edit: matches!(role, BillingRole::Staff { .. }) && !status.is_final(),
            may_void: role == BillingRole::Staff { admin: true } && !status.is_final(),
            visits_to_charge: Vec::new(),
        })
    }
}
