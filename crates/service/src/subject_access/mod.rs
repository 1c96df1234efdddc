//! The access and portability export (GDPR Art. 15 and 20): everything held about one
//! patient as a ZIP, built in memory — one pretty-printed UTF-8 JSON file per section
//! (`{"section", "patient_id", "generated_at", "count", "items": [...]}`), the documents'
//! original bytes under `documents/`, a `manifest.json` (sections, counts, the documents'
//! SHA-256) and a `README.txt`.
//!
//! Rules:
//!
//! - **Who.** An administrator, for any patient; a patient, for the record linked to their
//!   own account (any other id: 403, recorded, whether it exists or not). Everyone else 403,
//!   recorded. An erased record (or an unknown id) is 404: nothing is left to export.
//! - **How.** Each section is read through the same use case that serves it on its own page
//!   (`get_patient`, `list_appointments`, `list_encounters` + `get_encounter`,
//!   `list_vitals`, `nursing_notes`, `list_prescriptions`, `list_documents` +
//!   `download_document`,
//!   `list_invoices` + `get_invoice`), under the requesting actor. So the export shows
//!   exactly what that actor may see (the patient gets their own view: signed encounters,
//!   no drafts), opens sealed data the same way, fails closed on an integrity error the
//!   same way, and every section read is in the audit trail as it would be on its page.
//!   Nursing notes and triages are working notes the patient's own view does not include:
//!   a patient's own export has that section empty, an administrator's has them.
//!   Notifications, consents and the access log are read here (they have no per-patient
//!   page for administrators).
//! - **Audited.** On top of the section reads, one `export` event on the patient whose
//!   reason lists the sections' counts, durable before the bytes are returned.
//! - **Limits.** Each list stops at its use case's limit (500 rows; appointments 2,000); the
//!   access log is read in full. The ZIP is built in memory: fine for one patient.

use carevault_core::Grant;
use carevault_core::Scope;
use std::io::{Cursor, Write};

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::consent::ConsentPurpose;
use carevault_core::masking::{PatientField, Relation, Visibility, view_for, visibility};
use carevault_core::policy::{Action, grant};
use carevault_core::time::from_micros;
use carevault_core::{PatientId, Role};
use carevault_store::audit::{self as audit_store, AuditFilter};
use carevault_store::patients::{self, ERASED_STATUS, PatientRow};
use carevault_store::users;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::Services;
use crate::actor::Actor;
use crate::billing::{InvoiceView, LineView, PaymentView};
use crate::consents::ConsentOverview;
use crate::documents::DocumentMeta;
use crate::encounters::{EncounterView, VitalsView};
use crate::error::ServiceError;
use crate::notifications::NotificationView;
use crate::patients::PatientDetails;
use crate::prescriptions::PrescriptionView;
use crate::scheduling::{AppointmentQuery, AppointmentView};

/// The format name in `manifest.json`.
pub const FORMAT: &str = "carevault-access-export-v1";
/// The JSON sections, in the order they are written.
pub const SECTIONS: [&str; 12] = [
    "patient",
    "appointments",
    "encounters",
    "diagnoses",
    "vitals",
    "nursing_notes",
    "prescriptions",
    "documents",
    "invoices",
    "notifications",
    "consents",
    "access_log",
];
/// Audit events read per page for the access log.
const AUDIT_PAGE: u64 = 500;

/// A finished export: the ZIP's bytes and the name to download it as. `Debug` shows the
/// name and size only.
#[derive(Clone)]
pub struct AccessExport {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for AccessExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessExport")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(time(at)))
}

