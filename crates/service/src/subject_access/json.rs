//! Each section of the access export as JSON.

use super::*;

pub(super) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(time(at)))
}

/// A name safe inside a ZIP on every platform: ASCII letters, digits, `.`, `-`, `_`;
/// anything else becomes `_`, no leading dot, at most 80 characters.
pub(super) fn safe_file_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    let mut name: String = trimmed
        .chars()
        .rev()
        .take(80)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if name.is_empty() {
        name = "document".into();
    }
    name
}

pub(super) fn patient_json(p: &PatientDetails) -> Value {
    let shown = |v: &Option<Option<String>>| match v {
        Some(Some(value)) => Value::String(value.clone()),
        _ => Value::Null,
    };
    let contact = match &p.emergency_contact {
        Some(Some(contact)) => serde_json::to_value(contact).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    json!({
        "id": p.id.to_string(),
        "view": p.view.label(),
        "pseudonym": p.pseudonym,
        "mrn": p.mrn,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "date_of_birth": p.date_of_birth,
        "sex": p.sex,
        "gender_identity": shown(&p.gender_identity),
        "address": shown(&p.address),
        "phone": shown(&p.phone),
        "email": shown(&p.email),
        "emergency_contact": contact,
        "national_id": shown(&p.national_id),
        "preferred_language": shown(&p.preferred_language),
        "blood_group": shown(&p.blood_group),
        "allergies": shown(&p.allergies),
        "primary_diagnosis": shown(&p.primary_diagnosis),
        "status": p.status,
        "created_at": opt_time(p.created_at),
        "updated_at": opt_time(p.updated_at),
    })
}

pub(super) fn appointment_json(a: &AppointmentView) -> Value {
    let shown = |v: &Option<Option<String>>| match v {
        Some(Some(value)) => Value::String(value.clone()),
        _ => Value::Null,
    };
    json!({
        "id": a.id.to_string(),
        "clinician_id": a.clinician_id.map(|c| c.to_string()),
        "clinician_name": a.clinician_name,
        "department_id": a.department_id.to_string(),
        "department_name": a.department_name,
        "start": time(a.start),
        "end": time(a.end),
        "type": a.kind.to_string(),
        "status": a.status.to_string(),
        "reason": a.reason,
        "notes": shown(&a.notes),
        "preferred_times": shown(&a.preferred_times),
        "status_reason": shown(&a.status_reason),
        "created_at": time(a.created_at),
        "updated_at": time(a.updated_at),
    })
}

pub(super) fn vitals_json(v: &VitalsView) -> Value {
    let values: serde_json::Map<String, Value> = v
        .measurements
        .iter()
        .map(|m| (m.field.to_owned(), Value::String(m.value.clone())))
        .collect();
    json!({
        "id": v.id,
        "encounter_id": v.encounter_id,
        "appointment_id": v.appointment_id,
        "recorded_by": v.recorded_by,
        "at": time(v.at),
        "values": values,
        "bmi": v.bmi.as_ref().map(|b| json!({"value": b.value, "category": b.category.as_str()})),
    })
}

pub(super) fn diagnoses_json(e: &EncounterView) -> Vec<Value> {
    e.diagnoses
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "encounter_id": e.id,
                "kind": d.kind.to_string(),
                "code": d.code,
                "text": d.text,
                "free_text": d.free_text,
                "added_by": d.added_by,
                "added_at": time(d.added_at),
                "retracted_at": opt_time(d.retracted_at),
            })
        })
        .collect()
}

