//! Recording allergies and "no known allergies", and changing an entry's status.

use super::*;

/// An allergy as submitted, before validation. Its `Debug` output shows no value.
#[derive(Clone, Default)]
pub struct AllergyRequest {
    /// A code of `carevault_core::allergy::CODED_SUBSTANCES`, or (with `free_text`) words.
    pub substance: String,
    pub free_text: bool,
    pub reaction: Option<String>,
    /// Blank: unknown.
    pub severity: String,
    /// Blank: active.
    pub status: String,
}

impl std::fmt::Debug for AllergyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllergyRequest")
            .field("free_text", &self.free_text)
            .finish_non_exhaustive()
    }
}

/// A status change of an entry, before validation.
#[derive(Clone, Default)]
pub struct AllergyStatusRequest {
    /// `active`, `inactive` or `entered_in_error`.
    pub status: String,
    pub reason: Option<String>,
}

impl std::fmt::Debug for AllergyStatusRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllergyStatusRequest")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A status change's reason, checked.
/// Why a "no known allergies" statement stops being in force when an allergy is recorded.
const ALLERGY_RECORDED: &str = "superseded: an allergy was recorded";
/// Why it does when the statement is recorded again.
const RECORDED_AGAIN: &str = "superseded: recorded again";

fn parse_reason(raw: Option<&str>) -> Result<Option<String>, ValidationErrors> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > REASON_MAX => Err(ValidationErrors::single(
            "reason",
            format!("must be at most {REASON_MAX} characters"),
        )),
        Some(text) => ClinicalText::parse(text)
            .map(|t| Some(t.as_str().to_owned()))
            .map_err(|m| ValidationErrors::single("reason", m)),
    }
}
impl Services {
    /// Makes the patient's active "no known allergies" statements inactive with `reason` (an
    /// allergy is recorded or reactivated, or the statement recorded again); how many there
    /// were.
    async fn retire_statements(
        &self,
        conn: &impl Conn,
        patient_id: PatientId,
        dek: &DataKey,
        by: UserId,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize, ServiceError> {
        let mut retired = 0;
        for row in store::of_patient(conn, patient_id).await? {
            if row.entry_kind != AllergyEntryKind::NoKnownAllergies
                || row.status != AllergyStatus::Active
            {
                continue;
            }
            let reason = place(&row.id.to_string(), &row.patient_id.to_string()).seal(
                dek,
                "status_reason",
                Some(reason),
            )?;
            if store::set_status(
                conn,
                row.id,
                AllergyStatus::Active,
                AllergyStatus::Inactive,
                reason,
                by,
                at.max(row.updated_at + Duration::microseconds(1)),
            )
            .await?
            {
                retired += 1;
            }
        }
        Ok(retired)
    }

    /// Whether the patient has an active allergy entry with this coded substance (inside
    /// the caller's transaction).
    async fn active_code(
        &self,
        conn: &impl Conn,
        patient_id: PatientId,
        dek: &DataKey,
        code: &str,
    ) -> Result<bool, ServiceError> {
        for row in store::of_patient(conn, patient_id).await? {
            if row.entry_kind != AllergyEntryKind::Allergy || row.status != AllergyStatus::Active {
                continue;
            }
            let json = place(&row.id.to_string(), &row.patient_id.to_string())
                .open(dek, "body", Some(&row.body))?
                .ok_or(ServiceError::Integrity)?;
            let body: Body = serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)?;
            if body.code.as_deref() == Some(code) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the patient has an active allergy entry (inside the caller's transaction).
    async fn has_active_allergy(
        &self,
        conn: &impl Conn,
        patient_id: PatientId,
    ) -> Result<bool, ServiceError> {
        Ok(store::of_patient(conn, patient_id)
            .await?
            .iter()
            .any(|row| {
                row.entry_kind == AllergyEntryKind::Allergy && row.status == AllergyStatus::Active
            }))
    }

    /// The patient's list and who writes to it, if `actor` may record allergies for them;
    /// otherwise the refusal, recorded.
    async fn allergy_writer(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<(crate::chart_lists::ChartListAccess, UserId), ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::WriteAllergies,
                ResourceType::Allergy,
            )
            .await?;
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        Ok((access, by))
    }

    /// A new entry of `access`'s patient recorded by `by`, sealed under the patient's data
    /// key: the row, the key and the moment it is recorded at.
    async fn sealed_entry(
        &self,
        access: &crate::chart_lists::ChartListAccess,
        by: UserId,
        kind: AllergyEntryKind,
        status: AllergyStatus,
        body: &Body,
    ) -> Result<(AllergyRecord, DataKey, DateTime<Utc>), ServiceError> {
        let dek = self.patient_key(&access.patient).await?;
        let now = self.stored_now();
        let row = new_entry(&dek, access.patient.id, kind, status, body, Some(by), now)?;
        Ok((row, dek, now))
    }

    /// Records an allergy (doctors and nurses in the patient's care). An active "no known
    /// allergies" statement becomes inactive in the same transaction; a coded substance that
    /// is already active is refused (409). One `create` event.
    pub async fn record_allergy(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        request: AllergyRequest,
    ) -> Result<AllergyView, ServiceError> {
        let (access, by) = self.allergy_writer(actor, patient_id).await?;
        let input = AllergyInput::parse(&AllergyFields {
            substance: &request.substance,
            free_text: request.free_text,
            reaction: request.reaction.as_deref(),
            severity: &request.severity,
            status: &request.status,
        })?;
        let patient = &access.patient;
        let (row, dek, now) = self
            .sealed_entry(
                &access,
                by,
                AllergyEntryKind::Allergy,
                input.status(),
                &body_of(&input, false),
            )
            .await?;
        let id = row.id;
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Allergy)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        self.transaction(async |txn| {
            let mut event = event.clone();
            patient_store::lock_row(txn, patient.id).await?;
            if input.status() == AllergyStatus::Active
                && let Some(code) = input.substance().code()
                && self.active_code(txn, patient_id, &dek, code).await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("substance"),
                    message: "this substance is already recorded as an active allergy: change that entry instead".into(),
                });
            }
            if input.status() == AllergyStatus::Active
                && self
                    .retire_statements(txn, patient_id, &dek, by, now, ALLERGY_RECORDED)
                    .await?
                    > 0
            {
                event.reason = Some("allergy recorded; \"no known allergies\" made inactive".into());
            }
            store::insert(txn, &row).await?;
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        tracing::info!(patient_id = %patient.id, entry_id = %id, "allergy recorded");
        open_entry(&row, &dek, &self.account_names().await?)
    }

