//! Break-the-glass: a doctor or nurse outside a patient's care team states a reason and gets
//! time-limited access to that one patient's record at once. The grant is its own audit
//! action (`break_glass`), shown with a red banner while it lasts, and waits in an
//! administrators' review queue (justified or not, with a note) that the admin dashboard
//! counts.
//!
//! Rules decided here: the reason is 20–1,000 characters; the duration 15 minutes to 24 hours
//! (default 4 hours); a clinician already on the care team is told so instead (409); a second
//! grant while one is active is allowed (it extends nothing; both are reviewed); the stated
//! reason and the reviewer's note are sealed under the patient's data key, so the audit event
//! records only the duration. While a grant is active the patient registry treats the holder
//! as on the care team (`Services::relation_to`).

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::masking::PatientView;
use carevault_core::{Action, EmergencyAccessId, PatientId, UserId, ValidationErrors};
use carevault_store::emergency_access::{self as store, EmergencyAccessRecord};
use carevault_store::patients::{self, PatientRow};
use carevault_store::{care_team, users};
use chrono::{DateTime, Duration, SubsecRound, Utc};

use carevault_crypto::data_key::DataKey;

use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::{Services, patients::Shown};

const TABLE: &str = "emergency_access";
/// The shortest reason accepted.
pub const MIN_REASON_CHARS: usize = 20;
const MAX_REASON_CHARS: usize = 1000;
/// The longest grant, in minutes (24 hours).
pub const MAX_MINUTES: i64 = 24 * 60;
/// The grant length when none is asked for (4 hours).
pub const DEFAULT_MINUTES: i64 = 4 * 60;
const MIN_MINUTES: i64 = 15;
const QUEUE_LIMIT: u64 = 500;

/// A request for emergency access, before validation.
#[derive(Clone, Default)]
pub struct EmergencyAccessInput {
    pub patient_id: String,
    pub reason: String,
    /// Blank: 4 hours.
    pub duration_minutes: Option<String>,
}

impl std::fmt::Debug for EmergencyAccessInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyAccessInput")
            .field("patient_id", &self.patient_id)
            .finish_non_exhaustive()
    }
}

pub use carevault_core::emergency::ReviewStatus;

