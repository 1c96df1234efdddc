//! Reading and changing one patient's record, the patient's own record, and linking a
//! patient account.

use super::*;

impl Services {
    /// One patient, as the actor may see them. Audited (fail closed).
    pub async fn get_patient(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<PatientDetails, ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        let details = self.present_one(&row, &data, view).await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number)),
        )
        .await?;
        Ok(details)
    }

    /// The id of the record linked to a patient's own account (`None`: not linked). Anyone
    /// but a patient is refused, and the refusal recorded.
    pub(crate) async fn own_patient_id(
        &self,
        actor: &Actor,
    ) -> Result<Option<PatientId>, ServiceError> {
        let Some(user_id) = actor.user_id().filter(|_| actor.may(Action::UsePortal)) else {
            return Err(self
                .deny(actor, ResourceType::Patient, None, "patients only")
                .await);
        };
        Ok(patients::find_by_account(self.store().conn(), user_id)
            .await?
            .map(|row| row.id))
    }

    /// `Ok` for roles that register patients and manage their care teams (administrators,
    /// receptionists); otherwise the refusal, recorded against the patient if there is one.
    pub(super) async fn require_registration_rights(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
    ) -> Result<(), ServiceError> {
        if actor.grant(Action::RegisterPatients) == carevault_core::Grant::Yes {
            return Ok(());
        }
        Err(self
            .deny(
                actor,
                ResourceType::Patient,
                patient.map(|id| id.to_string()),
                "requires registration rights",
            )
            .await)
    }

    /// The patient's own page (record and care team, one audited read), if their account is
    /// linked to a record.
    pub async fn my_patient_page(
        &self,
        actor: &Actor,
    ) -> Result<Option<(PatientDetails, Vec<CareTeamMember>)>, ServiceError> {
        self.with_own_record(actor, async |id| self.patient_page(actor, id).await)
            .await
    }

    /// The patient record linked to a patient's own account, if any.
    pub async fn my_patient_record(
        &self,
        actor: &Actor,
    ) -> Result<Option<PatientDetails>, ServiceError> {
        self.with_own_record(actor, async |id| self.get_patient(actor, id).await)
            .await
    }

    /// `read` of the record linked to a patient's own account; `None` when none is linked
    /// (anyone but a patient is refused, see [`Services::own_patient_id`]).
    async fn with_own_record<T>(
        &self,
        actor: &Actor,
        read: impl AsyncFnOnce(PatientId) -> Result<T, ServiceError>,
    ) -> Result<Option<T>, ServiceError> {
        match self.own_patient_id(actor).await? {
            Some(id) => read(id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Changes a patient. Who may change what: administrators everything; receptionists
    /// demographics; doctors on the care team the clinical fields; a patient their own
    /// contact details. Audited with the names (never the values) of the changed fields.
    ///
    /// `seen_updated_at` is the `updated_at` of the copy the change was made on (an edit
    /// form carries it): if the record changed since, nothing is written and the answer is
    /// a conflict, so one person's edit never silently undoes another's. Whatever the
    /// caller says, the write itself only succeeds if the record is still as this call read
    /// it.
    pub async fn update_patient(
        &self,
        actor: &Actor,
        id: PatientId,
        input: PatientInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<PatientDetails, ServiceError> {
        let (row, relation, view) = self.load_for(actor, id).await?;
        let changed = input.changed_fields();
        if let Some(field) = changed
            .iter()
            .find(|field| !may_write(actor.role(), relation, **field))
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(id.to_string()),
                    &format!("may not change {}", field.name()),
                )
                .await);
        }
        if !input.allergies.is_keep() {
            return Err(ValidationErrors::single(
                PatientField::Allergies.name(),
                format!(
                    "are kept in the patient's allergy list: record or change them at /patients/{id}/allergies (API: /api/v1/patients/{id}/allergies)"
                ),
            )
            .into());
        }
        // Only now (after the refusal of forbidden fields was recorded): is the caller's copy
        // still the stored version?
        if seen_updated_at.is_some_and(|seen| to_micros(seen) != to_micros(row.updated_at)) {
            return Err(changed_meanwhile());
        }
        let status = parse_status_change(&input.status)?;
        let current = self.open_row(actor, &row, AuditAction::Update).await?;
        if changed.is_empty() {
            return self.read_unchanged(actor, &row, &current, view).await;
        }
        let data = apply_input(&input, Some(&current), &current.mrn, self.today())?;
        let status = status.filter(|status| *status != row.status);
        let mut names: Vec<&str> = differing_fields(&current, &data)
            .into_iter()
            .map(PatientField::name)
            .collect();
        if status.is_some() {
            names.push(PatientField::Status.name());
        }
        if names.is_empty() {
            // Everything submitted equals what is stored (a form saved unchanged).
            return self.read_unchanged(actor, &row, &current, view).await;
        }
        let ring = self.key_ring();
        let dek = self.patient_key(&row).await?;
        let mut updated = row.clone();
        seal_into(&mut updated, &dek, &data)?;
        if let Some(status) = status {
            updated.status = status;
        }
        updated.updated_at = version_after(row.updated_at, self.now());
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("changed: {}", names.join(", ")));
        self.transaction(async |txn| {
            if !patients::update(
                txn,
                updated.clone(),
                row.updated_at,
                &index_entries(&ring, &data),
            )
            .await?
            {
                return Err(changed_meanwhile());
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        tracing::info!(patient_id = %id, fields = names.len(), "patient changed");
        self.present_one(&updated, &data, view).await
    }

    /// The answer to a change that changes nothing: the record as it stands, recorded as
    /// read.
    async fn read_unchanged(
        &self,
        actor: &Actor,
        row: &PatientRow,
        current: &PatientData,
        view: PatientView,
    ) -> Result<PatientDetails, ServiceError> {
        let details = self.present_one(row, current, view).await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number)),
        )
        .await?;
        Ok(details)
    }

    /// A patient's page: the record as the actor may see it and the care team, as one
    /// audited read.
    pub async fn patient_page(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<(PatientDetails, Vec<CareTeamMember>), ServiceError> {
        let (row, _, view) = self.load_for(actor, id).await?;
        let data = self.open_row(actor, &row, AuditAction::Read).await?;
        let details = self.present_one(&row, &data, view).await?;
        let members = if sees_care_team(view) {
            self.care_team_members(id).await?
        } else {
            Vec::new()
        };
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number)),
        )
        .await?;
        Ok((details, members))
    }

    /// The fields the actor may fill in: at a registration (`id` = `None`), or on the record
    /// `id`. Refused (and recorded) when there are none, so an edit or registration form is
    /// offered only to someone who may submit it. Returns no patient data and records no read.
    pub async fn writable_patient_fields(
        &self,
        actor: &Actor,
        id: Option<PatientId>,
    ) -> Result<Vec<PatientField>, ServiceError> {
        let relation = match id {
            None => {
                self.require_registration_rights(actor, None).await?;
                Relation::None
            }
            Some(id) => self.load_for(actor, id).await?.1,
        };
        let fields = writable_fields(actor.role(), relation, id.is_some());
        if fields.is_empty() {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    id.map(|id| id.to_string()),
                    "may not change this record",
                )
                .await);
        }
        Ok(fields)
    }

    /// The row of `patient` when it is the record linked to the patient account `user` (and
    /// not erased); otherwise a refusal, recorded, whether the record exists or not (no
    /// existence oracle for another patient's id).
    pub(crate) async fn patients_own_record(
        &self,
        actor: &Actor,
        user: UserId,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        match patients::find_by_account(self.store().conn(), user).await? {
            Some(row) if row.id == patient && !row.is_erased() => Ok(row),
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Patient,
                    Some(patient.to_string()),
                    "not the patient's own record",
                )
                .await),
        }
    }

    /// Links a patient record to a patient's portal account. Administrators.
    pub async fn link_patient_account(
        &self,
        actor: &Actor,
        id: PatientId,
        username: &str,
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = patients::find(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("patient"))?;
        let user = users::find_by_username(self.store().conn(), username)
            .await?
            .filter(|user| grant(user.role, Action::UsePortal).is_possible())
            .ok_or_else(|| ValidationErrors::single("username", "must be a patient account"))?;
        let mut updated = row.clone();
        updated.account_id = Some(user.id);
        updated.updated_at = version_after(row.updated_at, self.now());
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(format!("portal account linked: {}", user.id));
        self.transaction(async |txn| {
            let ring = self.key_ring();
            let dek = self.patient_key(&row).await?;
            let data = open_all(&row, &dek)?;
            match patients::update(
                txn,
                updated.clone(),
                row.updated_at,
                &index_entries(&ring, &data),
            )
            .await
            {
                Ok(false) => return Err(changed_meanwhile()),
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("username"),
                        message: "is already linked to another patient".into(),
                    });
                }
                other => {
                    other?;
                }
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}
