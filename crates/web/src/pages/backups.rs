//! `/admin/backups`: the last backup and its restore drill, the files in the backup
//! directory, and the "Back up now" button (administrators only; the service decides).

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_service::backup::BackupRecord;
use serde::Deserialize;

use crate::errors::PageError;
use crate::pages::format_size;
use crate::pages::{Layout, PageRequest, render};

/// One backup file as the page lists it.
struct FileRow {
    name: String,
    size: String,
    modified: String,
}

#[derive(Template)]
#[template(path = "admin_backups.html")]
struct BackupsPage {
    layout: Layout,
    backup: Option<BackupRecord>,
    backup_size: String,
    /// The backup directory, when backups are configured.
    dir: Option<String>,
    files: Vec<FileRow>,
    /// The outcome of the button just pressed, from a fixed set of texts.
    result: Option<(&'static str, bool)>,
}

#[derive(Debug, Deserialize)]
pub struct BackupsQuery {
    result: Option<String>,
}

/// `GET /admin/backups`.
pub async fn page(
    PageRequest { state, actor, csrf }: PageRequest,
    Query(query): Query<BackupsQuery>,
) -> Result<Response, PageError> {
    // The listing admits administrators only; the last record follows from it.
    let (dir, files) = state.services.backup_files(&actor).await?;
    let backup = state.services.last_backup().await?;
    let result = match query.result.as_deref() {
        Some("ok") => Some((
            "The backup has been written and its restore drill passed.",
            true,
        )),
        Some("drill-failed") => Some((
            "The backup has been written, but its restore drill FAILED: see below.",
            false,
        )),
        Some("failed") => Some(("The backup FAILED: see below.", false)),
        _ => None,
    };
    render(&BackupsPage {
        layout: Layout::new(&state, &actor, "Backups", "/admin/status", csrf),
        backup_size: backup
            .as_ref()
            .map(|b| format_size(b.bytes))
            .unwrap_or_default(),
        backup,
        dir: dir.map(|d| d.display().to_string()),
        files: files
            .into_iter()
            .map(|f| FileRow {
                name: f.name,
                size: format_size(f.bytes),
                modified: f
                    .modified
                    .map(|m| m.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        result,
    })
}

/// `POST /admin/backups`: "Back up now" — a backup and its restore drill; the outcome shows
/// on the page.
pub async fn back_up_now(
    PageRequest { state, actor, .. }: PageRequest,
) -> Result<Response, PageError> {
    let record = state.services.backup_now(&actor, None).await?;
    let result = match (
        &record.error,
        record.drill.as_ref().and_then(|d| d.error.as_ref()),
    ) {
        (Some(_), _) => "failed",
        (None, Some(_)) => "drill-failed",
        (None, None) => "ok",
    };
    Ok(Redirect::to(&format!("/admin/backups?result={result}")).into_response())
}
