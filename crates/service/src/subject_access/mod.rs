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
use carevault_store::patients::{self, PatientRow};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::Services;
use crate::actor::Actor;
use crate::audit_log::ActorNames;
use crate::billing::{InvoiceView, LineView, PaymentView};
use crate::consents::ConsentOverview;
use crate::documents::DocumentMeta;
use crate::encounters::{EncounterView, VitalsView};
use crate::error::ServiceError;
use crate::notifications::NotificationView;
use crate::patients::PatientDetails;
use crate::prescriptions::PrescriptionView;
use crate::scheduling::{AppointmentQuery, AppointmentView};

mod json;
mod records;

use json::*;
pub use records::*;

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
        let find_any = async {
            match patients::find(conn, patient).await? {
                Some(row) if row.is_erased() => {
                    Err(ServiceError::NotFound("patient record (it was erased)"))
                }
                Some(row) => Ok(row),
                // `patients::find` leaves erased rows out; the tombstone says why.
                None => match carevault_store::privacy::find_patient(conn, patient).await? {
                    Some(row) if row.is_erased() => {
                        Err(ServiceError::NotFound("patient record (it was erased)"))
                    }
                    _ => Err(ServiceError::NotFound("patient")),
                },
            }
        };
        self.any_or_own_record(
            actor,
            patient,
            Action::SubjectRights,
            find_any,
            "access exports are for administrators and the patient",
        )
        .await
    }

    /// The export of the signed-in patient's own record (404 when the account is not
    /// linked to one). Patients only.
    pub async fn my_access_export(&self, actor: &Actor) -> Result<AccessExport, ServiceError> {
        let row = self
            .own_record_row(actor, ResourceType::Patient)
            .await?
            .ok_or(ServiceError::NotFound("patient record"))?;
        let id: PatientId = row.id;
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

        let dek = self.patient_key(&row).await?;
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
                patient_or_account: Some((pseudonym, account.to_string())),
                ..Default::default()
            },
            None => AuditFilter {
                patient_pseudonym: Some(pseudonym),
                ..Default::default()
            },
        };
        let mut names = ActorNames::default();
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let rows = audit_store::list(conn, &filter, offset, AUDIT_PAGE).await?;
            let fetched = rows.len() as u64;
            for event in rows {
                let f = event.fields;
                let actor_name = names.of(conn, f.actor_id.as_deref()).await?;
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
