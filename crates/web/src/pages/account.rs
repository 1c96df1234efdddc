//! The user's own account: changing the password (which signs out every other session).

use askama::Template;
use axum::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::ValidationErrors;
use carevault_service::ServiceError;
use secrecy::SecretString;
use serde::Deserialize;

use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, render};

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    layout: Layout,
    errors: ValidationErrors,
}

pub async fn password_form(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    render(&PasswordPage {
        layout: Layout::new(&state, &actor, "Change password", "/account/password", csrf),
        errors: ValidationErrors::new(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

carevault_core::opaque_debug!(PasswordForm);

pub async fn change_password(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let result = if form.new_password != form.confirm_password {
        Err(ServiceError::Validation(ValidationErrors::single(
            "confirm_password",
            "does not match the new password",
        )))
    } else {
        state
            .services
            .change_own_password(
                &actor,
                SecretString::from(form.current_password),
                SecretString::from(form.new_password),
            )
            .await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/dashboard?notice=password-changed").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let mut response = render(&PasswordPage {
                layout: Layout::new(&state, &actor, "Change password", "/account/password", csrf),
                errors,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}
