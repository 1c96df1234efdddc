//! Changing an invoice: its lines, issuing it, payments, voiding it.

use super::*;

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
impl Services {
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
        detail: impl Fn(&InvoiceRecord) -> String,
        plan: P,
    ) -> Result<InvoiceView, ServiceError>
    where
        P: Fn(
            &InvoiceRecord,
            &[LineRecord],
            &PatientRow,
            &DataKey,
            DateTime<Utc>,
        ) -> Result<Change, ServiceError>,
    {
        let role = BillingRole::Staff { admin };
        let (row, patient, dek) = tx::retry(async || {
            let (row, patient, dek) = self.load_invoice(actor, role, invoice_id).await?;
            let now = self.stored_now().max(row.updated_at);
            let lines = store::lines_of(self.store().conn(), row.id).await?;
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
                    line.invoice_id = row.id;
                    line.position = store::line_count(txn, row.id).await? + 1;
                    if store::insert_line(txn, &line).await? == LineInsert::AlreadyCharged {
                        // Only a line naming a visit can collide (its id is new): a charge of
                        // that visit landed after the caller's check. The caller words it.
                        return Err(ServiceError::Conflict {
                            field: Some("appointment_id"),
                            message: "This visit was already charged.".into(),
                        });
                    }
                }
                if let Some(line_id) = change.delete_line
                    && !store::delete_line(txn, row.id, line_id).await?
                {
                    return Err(moved());
                }
                if let Some(payment) = change.payment {
                    store::insert_payment(txn, &payment).await?;
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
        let fresh = store::find_invoice(self.store().conn(), row.id)
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
                let row = match crate::ids::requested_id::<PriceId>(price_id) {
                    Some(id) => store::find_price(self.store().conn(), id).await?,
                    None => None,
                }
                .filter(|row| row.active)
                .ok_or_else(|| {
                    ValidationErrors::single("price_id", "is not an active price-list entry")
                })?;
                match row.rule {
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
                    Some(row) => match row.rule {
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
                crate::visit_charges::visit_label(visit.row.kind.as_str()),
                visit.day
            ),
            (true, None, None) => String::new(),
        };
        if let Some(visit) = &visit
            && let Some(refusal) = self.visit_charged_already(visit.row.id).await?
        {
            return Err(refusal);
        }
        let visit_id = visit.as_ref().map(|visit| visit.row.id);
        let changed = self
            .change_invoice(
                actor,
                admin,
                invoice_id,
                AuditAction::Update,
                |next| match &visit_id {
                    Some(id) => {
                        format!(
                            "line added charging visit {id}; total {}",
                            next.total.minor_units()
                        )
                    }
                    None => format!("line added; total {}", next.total.minor_units()),
                },
                |row, _, patient, dek, now| {
                    let status = row.status;
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
                            let tax_rate = price.tax_rate.value().normalize().to_string();
                            (unit_price.to_string(), Some(tax_rate))
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
                    let mut line = line_record(
                        &item,
                        dek,
                        row.id,
                        patient.id,
                        SOURCE_MANUAL,
                        None,
                        &actor_id,
                        now,
                    )?;
                    line.appointment_id = visit_id;
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
                    .visit_charged_already(*id)
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
            |next| format!("line removed; total {}", next.total.minor_units()),
            |row, lines, _, _, _| {
                check_line_edit(row.status).map_err(|refusal| ServiceError::Conflict {
                    field: None,
                    message: refusal.to_string(),
                })?;
                let line = lines
                    .iter()
                    .find(|line| line.id.to_string() == line_id)
                    .ok_or(ServiceError::NotFound("line"))?;
                Ok(Change {
                    delete_line: Some(line.id),
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
            |next| format!("issued; total {}", next.total.minor_units()),
            |row, lines, _, _, now| {
                let mut next =
                    leaving_draft(row, check_issue(row.status, lines.len(), &totals_of(row)?))?;
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
        let actor_id = actor.user_id().ok_or(ServiceError::Forbidden)?;
        self.change_invoice(
            actor,
            admin,
            invoice_id,
            AuditAction::Update,
            |next| {
                format!(
                    "payment recorded; paid {} of {}",
                    next.paid.minor_units(),
                    next.total.minor_units()
                )
            },
            |row, _, patient, dek, now| {
                let totals = totals_of(row)?;
                let next_status = check_payment(row.status, totals.balance, payment.amount())
                    .map_err(|refusal| match refusal {
                        carevault_core::billing::PaymentRefusal::NotPayable { .. } => {
                            ServiceError::Conflict {
                                field: None,
                                message: refusal.to_string(),
                            }
                        }
                        _ => ValidationErrors::single("amount", refusal.to_string()).into(),
                    })?;
                let id = PaymentId::generate();
                let reference = place("payments", &id.to_string(), &patient.id.to_string()).seal(
                    dek,
                    "reference",
                    payment.reference(),
                )?;
                let mut next = row.clone();
                next.paid = totals
                    .paid
                    .checked_add(payment.amount())
                    .map_err(too_large)?;
                next.status = next_status;
                if next_status == InvoiceStatus::Paid {
                    next.closed_at = Some(now);
                }
                Ok(Change {
                    payment: Some(PaymentRecord {
                        id,
                        invoice_id: row.id,
                        amount: payment.amount(),
                        method: payment.method(),
                        reference,
                        received_by: actor_id,
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
                let mut next = leaving_draft(row, void(row.status, &reason))?;
                next.closed_at = Some(now);
                next.void_reason = place("invoices", &row.id.to_string(), &patient.id.to_string())
                    .seal(dek, "void_reason", Some(reason.as_str()))?;
                Ok(Change::of(next))
            },
        )
        .await
    }
}

/// `row` moved to the status `next` allows (a refusal is a 409), and no longer the
/// patient's open invoice: issued or voided.
fn leaving_draft(
    row: &InvoiceRecord,
    next: Result<InvoiceStatus, impl std::fmt::Display>,
) -> Result<InvoiceRecord, ServiceError> {
    let status = next.map_err(|refusal| ServiceError::Conflict {
        field: None,
        message: refusal.to_string(),
    })?;
    let mut next = row.clone();
    next.status = status;
    next.open_for = None;
    Ok(next)
}

/// What one change of an invoice writes.
#[derive(Debug)]
struct Change {
    invoice: InvoiceRecord,
    line: Option<LineRecord>,
    delete_line: Option<InvoiceLineId>,
    payment: Option<PaymentRecord>,
}

impl Change {
    /// Only the invoice row changes.
    fn of(invoice: InvoiceRecord) -> Change {
        Change {
            invoice,
            line: None,
            delete_line: None,
            payment: None,
        }
    }
}
