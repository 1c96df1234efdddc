//! Pharmacy: the formulary, stock by batch (receipts, adjustments, levels with
//! reorder and expiry flags) and dispensing against active prescriptions.
//!
//! Admins and pharmacists manage the formulary and stock (`ManageStock`); only pharmacists
//! dispense. Dispensing allocates first-expiry-first-out over the drug's usable batches
//! (`carevault_core::pharmacy::allocate_fefo`) and then, in one transaction, takes the units
//! from each batch with a conditional decrement, appends the movements, raises the
//! prescription's dispensed quantity (conditionally, never above the prescribed quantity)
//! and appends the audit event. If a batch no longer holds what was allocated (a concurrent
//! dispensing took it) the transaction is rolled back and the whole dispensing retried on
//! fresh stock; after a few attempts, or when the stock is short, it is refused with 409.
//!
//! Stock never goes negative, under any concurrency, on any backend: units leave a batch only
//! through `carevault_store::pharmacy::take_from_batch`, one conditional statement
//! (`quantity_on_hand = quantity_on_hand - n WHERE … quantity_on_hand >= n`) whose affected
//! row count says whether the units were still there. Every change of stock appends a signed
//! row to `stock_movements` (receipt, dispense, adjustment). The charge for a dispensing is
//! the last write of the same transaction (`billing::add_charge_in`). Expiry dates are
//! `YYYY-MM-DD` text (a date has no time zone, and the text sorts on every backend); the
//! expiry window of the alerts is [`PharmacySettings::expiry_window_days`]. The stock report
//! values units on hand at each batch's unit cost, summed exactly (`Money::checked_sum`).

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::PrescriptionStatus;
use carevault_core::money::Money;
use carevault_core::pharmacy::{
    Adjustment, AdjustmentInput, AllocationMode, Batch, QUANTITY_MAX, Receipt, ReceiptInput,
    allocate_fefo, expired, expiring_within, reorder_needed, stock_level, usable_stock,
};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{Action, ValidationErrors};
use carevault_store::StoreError;
use carevault_store::pharmacy::{self as store, BatchRow, DrugRow, MovementRow};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::billing::{self, ChargeOutcome, PreparedCharge};
use crate::error::ServiceError;
use crate::tx;

const MOVEMENT_RECEIPT: &str = "receipt";
const MOVEMENT_DISPENSE: &str = "dispense";
const MOVEMENT_ADJUSTMENT: &str = "adjustment";

/// Tunables of the pharmacy.
#[derive(Debug, Clone)]
pub struct PharmacySettings {
    /// Batches expiring within this many days are flagged (`--expiry-window-days`, validated
    /// with `carevault_core::pharmacy::parse_expiry_window`).
    pub expiry_window_days: u32,
}

impl Default for PharmacySettings {
    fn default() -> Self {
        Self {
            expiry_window_days: 90,
        }
    }
}

/// A formulary entry as submitted, before validation.
#[derive(Debug, Clone)]
pub struct DrugInput {
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: String,
    pub reorder_quantity: String,
    pub active: bool,
}

impl Default for DrugInput {
    fn default() -> Self {
        DrugInput {
            name: String::new(),
            generic_name: String::new(),
            form: String::new(),
            strength: String::new(),
            unit: String::new(),
            atc_code: None,
            reorder_level: "0".into(),
            reorder_quantity: "0".into(),
            active: true,
        }
    }
}

/// A formulary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugView {
    pub id: String,
    pub name: String,
    pub generic_name: String,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub atc_code: Option<String>,
    pub reorder_level: u32,
    pub reorder_quantity: u32,
    pub active: bool,
}

/// A stock receipt as submitted: a new batch of a formulary drug.
#[derive(Debug, Clone, Default)]
pub struct ReceiptRequest {
    pub drug_id: String,
    pub supplier: String,
    pub batch_number: String,
    /// `YYYY-MM-DD`, the date from which the batch may no longer be dispensed.
    pub expiry: String,
    pub quantity: String,
    pub unit_cost: String,
}

