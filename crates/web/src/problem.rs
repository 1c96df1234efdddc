//! RFC 9457 problem details: the one error format of the JSON API.
//!
//! A handler returns [`ApiError`]; its response carries the [`Problem`] as a response
//! extension, and [`crate::errors::render_errors`] serialises it with the request id. The
//! `type` is a stable URN per kind of problem; `title` is for people; `errors` lists one
//! entry per bad field (`pointer` is a JSON Pointer into the request body).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::ValidationErrors;
use carevault_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// One bad input field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// The field, as named in the request.
    pub field: String,
    /// JSON Pointer to the field in the request body.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem (`urn:carevault:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id, to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// Members particular to this kind of problem (RFC 9457 §3.2), documented with the
    /// response that carries them.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: ProblemExtensions,
}

/// Extension members of a [`Problem`], serialised at the top level of the document. They
/// may carry what the client may see of a patient, so `Debug` names the members only.
#[derive(Clone, Default, Serialize)]
#[serde(transparent)]
pub struct ProblemExtensions(serde_json::Map<String, serde_json::Value>);

impl std::fmt::Debug for ProblemExtensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        Self {
            kind: format!("urn:carevault:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            request_id: None,
            errors: Vec::new(),
            extensions: ProblemExtensions::default(),
        }
    }

    /// Adds an extension member. `name` must not be one of the standard members.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions.0.insert(name.to_owned(), value);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_field_error(mut self, field: &str, detail: impl Into<String>) -> Self {
        self.errors.push(ProblemFieldError {
            field: field.to_owned(),
            pointer: format!("/{}", field.replace('~', "~0").replace('.', "/")),
            detail: detail.into(),
        });
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The standard problem for a bare status (used for responses that carry none).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title) = match status {
            StatusCode::BAD_REQUEST => ("bad-request", "The request is malformed"),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "Sign-in required"),
            StatusCode::FORBIDDEN => ("forbidden", "You do not have permission to do this"),
            StatusCode::NOT_FOUND => ("not-found", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "The request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported content type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("validation", "The input is not valid"),
            StatusCode::TOO_MANY_REQUESTS => ("throttled", "Too many requests"),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "The service is temporarily unavailable")
            }
            s if s.is_server_error() => ("internal", "Something went wrong on our side"),
            _ => ("error", "The request could not be completed"),
        };
        Problem::new(status, code, title)
    }

    pub fn validation(errors: &ValidationErrors) -> Self {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The input is not valid",
        )
        .with_detail(
            errors
                .to_string()
                .replacen("the input is not valid: ", "", 1),
        );
        for e in &errors.0 {
            problem = problem.with_field_error(&e.field, e.message.clone());
        }
        problem
    }
}

/// The error type of API handlers.
#[derive(Debug)]
pub struct ApiError {
    pub problem: Problem,
    pub retry_after: Option<Duration>,
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            retry_after: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let mut retry_after = None;
        let problem = match &err {
            ServiceError::Unauthenticated => Problem::for_status(StatusCode::UNAUTHORIZED),
            ServiceError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid username or password",
            ),
            ServiceError::Throttled { retry_after: wait } => {
                retry_after = Some(*wait);
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    "Too many failed sign-in attempts",
                )
                .with_detail(format!("Try again in {} seconds.", wait.as_secs().max(1)))
            }
            ServiceError::Forbidden => Problem::for_status(StatusCode::FORBIDDEN),
            ServiceError::NotFound(what) => {
                Problem::for_status(StatusCode::NOT_FOUND).with_detail(format!("No such {what}."))
            }
            ServiceError::Validation(errors) => Problem::validation(errors),
            ServiceError::Conflict { field, message } => {
                let problem = Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail(message.clone());
                match field {
                    Some(field) => problem.with_field_error(field, message.clone()),
                    None => problem,
                }
            }
            ServiceError::SlotTaken(conflict) => slot_taken(conflict),
            ServiceError::Unavailable => {
                retry_after = Some(Duration::from_secs(5));
                Problem::for_status(StatusCode::SERVICE_UNAVAILABLE)
                    .with_detail("The database cannot be reached. Please retry shortly.")
            }
            ServiceError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ServiceError::Integrity => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "integrity",
                "Stored data failed its integrity check",
            )
            .with_detail(
                "The record cannot be shown: its stored data was altered or moved outside the \
                 application. The incident has been recorded.",
            ),
        };
        Self {
            problem,
            retry_after,
        }
    }
}

/// A double booking: 409 with the appointments it collides with (as the caller may see
/// them) and the clinician's next free slots.
fn slot_taken(conflict: &carevault_service::scheduling::SlotConflict) -> Problem {
    let zone = conflict.time_zone;
    let conflicts: Vec<serde_json::Value> = conflict
        .conflicts
        .iter()
        .map(|c| {
            serde_json::json!({
                "appointment_id": c.appointment_id.to_string(),
                "start": c.start.with_timezone(&zone).to_rfc3339(),
                "end": c.end.with_timezone(&zone).to_rfc3339(),
                "taken_for": c.taken_for,
                "clinician": c.clinician_name,
                "patient": c.patient_label,
            })
        })
        .collect();
    let free: Vec<serde_json::Value> = conflict
        .next_free
        .iter()
        .map(|s| {
            serde_json::json!({
                "start": s.start().with_timezone(&zone).to_rfc3339(),
                "end": s.end().with_timezone(&zone).to_rfc3339(),
            })
        })
        .collect();
    Problem::new(StatusCode::CONFLICT, "slot-taken", "The slot is taken")
        .with_detail(conflict.message.clone())
        .with_extension("conflicts", serde_json::Value::Array(conflicts))
        .with_extension("next_free_slots", serde_json::Value::Array(free))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.problem.status_code().into_response();
        if let Some(wait) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(self.problem);
        response
    }
}
