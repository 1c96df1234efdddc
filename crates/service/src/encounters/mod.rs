//! Clinical records: encounters (drafts, signing, amendments), their diagnoses, nurses'
//! treatment notes, and vitals.
//!
//! Rules (decided here; the pure parts are in `carevault_core::clinical`):
//!
//! - **Who reads.** Whoever the masking policy gives the full view of the patient
//!   (administrators, the care team — assigned, by appointment, by emergency access or by the
//!   patient's share) reads everything; the patient reads their own *signed* encounters as a
//!   summary (complaint, assessment, plan, diagnoses, vitals and the amendments of those;
//!   not the history, examination or treatment notes, which are clinicians' working notes —
//!   a full copy is the access export, `subject_access.rs`). Everyone else is refused (403, recorded):
//!   reception, pharmacy (they see prescriptions, not encounters), auditors, clinicians
//!   outside the care team.
//! - **Who writes.** Doctors in the care team create encounters; the author edits and signs
//!   a draft; any doctor in the care team amends a signed one, with a reason, keeping the
//!   original visible. Nurses in the care team add treatment notes to an open (draft)
//!   encounter and record vitals; doctors and nurses of the care team add addenda to a
//!   signed one (`addenda.rs`); nurses' triage and nursing notes need no encounter
//!   (`nursing.rs`). Administrators do not write clinical records (the permission matrix).
//! - **Diagnoses** are an ICD-10 code from the bundled list or free text flagged as such; at
//!   most one primary. Signing records each coded diagnosis in `diagnosis_stats` (code,
//!   department, day; no patient) for the diagnoses report; an amendment that retracts one
//!   removes its count.
//! - **One form, one save** (`save`): a draft is saved as a whole — texts, diagnoses, vitals,
//!   a prescription, signing and completing its appointment — in one transaction, or not at
//!   all (a prescription warning without an acknowledgement writes nothing).
//! - **From the appointment** (`start`): starting an appointment opens its encounter,
//!   creating the draft the first time (one per appointment, also under concurrency).

use carevault_core::Action;
use std::collections::HashMap;

use crate::audit_trail::pseudonym_of;
use carevault_core::appointment::{AppointmentStatus, AppointmentType};
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{
    AmendmentReason, Diagnosis, DiagnosisEntry, DiagnosisKind, EncounterAction, EncounterStatus,
    EncounterType, Vitals, VitalsInput, check_diagnosis_list, check_encounter_action,
};
use carevault_core::masking::PatientView;
use carevault_core::patient::ClinicalText;
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{AppointmentId, PatientId, Role, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters::{
    self as store, DiagnosisRow, DiagnosisStatRow, EncounterRow, NOTE_ADDENDUM, NOTE_AMENDMENT,
    NOTE_TREATMENT, NoteRow, VitalsRow,
};
use carevault_store::patients::PatientRow;
use carevault_store::users;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::patients::Shown;
use crate::sealing::Place;
use crate::vitals::{BmiView, VitalMeasurement};

mod save;
mod start;

pub use save::{DraftOf, DraftSaved, DraftSubmission, VitalsSubmission};
pub use start::StartedEncounter;

const LIST_LIMIT: u64 = 500;

/// The five texts of an encounter, in the order shown.
pub const TEXT_FIELDS: [&str; 5] = [
    "chief_complaint",
    "history",
    "examination",
    "assessment",
    "plan",
];

/// Which texts a patient sees of their own encounters.
const PATIENT_TEXT_FIELDS: [&str; 3] = ["chief_complaint", "assessment", "plan"];

/// One diagnosis as submitted.
#[derive(Clone, Default)]
pub struct DiagnosisInput {
    /// `primary` or `secondary`; blank: secondary.
    pub kind: String,
    pub code: Option<String>,
    pub text: Option<String>,
    pub free_text: bool,
}

impl std::fmt::Debug for DiagnosisInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiagnosisInput(…)")
    }
}

/// A new encounter or a draft's new content, before validation.
#[derive(Clone, Default)]
pub struct EncounterInput {
    pub patient_id: String,
    pub appointment_id: Option<String>,
    /// Blank: consultation.
    pub kind: Option<String>,
    /// The five texts, by name ([`TEXT_FIELDS`]); blank or absent: empty.
    pub texts: HashMap<String, String>,
    pub diagnoses: Vec<DiagnosisInput>,
}

impl std::fmt::Debug for EncounterInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncounterInput")
            .field("patient_id", &self.patient_id)
            .finish_non_exhaustive()
    }
}

/// A correction of a signed encounter.
#[derive(Clone, Default)]
pub struct AmendmentInput {
    pub reason: String,
    /// New text for some of the five fields (by name).
    pub texts: HashMap<String, String>,
    pub add_diagnoses: Vec<DiagnosisInput>,
    /// Ids of diagnoses to retract.
    pub retract_diagnoses: Vec<String>,
}

impl std::fmt::Debug for AmendmentInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AmendmentInput(…)")
    }
}

/// A diagnosis as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosisView {
    pub id: String,
    pub kind: DiagnosisKind,
    /// The ICD-10 code (coded diagnoses).
    pub code: Option<String>,
    /// The code's title, or the free text.
    pub text: String,
    pub free_text: bool,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
    /// Set when an amendment retracted it (it stays visible, struck through).
    pub retracted_at: Option<DateTime<Utc>>,
}

