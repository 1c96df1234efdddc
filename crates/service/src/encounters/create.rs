//! Creating an encounter and its diagnoses.

use super::*;

impl Services {
    /// Starts an encounter (a draft) for a patient in the doctor's care: the form saved
    /// without vitals, prescription or signature ([`Services::save_encounter`]).
    pub async fn create_encounter(
        &self,
        actor: &Actor,
        input: EncounterInput,
    ) -> Result<EncounterView, ServiceError> {
        let of = DraftOf::New {
            patient_id: input.patient_id,
            appointment_id: input.appointment_id,
        };
        let submission = DraftSubmission {
            kind: input.kind,
            texts: input.texts,
            diagnoses: input.diagnoses,
            ..DraftSubmission::default()
        };
        saved_encounter(self.save_encounter(actor, of, submission).await?)
    }

    pub(super) async fn appointment_of_patient(
        &self,
        raw: &str,
        patient: &PatientRow,
    ) -> Result<Option<carevault_store::scheduling::AppointmentRow>, ServiceError> {
        let Ok(id) = raw.parse() else {
            return Ok(None);
        };
        Ok(
            carevault_store::scheduling::find_appointment(self.store().conn(), id)
                .await?
                .filter(|a| a.patient_id == patient.id),
        )
    }

    pub(super) async fn insert_diagnoses(
        &self,
        conn: &impl carevault_store::Conn,
        encounter: &EncounterRecord,
        dek: &DataKey,
        entries: &[DiagnosisEntry],
        author: UserId,
        counted_on: Option<DateTime<Utc>>,
    ) -> Result<Vec<DiagnosisId>, ServiceError> {
        let now = self.stored_now();
        let mut ids = Vec::new();
        for entry in entries {
            let id = DiagnosisId::generate();
            let mut body = diagnosis_body(entry);
            if let (Some(day), Some(code)) = (counted_on, &body.code) {
                body.stat = Some(self.count_diagnosis(conn, encounter, code, day).await?);
            }
            let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
            let sealed = place(
                "encounter_diagnoses",
                &id.to_string(),
                &encounter.patient_id.to_string(),
            )
            .seal(dek, "body", Some(&json))?
            .unwrap_or_default();
            store::insert_diagnosis(
                conn,
                &DiagnosisRecord {
                    id,
                    encounter_id: encounter.id,
                    patient_id: encounter.patient_id,
                    kind: entry.kind(),
                    free_text: entry.is_free_text(),
                    body: sealed,
                    added_by: author,
                    added_at: now,
                    retracted_at: None,
                },
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// Adds a de-identified count for the diagnoses report; returns its id.
    pub(super) async fn count_diagnosis(
        &self,
        conn: &impl carevault_store::Conn,
        encounter: &EncounterRecord,
        code: &str,
        day: DateTime<Utc>,
    ) -> Result<String, ServiceError> {
        let id = Uuid::now_v7().to_string();
        store::insert_stat(
            conn,
            &DiagnosisStatRecord {
                id: id.clone(),
                code: code.to_owned(),
                department_id: encounter.department_id,
                recorded_day: day,
            },
        )
        .await?;
        Ok(id)
    }

    /// The local day an encounter counts on in the diagnoses report (micros of its start).
    pub(super) fn report_day(&self, encounter: &EncounterRecord) -> DateTime<Utc> {
        let settings = &self.settings().scheduling;
        settings.day_start(settings.local_date(encounter.started_at))
    }
}
