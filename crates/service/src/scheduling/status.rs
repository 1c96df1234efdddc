//! Status changes: who may make which and when, writing them (with the visit charge), and
//! the automatic status job.

use super::*;

/// What one run of the status job changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusJobRun {
    pub no_shows: u64,
    pub completed: u64,
}
impl Services {
    /// The statuses `actor` may move an appointment in `status` to now.
    pub(super) fn permitted_transitions(
        &self,
        actor: &Actor,
        scope: &ManageScope,
        row: &AppointmentRow,
        status: AppointmentStatus,
        view: PatientView,
    ) -> Vec<AppointmentStatus> {
        status
            .allowed_next()
            .iter()
            .copied()
            .filter(|to| {
                self.transition_refusal(actor, scope, row, status, *to, view)
                    .is_none()
            })
            .collect()
    }

    /// Why `actor` may not move `row` from `from` to `to` now (`None`: they may). The graph
    /// itself is checked separately.
    fn transition_refusal(
        &self,
        actor: &Actor,
        scope: &ManageScope,
        row: &AppointmentRow,
        from: AppointmentStatus,
        to: AppointmentStatus,
        view: PatientView,
    ) -> Option<Refusal> {
        use AppointmentStatus as S;
        use Refusal::{NotAllowed, NotNow};
        let now = self.now();
        let start = row.start_at;
        let own_clinician = actor.user_id() == row.clinician_id;
        if actor.reaches_own_record_only() {
            if view != PatientView::Own {
                return Some(NotAllowed("not the patient's own appointment"));
            }
            return match (from, to) {
                (S::Scheduled, S::Cancelled)
                    if start - now < self.scheduling().patient_cancel_cutoff =>
                {
                    Some(NotNow(
                        "it is too close to the appointment to cancel online: please call the hospital",
                    ))
                }
                (S::Requested | S::Scheduled, S::Cancelled) => None,
                _ => Some(NotAllowed(
                    "patients may only cancel their own appointments",
                )),
            };
        }
        let manages = scope.manages(row.clinician_id, row.department_id);
        let needs_rights = NotAllowed("requires scheduling rights for this clinician");
        match to {
            S::Scheduled | S::Cancelled => (!manages).then_some(needs_rights),
            S::CheckedIn => {
                if !(manages || own_clinician) {
                    Some(NotAllowed(
                        "requires reception, an administrator or the appointment's clinician",
                    ))
                } else if self.scheduling().local_date(now) != self.scheduling().local_date(start) {
                    Some(NotNow(
                        "can be checked in only on the day of the appointment",
                    ))
                } else {
                    None
                }
            }
            S::InProgress | S::Completed => (!(own_clinician
                || (actor.user_id().is_some()
                    && actor.grant(Action::AdministerSystem) == Grant::Yes)))
                .then_some(NotAllowed(
                    "only the appointment's clinician or an administrator can do this",
                )),
            S::NoShow => {
                if !manages {
                    Some(needs_rights)
                } else if now < start {
                    Some(NotNow("cannot be marked a no-show before it starts"))
                } else {
                    None
                }
            }
            S::Requested => Some(NotAllowed("an appointment cannot go back to requested")),
        }
    }

