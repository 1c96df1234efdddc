//! Error rendering, in one place. Handlers and extractors return errors as bare statuses
//! with a marker ([`Problem`] for the API, [`ErrorPage`] for pages) in the response
//! extensions; [`render_errors`] turns them into a problem+json document or a friendly HTML
//! page carrying the request id. Error responses that carry no marker (a framework
//! rejection, a 405, a too-large body, a panic) are rendered the same way, so no client ever
//! sees a bare framework message or a stack trace.

use std::any::Any;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_service::ServiceError;
use http_body_util::BodyExt;

use crate::AppState;
use crate::headers::RequestId;
use crate::problem::Problem;

/// Marks a response to be rendered as the friendly error page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub message: Option<String>,
}

/// The error type of page handlers.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// Not this screen: go to another (a patient on a staff screen goes to their own).
    Redirect(&'static str),
    Status(StatusCode, Option<String>),
}

impl PageError {
    /// 422 with a sentence saying what is wrong with the request.
    pub fn invalid(message: impl Into<String>) -> Self {
        PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(message.into()))
    }
}

impl From<ServiceError> for PageError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unauthenticated => PageError::SignIn,
            ServiceError::Forbidden => PageError::Status(StatusCode::FORBIDDEN, None),
            ServiceError::NotFound(what) => {
                PageError::Status(StatusCode::NOT_FOUND, Some(format!("No such {what}.")))
            }
            ServiceError::Unavailable => PageError::Status(StatusCode::SERVICE_UNAVAILABLE, None),
            ServiceError::Throttled { .. } => PageError::Status(
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many failed attempts. Please wait a while and try again.".into()),
            ),
            ServiceError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, None)
            }
            ServiceError::Integrity => PageError::Status(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(
                    "This record's stored data failed its integrity check. It cannot be shown; \
                     the incident has been recorded. Please tell the administrator."
                        .into(),
                ),
            ),
            other => PageError::invalid(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> Self {
        tracing::error!(error = %err, "template rendering failed");
        PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, None)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::Redirect(to) => Redirect::to(to).into_response(),
            PageError::Status(status, message) => {
                let mut response = status.into_response();
                response.extensions_mut().insert(ErrorPage { message });
                response
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    status: u16,
    heading: &'a str,
    explanation: &'a str,
    message: Option<&'a str>,
    request_id: &'a str,
    demo: bool,
}

fn explain(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::FORBIDDEN => (
            "Access denied",
            "Your role does not allow this. If you need it for your work, ask an administrator.",
        ),
        StatusCode::NOT_FOUND => ("Page not found", "There is nothing at this address."),
        StatusCode::SERVICE_UNAVAILABLE => (
            "Database unavailable",
            "Carevault cannot reach its database right now. Nothing was changed. Please try again in a moment.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too large",
            "What you sent is larger than the server accepts.",
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            ("Too many attempts", "Please wait a little and try again.")
        }
        s if s.is_server_error() => (
            "Something went wrong",
            "The server could not complete your request. It has been logged; if it keeps happening, give the request id below to your IT team.",
        ),
        _ => (
            "The request could not be completed",
            "Please go back and check what you entered.",
        ),
    }
}

pub(crate) fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/v1") || path == "/api/openapi.json"
}

/// Turns marked and unmarked error responses into problem+json or an HTML error page.
pub async fn render_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let api = is_api_path(request.uri().path());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    let status = response.status();
    let problem = response.extensions().get::<Problem>().cloned();
    let page = response.extensions().get::<ErrorPage>().cloned();
    if problem.is_none()
        && page.is_none()
        && !(status.is_client_error() || status.is_server_error())
    {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // A page that rendered its own HTML for an error status (a form shown again with
    // messages) is already what the user should see.
    if problem.is_none()
        && page.is_none()
        && (content_type.starts_with("text/html") || content_type.starts_with("application/json"))
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // A framework rejection's text is a useful message for a 4xx (it names the problem, e.g.
    // a missing field); for a 5xx it is never shown.
    let framework_text = if problem.is_none() && page.is_none() && status.is_client_error() {
        body.collect()
            .await
            .ok()
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned())
            .filter(|t| !t.is_empty() && t.len() < 500)
    } else {
        None
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    if api {
        let mut problem = problem.unwrap_or_else(|| {
            let p = Problem::for_status(status);
            match framework_text {
                Some(text) => p.with_detail(text),
                None => p,
            }
        });
        problem.request_id = Some(request_id);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        Response::from_parts(parts, Body::from(body))
    } else {
        let (heading, explanation) = explain(status);
        let message = page.and_then(|p| p.message).or(framework_text);
        let html = ErrorTemplate {
            status: status.as_u16(),
            heading,
            explanation,
            message: message.as_deref(),
            request_id: &request_id,
            demo: state.settings.demo,
        }
        .render()
        .unwrap_or_else(|_| format!("Error {} (request {request_id})", status.as_u16()));
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Response::from_parts(parts, Body::from(html))
    }
}

/// The friendly 503 page ("Database unavailable"), for a server still waiting for its
/// database (see `standby.rs`).
pub(crate) fn unavailable_page(request_id: &str, demo: bool) -> String {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let (heading, explanation) = explain(status);
    ErrorTemplate {
        status: status.as_u16(),
        heading,
        explanation,
        message: None,
        request_id,
        demo,
    }
    .render()
    .unwrap_or_else(|_| format!("{heading} (request {request_id})"))
}

/// The fallback for unknown paths.
pub async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// What a panicking handler answers: a plain 500, rendered by [`render_errors`]. The panic
/// payload is not logged (it could hold data); the location is, by the panic hook.
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
