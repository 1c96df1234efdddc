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
use utoipa_axum::routes;

use crate::AppState;
use crate::api::versions::{IfMatch, versioned};
use crate::api::{path_uuid, validation};
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// The vitals of a request that has the eight vitals fields ([`VitalsRequest`] or the
/// nursing triage), borrowed as the service's input (two types, hence a macro).
macro_rules! vitals_input {
    ($body:expr) => {
        carevault_core::clinical::VitalsInput {
            temperature_c: $body.temperature_c.as_deref(),
            pulse_bpm: $body.pulse_bpm.as_deref(),
            systolic_mmhg: $body.systolic_mmhg.as_deref(),
            diastolic_mmhg: $body.diastolic_mmhg.as_deref(),
            respiratory_rate: $body.respiratory_rate.as_deref(),
            spo2_percent: $body.spo2_percent.as_deref(),
            weight_kg: $body.weight_kg.as_deref(),
            height_cm: $body.height_cm.as_deref(),
        }
    };
}
pub(crate) use vitals_input;

mod encounters;
mod icd10;
mod prescriptions;
mod vitals;

pub use encounters::*;
pub use icd10::*;
pub use prescriptions::*;
pub use vitals::*;

/// Adds the clinical API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::SeeClinical, routes!(list_encounters))
        .api(Action::WriteEncounters, routes!(create_encounter))
        .api(Action::SeeClinical, routes!(encounter))
        .api(Action::WriteEncounters, routes!(patch_encounter))
        .api(Action::WriteEncounters, routes!(sign_encounter))
        .api(Action::SeeClinical, routes!(amendments))
        .api(Action::WriteEncounters, routes!(amend_encounter))
        .api(Action::WriteClinicalNotes, routes!(add_note))
        .api(Action::SeeClinical, routes!(list_vitals))
        .api(Action::WriteClinicalNotes, routes!(record_vitals))
        .api(Action::SeeMedication, routes!(list_prescriptions))
        .api(Action::Prescribe, routes!(prescribe))
        .api(Action::SeeMedication, routes!(prescription))
        .api(Action::Prescribe, routes!(change_prescription_status))
        .api(Action::LookUpCodes, routes!(icd10))
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

/// Whose records to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PatientParams {
    /// The patient.
    #[param(value_type = String, format = Uuid, required = true)]
    patient_id: Option<String>,
}

carevault_core::opaque_debug!(
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
