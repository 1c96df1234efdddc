//! Consent records (GDPR Art. 7): a patient's consents per purpose, granted or withdrawn,
//! with who recorded them and when.
//!
//! Rules (the vocabulary and the defaults are in `carevault_core::consent`):
//!
//! - **Who.** The patient records their own in the portal; administrators and receptionists
//!   record one for any patient (a signed paper form, a phone call). Administrators and
//!   receptionists read any patient's, the patient their own; anyone else is refused and the
//!   refusal recorded. A patient naming another record is refused whether it exists or not.
//! - **History.** A change is a new row; nothing is updated. The consent in force is the
//!   latest row per purpose, or the purpose's default when there is none.
//! - **Audited.** Recording is a `create` event on the patient (reason: purpose and status),
//!   in the same transaction; reading is a `read` event (reason "consents").
//! - **Sealed.** The optional note is free text, sealed under the patient's data key.
//! - **Used.** `service/notifications/` asks [`Services::consent_in_force`] before it
//!   queues a patient's reminders and e-mail.

use carevault_core::Action;
use carevault_core::Grant;
use std::collections::HashMap;

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::consent::{self as rules, ConsentEntry, ConsentPurpose, ConsentStatus};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{PatientId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::consents::{self as store, ConsentRow};
use carevault_store::patients::{self, PatientRow};
use carevault_store::{Conn, users};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;

const TABLE: &str = "consents";
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// The most history rows read for one patient.
const HISTORY_LIMIT: u64 = 1_000;

/// A consent change as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    /// One of `carevault_core::consent::ConsentPurpose`'s text forms.
    pub purpose: String,
    /// `granted` or `withdrawn`.
    pub status: String,
    /// Optional (a paper form's reference, …). Its content is never logged.
    pub note: Option<String>,
}

/// One consent record as shown.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: String,
    pub purpose: ConsentPurpose,
    pub status: ConsentStatus,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    pub recorded_by_name: String,
    /// Whether the patient recorded it themselves.
    pub by_patient: bool,
    pub note: Option<String>,
}

impl std::fmt::Debug for ConsentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRecord")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The consent in force for one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentConsent {
    pub purpose: ConsentPurpose,
    pub status: ConsentStatus,
    /// `None`: nothing recorded, the default applies.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A patient's consents: the one in force per purpose, and the whole history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentOverview {
    pub patient_id: PatientId,
    pub current: Vec<CurrentConsent>,
    pub history: Vec<ConsentRecord>,
}

fn entry_of(row: &ConsentRow) -> Option<ConsentEntry> {
    Some(ConsentEntry {
        purpose: ConsentPurpose::parse(&row.purpose).ok()?,
        status: ConsentStatus::parse(&row.status).ok()?,
        recorded_at: row.recorded_at,
    })
}

fn patient_id_of(row: &PatientRow) -> Result<PatientId, ServiceError> {
    Ok(row.id)
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

fn validate(
    input: &ConsentInput,
) -> Result<(ConsentPurpose, ConsentStatus, Option<String>), ServiceError> {
    let mut errors = ValidationErrors::new();
    let purpose = match ConsentPurpose::parse(&input.purpose) {
        Ok(purpose) => Some(purpose),
        Err(message) => {
            errors.push("purpose", message);
            None
        }
    };
    let status = match ConsentStatus::parse(&input.status) {
        Ok(status) => Some(status),
        Err(message) => {
            errors.push("status", message);
            None
        }
    };
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        errors.push(
            "note",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        );
    }
    if note
        .as_ref()
        .is_some_and(|n| n.chars().any(|c| c.is_control() && c != '\n' && c != '\r'))
    {
        errors.push("note", "must not contain control characters");
    }
    errors.into_result()?;
    match (purpose, status) {
        (Some(purpose), Some(status)) => Ok((purpose, status, note)),
        _ => Err(ServiceError::internal(anyhow::anyhow!(
            "consent validation passed without values"
        ))),
    }
}

