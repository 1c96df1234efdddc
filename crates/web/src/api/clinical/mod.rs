//! The clinical record's JSON face: encounters (drafts, signing, amendments, treatment
//! notes), vitals, prescriptions and the ICD-10 code search. Handlers parse, call one
//! `carevault_service::encounters` / `prescriptions` use case with the actor, and render.
//!
//! - **Who**: the service decides (the masking policy for reading, the permission matrix for
//!   writing); a refusal is a 403, recorded. Reception, auditors and clinicians outside the
//!   care team get no clinical field from any route; pharmacists read prescriptions only.
//! - **Hidden texts are absent**: a text the caller may not see (a patient reading their
//!   own encounter sees the complaint, assessment and plan) is left out of the JSON, not
//!   sent as `null`; `null` means empty.
//! - **Versions**: `GET /api/v1/encounters/{id}` answers an `ETag` (the encounter's
//!   `updated_at` in microseconds); a `PATCH` with `If-Match` naming an older one answers 412.
//! - **Prescribing with warnings**: a recorded allergy or a duplicate active prescription
//!   answers 409 `prescription-warnings` with the `warnings`, and nothing is written; the
//!   same request with an `acknowledgement` (a reason, 10+ characters) is written, and the
//!   acknowledgement audited.
//! - **Bad input** is a 422 naming the field (`diagnoses[0].code`, `temperature_c`).
//! - **Times** are RFC 3339 in UTC (`Z`).

use carevault_core::Action;
use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carevault_core::clinical::VitalsInput;
use carevault_core::{PatientId, Role, ValidationErrors};
use carevault_service::encounters::{
    AmendmentInput, AmendmentView, DiagnosisInput, DiagnosisView, EncounterInput, EncounterView,
    NoteView, TEXT_FIELDS, VitalsView,
};
use carevault_service::prescriptions::{
    Prescribed, PrescriptionRequest, PrescriptionView, PrescriptionWarning,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::versions::{IfMatch, versioned};
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::{Access, RouteTable};

/// Adds the clinical API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("POST", Action::WriteEncounters),
            ],
            "/api/v1/encounters",
            Access::Api,
            get(list_encounters).post(create_encounter),
        )
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("PATCH", Action::WriteEncounters),
            ],
            "/api/v1/encounters/{id}",
            Access::Api,
            get(encounter).patch(patch_encounter),
        )
        .add(
            &[("POST", Action::WriteEncounters)],
            "/api/v1/encounters/{id}/sign",
            Access::Api,
            post(sign_encounter),
        )
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("POST", Action::WriteEncounters),
            ],
            "/api/v1/encounters/{id}/amendments",
            Access::Api,
            get(amendments).post(amend_encounter),
        )
        .add(
            &[("POST", Action::WriteClinicalNotes)],
            "/api/v1/encounters/{id}/notes",
            Access::Api,
            post(add_note),
        )
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("POST", Action::WriteClinicalNotes),
            ],
            "/api/v1/vitals",
            Access::Api,
            get(list_vitals).post(record_vitals),
        )
        .add(
            &[("GET", Action::SeeMedication), ("POST", Action::Prescribe)],
            "/api/v1/prescriptions",
            Access::Api,
            get(list_prescriptions).post(prescribe),
        )
        .add(
            &[("GET", Action::SeeMedication)],
            "/api/v1/prescriptions/{id}",
            Access::Api,
            get(prescription),
        )
        .add(
            &[("POST", Action::Prescribe)],
            "/api/v1/prescriptions/{id}/status",
            Access::Api,
            post(change_prescription_status),
        )
        .add(
            &[("GET", Action::LookUpCodes)],
            "/api/v1/icd10",
            Access::Api,
            get(icd10),
        )
}

// ---------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------

pub(crate) fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A value sent as a JSON number or as text (`37.5` or `"37.5"`); the service judges it.
/// `null` is "not given".
pub(crate) fn number_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    crate::extract::number_or_text(deserializer, "a number", true)
}

/// A diagnosis as shown.
#[derive(Serialize, ToSchema)]
pub struct DiagnosisRecord {
    #[schema(format = Uuid)]
    id: String,
    /// `primary` or `secondary`.
    #[schema(example = "primary")]
    kind: String,
    /// The ICD-10 code; `null` for free text.
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// The code's title, or the free text.
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    text: String,
    /// Free text, not coded.
    free_text: bool,
    added_by: String,
    added_at: String,
    /// When an amendment retracted it (it stays listed); `null` while current.
    retracted_at: Option<String>,
}

