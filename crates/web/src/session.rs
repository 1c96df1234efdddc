//! The session layers that [`crate::routes::RouteTable`] puts in front of every non-public
//! route. They turn the session cookie (pages) or the bearer token (API) into an
//! [`Actor`] through the service's authentication, and put it in the request for the handler.
//! No handler of a guarded route can run without one.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_service::{Actor, ServiceError};
use secrecy::SecretString;

use crate::AppState;
use crate::csrf;
use crate::errors::PageError;
use crate::headers::RequestId;
use crate::problem::{ApiError, Problem};

/// The raw session token of the request (for deriving the form token); never logged.
#[derive(Clone)]
pub struct SessionToken(pub SecretString);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A `Set-Cookie` value with the attributes every Carevault cookie has.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: u64) -> String {
    let secure = if state.settings.insecure_cookies {
        ""
    } else {
        "; Secure"
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear_cookie(state: &AppState, name: &str) -> String {
    set_cookie(state, name, "", 0)
}

fn request_id(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn sign_in_redirect(state: &AppState, request: &Request) -> Response {
    let path = request.uri().path();
    // A cookie that no longer works means the session ended (timeout, sign-out elsewhere).
    let had_session = cookie(request.headers(), state.settings.session_cookie_name()).is_some();
    let mut query = Vec::new();
    if had_session {
        query.push("notice=session-ended".to_owned());
    }
    if request.method() == Method::GET && path != "/" && path != "/dashboard" {
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        query.push(format!("next={next}"));
    }
    let target = if query.is_empty() {
        "/login".to_owned()
    } else {
        format!("/login?{}", query.join("&"))
    };
    let mut response = Redirect::to(&target).into_response();
    if had_session
        && let Ok(value) = clear_cookie(state, state.settings.session_cookie_name()).parse()
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Guards a page: a live session cookie, and for state-changing requests the CSRF checks.
pub async fn require_page_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = cookie(request.headers(), state.settings.session_cookie_name())
        .map(|t| SecretString::from(t.to_owned()))
    else {
        return sign_in_redirect(&state, &request);
    };
    let actor = match state
        .services
        .authenticate(&token, request_id(&request))
        .await
    {
        Ok(actor) => actor,
        Err(ServiceError::Unauthenticated) => return sign_in_redirect(&state, &request),
        Err(other) => return PageError::from(other).into_response(),
    };
    let request = if is_safe(request.method()) {
        request
    } else {
        match csrf::verify(&state, request, &token).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    run_with(request, next, actor, Some(SessionToken(token))).await
}

/// Guards an API route: a bearer token, or (for reads only) the session cookie.
pub async fn require_api_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let from_bearer = bearer(request.headers()).map(|t| SecretString::from(t.to_owned()));
    let token = match from_bearer {
        Some(token) => token,
        None => {
            let Some(token) = cookie(request.headers(), state.settings.session_cookie_name())
                .map(|t| SecretString::from(t.to_owned()))
            else {
                return ApiError::from(ServiceError::Unauthenticated).into_response();
            };
            if !is_safe(request.method()) {
                // A browser sends cookies on its own; a write must prove intent with a token.
                return ApiError::from(
                    Problem::for_status(StatusCode::UNAUTHORIZED)
                        .with_detail("API writes need an Authorization: Bearer token; a session cookie alone is not accepted."),
                )
                .into_response();
            }
            token
        }
    };
    match state
        .services
        .authenticate(&token, request_id(&request))
        .await
    {
        Ok(actor) => run_with(request, next, actor, Some(SessionToken(token))).await,
        Err(err) => ApiError::from(err).into_response(),
    }
}

async fn run_with(
    mut request: Request,
    next: Next,
    actor: Actor,
    token: Option<SessionToken>,
) -> Response {
    request.extensions_mut().insert(actor);
    if let Some(token) = token {
        request.extensions_mut().insert(token);
    }
    next.run(request).await
}
