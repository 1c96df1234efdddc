//! Automatic charges (a completed appointment, a dispensing), written inside the
//! transaction of the step that causes them.

use super::*;

/// A charge written inside another use case's transaction ([`add_charge_in`]): everything
/// sealed and computed beforehand, so that the transaction only writes.
#[derive(Debug, Clone)]
pub(crate) struct PreparedCharge {
    pub patient_id: PatientId,
    /// Its invoice and position are set when it is written ([`add_charge_in`]).
    pub line: LineRecord,
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

/// A new draft invoice for `patient_id`, numbered from the `invoice` counter. `now` is a
/// stored instant (whole microseconds).
pub(super) async fn new_draft(
    conn: &impl carevault_store::Conn,
    patient_id: PatientId,
    currency: Currency,
    actor_id: &str,
    now: DateTime<Utc>,
) -> Result<InvoiceRecord, StoreError> {
    let serial = patient_store::next_counter_value(conn, "invoice", 1).await?;
    Ok(InvoiceRecord {
        id: InvoiceId::generate(),
        number: format!("INV-{serial:06}"),
        patient_id,
        open_for: Some(patient_id),
        status: InvoiceStatus::Draft,
        currency,
        subtotal: Money::ZERO,
        discount: Money::ZERO,
        tax: Money::ZERO,
        total: Money::ZERO,
        paid: Money::ZERO,
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
    if let Some(appointment_id) = charge.line.appointment_id
        && let Some(line) = store::line_of_appointment(txn, appointment_id).await?
    {
        return Ok(ChargeOutcome::AlreadyCharged {
            invoice_id: line.invoice_id.to_string(),
        });
    }
    if let Some(source_id) = &charge.line.source_id
        && let Some(line) = store::line_of_source(txn, &charge.line.source, source_id).await?
    {
        return Ok(ChargeOutcome::AlreadyCharged {
            invoice_id: line.invoice_id.to_string(),
        });
    }
    let now = charge.line.created_at;
    let invoice = match store::open_invoice_of(txn, charge.patient_id).await? {
        Some(invoice) => invoice,
        None => {
            let draft = new_draft(
                txn,
                charge.patient_id,
                charge.currency,
                &charge.line.created_by,
                now,
            )
            .await?;
            match store::insert_invoice(txn, &draft).await {
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
    line.invoice_id = invoice.id;
    line.position = store::line_count(txn, invoice.id).await? + 1;
    match store::insert_line(txn, &line).await? {
        LineInsert::Inserted => Ok(ChargeOutcome::Added {
            invoice_id: invoice.id.to_string(),
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
    drug_id: DrugId,
) -> Result<Option<PriceRecord>, StoreError> {
    let prices = store::list_prices(conn).await?;
    let active = |row: &&PriceRecord| row.active && row.kind == PriceKind::Drug;
    Ok(prices
        .iter()
        .filter(active)
        .find(|row| row.drug_id == Some(drug_id))
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
) -> Result<Option<PriceRecord>, StoreError> {
    Ok(store::list_prices(conn).await?.into_iter().find(|row| {
        row.active
            && row.kind == PriceKind::Consultation
            && row.appointment_type.as_deref() == Some(appointment_type)
    }))
}
