//! Legal holds: listing, setting and releasing them.

use super::*;

const MIN_HOLD_REASON: usize = 3;
const MAX_HOLD_REASON: usize = 200;

/// A legal hold as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: String,
    pub patient_id: PatientId,
    pub reason: String,
    pub set_by: Option<String>,
    pub set_at: DateTime<Utc>,
    /// The hold ends at this instant (the end of its last day); `None`: until released.
    pub until: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    /// In force now.
    pub active: bool,
}

/// A new hold, before validation.
#[derive(Debug, Clone, Default)]
pub struct LegalHoldInput {
    /// A case or matter reference (3–200 characters, stored in clear).
    pub reason: String,
    /// `YYYY-MM-DD`, the hold's last day in the clinic's time zone; blank: until released.
    pub until: Option<String>,
}

pub(super) fn present_hold(hold: LegalHoldRecord, now: DateTime<Utc>) -> LegalHold {
    LegalHold {
        active: hold.in_force_at(now),
        id: hold.id.to_string(),
        patient_id: hold.patient_id,
        reason: hold.reason,
        set_by: hold.set_by.map(|id| id.to_string()),
        set_at: hold.set_at,
        until: hold.until,
        released_at: hold.released_at,
        released_by: hold.released_by.map(|id| id.to_string()),
    }
}
impl Services {
    /// The patient's legal holds, newest first. Administrators.
    pub async fn legal_holds(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Vec<LegalHold>, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        let now = self.now();
        let holds = store::holds_of(self.store().conn(), id)
            .await?
            .into_iter()
            .map(|hold| present_hold(hold, now))
            .collect();
        let event = self
            .audit_event(actor, AuditAction::Read, ResourceType::LegalHold)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        self.record(event).await?;
        Ok(holds)
    }

    /// Sets a legal hold on a patient's record. Administrators.
    pub async fn set_legal_hold(
        &self,
        actor: &Actor,
        id: PatientId,
        input: LegalHoldInput,
    ) -> Result<LegalHold, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.is_erased() {
            return Err(ServiceError::NotFound("patient"));
        }
        // Whole microseconds, as stored: the hold is presented without reading it back.
        let now = self.now().trunc_subsecs(6);
        let mut errors = ValidationErrors::new();
        let reason = input.reason.trim().to_owned();
        let length = reason.chars().count();
        if length < MIN_HOLD_REASON {
            errors.push(
                "reason",
                "is required: give the case or matter reference (no names or clinical details)",
            );
        } else if length > MAX_HOLD_REASON {
            errors.push(
                "reason",
                format!("must be at most {MAX_HOLD_REASON} characters"),
            );
        } else if reason.chars().any(char::is_control) {
            errors.push("reason", "must be one line without control characters");
        }
        let until = match input
            .until
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(day) => {
                    // The hold covers its last day in full, in the clinic's time zone.
                    let end = day
                        .succ_opt()
                        .and_then(|next| next.and_hms_opt(0, 0, 0))
                        .and_then(|midnight| {
                            midnight
                                .and_local_timezone(self.clinic_time_zone())
                                .earliest()
                        })
                        .map(|local| local.with_timezone(&Utc));
                    match end {
                        Some(end) if end > now => Some(end),
                        Some(_) => {
                            errors.push("until", "must be today or a later day");
                            None
                        }
                        None => {
                            errors.push("until", "is not a valid day");
                            None
                        }
                    }
                }
                Err(_) => {
                    errors.push("until", "must be a date (YYYY-MM-DD), or blank for no end");
                    None
                }
            },
        };
        errors.into_result()?;
        let hold = LegalHoldRecord {
            id: LegalHoldId::generate(),
            patient_id: id,
            reason,
            set_by: actor.user_id(),
            set_at: now,
            until: until.map(|until| until.trunc_subsecs(6)),
            released_at: None,
            released_by: None,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::LegalHold)
            .resource_id(hold.id.to_string())
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(match until {
            Some(until) => format!("legal hold until {}", self.local_day_of_end(until)),
            None => "legal hold until released".into(),
        });
        self.transaction(async |txn| {
            // Touch the patient row first: see `erase_row`.
            if store::touch_patient(txn, row.id).await?.is_none() {
                return Err(ServiceError::NotFound("patient"));
            }
            store::insert_hold(txn, &hold).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(present_hold(hold, now))
    }

    /// Releases a legal hold. Administrators. 409 if released already.
    pub async fn release_legal_hold(
        &self,
        actor: &Actor,
        id: PatientId,
        hold_id: &str,
    ) -> Result<LegalHold, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        let conn = self.store().conn();
        let hold = match crate::ids::requested_id::<LegalHoldId>(hold_id.trim()) {
            Some(hold_id) => store::find_hold(conn, hold_id).await?,
            None => None,
        };
        let Some(hold) = hold.filter(|hold| hold.patient_id == id) else {
            return Err(ServiceError::NotFound("legal hold"));
        };
        let now = self.now();
        let by = actor.user_id();
        let mut event = self
            .audit_event(actor, AuditAction::Delete, ResourceType::LegalHold)
            .resource_id(hold.id.to_string())
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("legal hold released".into());
        self.transaction(async |txn| {
            if !store::release_hold(txn, hold.id, by, now).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "this legal hold has been released already".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let released = store::find_hold(conn, hold.id)
            .await?
            .ok_or(ServiceError::NotFound("legal hold"))?;
        Ok(present_hold(released, now))
    }
}
