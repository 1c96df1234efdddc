//! Addenda to signed encounters: text a doctor or nurse of the patient's care team adds
//! after signing (a result that arrived, what happened next). The signed encounter is never
//! changed — unlike an amendment, which corrects it with a reason and a before/after, an
//! addendum only adds. Stored as a note of kind `addendum` on the encounter (sealed under
//! the patient's data key like every note) and shown in its own list
//! ([`crate::encounters::EncounterView::addenda`]).
//!
//! Who: doctors and nurses in the patient's care (care team, emergency access, a share of
//! the whole record, or a nurse's department); anyone else is refused (403, recorded). A
//! draft takes no addendum (409): its author edits it, nurses add treatment notes.

use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::EncounterStatus;
use carevault_core::patient::ClinicalText;
use carevault_core::time::to_micros;
use carevault_store::encounters::{self as store, NOTE_ADDENDUM, NoteRow};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::encounters::AddendumView;
use crate::error::ServiceError;
use crate::sealing::Place;

impl Services {
    /// Adds an addendum to a signed encounter. One transaction, one audit event.
    pub async fn add_addendum(
        &self,
        actor: &Actor,
        encounter_id: &str,
        text: &str,
    ) -> Result<AddendumView, ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, encounter_id).await?;
        let author = self
            .require_clinical_writer(
                actor,
                view,
                Action::WriteClinicalNotes,
                &patient,
                "addenda are written by doctors and nurses of the care team",
            )
            .await?;
        if row.status != EncounterStatus::Signed.as_str() {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: "the encounter is still a draft: addenda are added once it is signed"
                    .into(),
            });
        }
        if text.trim().is_empty() {
            return Err(ValidationErrors::single("text", "is required").into());
        }
        let text = ClinicalText::parse(text)
            .map_err(|message| ValidationErrors::single("text", message))?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let id = Uuid::now_v7().to_string();
        let now = self.now();
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Encounter)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("addendum".into());
        let note = NoteRow {
            id: id.clone(),
            encounter_id: row.id.clone(),
            patient_id: row.patient_id.clone(),
            note_kind: NOTE_ADDENDUM.to_owned(),
            body: Place {
                table: "encounter_notes",
                row_id: &id,
                patient_id: &row.patient_id,
            }
            .seal(&dek, "body", Some(text.as_str()))?
            .unwrap_or_default(),
            author_id: author.to_string(),
            created_at: to_micros(now),
        };
        self.transaction(async |txn| {
            store::insert_note(txn, note.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(AddendumView {
            id,
            author: actor.display_name().to_owned(),
            author_role: actor.role(),
            at: now,
            text: text.as_str().to_owned(),
        })
    }
}
