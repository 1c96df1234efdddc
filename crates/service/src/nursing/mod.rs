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
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{AppointmentId, PatientId, UserId, UserStatus, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters::VitalsRow;
use carevault_store::nursing::{self as store, KIND_NURSING, KIND_TRIAGE, NursingNoteRow};
use carevault_store::patients::{self as patient_store, PatientRow};
use carevault_store::scheduling::{self as scheduling_store, AppointmentRow};
use carevault_store::users;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::encounters::VitalsView;
use crate::error::ServiceError;
use crate::sealing::Place;

/// The most notes one page shows.
const NOTES_LIMIT: u64 = 500;
/// The most rows of each part of "My patients".
const PATIENT_LIST_LIMIT: u64 = 300;

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

/// Why a patient is on a nurse's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareReason {
    /// Checked in (or being seen) today in the nurse's department.
    Department,
    /// On the patient's care team.
    CareTeam,
    /// Both.
    Both,
}

impl CareReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CareReason::Department => "department",
            CareReason::CareTeam => "care_team",
            CareReason::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CareReason::Department => "checked in to your department",
            CareReason::CareTeam => "your care team",
            CareReason::Both => "your care team, checked in to your department",
        }
    }
}

/// Today's visit of a patient on the nurse's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitToday {
    pub appointment_id: AppointmentId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub clinician_name: Option<String>,
    pub department_name: String,
}

/// One row of a nurse's patient list.
#[derive(Clone, PartialEq, Eq)]
pub struct NursePatientRow {
    pub patient_id: PatientId,
    /// The patient's name (the nurse has the full view of everyone on her list).
    pub patient_label: String,
    pub mrn: String,
    pub date_of_birth: chrono::NaiveDate,
    pub reason: CareReason,
    /// Today's visit (the earliest one still open), if any.
    pub visit: Option<VisitToday>,
    /// The latest triage of that visit.
    pub triage: Option<TriageView>,
    /// Whether the nurse may triage that visit now (checked in or in progress).
    pub may_triage: bool,
}

impl std::fmt::Debug for NursePatientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NursePatientRow")
            .field("patient_id", &self.patient_id)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A nurse's patients: today's checked-in patients of her department, then her care team.
#[derive(Debug, Clone)]
pub struct NursePatientList {
    pub today: chrono::NaiveDate,
    /// Department visits first (by time), then care-team patients without one.
    pub rows: Vec<NursePatientRow>,
    /// The department of the nurse's staff profile, when she has one.
    pub department_name: Option<String>,
}

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

fn note_place(row: &NursingNoteRow) -> Place<'_> {
    Place {
        table: "nursing_notes",
        row_id: &row.id,
        patient_id: &row.patient_id,
    }
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

