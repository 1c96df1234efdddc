//! Listing, reading and opening invoices.

use super::*;

impl Services {
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
                    .map_err(|message| ValidationErrors::single("status", message))?,
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
        // A patient named in another spelling than the stored one has no invoices listed.
        let rows = match patient_id
            .as_deref()
            .map(crate::ids::requested_id::<PatientId>)
        {
            Some(None) => Vec::new(),
            filtered => {
                store::list_invoices(
                    self.store().conn(),
                    &InvoiceFilter {
                        patient_id: filtered.flatten(),
                        status,
                        limit: LIST_LIMIT,
                    },
                )
                .await?
            }
        };
        let mut keys: std::collections::HashMap<String, (PatientRow, DataKey)> =
            std::collections::HashMap::new();
        if let Some((patient, dek)) = pinned {
            keys.insert(patient.id.to_string(), (patient, dek));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let patient_id = row.patient_id.to_string();
            if !keys.contains_key(&patient_id) {
                let loaded = match self.bill_patient(actor, role, &patient_id).await {
                    // An erased patient's invoices can no longer be read: left out.
                    Err(ServiceError::NotFound(_)) => continue,
                    other => other?,
                };
                keys.insert(patient_id.clone(), loaded);
            }
            if let Some((patient, dek)) = keys.get(&patient_id) {
                out.push(self.summary_of(row, patient, dek)?);
            }
        }
        let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Invoice);
        if let Some(id) = &patient_id
            && let Some((patient, _)) = keys.get(id)
        {
            event.resource_id = Some(patient.id.to_string());
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
            .map(|row| row.id.to_string())
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
            view.visits_to_charge = self.visits_to_charge(patient.id).await?;
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
            if let Some(row) = store::open_invoice_of(self.store().conn(), patient.id).await? {
                return Ok((row, false));
            }
            let now = self.stored_now();
            self.transaction_once(async |txn| {
                let draft = new_draft(
                    txn,
                    patient.id,
                    self.settings().billing.currency,
                    &actor_id,
                    now,
                )
                .await?;
                store::insert_invoice(txn, &draft)
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
}
