//! Stock by batch: receipts, adjustments, stock levels and the stock report.

use super::*;

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

fn batch_view(row: &BatchRecord) -> BatchView {
    BatchView {
        id: row.id.to_string(),
        drug_id: row.drug_id.to_string(),
        batch_number: row.batch_number.clone(),
        supplier: row.supplier.clone(),
        expiry: row.expiry,
        quantity_received: row.quantity_received,
        quantity_on_hand: row.quantity_on_hand,
        unit_cost: row.unit_cost,
        received_at: row.received_at,
    }
}

/// The core's view of a drug's batches, named by their index in `rows`.
pub(super) fn core_batches(rows: &[BatchRecord]) -> Vec<Batch<usize>> {
    rows.iter()
        .enumerate()
        .map(|(index, row)| Batch {
            id: index,
            expiry: row.expiry,
            quantity: row.quantity_on_hand,
        })
        .collect()
}
impl Services {
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
        // Whole microseconds, as stored: the batch is presented without reading it back.
        let now = self.now().trunc_subsecs(6);
        let quantity = i32::try_from(receipt.quantity()).map_err(ServiceError::internal)?;
        let row = BatchRecord {
            id: BatchId::generate(),
            drug_id: drug.id,
            batch_number: receipt.batch_number().to_owned(),
            supplier: receipt.supplier().to_owned(),
            expiry: receipt.expiry(),
            quantity_received: receipt.quantity(),
            quantity_on_hand: receipt.quantity(),
            unit_cost: receipt.unit_cost(),
            received_at: now,
            received_by: actor_id,
        };
        let movement = MovementRecord {
            id: StockMovementId::generate(),
            batch_id: row.id,
            kind: MovementKind::Receipt,
            quantity,
            reason: None,
            prescription_id: None,
            actor: actor_id,
            at: now,
        };
        let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Stock);
        event.resource_id = Some(row.id.to_string());
        event.reason = Some(format!("received {quantity} units of drug {}", drug.id));
        self.transaction(async |txn| {
            store::insert_batch(txn, &row).await?;
            store::append_movement(txn, &movement).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(batch_view(&row))
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
        let batch = match crate::ids::requested_id::<BatchId>(request.batch_id.trim()) {
            Some(id) => store::find_batch(self.store().conn(), id).await?,
            None => None,
        }
        .ok_or_else(|| ValidationErrors::single("batch_id", "is not a known batch"))?;
        let adjustment = Adjustment::parse(
            &AdjustmentInput {
                kind: &request.kind,
                quantity: &request.quantity,
                reason: &request.reason,
            },
            batch.quantity_on_hand,
            batch.expiry,
            self.clinic_today(),
        )?;
        let change = i32::try_from(adjustment.change()).map_err(ServiceError::internal)?;
        let actor_id = self.stock_actor_id(actor)?;
        let movement = MovementRecord {
            id: StockMovementId::generate(),
            batch_id: batch.id,
            kind: MovementKind::Adjustment,
            quantity: change,
            reason: Some(format!("{}: {}", adjustment.kind(), adjustment.reason())),
            prescription_id: None,
            actor: actor_id,
            at: self.now(),
        };
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Stock);
        event.resource_id = Some(batch.id.to_string());
        event.reason = Some(format!("{} {change:+}", adjustment.kind()));
        self.transaction(async |txn| {
            let held = if change < 0 {
                store::take_from_batch(txn, batch.id, -change).await?
            } else {
                let max = i32::try_from(QUANTITY_MAX).unwrap_or(i32::MAX);
                store::add_to_batch(txn, batch.id, change, max).await?
            };
            if !held {
                return Err(ValidationErrors::single(
                    "quantity",
                    "would take the batch below zero: it changed meanwhile, count again",
                )
                .into());
            }
            store::append_movement(txn, &movement).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let row = store::find_batch(self.store().conn(), batch.id)
            .await?
            .ok_or(ServiceError::NotFound("batch"))?;
        Ok(batch_view(&row))
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
            let rows = store::batches_of_drug(conn, drug.id).await?;
            let batches = core_batches(&rows);
            let views: Vec<BatchView> = rows.iter().map(batch_view).collect();
            let pick = |chosen: Vec<&Batch<usize>>| -> Vec<BatchView> {
                chosen.iter().map(|b| views[b.id].clone()).collect()
            };
            let usable = usable_stock(&batches, today);
            levels.push(StockLevel {
                drug: drug_view(&drug),
                on_hand: stock_level(&batches),
                usable,
                reorder_needed: reorder_needed(usable, u64::from(drug.reorder_level)),
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
}