/// A name safe inside a ZIP on every platform: ASCII letters, digits, `.`, `-`, `_`;
/// anything else becomes `_`, no leading dot, at most 80 characters.
fn safe_file_name(raw: &str) -> String {
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

fn patient_json(p: &PatientDetails) -> Value {
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

fn appointment_json(a: &AppointmentView) -> Value {
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

fn vitals_json(v: &VitalsView) -> Value {
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

fn diagnoses_json(e: &EncounterView) -> Vec<Value> {
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

fn encounter_json(e: &EncounterView) -> Value {
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

fn nursing_note_json(n: &crate::nursing::NursingNoteView) -> Value {
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

fn prescription_json(p: &PrescriptionView) -> Value {
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

fn document_json(d: &DocumentMeta, file: &str, sha256: &str) -> Value {
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

fn invoice_json(i: &InvoiceView) -> Value {
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

fn notification_json(n: &NotificationView) -> Value {
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

fn consents_json(c: &ConsentOverview) -> Vec<Value> {
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

/// The ZIP under construction.
struct Archive {
    zip: ZipWriter<Cursor<Vec<u8>>>,
    options: SimpleFileOptions,
}

impl Archive {
    fn new() -> Self {
        Self {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
            options: SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .unix_permissions(0o600),
        }
    }

    fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), ServiceError> {
        self.zip
            .start_file(name, self.options)
            .map_err(ServiceError::internal)?;
        self.zip.write_all(bytes).map_err(ServiceError::internal)
    }

    fn finish(self) -> Result<Vec<u8>, ServiceError> {
        Ok(self
            .zip
            .finish()
            .map_err(ServiceError::internal)?
            .into_inner())
    }
}

impl Services {
    /// The patient record an access export of `patient` by `actor` is about, or the
    /// refusal (recorded).
    async fn export_subject(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        let conn = self.store().conn();
        match actor.user_id() {
            Some(_) if actor.grant(Action::SubjectRights) == Grant::Yes => {
                match patients::find(conn, patient).await? {
                    Some(row) if row.status == ERASED_STATUS => {
                        Err(ServiceError::NotFound("patient record (it was erased)"))
                    }
                    Some(row) => Ok(row),
                    // `patients::find` leaves erased rows out; the tombstone says why.
                    None => {
                        match carevault_store::privacy::find_patient(conn, &patient.to_string())
                            .await?
                        {
                            Some(row) if row.status == ERASED_STATUS => {
                                Err(ServiceError::NotFound("patient record (it was erased)"))
                            }
                            _ => Err(ServiceError::NotFound("patient")),
                        }
                    }
                }
            }
            Some(user) if actor.reaches_own_record_only() => {
                self.patients_own_record(actor, user, patient).await
            }
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(patient.to_string()),
                    "access exports are for administrators and the patient",
                )
                .await),
        }
    }

    /// The export of the signed-in patient's own record (404 when the account is not
    /// linked to one). Patients only.
    pub async fn my_access_export(&self, actor: &Actor) -> Result<AccessExport, ServiceError> {
        let row = self
            .own_record_row(actor, ResourceType::Patient)
            .await?
            .ok_or(ServiceError::NotFound("patient record"))?;
        let id: PatientId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
        self.access_export(actor, id).await
    }

    /// Everything held about `patient`, as a ZIP (see the module comment). Administrators
    /// for anyone, a patient for themselves. Audited: the section reads, then one `export`
    /// event with the counts.
    pub async fn access_export(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<AccessExport, ServiceError> {
        let row = self.export_subject(actor, patient).await?;
        let now = self.now();
        let mut archive = Archive::new();
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        let mut section = |archive: &mut Archive,
                           name: &'static str,
                           items: Vec<Value>|
         -> Result<(), ServiceError> {
            counts.push((name, items.len()));
            let body = json!({
                "section": name,
                "patient_id": patient.to_string(),
                "generated_at": time(now),
                "count": items.len(),
                "items": items,
            });
            let text = serde_json::to_vec_pretty(&body).map_err(ServiceError::internal)?;
            archive.add(&format!("{name}.json"), &text)
        };

        let details = self.get_patient(actor, patient).await?;
        section(&mut archive, "patient", vec![patient_json(&details)])?;

        let appointments = self
            .list_appointments(
                actor,
                AppointmentQuery {
                    patient: Some(patient),
                    ..Default::default()
                },
            )
            .await?;
        section(
            &mut archive,
            "appointments",
            appointments.iter().map(appointment_json).collect(),
        )?;

        let mut encounters = Vec::new();
        for listed in self.list_encounters(actor, patient).await? {
            encounters.push(self.get_encounter(actor, &listed.id).await?);
        }
        section(
            &mut archive,
            "encounters",
            encounters.iter().map(encounter_json).collect(),
        )?;
        section(
            &mut archive,
            "diagnoses",
            encounters.iter().flat_map(diagnoses_json).collect(),
        )?;

        let vitals = self.list_vitals(actor, patient).await?;
        section(
            &mut archive,
            "vitals",
            vitals.iter().map(vitals_json).collect(),
        )?;

        let nursing_notes = if !actor.may(Action::SeeNursingNotes) {
            Vec::new()
        } else {
            self.nursing_notes(actor, patient).await?.notes
        };
        section(
            &mut archive,
            "nursing_notes",
            nursing_notes.iter().map(nursing_note_json).collect(),
        )?;

        let prescriptions = self.list_prescriptions(actor, patient).await?;
        section(
            &mut archive,
            "prescriptions",
            prescriptions.iter().map(prescription_json).collect(),
        )?;

        let mut documents = Vec::new();
        let mut document_files = Vec::new();
        for (n, listed) in self
            .list_documents(actor, patient)
            .await?
            .into_iter()
            .enumerate()
        {
            let (meta, bytes) = self.download_document(actor, &listed.id).await?;
            let file = format!(
                "documents/{:03}-{}",
                n + 1,
                safe_file_name(&meta.download_name)
            );
            let digest = hex::encode(Sha256::digest(&bytes[..]));
            archive.add(&file, &bytes)?;
            document_files.push(json!({"file": file, "sha256": digest, "size_bytes": bytes.len()}));
            documents.push(document_json(&meta, &file, &digest));
        }
        section(&mut archive, "documents", documents)?;

        let mut invoices = Vec::new();
        for summary in self
            .list_invoices(actor, Some(&patient.to_string()), None)
            .await?
        {
            invoices.push(invoice_json(&self.get_invoice(actor, &summary.id).await?));
        }
        section(&mut archive, "invoices", invoices)?;

        let notifications = self.notifications_for_access_export(actor, &row).await?;
        section(
            &mut archive,
            "notifications",
            notifications.iter().map(notification_json).collect(),
        )?;

        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        let consents = self.consent_overview_of(&row, &dek).await?;
        section(&mut archive, "consents", consents_json(&consents))?;

        let access_log = self.access_log_of(&row).await?;
        section(&mut archive, "access_log", access_log)?;

        let summary = counts
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let manifest = json!({
            "format": FORMAT,
            "patient_id": patient.to_string(),
            "generated_at": time(now),
            "generated_by_role": actor.role().map(|r| r.as_str()),
            "sections": counts.iter().map(|(name, n)| json!({
                "name": name, "file": format!("{name}.json"), "count": n,
            })).collect::<Vec<_>>(),
            "documents": document_files,
        });
        archive.add(
            "manifest.json",
            &serde_json::to_vec_pretty(&manifest).map_err(ServiceError::internal)?,
        )?;
        archive.add("README.txt", readme(&counts, now).as_bytes())?;
        let bytes = archive.finish()?;

        let mut event = self
            .audit_event(actor, AuditAction::Export, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("access export: {summary}"));
        self.record(event).await?;
        Ok(AccessExport {
            file_name: format!(
                "access-export-{}-{}.zip",
                pseudonym_of(row.pseudonym_number),
                now.format("%Y%m%d")
            ),
            bytes,
        })
    }

    /// Every audit event about the patient's record (by its pseudonym) or their portal
    /// account, oldest first, with the acting account's name: who accessed the record.
    async fn access_log_of(&self, row: &PatientRow) -> Result<Vec<Value>, ServiceError> {
        let conn = self.store().conn();
        let pseudonym = pseudonym_of(row.pseudonym_number);
        let filter = match &row.account_id {
            Some(account) => AuditFilter {
                patient_or_account: Some((pseudonym, account.clone())),
                ..Default::default()
            },
            None => AuditFilter {
                patient_pseudonym: Some(pseudonym),
                ..Default::default()
            },
        };
        let mut names: std::collections::HashMap<String, Option<String>> =
            std::collections::HashMap::new();
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let rows = audit_store::list(conn, &filter, offset, AUDIT_PAGE).await?;
            let fetched = rows.len() as u64;
            for event in rows {
                let f = event.fields;
                let actor_name = match &f.actor_id {
                    Some(id) => {
                        if !names.contains_key(id) {
                            let name = match id.parse() {
                                Ok(user) => users::find_by_id(conn, user)
                                    .await?
                                    .map(|u| u.display_name.to_string()),
                                Err(_) => None,
                            };
                            names.insert(id.clone(), name);
                        }
                        names.get(id).cloned().flatten()
                    }
                    None => None,
                };
                out.push(json!({
                    "seq": event.seq,
                    "time": time(from_micros(f.time_micros)),
                    "actor_kind": f.actor_kind,
                    "actor_id": f.actor_id,
                    "actor_name": actor_name,
                    "actor_role": f.actor_role,
                    "action": f.action,
                    "resource_type": f.resource_type,
                    "resource_id": f.resource_id,
                    "outcome": f.outcome,
                    "reason": f.reason,
                }));
            }
            if fetched < AUDIT_PAGE {
                break;
            }
            offset += fetched;
        }
        out.reverse();
        Ok(out)
    }
}

/// One processing activity of the records of processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingActivity {
    pub name: String,
    pub legal_basis: &'static str,
}

/// What one role receives: its grants in the permission matrix and its view of a patient
/// per relation (with the fields that view shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub role: &'static str,
    pub role_label: &'static str,
    /// (capability, grant), only capabilities the role holds in some form.
    pub grants: Vec<(&'static str, &'static str)>,
    /// (relation, view, fields shown in clear or masked).
    pub views: Vec<(&'static str, &'static str, Vec<&'static str>)>,
}

/// The records of processing activities (GDPR Art. 30), generated from the code: the
/// permission matrix, the masking policy, the patient fields and the consent purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingRecords {
    pub activities: Vec<ProcessingActivity>,
    /// (purpose, description, status without a record).
    pub consent_purposes: Vec<(&'static str, &'static str, &'static str)>,
    pub data_subjects: Vec<String>,
    /// (field, category, sealed at rest).
    pub data_categories: Vec<(&'static str, &'static str, bool)>,
    pub recipients: Vec<Recipient>,
    /// Clinical retention after the last encounter (`PrivacySettings`).
    pub retention_years: u32,
    /// Whether the retention job erases records past retention (otherwise it reports them).
    pub retention_erases: bool,
    pub security_measures: Vec<&'static str>,
    pub transfers: &'static str,
}

/// Patient fields that are stored in clear (see ARCHITECTURE.md, "What stays in clear").
fn stored_in_clear(field: PatientField) -> bool {
    matches!(
        field,
        PatientField::Id | PatientField::Status | PatientField::CreatedAt | PatientField::UpdatedAt
    )
}

fn data_category(field: PatientField) -> &'static str {
    if field.is_clinical() {
        "health data (Art. 9)"
    } else if field.is_own_contact_detail() {
        "contact details"
    } else {
        match field {
            PatientField::Id
            | PatientField::Status
            | PatientField::CreatedAt
            | PatientField::UpdatedAt => "record keeping",
            _ => "identity",
        }
    }
}

fn relation_label(relation: Relation) -> &'static str {
    match relation {
        Relation::Own => "own record",
        Relation::CareTeam | Relation::Share | Relation::Department | Relation::BreakGlass => {
            "care team"
        }
        Relation::None => "other patients",
    }
}

impl Services {
    /// The records of processing (Art. 30). Administrators and auditors (who may read the
    /// audit log); anyone else is refused and recorded.
    pub async fn processing_records(
        &self,
        actor: &Actor,
    ) -> Result<ProcessingRecords, ServiceError> {
        self.authorize(actor, Action::ReadAuditLog, ResourceType::System)
            .await?;
        let mut activities: Vec<ProcessingActivity> = Action::ALL
            .iter()
            .map(|c| ProcessingActivity {
                name: c.label().to_owned(),
                legal_basis: match c {
                    Action::ReadAuditLog | Action::AdministerSystem => {
                        "legal obligation (Art. 6(1)(c)): security and accountability"
                    }
                    Action::ManageBilling => "contract (Art. 6(1)(b))",
                    _ => "provision of health care (Art. 6(1)(c), Art. 9(2)(h))",
                },
            })
            .collect();
        activities.extend(ConsentPurpose::ALL.iter().map(|p| ProcessingActivity {
            name: p.description().to_owned(),
            legal_basis: "consent (Art. 6(1)(a), Art. 9(2)(a)), recorded per patient",
        }));
        let relations = [Relation::Own, Relation::CareTeam, Relation::None];
        let recipients = Role::ALL
            .iter()
            .map(|role| Recipient {
                role: role.as_str(),
                role_label: role.label(),
                grants: Action::ALL
                    .iter()
                    .filter_map(|c| {
                        let g = grant(*role, *c);
                        g.is_possible().then(|| (c.label(), g.label()))
                    })
                    .collect(),
                views: relations
                    .iter()
                    .filter(|r| {
                        (**r == Relation::Own) == grant(*role, Action::UsePortal).is_possible()
                    })
                    .filter(|r| {
                        **r != Relation::CareTeam
                            || grant(*role, Action::SeeClinical) == Grant::Scoped(Scope::CareTeam)
                    })
                    .filter_map(|r| {
                        view_for(*role, *r).map(|view| {
                            (
                                relation_label(*r),
                                view.label(),
                                PatientField::ALL
                                    .iter()
                                    .filter(|f| visibility(view, **f) != Visibility::Hidden)
                                    .map(|f| f.name())
                                    .collect(),
                            )
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(ProcessingRecords {
            activities,
            consent_purposes: ConsentPurpose::ALL
                .iter()
                .map(|p| (p.as_str(), p.description(), p.default_status().as_str()))
                .collect(),
            data_subjects: vec![
                "Patients (their record, appointments, clinical records, documents, bills, notifications, consents)".to_owned(),
                format!(
                    "Staff and other users (accounts of the roles {}; their actions in the audit trail)",
                    Role::ALL.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
                ),
            ],
            data_categories: PatientField::ALL
                .iter()
                .map(|f| (f.name(), data_category(*f), !stored_in_clear(*f)))
                .collect(),
            recipients,
            retention_years: self.settings().privacy.clinical_retention_years,
            retention_erases: self.settings().privacy.retention_erase,
            security_measures: vec![
                "Identifying and clinical fields sealed at rest with AES-256-GCM under a per-patient data key, wrapped by a rotatable key-encryption key kept outside the database",
                "Search through keyed blind indexes (HMAC-SHA256); no plaintext search columns",
                "Role-based access with a permission matrix and field masking; care-team scoping, audited emergency access",
                "Tamper-evident audit trail of every read, change and refusal (RFC 6962 Merkle tree, signed checkpoints)",
                "Server-side sessions (hashed tokens, idle and absolute timeouts), Argon2id passwords, sign-in throttling, CSRF protection",
            ],
            transfers: "None: no data is transferred to third countries or international organisations.",
        })
    }
}

fn readme(counts: &[(&str, usize)], now: DateTime<Utc>) -> String {
    let mut text = format!(
        "Carevault access export ({FORMAT})\r\n\
         Generated {} (UTC).\r\n\r\n\
         This archive holds a copy of the personal data Carevault keeps about one patient\r\n\
         (GDPR Art. 15, right of access; Art. 20, right to data portability). Each section\r\n\
         is one UTF-8 JSON file with the fields \"section\", \"patient_id\", \"generated_at\",\r\n\
         \"count\" and \"items\". Uploaded documents are under documents/, byte for byte as\r\n\
         uploaded; documents.json names each file and its SHA-256. manifest.json lists all.\r\n\r\n",
        time(now)
    );
    for (name, n) in counts {
        text.push_str(&format!("{name}.json: {n} item(s)\r\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_in_a_zip() {
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("..."), "document");
        assert_eq!(safe_file_name("Röntgen bild.png"), "R_ntgen_bild.png");
        assert!(safe_file_name(&"a".repeat(200)).len() <= 80);
    }
}
