//! Administration pages: accounts, and the system status with the audit trail's integrity
//! (last verification, latest signed checkpoint, verifier key, "Verify now").

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::{Role, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::audit_verify::VerificationReport;
use carevault_service::status::SystemStatus;
use carevault_service::users::{AccountView, NewAccount};
use secrecy::SecretString;
use serde::Deserialize;

use crate::errors::PageError;
use crate::pages::{Layout, NoticeQuery, PageRequest, format_size, format_uptime, notice, render};

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    accounts: Vec<AccountView>,
    roles: [Role; 7],
    errors: ValidationErrors,
    form: NewUserForm,
}

#[derive(Deserialize, Default)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

carevault_core::opaque_debug!(NewUserForm);

pub async fn users(
    PageRequest { state, actor, csrf }: PageRequest,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let accounts = state.services.list_accounts(&actor).await?;
    render(&UsersPage {
        layout: Layout::new(&state, &actor, "Users", "/admin/users", csrf)
            .with_notice(notice(query.notice.as_deref())),
        accounts,
        roles: Role::ALL,
        errors: ValidationErrors::new(),
        form: NewUserForm::default(),
    })
}

pub async fn create_user(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<NewUserForm>,
) -> Result<Response, PageError> {
    let result = state
        .services
        .create_account(
            &actor,
            NewAccount {
                username: form.username.clone(),
                display_name: form.display_name.clone(),
                role: form.role.clone(),
                password: SecretString::from(form.password.clone()),
            },
        )
        .await;
    let errors = match result {
        Ok(_) => return Ok(Redirect::to("/admin/users?notice=user-created").into_response()),
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::Conflict { field, message }) => {
            ValidationErrors::single(field.unwrap_or("username"), message)
        }
        Err(other) => return Err(other.into()),
    };
    let accounts = state.services.list_accounts(&actor).await?;
    let mut response = render(&UsersPage {
        layout: Layout::new(&state, &actor, "Users", "/admin/users", csrf),
        accounts,
        roles: Role::ALL,
        errors,
        form: NewUserForm {
            password: String::new(),
            ..form
        },
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The latest signed checkpoint, for display.
#[derive(Debug, Clone)]
struct CheckpointSummary {
    tree_size: u64,
    created_at: String,
    root_hash: String,
}

#[derive(Template)]
#[template(path = "admin_status.html")]
struct StatusPage {
    layout: Layout,
    status: SystemStatus,
    uptime: String,
    size: String,
    verification: Option<VerificationReport>,
    checkpoint: Option<CheckpointSummary>,
    audit_origin: String,
    verifier_key: String,
    /// Free space of the data directory, in words ("12.0 GiB free of 50.0 GiB").
    disk: String,
    disk_low: bool,
    backup: Option<carevault_service::backup::BackupRecord>,
    backup_size: String,
    /// "ok", "stale", "failed" or "none".
    backup_health: &'static str,
}

fn format_bytes(bytes: Option<i64>) -> String {
    match bytes {
        None => "unknown".into(),
        Some(b) if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

pub async fn status(
    PageRequest { state, actor, csrf }: PageRequest,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    // The status call admits administrators only; the audit facts follow from it.
    let status = state.services.system_status(&actor).await?;
    let verification = state.services.last_audit_verification().await?;
    let backup = state.services.last_backup().await?;
    let backup_health = state.services.backup_health(backup.as_ref()).as_str();
    let space = state.services.data_dir_space();
    let checkpoint = state
        .services
        .latest_checkpoint(&actor)
        .await?
        .map(|c| CheckpointSummary {
            tree_size: c.tree_size,
            created_at: c.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            root_hash: c.root_hash,
        });
    render(&StatusPage {
        layout: Layout::new(&state, &actor, "System status", "/admin/status", csrf)
            .with_notice(notice(query.notice.as_deref())),
        uptime: format_uptime(status.uptime),
        size: format_bytes(status.database_size_bytes),
        status,
        verification,
        checkpoint,
        audit_origin: state.services.audit_origin().to_owned(),
        verifier_key: state.services.audit_verifier_key(),
        disk: space.map_or_else(
            || "unknown (no data directory configured)".to_owned(),
            |d| {
                format!(
                    "{} free of {}",
                    format_size(d.available_bytes),
                    format_size(d.total_bytes)
                )
            },
        ),
        disk_low: space.is_some_and(|d| d.is_low()),
        backup_size: backup
            .as_ref()
            .map(|b| format_size(b.bytes))
            .unwrap_or_default(),
        backup,
        backup_health,
    })
}

/// `POST /admin/audit/verify`: "Verify now" — the whole audit trail, against every stored
/// checkpoint; the result shows on the status page.
pub async fn verify_audit_trail(
    PageRequest { state, actor, .. }: PageRequest,
) -> Result<Response, PageError> {
    let report = state.services.verify_audit_trail_as(&actor).await?;
    let notice = if report.ok {
        "audit-verified"
    } else {
        "audit-verification-failed"
    };
    Ok(Redirect::to(&format!("/admin/status?notice={notice}")).into_response())
}
