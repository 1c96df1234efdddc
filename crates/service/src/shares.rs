//! Patient-controlled sharing: a patient grants a named doctor access to their record for a
//! number of days, and may revoke it at any time; the revocation takes effect at the next
//! access check. While a share is in force the registry treats the doctor as on the care
//! team (`Services::relation_to`).
//!
//! Only the patient manages their shares (an administrator may list them); grants and
//! revocations are audited against the patient's pseudonym. A share may instead be of one
//! signed encounter or one document (`scope`, `scope_id`): the doctor then reads that item
//! only, the record stays masked to them, and they cannot write to it. Only a whole-record
//! share counts as care (`store::record_shares::shared_among`).

use crate::audit_trail::pseudonym_of;
use carevault_core::Action;
use carevault_core::Grant;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::policy::grant;
use carevault_core::{PatientId, RecordShareId, UserId, UserStatus, ValidationErrors};
use carevault_store::patients::{self, PatientRow};
use carevault_store::record_shares::{
    self as store, RecordShareRecord, SCOPE_DOCUMENT, SCOPE_ENCOUNTER, SCOPE_RECORD,
};
use carevault_store::users;
use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::ids::requested_id;

/// The longest share, in days.
pub const MAX_DAYS: i64 = 365;
/// The share length when none is asked for.
pub const DEFAULT_DAYS: i64 = 30;
const LIST_LIMIT: u64 = 200;

/// A share as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct ShareInput {
    /// The doctor's user id.
    pub doctor_id: String,
    /// Blank: 30 days.
    pub days: Option<String>,
    /// `record` (blank), `encounter` or `document`.
    pub scope: Option<String>,
    /// The encounter's or document's id, for those scopes.
    pub scope_id: Option<String>,
}

/// One share, as the patient (or an administrator) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordShare {
    pub id: String,
    pub patient_id: PatientId,
    pub doctor_id: UserId,
    pub doctor_name: String,
    pub scope: String,
    /// The shared encounter or document, for those scopes.
    pub scope_id: Option<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// In force now.
    pub active: bool,
}

impl Services {
    /// Whether `user` holds a share of `patient`'s whole record now (the registry's check).
    pub(crate) async fn holds_record_share(
        &self,
        patient: PatientId,
        user: UserId,
    ) -> Result<bool, ServiceError> {
        Ok(store::holds_record_share(self.store().conn(), patient, user, self.now()).await?)
    }

