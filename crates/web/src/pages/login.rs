//! The sign-in page, the sign-in form and sign-out.
//!
//! The sign-in form is protected against login CSRF by the origin check and a nonce that is
//! both in a cookie and in the form (the page has no session yet to derive a token from).
//! A successful sign-in always issues a new session token and revokes the one the browser
//! held, so a session id never survives a sign-in.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use carevault_crypto::token::random_nonce;
use carevault_service::ServiceError;
use carevault_service::auth::SignInRequest;
use secrecy::SecretString;
use serde::Deserialize;

use crate::AppState;
use crate::csrf;
use crate::errors::PageError;
use crate::extract::{ClientAddr, CurrentActor};
use crate::pages::{notice, render};
use crate::session::{clear_cookie, cookie, set_cookie};

/// Constant-time equality of the nonce in the cookie and in the form.
fn eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    nonce: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<String>,
    notice: Option<&'static str>,
    demo: bool,
    demo_accounts: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Only local paths are followed after sign-in (no open redirect): a path that starts with
/// one `/` and holds only visible ASCII (no `\\`, no whitespace or control characters, which
/// browsers strip and could turn `/\t/evil.example` into `//evil.example`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.len() <= 512
                && path
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'\\') =>
        {
            path
        }
        _ => "/dashboard",
    }
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let nonce = random_nonce();
    let page = LoginPage {
        nonce: &nonce,
        next,
        username,
        error,
        notice,
        demo: state.settings.demo,
        demo_accounts: if state.settings.demo {
            &carevault_service::demo::DEMO_ACCOUNTS
        } else {
            &[]
        },
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        state,
        state.settings.login_cookie_name(),
        &nonce,
        3600,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub async fn form(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    // Already signed in: straight on.
    if let Some(token) = cookie(&headers, state.settings.session_cookie_name())
        && state
            .services
            .authenticate(&SecretString::from(token.to_owned()), None)
            .await
            .is_ok()
    {
        return Ok(Redirect::to(safe_next(query.next.as_deref())).into_response());
    }
    login_page(
        &state,
        StatusCode::OK,
        safe_next(query.next.as_deref()),
        "",
        None,
        notice(query.notice.as_deref()),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    next: String,
}

carevault_core::opaque_debug!(LoginForm);

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    request_id: crate::headers::RequestId,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(Some(&form.next)).to_owned();
    let cookie_nonce = cookie(&headers, state.settings.login_cookie_name()).unwrap_or_default();
    if !csrf::same_origin(&state, &headers)
        || cookie_nonce.is_empty()
        || !eq(cookie_nonce, &form.nonce)
    {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            "",
            Some("The sign-in form had expired. Please try again.".into()),
            None,
        );
    }
    let previous_token = cookie(&headers, state.settings.session_cookie_name())
        .map(|t| SecretString::from(t.to_owned()));
    let result = state
        .services
        .sign_in(SignInRequest {
            username: form.username.clone(),
            password: SecretString::from(form.password),
            client_addr,
            request_id: Some(request_id.0),
            previous_token,
        })
        .await;
    let shown_username: String = form.username.chars().take(64).collect();
    match result {
        Ok(signed_in) => {
            use secrecy::ExposeSecret;
            let max_age = state.services.settings().session_absolute_timeout.as_secs();
            let mut response = Redirect::to(&next).into_response();
            let cookies = [
                set_cookie(
                    &state,
                    state.settings.session_cookie_name(),
                    signed_in.token.expose_secret(),
                    max_age,
                ),
                clear_cookie(&state, state.settings.login_cookie_name()),
            ];
            for value in cookies {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        Err(ServiceError::InvalidCredentials) => login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &shown_username,
            Some("Invalid username or password.".into()),
            None,
        ),
        Err(ServiceError::Throttled { retry_after }) => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            let mut response = login_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &shown_username,
                Some(format!(
                    "Too many failed attempts. Please wait {minutes} minute{} and try again.",
                    if minutes == 1 { "" } else { "s" }
                )),
                None,
            )?;
            if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(ServiceError::Validation(errors)) => login_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            &shown_username,
            Some(
                errors
                    .0
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}.",
                            if e.field == "username" {
                                "Username"
                            } else {
                                "Password"
                            },
                            e.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            None,
        ),
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, PageError> {
    state.services.sign_out(&actor).await?;
    let mut response = Redirect::to("/login?notice=signed-out").into_response();
    if let Ok(value) =
        HeaderValue::from_str(&clear_cookie(&state, state.settings.session_cookie_name()))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