/// A note's text, if given.
fn note_text(errors: &mut ValidationErrors, field: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    errors
        .check(field, ClinicalText::parse(raw))
        .map(|t| t.as_str().to_owned())
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
                let id: PatientId = patient.id.parse().map_err(integrity)?;
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
                    Some(patient.id.clone()),
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
        let (row, _, view) = self.load_for(actor, patient).await?;
        if view == PatientView::Full {
            return Ok(row);
        }
        Err(self
            .deny(
                actor,
                ResourceType::NursingNote,
                Some(patient.to_string()),
                "nursing notes are for the patient's care team",
            )
            .await)
    }

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
        let patient_id: PatientId = row.patient_id.parse().map_err(integrity)?;
        let (patient, _, view) = self.load_for(actor, patient_id).await?;
        let nurse = self
            .require_nursing_writer(
                actor,
                &patient,
                view,
                "triage is recorded by nurses in the patient's care or department",
            )
            .await?;
        let status = AppointmentStatus::parse(&row.status).map_err(integrity)?;
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
        self.get_appointment(actor, row.id.parse().map_err(integrity)?)
            .await
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
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let now = to_micros(self.now());
        let vitals_row = match &vitals {
            Some(v) => {
                let id = Uuid::now_v7().to_string();
                let json = serde_json::to_string(&v.fields()).map_err(ServiceError::internal)?;
                Some(VitalsRow {
                    body: Place {
                        table: "vitals",
                        row_id: &id,
                        patient_id: &patient.id,
                    }
                    .seal(&dek, "body", Some(&json))?
                    .unwrap_or_default(),
                    id,
                    patient_id: patient.id.clone(),
                    encounter_id: None,
                    appointment_id: Some(row.id.clone()),
                    recorded_by: nurse.to_string(),
                    recorded_at: now,
                })
            }
            None => None,
        };
        let body = serde_json::to_string(&NoteBody {
            text: note,
            acuity: Some(acuity.as_str().to_owned()),
            vitals_id: vitals_row.as_ref().map(|v| v.id.clone()),
        })
        .map_err(ServiceError::internal)?;
        let mut note_row = NursingNoteRow {
            id: Uuid::now_v7().to_string(),
            patient_id: patient.id.clone(),
            appointment_id: Some(row.id.clone()),
            kind: KIND_TRIAGE.to_owned(),
            body: Vec::new(),
            author_id: nurse.to_string(),
            created_at: now,
        };
        note_row.body = note_place(&note_row)
            .seal(&dek, "body", Some(&body))?
            .unwrap_or_default();
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::NursingNote)
            .resource_id(&note_row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(if vitals_row.is_some() {
            "triage with vitals".into()
        } else {
            "triage".into()
        });
        self.transaction(async |txn| {
            if let Some(v) = &vitals_row {
                carevault_store::encounters::insert_vitals(txn, v.clone()).await?;
            }
            store::insert_note(txn, note_row.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let name = actor.display_name().to_owned();
        let names = |_: &str| name.clone();
        let vitals = vitals_row
            .as_ref()
            .map(|v| self.present_vitals(v, &dek, &names))
            .transpose()?;
        self.present_note(&note_row, &dek, vitals, &names)
            .and_then(triage_of)
    }

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
        if text.trim().is_empty() {
            return Err(ValidationErrors::single("text", "is required").into());
        }
        let text = ClinicalText::parse(text)
            .map_err(|message| ValidationErrors::single("text", message))?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let body = serde_json::to_string(&NoteBody {
            text: Some(text.as_str().to_owned()),
            acuity: None,
            vitals_id: None,
        })
        .map_err(ServiceError::internal)?;
        let mut row = NursingNoteRow {
            id: Uuid::now_v7().to_string(),
            patient_id: patient.id.clone(),
            appointment_id: None,
            kind: KIND_NURSING.to_owned(),
            body: Vec::new(),
            author_id: nurse.to_string(),
            created_at: to_micros(self.now()),
        };
        row.body = note_place(&row)
            .seal(&dek, "body", Some(&body))?
            .unwrap_or_default();
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::NursingNote)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("nursing note".into());
        self.transaction(async |txn| {
            store::insert_note(txn, row.clone()).await?;
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
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let conn = self.store().conn();
        let rows = store::notes_of(conn, patient_id, NOTES_LIMIT).await?;
        let names = self.display_names().await?;
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
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

    /// The nurse's patients today: the checked-in (and in-progress) visits of her
    /// department, then her care team. Nurses only; each patient shown is recorded as
    /// listed.
    pub async fn my_patients(&self, actor: &Actor) -> Result<NursePatientList, ServiceError> {
        let user = match (actor.user_id(), actor.role()) {
            (Some(user), _) if actor.may(Action::NursingCare) => user,
            _ => {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Patient,
                        None,
                        "the patient list of a nurse is for nurses",
                    )
                    .await);
            }
        };
        let conn = self.store().conn();
        let (from, to) = self.today_window();
        let today = self.settings().scheduling.local_date(self.now());
        let statuses = department_care_statuses();
        let department_visits =
            store::department_appointments(conn, user, &statuses, from, to, PATIENT_LIST_LIMIT)
                .await?;
        let team = store::care_team_patients(conn, user, PATIENT_LIST_LIMIT).await?;
        let open_statuses: Vec<&str> = AppointmentStatus::ALL
            .iter()
            .filter(|s| matches!(s, AppointmentStatus::Scheduled) || may_be_triaged(**s))
            .map(|s| s.as_str())
            .collect();
        let team_visits =
            store::appointments_of_patients(conn, &team, &open_statuses, from, to).await?;
        let team_set: HashSet<PatientId> = team.iter().copied().collect();
        // One row per patient: their department visit, else their open visit today.
        let mut order: Vec<PatientId> = Vec::new();
        let mut visit_of: HashMap<PatientId, AppointmentRow> = HashMap::new();
        let mut by_department: HashSet<PatientId> = HashSet::new();
        for a in department_visits {
            let id: PatientId = a.patient_id.parse().map_err(integrity)?;
            by_department.insert(id);
            if let std::collections::hash_map::Entry::Vacant(slot) = visit_of.entry(id) {
                order.push(id);
                slot.insert(a);
            }
        }
        for a in team_visits {
            let id: PatientId = a.patient_id.parse().map_err(integrity)?;
            visit_of.entry(id).or_insert(a);
        }
        for id in &team {
            if !order.contains(id) {
                order.push(*id);
            }
        }
        let rows = patient_store::find_many(conn, &order).await?;
        let rows: HashMap<String, PatientRow> = rows
            .into_iter()
            .filter(|r| r.status != patient_store::ERASED_STATUS)
            .map(|r| (r.id.clone(), r))
            .collect();
        let names = self.display_names().await?;
        let departments: HashMap<String, String> = scheduling_store::departments(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let department_name = scheduling_store::find_staff_profile(conn, user)
            .await?
            .and_then(|p| p.department_id)
            .and_then(|d| departments.get(&d).cloned());
        let mut keys: HashMap<String, DataKey> = HashMap::new();
        for row in rows.values() {
            let dek = self
                .unwrap_patient_key(&row.id, &row.wrapped_data_key)
                .await?;
            keys.insert(row.id.clone(), dek);
        }
        let visit_ids: Vec<String> = visit_of.values().map(|a| a.id.clone()).collect();
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        let triages = self
            .triages_of_appointments(&visit_ids, &keys, &name)
            .await?;
        let mut out = Vec::new();
        let mut events = Vec::new();
        for id in order {
            let Some(row) = rows.get(&id.to_string()) else {
                continue;
            };
            let data = self.open_row(actor, row, AuditAction::Listed).await?;
            let reason = match (by_department.contains(&id), team_set.contains(&id)) {
                (true, true) => CareReason::Both,
                (true, false) => CareReason::Department,
                _ => CareReason::CareTeam,
            };
            let visit = visit_of.get(&id);
            let status = visit
                .map(|a| AppointmentStatus::parse(&a.status).map_err(integrity))
                .transpose()?;
            out.push(NursePatientRow {
                patient_id: id,
                patient_label: format!("{} {}", data.given_name, data.family_name),
                mrn: data.mrn.clone(),
                date_of_birth: data.date_of_birth,
                reason,
                visit: match (visit, status) {
                    (Some(a), Some(status)) => Some(VisitToday {
                        appointment_id: a.id.parse().map_err(integrity)?,
                        start: from_micros(a.start_at),
                        end: from_micros(a.end_at),
                        status,
                        clinician_name: a.clinician_id.as_deref().map(name),
                        department_name: departments
                            .get(&a.department_id)
                            .cloned()
                            .unwrap_or_default(),
                    }),
                    _ => None,
                },
                triage: visit.and_then(|a| triages.get(&a.id).cloned()),
                may_triage: status.is_some_and(may_be_triaged),
            });
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Patient)
                .resource_id(&row.id)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some("nurse's patient list".into());
            events.push(event);
        }
        self.record_all(events).await?;
        Ok(NursePatientList {
            today,
            rows: out,
            department_name,
        })
    }

    /// The latest triage of each of `appointments` (by appointment id), opened with the
    /// patients' data keys in `keys` (appointments of other patients are skipped). Not
    /// authorised and not audited: the calling use case has done both.
    pub(crate) async fn triages_of_appointments(
        &self,
        appointments: &[String],
        keys: &HashMap<String, DataKey>,
        name: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<HashMap<String, TriageView>, ServiceError> {
        let conn = self.store().conn();
        let rows = store::triages_of(conn, appointments).await?;
        let mut latest: Vec<NursingNoteRow> = Vec::new();
        let mut seen = HashSet::new();
        for row in rows {
            if keys.contains_key(&row.patient_id)
                && row
                    .appointment_id
                    .as_ref()
                    .is_some_and(|a| seen.insert(a.clone()))
            {
                latest.push(row);
            }
        }
        let mut out = HashMap::new();
        for row in &latest {
            let Some(dek) = keys.get(&row.patient_id) else {
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

    /// The patient's latest nursing notes and triages (newest first, at most `limit`),
    /// opened with `dek`, for the chart. Not authorised and not audited here: the calling
    /// use case has done both for the patient.
    pub(crate) async fn nursing_notes_of(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
        limit: u64,
    ) -> Result<Vec<NursingNoteView>, ServiceError> {
        let id: PatientId = patient.id.parse().map_err(integrity)?;
        let rows = store::notes_of(self.store().conn(), id, limit).await?;
        let names = self.display_names().await?;
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        self.open_notes(&rows, dek, &name).await
    }

    /// Opens nursing-note rows (of one patient, under `dek`) with their vitals.
    async fn open_notes(
        &self,
        rows: &[NursingNoteRow],
        dek: &DataKey,
        name: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<NursingNoteView>, ServiceError> {
        let mut bodies = Vec::with_capacity(rows.len());
        for row in rows {
            let json = note_place(row)
                .open(dek, "body", Some(&row.body))?
                .ok_or(ServiceError::Integrity)?;
            let body: NoteBody = serde_json::from_str(&json).map_err(integrity)?;
            bodies.push(body);
        }
        let vitals_ids: Vec<String> = bodies.iter().filter_map(|b| b.vitals_id.clone()).collect();
        let mut vitals: HashMap<String, VitalsView> = HashMap::new();
        for v in store::vitals_by_ids(self.store().conn(), &vitals_ids).await? {
            // A vitals row of another patient never opens under this key.
            vitals.insert(v.id.clone(), self.present_vitals(&v, dek, name)?);
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

    fn present_note(
        &self,
        row: &NursingNoteRow,
        dek: &DataKey,
        vitals: Option<VitalsView>,
        name: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<NursingNoteView, ServiceError> {
        let json = note_place(row)
            .open(dek, "body", Some(&row.body))?
            .ok_or(ServiceError::Integrity)?;
        let body: NoteBody = serde_json::from_str(&json).map_err(integrity)?;
        self.note_view(row, body, vitals, name)
    }

    fn note_view(
        &self,
        row: &NursingNoteRow,
        body: NoteBody,
        vitals: Option<VitalsView>,
        name: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<NursingNoteView, ServiceError> {
        Ok(NursingNoteView {
            id: row.id.clone(),
            patient_id: row.patient_id.parse().map_err(integrity)?,
            kind: NursingNoteKind::parse(&row.kind).map_err(integrity)?,
            appointment_id: row.appointment_id.clone(),
            author: name(&row.author_id),
            at: from_micros(row.created_at),
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

    /// Display names of every account, by id.
    async fn display_names(&self) -> Result<HashMap<String, String>, ServiceError> {
        Ok(users::list(self.store().conn())
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u.display_name.as_str().to_owned()))
            .collect())
    }

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
