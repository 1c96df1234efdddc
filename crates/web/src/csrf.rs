//! Cross-site request forgery protection for cookie-authenticated, state-changing requests.
//!
//! Two independent checks, both required:
//! 1. **Origin**: `Sec-Fetch-Site` must be `same-origin` when the browser sends it, and an
//!    `Origin` header, when present, must name this server (the `Host` it was reached at, or
//!    the configured public URL).
//! 2. **Form token**: the request must carry the session's form token, in the `csrf_token`
//!    field of a URL-encoded form, the `X-CSRF-Token` header, or (multipart uploads only,
//!    whose body is not buffered here) the `csrf_token` query parameter of the form's action.
//!    The token is derived from the session token ([`carevault_crypto::token::form_token`]),
//!    so another site cannot know it.
//!
//! The session cookie is also `SameSite=Strict`; these checks do not rely on that.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_crypto::token::form_token_matches;
use secrecy::SecretString;

use crate::AppState;
use crate::errors::PageError;

/// The form field that carries the token.
pub const FORM_FIELD: &str = "csrf_token";
/// The header that carries the token (for scripts and multipart forms).
pub const HEADER: &str = "x-csrf-token";

fn forbidden(reason: &str) -> Response {
    tracing::warn!(reason, "request refused by the CSRF checks");
    PageError::Status(
        StatusCode::FORBIDDEN,
        Some("The form could not be verified. Reload the page and try again.".into()),
    )
    .into_response()
}

/// Whether the request comes from this site, by `Sec-Fetch-Site` and `Origin`.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even for a
    // same-origin form; the Fetch metadata then vouches for it. Without that, `null` (which
    // sandboxed frames and data: URLs also send) is refused.
    if origin == "null" {
        return fetch_site == Some("same-origin");
    }
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let public = &state.settings.public_url;
    if origin.origin() == public.origin() {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_authority = match (origin.host_str(), origin.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    host.is_some_and(|host| host.eq_ignore_ascii_case(&origin_authority))
}

/// Checks a state-changing request; hands it back (body restored) if it passes.
pub async fn verify(
    state: &AppState,
    request: Request,
    session_token: &SecretString,
) -> Result<Request, Response> {
    if !same_origin(state, request.headers()) {
        return Err(forbidden("cross-origin request"));
    }
    if let Some(submitted) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if form_token_matches(session_token, submitted) {
            Ok(request)
        } else {
            Err(forbidden("bad form token header"))
        };
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        // A file upload form cannot set a header without JavaScript, and its body may be
        // tens of MiB: its token travels in the action URL's query (`?csrf_token=`), which is
        // never logged and never leaves in a `Referer` (`Referrer-Policy: no-referrer`).
        let submitted = request.uri().query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == FORM_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        return match submitted {
            Some(token) if form_token_matches(session_token, &token) => Ok(request),
            _ => Err(forbidden("missing or wrong form token in the upload URL")),
        };
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Err(forbidden("no form token"));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, state.settings.max_body_bytes).await else {
        return Err(PageError::Status(StatusCode::PAYLOAD_TOO_LARGE, None).into_response());
    };
    let submitted = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    match submitted {
        Some(token) if form_token_matches(session_token, &token) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(forbidden("missing or wrong form token")),
    }
}
