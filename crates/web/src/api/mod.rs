//! The JSON API under `/api/v1`, described by an OpenAPI 3.1 document generated from these
//! handlers' annotations: each operation's method and path are written once, in its
//! `#[utoipa::path]`, and the route table both routes it and adds it to the document
//! ([`docs::ApiDocument`]). A test checks that the routed API and the document agree.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod chart;
pub mod chart_lists;
pub mod clinical;
pub mod docs;
pub mod documents;
pub mod emergency;
pub mod notifications;
pub mod nursing;
pub mod patients;
pub mod pharmacy;
pub mod privacy;
pub mod responses;
pub mod scheduling;
pub mod schemas;
pub mod shares;
pub mod subject_access;
pub mod system;
pub mod versions;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::{ApiError, Problem};

/// A patient id from the path of the patient-scoped routes (surrounding spaces ignored); one
/// that is not an id names no patient.
pub(crate) fn path_patient_id(raw: &str) -> Option<carevault_core::PatientId> {
    raw.trim().parse().ok()
}

/// The 422 answer to input that failed validation, naming each bad field.
pub(crate) fn validation(errors: &carevault_core::ValidationErrors) -> ApiError {
    Problem::validation(errors).into()
}

/// An id from the path: one that is not an id is a 422 naming the field `id` (a malformed
/// id names nothing, and saying so reveals nothing).
pub(crate) fn path_id<T: std::str::FromStr>(
    raw: &str,
) -> Result<T, carevault_core::ValidationErrors> {
    raw.trim()
        .parse()
        .map_err(|_| carevault_core::ValidationErrors::single("id", "is not a valid id"))
}

/// A UUID from the path as the canonical text the services take ids in; see [`path_id`].
pub(crate) fn path_uuid(raw: &str) -> Result<String, carevault_core::ValidationErrors> {
    path_id::<uuid::Uuid>(raw).map(|id| id.to_string())
}

/// The 404 of a patient-scoped route whose patient does not exist (or whose id is not one).
pub(crate) fn no_such_patient() -> ApiError {
    Problem::for_status(axum::http::StatusCode::NOT_FOUND)
        .with_detail("No such patient.")
        .into()
}

/// What the OpenAPI document says besides its operations: information, tags and the problem
/// schema. The
/// operations, and the schemas they name, come from the route table (`RouteTable::api`),
/// which assembles the document with [`docs::ApiDocument::assemble`].
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Carevault API",
        description = "The JSON API of Carevault, a hospital management system. Sign in with \
            POST /api/v1/auth/login to obtain a bearer token, then send it as \
            `Authorization: Bearer <token>`. Errors are RFC 9457 problem documents \
            (`application/problem+json`) with per-field `errors`. The error answers that \
            operations share (401, 503, and 400/413/415/422 for bodies and parameters) are \
            described once, under `components/responses`.",
        license(name = "AGPL-3.0-or-later")
    ),
    // The shared error responses name it whatever the operations name.
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "system", description = "Operating the installation"),
        (name = "audit", description = "The tamper-evident audit log: events, export, signed checkpoints and proofs"),
        (name = "patients", description = "The patient registry: search, registration, changes, care teams; every patient shown as the caller may see them"),
        (name = "scheduling", description = "Departments, the staff directory, appointments and patients' requests for them; no double booking; patients shown as the caller may see them"),
        (name = "clinical", description = "Clinical records: encounters (drafts, signing, amendments that keep the original), treatment notes, vitals, prescriptions with allergy and duplicate checks, the allergy list (coded or flagged free-text substances, \"no known allergies\") and the problem list, and the ICD-10 code search; every read and write follows the care team and is audited"),
        (name = "documents", description = "Uploaded PDFs and images of a patient: checked by content, stored sealed under the patient's key, downloaded as attachments; every download audited"),
        (name = "pharmacy", description = "The formulary, stock by batch (receipts, adjustments with a reason; never below zero) and dispensing against prescriptions, first expiry first out"),
        (name = "notifications", description = "The in-app inbox, the outbox with delivery status (administrators), notification preferences and consent to e-mail, and follow-up reminders queued by doctors"),
        (name = "billing", description = "The price list, invoices per patient (charged automatically by completed appointments and dispensing, or by hand), corrections as new lines, payments, voiding by administrators; amounts are exact decimal text"),
        (name = "nursing", description = "Nurses' own work without a doctor's draft: triage at check-in (Emergency Severity Index acuity, note, flagged vitals), nursing notes, the nurse's patient list; and addenda that doctors and nurses add to signed encounters"),
        (name = "break-glass", description = "Emergency access: a doctor or nurse outside a patient's care team states a reason and is granted the record at once, for a limited time; every grant is audited and reviewed by an administrator"),
    )
)]
pub struct ApiDoc;

/// The bearer-token security scheme the operations name.
#[derive(Debug)]
pub(crate) struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