/// An adjustment of one batch as submitted.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentRequest {
    pub batch_id: String,
    /// `count_correction`, `damage` or `expiry_write_off`.
    pub kind: String,
    /// Signed for a count correction, units removed otherwise.
    pub quantity: String,
    pub reason: String,
}

/// One batch on the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchView {
    pub id: String,
    pub drug_id: String,
    pub batch_number: String,
    pub supplier: String,
    pub expiry: NaiveDate,
    pub quantity_received: u32,
    pub quantity_on_hand: u32,
    pub unit_cost: Money,
    pub received_at: DateTime<Utc>,
}

/// A drug's stock, with its alerts.
#[derive(Debug, Clone)]
pub struct StockLevel {
    pub drug: DrugView,
    /// Every unit on the shelf, expired ones too.
    pub on_hand: u64,
    /// The units that may be dispensed today.
    pub usable: u64,
    /// Usable stock at or below the reorder level.
    pub reorder_needed: bool,
    /// Non-empty usable batches expiring within the window, soonest first.
    pub expiring: Vec<BatchView>,
    /// Non-empty expired batches (to be written off).
    pub expired: Vec<BatchView>,
    /// All the drug's batches, earliest expiry first.
    pub batches: Vec<BatchView>,
}

/// One drug in the stock report.
#[derive(Debug, Clone)]
pub struct StockReportRow {
    pub level: StockLevel,
    /// Units on hand × their batch's unit cost.
    pub value: Money,
}

/// The stock report: levels, value and expiring batches.
#[derive(Debug, Clone)]
pub struct StockReport {
    pub rows: Vec<StockReportRow>,
    pub total_value: Money,
    pub expiry_window_days: u32,
}

/// The value of the units on hand: each batch's units × its unit cost, summed exactly.
pub fn stock_value(batches: &[BatchView]) -> Result<Money, ServiceError> {
    let mut values = Vec::with_capacity(batches.len());
    for batch in batches {
        let minor = batch
            .unit_cost
            .minor_units()
            .checked_mul(i64::from(batch.quantity_on_hand))
            .ok_or(ServiceError::Integrity)?;
        values.push(Money::from_minor_units(minor).map_err(|_| ServiceError::Integrity)?);
    }
    Money::checked_sum(values).map_err(|_| ServiceError::Integrity)
}

/// A dispensing as submitted.
#[derive(Debug, Clone, Default)]
pub struct DispenseRequest {
    pub prescription_id: String,
    /// The formulary drug dispensed; must be the prescribed drug (by name or generic name).
    pub drug_id: String,
    pub quantity: String,
}

/// What was dispensed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispensation {
    pub prescription_id: String,
    pub drug_id: String,
    pub quantity: u32,
    /// `(batch id, units)` in the order taken (first expiry first).
    pub batches: Vec<(String, u32)>,
    /// The prescription's dispensed quantity afterwards.
    pub quantity_dispensed: u32,
    /// The invoice the dispensing was charged on.
    pub invoice_id: Option<String>,
}

fn parse_units(raw: &str, field: &str, allow_zero: bool) -> Result<u32, ValidationErrors> {
    let value = raw.trim();
    let number: u32 = value
        .parse()
        .map_err(|_| ValidationErrors::single(field, "must be a whole number of units"))?;
    if (!allow_zero && number == 0) || number > QUANTITY_MAX {
        return Err(ValidationErrors::single(
            field,
            format!(
                "must be between {} and {QUANTITY_MAX}",
                if allow_zero { 0 } else { 1 }
            ),
        ));
    }
    Ok(number)
}

fn required_text(
    errors: &mut ValidationErrors,
    field: &str,
    raw: &str,
    max: usize,
) -> Option<String> {
    let value = raw.trim();
    if value.is_empty() {
        errors.push(field, "is required");
        None
    } else if value.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
        None
    } else if value.chars().any(char::is_control) {
        errors.push(field, "must not contain control characters");
        None
    } else {
        Some(value.to_owned())
    }
}

