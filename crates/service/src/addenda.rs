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

use carevault_core::EncounterNoteId;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{EncounterNoteKind, EncounterStatus};
use carevault_store::encounters as store;

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::encounters::{AddendumView, new_note};
use crate::error::ServiceError;

impl Services {
    /// Adds an addendum to a signed encounter. One transaction, one audit event.
    pub async fn add_addendum(
        &self,
        actor: &Actor,
        encounter_id: &str,
        text: &str,
    ) -> Result<AddendumView, ServiceError> {
        let (row, patient, author) = self
            .encounter_for_note(
                actor,
                encounter_id,
                "addenda are written by doctors and nurses of the care team",
            )
            .await?;
        if row.status != EncounterStatus::Signed {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: "the encounter is still a draft: addenda are added once it is signed"
                    .into(),
            });
        }
        let text = crate::encounters::note_text(text)?;
        let dek = self.patient_key(&patient).await?;
        let id = EncounterNoteId::generate();
        let now = self.now();
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Encounter)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("addendum".into());
        let note = new_note(
            &row,
            &dek,
            id,
            EncounterNoteKind::Addendum,
            text.as_str(),
            author,
            now,
        )?;
        self.transaction(async |txn| {
            store::insert_note(txn, &note).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        Ok(AddendumView {
            id: id.to_string(),
            author: actor.display_name().to_owned(),
            author_role: actor.role(),
            at: now,
            text: text.as_str().to_owned(),
        })
    }
}