/// One change an amendment made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// An amendment as shown: who, when, why, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendmentView {
    pub id: String,
    pub author: String,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub changes: Vec<Change>,
}

/// A treatment note as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteView {
    pub id: String,
    pub author: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A set of vitals as shown: each measurement with its unit, its flag against the adult
/// reference range and that range (see [`crate::vitals`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VitalsView {
    pub id: String,
    pub encounter_id: Option<String>,
    /// The visit whose triage measured them.
    pub appointment_id: Option<String>,
    pub recorded_by: String,
    pub at: DateTime<Utc>,
    /// The measurements present, in the canonical order (temperature, pulse, systolic,
    /// diastolic, respiratory rate, SpO₂, weight, height).
    pub measurements: Vec<VitalMeasurement>,
    /// BMI and its category, when weight and height were measured.
    pub bmi: Option<BmiView>,
}

impl VitalsView {
    /// The measurement of `field` (`pulse_bpm`), if taken.
    pub fn measurement(&self, field: &str) -> Option<&VitalMeasurement> {
        self.measurements.iter().find(|m| m.field == field)
    }

    /// Whether any measurement is outside its reference range.
    pub fn any_abnormal(&self) -> bool {
        self.measurements.iter().any(|m| m.flag.is_abnormal())
    }

    /// `(field, value)` of every measurement (`("pulse_bpm", "72")`), as stored.
    pub fn values(&self) -> Vec<(&'static str, &str)> {
        self.measurements
            .iter()
            .map(|m| (m.field, m.value.as_str()))
            .collect()
    }
}

/// An addendum to a signed encounter: text added afterwards by a doctor or nurse of the
/// care team; the encounter itself stays as signed.
#[derive(Clone, PartialEq, Eq)]
pub struct AddendumView {
    pub id: String,
    pub author: String,
    /// The author's role ("doctor", "nurse") when the account still exists.
    pub author_role: Option<Role>,
    pub at: DateTime<Utc>,
    pub text: String,
}

impl std::fmt::Debug for AddendumView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddendumView")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The appointment an encounter belongs to, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterAppointment {
    pub id: AppointmentId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub department: String,
    pub kind: AppointmentType,
    pub status: AppointmentStatus,
    /// Whether signing the encounter may complete it now: it is in progress and this actor
    /// is its clinician (checked again when it is completed).
    pub may_complete: bool,
}

/// An encounter as one actor may see it. A text the actor may not see is `None`.
#[derive(Clone, PartialEq, Eq)]
pub struct EncounterView {
    pub id: String,
    pub patient_id: PatientId,
    pub patient_label: String,
    pub clinician_id: UserId,
    pub clinician_name: String,
    pub appointment_id: Option<String>,
    /// The appointment (in a single encounter's view, for the care team).
    pub appointment: Option<EncounterAppointment>,
    pub kind: EncounterType,
    pub status: EncounterStatus,
    pub started_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    /// The five texts, current (amendments applied), by name: `None` hidden from this actor,
    /// `Some(None)` empty.
    pub texts: Vec<(&'static str, Shown<String>)>,
    pub diagnoses: Vec<DiagnosisView>,
    pub amendments: Vec<AmendmentView>,
    pub notes: Vec<NoteView>,
    pub vitals: Vec<VitalsView>,
    /// Addenda to the signed encounter, oldest first (for the care team; not in the
    /// patient's own view, like treatment notes). Not mixed with the amendments.
    pub addenda: Vec<AddendumView>,
    pub may_edit: bool,
    pub may_sign: bool,
    pub may_amend: bool,
    pub may_add_note: bool,
    /// Whether this actor may add an addendum now (a doctor or nurse in the care team, on
    /// a signed encounter).
    pub may_add_addendum: bool,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for EncounterView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncounterView")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl EncounterView {
    /// One of the five texts, if shown and not empty.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.texts
            .iter()
            .find(|(name, _)| *name == field)
            .and_then(|(_, value)| value.as_ref())
            .and_then(|value| value.as_deref())
    }
}

/// The sealed body of a diagnosis row.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct DiagnosisBody {
    pub(crate) code: Option<String>,
    pub(crate) text: String,
    stat: Option<String>,
}

/// The sealed body of an amendment note.
#[derive(Serialize, Deserialize)]
struct AmendmentBody {
    reason: String,
    changes: Vec<Change>,
    added: Vec<String>,
    retracted: Vec<String>,
}

/// The code (of a coded diagnosis) and the words (the code's title, or the free text) of a
/// stored diagnosis, opened (for the problem list).
pub(crate) fn open_diagnosis_body(
    row: &DiagnosisRow,
    dek: &DataKey,
) -> Result<(Option<String>, String), ServiceError> {
    let json = place("encounter_diagnoses", &row.id, &row.patient_id)
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    let body: DiagnosisBody = serde_json::from_str(&json).map_err(integrity)?;
    Ok((body.code, body.text))
}

fn encounter_place(row: &EncounterRow) -> Place<'_> {
    Place {
        table: "encounters",
        row_id: &row.id,
        patient_id: &row.patient_id,
    }
}

fn place<'a>(table: &'a str, id: &'a str, patient: &'a str) -> Place<'a> {
    Place {
        table,
        row_id: id,
        patient_id: patient,
    }
}

fn integrity<T>(_: T) -> ServiceError {
    ServiceError::Integrity
}

