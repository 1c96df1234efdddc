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
use carevault_core::{ConsentId, PatientId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::consents::{self as store, ConsentRecord as StoredConsent};
use carevault_store::patients::{self, PatientRow};
use carevault_store::{Conn, users};
use chrono::{DateTime, TimeDelta, Utc};

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

fn entry_of(record: &StoredConsent) -> ConsentEntry {
    ConsentEntry {
        purpose: record.purpose,
        status: record.status,
        recorded_at: record.recorded_at,
    }
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
        let find_any = async {
            patients::find(self.store().conn(), patient)
                .await?
                .filter(|row| !row.is_erased())
                .ok_or(ServiceError::NotFound("patient"))
        };
        self.any_or_own_record(
            actor,
            patient,
            Action::ManageConsents,
            find_any,
            "consents are for the patient, administrators and reception",
        )
        .await
    }

    /// `patient`'s record, found by `find_any`, for a user whose role may do `action` on any
    /// patient; otherwise [`Services::own_record_or_refusal`].
    pub(crate) async fn any_or_own_record(
        &self,
        actor: &Actor,
        patient: PatientId,
        action: Action,
        find_any: impl Future<Output = Result<PatientRow, ServiceError>>,
        refusal: &str,
    ) -> Result<PatientRow, ServiceError> {
        match actor.user_id() {
            Some(_) if actor.grant(action) == Grant::Yes => find_any.await,
            _ => self.own_record_or_refusal(actor, patient, refusal).await,
        }
    }

    /// `patient`'s record if it is the patient `actor`'s own; anyone else is refused with
    /// `refusal` (recorded), whether or not `patient` exists.
    pub(crate) async fn own_record_or_refusal(
        &self,
        actor: &Actor,
        patient: PatientId,
        refusal: &str,
    ) -> Result<PatientRow, ServiceError> {
        match actor.user_id() {
            Some(user) if actor.reaches_own_record_only() => {
                self.patients_own_record(actor, user, patient).await
            }
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(patient.to_string()),
                    refusal,
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
        patient: PatientId,
        purpose: ConsentPurpose,
    ) -> Result<ConsentStatus, ServiceError> {
        let rows = store::for_purpose(conn, patient, purpose, 1).await?;
        let entries: Vec<ConsentEntry> = rows.iter().map(entry_of).collect();
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
        let mut names: HashMap<UserId, String> = HashMap::new();
        let mut history = Vec::with_capacity(rows.len());
        let entries: Vec<ConsentEntry> = rows.iter().map(entry_of).collect();
        for consent in &rows {
            if let std::collections::hash_map::Entry::Vacant(entry) =
                names.entry(consent.recorded_by)
            {
                let name = users::find_by_id(conn, consent.recorded_by)
                    .await?
                    .map(|u| u.display_name.to_string())
                    .unwrap_or_default();
                entry.insert(name);
            }
            let recorded_by = consent.recorded_by.to_string();
            let note = place(&consent.id.to_string(), &consent.patient_id.to_string()).open(
                dek,
                "note",
                consent.note.as_deref(),
            )?;
            history.push(ConsentRecord {
                id: consent.id.to_string(),
                purpose: consent.purpose,
                status: consent.status,
                recorded_at: consent.recorded_at,
                recorded_by_name: names.get(&consent.recorded_by).cloned().unwrap_or_default(),
                by_patient: row.account_id == Some(consent.recorded_by),
                recorded_by,
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
                    .find(|r| r.purpose == *purpose)
                    .map(|r| r.recorded_at),
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
        let dek = self.patient_key(row).await?;
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
        let dek = self.patient_key(row).await?;
        let id = ConsentId::generate();
        let sealed_note =
            place(&id.to_string(), &row.id.to_string()).seal(&dek, "note", note.as_deref())?;
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("consent {} {}", purpose.as_str(), status.as_str()));
        self.transaction(async |txn| {
            // A record is always later than the patient's previous one (by a microsecond at
            // least), so "the latest record" is never a tie within one process's clock.
            let patient_id = row.id;
            let now = self.now();
            let recorded_at = store::for_patient(txn, patient_id, 1)
                .await?
                .first()
                .map_or(now, |r| now.max(r.recorded_at + TimeDelta::microseconds(1)));
            let consent = StoredConsent {
                id,
                patient_id,
                purpose,
                status,
                recorded_at,
                recorded_by: by,
                note: sealed_note.clone(),
            };
            store::insert(txn, &consent).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.consent_overview_of(row, &dek).await
    }
}