pub(super) fn encounter_json(e: &EncounterView) -> Value {
    let texts: serde_json::Map<String, Value> = e
        .texts
        .iter()
        .filter_map(|(field, value)| {
            value.as_ref().map(|v| {
                (
                    (*field).to_owned(),
                    v.clone().map_or(Value::Null, Value::String),
                )
            })
        })
        .collect();
    json!({
        "id": e.id,
        "clinician_id": e.clinician_id.to_string(),
        "clinician_name": e.clinician_name,
        "appointment_id": e.appointment_id,
        "type": e.kind.to_string(),
        "status": e.status.to_string(),
        "started_at": time(e.started_at),
        "signed_at": opt_time(e.signed_at),
        "texts": texts,
        "diagnoses": diagnoses_json(e),
        "amendments": e.amendments.iter().map(|a| json!({
            "id": a.id,
            "author": a.author,
            "at": time(a.at),
            "reason": a.reason,
            "changes": a.changes.iter().map(|c| json!({
                "field": c.field, "before": c.before, "after": c.after,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "notes": e.notes.iter().map(|n| json!({
            "id": n.id, "author": n.author, "at": time(n.at), "text": n.text,
        })).collect::<Vec<_>>(),
        "vitals": e.vitals.iter().map(vitals_json).collect::<Vec<_>>(),
        "addenda": e.addenda.iter().map(|a| json!({
            "id": a.id, "author": a.author, "at": time(a.at), "text": a.text,
        })).collect::<Vec<_>>(),
        "updated_at": time(e.updated_at),
    })
}

pub(super) fn nursing_note_json(n: &crate::nursing::NursingNoteView) -> Value {
    json!({
        "id": n.id,
        "kind": n.kind.as_str(),
        "appointment_id": n.appointment_id,
        "author": n.author,
        "at": time(n.at),
        "text": n.text,
        "acuity": n.acuity.map(|a| a.as_str()),
        "vitals": n.vitals.as_ref().map(vitals_json),
    })
}

pub(super) fn prescription_json(p: &PrescriptionView) -> Value {
    json!({
        "id": p.id,
        "encounter_id": p.encounter_id,
        "prescriber_id": p.prescriber_id.to_string(),
        "prescriber_name": p.prescriber_name,
        "status": p.status.to_string(),
        "drug_id": p.drug_id,
        "drug_name": p.drug_name,
        "generic_name": p.generic_name,
        "dose": p.dose,
        "route": p.route,
        "frequency": p.frequency,
        "duration_days": p.duration_days,
        "quantity": p.quantity,
        "quantity_dispensed": p.quantity_dispensed,
        "instructions": p.instructions,
        "acknowledged_warnings": p.acknowledgement.as_ref().map(|reason| json!({
            "warnings": p.warnings.iter().map(|w| json!({"kind": w.kind, "detail": w.detail})).collect::<Vec<_>>(),
            "reason": reason,
        })),
        "status_reason": p.status_reason,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

pub(super) fn document_json(d: &DocumentMeta, file: &str, sha256: &str) -> Value {
    json!({
        "id": d.id,
        "encounter_id": d.encounter_id,
        "kind": d.kind.as_str(),
        "size_bytes": d.size_bytes,
        "page_count": d.page_count,
        "title": d.title,
        "original_name": d.original_name,
        "uploaded_by": d.uploaded_by.to_string(),
        "uploaded_by_name": d.uploaded_by_name,
        "uploaded_at": time(d.uploaded_at),
        "sha256": sha256,
        "file": file,
    })
}

fn line_json(l: &LineView) -> Value {
    json!({
        "id": l.id,
        "position": l.position,
        "kind": l.kind.to_string(),
        "source": l.source,
        "description": l.description,
        "quantity": l.quantity.to_string(),
        "unit_price": l.unit_price.to_string(),
        "discount_percent": l.discount_percent.map(|p| p.to_string()),
        "tax_rate": l.tax_rate.to_string(),
        "gross": l.amounts.gross.to_string(),
        "discount": l.amounts.discount.to_string(),
        "net": l.amounts.net.to_string(),
        "tax": l.amounts.tax.to_string(),
        "total": l.amounts.total.to_string(),
        "created_at": time(l.created_at),
    })
}

fn payment_json(p: &PaymentView) -> Value {
    json!({
        "id": p.id,
        "amount": p.amount.to_string(),
        "method": p.method.to_string(),
        "reference": p.reference,
        "received_at": time(p.received_at),
    })
}

pub(super) fn invoice_json(i: &InvoiceView) -> Value {
    let s = &i.summary;
    json!({
        "id": s.id,
        "number": s.number,
        "status": s.status.to_string(),
        "currency": s.currency.to_string(),
        "subtotal": s.totals.subtotal.to_string(),
        "discount_total": s.totals.discount_total.to_string(),
        "tax_total": s.totals.tax_total.to_string(),
        "grand_total": s.totals.grand_total.to_string(),
        "paid": s.totals.paid.to_string(),
        "balance": s.totals.balance.to_string(),
        "created_at": time(s.created_at),
        "issued_at": opt_time(s.issued_at),
        "closed_at": opt_time(s.closed_at),
        "void_reason": i.void_reason,
        "lines": i.lines.iter().map(line_json).collect::<Vec<_>>(),
        "payments": i.payments.iter().map(payment_json).collect::<Vec<_>>(),
    })
}

pub(super) fn notification_json(n: &NotificationView) -> Value {
    json!({
        "id": n.id,
        "kind": n.kind.to_string(),
        "channel": n.channel.to_string(),
        "status": n.status.to_string(),
        "subject": n.subject,
        "body": n.body,
        "attempts": n.attempts,
        "created_at": time(n.created_at),
        "sent_at": opt_time(n.sent_at),
        "read_at": opt_time(n.read_at),
    })
}

pub(super) fn consents_json(c: &ConsentOverview) -> Vec<Value> {
    c.history
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "purpose": r.purpose.as_str(),
                "status": r.status.as_str(),
                "recorded_at": time(r.recorded_at),
                "recorded_by": r.recorded_by,
                "recorded_by_name": r.recorded_by_name,
                "recorded_by_patient": r.by_patient,
                "note": r.note,
            })
        })
        .collect()
}
