//! `/api/v1/auth`: bearer tokens for integrations and scripts. The token is the same kind of
//! server-side session the web UI uses, with the same timeouts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carevault_core::{Role, UserId};
use carevault_service::auth::{AccountSummary, SignInRequest};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::{ApiJson, ClientAddr, CurrentActor};
use crate::problem::{ApiError, Problem};

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "drsmith", min_length = 1, max_length = 64)]
    username: String,
    #[schema(format = Password, min_length = 1)]
    password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRequest { .. }")
    }
}

/// The signed-in account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    #[schema(value_type = String, format = Uuid)]
    id: UserId,
    username: String,
    #[schema(value_type = String, example = "doctor")]
    role: Role,
    display_name: String,
}

impl From<AccountSummary> for UserInfo {
    fn from(a: AccountSummary) -> Self {
        Self {
            id: a.id,
            username: a.username.to_string(),
            role: a.role,
            display_name: a.display_name,
        }
    }
}

/// A new session.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; store it like a password.
    token: String,
    /// The session's absolute end (it also ends after the idle timeout).
    expires_at: DateTime<Utc>,
    user: UserInfo,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginResponse { .. }")
    }
}

/// Sign in and obtain a bearer token.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Invalid username or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    request_id: crate::headers::RequestId,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let signed_in = state
        .services
        .sign_in(SignInRequest {
            username: body.username,
            password: SecretString::from(body.password),
            client_addr,
            request_id: Some(request_id.0),
            previous_token: None,
        })
        .await?;
    Ok(Json(LoginResponse {
        token: signed_in.token.expose_secret().to_owned(),
        expires_at: signed_in.expires_at,
        user: signed_in.account.into(),
    }))
}

/// Revoke the current token.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out; the token no longer works"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<StatusCode, ApiError> {
    state.services.sign_out(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The account", body = UserInfo),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<UserInfo>, ApiError> {
    Ok(Json(state.services.whoami(&actor)?.into()))
}
