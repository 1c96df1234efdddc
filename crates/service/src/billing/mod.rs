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
use carevault_core::{Action, PatientId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::StoreError;
use carevault_store::billing::{
    self as store, InvoiceFilter, InvoiceRow, LineInsert, LineRow, PaymentRow, PriceRow,
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

/// What a price-list entry prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceKind {
    /// An appointment type (charged when such an appointment is completed).
    Consultation,
    Procedure,
    /// A drug (charged when dispensed); without a drug, the default for every drug.
    Drug,
    Other,
}

impl PriceKind {
    pub const ALL: [PriceKind; 4] = [
        PriceKind::Consultation,
        PriceKind::Procedure,
        PriceKind::Drug,
        PriceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceKind::Consultation => "consultation",
            PriceKind::Procedure => "procedure",
            PriceKind::Drug => "drug",
            PriceKind::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Result<PriceKind, String> {
        PriceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or_else(|| "must be one of consultation, procedure, drug, other".to_owned())
    }
}

/// A price-list entry as submitted.
#[derive(Debug, Clone, Default)]
pub struct PriceInput {
    pub code: String,
    pub kind: String,
    pub label: String,
    /// Consultations: the appointment type charged.
    pub appointment_type: Option<String>,
    /// Drugs: the formulary drug; empty for the default drug markup.
    pub drug_id: Option<String>,
    pub fixed_price: Option<String>,
    /// Drugs only: a markup on the unit cost instead of a fixed price.
    pub markup_percent: Option<String>,
    pub tax_rate: Option<String>,
    pub active: bool,
}

/// A price-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceView {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub label: String,
    pub appointment_type: Option<String>,
    pub drug_id: Option<String>,
    pub fixed_price: Option<Money>,
    pub markup_percent: Option<Percent>,
    pub tax_rate: Percent,
    pub active: bool,
}

/// A line as submitted by hand: either from a price-list entry (`price_id`, with a quantity)
/// or written out.
#[derive(Debug, Clone, Default)]
pub struct LineRequest {
    pub price_id: Option<String>,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: Option<String>,
    pub discount_amount: Option<String>,
    pub tax_rate: Option<String>,
    /// The visit this line charges (an appointment of the invoice's patient), so that it is
    /// charged once: completing it later adds no second line, and a second manual charge of
    /// it is refused. Drafts only; administrators and reception
    /// (see [`crate::visit_charges`]). Without a price, the visit type's consultation price.
    pub appointment_id: Option<String>,
}

/// A payment as submitted.
#[derive(Debug, Clone, Default)]
pub struct PaymentRequest {
    pub amount: String,
    pub method: String,
    pub reference: Option<String>,
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

/// The billing report of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingReport {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub currency: Currency,
    /// Invoices issued in the period (void ones included) and their grand total.
    pub issued_count: u64,
    pub issued_total: Money,
    /// Of those, voided.
    pub void_count: u64,
    /// Payments received in the period, per method (every method, zero included).
    pub paid_by_method: Vec<(PaymentMethod, Money)>,
    pub paid_total: Money,
    /// What every issued or partially paid invoice still owes now, whatever its date.
    pub outstanding_count: u64,
    pub outstanding_total: Money,
    /// Per day of the period: (day, issued total, paid total).
    pub days: Vec<(NaiveDate, Money, Money)>,
}

/// A charge written inside another use case's transaction ([`add_charge_in`]): everything
/// sealed and computed beforehand, so that the transaction only writes.
#[derive(Debug, Clone)]
pub(crate) struct PreparedCharge {
    pub patient_id: String,
    pub line: LineRow,
    pub currency: Currency,
}

/// The audit event of an automatic charge, appended by the causing use case in its
/// transaction next to its own event.
pub(crate) fn charge_event(
    services: &Services,
    actor: &Actor,
    invoice_id: &str,
    pseudonym_number: i64,
    what: &str,
) -> AuditEvent {
    services
        .audit_event(actor, AuditAction::Update, ResourceType::Invoice)
        .resource_id(invoice_id)
        .patient(pseudonym_of(pseudonym_number))
        .reason(format!("charged automatically: {what}"))
}

/// How writing a prepared charge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChargeOutcome {
    /// Written on this invoice.
    Added { invoice_id: String },
    /// This source (or the appointment the line names) was charged before, on this
    /// invoice: nothing written.
    AlreadyCharged { invoice_id: String },
    /// A concurrent change of the patient's open invoice got in first: roll back, try again.
    Retry,
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

/// A new draft invoice row for `patient_id`, numbered from the `invoice` counter.
async fn new_draft(
    conn: &impl carevault_store::Conn,
    patient_id: &str,
    currency: Currency,
    actor_id: &str,
    now: i64,
) -> Result<InvoiceRow, StoreError> {
    let serial = patient_store::next_counter_value(conn, "invoice", 1).await?;
    Ok(InvoiceRow {
        id: Uuid::now_v7().to_string(),
        number: format!("INV-{serial:06}"),
        patient_id: patient_id.to_owned(),
        open_for: Some(patient_id.to_owned()),
        status: InvoiceStatus::Draft.as_str().to_owned(),
        currency: currency.as_str().to_owned(),
        subtotal_minor: 0,
        discount_minor: 0,
        tax_minor: 0,
        total_minor: 0,
        paid_minor: 0,
        version: 0,
        void_reason: None,
        created_by: actor_id.to_owned(),
        created_at: now,
        issued_at: None,
        closed_at: None,
        updated_at: now,
    })
}

/// Writes a prepared automatic charge on the patient's open draft invoice (opening one if
/// there is none) inside the caller's transaction: the invoice's totals first (a conditional
/// update on its version), then the line. A source, or an appointment the line names, that
/// is charged already (by an earlier run, or by hand) is [`ChargeOutcome::AlreadyCharged`]
/// and nothing is written. Any error, or [`ChargeOutcome::Retry`], means the caller must
/// roll back its whole transaction (and may start again: a charge that landed meanwhile is
/// then seen as charged).
pub(crate) async fn add_charge_in(
    txn: &carevault_store::Transaction,
    charge: &PreparedCharge,
) -> Result<ChargeOutcome, StoreError> {
    if let Some(appointment_id) = &charge.line.appointment_id
        && let Some(line) = store::line_of_appointment(txn, appointment_id).await?
    {
        return Ok(ChargeOutcome::AlreadyCharged {
            invoice_id: line.invoice_id,
        });
    }
    if let Some(source_id) = &charge.line.source_id
        && let Some(line) = store::line_of_source(txn, &charge.line.source, source_id).await?
    {
        return Ok(ChargeOutcome::AlreadyCharged {
            invoice_id: line.invoice_id,
        });
    }
    let now = charge.line.created_at;
    let invoice = match store::open_invoice_of(txn, &charge.patient_id).await? {
        Some(invoice) => invoice,
        None => {
            let draft = new_draft(
                txn,
                &charge.patient_id,
                charge.currency,
                &charge.line.created_by,
                now,
            )
            .await?;
            match store::insert_invoice(txn, draft.clone()).await {
                Ok(()) => draft,
                Err(StoreError::UniqueViolation(_)) => return Ok(ChargeOutcome::Retry),
                Err(err) => return Err(err),
            }
        }
    };
    let Ok(mut next) = with_line(&invoice, &charge.line) else {
        return Err(StoreError::Corrupt("an invoice total out of range".into()));
    };
    next.updated_at = now.max(invoice.updated_at);
    if !store::update_invoice(txn, &next, invoice.version).await? {
        return Ok(ChargeOutcome::Retry);
    }
    let mut line = charge.line.clone();
    line.invoice_id = invoice.id.clone();
    line.position = store::line_count(txn, &invoice.id).await? + 1;
    match store::insert_line(txn, line).await? {
        LineInsert::Inserted => Ok(ChargeOutcome::Added {
            invoice_id: invoice.id,
        }),
        // A charge of the same thing landed after the check above (a concurrent manual
        // charge of the visit): the statement failed (and on PostgreSQL aborted the
        // transaction), so the caller rolls back and starts again, and sees it.
        LineInsert::AlreadyCharged => Ok(ChargeOutcome::Retry),
    }
}

/// The price-list entry that prices `drug_id`, else the default drug entry.
pub(crate) async fn drug_price(
    conn: &impl carevault_store::Conn,
    drug_id: &str,
) -> Result<Option<PriceRow>, StoreError> {
    let prices = store::list_prices(conn).await?;
    let active = |row: &&PriceRow| row.active && row.kind == PriceKind::Drug.as_str();
    Ok(prices
        .iter()
        .filter(active)
        .find(|row| row.drug_id.as_deref() == Some(drug_id))
        .or_else(|| {
            prices
                .iter()
                .filter(active)
                .find(|row| row.drug_id.is_none())
        })
        .cloned())
}

/// The active consultation price of an appointment type, if the price list has one.
pub(crate) async fn appointment_price(
    conn: &impl carevault_store::Conn,
    appointment_type: &str,
) -> Result<Option<PriceRow>, StoreError> {
    Ok(store::list_prices(conn).await?.into_iter().find(|row| {
        row.active
            && row.kind == PriceKind::Consultation.as_str()
            && row.appointment_type.as_deref() == Some(appointment_type)
    }))
}

/// The rule of a stored price-list entry.
pub(crate) fn rule_of(row: &PriceRow) -> Result<PriceRule, ServiceError> {
    match (row.fixed_price_minor, row.markup_percent.as_deref()) {
        (Some(minor), _) => Ok(PriceRule::Fixed(money(minor)?)),
        (None, Some(markup)) => Ok(PriceRule::Markup(percent(markup)?)),
        (None, None) => Err(ServiceError::Integrity),
    }
}

fn price_view(row: &PriceRow) -> Result<PriceView, ServiceError> {
    Ok(PriceView {
        id: row.id.clone(),
        code: row.code.clone(),
        kind: row.kind.clone(),
        label: row.label.clone(),
        appointment_type: row.appointment_type.clone(),
        drug_id: row.drug_id.clone(),
        fixed_price: row.fixed_price_minor.map(money).transpose()?,
        markup_percent: row.markup_percent.as_deref().map(percent).transpose()?,
        tax_rate: percent(&row.tax_rate)?,
        active: row.active,
    })
}

fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// Validates a price-list entry into a row (id and times left to the caller).
fn price_row(input: &PriceInput, id: String, now: i64) -> Result<PriceRow, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let code = input.code.trim().to_ascii_uppercase();
    if code.is_empty()
        || code.len() > 40
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        errors.push(
            "code",
            "must be 1–40 letters, digits, '-', '_' or '.' (such as CONS-GP)",
        );
    }
    let kind = errors.check("kind", PriceKind::parse(&input.kind));
    let label = input.label.trim();
    if label.is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
        errors.push("label", "is required (at most 200 characters)");
    }
    let appointment_type = given(input.appointment_type.as_deref()).map(str::to_owned);
    let drug_id = given(input.drug_id.as_deref()).map(str::to_owned);
    let rule = match kind {
        Some(PriceKind::Drug) => {
            match PriceRule::parse(
                input.fixed_price.as_deref(),
                input.markup_percent.as_deref(),
            ) {
                Ok(rule) => Some(rule),
                Err(problems) => {
                    for field in ["fixed_price", "markup_percent"] {
                        if let Some(message) = problems.message_for(field) {
                            errors.push(field, message);
                        }
                    }
                    None
                }
            }
        }
        Some(_) => {
            if given(input.markup_percent.as_deref()).is_some() {
                errors.push("markup_percent", "only a drug is priced by a markup");
            }
            errors.check(
                "fixed_price",
                given(input.fixed_price.as_deref())
                    .ok_or_else(|| "is required".to_owned())
                    .and_then(Money::parse)
                    .map(PriceRule::Fixed),
            )
        }
        None => None,
    };
    match kind {
        Some(PriceKind::Consultation) => match appointment_type.as_deref() {
            None => errors.push("appointment_type", "is required for a consultation price"),
            Some(raw) => {
                if let Err(message) = carevault_core::appointment::AppointmentType::parse(raw) {
                    errors.push("appointment_type", message);
                }
            }
        },
        Some(_) if appointment_type.is_some() => {
            errors.push("appointment_type", "only a consultation price names one");
        }
        _ => {}
    }
    if drug_id.is_some() && kind != Some(PriceKind::Drug) {
        errors.push("drug_id", "only a drug price names a drug");
    }
    let tax_rate = match given(input.tax_rate.as_deref()) {
        Some(raw) => errors.check("tax_rate", Percent::parse_at_most(raw, 100)),
        None => Some(Percent::ZERO),
    };
    errors.into_result()?;
    let (Some(kind), Some(rule), Some(tax_rate)) = (kind, rule, tax_rate) else {
        return Err(ValidationErrors::single("kind", "is required"));
    };
    let (fixed_price_minor, markup_percent) = match rule {
        PriceRule::Fixed(price) => (Some(price.minor_units()), None),
        PriceRule::Markup(markup) => (None, Some(markup.value().normalize().to_string())),
    };
    Ok(PriceRow {
        id,
        code,
        kind: kind.as_str().to_owned(),
        label: label.to_owned(),
        appointment_type,
        drug_id,
        fixed_price_minor,
        markup_percent,
        tax_rate: tax_rate.value().normalize().to_string(),
        active: input.active,
        created_at: now,
        updated_at: now,
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
                .filter(|row| row.status != patient_store::ERASED_STATUS)
                .ok_or(ServiceError::NotFound("patient"))?,
        };
        if role == BillingRole::Patient && row.account_id != actor.user_id().map(|u| u.to_string())
        {
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
        let mrn = place("patients", &patient.id, &patient.id)
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
            let description = place("invoice_lines", &line.id, &patient.id)
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
                reference: place("payments", &payment.id, &patient.id).open(
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
            void_reason: place("invoices", &row.id, &patient.id).open(
                dek,
                "void_reason",
                row.void_reason.as_deref(),
            )?,
            may_edit: matches!(role, BillingRole::Staff { .. }) && !status.is_final(),
            may_void: role == BillingRole::Staff { admin: true } && !status.is_final(),
            visits_to_charge: Vec::new(),
        })
    }

    // -----------------------------------------------------------------------------------
    // Price list
    // -----------------------------------------------------------------------------------

    /// The price list (billing staff).
    pub async fn list_prices(&self, actor: &Actor) -> Result<Vec<PriceView>, ServiceError> {
        self.billing_staff(actor).await?;
        store::list_prices(self.store().conn())
            .await?
            .iter()
            .map(price_view)
            .collect()
    }

    /// Adds (`id` none) or replaces a price-list entry: administrators only. A duplicate
    /// code, appointment type or drug is a 409.
    pub async fn save_price(
        &self,
        actor: &Actor,
        id: Option<&str>,
        input: PriceInput,
    ) -> Result<PriceView, ServiceError> {
        if !self.billing_staff(actor).await? {
            return Err(self
                .deny(
                    actor,
                    ResourceType::PriceList,
                    None,
                    "the price list is kept by administrators",
                )
                .await);
        }
        let now = to_micros(self.now());
        let existing = match id {
            Some(id) => Some(
                store::find_price(self.store().conn(), id.trim())
                    .await?
                    .ok_or(ServiceError::NotFound("price"))?,
            ),
            None => None,
        };
        let mut row = price_row(
            &input,
            existing
                .as_ref()
                .map_or_else(|| Uuid::now_v7().to_string(), |e| e.id.clone()),
            now,
        )?;
        if let Some(existing) = &existing {
            row.created_at = existing.created_at;
        }
        if let Some(drug_id) = &row.drug_id
            && carevault_store::pharmacy::find_drug(self.store().conn(), drug_id)
                .await?
                .is_none()
        {
            return Err(
                ValidationErrors::single("drug_id", "is not a drug in the formulary").into(),
            );
        }
        let mut event = self.audit_event(
            actor,
            if existing.is_some() {
                AuditAction::Update
            } else {
                AuditAction::Create
            },
            ResourceType::PriceList,
        );
        event.resource_id = Some(row.id.clone());
        self.transaction(async |txn| {
            let written = if existing.is_some() {
                store::update_price(txn, row.clone()).await.map(|_| ())
            } else {
                store::insert_price(txn, row.clone()).await
            };
            written.map_err(|err| match err {
                StoreError::UniqueViolation(_) => ServiceError::Conflict {
                    field: Some("code"),
                    message: "the price list already has this code, appointment type or drug"
                        .into(),
                },
                other => other.into(),
            })?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        price_view(&row)
    }

    // -----------------------------------------------------------------------------------
    // Invoices
    // -----------------------------------------------------------------------------------

    /// Invoices, newest first: billing staff see everyone's (optionally one patient's or one
    /// status); a patient sees their own. Audited.
    pub async fn list_invoices(
        &self,
        actor: &Actor,
        patient_id: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<InvoiceSummary>, ServiceError> {
        let role = self.billing_role(actor).await?;
        let status = match given(status) {
            Some(raw) => Some(
                InvoiceStatus::parse(raw)
                    .map_err(|message| ValidationErrors::single("status", message))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let patient_id = match role {
            BillingRole::Patient => {
                let own = match self.my_patient_id(actor).await {
                    Ok(own) => own,
                    // A portal account not linked to a record yet has no bills.
                    Err(ServiceError::NotFound(_)) => return Ok(Vec::new()),
                    Err(err) => return Err(err),
                };
                if let Some(asked) = given(patient_id)
                    && asked != own
                {
                    return Err(self
                        .deny(
                            actor,
                            ResourceType::Invoice,
                            Some(asked.to_owned()),
                            "not the patient's own bills",
                        )
                        .await);
                }
                Some(own)
            }
            BillingRole::Staff { .. } => given(patient_id).map(str::to_owned),
        };
        let pinned = match &patient_id {
            Some(id) => Some(self.bill_patient(actor, role, id).await?),
            None => None,
        };
        let rows = store::list_invoices(
            self.store().conn(),
            &InvoiceFilter {
                patient_id: patient_id.clone(),
                status,
                limit: LIST_LIMIT,
            },
        )
        .await?;
        let mut keys: std::collections::HashMap<String, (PatientRow, DataKey)> =
            std::collections::HashMap::new();
        if let Some((patient, dek)) = pinned {
            keys.insert(patient.id.clone(), (patient, dek));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if !keys.contains_key(&row.patient_id) {
                let loaded = match self.bill_patient(actor, role, &row.patient_id).await {
                    // An erased patient's invoices can no longer be read: left out.
                    Err(ServiceError::NotFound(_)) => continue,
                    other => other?,
                };
                keys.insert(row.patient_id.clone(), loaded);
            }
            if let Some((patient, dek)) = keys.get(&row.patient_id) {
                out.push(self.summary_of(row, patient, dek)?);
            }
        }
        let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Invoice);
        if let Some(id) = &patient_id
            && let Some((patient, _)) = keys.get(id)
        {
            event.resource_id = Some(patient.id.clone());
            event.patient_pseudonym = Some(pseudonym_of(patient.pseudonym_number));
        }
        event.reason = Some(format!("{} invoices of {} patients", out.len(), keys.len()));
        self.record(event).await?;
        Ok(out)
    }

    /// The patient record of a signed-in patient, as an id.
    async fn my_patient_id(&self, actor: &Actor) -> Result<String, ServiceError> {
        let user = actor.user_id().ok_or(ServiceError::Forbidden)?;
        patient_store::find_by_account(self.store().conn(), user)
            .await?
            .map(|row| row.id)
            .ok_or(ServiceError::NotFound("patient record"))
    }

    /// One invoice with its lines and payments; for a draft read by administrators or
    /// reception, also the patient's recent visits not charged yet (which a manual charge may
    /// name). Audited (one read, naming how many visits were offered).
    pub async fn get_invoice(&self, actor: &Actor, id: &str) -> Result<InvoiceView, ServiceError> {
        let role = self.billing_role(actor).await?;
        let (row, patient, dek) = self.load_invoice(actor, role, id).await?;
        let mut view = self.present_invoice(&row, &patient, &dek, role).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Invoice)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        if view.may_edit && view.summary.status == InvoiceStatus::Draft && may_charge_visits(actor)
        {
            view.visits_to_charge = self.visits_to_charge(&patient.id).await?;
            event.reason = Some(format!(
                "with {} visits to charge",
                view.visits_to_charge.len()
            ));
        }
        self.record(event).await?;
        Ok(view)
    }

    /// The patient's open draft invoice, opened if there is none (billing staff). `true`
    /// with it when it was opened now.
    pub async fn open_invoice(
        &self,
        actor: &Actor,
        patient_id: &str,
    ) -> Result<(InvoiceView, bool), ServiceError> {
        let role = BillingRole::Staff {
            admin: self.billing_staff(actor).await?,
        };
        let (patient, dek) = self.bill_patient(actor, role, patient_id).await?;
        let actor_id = self.billing_actor_id(actor)?;
        let (row, opened) = tx::retry(async || {
            if let Some(row) = store::open_invoice_of(self.store().conn(), &patient.id).await? {
                return Ok((row, false));
            }
            let now = to_micros(self.now());
            self.transaction_once(async |txn| {
                let draft = new_draft(
                    txn,
                    &patient.id,
                    self.settings().billing.currency,
                    &actor_id,
                    now,
                )
                .await?;
                store::insert_invoice(txn, draft.clone())
                    .await
                    .map_err(|err| match err {
                        // Another desk opened one meanwhile: read that one.
                        StoreError::UniqueViolation(_) => tx::again(ServiceError::Unavailable),
                        other => other.into(),
                    })?;
                self.append_in(
                    txn,
                    self.audit_event(actor, AuditAction::Create, ResourceType::Invoice)
                        .resource_id(&draft.id)
                        .patient(pseudonym_of(patient.pseudonym_number)),
                )
                .await?;
                Ok((draft, true))
            })
            .await
        })
        .await?;
        let view = self.present_invoice(&row, &patient, &dek, role).await?;
        if !opened {
            self.record(
                self.audit_event(actor, AuditAction::Read, ResourceType::Invoice)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(patient.pseudonym_number)),
            )
            .await?;
        }
        Ok((view, opened))
    }

    /// Runs one change of an invoice for billing staff (the caller has checked that, `admin`
    /// saying whether they are an administrator): `plan` decides on the freshly read invoice and returns
    /// the next invoice row and the rows to insert; the invoice is written conditionally on
    /// its version and everything commits together, or the change starts again on fresh data.
    async fn change_invoice<P>(
        &self,
        actor: &Actor,
        admin: bool,
        invoice_id: &str,
        action: AuditAction,
        detail: impl Fn(&InvoiceRow) -> String,
        plan: P,
    ) -> Result<InvoiceView, ServiceError>
    where
        P: Fn(&InvoiceRow, &[LineRow], &PatientRow, &DataKey, i64) -> Result<Change, ServiceError>,
    {
        let role = BillingRole::Staff { admin };
        let (row, patient, dek) = tx::retry(async || {
            let (row, patient, dek) = self.load_invoice(actor, role, invoice_id).await?;
            let now = to_micros(self.now()).max(row.updated_at);
            let lines = store::lines_of(self.store().conn(), &row.id).await?;
            let change = plan(&row, &lines, &patient, &dek, now)?;
            let mut next = change.invoice;
            next.updated_at = now;
            // The invoice (or the line to remove) moved meanwhile: start again on fresh data.
            let moved = || {
                tx::again(ServiceError::Conflict {
                    field: None,
                    message: "the invoice was being changed by someone else at the same time: \
                              reload it and try again"
                        .into(),
                })
            };
            self.transaction_once(async |txn| {
                if !store::update_invoice(txn, &next, row.version).await? {
                    return Err(moved());
                }
                if let Some(mut line) = change.line {
                    line.invoice_id = row.id.clone();
                    line.position = store::line_count(txn, &row.id).await? + 1;
                    if store::insert_line(txn, line).await? == LineInsert::AlreadyCharged {
                        // Only a line naming a visit can collide (its id is new): a charge of
                        // that visit landed after the caller's check. The caller words it.
                        return Err(ServiceError::Conflict {
                            field: Some("appointment_id"),
                            message: "This visit was already charged.".into(),
                        });
                    }
                }
                if let Some(line_id) = &change.delete_line
                    && !store::delete_line(txn, &row.id, line_id).await?
                {
                    return Err(moved());
                }
                if let Some(payment) = change.payment {
                    store::insert_payment(txn, payment).await?;
                }
                let mut event = self
                    .audit_event(actor, action, ResourceType::Invoice)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(patient.pseudonym_number));
                event.reason = Some(detail(&next));
                self.append_in(txn, event).await?;
                Ok(())
            })
            .await?;
            Ok((row, patient, dek))
        })
        .await?;
        let fresh = store::find_invoice(self.store().conn(), &row.id)
            .await?
            .ok_or(ServiceError::NotFound("invoice"))?;
        self.present_invoice(&fresh, &patient, &dek, role).await
    }

    /// Adds a line by hand (billing staff): a charge on a draft, a correction (its unit price
    /// may be negative) on an issued or partially paid invoice. From a price-list entry when
    /// `price_id` is given. A charge may name the visit it charges (`appointment_id`,
    /// administrators and reception): a visit is charged once, so naming one that is charged
    /// already (by hand, or automatically when it was completed) is a 409 on
    /// `appointment_id` saying on which invoice and day (see [`crate::visit_charges`]).
    pub async fn add_invoice_line(
        &self,
        actor: &Actor,
        invoice_id: &str,
        request: LineRequest,
    ) -> Result<InvoiceView, ServiceError> {
        let admin = self.billing_staff(actor).await?;
        let actor_id = self.billing_actor_id(actor)?;
        let visit: Option<NamedVisit> = match given(request.appointment_id.as_deref()) {
            Some(id) => Some(self.named_visit(actor, id).await?),
            None => None,
        };
        let priced = match given(request.price_id.as_deref()) {
            Some(price_id) => {
                let row = store::find_price(self.store().conn(), price_id)
                    .await?
                    .filter(|row| row.active)
                    .ok_or_else(|| {
                        ValidationErrors::single("price_id", "is not an active price-list entry")
                    })?;
                match rule_of(&row)? {
                    PriceRule::Fixed(price) => Some((row, price)),
                    PriceRule::Markup(_) => {
                        return Err(ValidationErrors::single(
                            "price_id",
                            "a drug priced by markup is charged by dispensing it",
                        )
                        .into());
                    }
                }
            }
            // A visit without a price of its own: its type's consultation price, as its
            // completion would have charged.
            None if request.unit_price.trim().is_empty() => {
                match visit.as_ref().and_then(|visit| visit.price.clone()) {
                    Some(row) => match rule_of(&row)? {
                        PriceRule::Fixed(price) => Some((row, price)),
                        PriceRule::Markup(_) => None,
                    },
                    None => None,
                }
            }
            None => None,
        };
        let quantity = if request.quantity.trim().is_empty() && priced.is_some() {
            "1".to_owned()
        } else {
            request.quantity.clone()
        };
        let description = match (request.description.trim().is_empty(), &priced, &visit) {
            (false, ..) => request.description.clone(),
            (true, Some((price, _)), Some(visit)) => format!("{} on {}", price.label, visit.day),
            (true, Some((price, _)), None) => price.label.clone(),
            (true, None, Some(visit)) => format!(
                "{} on {}",
                crate::visit_charges::visit_label(&visit.row.kind),
                visit.day
            ),
            (true, None, None) => String::new(),
        };
        if let Some(visit) = &visit
            && let Some(refusal) = self.visit_charged_already(&visit.row.id).await?
        {
            return Err(refusal);
        }
        let visit_id = visit.as_ref().map(|visit| visit.row.id.clone());
        let changed = self
            .change_invoice(
                actor,
                admin,
                invoice_id,
                AuditAction::Update,
                |next| match &visit_id {
                    Some(id) => {
                        format!("line added charging visit {id}; total {}", next.total_minor)
                    }
                    None => format!("line added; total {}", next.total_minor),
                },
                |row, _, patient, dek, now| {
                    let status = status_of(row)?;
                    let kind = if status == InvoiceStatus::Draft {
                        LineKind::Charge
                    } else {
                        LineKind::Correction
                    };
                    check_line_addition(status, kind).map_err(|refusal| {
                        ServiceError::Conflict {
                            field: None,
                            message: refusal.to_string(),
                        }
                    })?;
                    if let Some(visit) = &visit {
                        if kind == LineKind::Correction {
                            return Err(ValidationErrors::single(
                                "appointment_id",
                                "a correction names no visit: a visit is charged on a draft",
                            )
                            .into());
                        }
                        if visit.row.patient_id != row.patient_id {
                            return Err(ValidationErrors::single(
                                "appointment_id",
                                "is not a visit of this invoice's patient",
                            )
                            .into());
                        }
                    }
                    let (unit_price, tax_rate) = match &priced {
                        Some((price, unit_price)) => {
                            (unit_price.to_string(), Some(price.tax_rate.clone()))
                        }
                        None => (request.unit_price.clone(), request.tax_rate.clone()),
                    };
                    let item = LineItem::parse(
                        kind,
                        &LineItemInput {
                            description: &description,
                            quantity: &quantity,
                            unit_price: &unit_price,
                            discount_percent: request.discount_percent.as_deref(),
                            discount_amount: request.discount_amount.as_deref(),
                            tax_rate: tax_rate.as_deref(),
                        },
                    )?;
                    let mut line =
                        line_row(&item, dek, &patient.id, SOURCE_MANUAL, None, &actor_id, now)?;
                    line.appointment_id = visit_id.clone();
                    let next = with_line(row, &line)?;
                    check_totals(&totals_of(&next)?)?;
                    Ok(Change {
                        line: Some(line),
                        ..Change::of(next)
                    })
                },
            )
            .await;
        match (changed, &visit_id) {
            // The visit was charged by someone else between the check above and the write:
            // say where, now that it is committed.
            (Err(ServiceError::Conflict { field, message }), Some(id))
                if field == Some("appointment_id") =>
            {
                Err(self
                    .visit_charged_already(id)
                    .await?
                    .unwrap_or(ServiceError::Conflict { field, message }))
            }
            (changed, _) => changed,
        }
    }

    /// Removes a line of a draft invoice (billing staff). An issued invoice's lines are never
    /// edited: corrections are new lines.
    pub async fn remove_invoice_line(
        &self,
        actor: &Actor,
        invoice_id: &str,
        line_id: &str,
    ) -> Result<InvoiceView, ServiceError> {
        let line_id = line_id.trim().to_owned();
        let admin = self.billing_staff(actor).await?;
        self.change_invoice(
            actor,
            admin,
            invoice_id,
            AuditAction::Update,
            |next| format!("line removed; total {}", next.total_minor),
            |row, lines, _, _, _| {
                check_line_edit(status_of(row)?).map_err(|refusal| ServiceError::Conflict {
                    field: None,
                    message: refusal.to_string(),
                })?;
                let line = lines
                    .iter()
                    .find(|line| line.id == line_id)
                    .ok_or(ServiceError::NotFound("line"))?;
                Ok(Change {
                    delete_line: Some(line_id.clone()),
                    ..Change::of(without_line(row, line)?)
                })
            },
        )
        .await
    }

    /// Issues a draft invoice (billing staff): it needs lines and a total above zero. The
    /// patient's next automatic charge opens a new draft.
    pub async fn issue_invoice(
        &self,
        actor: &Actor,
        invoice_id: &str,
    ) -> Result<InvoiceView, ServiceError> {
        let admin = self.billing_staff(actor).await?;
        self.change_invoice(
            actor,
            admin,
            invoice_id,
            AuditAction::StatusChanged,
            |next| format!("issued; total {}", next.total_minor),
            |row, lines, _, _, now| {
                let next_status = check_issue(status_of(row)?, lines.len(), &totals_of(row)?)
                    .map_err(|refusal| ServiceError::Conflict {
                        field: None,
                        message: refusal.to_string(),
                    })?;
                let mut next = row.clone();
                next.status = next_status.as_str().to_owned();
                next.open_for = None;
                next.issued_at = Some(now);
                Ok(Change::of(next))
            },
        )
        .await
    }

    /// Records a payment (billing staff) on an issued or partially paid invoice: never more
    /// than the balance. The invoice becomes partially paid or paid.
    pub async fn record_payment(
        &self,
        actor: &Actor,
        invoice_id: &str,
        request: PaymentRequest,
    ) -> Result<InvoiceView, ServiceError> {
        let admin = self.billing_staff(actor).await?;
        let payment = Payment::parse(&PaymentInput {
            amount: &request.amount,
            method: &request.method,
            reference: request.reference.as_deref(),
        })?;
        let actor_id = self.billing_actor_id(actor)?;
        self.change_invoice(
            actor,
            admin,
            invoice_id,
            AuditAction::Update,
            |next| {
                format!(
                    "payment recorded; paid {} of {}",
                    next.paid_minor, next.total_minor
                )
            },
            |row, _, patient, dek, now| {
                let totals = totals_of(row)?;
                let next_status = check_payment(status_of(row)?, totals.balance, payment.amount())
                    .map_err(|refusal| match refusal {
                        carevault_core::billing::PaymentRefusal::NotPayable { .. } => {
                            ServiceError::Conflict {
                                field: None,
                                message: refusal.to_string(),
                            }
                        }
                        _ => ValidationErrors::single("amount", refusal.to_string()).into(),
                    })?;
                let id = Uuid::now_v7().to_string();
                let reference = place("payments", &id, &patient.id).seal(
                    dek,
                    "reference",
                    payment.reference(),
                )?;
                let mut next = row.clone();
                next.paid_minor = totals
                    .paid
                    .checked_add(payment.amount())
                    .map_err(too_large)?
                    .minor_units();
                next.status = next_status.as_str().to_owned();
                if next_status == InvoiceStatus::Paid {
                    next.closed_at = Some(now);
                }
                Ok(Change {
                    payment: Some(PaymentRow {
                        id,
                        invoice_id: row.id.clone(),
                        amount_minor: payment.amount().minor_units(),
                        method: payment.method().as_str().to_owned(),
                        reference,
                        received_by: actor_id.clone(),
                        received_at: now,
                    }),
                    ..Change::of(next)
                })
            },
        )
        .await
    }

    /// Voids an invoice that is not paid (administrators only), with a reason. Payments
    /// already recorded stay recorded (a refund is a separate act).
    pub async fn void_invoice(
        &self,
        actor: &Actor,
        invoice_id: &str,
        reason: &str,
    ) -> Result<InvoiceView, ServiceError> {
        if !self.billing_staff(actor).await? {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    Some(invoice_id.trim().to_owned()),
                    "only administrators void invoices",
                )
                .await);
        }
        let reason = VoidReason::parse(reason)
            .map_err(|message| ValidationErrors::single("reason", message))?;
        self.change_invoice(
            actor,
            true,
            invoice_id,
            AuditAction::StatusChanged,
            |_| "voided".to_owned(),
            |row, _, patient, dek, now| {
                let next_status =
                    void(status_of(row)?, &reason).map_err(|refusal| ServiceError::Conflict {
                        field: None,
                        message: refusal.to_string(),
                    })?;
                let mut next = row.clone();
                next.status = next_status.as_str().to_owned();
                next.open_for = None;
                next.closed_at = Some(now);
                next.void_reason = place("invoices", &row.id, &patient.id).seal(
                    dek,
                    "void_reason",
                    Some(reason.as_str()),
                )?;
                Ok(Change::of(next))
            },
        )
        .await
    }

    // -----------------------------------------------------------------------------------
    // Report
    // -----------------------------------------------------------------------------------

    /// The billing report of the clinic days `[from, to)`: issued, paid by method, and what
    /// is outstanding now (administrators, receptionists). Reads amounts only, no sealed
    /// field. Audited.
    pub async fn billing_report(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BillingReport, ServiceError> {
        if !actor.may(Action::OfficeReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Invoice,
                    None,
                    "the billing report is for administrators and reception",
                )
                .await);
        }
        if to <= from || (to - from).num_days() > 366 {
            return Err(ValidationErrors::single(
                "to",
                "must be after the start, at most 366 days later",
            )
            .into());
        }
        let start = to_micros(self.settings().scheduling.day_start(from));
        let end = to_micros(self.settings().scheduling.day_start(to));
        let conn = self.store().conn();
        let zero = || Money::ZERO;
        let day_of = |micros: i64| self.settings().scheduling.local_date(from_micros(micros));
        let days_len = usize::try_from((to - from).num_days()).unwrap_or(0);
        let mut days: Vec<(NaiveDate, Money, Money)> = (0..days_len)
            .map(|offset| (from + chrono::Days::new(offset as u64), zero(), zero()))
            .collect();
        let index = |date: NaiveDate| usize::try_from((date - from).num_days()).ok();
        let mut report = BillingReport {
            from,
            to,
            currency: self.settings().billing.currency,
            issued_count: 0,
            issued_total: zero(),
            void_count: 0,
            paid_by_method: PaymentMethod::ALL.iter().map(|m| (*m, zero())).collect(),
            paid_total: zero(),
            outstanding_count: 0,
            outstanding_total: zero(),
            days: Vec::new(),
        };
        let add = |a: Money, b: Money| a.checked_add(b).map_err(ServiceError::internal);
        for row in store::invoices_for_report(conn, start, end).await? {
            let totals = totals_of(&row)?;
            let status = status_of(&row)?;
            if let Some(issued) = row.issued_at
                && issued >= start
                && issued < end
            {
                report.issued_count += 1;
                report.issued_total = add(report.issued_total, totals.grand_total)?;
                if status == InvoiceStatus::Void {
                    report.void_count += 1;
                }
                if let Some(slot) = index(day_of(issued)).and_then(|i| days.get_mut(i)) {
                    slot.1 = add(slot.1, totals.grand_total)?;
                }
            }
            if matches!(status, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid) {
                report.outstanding_count += 1;
                report.outstanding_total = add(report.outstanding_total, totals.balance)?;
            }
        }
        for payment in store::payments_between(conn, start, end).await? {
            let amount = money(payment.amount_minor)?;
            let method =
                PaymentMethod::parse(&payment.method).map_err(|_| ServiceError::Integrity)?;
            if let Some(slot) = report.paid_by_method.iter_mut().find(|(m, _)| *m == method) {
                slot.1 = add(slot.1, amount)?;
            }
            report.paid_total = add(report.paid_total, amount)?;
            if let Some(slot) = index(day_of(payment.received_at)).and_then(|i| days.get_mut(i)) {
                slot.2 = add(slot.2, amount)?;
            }
        }
        report.days = days;
        let mut event = self.audit_event(actor, AuditAction::Read, ResourceType::Invoice);
        event.reason = Some(format!("billing report {from} to {to}"));
        self.record(event).await?;
        Ok(report)
    }
}

/// What one change of an invoice writes.
#[derive(Debug)]
struct Change {
    invoice: InvoiceRow,
    line: Option<LineRow>,
    delete_line: Option<String>,
    payment: Option<PaymentRow>,
}

impl Change {
    /// Only the invoice row changes.
    fn of(invoice: InvoiceRow) -> Change {
        Change {
            invoice,
            line: None,
            delete_line: None,
            payment: None,
        }
    }
}