/// Validates a list of diagnoses, each under `diagnoses[i].<field>`.
fn parse_diagnoses(
    errors: &mut ValidationErrors,
    prefix: &str,
    inputs: &[DiagnosisInput],
) -> Vec<DiagnosisEntry> {
    let mut out = Vec::new();
    for (i, d) in inputs.iter().enumerate() {
        let kind = if d.kind.trim().is_empty() {
            "secondary"
        } else {
            d.kind.as_str()
        };
        match DiagnosisEntry::parse(kind, d.code.as_deref(), d.text.as_deref(), d.free_text) {
            Ok(entry) => out.push(entry),
            Err(found) => {
                for e in found.0 {
                    errors.push(format!("{prefix}[{i}].{}", e.field), e.message);
                }
            }
        }
    }
    out
}

fn parse_texts(
    errors: &mut ValidationErrors,
    texts: &HashMap<String, String>,
) -> Vec<(&'static str, Option<String>)> {
    for name in texts.keys() {
        if !TEXT_FIELDS.contains(&name.as_str()) {
            errors.push(name.clone(), "is not a field of an encounter");
        }
    }
    TEXT_FIELDS
        .iter()
        .map(|field| {
            let value = texts
                .get(*field)
                .map(|raw| raw.trim())
                .filter(|raw| !raw.is_empty())
                .and_then(|raw| errors.check(field, ClinicalText::parse(raw)))
                .map(|text| text.as_str().to_owned());
            (*field, value)
        })
        .collect()
}

fn diagnosis_body(entry: &DiagnosisEntry) -> DiagnosisBody {
    match entry.diagnosis() {
        Diagnosis::Coded(code) => DiagnosisBody {
            code: Some(code.as_str().to_owned()),
            text: carevault_core::icd10::lookup(code.as_str())
                .map(|c| c.title.to_owned())
                .unwrap_or_default(),
            stat: None,
        },
        Diagnosis::FreeText(text) => DiagnosisBody {
            code: None,
            text: text.as_str().to_owned(),
            stat: None,
        },
    }
}