    /// Records "no known allergies" (doctors and nurses in the patient's care): refused
    /// (409) while an allergy is active; a previous statement is replaced. One `create`
    /// event.
    pub async fn record_no_known_allergies(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<AllergyView, ServiceError> {
        let (access, by) = self.allergy_writer(actor, patient_id).await?;
        let patient = &access.patient;
        let (row, dek, now) = self
            .sealed_entry(
                &access,
                by,
                AllergyEntryKind::NoKnownAllergies,
                AllergyStatus::Active,
                &Body::default(),
            )
            .await?;
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Allergy)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("no known allergies".into());
        self.transaction(async |txn| {
            patient_store::lock_row(txn, patient.id).await?;
            if self.has_active_allergy(txn, patient_id).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "allergies are recorded as active: mark them inactive or entered in error before recording \"no known allergies\"".into(),
                });
            }
            self.retire_statements(txn, patient_id, &dek, by, now, RECORDED_AGAIN)
                .await?;
            store::insert(txn, &row).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        open_entry(&row, &dek, &self.account_names().await?)
    }

    /// Changes an entry's status (doctors and nurses in the patient's care), with an
    /// optional reason: `active ↔ inactive`, either → `entered_in_error` (final).
    /// Reactivating an allergy makes an active "no known allergies" inactive; reactivating
    /// the statement is refused while an allergy is active. With `patient`, an entry of
    /// another patient is not found. One `status_changed` event.
    pub async fn change_allergy_status(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
        entry_id: &str,
        request: AllergyStatusRequest,
    ) -> Result<AllergyView, ServiceError> {
        let (row, access, by) = self
            .entry_for_change::<AllergyRecord>(actor, entry_id, patient)
            .await?;
        let patient_id = row.patient_id;
        let mut errors = ValidationErrors::new();
        let to = errors.check("status", AllergyStatus::parse(&request.status));
        let reason = match parse_reason(request.reason.as_deref()) {
            Ok(reason) => reason,
            Err(found) => {
                errors.0.extend(found.0);
                None
            }
        };
        errors.into_result()?;
        let to = to.ok_or_else(|| ValidationErrors::single("status", "is required"))?;
        let from = row.status;
        from.check_change(to).map_err(status_conflict)?;
        // An entry taken out of force stops warning when prescribing: the next clinician must
        // be able to read why.
        if to != AllergyStatus::Active && reason.is_none() {
            return Err(ValidationErrors::single(
                "reason",
                "is required: say why the allergy no longer applies or was entered in error",
            )
            .into());
        }
        let patient = &access.patient;
        let dek = self.patient_key(patient).await?;
        let sealed_reason = place(&row.id.to_string(), &patient_id.to_string()).seal(
            &dek,
            "status_reason",
            reason.as_deref(),
        )?;
        let now = self
            .stored_now()
            .max(row.updated_at + Duration::microseconds(1));
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Allergy)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{from} → {to}"));
        let statement = row.entry_kind == AllergyEntryKind::NoKnownAllergies;
        self.transaction(async |txn| {
            let mut event = event.clone();
            patient_store::lock_row(txn, patient.id).await?;
            if to == AllergyStatus::Active {
                if statement && self.has_active_allergy(txn, patient_id).await? {
                    return Err(ServiceError::Conflict {
                        field: Some("status"),
                        message: "allergies are recorded as active: \"no known allergies\" cannot be in force with them".into(),
                    });
                }
                let code = open_entry(&row, &dek, &AccountNames::default())?.code;
                if let Some(code) = code.as_deref()
                    && self.active_code(txn, patient_id, &dek, code).await?
                {
                    return Err(ServiceError::Conflict {
                        field: Some("status"),
                        message: "this substance is recorded as an active allergy in another entry"
                            .into(),
                    });
                }
                if !statement
                    && self
                        .retire_statements(txn, patient_id, &dek, by, now, ALLERGY_RECORDED)
                        .await?
                        > 0
                {
                    event.reason = Some(format!(
                        "{from} → {to}; \"no known allergies\" made inactive"
                    ));
                }
            }
            if !store::set_status(txn, row.id, from, to, sealed_reason.clone(), by, now)
            .await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the entry was changed meanwhile: reload it".into(),
                });
            }
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        let changed = store::find(self.store().conn(), row.id)
            .await?
            .ok_or(ServiceError::NotFound("allergy entry"))?;
        open_entry(&changed, &dek, &self.account_names().await?)
    }
}
