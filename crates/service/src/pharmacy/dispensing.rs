//! Dispensing against an active prescription, and its charge.

use super::*;

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

fn not_enough_stock(wanted: u32, available: u64) -> ServiceError {
    ServiceError::Conflict {
        field: Some("quantity"),
        message: format!("not enough stock: {wanted} wanted, {available} usable"),
    }
}

/// A uniqueness violation of the formulary: the same drug at the same strength.
pub(super) fn same_drug_taken(err: StoreError) -> ServiceError {
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
        if target.row.status != PrescriptionStatus::Active {
            return Err(ServiceError::Conflict {
                field: Some("prescription_id"),
                message: "only an active prescription is dispensed".into(),
            });
        }
        let prescribed = [
            Some(target.drug_name.as_str()),
            target.generic_name.as_deref(),
        ];
        let drug_id = drug.id.to_string();
        if target
            .row
            .drug_id
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
            .saturating_sub(target.row.quantity_dispensed);
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
        let prescription_id: PrescriptionId = target.row.id;
        let prescribed_i32 = i32::try_from(target.quantity).map_err(ServiceError::internal)?;
        let wanted_i32 = i32::try_from(wanted).map_err(ServiceError::internal)?;
        let dek = self.patient_key(&target.patient).await?;
        // Each attempt allocates on fresh stock; a batch that no longer holds its units, or
        // an open invoice changed meanwhile, starts it again.
        let (taken, invoice_id) = tx::retry(async || {
            let rows = store::batches_of_drug(self.store().conn(), drug.id).await?;
            let batches = core_batches(&rows);
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
            let taken: Vec<(BatchId, u32)> = allocation
                .iter()
                .map(|(index, units)| (rows[*index].id, *units))
                .collect();
            let now = self.now();
            let charge = self
                .dispensing_charge(
                    &drug,
                    &target.patient,
                    &dek,
                    &rows,
                    &allocation,
                    wanted,
                    actor_id,
                    now,
                )
                .await?;
            let invoice_id = self
                .transaction_once(async |txn| {
                    for (batch_id, units) in &taken {
                        let units = i32::try_from(*units).unwrap_or(i32::MAX);
                        if !store::take_from_batch(txn, *batch_id, units).await? {
                            return Err(moved());
                        }
                        store::append_movement(
                            txn,
                            &MovementRecord {
                                id: StockMovementId::generate(),
                                batch_id: *batch_id,
                                kind: MovementKind::Dispense,
                                quantity: -units,
                                reason: None,
                                prescription_id: Some(prescription_id),
                                actor: actor_id,
                                at: now,
                            },
                        )
                        .await?;
                    }
                    if !store::raise_quantity_dispensed(
                        txn,
                        &target.row.id.to_string(),
                        wanted_i32,
                        prescribed_i32,
                        PrescriptionStatus::Active.as_str(),
                        to_micros(now).max(to_micros(target.row.updated_at) + 1),
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
                        .resource_id(target.row.id.to_string())
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
        let dispensed = carevault_store::prescriptions::find(self.store().conn(), target.row.id)
            .await?
            .map(|row| row.quantity_dispensed)
            .ok_or(ServiceError::NotFound("prescription"))?;
        Ok(Dispensation {
            prescription_id: target.row.id.to_string(),
            drug_id,
            quantity: wanted,
            batches: taken
                .into_iter()
                .map(|(batch, units)| (batch.to_string(), units))
                .collect(),
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
        drug: &DrugRecord,
        patient: &carevault_store::patients::PatientRow,
        dek: &carevault_crypto::data_key::DataKey,
        rows: &[BatchRecord],
        allocation: &[(usize, u32)],
        wanted: u32,
        actor_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<PreparedCharge, ServiceError> {
        use carevault_core::billing::{Discount, LineDescription, LineItem, LineKind, Quantity};
        use carevault_core::money::Percent;
        let mut cost_total = rust_decimal::Decimal::ZERO;
        for (index, units) in allocation {
            let row = rows.get(*index).ok_or(ServiceError::Integrity)?;
            cost_total += row.unit_cost.amount() * rust_decimal::Decimal::from(*units);
        }
        let average =
            Money::from_decimal_rounded(cost_total / rust_decimal::Decimal::from(wanted.max(1)))
                .map_err(|_| ServiceError::Integrity)?;
        let price = billing::drug_price(self.store().conn(), drug.id).await?;
        let (unit_price, tax_rate) = match &price {
            Some(row) => (
                row.rule
                    .unit_price(Some(average))
                    .map_err(|err| ValidationErrors::single("quantity", err.to_string()))?,
                row.tax_rate,
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
            patient_id: patient.id,
            line: billing::line_record(
                &item,
                dek,
                // Not known yet: `add_charge_in` puts the line on the open invoice.
                carevault_core::InvoiceId::generate(),
                patient.id,
                billing::SOURCE_DISPENSING,
                Some(Uuid::now_v7().to_string()),
                &actor_id.to_string(),
                chrono::SubsecRound::trunc_subsecs(now, 6),
            )?,
            currency: self.settings().billing.currency,
        })
    }
}