impl From<DiagnosisView> for DiagnosisRecord {
    fn from(d: DiagnosisView) -> Self {
        Self {
            id: d.id,
            kind: d.kind.as_str().to_owned(),
            code: d.code,
            text: d.text,
            free_text: d.free_text,
            added_by: d.added_by,
            added_at: utc(d.added_at),
            retracted_at: d.retracted_at.map(utc),
        }
    }
}

/// One change an amendment made: the text before and after.
#[derive(Serialize, ToSchema)]
pub struct ChangeRecord {
    /// A text's name (`plan`) or `diagnoses`.
    field: String,
    before: String,
    after: String,
}

/// An amendment: who, when, why and what.
#[derive(Serialize, ToSchema)]
pub struct AmendmentRecord {
    #[schema(format = Uuid)]
    id: String,
    /// The amending doctor's display name.
    author: String,
    at: String,
    reason: String,
    changes: Vec<ChangeRecord>,
}

impl From<AmendmentView> for AmendmentRecord {
    fn from(a: AmendmentView) -> Self {
        Self {
            id: a.id,
            author: a.author,
            at: utc(a.at),
            reason: a.reason,
            changes: a
                .changes
                .into_iter()
                .map(|c| ChangeRecord {
                    field: c.field,
                    before: c.before,
                    after: c.after,
                })
                .collect(),
        }
    }
}

/// A treatment note.
#[derive(Serialize, ToSchema)]
pub struct NoteRecord {
    #[schema(format = Uuid)]
    id: String,
    author: String,
    at: String,
    text: String,
}

impl From<NoteView> for NoteRecord {
    fn from(n: NoteView) -> Self {
        Self {
            id: n.id,
            author: n.author,
            at: utc(n.at),
            text: n.text,
        }
    }
}

/// A set of vitals.
#[derive(Clone, Serialize, ToSchema)]
pub struct VitalsRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    /// The visit whose triage measured them.
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    recorded_by: String,
    recorded_at: String,
    /// The measured values by field (`pulse_bpm`: `"72"`), as formatted by the range checks.
    #[schema(value_type = Object, example = json!({"temperature_c": "37.2", "pulse_bpm": "72"}))]
    values: BTreeMap<String, String>,
    /// Each value against its adult reference range (`high`, `low` or `normal`), by field;
    /// weight and height have no range and are absent.
    #[schema(value_type = Object, example = json!({"temperature_c": "high", "pulse_bpm": "normal"}))]
    flags: BTreeMap<String, String>,
    /// The adult reference range of each flagged field, in words.
    #[schema(value_type = Object, example = json!({"temperature_c": "36.1–37.9 °C"}))]
    reference_ranges: BTreeMap<String, String>,
    /// The body-mass index, when weight and height were measured.
    #[schema(example = "24.2")]
    bmi: Option<String>,
    /// Its category.
    #[schema(example = "normal")]
    bmi_category: Option<String>,
}

impl From<VitalsView> for VitalsRecord {
    fn from(v: VitalsView) -> Self {
        let (bmi, bmi_category) = v.bmi.map_or((None, None), |b| {
            (Some(b.value), Some(b.category.as_str().to_owned()))
        });
        let ranged = || v.measurements.iter().filter(|m| m.reference.is_some());
        Self {
            flags: ranged()
                .map(|m| (m.field.to_owned(), m.flag.as_str().to_owned()))
                .collect(),
            reference_ranges: ranged()
                .filter_map(|m| m.reference.clone().map(|r| (m.field.to_owned(), r)))
                .collect(),
            values: v
                .measurements
                .iter()
                .map(|m| (m.field.to_owned(), m.value.clone()))
                .collect(),
            id: v.id,
            encounter_id: v.encounter_id,
            appointment_id: v.appointment_id,
            recorded_by: v.recorded_by,
            recorded_at: utc(v.at),
            bmi,
            bmi_category,
        }
    }
}