    /// Moves an appointment along the status graph. A `reason` is required to cancel.
    /// Moving a request to `scheduled` accepts it in its requested slot.
    pub async fn change_appointment_status(
        &self,
        actor: &Actor,
        id: AppointmentId,
        to_raw: &str,
        reason: Option<&str>,
    ) -> Result<AppointmentView, ServiceError> {
        let to = AppointmentStatus::parse(to_raw)
            .map_err(|message| ValidationErrors::single("status", message))?;
        let row = self.load_appointment(actor, id).await?;
        let from = row.status;
        if let Err(refused) = from.transition_to(to) {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: refused.to_string(),
            });
        }
        let patient = patients::find(self.store().conn(), row.patient_id)
            .await?
            .ok_or(ServiceError::Integrity)?;
        self.check_status_change(actor, &row, &patient, to).await?;
        if to == AppointmentStatus::Scheduled {
            let input = SlotInput {
                clinician_id: None,
                start: row.start_at.to_rfc3339(),
                end: Some(row.end_at.to_rfc3339()),
                duration_minutes: None,
            };
            return self.move_appointment(actor, row, input, true).await;
        }
        let mut errors = ValidationErrors::new();
        let reason = match to {
            AppointmentStatus::Cancelled if actor.reaches_own_record_only() => Some(
                text(&mut errors, "reason", reason.map(str::to_owned).as_ref())
                    .unwrap_or_else(|| "cancelled by the patient".to_owned()),
            ),
            AppointmentStatus::Cancelled => {
                required_text(&mut errors, "reason", reason.unwrap_or_default())
            }
            _ => text(&mut errors, "reason", reason.map(str::to_owned).as_ref()),
        };
        errors.into_result()?;
        if !self
            .apply_status(
                actor,
                row,
                &patient,
                to,
                reason.as_deref(),
                format!("{from} → {to}"),
            )
            .await?
        {
            return Err(changed_meanwhile());
        }
        self.get_appointment(actor, id).await
    }

    /// Writes a status change (not to `scheduled`) with its side effects, in one
    /// transaction: slots released when it stops being active, the care team refreshed, the
    /// change audited with `audit_note`. `false` when the appointment changed meanwhile.
    ///
    /// A completion's automatic charge joins the patient's open invoice, which a desk may be
    /// changing at the same moment: such a collision rolls back and starts again (the
    /// appointment itself has not moved), so it does not fail the completion. A visit
    /// charged by hand meanwhile is then seen as charged, and skipped.
    async fn apply_status(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
        reason: Option<&str>,
        audit_note: String,
    ) -> Result<bool, ServiceError> {
        let change = self
            .prepare_status_change(actor, row, patient, to, reason, audit_note)
            .await?;
        let (id, from) = (change.row.id, change.row.status);
        let written = self
            .transaction_or_stop(async |txn| {
                match self
                    .write_status_change_in(txn, actor, patient, &change)
                    .await?
                {
                    StatusWrite::Written => Ok(()),
                    StatusWrite::AppointmentChanged => Err(Abort::Stop(())),
                    StatusWrite::InvoiceBusy => Err(Abort::Fail(tx::again(invoice_busy()))),
                }
            })
            .await?;
        if written.is_err() {
            return Ok(false);
        }
        tracing::info!(appointment_id = %id, from = %from, to = %to, "appointment status changed");
        Ok(true)
    }

    /// Refuses a status change `actor` may not make now (the graph, then who and when): a
    /// conflict for "not now", a recorded refusal for "not allowed". Used by the use cases
    /// that change an appointment's status as part of something else (an encounter started
    /// or signed).
    pub(crate) async fn check_status_change(
        &self,
        actor: &Actor,
        row: &AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
    ) -> Result<(), ServiceError> {
        let from = row.status;
        if let Err(refused) = from.transition_to(to) {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: refused.to_string(),
            });
        }
        let relation = self.relation_to(actor, patient).await?;
        let view = actor
            .role()
            .and_then(|role| view_for(role, relation))
            .unwrap_or(PatientView::Pseudonymous);
        let scope = self.manage_scope(actor).await?;
        match self.transition_refusal(actor, &scope, row, from, to, view) {
            None => Ok(()),
            Some(Refusal::NotNow(message)) => Err(ServiceError::Conflict {
                field: Some("status"),
                message: message.to_owned(),
            }),
            Some(Refusal::NotAllowed(reason)) => Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(row.id.to_string()),
                    reason,
                )
                .await),
        }
    }

    /// A status change (not to `scheduled`) made ready to write: the row as it will be
    /// written, its audit event with `audit_note`, and a completed visit's charge. Nothing is
    /// written yet; [`Services::write_status_change_in`] writes it in the caller's
    /// transaction. The caller has checked the change ([`Services::check_status_change`]).
    pub(crate) async fn prepare_status_change(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
        reason: Option<&str>,
        audit_note: String,
    ) -> Result<PreparedStatusChange, ServiceError> {
        let read_at = row.updated_at;
        let mut updated = row.clone();
        updated.status = to;
        updated.updated_at = version_after(read_at, self.now());
        if let Some(reason) = reason {
            let dek = self.patient_key(patient).await?;
            updated.status_reason =
                seal(&dek, row.id, row.patient_id, "status_reason", Some(reason))?;
        }
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Appointment)
            .resource_id(&updated.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(audit_note);
        let charge = if to == AppointmentStatus::Completed {
            self.appointment_charge(actor, &row, patient).await?
        } else {
            None
        };
        Ok(PreparedStatusChange {
            row,
            updated,
            event,
            charge,
        })
    }

    /// Writes a prepared status change inside `txn` with its side effects: the visit's
    /// charge on completion (skipped, and said so in the audit event, when the visit was
    /// charged already), slots released when it stops being active, the care team
    /// refreshed, reminders withdrawn, the audit event. Anything but
    /// [`StatusWrite::Written`] means nothing may be committed: the caller rolls back.
    pub(crate) async fn write_status_change_in(
        &self,
        txn: &carevault_store::Transaction,
        actor: &Actor,
        patient: &PatientRow,
        change: &PreparedStatusChange,
    ) -> Result<StatusWrite, ServiceError> {
        let row = &change.row;
        let (from, to) = (row.status, change.updated.status);
        let (id, patient_id) = (row.id, row.patient_id);
        if !store::update_appointment(txn, change.updated.clone(), row.updated_at).await? {
            return Ok(StatusWrite::AppointmentChanged);
        }
        let mut event = change.event.clone();
        if let Some(charge) = &change.charge {
            match crate::billing::add_charge_in(txn, charge).await {
                Ok(crate::billing::ChargeOutcome::Added { invoice_id }) => {
                    let charged = crate::billing::charge_event(
                        self,
                        actor,
                        &invoice_id,
                        patient.pseudonym_number,
                        &format!("completed appointment {}", row.id),
                    );
                    self.append_in(txn, charged).await?;
                }
                Ok(crate::billing::ChargeOutcome::AlreadyCharged { invoice_id }) => {
                    tracing::info!(
                        appointment_id = %id,
                        invoice_id = %invoice_id,
                        "appointment already charged; automatic charge skipped"
                    );
                    event.reason = Some(format!(
                        "{}; already charged on invoice {invoice_id}, not charged again",
                        event.reason.unwrap_or_default()
                    ));
                }
                // The patient's open invoice changed meanwhile: nothing may be written.
                Ok(crate::billing::ChargeOutcome::Retry) | Err(StoreError::Contention(_)) => {
                    return Ok(StatusWrite::InvoiceBusy);
                }
                Err(err) => return Err(err.into()),
            }
        }
        if is_active(from) && !is_active(to) {
            store::release_slots(txn, id).await?;
        }
        if puts_on_care_team(from) != puts_on_care_team(to) {
            self.refresh_care_team(txn, patient_id).await?;
        }
        if to != AppointmentStatus::Scheduled {
            // Its reminders are withdrawn; a request declined by staff is announced.
            let declined = from == AppointmentStatus::Requested
                && to == AppointmentStatus::Cancelled
                && !actor.reaches_own_record_only();
            self.appointment_ended_notifications(txn, row, patient, declined)
                .await?;
        }
        self.append_in(txn, event).await?;
        Ok(StatusWrite::Written)
    }

    /// The charge of a completed appointment: the consultation price of its type, if the
    /// price list has one (otherwise nothing is charged), on the day it took place.
    async fn appointment_charge(
        &self,
        actor: &Actor,
        row: &AppointmentRow,
        patient: &PatientRow,
    ) -> Result<Option<crate::billing::PreparedCharge>, ServiceError> {
        use carevault_core::billing::{Discount, LineDescription, LineItem, LineKind, Quantity};
        let Some(price) =
            crate::billing::appointment_price(self.store().conn(), row.kind.as_str()).await?
        else {
            return Ok(None);
        };
        let carevault_core::billing::PriceRule::Fixed(unit_price) = price.rule else {
            return Err(ServiceError::Integrity);
        };
        let tax_rate = price.tax_rate;
        let day = self.scheduling().local_date(row.start_at);
        let description = LineDescription::parse(&format!("{} on {day}", price.label))
            .map_err(|_| ServiceError::Integrity)?;
        let quantity = Quantity::whole(1).map_err(|_| ServiceError::Integrity)?;
        let item = LineItem::new(
            LineKind::Charge,
            description,
            quantity,
            unit_price,
            Discount::None,
            tax_rate,
        )?;
        let dek = self.patient_key(patient).await?;
        let actor_id = actor
            .user_id()
            .map_or_else(|| "system".to_owned(), |id| id.to_string());
        Ok(Some(crate::billing::PreparedCharge {
            patient_id: patient.id,
            line: carevault_store::billing::LineRecord {
                // The visit is charged once, whichever of this and a manual charge naming it
                // comes first (see `crate::visit_charges`).
                appointment_id: Some(row.id),
                ..crate::billing::line_record(
                    &item,
                    &dek,
                    // Not known yet: `add_charge_in` puts the line on the open invoice.
                    carevault_core::InvoiceId::generate(),
                    patient.id,
                    crate::billing::SOURCE_APPOINTMENT,
                    Some(row.id.to_string()),
                    &actor_id,
                    self.stored_now(),
                )?
            },
            currency: self.settings().billing.currency,
        }))
    }

    /// Marks scheduled appointments that ended more than the grace period ago without a
    /// check-in as no-shows, and completes in-progress ones whose local day has ended.
    /// Every change is audited with the system as the actor.
    pub async fn run_appointment_status_job(&self) -> Result<StatusJobRun, ServiceError> {
        let actor = Actor::system();
        let settings = self.scheduling().clone();
        let now = self.now();
        let mut run = StatusJobRun::default();
        let conn = self.store().conn();
        let due = store::ended_in_status(
            conn,
            AppointmentStatus::Scheduled,
            now - settings.no_show_grace,
            500,
        )
        .await?;
        for row in due {
            if self
                .job_transition(
                    &actor,
                    row,
                    AppointmentStatus::NoShow,
                    "no check-in by the end of the appointment",
                )
                .await?
            {
                run.no_shows += 1;
            }
        }
        // In progress past the end of its day: the day ends at local midnight after its end.
        let today_start = settings.day_start(settings.local_date(now));
        let open = store::ended_in_status(
            conn,
            AppointmentStatus::InProgress,
            today_start - Duration::microseconds(1),
            500,
        )
        .await?;
        for row in open {
            if self
                .job_transition(
                    &actor,
                    row,
                    AppointmentStatus::Completed,
                    "left open past the end of the day",
                )
                .await?
            {
                run.completed += 1;
            }
        }
        if run != StatusJobRun::default() {
            tracing::info!(
                no_shows = run.no_shows,
                completed = run.completed,
                "appointment statuses updated"
            );
        }
        Ok(run)
    }

    async fn job_transition(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        to: AppointmentStatus,
        why: &str,
    ) -> Result<bool, ServiceError> {
        let from = row.status;
        if from.transition_to(to).is_err() {
            return Ok(false);
        }
        let Some(patient) = patients::find(self.store().conn(), row.patient_id).await? else {
            return Ok(false);
        };
        // `false` when someone changed it meanwhile (checked it in, say): then it is left.
        self.apply_status(
            actor,
            row,
            &patient,
            to,
            None,
            format!("{from} → {to} (automatic: {why})"),
        )
        .await
    }
}

/// What writing a status change came to (see [`Services::write_status_change_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusWrite {
    Written,
    /// The appointment changed since it was read: nothing may be written.
    AppointmentChanged,
    /// The patient's open invoice was being changed at the same moment: roll back and try
    /// again.
    InvoiceBusy,
}

/// The answer when the patient's invoice stayed busy through every attempt.
pub(crate) fn invoice_busy() -> ServiceError {
    ServiceError::Conflict {
        field: Some("status"),
        message: "the patient's invoice was being changed at the same time: try again".into(),
    }
}

/// A status change ready to be written (see [`Services::prepare_status_change`]).
pub(crate) struct PreparedStatusChange {
    /// The appointment as read.
    pub(crate) row: AppointmentRow,
    /// The appointment as it will be written.
    updated: AppointmentRow,
    event: AuditEvent,
    charge: Option<crate::billing::PreparedCharge>,
}

/// Why a status change is refused: not this actor's to make (403, recorded), or not now
/// (409: the appointment's state or time does not allow it yet, or any more).
enum Refusal {
    NotAllowed(&'static str),
    NotNow(&'static str),
}