/// Validates a formulary entry into a row (id and times left to the caller).
fn drug_row(input: &DrugInput, id: String, now: i64) -> Result<DrugRow, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = required_text(&mut errors, "name", &input.name, 200);
    let generic_name = required_text(&mut errors, "generic_name", &input.generic_name, 200);
    let form = required_text(&mut errors, "form", &input.form, 50);
    let strength = required_text(&mut errors, "strength", &input.strength, 50);
    let unit = required_text(&mut errors, "unit", &input.unit, 30);
    let atc_code = match input.atc_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => {
            let code = code.to_ascii_uppercase();
            // ATC: letter, two digits, two letters, two digits (the first 1–7 characters).
            let pattern = b"ADDAADD";
            let valid = !code.is_empty()
                && code.len() <= 7
                && code.bytes().zip(pattern).all(|(c, p)| match p {
                    b'A' => c.is_ascii_uppercase(),
                    _ => c.is_ascii_digit(),
                });
            if !valid {
                errors.push("atc_code", "must be an ATC code such as N02BE01");
            }
            Some(code)
        }
    };
    let reorder_level = errors.check(
        "reorder_level",
        parse_units(&input.reorder_level, "reorder_level", true)
            .map_err(|_| format!("must be a whole number from 0 to {QUANTITY_MAX}")),
    );
    let reorder_quantity = errors.check(
        "reorder_quantity",
        parse_units(&input.reorder_quantity, "reorder_quantity", true)
            .map_err(|_| format!("must be a whole number from 0 to {QUANTITY_MAX}")),
    );
    errors.into_result()?;
    match (
        name,
        generic_name,
        form,
        strength,
        unit,
        reorder_level,
        reorder_quantity,
    ) {
        (
            Some(name),
            Some(generic_name),
            Some(form),
            Some(strength),
            Some(unit),
            Some(reorder_level),
            Some(reorder_quantity),
        ) => Ok(DrugRow {
            id,
            name,
            generic_name,
            form,
            strength,
            unit,
            atc_code,
            reorder_level: i32::try_from(reorder_level).unwrap_or(i32::MAX),
            reorder_quantity: i32::try_from(reorder_quantity).unwrap_or(i32::MAX),
            active: input.active,
            created_at: now,
            updated_at: now,
        }),
        _ => Err(ValidationErrors::single("name", "is required")),
    }
}

pub(crate) fn drug_view(row: &DrugRow) -> DrugView {
    DrugView {
        id: row.id.clone(),
        name: row.name.clone(),
        generic_name: row.generic_name.clone(),
        form: row.form.clone(),
        strength: row.strength.clone(),
        unit: row.unit.clone(),
        atc_code: row.atc_code.clone(),
        reorder_level: u32::try_from(row.reorder_level).unwrap_or(0),
        reorder_quantity: u32::try_from(row.reorder_quantity).unwrap_or(0),
        active: row.active,
    }
}

fn batch_expiry(row: &BatchRow) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(&row.expiry_date, "%Y-%m-%d").map_err(|_| ServiceError::Integrity)
}

fn batch_view(row: &BatchRow) -> Result<BatchView, ServiceError> {
    Ok(BatchView {
        id: row.id.clone(),
        drug_id: row.drug_id.clone(),
        batch_number: row.batch_number.clone(),
        supplier: row.supplier.clone(),
        expiry: batch_expiry(row)?,
        quantity_received: u32::try_from(row.quantity_received)
            .map_err(|_| ServiceError::Integrity)?,
        quantity_on_hand: u32::try_from(row.quantity_on_hand)
            .map_err(|_| ServiceError::Integrity)?,
        unit_cost: Money::from_minor_units(row.unit_cost_minor)
            .map_err(|_| ServiceError::Integrity)?,
        received_at: from_micros(row.received_at),
    })
}

