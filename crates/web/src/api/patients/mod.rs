//! `/api/v1/patients` and `/api/v1/me/patient`: the patient registry's JSON face. Handlers
//! parse, call one `carevault_service::patients` use case with the actor, and render.
//!
//! A patient is rendered from the [`PatientDetails`] the service produced for the actor:
//! every field the masking policy hides is `None` there and *absent* here (each such field
//! of [`PatientRecord`] is skipped when `None`); a field shown but empty is `null`. Nothing
//! is added that the service did not send (no pseudonym, no view name).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::{PatientId, Role, UserId, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::patients::{
    CareTeamMember, Change, EmergencyContactInput, MAX_PAGE_SIZE, PatientDetails, PatientInput,
    PatientPage, PatientQuery, PatientSort, Registration,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::versions::{IfMatch, precondition_failed, versioned};
use crate::csv_export::rfc3339_utc;
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};

mod care_team;
mod list;

pub use care_team::*;
pub use list::*;

// ---------------------------------------------------------------------------------------
// Response bodies
// ---------------------------------------------------------------------------------------

/// Someone to call in an emergency.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    #[schema(example = "Mary Patient")]
    name: String,
    #[schema(example = "spouse")]
    relation: String,
    #[schema(example = "07700 900462")]
    phone: String,
}

impl std::fmt::Debug for EmergencyContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmergencyContact(…)")
    }
}

impl From<EmergencyContactInput> for EmergencyContact {
    fn from(c: EmergencyContactInput) -> Self {
        Self {
            name: c.name,
            relation: c.relation,
            phone: c.phone,
        }
    }
}

impl From<EmergencyContact> for EmergencyContactInput {
    fn from(c: EmergencyContact) -> Self {
        Self {
            name: c.name,
            relation: c.relation,
            phone: c.phone,
        }
    }
}

/// A patient as the caller may see them. Fields the caller's role may not see are absent;
/// masked fields carry the masked value (`XXX-XXX-4592`), pseudonymised ones the stand-in
/// (`ANON_1021`, a birth year, an age band like `40-44`). An optional field that is shown
/// but empty is `null`.
#[derive(Clone, Serialize, ToSchema)]
pub struct PatientRecord {
    /// Opaque id, used in URLs.
    #[schema(value_type = String, format = Uuid)]
    id: String,
    /// Hospital number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "10000014")]
    mrn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    /// The name, or the pseudonym `ANON_<n>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<String>,
    /// `YYYY-MM-DD`, or the year of birth (masked), or an age band (pseudonymised).
    #[serde(skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<String>,
    /// `female`, `male`, `other` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    gender_identity: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<EmergencyContact>)]
    emergency_contact: Option<Option<EmergencyContact>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    national_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    preferred_language: Option<Option<String>>,
    /// ABO/Rh blood group (`O+`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    blood_group: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    allergies: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    primary_diagnosis: Option<Option<String>>,
    /// `active`, `deceased`, `merged` or `erased`.
    status: String,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl std::fmt::Debug for PatientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientRecord")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl From<PatientDetails> for PatientRecord {
    fn from(p: PatientDetails) -> Self {
        // `pseudonym` and `view` are for the service's and the pages' own use: not sent.
        let PatientDetails {
            id,
            view: _,
            pseudonym: _,
            mrn,
            given_name,
            family_name,
            date_of_birth,
            sex,
            gender_identity,
            address,
            phone,
            email,
            emergency_contact,
            national_id,
            preferred_language,
            blood_group,
            allergies,
            primary_diagnosis,
            status,
            created_at,
            updated_at,
        } = p;
        Self {
            id: id.to_string(),
            mrn,
            given_name,
            family_name,
            date_of_birth,
            sex,
            gender_identity,
            address,
            phone,
            email,
            emergency_contact: emergency_contact.map(|c| c.map(Into::into)),
            national_id,
            preferred_language,
            blood_group,
            allergies,
            primary_diagnosis,
            status,
            created_at: created_at.map(rfc3339_utc),
            updated_at: updated_at.map(rfc3339_utc),
        }
    }
}

/// The 409 answer to a registration that looks like a patient already registered: an RFC
/// 9457 problem with the possible matches as an extension member.
#[derive(Debug, Serialize, ToSchema)]
pub struct PossibleDuplicateProblem {
    /// `urn:carevault:problem:possible-duplicate`.
    #[serde(rename = "type")]
    kind: String,
    /// `Possible duplicate`.
    title: String,
    status: u16,
    detail: String,
    request_id: String,
    /// The possible matches, as the caller may see them.
    matches: Vec<PatientRecord>,
}

