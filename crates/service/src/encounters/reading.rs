//! Reading encounters: loading them, presenting them as the actor may see them, with their vitals.

use super::*;

impl Services {
    /// Loads an encounter the actor may read, with the patient and view.
    pub(crate) async fn load_encounter(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(EncounterRecord, PatientRow, PatientView), ServiceError> {
        let row = match requested_id(id) {
            Some(id) => store::find_encounter(self.store().conn(), id).await?,
            None => None,
        };
        let Some(row) = row else {
            let id = Some(id.to_owned());
            return Err(self
                .missing(actor, ResourceType::Encounter, id, "encounter")
                .await);
        };
        let patient_id = row.patient_id;
        // A doctor the patient shared this one (signed) encounter with reads it, and only it.
        if row.status == EncounterStatus::Signed
            && self
                .holds_item_share(
                    actor,
                    patient_id,
                    carevault_store::record_shares::SCOPE_ENCOUNTER,
                    &row.id.to_string(),
                )
                .await?
        {
            let patient = carevault_store::patients::find(self.store().conn(), patient_id)
                .await?
                .ok_or(ServiceError::Integrity)?;
            return Ok((row, patient, PatientView::Full));
        }
        let (patient, view) = self.clinical_access(actor, patient_id).await?;
        if view == PatientView::Own && row.status != EncounterStatus::Signed {
            // A patient sees their encounters once signed.
            return Err(ServiceError::NotFound("encounter"));
        }
        Ok((row, patient, view))
    }

    /// One encounter, as the actor may see it. Audited.
    pub async fn get_encounter(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, id).await?;
        let shown = self
            .present_encounter(actor, &row, &patient, view, true)
            .await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Encounter)
                .resource_id(row.id.to_string())
                .patient(pseudonym_of(patient.pseudonym_number)),
        )
        .await?;
        Ok(shown)
    }

    /// The patient's encounters, newest first, as the actor may see them (without notes and
    /// vitals). Audited as one listing of the patient.
    pub async fn list_encounters(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<Vec<EncounterView>, ServiceError> {
        let (patient, view) = self.clinical_access(actor, patient_id).await?;
        let rows = store::encounters_of(self.store().conn(), patient_id, LIST_LIMIT).await?;
        let mut out = Vec::new();
        for row in rows {
            if view == PatientView::Own && row.status != EncounterStatus::Signed {
                continue;
            }
            out.push(
                self.present_encounter(actor, &row, &patient, view, false)
                    .await?,
            );
        }
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Encounter)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} encounters", out.len()));
        self.record(event).await?;
        Ok(out)
    }

    async fn present_encounter(
        &self,
        actor: &Actor,
        row: &EncounterRecord,
        patient: &PatientRow,
        view: PatientView,
        with_details: bool,
    ) -> Result<EncounterView, ServiceError> {
        let conn = self.store().conn();
        let dek = self.patient_key(patient).await?;
        let opened = match self.open_encounter(row, &dek) {
            Ok(mut opened) => self.open_diagnoses(row, &dek).await.map(|diagnoses| {
                opened.diagnoses = diagnoses;
                opened
            }),
            Err(err) => Err(err),
        };
        let opened = match opened {
            Ok(opened) => opened,
            Err(ServiceError::Integrity) => {
                return Err(self.encounter_integrity_failure(actor, row, patient).await);
            }
            Err(other) => return Err(other),
        };
        let accounts: HashMap<UserId, (String, Role)> = users::list(conn)
            .await?
            .into_iter()
            .map(|u| (u.id, (u.display_name.as_str().to_owned(), u.role)))
            .collect();
        let name = |id: UserId| accounts.get(&id).map(|a| a.0.clone()).unwrap_or_default();
        let own = view == PatientView::Own;
        let visible = |field: &str| !own || PATIENT_TEXT_FIELDS.contains(&field);
        let texts = TEXT_FIELDS
            .iter()
            .zip(opened.texts)
            .map(|(field, value)| (*field, visible(field).then_some(value)))
            .collect();
        let mut amendments = Vec::new();
        let mut notes = Vec::new();
        let mut vitals = Vec::new();
        let mut addenda = Vec::new();
        let mut appointment = None;
        if with_details && view == PatientView::Full {
            appointment = self.encounter_appointment(actor, row).await?;
        }
        if with_details {
            for note in store::notes_of(conn, row.id).await? {
                let body = place(
                    "encounter_notes",
                    &note.id.to_string(),
                    &note.patient_id.to_string(),
                )
                .open(&dek, "body", Some(&note.body))
                .and_then(|b| b.ok_or(ServiceError::Integrity));
                let body = match body {
                    Ok(body) => body,
                    Err(_) => {
                        return Err(self.encounter_integrity_failure(actor, row, patient).await);
                    }
                };
                match note.note_kind {
                    EncounterNoteKind::Amendment => {
                        let parsed: AmendmentBody =
                            serde_json::from_str(&body).map_err(integrity)?;
                        amendments.push(AmendmentView {
                            id: note.id.to_string(),
                            author: name(note.author_id),
                            at: note.created_at,
                            reason: parsed.reason,
                            changes: parsed
                                .changes
                                .into_iter()
                                .filter(|c| visible(&c.field) || c.field == "diagnoses")
                                .collect(),
                        });
                    }
                    EncounterNoteKind::Addendum if !own => addenda.push(AddendumView {
                        id: note.id.to_string(),
                        author: name(note.author_id),
                        author_role: accounts.get(&note.author_id).map(|a| a.1),
                        at: note.created_at,
                        text: body,
                    }),
                    EncounterNoteKind::Addendum => {}
                    EncounterNoteKind::Treatment if !own => notes.push(NoteView {
                        id: note.id.to_string(),
                        author: name(note.author_id),
                        at: note.created_at,
                        text: body,
                    }),
                    EncounterNoteKind::Treatment => {}
                }
            }
            for v in store::vitals_of(conn, row.patient_id, Some(row.id), LIST_LIMIT).await? {
                vitals.push(self.present_vitals(&v, &dek, &name)?);
            }
        }
        let diagnoses = opened
            .diagnoses
            .into_iter()
            .map(|(d, body)| DiagnosisView {
                id: d.id.to_string(),
                kind: d.kind,
                code: body.code,
                text: body.text,
                free_text: d.free_text,
                added_by: name(d.added_by),
                added_at: d.added_at,
                retracted_at: d.retracted_at,
            })
            .collect();
        let status = row.status;
        let is_author = actor.user_id() == Some(row.clinician_id);
        // Writers must be in the patient's care (a share of one encounter only reads it).
        let in_care = match actor.user_id() {
            Some(user) if view == PatientView::Full => {
                let id = row.patient_id;
                self.in_care_of(user, &[id]).await?.contains(&id)
            }
            _ => false,
        };
        let doctor_in_care = in_care && actor.may(Action::WriteEncounters);
        let clinician_in_care = in_care && actor.may(Action::WriteClinicalNotes);
        let label = if view.shows_identity() {
            let (given, family) = crate::patients::open_names(patient, &dek)?;
            format!("{given} {family}")
        } else {
            pseudonym_of(patient.pseudonym_number)
        };
        Ok(EncounterView {
            id: row.id.to_string(),
            patient_id: row.patient_id,
            patient_label: label,
            clinician_id: row.clinician_id,
            clinician_name: name(row.clinician_id),
            appointment_id: row.appointment_id.map(|id| id.to_string()),
            appointment,
            kind: row.kind,
            status,
            started_at: row.started_at,
            signed_at: row.signed_at,
            texts,
            diagnoses,
            amendments,
            notes,
            vitals,
            may_edit: doctor_in_care
                && check_encounter_action(status, EncounterAction::Edit, is_author).is_ok(),
            may_sign: doctor_in_care
                && check_encounter_action(status, EncounterAction::Sign, is_author).is_ok(),
            may_amend: doctor_in_care
                && check_encounter_action(status, EncounterAction::Amend, is_author).is_ok(),
            may_add_note: clinician_in_care && status == EncounterStatus::Draft,
            may_add_addendum: clinician_in_care && status == EncounterStatus::Signed,
            addenda,
            updated_at: row.updated_at,
        })
    }

    /// The appointment of an encounter, as its page shows it.
    async fn encounter_appointment(
        &self,
        actor: &Actor,
        row: &EncounterRecord,
    ) -> Result<Option<EncounterAppointment>, ServiceError> {
        let Some(id) = row.appointment_id else {
            return Ok(None);
        };
        let conn = self.store().conn();
        let Some(found) = carevault_store::scheduling::find_appointment(conn, id).await? else {
            return Ok(None);
        };
        let department = carevault_store::scheduling::find_department(conn, found.department_id)
            .await?
            .map(|d| d.name)
            .unwrap_or_default();
        let status = found.status;
        let own = actor.user_id() == found.clinician_id;
        Ok(Some(EncounterAppointment {
            id,
            start: found.start_at,
            end: found.end_at,
            department,
            kind: found.kind,
            status,
            may_complete: own && status == AppointmentStatus::InProgress,
        }))
    }

    /// A new vitals row for `patient` (on `encounter`, if given), sealed.
    pub(super) fn vitals_row(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
        encounter: Option<EncounterId>,
        recorder: UserId,
        vitals: &Vitals,
    ) -> Result<VitalsRecord, ServiceError> {
        let id = VitalsId::generate();
        let json = serde_json::to_string(&vitals.fields()).map_err(ServiceError::internal)?;
        Ok(VitalsRecord {
            id,
            patient_id: patient.id,
            encounter_id: encounter,
            appointment_id: None,
            body: place("vitals", &id.to_string(), &patient.id.to_string())
                .seal(dek, "body", Some(&json))?
                .unwrap_or_default(),
            recorded_by: recorder,
            recorded_at: self.stored_now(),
        })
    }

    pub(crate) fn present_vitals(
        &self,
        row: &VitalsRecord,
        dek: &DataKey,
        name: &dyn Fn(UserId) -> String,
    ) -> Result<VitalsView, ServiceError> {
        let json = place("vitals", &row.id.to_string(), &row.patient_id.to_string())
            .open(dek, "body", Some(&row.body))?
            .ok_or(ServiceError::Integrity)?;
        let pairs: Vec<(String, String)> = serde_json::from_str(&json).map_err(integrity)?;
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let vitals = Vitals::from_fields(&borrowed).map_err(integrity)?;
        Ok(VitalsView {
            id: row.id.to_string(),
            encounter_id: row.encounter_id.map(|id| id.to_string()),
            appointment_id: row.appointment_id.map(|id| id.to_string()),
            recorded_by: name(row.recorded_by),
            at: row.recorded_at,
            measurements: crate::vitals::measurements(&vitals),
            bmi: crate::vitals::bmi(&vitals),
        })
    }

    async fn encounter_integrity_failure(
        &self,
        actor: &Actor,
        row: &EncounterRecord,
        patient: &PatientRow,
    ) -> ServiceError {
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Encounter)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.outcome = carevault_core::audit::Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(encounter_id = %row.id, "sealed encounter data failed its integrity check");
        match self.record(event).await {
            Ok(_) => ServiceError::Integrity,
            Err(err) => err,
        }
    }

    pub(crate) async fn open_diagnoses(
        &self,
        row: &EncounterRecord,
        dek: &DataKey,
    ) -> Result<Vec<(DiagnosisRecord, DiagnosisBody)>, ServiceError> {
        store::diagnoses_of(self.store().conn(), row.id)
            .await?
            .into_iter()
            .map(|d| open_diagnosis(&d, dek).map(|body| (d, body)))
            .collect()
    }

    pub(super) fn open_encounter(
        &self,
        row: &EncounterRecord,
        dek: &DataKey,
    ) -> Result<Opened, ServiceError> {
        let (id, patient_id) = (row.id.to_string(), row.patient_id.to_string());
        let p = place("encounters", &id, &patient_id);
        let texts = vec![
            p.open(dek, "chief_complaint", row.chief_complaint.as_deref())?,
            p.open(dek, "history", row.history.as_deref())?,
            p.open(dek, "examination", row.examination.as_deref())?,
            p.open(dek, "assessment", row.assessment.as_deref())?,
            p.open(dek, "plan", row.plan.as_deref())?,
        ];
        Ok(Opened {
            texts,
            diagnoses: Vec::new(),
        })
    }
}
