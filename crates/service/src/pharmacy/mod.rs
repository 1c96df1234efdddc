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
    Adjustment, AdjustmentInput, AllocationMode, Batch, MovementKind, QUANTITY_MAX, Receipt,
    ReceiptInput, allocate_fefo, expired, expiring_within, reorder_needed, stock_level,
    usable_stock,
};
use carevault_core::time::to_micros;
use carevault_core::{
    Action, BatchId, DrugId, PrescriptionId, StockMovementId, UserId, ValidationErrors,
};
use carevault_store::StoreError;
use carevault_store::pharmacy::{self as store, BatchRecord, DrugRecord, MovementRecord};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::billing::{self, ChargeOutcome, PreparedCharge};
use crate::error::ServiceError;
use crate::tx;

mod dispensing;
mod formulary;
mod stock;

pub use dispensing::*;
pub use formulary::*;
pub use stock::*;

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

impl Services {
    fn stock_actor_id(&self, actor: &Actor) -> Result<UserId, ServiceError> {
        actor.user_id().ok_or(ServiceError::Forbidden)
    }
}
