//! Starting an appointment's encounter: "Start" on the doctor's day moves a checked-in
//! appointment to in progress and opens its encounter, creating the draft the first time —
//! one transaction. It is idempotent: starting again (a second click, another tab, two at
//! once) opens the same encounter. Two concurrent starts cannot both create one, on any
//! backend: each transaction first changes the appointment row conditionally on the version
//! it read (a status change, or for an appointment already in progress a new version), so
//! the second one changes nothing, is rolled back and, read again, finds the first one's
//! encounter.
//!
//! Who: a doctor who is the appointment's clinician (and so in the patient's care team).
//! Anyone else is refused, and the refusal recorded.

use carevault_core::Action;
use carevault_core::appointment::{AppointmentStatus, AppointmentType};
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::EncounterType;
use carevault_core::{AppointmentId, PatientId, UserId};
use carevault_store::encounters::{self as store, EncounterRecord};
use carevault_store::patients::PatientRow;
use carevault_store::scheduling::{self as appointments, AppointmentRow};

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::error::ServiceError;
use crate::tx;

/// The encounter a start opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedEncounter {
    pub encounter_id: String,
    /// Whether this start created it (otherwise it existed already).
    pub created: bool,
}

/// Why `actor` may not start `appointment`'s encounter (`None`: they may): only a doctor,
/// and only the appointment's own clinician.
fn start_refusal(actor: &Actor, appointment: Option<&AppointmentRow>) -> Option<&'static str> {
    if !actor.may(Action::WriteEncounters) {
        return Some("an appointment's encounter is started by its doctor");
    }
    match appointment {
        Some(row) if actor.user_id() != row.clinician_id => {
            Some("only the appointment's own doctor starts its encounter")
        }
        _ => None,
    }
}

impl Services {
    /// Starts the appointment `id` (checked in → in progress) and opens its encounter,
    /// creating the draft if it has none. An appointment already in progress just opens (or
    /// gets) its encounter; a finished one opens the encounter it has, if any.
    pub async fn start_appointment_encounter(
        &self,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<StartedEncounter, ServiceError> {
        // Refused before the appointment is looked up: nobody else learns it exists.
        if let Some(reason) = start_refusal(actor, None) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(id.to_string()),
                    reason,
                )
                .await);
        }
        let row = appointments::find_appointment(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("appointment"))?;
        if let Some(reason) = start_refusal(actor, Some(&row)) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(row.id.to_string()),
                    reason,
                )
                .await);
        }
        let patient_id: PatientId = row.patient_id;
        let (patient, view) = self.clinical_access(actor, patient_id).await?;
        let author = self.require_encounter_writer(actor, view, &patient).await?;
        tx::retry(async || self.try_start(actor, id, &patient, author).await).await
    }

    /// One attempt of [`Services::start_appointment_encounter`]; [`tx::again`] when the
    /// appointment changed since it was read (nothing was written).
    async fn try_start(
        &self,
        actor: &Actor,
        id: AppointmentId,
        patient: &PatientRow,
        author: UserId,
    ) -> Result<StartedEncounter, ServiceError> {
        let conn = self.store().conn();
        let row = appointments::find_appointment(conn, id)
            .await?
            .ok_or(ServiceError::NotFound("appointment"))?;
        let patient_id: PatientId = patient.id;
        let existing = store::encounters_of_appointment(conn, patient_id, id)
            .await?
            .into_iter()
            .next();
        let status = row.status;
        let change = match (status, &existing) {
            (AppointmentStatus::CheckedIn, _) => {
                let to = AppointmentStatus::InProgress;
                self.check_status_change(actor, &row, patient, to).await?;
                Some(
                    self.prepare_status_change(
                        actor,
                        row.clone(),
                        patient,
                        to,
                        None,
                        format!("{status} → {to}"),
                    )
                    .await?,
                )
            }
            (AppointmentStatus::InProgress, None) => None,
            (_, Some(encounter)) => {
                return Ok(StartedEncounter {
                    encounter_id: encounter.id.to_string(),
                    created: false,
                });
            }
            (_, None) => {
                let message = match status {
                    AppointmentStatus::Scheduled | AppointmentStatus::Requested => {
                        "the patient is not checked in yet: check them in first".to_owned()
                    }
                    other => format!("the appointment is {other}: it cannot be started"),
                };
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message,
                });
            }
        };
        let created = match &existing {
            Some(_) => None,
            None => Some(
                self.appointment_encounter_row(patient, author, &row)
                    .await?,
            ),
        };
        self.transaction_once(async |txn| {
            let claimed = match &change {
                Some(change) => {
                    self.write_status_change_in(txn, actor, patient, change)
                        .await?
                        == crate::scheduling::StatusWrite::Written
                }
                // In progress already: a new version of the row, so that a concurrent start of
                // the same appointment finds it changed and looks again.
                None => {
                    let mut claimed = row.clone();
                    claimed.updated_at =
                        carevault_core::time::version_after(row.updated_at, self.now());
                    appointments::update_appointment(txn, claimed, row.updated_at).await?
                }
            };
            if !claimed {
                // The appointment changed meanwhile (perhaps another start): read it again.
                return Err(tx::again(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the appointment kept changing meanwhile: try again".into(),
                }));
            }
            if let Some(encounter) = &created {
                store::insert_encounter(txn, encounter).await?;
                let mut event = self
                    .audit_event(actor, AuditAction::Create, ResourceType::Encounter)
                    .resource_id(encounter.id.to_string())
                    .patient(pseudonym_of(patient.pseudonym_number));
                event.reason = Some("started from its appointment".into());
                self.append_in(txn, event).await?;
            }
            Ok(())
        })
        .await?;
        let encounter_id = match (created, existing) {
            (Some(encounter), _) => {
                tracing::info!(encounter_id = %encounter.id, appointment_id = %row.id, "encounter started from its appointment");
                return Ok(StartedEncounter {
                    encounter_id: encounter.id.to_string(),
                    created: true,
                });
            }
            (None, Some(existing)) => existing.id.to_string(),
            (None, None) => return Err(ServiceError::Integrity),
        };
        Ok(StartedEncounter {
            encounter_id,
            created: false,
        })
    }

    /// The draft of an appointment's encounter: its type follows the appointment's, in the
    /// appointment's department, with no text yet.
    async fn appointment_encounter_row(
        &self,
        patient: &PatientRow,
        author: UserId,
        appointment: &AppointmentRow,
    ) -> Result<EncounterRecord, ServiceError> {
        let mut row = self
            .new_encounter_row(patient, author, self.stored_now(), Some(appointment))
            .await?;
        row.kind = match appointment.kind {
            AppointmentType::Consultation => EncounterType::Consultation,
            AppointmentType::FollowUp => EncounterType::FollowUp,
            AppointmentType::Procedure => EncounterType::Procedure,
        };
        Ok(row)
    }
}
