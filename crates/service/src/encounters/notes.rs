//! Nurses' treatment notes and vitals.

use super::*;

/// The text of a note (a treatment note, an addendum, a nursing note), checked; an error
/// names the field `text`.
pub(crate) fn note_text(raw: &str) -> Result<ClinicalText, ValidationErrors> {
    ClinicalText::parse(raw).map_err(|message| ValidationErrors::single("text", message))
}

impl Services {
    /// The encounter `encounter_id` names and its patient, if `actor` may append to it (a
    /// doctor or nurse of the care team: a treatment note, an addendum), and who writes;
    /// otherwise the refusal (`refusal`), recorded.
    pub(crate) async fn encounter_for_note(
        &self,
        actor: &Actor,
        encounter_id: &str,
        refusal: &str,
    ) -> Result<(EncounterRecord, PatientRow, UserId), ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, encounter_id).await?;
        let author = self
            .require_clinical_writer(actor, view, Action::WriteClinicalNotes, &patient, refusal)
            .await?;
        Ok((row, patient, author))
    }

    /// A nurse (or doctor) in the care team adds a timestamped treatment note to an open
    /// (draft) encounter.
    pub async fn add_treatment_note(
        &self,
        actor: &Actor,
        encounter_id: &str,
        text: &str,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, author) = self
            .encounter_for_note(
                actor,
                encounter_id,
                "treatment notes are written by the care team",
            )
            .await?;
        if row.status != EncounterStatus::Draft {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: "the encounter is signed: treatment notes go to an open encounter".into(),
            });
        }
        let text = note_text(text)?;
        let dek = self.patient_key(&patient).await?;
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Encounter)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("treatment note".into());
        self.transaction(async |txn| {
            let note = new_note(
                &row,
                &dek,
                EncounterNoteId::generate(),
                EncounterNoteKind::Treatment,
                text.as_str(),
                author,
                self.stored_now(),
            )?;
            store::insert_note(txn, &note).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_encounter(actor, encounter_id).await
    }

    /// Records vitals for a patient in the care of a nurse or doctor, optionally on an open
    /// encounter of theirs.
    pub async fn record_vitals(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        encounter_id: Option<&str>,
        input: &VitalsInput<'_>,
    ) -> Result<VitalsView, ServiceError> {
        let (patient, view) = self.clinical_access(actor, patient_id).await?;
        let recorder = self
            .require_clinical_writer(
                actor,
                view,
                Action::WriteClinicalNotes,
                &patient,
                "vitals are recorded by the care team",
            )
            .await?;
        let vitals = Vitals::parse(input)?;
        let encounter = match encounter_id.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let found = match requested_id(raw) {
                    Some(id) => store::find_encounter(self.store().conn(), id).await?,
                    None => None,
                };
                let row = found
                    .filter(|e| e.patient_id == patient_id)
                    .ok_or_else(|| {
                        ValidationErrors::single(
                            "encounter_id",
                            "is not an encounter of this patient",
                        )
                    })?;
                if row.status != EncounterStatus::Draft {
                    return Err(ValidationErrors::single(
                        "encounter_id",
                        "is signed: vitals go to an open encounter",
                    )
                    .into());
                }
                Some(row.id)
            }
        };
        let dek = self.patient_key(&patient).await?;
        let row = self.vitals_row(&patient, &dek, encounter, recorder, &vitals)?;
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Vitals)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        self.transaction(async |txn| {
            store::insert_vitals(txn, &row).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let name = actor.display_name().to_owned();
        self.present_vitals(&row, &dek, &|_| name.clone())
    }

    /// The patient's vitals, newest first, for those who may read their clinical record.
    pub async fn list_vitals(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<Vec<VitalsView>, ServiceError> {
        let (patient, _) = self.clinical_access(actor, patient_id).await?;
        let dek = self.patient_key(&patient).await?;
        let names = self.account_names().await?;
        let name = |id: UserId| names.of(id);
        let mut out = Vec::new();
        for row in store::vitals_of(self.store().conn(), patient_id, None, LIST_LIMIT).await? {
            out.push(self.present_vitals(&row, &dek, &name)?);
        }
        let event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Vitals)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        self.record(event).await?;
        Ok(out)
    }
}
