//! Nurses' own work, without a doctor's draft encounter: the triage at check-in (acuity on
//! the Emergency Severity Index, a note and vitals), nursing notes, and the nurse's patient
//! list ("My patients"); and the department relation that [`Services::in_care_of`] counts
//! as care.
//!
//! Rules (the pure ones are in `carevault_core::nursing`):
//!
//! - **Who writes.** A nurse in the patient's care — on the care team, by emergency access
//!   or a share, or *by department* (below) — records triages and nursing notes. Doctors,
//!   administrators and everyone else are refused (403, recorded). The decision is
//!   [`Services::require_nursing_writer`], one place.
//! - **Who reads.** Whoever has the full view of the patient (the care team, administrators,
//!   emergency access): triages show on the appointment (`AppointmentView::triage`), the
//!   nursing notes on their own page. The patient's own view does not include them (they
//!   are working notes, like treatment notes; a full copy is a data-subject request).
//! - **Triage** is for a visit that is checked in or in progress; anything else is a
//!   conflict (409) naming the status. One use case writes the vitals (linked to the
//!   appointment, no encounter), the triage note and one audit event in one transaction;
//!   bad input is refused field by field with nothing written. A later triage of the same
//!   visit is allowed (a re-triage) and the latest one is shown.
//! - **The department relation.** A nurse is in a patient's care while the patient has a
//!   visit today (the clinic's calendar day, `SchedulingSettings::local_date`) in the
//!   department of the nurse's active staff profile, checked in or in progress. It is
//!   computed at every access, never stored, so it ends when the visit is completed or the
//!   day ends.

use carevault_core::Action;
use carevault_core::policy::grant;
use std::collections::{HashMap, HashSet};

use crate::audit_trail::pseudonym_of;
use carevault_core::appointment::AppointmentStatus;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{Vitals, VitalsInput};
use carevault_core::masking::PatientView;
use carevault_core::nursing::{
    Acuity, NursingNoteKind, brings_into_department_care, may_be_triaged,
};
use carevault_core::patient::ClinicalText;
use carevault_core::time::to_micros;
use carevault_core::{
    AppointmentId, NursingNoteId, PatientId, UserId, UserStatus, ValidationErrors, VitalsId,
};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters::{self as encounter_store, VitalsRecord};
use carevault_store::nursing::{self as store, NursingNoteRecord};
use carevault_store::patients::{self as patient_store, PatientRow};
use carevault_store::scheduling::{self as scheduling_store, AppointmentRow};
use carevault_store::users;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::encounters::VitalsView;
use crate::error::ServiceError;
use crate::sealing::Place;

mod my_patients;
mod notes;
mod triage;

pub use my_patients::*;
pub use notes::*;
pub use triage::*;

/// The most notes one page shows.
const NOTES_LIMIT: u64 = 500;
/// The most rows of each part of "My patients".
const PATIENT_LIST_LIMIT: u64 = 300;

/// The sealed body of a nursing note.
#[derive(Serialize, Deserialize)]
struct NoteBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// A triage's ESI level (`"1"`…`"5"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acuity: Option<String>,
    /// A triage's vitals row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vitals_id: Option<String>,
}

fn integrity<T>(_: T) -> ServiceError {
    ServiceError::Integrity
}

fn department_care_statuses() -> Vec<&'static str> {
    AppointmentStatus::ALL
        .iter()
        .filter(|s| brings_into_department_care(**s))
        .map(|s| s.as_str())
        .collect()
}

/// Whether any vitals field was filled in.
fn any_vitals(input: &VitalsInput<'_>) -> bool {
    [
        input.temperature_c,
        input.pulse_bpm,
        input.systolic_mmhg,
        input.diastolic_mmhg,
        input.respiratory_rate,
        input.spo2_percent,
        input.weight_kg,
        input.height_cm,
    ]
    .iter()
    .any(|v| v.is_some_and(|v| !v.trim().is_empty()))
}

impl Services {
    /// The clinic's today as `[start, end)` in micros.
    fn today_window(&self) -> (i64, i64) {
        let settings = &self.settings().scheduling;
        let today = settings.local_date(self.now());
        let start = settings.day_start(today);
        let end = today
            .succ_opt()
            .map_or(start + chrono::Duration::days(1), |d| settings.day_start(d));
        (to_micros(start), to_micros(end))
    }

    /// Which of `patients` are in `user`'s care by department now: `user` is an active nurse
    /// and the patient has a visit today in her staff profile's department, checked in or in
    /// progress. Part of [`Services::in_care_of`].
    pub(crate) async fn department_care_among(
        &self,
        user: UserId,
        patients: &[PatientId],
    ) -> Result<HashSet<PatientId>, ServiceError> {
        if patients.is_empty() {
            return Ok(HashSet::new());
        }
        let conn = self.store().conn();
        let is_active_nurse = users::find_by_id(conn, user).await?.is_some_and(|u| {
            grant(u.role, Action::NursingCare).is_possible() && u.status == UserStatus::Active
        });
        if !is_active_nurse {
            return Ok(HashSet::new());
        }
        let (from, to) = self.today_window();
        Ok(store::department_patients_among(
            conn,
            user,
            patients,
            &department_care_statuses(),
            from,
            to,
        )
        .await?)
    }

    /// The nurse writing, if `actor` is a nurse in the patient's care with the full view;
    /// otherwise the refusal, recorded. The one access decision of nurses' writes.
    async fn require_nursing_writer(
        &self,
        actor: &Actor,
        patient: &PatientRow,
        view: PatientView,
        what: &str,
    ) -> Result<UserId, ServiceError> {
        let writer = match actor.user_id() {
            Some(user) if view == PatientView::Full && actor.may(Action::NursingCare) => {
                let id: PatientId = patient.id;
                self.in_care_of(user, &[id])
                    .await?
                    .contains(&id)
                    .then_some(user)
            }
            _ => None,
        };
        match writer {
            Some(user) => Ok(user),
            None => Err(self
                .deny(
                    actor,
                    ResourceType::NursingNote,
                    Some(patient.id.to_string()),
                    what,
                )
                .await),
        }
    }

    /// The patient for a nurses' record, if `actor` may read them in full (the care team,
    /// administrators, emergency access); otherwise the refusal, recorded.
    async fn nursing_reader(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<PatientRow, ServiceError> {
        let (row, _) = self
            .load_for_part(
                actor,
                patient,
                &[PatientView::Full],
                ResourceType::NursingNote,
                "nursing notes are for the patient's care team",
            )
            .await?;
        Ok(row)
    }

    /// Display names of every account, by id.
    async fn nursing_integrity_failure(&self, actor: &Actor, patient: &PatientRow) -> ServiceError {
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::NursingNote)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.outcome = carevault_core::audit::Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(patient_id = %patient.id, "a sealed nursing note failed its integrity check");
        match self.record(event).await {
            Ok(_) => ServiceError::Integrity,
            Err(err) => err,
        }
    }
}