impl Services {
    /// The patient, if `actor` may read their clinical record, with the view that applies;
    /// otherwise the refusal, recorded.
    async fn clinical_access(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<(PatientRow, PatientView), ServiceError> {
        let (row, _, view) = self.load_for(actor, patient).await?;
        match view {
            PatientView::Full | PatientView::Own => Ok((row, view)),
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    Some(patient.to_string()),
                    "clinical records are for the patient's care team",
                )
                .await),
        }
    }

    /// Refuses unless the policy grants `actor` `action` and it has the full view (in the
    /// care team).
    pub(crate) async fn require_clinical_writer(
        &self,
        actor: &Actor,
        view: PatientView,
        action: Action,
        patient: &PatientRow,
        what: &str,
    ) -> Result<UserId, ServiceError> {
        let in_care = match actor.user_id() {
            Some(user) => {
                let id: PatientId = patient.id.parse().map_err(integrity)?;
                self.in_care_of(user, &[id]).await?.contains(&id)
            }
            None => false,
        };
        match actor.user_id() {
            // In care: a share of one encounter lets a doctor read it, not write.
            Some(user) if view == PatientView::Full && in_care && actor.may(action) => Ok(user),
            _ => Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    Some(patient.id.clone()),
                    what,
                )
                .await),
        }
    }

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

    async fn appointment_of_patient(
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

    async fn insert_diagnoses(
        &self,
        conn: &impl carevault_store::Conn,
        encounter: &EncounterRow,
        dek: &DataKey,
        entries: &[DiagnosisEntry],
        author: UserId,
        counted_on: Option<i64>,
    ) -> Result<Vec<String>, ServiceError> {
        let now = to_micros(self.now());
        let mut ids = Vec::new();
        for entry in entries {
            let id = Uuid::now_v7().to_string();
            let mut body = diagnosis_body(entry);
            if let (Some(day), Some(code)) = (counted_on, &body.code) {
                body.stat = Some(self.count_diagnosis(conn, encounter, code, day).await?);
            }
            let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
            let sealed = place("encounter_diagnoses", &id, &encounter.patient_id)
                .seal(dek, "body", Some(&json))?
                .unwrap_or_default();
            store::insert_diagnosis(
                conn,
                DiagnosisRow {
                    id: id.clone(),
                    encounter_id: encounter.id.clone(),
                    patient_id: encounter.patient_id.clone(),
                    kind: entry.kind().as_str().to_owned(),
                    free_text: entry.is_free_text(),
                    body: sealed,
                    added_by: author.to_string(),
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
    async fn count_diagnosis(
        &self,
        conn: &impl carevault_store::Conn,
        encounter: &EncounterRow,
        code: &str,
        day: i64,
    ) -> Result<String, ServiceError> {
        let id = Uuid::now_v7().to_string();
        store::insert_stat(
            conn,
            DiagnosisStatRow {
                id: id.clone(),
                code: code.to_owned(),
                department_id: encounter.department_id.clone(),
                recorded_day: day,
            },
        )
        .await?;
        Ok(id)
    }

    /// The local day an encounter counts on in the diagnoses report (micros of its start).
    fn report_day(&self, encounter: &EncounterRow) -> i64 {
        let settings = &self.settings().scheduling;
        to_micros(settings.day_start(settings.local_date(from_micros(encounter.started_at))))
    }

    /// Loads an encounter the actor may read, with the patient and view.
    pub(crate) async fn load_encounter(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(EncounterRow, PatientRow, PatientView), ServiceError> {
        let row = store::find_encounter(self.store().conn(), id).await?;
        let Some(row) = row else {
            let id = Some(id.to_owned());
            return Err(self
                .missing(actor, ResourceType::Encounter, id, "encounter")
                .await);
        };
        let patient_id: PatientId = row.patient_id.parse().map_err(integrity)?;
        // A doctor the patient shared this one (signed) encounter with reads it, and only it.
        if row.status == EncounterStatus::Signed.as_str()
            && self
                .holds_item_share(
                    actor,
                    patient_id,
                    carevault_store::record_shares::SCOPE_ENCOUNTER,
                    &row.id,
                )
                .await?
        {
            let patient = carevault_store::patients::find(self.store().conn(), patient_id)
                .await?
                .ok_or(ServiceError::Integrity)?;
            return Ok((row, patient, PatientView::Full));
        }
        let (patient, view) = self.clinical_access(actor, patient_id).await?;
        if view == PatientView::Own && row.status != EncounterStatus::Signed.as_str() {
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
                .resource_id(&row.id)
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
            if view == PatientView::Own && row.status != EncounterStatus::Signed.as_str() {
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
        row: &EncounterRow,
        patient: &PatientRow,
        view: PatientView,
        with_details: bool,
    ) -> Result<EncounterView, ServiceError> {
        let conn = self.store().conn();
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
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
        let accounts: HashMap<String, (String, Role)> = users::list(conn)
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.id.to_string(),
                    (u.display_name.as_str().to_owned(), u.role),
                )
            })
            .collect();
        let name = |id: &str| accounts.get(id).map(|a| a.0.clone()).unwrap_or_default();
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
            for note in store::notes_of(conn, &row.id).await? {
                let body = place("encounter_notes", &note.id, &note.patient_id)
                    .open(&dek, "body", Some(&note.body))
                    .and_then(|b| b.ok_or(ServiceError::Integrity));
                let body = match body {
                    Ok(body) => body,
                    Err(_) => {
                        return Err(self.encounter_integrity_failure(actor, row, patient).await);
                    }
                };
                match note.note_kind.as_str() {
                    NOTE_AMENDMENT => {
                        let parsed: AmendmentBody =
                            serde_json::from_str(&body).map_err(integrity)?;
                        amendments.push(AmendmentView {
                            id: note.id.clone(),
                            author: name(&note.author_id),
                            at: from_micros(note.created_at),
                            reason: parsed.reason,
                            changes: parsed
                                .changes
                                .into_iter()
                                .filter(|c| visible(&c.field) || c.field == "diagnoses")
                                .collect(),
                        });
                    }
                    NOTE_ADDENDUM if !own => addenda.push(AddendumView {
                        id: note.id.clone(),
                        author: name(&note.author_id),
                        author_role: accounts.get(&note.author_id).map(|a| a.1),
                        at: from_micros(note.created_at),
                        text: body,
                    }),
                    NOTE_ADDENDUM => {}
                    _ if !own => notes.push(NoteView {
                        id: note.id.clone(),
                        author: name(&note.author_id),
                        at: from_micros(note.created_at),
                        text: body,
                    }),
                    _ => {}
                }
            }
            let patient_id: PatientId = patient.id.parse().map_err(integrity)?;
            for v in store::vitals_of(conn, patient_id, Some(&row.id), LIST_LIMIT).await? {
                vitals.push(self.present_vitals(&v, &dek, &name)?);
            }
        }
        let diagnoses = opened
            .diagnoses
            .into_iter()
            .map(|(d, body)| DiagnosisView {
                id: d.id.clone(),
                kind: DiagnosisKind::parse(&d.kind).unwrap_or(DiagnosisKind::Secondary),
                code: body.code,
                text: body.text,
                free_text: d.free_text,
                added_by: name(&d.added_by),
                added_at: from_micros(d.added_at),
                retracted_at: d.retracted_at.map(from_micros),
            })
            .collect();
        let status = EncounterStatus::parse(&row.status).map_err(integrity)?;
        let is_author = actor.user_id().map(|u| u.to_string()) == Some(row.clinician_id.clone());
        // Writers must be in the patient's care (a share of one encounter only reads it).
        let in_care = match actor.user_id() {
            Some(user) if view == PatientView::Full => {
                let id: PatientId = patient.id.parse().map_err(integrity)?;
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
            id: row.id.clone(),
            patient_id: patient.id.parse().map_err(integrity)?,
            patient_label: label,
            clinician_id: row.clinician_id.parse().map_err(integrity)?,
            clinician_name: name(&row.clinician_id),
            appointment_id: row.appointment_id.clone(),
            appointment,
            kind: EncounterType::parse(&row.kind).map_err(integrity)?,
            status,
            started_at: from_micros(row.started_at),
            signed_at: row.signed_at.map(from_micros),
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
            updated_at: from_micros(row.updated_at),
        })
    }

    /// The appointment of an encounter, as its page shows it.
    async fn encounter_appointment(
        &self,
        actor: &Actor,
        row: &EncounterRow,
    ) -> Result<Option<EncounterAppointment>, ServiceError> {
        let Some(id) = row.appointment_id.as_deref() else {
            return Ok(None);
        };
        let id: AppointmentId = id.parse().map_err(integrity)?;
        let conn = self.store().conn();
        let Some(found) = carevault_store::scheduling::find_appointment(conn, id).await? else {
            return Ok(None);
        };
        let department = match found.department_id.parse() {
            Ok(department) => carevault_store::scheduling::find_department(conn, department)
                .await?
                .map(|d| d.name)
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let status = AppointmentStatus::parse(&found.status).map_err(integrity)?;
        let own = actor.user_id().map(|u| u.to_string()) == found.clinician_id;
        Ok(Some(EncounterAppointment {
            id,
            start: from_micros(found.start_at),
            end: from_micros(found.end_at),
            department,
            kind: AppointmentType::parse(&found.kind).map_err(integrity)?,
            status,
            may_complete: own && status == AppointmentStatus::InProgress,
        }))
    }

    /// A new vitals row for `patient` (on `encounter`, if given), sealed.
    fn vitals_row(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
        encounter: Option<String>,
        recorder: UserId,
        vitals: &Vitals,
    ) -> Result<VitalsRow, ServiceError> {
        let id = Uuid::now_v7().to_string();
        let json = serde_json::to_string(&vitals.fields()).map_err(ServiceError::internal)?;
        Ok(VitalsRow {
            id: id.clone(),
            patient_id: patient.id.clone(),
            encounter_id: encounter,
            appointment_id: None,
            body: place("vitals", &id, &patient.id)
                .seal(dek, "body", Some(&json))?
                .unwrap_or_default(),
            recorded_by: recorder.to_string(),
            recorded_at: to_micros(self.now()),
        })
    }

    pub(crate) fn present_vitals(
        &self,
        row: &VitalsRow,
        dek: &DataKey,
        name: &dyn Fn(&str) -> String,
    ) -> Result<VitalsView, ServiceError> {
        let json = place("vitals", &row.id, &row.patient_id)
            .open(dek, "body", Some(&row.body))?
            .ok_or(ServiceError::Integrity)?;
        let pairs: Vec<(String, String)> = serde_json::from_str(&json).map_err(integrity)?;
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let vitals = Vitals::from_fields(&borrowed).map_err(integrity)?;
        Ok(VitalsView {
            id: row.id.clone(),
            encounter_id: row.encounter_id.clone(),
            appointment_id: row.appointment_id.clone(),
            recorded_by: name(&row.recorded_by),
            at: from_micros(row.recorded_at),
            measurements: crate::vitals::measurements(&vitals),
            bmi: crate::vitals::bmi(&vitals),
        })
    }

    async fn encounter_integrity_failure(
        &self,
        actor: &Actor,
        row: &EncounterRow,
        patient: &PatientRow,
    ) -> ServiceError {
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Encounter)
            .resource_id(&row.id)
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
        row: &EncounterRow,
        dek: &DataKey,
    ) -> Result<Vec<(DiagnosisRow, DiagnosisBody)>, ServiceError> {
        let mut out = Vec::new();
        for d in store::diagnoses_of(self.store().conn(), &row.id).await? {
            let json = place("encounter_diagnoses", &d.id, &d.patient_id)
                .open(dek, "body", Some(&d.body))?
                .ok_or(ServiceError::Integrity)?;
            let body: DiagnosisBody = serde_json::from_str(&json).map_err(integrity)?;
            out.push((d, body));
        }
        Ok(out)
    }

    fn open_encounter(&self, row: &EncounterRow, dek: &DataKey) -> Result<Opened, ServiceError> {
        let p = encounter_place(row);
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

/// An encounter's texts and diagnoses, opened.
struct Opened {
    texts: Vec<Option<String>>,
    diagnoses: Vec<(DiagnosisRow, DiagnosisBody)>,
}

fn seal_texts(
    row: &mut EncounterRow,
    dek: &DataKey,
    texts: &[(&'static str, Option<String>)],
) -> Result<(), ServiceError> {
    let id = row.id.clone();
    let patient = row.patient_id.clone();
    let p = Place {
        table: "encounters",
        row_id: &id,
        patient_id: &patient,
    };
    for (field, value) in texts {
        let sealed = p.seal(dek, field, value.as_deref())?;
        match *field {
            "chief_complaint" => row.chief_complaint = sealed,
            "history" => row.history = sealed,
            "examination" => row.examination = sealed,
            "assessment" => row.assessment = sealed,
            "plan" => row.plan = sealed,
            _ => {}
        }
    }
    Ok(())
}

/// Counts for the diagnoses report.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisReport {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub total: u64,
    /// (code, title, count), most frequent first.
    pub by_code: Vec<(String, String, u64)>,
    /// (department name, count), most frequent first.
    pub by_department: Vec<(String, u64)>,
    /// (code, department name, count).
    pub by_code_and_department: Vec<(String, String, u64)>,
}

impl Services {
    /// Loads an encounter for a write by a doctor in the care team, and checks `action`
    /// against its status and authorship.
    async fn encounter_for_change(
        &self,
        actor: &Actor,
        id: &str,
        action: EncounterAction,
    ) -> Result<(EncounterRow, PatientRow, UserId, DataKey), ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, id).await?;
        let author = self
            .require_clinical_writer(
                actor,
                view,
                Action::WriteEncounters,
                &patient,
                "encounters are written by doctors in the care team",
            )
            .await?;
        let status = EncounterStatus::parse(&row.status).map_err(integrity)?;
        if let Err(refusal) =
            check_encounter_action(status, action, row.clinician_id == author.to_string())
        {
            if refusal.is_conflict() {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: refusal.to_string(),
                });
            }
            return Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    Some(row.id.clone()),
                    &refusal.to_string(),
                )
                .await);
        }
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        Ok((row, patient, author, dek))
    }

    /// Replaces a draft's type, texts and diagnoses (its author only). `seen_updated_at` is
    /// the version the change was based on: an older one is refused (409). The form saved
    /// without vitals, prescription or signature ([`Services::save_encounter`]).
    pub async fn update_draft_encounter(
        &self,
        actor: &Actor,
        id: &str,
        input: EncounterInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<EncounterView, ServiceError> {
        let submission = DraftSubmission {
            kind: input.kind,
            texts: input.texts,
            diagnoses: input.diagnoses,
            seen_version: seen_updated_at,
            ..DraftSubmission::default()
        };
        saved_encounter(
            self.save_encounter(actor, DraftOf::Draft(id.to_owned()), submission)
                .await?,
        )
    }

    /// Signs a draft (its author only): from now on it is only amended. Its coded diagnoses
    /// are counted for the diagnoses report.
    pub async fn sign_encounter(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, _, dek) = self
            .encounter_for_change(actor, id, EncounterAction::Sign)
            .await?;
        let read_at = row.updated_at;
        let now = to_micros(self.now());
        let mut signed = row.clone();
        signed.status = EncounterStatus::Signed.as_str().to_owned();
        signed.signed_at = Some(now);
        signed.updated_at = now.max(read_at + 1);
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Encounter)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("draft → signed".into());
        let day = self.report_day(&row);
        let diagnoses = self.open_diagnoses(&row, &dek).await?;
        self.transaction(async |txn| {
            if !store::update_encounter(txn, signed.clone(), read_at).await? {
                return Err(changed_meanwhile());
            }
            for (d, body) in &diagnoses {
                let mut body = body.clone();
                if let Some(code) = body.code.clone() {
                    body.stat = Some(self.count_diagnosis(txn, &row, &code, day).await?);
                    let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
                    let sealed = place("encounter_diagnoses", &d.id, &d.patient_id)
                        .seal(&dek, "body", Some(&json))?
                        .unwrap_or_default();
                    store::set_diagnosis_body(txn, &d.id, sealed).await?;
                }
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        tracing::info!(encounter_id = %id, "encounter signed");
        self.get_encounter(actor, id).await
    }

    /// Corrects a signed encounter: new texts, added and retracted diagnoses, with a
    /// reason. The original stays visible in the amendment (before and after).
    pub async fn amend_encounter(
        &self,
        actor: &Actor,
        id: &str,
        input: AmendmentInput,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, author, dek) = self
            .encounter_for_change(actor, id, EncounterAction::Amend)
            .await?;
        let mut errors = ValidationErrors::new();
        let reason = errors.check("reason", AmendmentReason::parse(&input.reason));
        let given: HashMap<String, String> = input
            .texts
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let new_texts = parse_texts(&mut errors, &given);
        let added = parse_diagnoses(&mut errors, "add_diagnoses", &input.add_diagnoses);
        let current = self.open_diagnoses(&row, &dek).await?;
        let mut retract = Vec::new();
        for (i, raw) in input.retract_diagnoses.iter().enumerate() {
            match current
                .iter()
                .find(|(d, _)| d.id == raw.trim() && d.retracted_at.is_none())
            {
                Some(found) => retract.push(found),
                None => errors.push(
                    format!("retract_diagnoses[{i}]"),
                    "is not a current diagnosis of this encounter",
                ),
            }
        }
        let old = self.open_encounter(&row, &dek)?;
        let mut changes = Vec::new();
        for ((field, new), before) in new_texts.iter().zip(old.texts.iter()) {
            if let Some(new) = new
                && before.as_deref() != Some(new.as_str())
            {
                changes.push(Change {
                    field: (*field).to_owned(),
                    before: before.clone().unwrap_or_default(),
                    after: new.clone(),
                });
            }
        }
        for (_, body) in &retract {
            changes.push(Change {
                field: "diagnoses".into(),
                before: describe(body),
                after: String::new(),
            });
        }
        for entry in &added {
            changes.push(Change {
                field: "diagnoses".into(),
                before: String::new(),
                after: describe(&diagnosis_body(entry)),
            });
        }
        // The diagnoses that remain must still make a valid list.
        let mut remaining: Vec<DiagnosisEntry> = current
            .iter()
            .filter(|(d, _)| d.retracted_at.is_none() && !retract.iter().any(|(r, _)| r.id == d.id))
            .filter_map(|(d, body)| stored_entry(d, body))
            .collect();
        remaining.extend(added.iter().cloned());
        if let Err(message) = check_diagnosis_list(&remaining) {
            errors.push("add_diagnoses", message);
        }
        if changes.is_empty() && errors.is_empty() {
            errors.push("texts", "the amendment changes nothing");
        }
        errors.into_result()?;
        let reason = reason.ok_or(ServiceError::Forbidden)?;
        let read_at = row.updated_at;
        let now = to_micros(self.now());
        let mut amended = row.clone();
        let merged: Vec<(&'static str, Option<String>)> = new_texts
            .iter()
            .zip(old.texts.iter())
            .map(|((field, new), before)| (*field, new.clone().or_else(|| before.clone())))
            .collect();
        seal_texts(&mut amended, &dek, &merged)?;
        amended.updated_at = now.max(read_at + 1);
        let note_id = Uuid::now_v7().to_string();
        let mut event = self
            .audit_event(actor, AuditAction::Update, ResourceType::Encounter)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("amendment {note_id} ({} changes)", changes.len()));
        let day = self.report_day(&row);
        self.transaction(async |txn| {
            if !store::update_encounter(txn, amended.clone(), read_at).await? {
                return Err(changed_meanwhile());
            }
            let mut retracted_ids = Vec::new();
            for (d, body) in &retract {
                store::retract_diagnosis(txn, &d.id, &row.id, now).await?;
                if let Some(stat) = &body.stat {
                    store::delete_stat(txn, stat).await?;
                }
                retracted_ids.push(d.id.clone());
            }
            let added_ids = self
                .insert_diagnoses(txn, &amended, &dek, &added, author, Some(day))
                .await?;
            let body = serde_json::to_string(&AmendmentBody {
                reason: reason.as_str().to_owned(),
                changes: changes.clone(),
                added: added_ids,
                retracted: retracted_ids,
            })
            .map_err(ServiceError::internal)?;
            store::insert_note(
                txn,
                NoteRow {
                    id: note_id.clone(),
                    encounter_id: row.id.clone(),
                    patient_id: row.patient_id.clone(),
                    note_kind: NOTE_AMENDMENT.to_owned(),
                    body: place("encounter_notes", &note_id, &row.patient_id)
                        .seal(&dek, "body", Some(&body))?
                        .unwrap_or_default(),
                    author_id: author.to_string(),
                    created_at: now,
                },
            )
            .await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_encounter(actor, id).await
    }

    /// A nurse (or doctor) in the care team adds a timestamped treatment note to an open
    /// (draft) encounter.
    pub async fn add_treatment_note(
        &self,
        actor: &Actor,
        encounter_id: &str,
        text: &str,
    ) -> Result<EncounterView, ServiceError> {
        let (row, patient, view) = self.load_encounter(actor, encounter_id).await?;
        let author = self
            .require_clinical_writer(
                actor,
                view,
                Action::WriteClinicalNotes,
                &patient,
                "treatment notes are written by the care team",
            )
            .await?;
        if row.status != EncounterStatus::Draft.as_str() {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: "the encounter is signed: treatment notes go to an open encounter".into(),
            });
        }
        let text = ClinicalText::parse(text)
            .map_err(|message| ValidationErrors::single("text", message))?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let id = Uuid::now_v7().to_string();
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Encounter)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        let mut event = event;
        event.reason = Some("treatment note".into());
        self.transaction(async |txn| {
            store::insert_note(
                txn,
                NoteRow {
                    id: id.clone(),
                    encounter_id: row.id.clone(),
                    patient_id: row.patient_id.clone(),
                    note_kind: NOTE_TREATMENT.to_owned(),
                    body: place("encounter_notes", &id, &row.patient_id)
                        .seal(&dek, "body", Some(text.as_str()))?
                        .unwrap_or_default(),
                    author_id: author.to_string(),
                    created_at: to_micros(self.now()),
                },
            )
            .await?;
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
                let row = store::find_encounter(self.store().conn(), raw)
                    .await?
                    .filter(|e| e.patient_id == patient.id)
                    .ok_or_else(|| {
                        ValidationErrors::single(
                            "encounter_id",
                            "is not an encounter of this patient",
                        )
                    })?;
                if row.status != EncounterStatus::Draft.as_str() {
                    return Err(ValidationErrors::single(
                        "encounter_id",
                        "is signed: vitals go to an open encounter",
                    )
                    .into());
                }
                Some(row.id)
            }
        };
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let row = self.vitals_row(&patient, &dek, encounter, recorder, &vitals)?;
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Vitals)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        self.transaction(async |txn| {
            store::insert_vitals(txn, row.clone()).await?;
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
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let names: HashMap<String, String> = users::list(self.store().conn())
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u.display_name.as_str().to_owned()))
            .collect();
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
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

    /// Diagnoses by code and department for the local days `from..=to`, from the
    /// de-identified counts (nothing sealed is read). Administrators and doctors.
    pub async fn diagnosis_report(
        &self,
        actor: &Actor,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<DiagnosisReport, ServiceError> {
        if !actor.may(Action::ClinicalReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Encounter,
                    None,
                    "the diagnoses report is for administrators and doctors",
                )
                .await);
        }
        if to < from || (to - from).num_days() > 366 {
            return Err(ValidationErrors::single(
                "to",
                "must be on or after the start, at most 366 days later",
            )
            .into());
        }
        let settings = &self.settings().scheduling;
        let start = to_micros(settings.day_start(from));
        let end = to_micros(
            to.succ_opt()
                .map_or_else(|| settings.day_start(to), |d| settings.day_start(d)),
        );
        let rows = store::stats_between(self.store().conn(), start, end).await?;
        let departments: HashMap<String, String> =
            carevault_store::scheduling::departments(self.store().conn())
                .await?
                .into_iter()
                .map(|d| (d.id, d.name))
                .collect();
        let department = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| departments.get(id).cloned())
                .unwrap_or_else(|| "(no department)".into())
        };
        let mut by_code: HashMap<String, u64> = HashMap::new();
        let mut by_department: HashMap<String, u64> = HashMap::new();
        let mut by_both: HashMap<(String, String), u64> = HashMap::new();
        for row in &rows {
            *by_code.entry(row.code.clone()).or_default() += 1;
            *by_department
                .entry(department(&row.department_id))
                .or_default() += 1;
            *by_both
                .entry((row.code.clone(), department(&row.department_id)))
                .or_default() += 1;
        }
        let mut by_code: Vec<(String, String, u64)> = by_code
            .into_iter()
            .map(|(code, n)| {
                let title = carevault_core::icd10::lookup(&code)
                    .map(|c| c.title.to_owned())
                    .unwrap_or_default();
                (code, title, n)
            })
            .collect();
        by_code.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let mut by_department: Vec<(String, u64)> = by_department.into_iter().collect();
        by_department.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut by_code_and_department: Vec<(String, String, u64)> = by_both
            .into_iter()
            .map(|((code, dep), n)| (code, dep, n))
            .collect();
        by_code_and_department.sort();
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Encounter);
        event.reason = Some(format!("diagnoses report {from} to {to}"));
        self.record(event).await?;
        Ok(DiagnosisReport {
            from,
            to,
            total: rows.len() as u64,
            by_code,
            by_department,
            by_code_and_department,
        })
    }
}