/// One grant as the caller may see it: the holder sees their own (reason included);
/// administrators see every grant with the patient named and the review.
#[derive(Clone, PartialEq, Eq)]
pub struct EmergencyGrant {
    pub id: String,
    pub patient_id: PatientId,
    /// The patient's name (administrators, and the holder while the grant is active), else
    /// the pseudonym.
    pub patient_label: String,
    pub user_id: UserId,
    pub clinician_name: String,
    pub reason: Option<String>,
    pub duration_minutes: u32,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Whether the grant is in force now.
    pub active: bool,
    pub review_status: ReviewStatus,
    pub review_note: Shown<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for EmergencyGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmergencyGrant")
            .field("id", &self.id)
            .field("patient_id", &self.patient_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Seals or opens `column` of `grant` under its patient's data key.
fn seal(
    grant: &EmergencyAccessRecord,
    dek: &DataKey,
    column: &str,
    value: &str,
) -> Result<Vec<u8>, ServiceError> {
    let (row_id, patient_id) = (grant.id.to_string(), grant.patient_id.to_string());
    let place = Place {
        table: TABLE,
        row_id: &row_id,
        patient_id: &patient_id,
    };
    Ok(place.seal(dek, column, Some(value))?.unwrap_or_default())
}

fn open(
    grant: &EmergencyAccessRecord,
    dek: &DataKey,
    column: &str,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, ServiceError> {
    let (row_id, patient_id) = (grant.id.to_string(), grant.patient_id.to_string());
    let place = Place {
        table: TABLE,
        row_id: &row_id,
        patient_id: &patient_id,
    };
    place.open(dek, column, sealed)
}

impl Services {
    /// The unerased patient `id` names, for a form's `patient_id` field (also used by
    /// follow-up reminders); an unknown one is a validation error of that field.
    pub(crate) async fn known_patient(
        &self,
        errors: &mut ValidationErrors,
        id: Option<PatientId>,
    ) -> Result<Option<PatientRow>, ServiceError> {
        let Some(id) = id else {
            return Ok(None);
        };
        let row = patients::find(self.store().conn(), id)
            .await?
            .filter(|row| !row.is_erased());
        if row.is_none() {
            errors.push("patient_id", "is not a known patient");
        }
        Ok(row)
    }

    /// Breaks the glass: grants `actor` (a doctor or nurse outside the patient's care team)
    /// access to one patient's record for a while, at once. Audited as `break_glass`; the
    /// grant waits for an administrator's review.
    pub async fn request_emergency_access(
        &self,
        actor: &Actor,
        input: EmergencyAccessInput,
    ) -> Result<EmergencyGrant, ServiceError> {
        let Some(user) = actor.user_id().filter(|_| actor.may(Action::BreakTheGlass)) else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::EmergencyAccess,
                    None,
                    "emergency access is for doctors and nurses",
                )
                .await);
        };
        let mut errors = ValidationErrors::new();
        let patient_id: Option<PatientId> = match input.patient_id.trim() {
            "" => {
                errors.push("patient_id", "is required");
                None
            }
            raw => match raw.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("patient_id", "is not a valid id");
                    None
                }
            },
        };
        let reason = input.reason.trim().to_owned();
        let length = reason.chars().count();
        if length < MIN_REASON_CHARS {
            errors.push(
                "reason",
                format!("must say why, in at least {MIN_REASON_CHARS} characters (it is reviewed)"),
            );
        } else if length > MAX_REASON_CHARS {
            errors.push(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            );
        } else if reason
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            errors.push("reason", "must not contain control characters");
        }
        let minutes = match input
            .duration_minutes
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => DEFAULT_MINUTES,
            Some(raw) => match raw.parse::<i64>() {
                Ok(m) if (MIN_MINUTES..=MAX_MINUTES).contains(&m) => m,
                _ => {
                    errors.push(
                        "duration_minutes",
                        format!(
                            "must be a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES} (24 hours)"
                        ),
                    );
                    DEFAULT_MINUTES
                }
            },
        };
        let patient = self.known_patient(&mut errors, patient_id).await?;
        errors.into_result()?;
        let patient = patient.ok_or(ServiceError::NotFound("patient"))?;
        let patient_id: PatientId = patient.id;
        if care_team::is_member(self.store().conn(), patient_id, user).await? {
            return Err(ServiceError::Conflict {
                field: Some("patient_id"),
                message:
                    "you are on this patient's care team already: no emergency access is needed"
                        .into(),
            });
        }
        // Whole microseconds, as stored: the grant is presented without reading it back.
        let now = self.now().trunc_subsecs(6);
        let id = EmergencyAccessId::generate();
        let dek = self.patient_key(&patient).await?;
        let mut row = EmergencyAccessRecord {
            id,
            patient_id,
            user_id: user,
            reason: Vec::new(),
            duration_minutes: u32::try_from(minutes).unwrap_or(240),
            granted_at: now,
            expires_at: now + Duration::minutes(minutes),
            review_status: ReviewStatus::Pending,
            review_note: None,
            reviewed_by: None,
            reviewed_at: None,
        };
        row.reason = seal(&row, &dek, "reason", &reason)?;
        let mut event = self
            .audit_event(actor, AuditAction::BreakGlass, ResourceType::Patient)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!(
            "emergency access for {minutes} minutes (grant {id}; the stated reason is in the review queue)"
        ));
        self.transaction(async |txn| {
            store::insert(txn, &row).await?;
            self.queue_break_glass_alerts(txn, actor, &patient, &dek, minutes, &id.to_string())
                .await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        tracing::warn!(grant = %id, patient_id = %patient.id, minutes, "emergency access granted (break the glass)");
        self.present_grant(&row, Some(&patient), PatientView::Full, Some(&dek))
            .await
    }

    /// The actor's emergency access to `patient` in force now, if any (for the red banner).
    pub async fn active_emergency_access(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Option<EmergencyGrant>, ServiceError> {
        let Some(user) = actor.user_id() else {
            return Ok(None);
        };
        let Some(row) = store::active(self.store().conn(), patient, user, self.now()).await? else {
            return Ok(None);
        };
        self.present_grant(&row, None, PatientView::Pseudonymous, None)
            .await
            .map(Some)
    }

    /// Grants for the review queue (administrators: all, or those in `status`), or the
    /// caller's own grants (doctors and nurses). Administrators' views open the reasons and
    /// are recorded as listed.
    pub async fn emergency_grants(
        &self,
        actor: &Actor,
        status: Option<ReviewStatus>,
    ) -> Result<Vec<EmergencyGrant>, ServiceError> {
        let admin = actor.may(Action::ReviewEmergencyAccess);
        let holder = actor.may(Action::BreakTheGlass);
        if !admin && !holder {
            return Err(self
                .deny(
                    actor,
                    ResourceType::EmergencyAccess,
                    None,
                    "the review queue is for administrators",
                )
                .await);
        }
        let rows = store::list(
            self.store().conn(),
            if admin { None } else { actor.user_id() },
            status,
            QUEUE_LIMIT,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut events = Vec::new();
        for row in rows {
            let patient = patients::find(self.store().conn(), row.patient_id).await?;
            // Administrators see every grant in full; a holder sees the patient named only
            // while their grant lasts, and always their own stated reason.
            let active = row.in_force_at(self.now());
            let (view, dek) = match &patient {
                Some(patient) => (
                    if admin || active {
                        PatientView::Full
                    } else {
                        PatientView::Pseudonymous
                    },
                    Some(self.patient_key(patient).await?),
                ),
                None => (PatientView::Pseudonymous, None),
            };
            let grant = self
                .present_grant(&row, patient.as_ref(), view, dek.as_ref())
                .await?;
            if admin && let Some(patient) = &patient {
                let mut event = self
                    .audit_event(actor, AuditAction::Listed, ResourceType::Patient)
                    .resource_id(&patient.id)
                    .patient(pseudonym_of(patient.pseudonym_number));
                event.reason = Some("emergency access review queue".into());
                events.push(event);
            }
            out.push(grant);
        }
        self.record_all(events).await?;
        Ok(out)
    }

    /// How many grants await review (the admin dashboard's alert). Administrators.
    pub async fn pending_emergency_reviews(&self, actor: &Actor) -> Result<u64, ServiceError> {
        self.authorize(
            actor,
            Action::AdministerSystem,
            ResourceType::EmergencyAccess,
        )
        .await?;
        Ok(store::pending_count(self.store().conn()).await?)
    }

    /// Records an administrator's review of a grant: justified or not, with a note.
    pub async fn review_emergency_access(
        &self,
        actor: &Actor,
        id: &str,
        verdict: &str,
        note: &str,
    ) -> Result<EmergencyGrant, ServiceError> {
        self.authorize(
            actor,
            Action::AdministerSystem,
            ResourceType::EmergencyAccess,
        )
        .await?;
        let reviewer = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let mut errors = ValidationErrors::new();
        let verdict = ReviewStatus::parse(verdict).and_then(|v| match v {
            ReviewStatus::Pending => Err("must be justified or unjustified".to_owned()),
            v => Ok(v),
        });
        let note = note.trim();
        if note.chars().count() < 3 || note.chars().count() > MAX_REASON_CHARS {
            errors.push("note", format!("must be 3–{MAX_REASON_CHARS} characters"));
        }
        let verdict = match verdict {
            Ok(verdict) => {
                errors.into_result()?;
                verdict
            }
            Err(message) => {
                errors.push("verdict", message);
                return Err(errors.into());
            }
        };
        let not_found = || ServiceError::NotFound("emergency access grant");
        let id: EmergencyAccessId = crate::ids::requested_id(id).ok_or_else(not_found)?;
        let row = store::find(self.store().conn(), id)
            .await?
            .ok_or_else(not_found)?;
        let patient = patients::find(self.store().conn(), row.patient_id)
            .await?
            .ok_or(ServiceError::Integrity)?;
        let dek = self.patient_key(&patient).await?;
        let sealed = seal(&row, &dek, "review_note", note)?;
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::EmergencyAccess)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("emergency access reviewed: {}", verdict.as_str()));
        self.transaction(async |txn| {
            if !store::review(txn, id, verdict, sealed.clone(), reviewer, self.now()).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "this grant has been reviewed already".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let row = store::find(self.store().conn(), id)
            .await?
            .ok_or_else(not_found)?;
        self.present_grant(&row, Some(&patient), PatientView::Full, Some(&dek))
            .await
    }

    async fn present_grant(
        &self,
        row: &EmergencyAccessRecord,
        patient: Option<&PatientRow>,
        view: PatientView,
        dek: Option<&DataKey>,
    ) -> Result<EmergencyGrant, ServiceError> {
        let conn = self.store().conn();
        let clinician_name = users::find_by_id(conn, row.user_id)
            .await?
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default();
        let reviewed_by = match row.reviewed_by {
            Some(id) => users::find_by_id(conn, id)
                .await?
                .map(|u| u.display_name.as_str().to_owned()),
            None => None,
        };
        let label = match (patient, view, dek) {
            (Some(patient), PatientView::Full, Some(dek)) => {
                let data = crate::patients::open_names(patient, dek)?;
                format!("{} {}", data.0, data.1)
            }
            (Some(patient), _, _) => pseudonym_of(patient.pseudonym_number),
            (None, _, _) => String::new(),
        };
        let (reason, note) = match dek {
            Some(dek) => (
                open(row, dek, "reason", Some(&row.reason))?,
                Some(open(row, dek, "review_note", row.review_note.as_deref())?),
            ),
            None => (None, None),
        };
        Ok(EmergencyGrant {
            id: row.id.to_string(),
            patient_id: row.patient_id,
            patient_label: label,
            user_id: row.user_id,
            clinician_name,
            reason,
            duration_minutes: row.duration_minutes,
            granted_at: row.granted_at,
            expires_at: row.expires_at,
            active: row.in_force_at(self.now()),
            review_status: row.review_status,
            review_note: note,
            reviewed_by,
            reviewed_at: row.reviewed_at,
        })
    }
}