// ---------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------

/// A new patient. Receptionists may not fill in the clinical fields (blood group, allergies,
/// primary diagnosis); administrators may.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPatientRequest {
    #[schema(example = "Ann", max_length = 100)]
    given_name: String,
    #[schema(example = "Smith", max_length = 100)]
    family_name: String,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(example = "1980-02-03", format = Date)]
    date_of_birth: String,
    /// `female`, `male`, `other` or `unknown`.
    #[schema(example = "female")]
    sex: String,
    #[serde(default)]
    gender_identity: Option<String>,
    #[serde(default)]
    address: Option<String>,
    /// 7–15 digits; spaces, `+`, `-`, `.`, `(`, `)` allowed.
    #[serde(default)]
    #[schema(example = "+44 20 7946 0958")]
    phone: Option<String>,
    #[serde(default)]
    #[schema(format = Email)]
    email: Option<String>,
    #[serde(default)]
    emergency_contact: Option<EmergencyContact>,
    #[serde(default)]
    national_id: Option<String>,
    #[serde(default)]
    preferred_language: Option<String>,
    #[serde(default)]
    #[schema(example = "O+")]
    blood_group: Option<String>,
    #[serde(default)]
    allergies: Option<String>,
    #[serde(default)]
    primary_diagnosis: Option<String>,
    /// Register even though a possible duplicate was reported (recorded in the audit log).
    #[serde(default)]
    register_anyway: bool,
}

impl std::fmt::Debug for RegisterPatientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegisterPatientRequest { .. }")
    }
}

/// `Some(v)` is set, `None` (absent or `null`) is "not given".
fn given<T>(value: Option<T>) -> Change<T> {
    value.map_or(Change::Keep, Change::Set)
}

impl RegisterPatientRequest {
    fn into_input(self) -> (PatientInput, bool) {
        let input = PatientInput {
            given_name: Change::Set(self.given_name),
            family_name: Change::Set(self.family_name),
            date_of_birth: Change::Set(self.date_of_birth),
            sex: Change::Set(self.sex),
            gender_identity: given(self.gender_identity),
            address: given(self.address),
            phone: given(self.phone),
            email: given(self.email),
            emergency_contact: given(self.emergency_contact.map(Into::into)),
            national_id: given(self.national_id),
            preferred_language: given(self.preferred_language),
            blood_group: given(self.blood_group),
            allergies: given(self.allergies),
            primary_diagnosis: given(self.primary_diagnosis),
            status: Change::Keep,
        };
        (input, self.register_anyway)
    }
}

/// Deserialises a member that may be absent (`None`, with `#[serde(default)]`), `null`
/// (`Some(None)`) or a value (`Some(Some(v))`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change to a patient, with JSON merge-patch semantics (RFC 7396): a member left out
/// keeps its value, `null` clears it, a value sets it. Who may change what: administrators
/// everything; receptionists the demographics; doctors on the care team the clinical
/// fields; a patient their own contact details.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPatientRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    date_of_birth: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    sex: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    gender_identity: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<EmergencyContact>)]
    emergency_contact: Option<Option<EmergencyContact>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    national_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    preferred_language: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    blood_group: Option<Option<String>>,
    /// Not changed here: the allergy list is kept at `/api/v1/patients/{id}/allergies`
    /// (sending this member, even `null`, is a 422).
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    allergies: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    primary_diagnosis: Option<Option<String>>,
    /// `active` or `deceased`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    status: Option<Option<String>>,
}

impl std::fmt::Debug for PatchPatientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatchPatientRequest { .. }")
    }
}

/// Absent → keep, `null` → clear, a value → set.
fn merge<T>(member: Option<Option<T>>) -> Change<T> {
    match member {
        None => Change::Keep,
        Some(None) => Change::Clear,
        Some(Some(value)) => Change::Set(value),
    }
}

