//! Backups: the record of the last backup and its restore drill (read by the status page,
//! the dashboard, `/readyz` and `/metrics`).
//!
//! STUB written by the integrator so that other work can compile against it; the backup
//! helper owns this file and replaces this comment with the module's real documentation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use carevault_store::settings;

use crate::Services;
use crate::error::ServiceError;

/// Settings key holding the JSON of the last [`BackupRecord`].
pub const LAST_BACKUP_SETTING: &str = "backup.last";

/// What happened the last time a backup was taken (by the schedule, the admin button or the
/// CLI against this database).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupRecord {
    pub finished_at: DateTime<Utc>,
    /// File name (not path) of the backup, when one was written.
    pub file_name: Option<String>,
    /// Size of the file in bytes (0 when it failed).
    pub bytes: u64,
    /// `None` when the backup succeeded, the one-line reason when it failed.
    pub error: Option<String>,
    /// The restore drill that followed it, if one ran.
    pub drill: Option<DrillRecord>,
}

/// The restore drill: the backup restored into a scratch database and checked against its
/// manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DrillRecord {
    pub finished_at: DateTime<Utc>,
    /// `None` when every table matched its manifest, the one-line reason otherwise.
    pub error: Option<String>,
}

impl BackupRecord {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

impl Services {
    /// The last backup recorded in this database, if any. Not audited (no patient data).
    pub async fn last_backup(&self) -> Result<Option<BackupRecord>, ServiceError> {
        let Some(json) = settings::get(self.store().conn(), LAST_BACKUP_SETTING).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&json).ok())
    }
}