/// The core's view of a drug's batches, named by their index in `rows`.
fn core_batches(rows: &[BatchRow]) -> Result<Vec<Batch<usize>>, ServiceError> {
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            Ok(Batch {
                id: index,
                expiry: batch_expiry(row)?,
                quantity: u32::try_from(row.quantity_on_hand)
                    .map_err(|_| ServiceError::Integrity)?,
            })
        })
        .collect()
}

fn not_enough_stock(wanted: u32, available: u64) -> ServiceError {
    ServiceError::Conflict {
        field: Some("quantity"),
        message: format!("not enough stock: {wanted} wanted, {available} usable"),
    }
}

/// A uniqueness violation of the formulary: the same drug at the same strength.
fn same_drug_taken(err: StoreError) -> ServiceError {
    match err {
        StoreError::UniqueViolation(_) => ServiceError::Conflict {
            field: Some("name"),
            message: "the formulary already has this drug at this strength".into(),
        },
        other => other.into(),
    }
}

fn same_drug(a: &str, b: &str) -> bool {
    let a = a.trim();
    !a.is_empty() && a.eq_ignore_ascii_case(b.trim())
}

impl Services {
    fn stock_actor_id(&self, actor: &Actor) -> Result<String, ServiceError> {
        actor
            .user_id()
            .map(|id| id.to_string())
            .ok_or(ServiceError::Forbidden)
    }

    async fn load_drug(&self, id: &str) -> Result<DrugRow, ServiceError> {
        store::find_drug(self.store().conn(), id.trim())
            .await?
            .ok_or_else(|| {
                ValidationErrors::single("drug_id", "is not a drug in the formulary").into()
            })
    }