impl From<PatchPatientRequest> for PatientInput {
    fn from(p: PatchPatientRequest) -> Self {
        PatientInput {
            given_name: merge(p.given_name),
            family_name: merge(p.family_name),
            date_of_birth: merge(p.date_of_birth),
            sex: merge(p.sex),
            gender_identity: merge(p.gender_identity),
            address: merge(p.address),
            phone: merge(p.phone),
            email: merge(p.email),
            emergency_contact: merge(p.emergency_contact.map(|c| c.map(Into::into))),
            national_id: merge(p.national_id),
            preferred_language: merge(p.preferred_language),
            blood_group: merge(p.blood_group),
            allergies: merge(p.allergies),
            primary_diagnosis: merge(p.primary_diagnosis),
            status: merge(p.status),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

/// A 404 for a path segment that is not an id (and so names nothing).
fn not_found(what: &str) -> ApiError {
    Problem::for_status(StatusCode::NOT_FOUND)
        .with_detail(format!("No such {what}."))
        .into()
}

/// A patient id from the path; one that is not an id names no patient.
fn patient_id(raw: &str) -> Option<PatientId> {
    raw.parse().ok()
}

/// Registers a patient.
///
/// Administrators and receptionists. When someone with the same family name and date of
/// birth, or the same phone number, is already registered, the answer is 409 with the
/// possible matches; send the same body again with `"register_anyway": true` to register
/// regardless (recorded in the audit log).
#[utoipa::path(
    post, path = "/api/v1/patients", tag = "patients",
    request_body = RegisterPatientRequest,
    responses(
        (status = 201, description = "Registered; `Location` is the new patient's URL", body = PatientRecord,
            headers(("location" = String, description = "/api/v1/patients/{id}"))),
        (status = 403, description = "The role may not register patients, or may not fill in a field it set", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Possible duplicate: resend with `register_anyway`", body = PossibleDuplicateProblem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<RegisterPatientRequest>,
) -> Result<Response, ApiError> {
    let (input, register_anyway) = body.into_input();
    match state
        .services
        .register_patient(&actor, input, register_anyway)
        .await?
    {
        Registration::Registered(details) => {
            let record = PatientRecord::from(*details);
            let location = format!("/api/v1/patients/{}", record.id);
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(record),
            )
                .into_response())
        }
        Registration::PossibleDuplicates(matches) => {
            let matches: Vec<PatientRecord> = matches.into_iter().map(Into::into).collect();
            let matches = serde_json::to_value(matches).map_err(|err| {
                tracing::error!(error = %err, "could not render possible duplicates");
                Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            })?;
            Err(Problem::new(
                StatusCode::CONFLICT,
                "possible-duplicate",
                "Possible duplicate",
            )
            .with_detail(
                "A patient with the same family name and date of birth, or the same phone \
                 number, is already registered (see `matches`). Check that this is someone \
                 else, then send the same request again with \"register_anyway\": true.",
            )
            .with_extension("matches", matches)
            .into())
        }
    }
}

/// One patient.
///
/// Shown as the caller may see them; recorded in the audit log. A patient may read only
/// their own record.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The patient; the `ETag` header is its version, for `If-Match` on PATCH", body = PatientRecord),
        (status = 403, description = "The caller may not see this patient (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id).ok_or_else(|| not_found("patient"))?;
    let details = state.services.get_patient(&actor, id).await?;
    Ok(with_etag(&details))
}

/// The patient as JSON, with the record's version as `ETag` (where the caller sees it; every
/// view that may change the record does).
fn with_etag(details: &PatientDetails) -> Response {
    versioned(
        Json(PatientRecord::from(details.clone())).into_response(),
        details.updated_at,
        None,
    )
}

/// Changes a patient (JSON merge patch).
///
/// Send `If-Match` with the `ETag` of the copy the change is based on to be refused (412)
/// instead of overwriting someone else's change made since.
/// A member left out keeps its value, `null` clears it (required fields cannot be cleared),
/// a value sets it. `status` may be set to `active` or `deceased`. Any field the caller may
/// not change makes the whole request 403; nothing is written. Answers the patient as the
/// caller may see them.
#[utoipa::path(
    patch, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    request_body(content = PatchPatientRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed patient (with its new ETag)", body = PatientRecord),
        (status = 403, description = "The caller may not change this patient, or one of the fields sent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The record changed while this change was being made; nothing was written, retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version that is no longer the stored one (someone changed the record since); nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    if_match: IfMatch,
    body: Result<ApiJson<PatchPatientRequest>, ApiError>,
) -> Result<Response, ApiError> {
    // A bad id is "not found" whatever the body holds.
    let id = patient_id(&id).ok_or_else(|| not_found("patient"))?;
    let ApiJson(body) = body?;
    let seen =
        if_match.version("If-Match must be an ETag from this patient's GET or PATCH response.")?;
    match state
        .services
        .update_patient(&actor, id, body.into(), seen)
        .await
    {
        Ok(details) => Ok(with_etag(&details)),
        // The version the client named is not the stored one: RFC 9110's answer is 412.
        Err(ServiceError::Conflict { message, .. }) if seen.is_some() => {
            Err(precondition_failed(message))
        }
        Err(other) => Err(other.into()),
    }
}

/// The caller's own patient record.
///
/// For patients whose account is linked to their record; recorded in the audit log.
#[utoipa::path(
    get, path = "/api/v1/me/patient", tag = "patients",
    responses(
        (status = 200, description = "The caller's record", body = PatientRecord),
        (status = 403, description = "Not a patient account", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No record is linked to this account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_record(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<PatientRecord>, ApiError> {
    match state.services.my_patient_record(&actor).await? {
        Some(details) => Ok(Json(details.into())),
        None => Err(Problem::for_status(StatusCode::NOT_FOUND)
            .with_detail("No patient record is linked to your account.")
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use carevault_core::masking::{PatientField, PatientView};
    use chrono::Utc;

    use super::*;

    fn details(shown: bool) -> PatientDetails {
        let text = |v: &str| shown.then(|| v.to_owned());
        let optional = |v: &str| shown.then(|| Some(v.to_owned()));
        PatientDetails {
            id: PatientId::generate(),
            view: PatientView::Full,
            pseudonym: "ANON_1234".into(),
            mrn: text("10000014"),
            given_name: text("Ann"),
            family_name: text("Smith"),
            date_of_birth: text("1980-02-03"),
            sex: text("female"),
            gender_identity: optional("woman"),
            address: optional("1 Road"),
            phone: optional("0123 456789"),
            email: optional("a@example.org"),
            emergency_contact: shown.then_some(None),
            national_id: optional("AB123"),
            preferred_language: optional("English"),
            blood_group: optional("O+"),
            allergies: optional("none"),
            primary_diagnosis: optional("none"),
            status: "active".into(),
            created_at: shown.then(Utc::now),
            updated_at: shown.then(Utc::now),
        }
    }

    fn keys(details: PatientDetails) -> (BTreeSet<String>, serde_json::Value) {
        let json = serde_json::to_value(PatientRecord::from(details)).unwrap();
        let keys = json.as_object().unwrap().keys().cloned().collect();
        (keys, json)
    }

    #[test]
    fn every_field_shown_is_rendered_under_its_policy_name_and_nothing_else() {
        let (keys, json) = keys(details(true));
        let expected: BTreeSet<String> = PatientField::ALL
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        assert_eq!(keys, expected);
        assert!(json["emergency_contact"].is_null(), "shown but empty: null");
        assert!(!json.to_string().contains("ANON_"), "no pseudonym member");
    }

    #[test]
    fn hidden_fields_are_absent() {
        let (keys, _) = keys(details(false));
        assert_eq!(keys, BTreeSet::from(["id".to_owned(), "status".to_owned()]));
    }

    fn query(raw: &str) -> Result<PatientQuery, String> {
        crate::extract::query_params::<PatientListParams>(raw)
            .map_err(|e| e.0[0].field.clone())
            .and_then(|p| p.into_query().map_err(|errors| errors.0[0].field.clone()))
    }

    #[test]
    fn list_parameters_are_checked_and_named() {
        let q = query("q=Smith&page=2&per_page=10&sort=oldest").unwrap();
        assert_eq!(
            (q.q.as_deref(), q.page, q.per_page, q.sort),
            (Some("Smith"), 2, Some(10), PatientSort::Oldest)
        );
        let q = query("").unwrap();
        assert_eq!(
            (q.page, q.per_page, q.sort),
            (1, None, PatientSort::Relevance)
        );
        for (raw, field) in [
            ("page=0", "page"),
            ("page=x", "page"),
            ("per_page=0", "per_page"),
            ("per_page=101", "per_page"),
            ("per_page=-1", "per_page"),
            ("sort=name", "sort"),
            ("colour=blue", "colour"),
        ] {
            assert_eq!(query(raw).unwrap_err(), field, "{raw}");
        }
    }

    #[test]
    fn merge_patch_tells_absent_from_null() {
        let body: PatchPatientRequest =
            serde_json::from_str(r#"{"phone": null, "email": "a@example.org"}"#).unwrap();
        let input = PatientInput::from(body);
        assert_eq!(input.phone, Change::Clear);
        assert_eq!(input.email, Change::Set("a@example.org".into()));
        assert_eq!(input.address, Change::Keep);
        assert!(serde_json::from_str::<PatchPatientRequest>(r#"{"mrn": "1"}"#).is_err());
    }
}