/// An encounter as the caller may see it. A text the caller may not see is absent; an
/// empty one is `null`.
#[derive(Serialize, ToSchema)]
pub struct EncounterRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    /// The patient as the caller may see them.
    patient: String,
    #[schema(format = Uuid)]
    clinician_id: String,
    #[schema(example = "Dr. Sarah Smith")]
    clinician: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    /// `consultation`, `follow_up`, …
    #[schema(example = "consultation")]
    kind: String,
    /// `draft` or `signed`.
    #[schema(example = "draft")]
    status: String,
    started_at: String,
    signed_at: Option<String>,
    /// The version (see `ETag`).
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    chief_complaint: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    history: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    examination: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    assessment: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    plan: Option<Option<String>>,
    diagnoses: Vec<DiagnosisRecord>,
    /// Every amendment, oldest first, with the texts before and after.
    amendments: Vec<AmendmentRecord>,
    /// Treatment notes (in a single encounter's view, for the care team).
    notes: Vec<NoteRecord>,
    /// Vitals recorded on this encounter (in a single encounter's view).
    vitals: Vec<VitalsRecord>,
    /// Addenda added after signing, oldest first (in a single encounter's view, for the
    /// care team). Separate from the amendments: an addendum changes nothing.
    addenda: Vec<crate::api::nursing::AddendumRecord>,
    /// What the caller may do now.
    may_edit: bool,
    may_sign: bool,
    may_amend: bool,
    may_add_note: bool,
    may_add_addendum: bool,
}

impl std::fmt::Debug for EncounterRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncounterRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl From<EncounterView> for EncounterRecord {
    fn from(e: EncounterView) -> Self {
        let mut texts: HashMap<&str, Option<Option<String>>> = e.texts.into_iter().collect();
        let mut take = |field: &str| texts.remove(field).flatten();
        Self {
            chief_complaint: take("chief_complaint"),
            history: take("history"),
            examination: take("examination"),
            assessment: take("assessment"),
            plan: take("plan"),
            id: e.id,
            patient_id: e.patient_id.to_string(),
            patient: e.patient_label,
            clinician_id: e.clinician_id.to_string(),
            clinician: e.clinician_name,
            appointment_id: e.appointment_id,
            kind: e.kind.as_str().to_owned(),
            status: e.status.as_str().to_owned(),
            started_at: utc(e.started_at),
            signed_at: e.signed_at.map(utc),
            updated_at: utc(e.updated_at),
            diagnoses: e.diagnoses.into_iter().map(Into::into).collect(),
            amendments: e.amendments.into_iter().map(Into::into).collect(),
            notes: e.notes.into_iter().map(Into::into).collect(),
            vitals: e.vitals.into_iter().map(Into::into).collect(),
            addenda: e.addenda.into_iter().map(Into::into).collect(),
            may_add_addendum: e.may_add_addendum,
            may_edit: e.may_edit,
            may_sign: e.may_sign,
            may_amend: e.may_amend,
            may_add_note: e.may_add_note,
        }
    }
}

/// Encounters, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncounterList {
    items: Vec<EncounterRecord>,
}

/// The amendments of one encounter, oldest first.
#[derive(Serialize, ToSchema)]
pub struct AmendmentList {
    items: Vec<AmendmentRecord>,
}

/// A diagnosis as submitted: an ICD-10 `code`, or `text` with `free_text: true`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisRequest {
    /// `primary` or `secondary`; absent: secondary.
    #[serde(default)]
    #[schema(example = "primary")]
    kind: String,
    #[schema(example = "E11.9")]
    code: Option<String>,
    /// The free text (with `free_text: true`).
    text: Option<String>,
    #[serde(default)]
    free_text: bool,
}

impl From<DiagnosisRequest> for DiagnosisInput {
    fn from(d: DiagnosisRequest) -> Self {
        Self {
            kind: d.kind,
            code: d.code,
            text: d.text,
            free_text: d.free_text,
        }
    }
}

/// The five texts of a request by name; an absent one is left out.
fn texts_map(
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
) -> HashMap<String, String> {
    [
        ("chief_complaint", chief_complaint),
        ("history", history),
        ("examination", examination),
        ("assessment", assessment),
        ("plan", plan),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect()
}

macro_rules! texts_of {
    ($body:expr) => {
        texts_map(
            $body.chief_complaint,
            $body.history,
            $body.examination,
            $body.assessment,
            $body.plan,
        )
    };
}

/// A new encounter (a draft), by a doctor in the patient's care team.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEncounterRequest {
    #[serde(default)]
    #[schema(format = Uuid, required = true)]
    patient_id: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
    /// Absent: `consultation`.
    kind: Option<String>,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    #[serde(default)]
    diagnoses: Vec<DiagnosisRequest>,
}

