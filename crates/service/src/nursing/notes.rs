//! Nursing notes: adding, listing and presenting them.

use super::*;

/// A nursing note or a triage, as listed on the patient's nursing notes.
#[derive(Clone, PartialEq, Eq)]
pub struct NursingNoteView {
    pub id: String,
    pub patient_id: PatientId,
    pub kind: NursingNoteKind,
    pub appointment_id: Option<String>,
    pub author: String,
    pub at: DateTime<Utc>,
    /// The note's text (a triage's note may be empty).
    pub text: Option<String>,
    /// A triage's acuity.
    pub acuity: Option<Acuity>,
    /// A triage's vitals.
    pub vitals: Option<VitalsView>,
}

impl std::fmt::Debug for NursingNoteView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NursingNoteView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A patient's nursing notes, as the actor may see them.
#[derive(Debug, Clone)]
pub struct NursingNotes {
    pub patient_id: PatientId,
    /// The patient as the actor may see them (full view: the name).
    pub patient_label: String,
    /// Newest first.
    pub notes: Vec<NursingNoteView>,
    /// Whether the actor may add one (a nurse in the patient's care).
    pub may_write: bool,
}

/// Opens the sealed body of a nursing note (or triage).
fn open_note_body(row: &NursingNoteRecord, dek: &DataKey) -> Result<NoteBody, ServiceError> {
    let json = note_place(&row.id.to_string(), &row.patient_id.to_string())
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    serde_json::from_str(&json).map_err(integrity)
}

pub(super) fn note_place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: "nursing_notes",
        row_id,
        patient_id,
    }
}

/// A note's text, if given.
pub(super) fn note_text(errors: &mut ValidationErrors, field: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    errors
        .check(field, ClinicalText::parse(raw))
        .map(|t| t.as_str().to_owned())
}
impl Services {
    /// A nurse in the patient's care adds a nursing note (no encounter needed).
    pub async fn add_nursing_note(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        text: &str,
    ) -> Result<NursingNoteView, ServiceError> {
        let (patient, _, view) = self.load_for(actor, patient_id).await?;
        let nurse = self
            .require_nursing_writer(
                actor,
                &patient,
                view,
                "nursing notes are written by nurses in the patient's care or department",
            )
            .await?;
        let text = crate::encounters::note_text(text)?;
        let dek = self.patient_key(&patient).await?;
        let body = serde_json::to_string(&NoteBody {
            text: Some(text.as_str().to_owned()),
            acuity: None,
            vitals_id: None,
        })
        .map_err(ServiceError::internal)?;
        let id = NursingNoteId::generate();
        let row = NursingNoteRecord {
            id,
            patient_id: patient.id,
            appointment_id: None,
            kind: NursingNoteKind::Nursing,
            body: note_place(&id.to_string(), &patient.id.to_string())
                .seal(&dek, "body", Some(&body))?
                .unwrap_or_default(),
            author_id: nurse,
            created_at: self.stored_now(),
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::NursingNote)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("nursing note".into());
        self.transaction(async |txn| {
            store::insert_note(txn, &row).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let name = actor.display_name().to_owned();
        self.present_note(&row, &dek, None, &|_| name.clone())
    }

    /// The patient's nursing notes and triages, newest first, for those with the full view.
    /// Recorded as one listing.
    pub async fn nursing_notes(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<NursingNotes, ServiceError> {
        let patient = self.nursing_reader(actor, patient_id).await?;
        let dek = self.patient_key(&patient).await?;
        let conn = self.store().conn();
        let rows = store::notes_of(conn, patient_id, NOTES_LIMIT).await?;
        let names = self.account_names().await?;
        let name = |id: UserId| names.of(id);
        let opened = self.open_notes(&rows, &dek, &name).await;
        let notes = match opened {
            Ok(notes) => notes,
            Err(ServiceError::Integrity) => {
                return Err(self.nursing_integrity_failure(actor, &patient).await);
            }
            Err(other) => return Err(other),
        };
        let may_write = match (actor.user_id(), actor.role()) {
            (Some(user), _) if actor.may(Action::NursingCare) => self
                .in_care_of(user, &[patient_id])
                .await?
                .contains(&patient_id),
            _ => false,
        };
        let (given, family) = crate::patients::open_names(&patient, &dek)?;
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::NursingNote)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} nursing notes", notes.len()));
        self.record(event).await?;
        Ok(NursingNotes {
            patient_id,
            patient_label: format!("{given} {family}"),
            notes,
            may_write,
        })
    }

    /// The patient's latest nursing notes and triages (newest first, at most `limit`),
    /// opened with `dek`, for the chart. Not authorised and not audited here: the calling
    /// use case has done both for the patient.
    pub(crate) async fn nursing_notes_of(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
        limit: u64,
    ) -> Result<Vec<NursingNoteView>, ServiceError> {
        let id: PatientId = patient.id;
        let rows = store::notes_of(self.store().conn(), id, limit).await?;
        let names = self.account_names().await?;
        let name = |id: UserId| names.of(id);
        self.open_notes(&rows, dek, &name).await
    }

    /// Opens nursing-note rows (of one patient, under `dek`) with their vitals.
    pub(super) async fn open_notes(
        &self,
        rows: &[NursingNoteRecord],
        dek: &DataKey,
        name: &(dyn Fn(UserId) -> String + Sync),
    ) -> Result<Vec<NursingNoteView>, ServiceError> {
        let bodies = rows
            .iter()
            .map(|row| open_note_body(row, dek))
            .collect::<Result<Vec<_>, _>>()?;
        // An id that is not one names no vitals: the note does not open, as below.
        let vitals_ids: Vec<VitalsId> = bodies
            .iter()
            .filter_map(|b| b.vitals_id.as_deref()?.parse().ok())
            .collect();
        let mut vitals: HashMap<String, VitalsView> = HashMap::new();
        for v in encounter_store::vitals_by_ids(self.store().conn(), &vitals_ids).await? {
            // A vitals row of another patient never opens under this key.
            vitals.insert(v.id.to_string(), self.present_vitals(&v, dek, name)?);
        }
        rows.iter()
            .zip(bodies)
            .map(|(row, body)| {
                let shown = body
                    .vitals_id
                    .as_ref()
                    .map(|id| vitals.get(id).cloned().ok_or(ServiceError::Integrity))
                    .transpose()?;
                self.note_view(row, body, shown, name)
            })
            .collect()
    }

    pub(super) fn present_note(
        &self,
        row: &NursingNoteRecord,
        dek: &DataKey,
        vitals: Option<VitalsView>,
        name: &(dyn Fn(UserId) -> String + Sync),
    ) -> Result<NursingNoteView, ServiceError> {
        let body = open_note_body(row, dek)?;
        self.note_view(row, body, vitals, name)
    }

    fn note_view(
        &self,
        row: &NursingNoteRecord,
        body: NoteBody,
        vitals: Option<VitalsView>,
        name: &(dyn Fn(UserId) -> String + Sync),
    ) -> Result<NursingNoteView, ServiceError> {
        Ok(NursingNoteView {
            id: row.id.to_string(),
            patient_id: row.patient_id,
            kind: row.kind,
            appointment_id: row.appointment_id.map(|id| id.to_string()),
            author: name(row.author_id),
            at: row.created_at,
            text: body.text,
            acuity: body
                .acuity
                .as_deref()
                .map(Acuity::parse)
                .transpose()
                .map_err(integrity)?,
            vitals,
        })
    }
}