    /// Adds a drug to the formulary (admins and pharmacists). A drug with the same name and
    /// strength is a 409.
    pub async fn create_drug(
        &self,
        actor: &Actor,
        input: DrugInput,
    ) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        let now = to_micros(self.now());
        let row = drug_row(&input, Uuid::now_v7().to_string(), now)?;
        let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Drug);
        event.resource_id = Some(row.id.clone());
        self.transaction(async |txn| {
            store::insert_drug(txn, row.clone())
                .await
                .map_err(same_drug_taken)?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(drug_view(&row))
    }

    /// Changes a formulary entry (admins and pharmacists); `active: false` withdraws it.
    pub async fn update_drug(
        &self,
        actor: &Actor,
        id: &str,
        input: DrugInput,
    ) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        let existing = store::find_drug(self.store().conn(), id.trim())
            .await?
            .ok_or(ServiceError::NotFound("drug"))?;
        let now = to_micros(self.now());
        let mut row = drug_row(&input, existing.id.clone(), now)?;
        row.created_at = existing.created_at;
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Drug);
        event.resource_id = Some(row.id.clone());
        self.transaction(async |txn| {
            if !store::update_drug(txn, row.clone())
                .await
                .map_err(same_drug_taken)?
            {
                return Err(ServiceError::NotFound("drug"));
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(drug_view(&row))
    }

    /// The formulary (admins and pharmacists), by name and strength.
    pub async fn list_drugs(
        &self,
        actor: &Actor,
        include_inactive: bool,
    ) -> Result<Vec<DrugView>, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        Ok(store::list_drugs(self.store().conn(), include_inactive)
            .await?
            .iter()
            .map(drug_view)
            .collect())
    }

    /// One formulary entry (admins and pharmacists).
    pub async fn get_drug(&self, actor: &Actor, id: &str) -> Result<DrugView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Drug)
            .await?;
        store::find_drug(self.store().conn(), id.trim())
            .await?
            .map(|row| drug_view(&row))
            .ok_or(ServiceError::NotFound("drug"))
    }

    /// Receives a new batch of an active formulary drug (admins and pharmacists): the batch,
    /// its receipt movement and the audit event in one transaction.
    pub async fn receive_stock(
        &self,
        actor: &Actor,
        request: ReceiptRequest,
    ) -> Result<BatchView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Stock)
            .await?;
        let drug = self.load_drug(&request.drug_id).await?;
        if !drug.active {
            return Err(
                ValidationErrors::single("drug_id", "is withdrawn from the formulary").into(),
            );
        }
        let receipt = Receipt::parse(
            &ReceiptInput {
                supplier: &request.supplier,
                batch_number: &request.batch_number,
                expiry: &request.expiry,
                quantity: &request.quantity,
                unit_cost: &request.unit_cost,
            },
            self.clinic_today(),
        )?;
        let actor_id = self.stock_actor_id(actor)?;
        let now = to_micros(self.now());
        let quantity = i32::try_from(receipt.quantity()).map_err(ServiceError::internal)?;
        let row = BatchRow {
            id: Uuid::now_v7().to_string(),
            drug_id: drug.id.clone(),
            batch_number: receipt.batch_number().to_owned(),
            supplier: receipt.supplier().to_owned(),
            expiry_date: receipt.expiry().format("%Y-%m-%d").to_string(),
            quantity_received: quantity,
            quantity_on_hand: quantity,
            unit_cost_minor: receipt.unit_cost().minor_units(),
            received_at: now,
            received_by: actor_id.clone(),
        };
        let movement = MovementRow {
            id: Uuid::now_v7().to_string(),
            batch_id: row.id.clone(),
            kind: MOVEMENT_RECEIPT.into(),
            quantity,
            reason: None,
            prescription_id: None,
            actor: actor_id,
            at: now,
        };
        let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Stock);
        event.resource_id = Some(row.id.clone());
        event.reason = Some(format!("received {quantity} units of drug {}", drug.id));
        self.transaction(async |txn| {
            store::insert_batch(txn, row.clone()).await?;
            store::append_movement(txn, movement.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        batch_view(&row)
    }

    /// Adjusts one batch (admins and pharmacists): a count correction, damage or an expiry
    /// write-off, each with a reason. Never below zero: units are taken with the same
    /// conditional decrement as dispensing.
    pub async fn adjust_stock(
        &self,
        actor: &Actor,
        request: AdjustmentRequest,
    ) -> Result<BatchView, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Stock)
            .await?;
        let batch = store::find_batch(self.store().conn(), request.batch_id.trim())
            .await?
            .ok_or_else(|| ValidationErrors::single("batch_id", "is not a known batch"))?;
        let on_hand = u32::try_from(batch.quantity_on_hand).map_err(|_| ServiceError::Integrity)?;
        let adjustment = Adjustment::parse(
            &AdjustmentInput {
                kind: &request.kind,
                quantity: &request.quantity,
                reason: &request.reason,
            },
            on_hand,
            batch_expiry(&batch)?,
            self.clinic_today(),
        )?;
        let change = i32::try_from(adjustment.change()).map_err(ServiceError::internal)?;
        let actor_id = self.stock_actor_id(actor)?;
        let now = to_micros(self.now());
        let movement = MovementRow {
            id: Uuid::now_v7().to_string(),
            batch_id: batch.id.clone(),
            kind: MOVEMENT_ADJUSTMENT.into(),
            quantity: change,
            reason: Some(format!("{}: {}", adjustment.kind(), adjustment.reason())),
            prescription_id: None,
            actor: actor_id,
            at: now,
        };
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Stock);
        event.resource_id = Some(batch.id.clone());
        event.reason = Some(format!("{} {change:+}", adjustment.kind()));
        self.transaction(async |txn| {
            let held = if change < 0 {
                store::take_from_batch(txn, &batch.id, -change).await?
            } else {
                let max = i32::try_from(QUANTITY_MAX).unwrap_or(i32::MAX);
                store::add_to_batch(txn, &batch.id, change, max).await?
            };
            if !held {
                return Err(ValidationErrors::single(
                    "quantity",
                    "would take the batch below zero: it changed meanwhile, count again",
                )
                .into());
            }
            store::append_movement(txn, movement.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let row = store::find_batch(self.store().conn(), &batch.id)
            .await?
            .ok_or(ServiceError::NotFound("batch"))?;
        batch_view(&row)
    }

    /// Stock per active drug (admins and pharmacists) with its alerts: reorder needed
    /// (usable stock at or below the reorder level) and batches expiring within
    /// `expiry_window_days`, or already expired.
    pub async fn stock_levels(
        &self,
        actor: &Actor,
        expiry_window_days: u32,
    ) -> Result<Vec<StockLevel>, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Stock)
            .await?;
        let today = self.clinic_today();
        let conn = self.store().conn();
        let mut levels = Vec::new();
        for drug in store::list_drugs(conn, false).await? {
            let rows = store::batches_of_drug(conn, &drug.id).await?;
            let batches = core_batches(&rows)?;
            let views = rows.iter().map(batch_view).collect::<Result<Vec<_>, _>>()?;
            let pick = |chosen: Vec<&Batch<usize>>| -> Vec<BatchView> {
                chosen.iter().map(|b| views[b.id].clone()).collect()
            };
            let usable = usable_stock(&batches, today);
            levels.push(StockLevel {
                drug: drug_view(&drug),
                on_hand: stock_level(&batches),
                usable,
                reorder_needed: reorder_needed(
                    usable,
                    u64::try_from(drug.reorder_level).unwrap_or(0),
                ),
                expiring: pick(expiring_within(&batches, today, expiry_window_days)),
                expired: pick(expired(&batches, today)),
                batches: views.clone(),
            });
        }
        Ok(levels)
    }

    /// The configured expiry-alert window, in days.
    pub fn expiry_window_days(&self) -> u32 {
        self.settings().pharmacy.expiry_window_days
    }

    /// The stock report (admins and pharmacists): every active drug's levels and alerts
    /// within the configured expiry window, and the value of the stock on hand (units ×
    /// their batch's unit cost, in exact money arithmetic), per drug and in total.
    pub async fn stock_report(&self, actor: &Actor) -> Result<StockReport, ServiceError> {
        let window = self.expiry_window_days();
        let levels = self.stock_levels(actor, window).await?;
        let mut rows = Vec::with_capacity(levels.len());
        for level in levels {
            let value = stock_value(&level.batches)?;
            rows.push(StockReportRow { level, value });
        }
        let total_value =
            Money::checked_sum(rows.iter().map(|r| r.value)).map_err(ServiceError::internal)?;
        Ok(StockReport {
            rows,
            total_value,
            expiry_window_days: window,
        })
    }

    /// Dispenses `quantity` units of an active prescription (pharmacists only), whole or
    /// partial: first expiry first out, expired batches never used, stock decremented
    /// conditionally, movements, the prescription's dispensed quantity and the audit event
    /// in one transaction. Not enough usable stock, or more than the prescription has left,
    /// is a 409 and nothing is written.
    pub async fn dispense(
        &self,
        actor: &Actor,
        request: DispenseRequest,
    ) -> Result<Dispensation, ServiceError> {
        self.authorize(actor, Action::ManageStock, ResourceType::Prescription)
            .await?;
        if !actor.may(Action::Dispense) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(request.prescription_id.trim().to_owned()),
                    "prescriptions are dispensed by pharmacists",
                )
                .await);
        }
        let wanted = parse_units(&request.quantity, "quantity", false)?;
        let drug = self.load_drug(&request.drug_id).await?;
        if !drug.active {
            return Err(
                ValidationErrors::single("drug_id", "is withdrawn from the formulary").into(),
            );
        }
        let target = self
            .prescription_for_dispensing(actor, request.prescription_id.trim())
            .await?;
        if target.row.status != PrescriptionStatus::Active.as_str() {
            return Err(ServiceError::Conflict {
                field: Some("prescription_id"),
                message: "only an active prescription is dispensed".into(),
            });
        }
        let prescribed = [
            Some(target.drug_name.as_str()),
            target.generic_name.as_deref(),
        ];
        if target
            .row
            .drug_id
            .as_deref()
            .is_some_and(|prescribed_id| prescribed_id != drug.id)
        {
            return Err(ValidationErrors::single(
                "drug_id",
                "is not the formulary drug prescribed: dispense that drug",
            )
            .into());
        }
        let matches = prescribed
            .iter()
            .flatten()
            .any(|p| same_drug(p, &drug.name) || same_drug(p, &drug.generic_name));
        if !matches {
            return Err(ValidationErrors::single(
                "drug_id",
                "is not the prescribed drug (neither its name nor its generic name matches)",
            )
            .into());
        }
        let remaining = target
            .quantity
            .saturating_sub(u32::try_from(target.row.quantity_dispensed).unwrap_or(u32::MAX));
        if wanted > remaining {
            return Err(ServiceError::Conflict {
                field: Some("quantity"),
                message: format!(
                    "more than the prescription has left to dispense: {remaining} of {}",
                    target.quantity
                ),
            });
        }
        let actor_id = self.stock_actor_id(actor)?;
        let prescribed_i32 = i32::try_from(target.quantity).map_err(ServiceError::internal)?;
        let wanted_i32 = i32::try_from(wanted).map_err(ServiceError::internal)?;
        let dek = self
            .unwrap_patient_key(&target.patient.id, &target.patient.wrapped_data_key)
            .await?;
        // Each attempt allocates on fresh stock; a batch that no longer holds its units, or
        // an open invoice changed meanwhile, starts it again.
        let (taken, invoice_id) = tx::retry(async || {
            let rows = store::batches_of_drug(self.store().conn(), &drug.id).await?;
            let batches = core_batches(&rows)?;
            let allocation = match allocate_fefo(
                &batches,
                wanted,
                self.clinic_today(),
                AllocationMode::WholeOrNothing,
            ) {
                Ok(allocation) => allocation,
                Err(shortfall) => return Err(not_enough_stock(wanted, shortfall.available)),
            };
            let moved = || {
                tx::again(not_enough_stock(
                    wanted,
                    usable_stock(&batches, self.clinic_today()),
                ))
            };
            let taken: Vec<(String, u32)> = allocation
                .iter()
                .map(|(index, units)| (rows[*index].id.clone(), *units))
                .collect();
            let now = to_micros(self.now());
            let charge = self
                .dispensing_charge(
                    &drug,
                    &target.patient,
                    &dek,
                    &rows,
                    &allocation,
                    wanted,
                    &actor_id,
                    now,
                )
                .await?;
            let invoice_id = self
                .transaction_once(async |txn| {
                    for (batch_id, units) in &taken {
                        let units = i32::try_from(*units).unwrap_or(i32::MAX);
                        if !store::take_from_batch(txn, batch_id, units).await? {
                            return Err(moved());
                        }
                        store::append_movement(
                            txn,
                            MovementRow {
                                id: Uuid::now_v7().to_string(),
                                batch_id: batch_id.clone(),
                                kind: MOVEMENT_DISPENSE.into(),
                                quantity: -units,
                                reason: None,
                                prescription_id: Some(target.row.id.clone()),
                                actor: actor_id.clone(),
                                at: now,
                            },
                        )
                        .await?;
                    }
                    if !store::raise_quantity_dispensed(
                        txn,
                        &target.row.id,
                        wanted_i32,
                        prescribed_i32,
                        PrescriptionStatus::Active.as_str(),
                        now.max(target.row.updated_at + 1),
                    )
                    .await?
                    {
                        return Err(ServiceError::Conflict {
                            field: Some("quantity"),
                            message: "the prescription changed meanwhile (dispensed or no \
                                      longer active): reload it"
                                .into(),
                        });
                    }
                    // The charge on the patient's open invoice, in this same transaction: if
                    // it cannot be written, neither is the stock nor the prescription.
                    let invoice_id = match billing::add_charge_in(txn, &charge).await? {
                        ChargeOutcome::Added { invoice_id } => Some(invoice_id),
                        ChargeOutcome::AlreadyCharged { .. } => None,
                        ChargeOutcome::Retry => return Err(moved()),
                    };
                    let mut event = self
                        .audit_event(actor, AuditAction::Update, ResourceType::Prescription)
                        .resource_id(&target.row.id)
                        .patient(pseudonym_of(target.patient.pseudonym_number));
                    event.reason = Some(format!(
                        "dispensed {wanted} units of drug {} from {} batch(es)",
                        drug.id,
                        taken.len()
                    ));
                    self.append_in(txn, event).await?;
                    if let Some(invoice_id) = &invoice_id {
                        let charged = billing::charge_event(
                            self,
                            actor,
                            invoice_id,
                            target.patient.pseudonym_number,
                            &format!("dispensing of prescription {}", target.row.id),
                        );
                        self.append_in(txn, charged).await?;
                    }
                    Ok(invoice_id)
                })
                .await?;
            Ok((taken, invoice_id))
        })
        .await?;
        let dispensed = carevault_store::prescriptions::find(self.store().conn(), &target.row.id)
            .await?
            .map(|row| u32::try_from(row.quantity_dispensed).unwrap_or(0))
            .ok_or(ServiceError::NotFound("prescription"))?;
        Ok(Dispensation {
            prescription_id: target.row.id.clone(),
            drug_id: drug.id.clone(),
            quantity: wanted,
            batches: taken,
            quantity_dispensed: dispensed,
            invoice_id,
        })
    }
}

