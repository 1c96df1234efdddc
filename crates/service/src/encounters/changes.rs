//! Changing an encounter: drafts, signing, amendments.

use super::*;

impl Services {
    /// Loads an encounter for a write by a doctor in the care team, and checks `action`
    /// against its status and authorship.
    pub(super) async fn encounter_for_change(
        &self,
        actor: &Actor,
        id: &str,
        action: EncounterAction,
    ) -> Result<(EncounterRecord, PatientRow, UserId, DataKey), ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, id).await?;
        let author = self.require_encounter_writer(actor, view, &patient).await?;
        if let Err(refusal) = check_encounter_action(row.status, action, row.clinician_id == author)
        {
            if refusal.is_conflict() {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: refusal.to_string(),
                });
            }
            return Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    Some(row.id.to_string()),
                    &refusal.to_string(),
                )
                .await);
        }
        let dek = self.patient_key(&patient).await?;
        Ok((row, patient, author, dek))
    }

    /// Replaces a draft's type, texts and diagnoses (its author only). `seen_updated_at` is
    /// the version the change was based on: an older one is refused (409). The form saved
    /// without vitals, prescription or signature ([`Services::save_encounter`]).
    pub async fn update_draft_encounter(
        &self,
        actor: &Actor,
        id: &str,
        input: EncounterInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<EncounterView, ServiceError> {
        let submission = DraftSubmission {
            kind: input.kind,
            texts: input.texts,
            diagnoses: input.diagnoses,
            seen_version: seen_updated_at,
            ..DraftSubmission::default()
        };
        saved_encounter(
            self.save_encounter(actor, DraftOf::Draft(id.to_owned()), submission)
                .await?,
        )
    }

    /// Signs a draft (its author only): from now on it is only amended. Its coded diagnoses
    /// are counted for the diagnoses report.
    pub async fn sign_encounter(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, _, dek) = self
            .encounter_for_change(actor, id, EncounterAction::Sign)
            .await?;
        let read_at = row.updated_at;
        let now = self.stored_now();
        let mut signed = row.clone();
        signed.status = EncounterStatus::Signed;
        signed.signed_at = Some(now);
        signed.updated_at = now.max(read_at + Duration::microseconds(1));
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Encounter)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("draft → signed".into());
        let day = self.report_day(&row);
        let diagnoses = self.open_diagnoses(&row, &dek).await?;
        self.transaction(async |txn| {
            if !store::update_encounter(txn, &signed, read_at).await? {
                return Err(changed_meanwhile());
            }
            for (d, body) in &diagnoses {
                let mut body = body.clone();
                if let Some(code) = body.code.clone() {
                    body.stat = Some(self.count_diagnosis(txn, &row, &code, day).await?);
                    let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
                    let sealed = place(
                        "encounter_diagnoses",
                        &d.id.to_string(),
                        &d.patient_id.to_string(),
                    )
                    .seal(&dek, "body", Some(&json))?
                    .unwrap_or_default();
                    store::set_diagnosis_body(txn, d.id, sealed).await?;
                }
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        tracing::info!(encounter_id = %id, "encounter signed");
        self.get_encounter(actor, id).await
    }

    /// Corrects a signed encounter: new texts, added and retracted diagnoses, with a
    /// reason. The original stays visible in the amendment (before and after).
    pub async fn amend_encounter(
        &self,
        actor: &Actor,
        id: &str,
        input: AmendmentInput,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, author, dek) = self
            .encounter_for_change(actor, id, EncounterAction::Amend)
            .await?;
        let mut errors = ValidationErrors::new();
        let reason = errors.check("reason", AmendmentReason::parse(&input.reason));
        let given: HashMap<String, String> = input
            .texts
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let new_texts = parse_texts(&mut errors, &given);
        let added = parse_diagnoses(&mut errors, "add_diagnoses", &input.add_diagnoses);
        let current = self.open_diagnoses(&row, &dek).await?;
        let mut retract = Vec::new();
        for (i, raw) in input.retract_diagnoses.iter().enumerate() {
            match current
                .iter()
                .find(|(d, _)| d.id.to_string() == raw.trim() && d.retracted_at.is_none())
            {
                Some(found) => retract.push(found),
                None => errors.push(
                    format!("retract_diagnoses[{i}]"),
                    "is not a current diagnosis of this encounter",
                ),
            }
        }
        let old = self.open_encounter(&row, &dek)?;
        let mut changes = Vec::new();
        for ((field, new), before) in new_texts.iter().zip(old.texts.iter()) {
            if let Some(new) = new
                && before.as_deref() != Some(new.as_str())
            {
                changes.push(Change {
                    field: (*field).to_owned(),
                    before: before.clone().unwrap_or_default(),
                    after: new.clone(),
                });
            }
        }
        for (_, body) in &retract {
            changes.push(Change {
                field: "diagnoses".into(),
                before: describe(body),
                after: String::new(),
            });
        }
        for entry in &added {
            changes.push(Change {
                field: "diagnoses".into(),
                before: String::new(),
                after: describe(&diagnosis_body(entry)),
            });
        }
        // The diagnoses that remain must still make a valid list.
        let mut remaining: Vec<DiagnosisEntry> = current
            .iter()
            .filter(|(d, _)| d.retracted_at.is_none() && !retract.iter().any(|(r, _)| r.id == d.id))
            .filter_map(|(d, body)| stored_entry(d, body))
            .collect();
        remaining.extend(added.iter().cloned());
        if let Err(message) = check_diagnosis_list(&remaining) {
            errors.push("add_diagnoses", message);
        }
        if changes.is_empty() && errors.is_empty() {
            errors.push("texts", "the amendment changes nothing");
        }
        errors.into_result()?;
        let reason = reason.ok_or(ServiceError::Forbidden)?;
        let read_at = row.updated_at;
        let now = self.stored_now();
        let mut amended = row.clone();
        let merged: Vec<(&'static str, Option<String>)> = new_texts
            .iter()
            .zip(old.texts.iter())
            .map(|((field, new), before)| (*field, new.clone().or_else(|| before.clone())))
            .collect();
        seal_texts(&mut amended, &dek, &merged)?;
        amended.updated_at = now.max(read_at + Duration::microseconds(1));
        let note_id = EncounterNoteId::generate();
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Encounter)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("amendment {note_id} ({} changes)", changes.len()));
        let day = self.report_day(&row);
        self.transaction(async |txn| {
            if !store::update_encounter(txn, &amended, read_at).await? {
                return Err(changed_meanwhile());
            }
            let mut retracted_ids = Vec::new();
            for (d, body) in &retract {
                store::retract_diagnosis(txn, d.id, row.id, now).await?;
                if let Some(stat) = &body.stat {
                    store::delete_stat(txn, stat).await?;
                }
                retracted_ids.push(d.id.to_string());
            }
            let added_ids = self
                .insert_diagnoses(txn, &amended, &dek, &added, author, Some(day))
                .await?
                .iter()
                .map(ToString::to_string)
                .collect();
            let body = serde_json::to_string(&AmendmentBody {
                reason: reason.as_str().to_owned(),
                changes: changes.clone(),
                added: added_ids,
                retracted: retracted_ids,
            })
            .map_err(ServiceError::internal)?;
            let note = new_note(
                &row,
                &dek,
                note_id,
                EncounterNoteKind::Amendment,
                &body,
                author,
                now,
            )?;
            store::insert_note(txn, &note).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_encounter(actor, id).await
    }
}