    /// The patient's own record row, or the refusal (recorded) for anyone else — whether
    /// or not `patient` exists.
    async fn own_record_for_sharing(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        let own = match actor.user_id().filter(|_| actor.may(Action::UsePortal)) {
            Some(user) => patients::find_by_account(self.store().conn(), user).await?,
            None => None,
        };
        match own {
            Some(row) if row.id == patient => Ok(row),
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::RecordShare,
                    Some(patient.to_string()),
                    "only the patient shares their own record",
                )
                .await),
        }
    }

    /// The patient shares their record with a doctor for some days.
    pub async fn grant_record_share(
        &self,
        actor: &Actor,
        patient: PatientId,
        input: ShareInput,
    ) -> Result<RecordShare, ServiceError> {
        let row = self.own_record_for_sharing(actor, patient).await?;
        let mut errors = ValidationErrors::new();
        let doctor = match input.doctor_id.trim().parse::<UserId>() {
            Ok(id) => {
                let user = users::find_by_id(self.store().conn(), id)
                    .await?
                    .filter(|u| {
                        grant(u.role, Action::ReceiveShares).is_possible()
                            && u.status == UserStatus::Active
                    });
                if user.is_none() {
                    errors.push("doctor_id", "is not an active doctor");
                }
                user
            }
            Err(_) if input.doctor_id.trim().is_empty() => {
                errors.push("doctor_id", "is required");
                None
            }
            Err(_) => {
                errors.push("doctor_id", "is not a valid id");
                None
            }
        };
        let days = match input
            .days
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => DEFAULT_DAYS,
            Some(raw) => match raw.parse::<i64>() {
                Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
                _ => {
                    errors.push(
                        "days",
                        format!("must be a whole number of days from 1 to {MAX_DAYS}"),
                    );
                    DEFAULT_DAYS
                }
            },
        };
        let scope = match input
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None | Some(SCOPE_RECORD) => SCOPE_RECORD,
            Some(SCOPE_ENCOUNTER) => SCOPE_ENCOUNTER,
            Some(SCOPE_DOCUMENT) => SCOPE_DOCUMENT,
            Some(_) => {
                errors.push("scope", "must be record, encounter or document");
                SCOPE_RECORD
            }
        };
        let scope_id = match scope {
            SCOPE_RECORD => None,
            _ => {
                let raw = input.scope_id.as_deref().map(str::trim).unwrap_or_default();
                if self.own_item_exists(&row, scope, raw).await? {
                    Some(raw.to_owned())
                } else {
                    errors.push(
                        "scope_id",
                        format!("is not a {scope} of your record that you can see"),
                    );
                    None
                }
            }
        };
        errors.into_result()?;
        let doctor = doctor.ok_or(ServiceError::NotFound("doctor"))?;
        if scope == SCOPE_RECORD && self.holds_record_share(patient, doctor.id).await? {
            return Err(ServiceError::Conflict {
                field: Some("doctor_id"),
                message: "your record is already shared with this doctor: revoke that share first to change it".into(),
            });
        }
        // Whole microseconds, as stored: the share is presented without reading it back.
        let now = self.now().trunc_subsecs(6);
        let share = RecordShareRecord {
            id: RecordShareId::generate(),
            patient_id: patient,
            user_id: doctor.id,
            scope: scope.to_owned(),
            scope_id: scope_id.clone(),
            granted_at: now,
            expires_at: now + Duration::days(days),
            revoked_at: None,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::RecordShare)
            .resource_id(share.id.to_string())
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(match scope {
            SCOPE_RECORD => format!("record shared with a doctor for {days} days"),
            _ => format!("one {scope} shared with a doctor for {days} days"),
        });
        self.transaction(async |txn| {
            store::insert(txn, &share).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.present_share(share).await
    }

    /// Whether `raw` names an encounter (signed: the patient sees only those) or a document
    /// of this patient.
    async fn own_item_exists(
        &self,
        patient: &PatientRow,
        scope: &str,
        raw: &str,
    ) -> Result<bool, ServiceError> {
        if raw.is_empty() {
            return Ok(false);
        }
        let conn = self.store().conn();
        Ok(match scope {
            SCOPE_ENCOUNTER => match requested_id(raw) {
                Some(id) => carevault_store::encounters::find_encounter(conn, id)
                    .await?
                    .is_some_and(|e| {
                        e.patient_id == patient.id
                            && e.status == carevault_core::clinical::EncounterStatus::Signed
                    }),
                None => false,
            },
            SCOPE_DOCUMENT => match requested_id(raw) {
                Some(id) => carevault_store::documents::find(conn, id)
                    .await?
                    .is_some_and(|d| d.patient_id == patient.id),
                None => false,
            },
            _ => false,
        })
    }

    /// Whether the doctor `actor` holds a share of one item (`scope`, `id`) of `patient`'s
    /// record now.
    pub(crate) async fn holds_item_share(
        &self,
        actor: &Actor,
        patient: PatientId,
        scope: &str,
        id: &str,
    ) -> Result<bool, ServiceError> {
        let Some(user) = actor.user_id().filter(|_| actor.may(Action::ReceiveShares)) else {
            return Ok(false);
        };
        Ok(
            store::holds_item_share(self.store().conn(), patient, user, scope, id, self.now())
                .await?,
        )
    }

    /// The patient's shares, newest first: the patient's own, or any patient's for an
    /// administrator.
    pub async fn record_shares(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<RecordShare>, ServiceError> {
        if actor.grant(Action::SubjectRights) != Grant::Yes {
            self.own_record_for_sharing(actor, patient).await?;
        }
        let mut out = Vec::new();
        for row in store::for_patient(self.store().conn(), patient, LIST_LIMIT).await? {
            out.push(self.present_share(row).await?);
        }
        Ok(out)
    }

    /// A patient's own record id and its shares (`None`: the account is not linked to a
    /// record yet). Patients only.
    pub async fn my_record_shares(
        &self,
        actor: &Actor,
    ) -> Result<Option<(PatientId, Vec<RecordShare>)>, ServiceError> {
        let Some(user) = actor.user_id().filter(|_| actor.may(Action::UsePortal)) else {
            return Err(self
                .deny(actor, ResourceType::RecordShare, None, "patients only")
                .await);
        };
        let Some(row) = patients::find_by_account(self.store().conn(), user).await? else {
            return Ok(None);
        };
        let id: PatientId = row.id;
        Ok(Some((id, self.record_shares(actor, id).await?)))
    }

    /// The patient revokes a share; the doctor's access ends at once.
    pub async fn revoke_record_share(
        &self,
        actor: &Actor,
        patient: PatientId,
        share_id: &str,
    ) -> Result<RecordShare, ServiceError> {
        let row = self.own_record_for_sharing(actor, patient).await?;
        let share_id: Option<RecordShareId> = crate::ids::requested_id(share_id);
        let share = match share_id {
            Some(id) => store::find(self.store().conn(), id).await?,
            None => None,
        }
        .filter(|s| s.patient_id == patient)
        .ok_or(ServiceError::NotFound("share"))?;
        let share_id = share.id;
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::RecordShare)
            .resource_id(share_id.to_string())
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("record share revoked".into());
        self.transaction(async |txn| {
            if !store::revoke(txn, share_id, patient, self.now()).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "this share has been revoked already".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let share = store::find(self.store().conn(), share_id)
            .await?
            .ok_or(ServiceError::NotFound("share"))?;
        self.present_share(share).await
    }

    async fn present_share(&self, row: RecordShareRecord) -> Result<RecordShare, ServiceError> {
        let doctor_name = users::find_by_id(self.store().conn(), row.user_id)
            .await?
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default();
        let now = self.now();
        Ok(RecordShare {
            id: row.id.to_string(),
            patient_id: row.patient_id,
            doctor_id: row.user_id,
            doctor_name,
            scope: row.scope,
            scope_id: row.scope_id,
            granted_at: row.granted_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            active: row.revoked_at.is_none() && row.granted_at <= now && now < row.expires_at,
        })
    }
}