impl Services {
    /// The patient whose consents `actor` may read and record: any patient for
    /// administrators and receptionists (404 if unknown or erased), the own record for a
    /// patient (anything else 403, recorded, whether it exists or not).
    async fn consent_patient(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        let conn = self.store().conn();
        match actor.user_id() {
            Some(_) if actor.grant(Action::ManageConsents) == Grant::Yes => {
                patients::find(conn, patient)
                    .await?
                    .filter(|row| !row.is_erased())
                    .ok_or(ServiceError::NotFound("patient"))
            }
            Some(user) if actor.reaches_own_record_only() => {
                self.patients_own_record(actor, user, patient).await
            }
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(patient.to_string()),
                    "consents are for the patient, administrators and reception",
                )
                .await),
        }
    }

    /// The record linked to a patient's own account (`None`: not linked); anyone but a
    /// patient is refused and recorded.
    pub(crate) async fn own_record_row(
        &self,
        actor: &Actor,
        resource: ResourceType,
    ) -> Result<Option<PatientRow>, ServiceError> {
        let Some(user) = actor.user_id().filter(|_| actor.may(Action::UsePortal)) else {
            return Err(self.deny(actor, resource, None, "patients only").await);
        };
        Ok(patients::find_by_account(self.store().conn(), user)
            .await?
            .filter(|row| !row.is_erased()))
    }

    /// The status in force for `purpose` of the patient with id `patient` (the latest
    /// record, or the purpose's default), read through `conn` (a use case's transaction).
    pub(crate) async fn consent_in_force(
        &self,
        conn: &impl Conn,
        patient: &str,
        purpose: ConsentPurpose,
    ) -> Result<ConsentStatus, ServiceError> {
        let rows = store::for_purpose(conn, patient, purpose.as_str(), 1).await?;
        let entries: Vec<ConsentEntry> = rows.iter().filter_map(entry_of).collect();
        Ok(rules::current(&entries, purpose))
    }

    /// The overview of `row`'s consents, opened with `dek` (no audit event: callers record).
    pub(crate) async fn consent_overview_of(
        &self,
        row: &PatientRow,
        dek: &DataKey,
    ) -> Result<ConsentOverview, ServiceError> {
        let patient_id: PatientId = row.id;
        let conn = self.store().conn();
        let rows = store::for_patient(conn, patient_id, HISTORY_LIMIT).await?;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut history = Vec::with_capacity(rows.len());
        let mut entries = Vec::with_capacity(rows.len());
        for consent in &rows {
            let entry = entry_of(consent).ok_or(ServiceError::Integrity)?;
            entries.push(entry);
            if !names.contains_key(&consent.recorded_by) {
                let name = match consent.recorded_by.parse() {
                    Ok(id) => users::find_by_id(conn, id)
                        .await?
                        .map(|u| u.display_name.to_string())
                        .unwrap_or_default(),
                    Err(_) => String::new(),
                };
                names.insert(consent.recorded_by.clone(), name);
            }
            let note = place(&consent.id, &consent.patient_id).open(
                dek,
                "note",
                consent.note.as_deref(),
            )?;
            history.push(ConsentRecord {
                id: consent.id.clone(),
                purpose: entry.purpose,
                status: entry.status,
                recorded_at: from_micros(consent.recorded_at),
                recorded_by_name: names.get(&consent.recorded_by).cloned().unwrap_or_default(),
                by_patient: row.account_id.map(|id| id.to_string())
                    == Some(consent.recorded_by.clone()),
                recorded_by: consent.recorded_by.clone(),
                note,
            });
        }
        let current = ConsentPurpose::ALL
            .iter()
            .map(|purpose| CurrentConsent {
                purpose: *purpose,
                status: rules::current(&entries, *purpose),
                recorded_at: rows
                    .iter()
                    .find(|r| r.purpose == purpose.as_str())
                    .map(|r| from_micros(r.recorded_at)),
            })
            .collect();
        Ok(ConsentOverview {
            patient_id,
            current,
            history,
        })
    }

    /// A patient's consents: administrators and receptionists for anyone, the patient for
    /// themselves. Audited (`read`, reason "consents").
    pub async fn patient_consents(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<ConsentOverview, ServiceError> {
        let row = self.consent_patient(actor, patient).await?;
        self.read_consents(actor, &row).await
    }

    async fn read_consents(
        &self,
        actor: &Actor,
        row: &PatientRow,
    ) -> Result<ConsentOverview, ServiceError> {
        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        let overview = self.consent_overview_of(row, &dek).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("consents".into());
        self.record(event).await?;
        Ok(overview)
    }

    /// The signed-in patient's own consents (`None`: the account is not linked to a record).
    pub async fn my_consents(
        &self,
        actor: &Actor,
    ) -> Result<Option<ConsentOverview>, ServiceError> {
        match self.own_record_row(actor, ResourceType::Patient).await? {
            Some(row) => self.read_consents(actor, &row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Records a consent change for `patient` (a new row; the history is kept). Audited in
    /// the same transaction (`create`, reason "consent <purpose> <status>").
    pub async fn record_consent(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: ConsentInput,
    ) -> Result<ConsentOverview, ServiceError> {
        let row = self.consent_patient(actor, patient).await?;
        self.write_consent(actor, &row, input).await
    }

    /// The signed-in patient records a consent change for themselves.
    pub async fn record_my_consent(
        &self,
        actor: &Actor,
        input: ConsentInput,
    ) -> Result<ConsentOverview, ServiceError> {
        let row = self
            .own_record_row(actor, ResourceType::Patient)
            .await?
            .ok_or(ServiceError::NotFound("patient record"))?;
        self.write_consent(actor, &row, input).await
    }

    async fn write_consent(
        &self,
        actor: &Actor,
        row: &PatientRow,
        input: ConsentInput,
    ) -> Result<ConsentOverview, ServiceError> {
        let (purpose, status, note) = validate(&input)?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        let id = Uuid::now_v7().to_string();
        let sealed_note = place(&id, &row.id.to_string()).seal(&dek, "note", note.as_deref())?;
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("consent {} {}", purpose.as_str(), status.as_str()));
        self.transaction(async |txn| {
            // A record is always later than the patient's previous one (by a microsecond at
            // least), so "the latest record" is never a tie within one process's clock.
            let previous = store::for_patient(txn, patient_id_of(row)?, 1)
                .await?
                .first()
                .map_or(i64::MIN, |r| r.recorded_at);
            let consent = ConsentRow {
                id: id.clone(),
                patient_id: row.id.to_string(),
                purpose: purpose.as_str().to_owned(),
                status: status.as_str().to_owned(),
                recorded_at: to_micros(self.now()).max(previous.saturating_add(1)),
                recorded_by: by.to_string(),
                note: sealed_note.clone(),
            };
            store::insert(txn, consent).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.consent_overview_of(row, &dek).await
    }
}