/// Changes to a draft (its author only). Absent fields keep their value; `diagnoses`, when
/// given, replaces the list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEncounterRequest {
    kind: Option<String>,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    diagnoses: Option<Vec<DiagnosisRequest>>,
}

/// A correction of a signed encounter, with a reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentRequest {
    #[serde(default)]
    #[schema(example = "Lab result: HbA1c confirms type 2 diabetes")]
    reason: String,
    #[schema(example = "Thirst for two weeks")]
    chief_complaint: Option<String>,
    history: Option<String>,
    examination: Option<String>,
    assessment: Option<String>,
    plan: Option<String>,
    #[serde(default)]
    add_diagnoses: Vec<DiagnosisRequest>,
    /// Ids of diagnoses to retract (they stay listed, marked retracted).
    #[serde(default)]
    retract_diagnoses: Vec<String>,
}

/// A treatment note for an open encounter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default)]
    #[schema(example = "Dressing changed; wound clean.")]
    text: String,
}

/// Vitals for a patient, optionally on an open encounter. Values are numbers (or text).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VitalsRequest {
    #[serde(default)]
    #[schema(format = Uuid, required = true)]
    patient_id: String,
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 37.2)]
    temperature_c: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 72)]
    pulse_bpm: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 120)]
    systolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 80)]
    diastolic_mmhg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 16)]
    respiratory_rate: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 98)]
    spo2_percent: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 70.5)]
    weight_kg: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<f64>, example = 172)]
    height_cm: Option<String>,
}

/// Vitals, newest first.
#[derive(Serialize, ToSchema)]
pub struct VitalsList {
    items: Vec<VitalsRecord>,
}

/// A warning found at prescribing time.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionWarningRecord {
    /// `allergy` or `duplicate`.
    #[schema(example = "allergy")]
    kind: String,
    /// What matched. For an allergy, full sentences naming the recorded allergy (substance,
    /// reaction, severity), the drug and how they match; for a duplicate, the active
    /// prescription's drug.
    #[schema(
        example = "Recorded allergy: Penicillins — anaphylaxis (severe). Amoxicillin is a penicillin."
    )]
    detail: String,
}

impl From<PrescriptionWarning> for PrescriptionWarningRecord {
    fn from(w: PrescriptionWarning) -> Self {
        Self {
            kind: w.kind,
            detail: w.detail,
        }
    }
}

/// The 409 answered when warnings need an acknowledgement: a problem document with the
/// `warnings`.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionWarningsProblem {
    #[serde(rename = "type")]
    #[schema(example = "urn:carevault:problem:prescription-warnings")]
    kind: String,
    title: String,
    status: u16,
    detail: Option<String>,
    warnings: Vec<PrescriptionWarningRecord>,
}

/// A prescription as the caller may see it.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(format = Uuid)]
    patient_id: String,
    patient: String,
    #[schema(format = Uuid)]
    encounter_id: String,
    #[schema(format = Uuid)]
    prescriber_id: String,
    prescriber: String,
    /// `active`, `completed` or `cancelled`.
    #[schema(example = "active")]
    status: String,
    /// The formulary drug prescribed, when it was chosen from the formulary.
    #[schema(format = Uuid)]
    drug_id: Option<String>,
    #[schema(example = "Amoxicillin")]
    drug_name: String,
    generic_name: Option<String>,
    #[schema(example = "500 mg")]
    dose: String,
    #[schema(example = "oral")]
    route: String,
    #[schema(example = "three times daily")]
    frequency: String,
    duration_days: u32,
    quantity: u32,
    quantity_dispensed: u32,
    instructions: Option<String>,
    /// The warnings overridden when it was written (the care team, administrators and the
    /// pharmacy only).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged_warnings: Option<Vec<PrescriptionWarningRecord>>,
    /// The prescriber's reason for going ahead (the same readers).
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement: Option<String>,
    status_reason: Option<String>,
    created_at: String,
    updated_at: String,
    /// Whether the caller may complete or cancel it.
    may_change: bool,
}

