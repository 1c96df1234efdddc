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
//!   a full copy is the access export, `subject_access/`). Everyone else is refused (403, recorded):
//!   reception, pharmacy (they see prescriptions, not encounters), auditors, clinicians
//!   outside the care team.
//! - **Who writes.** Doctors in the care team create encounters; the author edits and signs
//!   a draft; any doctor in the care team amends a signed one, with a reason, keeping the
//!   original visible. Nurses in the care team add treatment notes to an open (draft)
//!   encounter and record vitals; doctors and nurses of the care team add addenda to a
//!   signed one (`addenda.rs`); nurses' triage and nursing notes need no encounter
//!   (`nursing/`). Administrators do not write clinical records (the permission matrix).
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
    AmendmentReason, Diagnosis, DiagnosisEntry, DiagnosisKind, EncounterAction, EncounterNoteKind,
    EncounterStatus, EncounterType, Vitals, VitalsInput, check_diagnosis_list,
    check_encounter_action,
};
use carevault_core::masking::PatientView;
use carevault_core::patient::ClinicalText;
use carevault_core::{
    AppointmentId, DepartmentId, DiagnosisId, EncounterId, EncounterNoteId, PatientId, Role,
    UserId, ValidationErrors, VitalsId,
};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters::{
    self as store, DiagnosisRecord, DiagnosisStatRecord, EncounterRecord, NoteRecord, VitalsRecord,
};
use carevault_store::patients::PatientRow;
use carevault_store::users;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::ids::requested_id;
use crate::patients::Shown;
use crate::sealing::Place;
use crate::vitals::{BmiView, VitalMeasurement};

mod changes;
mod create;
mod notes;
mod reading;
mod report;
mod save;
mod start;
mod summary;

pub(crate) use notes::note_text;
pub use report::*;
pub use save::{DraftOf, DraftSaved, DraftSubmission, VitalsSubmission};
pub use start::StartedEncounter;
pub use summary::*;

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
    row: &DiagnosisRecord,
    dek: &DataKey,
) -> Result<(Option<String>, String), ServiceError> {
    let body = open_diagnosis(row, dek)?;
    Ok((body.code, body.text))
}

/// The sealed body of a diagnosis, opened.
fn open_diagnosis(row: &DiagnosisRecord, dek: &DataKey) -> Result<DiagnosisBody, ServiceError> {
    let json = place(
        "encounter_diagnoses",
        &row.id.to_string(),
        &row.patient_id.to_string(),
    )
    .open(dek, "body", Some(&row.body))?
    .ok_or(ServiceError::Integrity)?;
    serde_json::from_str(&json).map_err(integrity)
}

/// A new note of `kind` on the encounter `row`, its text sealed.
pub(crate) fn new_note(
    row: &EncounterRecord,
    dek: &DataKey,
    id: EncounterNoteId,
    kind: EncounterNoteKind,
    text: &str,
    author: UserId,
    at: DateTime<Utc>,
) -> Result<NoteRecord, ServiceError> {
    Ok(NoteRecord {
        id,
        encounter_id: row.id,
        patient_id: row.patient_id,
        note_kind: kind,
        body: place(
            "encounter_notes",
            &id.to_string(),
            &row.patient_id.to_string(),
        )
        .seal(dek, "body", Some(text))?
        .unwrap_or_default(),
        author_id: author,
        created_at: at,
    })
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
        self.load_for_part(
            actor,
            patient,
            &[PatientView::Full, PatientView::Own],
            ResourceType::Encounter,
            "clinical records are for the patient's care team",
        )
        .await
    }

    /// Refuses unless `actor` writes encounters (a doctor in the care team).
    async fn require_encounter_writer(
        &self,
        actor: &Actor,
        view: PatientView,
        patient: &PatientRow,
    ) -> Result<UserId, ServiceError> {
        self.require_clinical_writer(
            actor,
            view,
            Action::WriteEncounters,
            patient,
            "encounters are written by doctors in the care team",
        )
        .await
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
                let id: PatientId = patient.id;
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
                    Some(patient.id.to_string()),
                    what,
                )
                .await),
        }
    }
}

/// An encounter's texts and diagnoses, opened.
struct Opened {
    texts: Vec<Option<String>>,
    diagnoses: Vec<(DiagnosisRecord, DiagnosisBody)>,
}

fn seal_texts(
    row: &mut EncounterRecord,
    dek: &DataKey,
    texts: &[(&'static str, Option<String>)],
) -> Result<(), ServiceError> {
    let id = row.id.to_string();
    let patient = row.patient_id.to_string();
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

/// A diagnosis in words, for an amendment's before/after.
fn describe(body: &DiagnosisBody) -> String {
    match &body.code {
        Some(code) => format!("{code} {}", body.text),
        None => format!("{} (free text)", body.text),
    }
}

/// A stored diagnosis as a core entry (for re-checking the list).
fn stored_entry(row: &DiagnosisRecord, body: &DiagnosisBody) -> Option<DiagnosisEntry> {
    let kind = row.kind;
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