/// A diagnosis in words, for an amendment's before/after.
fn describe(body: &DiagnosisBody) -> String {
    match &body.code {
        Some(code) => format!("{code} {}", body.text),
        None => format!("{} (free text)", body.text),
    }
}

/// A stored diagnosis as a core entry (for re-checking the list).
fn stored_entry(row: &DiagnosisRow, body: &DiagnosisBody) -> Option<DiagnosisEntry> {
    let kind = DiagnosisKind::parse(&row.kind).ok()?;
    let diagnosis = match &body.code {
        Some(code) => Diagnosis::Coded(carevault_core::clinical::DiagnosisCode::parse(code).ok()?),
        None => {
            Diagnosis::FreeText(carevault_core::clinical::DiagnosisText::parse(&body.text).ok()?)
        }
    };
    Some(DiagnosisEntry::new(kind, diagnosis))
}

fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "the encounter was changed by someone else meanwhile: reload it and try again"
            .into(),
    }
}

/// The encounter a save without a prescription wrote (such a save raises no warning).
fn saved_encounter(outcome: DraftSaved) -> Result<EncounterView, ServiceError> {
    match outcome {
        DraftSaved::Saved { encounter, .. } => Ok(*encounter),
        DraftSaved::NeedsAcknowledgement { .. } => Err(ServiceError::internal(anyhow::anyhow!(
            "a save without a prescription asked for an acknowledgement"
        ))),
    }
}

