//! Optimistic concurrency over HTTP, once for every route that has it: a record's version is
//! its `updated_at` in microseconds, sent as a strong `ETag`; a change sent with `If-Match`
//! is refused with 412 when that is not the stored version (RFC 9110, 13.1.1), and a tag
//! that is not one of ours is refused the same way.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use carevault_core::time::{from_micros, to_micros};
use chrono::{DateTime, Utc};

use crate::problem::{ApiError, Problem};

/// The `If-Match` header of a request, read but not yet judged, so that a route can check
/// its path and body first (a bad id is "not found" whatever the headers hold).
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(Option<Option<DateTime<Utc>>>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::IF_MATCH).map(|value| {
            value
                .to_str()
                .ok()
                .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
                .and_then(|v| v.parse::<i64>().ok())
                .map(from_micros)
        })))
    }
}

impl IfMatch {
    /// The version the client's copy has: `None` without the header; 412 with `detail`
    /// when the header is not one of our entity tags.
    pub fn version(self, detail: &str) -> Result<Option<DateTime<Utc>>, PreconditionFailed> {
        match self.0 {
            None => Ok(None),
            Some(Some(version)) => Ok(Some(version)),
            Some(None) => Err(PreconditionFailed(detail.to_owned())),
        }
    }

    /// Like [`version`](Self::version), and also 412 when the version is not `current`.
    pub fn require_current(
        self,
        current: DateTime<Utc>,
        detail: &str,
    ) -> Result<Option<DateTime<Utc>>, PreconditionFailed> {
        match self.version(detail)? {
            Some(seen) if to_micros(seen) != to_micros(current) => {
                Err(PreconditionFailed(detail.to_owned()))
            }
            seen => Ok(seen),
        }
    }
}

/// A refused `If-Match`, with the sentence the 412 problem carries (`?` turns it into
/// the [`ApiError`]).
#[derive(Debug)]
pub struct PreconditionFailed(String);

impl From<PreconditionFailed> for ApiError {
    fn from(refused: PreconditionFailed) -> Self {
        precondition_failed(refused.0)
    }
}

/// 412: the change was based on a version that is no longer the stored one.
pub fn precondition_failed(detail: impl Into<String>) -> ApiError {
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
        "Precondition failed",
    )
    .with_detail(detail.into())
    .into()
}

/// `response` with the record's version (when the caller sees it) as its `ETag` and, when
/// it was just created (`201`), its address as `Location`.
pub fn versioned(
    mut response: Response,
    updated_at: Option<DateTime<Utc>>,
    location: Option<&str>,
) -> Response {
    if let Some(value) =
        updated_at.and_then(|at| HeaderValue::from_str(&format!("\"{}\"", to_micros(at))).ok())
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    if response.status() == StatusCode::CREATED
        && let Some(value) = location.and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
