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
use carevault_core::{
    Action, DrugId, InvoiceId, InvoiceLineId, PatientId, PaymentId, PriceId, ValidationErrors,
};
use carevault_crypto::data_key::DataKey;
use carevault_store::StoreError;
use carevault_store::billing::{
    self as store, InvoiceFilter, InvoiceRecord, LineInsert, LineRecord, PaymentRecord, PriceRecord,
};
use carevault_store::patients::{self as patient_store, PatientRow};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

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

fn too_large(_: MoneyError) -> ServiceError {
    ValidationErrors::single("unit_price", "makes the invoice's total too large").into()
}

fn totals_of(row: &InvoiceRecord) -> Result<InvoiceTotals, ServiceError> {
    Ok(InvoiceTotals {
        subtotal: row.subtotal,
        discount_total: row.discount,
        tax_total: row.tax,
        grand_total: row.total,
        paid: row.paid,
        balance: row
            .total
            .checked_sub(row.paid)
            .map_err(|_| ServiceError::Integrity)?,
    })
}

/// `row` with a line's amounts added to its totals.
fn with_line(row: &InvoiceRecord, line: &LineRecord) -> Result<InvoiceRecord, ServiceError> {
    let add = |a: Money, b: Money| a.checked_add(b).map_err(too_large);
    let amounts = &line.amounts;
    let mut next = row.clone();
    next.subtotal = add(row.subtotal, amounts.gross)?;
    next.discount = add(row.discount, amounts.discount)?;
    next.tax = add(row.tax, amounts.tax)?;
    next.total = add(row.total, amounts.total)?;
    Ok(next)
}

/// `row` with a line's amounts taken off its totals (a draft line removed).
fn without_line(row: &InvoiceRecord, line: &LineRecord) -> Result<InvoiceRecord, ServiceError> {
    let sub = |a: Money, b: Money| a.checked_sub(b).map_err(|_| ServiceError::Integrity);
    let amounts = &line.amounts;
    let mut next = row.clone();
    next.subtotal = sub(row.subtotal, amounts.gross)?;
    next.discount = sub(row.discount, amounts.discount)?;
    next.tax = sub(row.tax, amounts.tax)?;
    next.total = sub(row.total, amounts.total)?;
    Ok(next)
}

fn place<'a>(table: &'a str, row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table,
        row_id,
        patient_id,
    }
}

/// A line record (sealed description, its amounts) for `item`, on `invoice_id` (an
/// automatic charge does not know its invoice yet: [`add_charge_in`] sets it, and the
/// position, when it writes the line). `now` is a stored instant (whole microseconds).
#[allow(clippy::too_many_arguments)]
pub(crate) fn line_record(
    item: &LineItem,
    dek: &DataKey,
    invoice_id: InvoiceId,
    patient_id: PatientId,
    source: &str,
    source_id: Option<String>,
    actor_id: &str,
    now: DateTime<Utc>,
) -> Result<LineRecord, ServiceError> {
    let id = InvoiceLineId::generate();
    let description = place("invoice_lines", &id.to_string(), &patient_id.to_string())
        .seal(dek, "description", Some(item.description().as_str()))?
        .ok_or(ServiceError::Integrity)?;
    Ok(LineRecord {
        id,
        invoice_id,
        position: 0,
        kind: item.kind(),
        source: source.to_owned(),
        source_id,
        description,
        quantity: item.quantity(),
        unit_price: item.unit_price(),
        discount_percent: match item.discount() {
            Discount::Percent(p) => Some(p),
            _ => None,
        },
        tax_rate: item.tax_rate(),
        amounts: item.amounts(),
        created_by: actor_id.to_owned(),
        created_at: now,
        appointment_id: None,
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
        let dek = self.patient_key(&row).await?;
        Ok((row, dek))
    }

    /// Loads an invoice and its patient for `actor`: a patient asking for someone else's
    /// invoice is refused (and recorded) whether or not it exists.
    async fn load_invoice(
        &self,
        actor: &Actor,
        role: BillingRole,
        invoice_id: &str,
    ) -> Result<(InvoiceRecord, PatientRow, DataKey), ServiceError> {
        let row = match crate::ids::requested_id::<InvoiceId>(invoice_id.trim()) {
            Some(id) => store::find_invoice(self.store().conn(), id).await?,
            None => None,
        };
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
        let (patient, dek) = self
            .bill_patient(actor, role, &row.patient_id.to_string())
            .await?;
        Ok((row, patient, dek))
    }

    pub(crate) fn summary_of(
        &self,
        row: &InvoiceRecord,
        patient: &PatientRow,
        dek: &DataKey,
    ) -> Result<InvoiceSummary, ServiceError> {
        let (given_name, family_name) = open_names(patient, dek)?;
        let mrn = place("patients", &patient.id.to_string(), &patient.id.to_string())
            .open(dek, "mrn", Some(&patient.mrn))?
            .ok_or(ServiceError::Integrity)?;
        Ok(InvoiceSummary {
            id: row.id.to_string(),
            number: row.number.clone(),
            patient_id: row.patient_id.to_string(),
            patient_name: format!("{family_name}, {given_name}"),
            mrn,
            status: row.status,
            currency: row.currency,
            totals: totals_of(row)?,
            created_at: row.created_at,
            issued_at: row.issued_at,
            closed_at: row.closed_at,
        })
    }

    async fn present_invoice(
        &self,
        row: &InvoiceRecord,
        patient: &PatientRow,
        dek: &DataKey,
        role: BillingRole,
    ) -> Result<InvoiceView, ServiceError> {
        let conn = self.store().conn();
        let mut lines = Vec::new();
        for line in store::lines_of(conn, row.id).await? {
            let id = line.id.to_string();
            let description = place("invoice_lines", &id, &patient.id.to_string())
                .open(dek, "description", Some(&line.description))?
                .ok_or(ServiceError::Integrity)?;
            lines.push(LineView {
                id,
                position: line.position,
                kind: line.kind,
                source: line.source,
                description,
                quantity: line.quantity.value(),
                unit_price: line.unit_price,
                discount_percent: line.discount_percent,
                tax_rate: line.tax_rate,
                amounts: line.amounts,
                created_at: line.created_at,
                appointment_id: line.appointment_id.map(|id| id.to_string()),
            });
        }
        let mut payments = Vec::new();
        for payment in store::payments_of(conn, row.id).await? {
            let id = payment.id.to_string();
            payments.push(PaymentView {
                reference: place("payments", &id, &patient.id.to_string()).open(
                    dek,
                    "reference",
                    payment.reference.as_deref(),
                )?,
                id,
                amount: payment.amount,
                method: payment.method,
                received_at: payment.received_at,
            });
        }
        let status = row.status;
        Ok(InvoiceView {
            summary: self.summary_of(row, patient, dek)?,
            lines,
            payments,
            void_reason: place("invoices", &row.id.to_string(), &patient.id.to_string()).open(
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
