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

pub(super) fn present_hold(row: LegalHoldRow, now: i64) -> Result<LegalHold, ServiceError> {
    let active = row.released_at.is_none() && row.until.is_none_or(|until| until > now);
    Ok(LegalHold {
        patient_id: row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?,
        id: row.id,
        reason: row.reason,
        set_by: row.set_by,
        set_at: from_micros(row.set_at),
        until: row.until.map(from_micros),
        released_at: row.released_at.map(from_micros),
        released_by: row.released_by,
        active,
    })
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
        let now = to_micros(self.now());
        let holds = store::holds_of(self.store().conn(), id)
            .await?
            .into_iter()
            .map(|hold| present_hold(hold, now))
            .collect::<Result<Vec<_>, _>>()?;
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
        let now = self.now();
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
        let hold = LegalHoldRow {
            id: Uuid::now_v7().to_string(),
            patient_id: row.id.to_string(),
            reason,
            set_by: actor.user_id().map(|id| id.to_string()),
            set_at: to_micros(now),
            until: until.map(to_micros),
            released_at: None,
            released_by: None,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::LegalHold)
            .resource_id(&hold.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(match until {
            Some(until) => format!(
                "legal hold until {}",
                self.local_day_of_end(to_micros(until))
            ),
            None => "legal hold until released".into(),
        });
        self.transaction(async |txn| {
            // Touch the patient row first: see `erase_row`.
            if store::touch_patient(txn, row.id).await?.is_none() {
                return Err(ServiceError::NotFound("patient"));
            }
            store::insert_hold(txn, hold.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        present_hold(hold, to_micros(now))
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
        let Some(hold) = store::find_hold(conn, hold_id.trim())
            .await?
            .filter(|hold| hold.patient_id == row.id.to_string())
        else {
            return Err(ServiceError::NotFound("legal hold"));
        };
        let now = to_micros(self.now());
        let by = actor.user_id().map(|id| id.to_string());
        let mut event = self
            .audit_event(actor, AuditAction::Delete, ResourceType::LegalHold)
            .resource_id(&hold.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("legal hold released".into());
        self.transaction(async |txn| {
            if !store::release_hold(txn, &hold.id, by.clone(), now).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "this legal hold has been released already".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let released = store::find_hold(conn, &hold.id)
            .await?
            .ok_or(ServiceError::NotFound("legal hold"))?;
        present_hold(released, now)
    }
}