impl Services {
    /// The charge line of a dispensing, sealed and computed before its transaction: the
    /// drug's price-list entry (else the default drug entry) applied to the weighted
    /// average unit cost of the units taken, rounded half away from zero to the cent; with
    /// no price-list entry at all the drug is charged at cost, without tax.
    #[allow(clippy::too_many_arguments)]
    async fn dispensing_charge(
        &self,
        drug: &DrugRow,
        patient: &carevault_store::patients::PatientRow,
        dek: &carevault_crypto::data_key::DataKey,
        rows: &[BatchRow],
        allocation: &[(usize, u32)],
        wanted: u32,
        actor_id: &str,
        now: i64,
    ) -> Result<PreparedCharge, ServiceError> {
        use carevault_core::billing::{Discount, LineDescription, LineItem, LineKind, Quantity};
        use carevault_core::money::Percent;
        let mut cost_total = rust_decimal::Decimal::ZERO;
        for (index, units) in allocation {
            let row = rows.get(*index).ok_or(ServiceError::Integrity)?;
            let cost = Money::from_minor_units(row.unit_cost_minor)
                .map_err(|_| ServiceError::Integrity)?;
            cost_total += cost.amount() * rust_decimal::Decimal::from(*units);
        }
        let average =
            Money::from_decimal_rounded(cost_total / rust_decimal::Decimal::from(wanted.max(1)))
                .map_err(|_| ServiceError::Integrity)?;
        let price = billing::drug_price(self.store().conn(), &drug.id).await?;
        let (unit_price, tax_rate) = match &price {
            Some(row) => (
                billing::rule_of(row)?
                    .unit_price(Some(average))
                    .map_err(|err| ValidationErrors::single("quantity", err.to_string()))?,
                Percent::parse(&row.tax_rate).map_err(|_| ServiceError::Integrity)?,
            ),
            None => (average, Percent::ZERO),
        };
        let description =
            LineDescription::parse(&format!("{} {} ({})", drug.name, drug.strength, drug.form))
                .map_err(|message| ValidationErrors::single("drug_id", message))?;
        let item = LineItem::new(
            LineKind::Charge,
            description,
            Quantity::whole(wanted)
                .map_err(|message| ValidationErrors::single("quantity", message))?,
            unit_price,
            Discount::None,
            tax_rate,
        )?;
        Ok(PreparedCharge {
            patient_id: patient.id.clone(),
            line: billing::line_row(
                &item,
                dek,
                &patient.id,
                billing::SOURCE_DISPENSING,
                Some(Uuid::now_v7().to_string()),
                actor_id,
                now,
            )?,
            currency: self.settings().billing.currency,
        })
    }
}