impl From<PrescriptionView> for PrescriptionRecord {
    fn from(p: PrescriptionView) -> Self {
        let acknowledged_warnings =
            (!p.warnings.is_empty()).then(|| p.warnings.into_iter().map(Into::into).collect());
        let acknowledgement = p.acknowledgement;
        Self {
            id: p.id,
            patient_id: p.patient_id.to_string(),
            patient: p.patient_label,
            encounter_id: p.encounter_id,
            prescriber_id: p.prescriber_id.to_string(),
            prescriber: p.prescriber_name,
            status: p.status.as_str().to_owned(),
            drug_id: p.drug_id,
            drug_name: p.drug_name,
            generic_name: p.generic_name,
            dose: p.dose,
            route: p.route,
            frequency: p.frequency,
            duration_days: p.duration_days,
            quantity: p.quantity,
            quantity_dispensed: p.quantity_dispensed,
            instructions: p.instructions,
            acknowledged_warnings,
            acknowledgement,
            status_reason: p.status_reason,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
            may_change: p.may_change,
        }
    }
}

/// Prescriptions, newest first.
#[derive(Serialize, ToSchema)]
pub struct PrescriptionList {
    items: Vec<PrescriptionRecord>,
}

/// A new prescription from an encounter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrescriptionRequest {
    #[serde(default)]
    #[schema(format = Uuid)]
    encounter_id: String,
    /// A drug of the formulary. When given it must be active, and `drug_name` and
    /// `generic_name` are taken from it; leave it out for a drug the pharmacy does not
    /// stock (free text).
    #[serde(default)]
    #[schema(format = Uuid)]
    drug_id: Option<String>,
    /// Free text; ignored when `drug_id` is given.
    #[serde(default)]
    #[schema(example = "Amoxicillin")]
    drug_name: String,
    generic_name: Option<String>,
    #[serde(default)]
    #[schema(example = "500 mg")]
    dose: String,
    #[serde(default)]
    #[schema(example = "oral")]
    route: String,
    #[serde(default)]
    #[schema(example = "three times daily")]
    frequency: String,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 7)]
    duration_days: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, example = 21)]
    quantity: Option<String>,
    instructions: Option<String>,
    /// Why to prescribe despite the warnings a previous attempt answered (10+ characters).
    acknowledgement: Option<String>,
}

/// Completes or cancels a prescription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionStatusRequest {
    /// `completed` or `cancelled`.
    #[serde(default)]
    #[schema(example = "cancelled")]
    status: String,
    /// Required to cancel.
    reason: Option<String>,
}

/// One code of the bundled ICD-10 list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Icd10Record {
    #[schema(example = "E11.9")]
    code: String,
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    title: String,
}

/// Codes matching a search, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Icd10List {
    items: Vec<Icd10Record>,
}

/// Whose records to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PatientParams {
    /// The patient.
    #[param(value_type = String, format = Uuid, required = true)]
    patient_id: Option<String>,
}

/// A code search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Icd10Params {
    /// A code (`E11`, `e11.9`) or words of a title (`diabetes`).
    #[param(value_type = String, required = true, pattern = r"\S")]
    q: Option<String>,
    /// 1–50; absent: 20.
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// Clinical bodies never print their content (names, texts, drugs) in Debug output.
macro_rules! redacted_debug {
    ($($name:ident),* $(,)?) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(…)"))
            }
        })*
    };
}

redacted_debug!(
    AmendmentList,
    AmendmentRecord,
    AmendmentRequest,
    ChangeRecord,
    CreateEncounterRequest,
    CreatePrescriptionRequest,
    DiagnosisRecord,
    DiagnosisRequest,
    NoteRecord,
    NoteRequest,
    PatchEncounterRequest,
    PrescriptionList,
    PrescriptionRecord,
    PrescriptionStatusRequest,
    PrescriptionWarningRecord,
    PrescriptionWarningsProblem,
    VitalsList,
    VitalsRecord,
    VitalsRequest,
);

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

fn validation(errors: &ValidationErrors) -> ApiError {
    Problem::validation(errors).into()
}

/// An id from the path: one that is not an id is a 422 naming the field `id`.
fn path_id(raw: &str) -> Result<String, ValidationErrors> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| ValidationErrors::single("id", "is not a valid id"))
}