/// The printable medical record summary of one patient.
#[derive(Debug, Clone)]
pub struct MedicalSummary {
    /// Demographics as the viewer may see them.
    pub patient: crate::patients::PatientDetails,
    /// The current diagnoses of signed encounters, newest first, each once.
    pub problems: Vec<DiagnosisView>,
    /// Signed encounters, newest first.
    pub encounters: Vec<EncounterView>,
    pub prescriptions: Vec<crate::prescriptions::PrescriptionView>,
    /// The latest vitals, newest first (at most [`SUMMARY_VITALS`]), flagged.
    pub vitals: Vec<VitalsView>,
    pub printed_at: DateTime<Utc>,
}

/// How many sets of vitals the medical record summary shows.
pub const SUMMARY_VITALS: usize = 10;

impl Services {
    /// The medical record summary (demographics as the viewer may see them, problem list,
    /// signed encounters, prescriptions, allergies) for a print view or PDF. The care team,
    /// administrators and the patient themselves; recorded as a `print` of the record.
    pub async fn medical_record_summary(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<MedicalSummary, ServiceError> {
        let (patient_row, _) = self.clinical_access(actor, patient_id).await?;
        let patient = self.get_patient(actor, patient_id).await?;
        let encounters: Vec<EncounterView> = self
            .list_encounters(actor, patient_id)
            .await?
            .into_iter()
            .filter(|e| e.status == EncounterStatus::Signed)
            .collect();
        let mut problems: Vec<DiagnosisView> = Vec::new();
        for encounter in &encounters {
            for d in encounter
                .diagnoses
                .iter()
                .filter(|d| d.retracted_at.is_none())
            {
                let same = |p: &DiagnosisView| match (&p.code, &d.code) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => p.text.eq_ignore_ascii_case(&d.text),
                    _ => false,
                };
                if !problems.iter().any(same) {
                    problems.push(d.clone());
                }
            }
        }
        let prescriptions = self.list_prescriptions(actor, patient_id).await?;
        let mut vitals = self.list_vitals(actor, patient_id).await?;
        vitals.truncate(SUMMARY_VITALS);
        let mut event = self
            .audit_event(actor, AuditAction::Print, ResourceType::Patient)
            .resource_id(&patient_row.id)
            .patient(pseudonym_of(patient_row.pseudonym_number));
        event.reason = Some("medical record summary".into());
        self.record(event).await?;
        Ok(MedicalSummary {
            patient,
            problems,
            encounters,
            prescriptions,
            vitals,
            printed_at: self.now(),
        })
    }
}
