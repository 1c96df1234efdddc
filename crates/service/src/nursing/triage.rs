//! The triage at check-in: the form, recording it, and the triages of appointments.

use super::*;

/// A triage as submitted: the acuity (ESI level `1`…`5`), an optional note and optional
/// vitals (all blank: none measured). `Debug` shows nothing typed.
#[derive(Clone, Copy, Default)]
pub struct TriageInput<'a> {
    pub acuity: &'a str,
    pub note: &'a str,
    pub vitals: VitalsInput<'a>,
}

impl std::fmt::Debug for TriageInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TriageInput(…)")
    }
}

/// A triage as shown: acuity, note and the vitals measured with it (flagged).
#[derive(Clone, PartialEq, Eq)]
pub struct TriageView {
    pub id: String,
    pub appointment_id: String,
    pub patient_id: PatientId,
    pub acuity: Acuity,
    pub note: Option<String>,
    pub vitals: Option<VitalsView>,
    pub author: String,
    pub at: DateTime<Utc>,
}

impl std::fmt::Debug for TriageView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriageView")
            .field("id", &self.id)
            .field("appointment_id", &self.appointment_id)
            .finish_non_exhaustive()
    }
}
impl Services {
    /// The appointment `raw` and its patient, for a triage by `actor`: refused (recorded)
    /// unless `actor` is a nurse in the patient's care; a conflict unless the visit is
    /// checked in or in progress.
    async fn appointment_for_triage(
        &self,
        actor: &Actor,
        raw: &str,
    ) -> Result<(AppointmentRow, PatientRow, UserId), ServiceError> {
        let id: AppointmentId = raw
            .trim()
            .parse()
            .map_err(|_| ServiceError::NotFound("appointment"))?;
        let conn = self.store().conn();
        if !actor.may(Action::NursingCare) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::NursingNote,
                    Some(id.to_string()),
                    "triage is recorded by nurses",
                )
                .await);
        }
        let row = scheduling_store::find_appointment(conn, id)
            .await?
            .ok_or(ServiceError::NotFound("appointment"))?;
        let patient_id: PatientId = row.patient_id;
        let (patient, _, view) = self.load_for(actor, patient_id).await?;
        let nurse = self
            .require_nursing_writer(
                actor,
                &patient,
                view,
                "triage is recorded by nurses in the patient's care or department",
            )
            .await?;
        let status = row.status;
        if !may_be_triaged(status) {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: format!(
                    "the appointment is {}: triage is recorded once the patient is checked in",
                    status.as_str().replace('_', " ")
                ),
            });
        }
        Ok((row, patient, nurse))
    }

    /// Checks that `actor` may triage the appointment now (for the form), and returns it as
    /// they see it (recorded as a read of the appointment).
    pub async fn triage_form(
        &self,
        actor: &Actor,
        appointment: &str,
    ) -> Result<crate::scheduling::AppointmentView, ServiceError> {
        let (row, _, _) = self.appointment_for_triage(actor, appointment).await?;
        self.get_appointment(actor, row.id).await
    }

    /// A nurse records the triage of a checked-in visit: acuity, note and vitals, without
    /// any doctor or encounter. One transaction, one audit event.
    pub async fn record_triage(
        &self,
        actor: &Actor,
        appointment: &str,
        input: &TriageInput<'_>,
    ) -> Result<TriageView, ServiceError> {
        let (row, patient, nurse) = self.appointment_for_triage(actor, appointment).await?;
        let mut errors = ValidationErrors::new();
        let acuity = errors.check("acuity", Acuity::parse(input.acuity));
        let note = note_text(&mut errors, "note", input.note);
        let vitals = if any_vitals(&input.vitals) {
            match Vitals::parse(&input.vitals) {
                Ok(v) => Some(v),
                Err(found) => {
                    errors.0.extend(found.0);
                    None
                }
            }
        } else {
            None
        };
        errors.into_result()?;
        let acuity = acuity.ok_or_else(|| ServiceError::internal(anyhow::anyhow!("no acuity")))?;
        let dek = self.patient_key(&patient).await?;
        let now = self.stored_now();
        let (patient_id, appointment_id) = (patient.id, row.id);
        let vitals_row = match &vitals {
            Some(v) => {
                let id = VitalsId::generate();
                let json = serde_json::to_string(&v.fields()).map_err(ServiceError::internal)?;
                Some(VitalsRecord {
                    body: Place {
                        table: "vitals",
                        row_id: &id.to_string(),
                        patient_id: &patient.id.to_string(),
                    }
                    .seal(&dek, "body", Some(&json))?
                    .unwrap_or_default(),
                    id,
                    patient_id,
                    encounter_id: None,
                    appointment_id: Some(appointment_id),
                    recorded_by: nurse,
                    recorded_at: now,
                })
            }
            None => None,
        };
        let body = serde_json::to_string(&NoteBody {
            text: note,
            acuity: Some(acuity.as_str().to_owned()),
            vitals_id: vitals_row.as_ref().map(|v| v.id.to_string()),
        })
        .map_err(ServiceError::internal)?;
        let note_id = NursingNoteId::generate();
        let note_row = NursingNoteRecord {
            id: note_id,
            patient_id,
            appointment_id: Some(appointment_id),
            kind: NursingNoteKind::Triage,
            body: note_place(&note_id.to_string(), &patient.id.to_string())
                .seal(&dek, "body", Some(&body))?
                .unwrap_or_default(),
            author_id: nurse,
            created_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::NursingNote)
            .resource_id(note_id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(if vitals_row.is_some() {
            "triage with vitals".into()
        } else {
            "triage".into()
        });
        self.transaction(async |txn| {
            if let Some(v) = &vitals_row {
                encounter_store::insert_vitals(txn, v).await?;
            }
            store::insert_note(txn, &note_row).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let name = actor.display_name().to_owned();
        let names = |_: UserId| name.clone();
        let vitals = vitals_row
            .as_ref()
            .map(|v| self.present_vitals(v, &dek, &names))
            .transpose()?;
        self.present_note(&note_row, &dek, vitals, &names)
            .and_then(triage_of)
    }

    /// The latest triage of each of `appointments` (by appointment id), opened with the
    /// patients' data keys in `keys` (appointments of other patients are skipped). Not
    /// authorised and not audited: the calling use case has done both.
    pub(crate) async fn triages_of_appointments(
        &self,
        appointments: &[String],
        keys: &HashMap<String, DataKey>,
        name: &(dyn Fn(UserId) -> String + Sync),
    ) -> Result<HashMap<String, TriageView>, ServiceError> {
        let conn = self.store().conn();
        // An id that is not one names no appointment, so no triage.
        let appointments: Vec<AppointmentId> =
            appointments.iter().filter_map(|a| a.parse().ok()).collect();
        let rows = store::triages_of(conn, &appointments).await?;
        let mut latest: Vec<NursingNoteRecord> = Vec::new();
        let mut seen = HashSet::new();
        for row in rows {
            if keys.contains_key(&row.patient_id.to_string())
                && row.appointment_id.is_some_and(|a| seen.insert(a))
            {
                latest.push(row);
            }
        }
        let mut out = HashMap::new();
        for row in &latest {
            let Some(dek) = keys.get(&row.patient_id.to_string()) else {
                continue;
            };
            let note = self.open_notes(std::slice::from_ref(row), dek, name).await;
            let note = match note {
                Ok(mut notes) => notes.pop(),
                Err(err) => {
                    if matches!(err, ServiceError::Integrity) {
                        tracing::error!(note_id = %row.id, "a sealed triage failed its integrity check");
                    }
                    return Err(err);
                }
            };
            if let Some(triage) = note.map(triage_of).transpose()? {
                out.insert(triage.appointment_id.clone(), triage);
            }
        }
        Ok(out)
    }
}

/// A triage note as a [`TriageView`].
fn triage_of(note: NursingNoteView) -> Result<TriageView, ServiceError> {
    Ok(TriageView {
        appointment_id: note.appointment_id.ok_or(ServiceError::Integrity)?,
        acuity: note.acuity.ok_or(ServiceError::Integrity)?,
        patient_id: note.patient_id,
        id: note.id,
        note: note.text,
        vitals: note.vitals,
        author: note.author,
        at: note.at,
    })
}