/// The `patient_id` of a query or body: required, and an id.
fn patient_param(raw: Option<&str>) -> Result<PatientId, ValidationErrors> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(ValidationErrors::single("patient_id", "is required")),
        Some(raw) => raw
            .parse()
            .map_err(|_| ValidationErrors::single("patient_id", "is not a valid id")),
    }
}

/// The encounter with its version as `ETag`.
fn with_etag(view: EncounterView, status: StatusCode) -> Response {
    let (updated_at, location) = (view.updated_at, format!("/api/v1/encounters/{}", view.id));
    versioned(
        (status, Json(EncounterRecord::from(view))).into_response(),
        Some(updated_at),
        Some(&location),
    )
}

/// A patient's encounters.
///
/// The care team (including emergency access and shares) and administrators read them in
/// full; a patient reads their own signed encounters as a summary. Everyone else: 403.
#[utoipa::path(
    get, path = "/api/v1/encounters", tag = "clinical",
    security(("bearer" = [])),
    params(PatientParams),
    responses(
        (status = 200, description = "The encounters, newest first (without notes and vitals)", body = EncounterList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_encounters(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<EncounterList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_encounters(&actor, patient).await?;
    Ok(Json(EncounterList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Starts an encounter (a draft).
///
/// Doctors in the patient's care team.
#[utoipa::path(
    post, path = "/api/v1/encounters", tag = "clinical",
    security(("bearer" = [])),
    request_body = CreateEncounterRequest,
    responses(
        (status = 201, description = "The draft; `ETag` is its version", body = EncounterRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input; `errors[].field` names each bad field (`diagnoses[0].code`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<CreateEncounterRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let view = state
        .services
        .create_encounter(
            &actor,
            EncounterInput {
                patient_id: body.patient_id,
                appointment_id: body.appointment_id,
                kind: body.kind,
                texts: texts_of!(body),
                diagnoses: body.diagnoses.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}

/// One encounter.
///
/// As the caller may see it: texts hidden from the caller are absent.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The encounter; `ETag` is its version, for `If-Match` on PATCH", body = EncounterRecord),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_encounter(&actor, &id).await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// Changes a draft.
///
/// Its author only; a signed encounter is never edited (409, amend it instead). Absent
/// fields keep their value. Send `If-Match` with the `ETag` the change is based on to be
/// refused (412) rather than overwrite someone else's change.
#[utoipa::path(
    patch, path = "/api/v1/encounters/{id}", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = PatchEncounterRequest,
    responses(
        (status = 200, description = "The draft (with its new ETag)", body = EncounterRecord),
        (status = 403, description = "Not the draft's author (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The encounter is signed, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names an older version; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    if_match: IfMatch,
    body: Result<ApiJson<PatchEncounterRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let current = state.services.get_encounter(&actor, &id).await?;
    let seen = if_match.require_current(
        current.updated_at,
        "If-Match does not name the encounter's current version (its ETag).",
    )?;
    // Absent texts keep their current value.
    let mut texts: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .filter_map(|f| current.text(f).map(|t| ((*f).to_owned(), t.to_owned())))
        .collect();
    texts.extend(texts_of!(body));
    let diagnoses = match body.diagnoses {
        Some(list) => list.into_iter().map(Into::into).collect(),
        None => current
            .diagnoses
            .iter()
            .filter(|d| d.retracted_at.is_none())
            .map(|d| DiagnosisInput {
                kind: d.kind.as_str().to_owned(),
                code: d.code.clone(),
                text: d.free_text.then(|| d.text.clone()),
                free_text: d.free_text,
            })
            .collect(),
    };
    let view = state
        .services
        .update_draft_encounter(
            &actor,
            &id,
            EncounterInput {
                patient_id: current.patient_id.to_string(),
                appointment_id: current.appointment_id.clone(),
                kind: body.kind,
                texts,
                diagnoses,
            },
            seen.or(Some(current.updated_at)),
        )
        .await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// Signs a draft.
///
/// Its author only; from then on the encounter is only amended.
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/sign", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The signed encounter", body = EncounterRecord),
        (status = 403, description = "Not the draft's author (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Signed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.sign_encounter(&actor, &id).await?;
    Ok(with_etag(view, StatusCode::OK))
}

/// The amendments of an encounter.
///
/// Oldest first, each with its author, time, reason and the texts before and after.
#[utoipa::path(
    get, path = "/api/v1/encounters/{id}/amendments", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    responses(
        (status = 200, description = "The amendments", body = AmendmentList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn amendments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<AmendmentList>, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_encounter(&actor, &id).await?;
    Ok(Json(AmendmentList {
        items: view.amendments.into_iter().map(Into::into).collect(),
    }))
}

/// Amends a signed encounter.
///
/// Doctors in the care team, with a reason; the original stays visible in the amendment.
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/amendments", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = AmendmentRequest,
    responses(
        (status = 201, description = "The amended encounter, its amendments included", body = EncounterRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A draft: edit it instead", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (no reason, no change); `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn amend_encounter(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<AmendmentRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .amend_encounter(
            &actor,
            &id,
            AmendmentInput {
                reason: body.reason,
                texts: texts_of!(body),
                add_diagnoses: body.add_diagnoses.into_iter().map(Into::into).collect(),
                retract_diagnoses: body.retract_diagnoses,
            },
        )
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}

/// Adds a treatment note to an open encounter.
///
/// Nurses and doctors in the care team; a signed encounter takes no more notes (409).
#[utoipa::path(
    post, path = "/api/v1/encounters/{id}/notes", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The encounter's id")),
    request_body = NoteRequest,
    responses(
        (status = 201, description = "The encounter with the note", body = EncounterRecord),
        (status = 403, description = "Not a nurse or doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such encounter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The encounter is signed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long text", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_note(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<NoteRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .add_treatment_note(&actor, &id, &body.text)
        .await?;
    Ok(with_etag(view, StatusCode::CREATED))
}

/// A patient's vitals.
///
/// Those who may read the patient's clinical record.
#[utoipa::path(
    get, path = "/api/v1/vitals", tag = "clinical",
    security(("bearer" = [])),
    params(PatientParams),
    responses(
        (status = 200, description = "The vitals, newest first", body = VitalsList),
        (status = 403, description = "Not allowed to read this patient's clinical record (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<VitalsList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_vitals(&actor, patient).await?;
    Ok(Json(VitalsList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Records vitals.
///
/// Nurses and doctors in the care team; each value is checked against its plausible range.
#[utoipa::path(
    post, path = "/api/v1/vitals", tag = "clinical",
    security(("bearer" = [])),
    request_body = VitalsRequest,
    responses(
        (status = 201, description = "The recorded vitals", body = VitalsRecord),
        (status = 403, description = "Not a nurse or doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value out of range, none given, or a bad id; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_vitals(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<VitalsRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let patient = patient_param(Some(&body.patient_id)).map_err(|e| validation(&e))?;
    let input = VitalsInput {
        temperature_c: body.temperature_c.as_deref(),
        pulse_bpm: body.pulse_bpm.as_deref(),
        systolic_mmhg: body.systolic_mmhg.as_deref(),
        diastolic_mmhg: body.diastolic_mmhg.as_deref(),
        respiratory_rate: body.respiratory_rate.as_deref(),
        spo2_percent: body.spo2_percent.as_deref(),
        weight_kg: body.weight_kg.as_deref(),
        height_cm: body.height_cm.as_deref(),
    };
    let view = state
        .services
        .record_vitals(&actor, patient, body.encounter_id.as_deref(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(VitalsRecord::from(view))).into_response())
}

/// A patient's prescriptions.
///
/// The care team, administrators, pharmacists and the patient themselves.
#[utoipa::path(
    get, path = "/api/v1/prescriptions", tag = "clinical",
    security(("bearer" = [])),
    params(PatientParams),
    responses(
        (status = 200, description = "The prescriptions, newest first", body = PrescriptionList),
        (status = 403, description = "Not allowed to read this patient's prescriptions (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed `patient_id`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_prescriptions(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<PatientParams>, ApiError>,
) -> Result<Json<PrescriptionList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient = patient_param(params.patient_id.as_deref()).map_err(|e| validation(&e))?;
    let items = state.services.list_prescriptions(&actor, patient).await?;
    Ok(Json(PrescriptionList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The 409 answered when warnings need an acknowledgement.
pub(crate) fn warnings_problem(warnings: Vec<PrescriptionWarning>) -> ApiError {
    let list: Vec<PrescriptionWarningRecord> = warnings.into_iter().map(Into::into).collect();
    Problem::new(
        StatusCode::CONFLICT,
        "prescription-warnings",
        "The prescription needs an acknowledgement",
    )
    .with_detail(
        "Nothing was written: send the same prescription again with an `acknowledgement` \
         saying why to go ahead despite the warnings.",
    )
    .with_extension(
        "warnings",
        serde_json::to_value(&list).unwrap_or(serde_json::Value::Null),
    )
    .into()
}

/// Prescribes from an encounter.
///
/// Doctors in the care team. A recorded allergy matching the drug or an active prescription
/// of the same drug answers 409 `prescription-warnings` (nothing written) until the request
/// is sent again with an `acknowledgement`, which is audited.
#[utoipa::path(
    post, path = "/api/v1/prescriptions", tag = "clinical",
    security(("bearer" = [])),
    request_body = CreatePrescriptionRequest,
    responses(
        (status = 201, description = "Written", body = PrescriptionRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Warnings need an acknowledgement; nothing was written", body = PrescriptionWarningsProblem, content_type = "application/problem+json"),
    )
)]
pub async fn prescribe(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<CreatePrescriptionRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let outcome = state
        .services
        .prescribe(
            &actor,
            PrescriptionRequest {
                encounter_id: body.encounter_id,
                drug_id: body.drug_id,
                drug_name: body.drug_name,
                generic_name: body.generic_name,
                dose: body.dose,
                route: body.route,
                frequency: body.frequency,
                duration_days: body.duration_days.unwrap_or_default(),
                quantity: body.quantity.unwrap_or_default(),
                instructions: body.instructions,
                acknowledgement: body.acknowledgement,
            },
        )
        .await?;
    match outcome {
        Prescribed::Written(view) => {
            let location = format!("/api/v1/prescriptions/{}", view.id);
            let mut response =
                (StatusCode::CREATED, Json(PrescriptionRecord::from(*view))).into_response();
            if let Ok(value) = header::HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
        Prescribed::NeedsAcknowledgement(warnings) => Err(warnings_problem(warnings)),
    }
}

/// One prescription.
#[utoipa::path(
    get, path = "/api/v1/prescriptions/{id}", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The prescription's id")),
    responses(
        (status = 200, description = "The prescription", body = PrescriptionRecord),
        (status = 403, description = "Not allowed to read this patient's prescriptions (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prescription", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn prescription(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<PrescriptionRecord>, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_prescription(&actor, &id).await?;
    Ok(Json(view.into()))
}

/// Completes or cancels an active prescription.
///
/// Doctors in the care team; cancelling needs a reason.
#[utoipa::path(
    post, path = "/api/v1/prescriptions/{id}/status", tag = "clinical",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The prescription's id")),
    request_body = PrescriptionStatusRequest,
    responses(
        (status = 200, description = "The prescription in its new status", body = PrescriptionRecord),
        (status = 403, description = "Not a doctor in the care team (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such prescription", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active any more", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status or a missing reason; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_prescription_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<PrescriptionStatusRequest>, ApiError>,
) -> Result<Json<PrescriptionRecord>, ApiError> {
    let id = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .change_prescription_status(&actor, &id, &body.status, body.reason.as_deref())
        .await?;
    Ok(Json(view.into()))
}

/// Searches the bundled ICD-10 list.
///
/// Any staff member (the list is public reference data; patients have no use for it).
#[utoipa::path(
    get, path = "/api/v1/icd10", tag = "clinical",
    security(("bearer" = [])),
    params(Icd10Params),
    responses(
        (status = 200, description = "Matching codes, best first", body = Icd10List),
        (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing query, a limit outside 1–50 or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn icd10(
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<Icd10Params>, ApiError>,
) -> Result<Json<Icd10List>, ApiError> {
    let ApiQuery(params) = params?;
    if matches!(actor.role(), None | Some(Role::Patient)) {
        return Err(Problem::for_status(StatusCode::FORBIDDEN).into());
    }
    let query = params.q.unwrap_or_default();
    if query.trim().is_empty() {
        return Err(validation(&ValidationErrors::single("q", "is required")));
    }
    let limit = params.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(validation(&ValidationErrors::single(
            "limit",
            "must be between 1 and 50",
        )));
    }
    let items = carevault_core::icd10::search(&query, limit as usize)
        .into_iter()
        .map(|c| Icd10Record {
            code: c.code.to_owned(),
            title: c.title.to_owned(),
        })
        .collect();
    Ok(Json(Icd10List { items }))
}
