//! Backups: one encrypted, engine-neutral file per backup, verified without a
//! database and restored into an empty database of any backend; the scheduled backup with
//! its restore drill; and the record of the last backup (read by the status page, the
//! dashboard, `/readyz` and `/metrics`).
//!
//! The file format is documented in docs/BACKUP-FORMAT.md: a plain header (magic, format
//! version, KEK version and fingerprint, random salt, creation time), then the body,
//! AES-256-GCM in 64 KiB segments (STREAM construction, header as associated data) under a
//! per-file key derived from the KEK ([`KeyRing::backup_cipher`]), over a zstd-compressed
//! archive of `manifest.json` and `tables/<name>.ndjson` (the canonical dumps of
//! [`carevault_store::backup`]).
//!
//! # Invariants
//! - A backup never contains key material: the KEK, the index key and the audit signing key
//!   live only in the key directory (or `CAREVAULT_MASTER_KEY`); the file names the KEK
//!   version and fingerprint only. Restoring needs the same keys.
//! - [`open_backup`] authenticates every segment and checks every table against the manifest
//!   before it returns, so `verify` and `restore` reject a damaged file before anything
//!   touches a database.
//! - [`restore_backup`] only writes into an empty database (no migration applied, or exactly
//!   the backup's migrations and no rows), loads every table in one transaction, and checks
//!   what it loaded against the manifest before committing.
//! - Backups and drills never run concurrently in one process ([`BACKUP_LOCK`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use carevault_core::audit::{AuditAction, ResourceType};
use carevault_crypto::keyring::{BACKUP_TAG_LEN, BackupCipher, KeyRing};
use carevault_store::backup::{self as dump, BackupDataError, DatabaseDump, TableDump};
use carevault_store::{Store, TransactionTrait, settings};
use chrono::{DateTime, SubsecRound as _, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;

mod files;
mod format;
mod restore;

pub use files::*;
pub use format::*;
pub use restore::*;

/// Settings key holding the JSON of the last [`BackupRecord`].
pub const LAST_BACKUP_SETTING: &str = "backup.last";

/// One backup or restore drill at a time per process.
static BACKUP_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where scheduled and on-demand backups go, and how many are kept.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// The backup directory (`<data-dir>/backups`); `None` disables backups.
    pub dir: Option<PathBuf>,
    /// How many backup files the schedule keeps (the newest).
    pub keep: usize,
    /// How often the schedule takes a backup (`None`: no schedule); the status checks call
    /// a backup "stale" when it is older than this plus a grace period.
    pub interval: Option<std::time::Duration>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: None,
            keep: 14,
            interval: None,
        }
    }
}

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

/// Why a backup could not be made, read or restored. One line each; never key material.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("this file is not a Carevault backup")]
    NotABackup,
    #[error("backup format version {0} is not supported by this version of Carevault")]
    UnsupportedFormat(u16),
    #[error("the backup file is damaged or was not made with these keys: {0}")]
    Damaged(String),
    #[error("the backup was made with KEK v{0}, which is not in this key ring")]
    KeyMissing(u32),
    #[error(
        "the backup was not made with these keys: {0} differs (wrong key directory or master key?)"
    )]
    WrongKeys(String),
    #[error(
        "the backup has migrations this version of Carevault does not know ({0}); restore it with a newer version"
    )]
    UnknownMigrations(String),
    #[error("the target database is not empty ({0}); restore only into an empty database")]
    TargetNotEmpty(String),
    #[error("the restored data does not match the manifest: {0}")]
    Mismatch(String),
    #[error("backups are not configured on this server (no backup directory)")]
    Disabled,
    #[error("the backup could not be made: {0}")]
    Failed(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] BackupDataError),
}

impl From<carevault_store::StoreError> for BackupError {
    fn from(err: carevault_store::StoreError) -> Self {
        BackupError::Data(BackupDataError::Store(err))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Dumps `store` in one snapshot and encrypts it (the bytes of a backup file).
pub async fn create_backup(
    store: &Store,
    keys: &KeyRing,
    created_at: DateTime<Utc>,
) -> Result<(Vec<u8>, Manifest), BackupError> {
    let dump = dump::dump_database(store).await?;
    let keys = keys.clone();
    tokio::task::spawn_blocking(move || encode_backup(&dump, &keys, created_at))
        .await
        .map_err(|_| BackupError::Failed("the backup task stopped".into()))?
}

impl Services {
    /// The last backup recorded in this database, if any. Not audited (no patient data).
    pub async fn last_backup(&self) -> Result<Option<BackupRecord>, ServiceError> {
        let Some(json) = settings::get(self.store().conn(), LAST_BACKUP_SETTING).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&json).ok())
    }

    /// "Back up now" (administrators, and the operator's `carevault backup create`): a
    /// backup into the backup directory (or `out`), followed by its restore drill; the
    /// result is recorded as the last backup and audited as one `export` event of the system
    /// naming the file and its size. A failed backup is not an `Err`: the record says why.
    pub async fn backup_now(
        &self,
        actor: &Actor,
        out: Option<&Path>,
    ) -> Result<BackupRecord, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::AdministerSystem,
            ResourceType::System,
        )
        .await?;
        let record = self.take_backup(out, out.is_none()).await?;
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::System);
        event.reason = Some(match (&record.file_name, &record.error) {
            (Some(name), None) => format!("backup {name}, {} bytes", record.bytes),
            _ => "backup failed".to_owned(),
        });
        if !record.succeeded() {
            event.outcome = carevault_core::audit::Outcome::Failed;
        }
        self.record(event).await?;
        Ok(record)
    }

    /// The scheduled backup: backup, prune to the newest `keep`, restore drill, record.
    pub async fn run_scheduled_backup(&self) -> Result<BackupRecord, ServiceError> {
        self.backup_now(&Actor::system(), None).await
    }

    /// The backup directory's files, newest first, for the admin page (administrators).
    pub async fn backup_files(
        &self,
        actor: &Actor,
    ) -> Result<(Option<PathBuf>, Vec<BackupFile>), ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::AdministerSystem,
            ResourceType::System,
        )
        .await?;
        let Some(dir) = self.settings().backup.dir.clone() else {
            return Ok((None, Vec::new()));
        };
        let listing = dir.clone();
        let files = tokio::task::spawn_blocking(move || list_backup_files(&listing))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        Ok((Some(dir), files))
    }

    async fn take_backup(
        &self,
        out: Option<&Path>,
        prune: bool,
    ) -> Result<BackupRecord, ServiceError> {
        let _guard = BACKUP_LOCK.lock().await;
        let keys = self.key_ring();
        let outcome = self.write_backup(out, prune, &keys).await;
        let record = match outcome {
            Ok((path, bytes)) => {
                let drill = restore_drill(&path, &keys).await;
                if let Err(err) = &drill {
                    tracing::error!(error = %err, "the restore drill FAILED");
                }
                BackupRecord {
                    finished_at: self.now(),
                    file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    bytes,
                    error: None,
                    drill: Some(DrillRecord {
                        finished_at: self.now(),
                        error: drill.err().map(|e| e.to_string()),
                    }),
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "backup FAILED");
                BackupRecord {
                    finished_at: self.now(),
                    file_name: None,
                    bytes: 0,
                    error: Some(err.to_string()),
                    drill: None,
                }
            }
        };
        let json = serde_json::to_string(&record).map_err(ServiceError::internal)?;
        settings::set(self.store().conn(), LAST_BACKUP_SETTING, &json).await?;
        Ok(record)
    }

    async fn write_backup(
        &self,
        out: Option<&Path>,
        prune: bool,
        keys: &KeyRing,
    ) -> Result<(PathBuf, u64), BackupError> {
        // The header keeps microseconds; the manifest says the same instant.
        let now = self.now().trunc_subsecs(6);
        let path = match out {
            Some(path) => path.to_owned(),
            None => {
                let dir = self
                    .settings()
                    .backup
                    .dir
                    .clone()
                    .ok_or(BackupError::Disabled)?;
                ensure_backup_dir(&dir)?;
                free_backup_path(&dir, now)
            }
        };
        let (bytes, manifest) = create_backup(self.store(), keys, now).await?;
        let size = bytes.len() as u64;
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_backup_file(&target, &bytes))
            .await
            .map_err(|_| BackupError::Failed("the write task stopped".into()))??;
        tracing::info!(
            file = %path.display(),
            bytes = size,
            tables = manifest.tables.len(),
            "backup written"
        );
        if prune && let Some(dir) = self.settings().backup.dir.clone() {
            let keep = self.settings().backup.keep;
            match prune_backups(&dir, keep) {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, keep, "old backups pruned"),
                Err(err) => tracing::warn!(error = %err, "could not prune old backups"),
            }
        }
        Ok((path, size))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cipher() -> BackupCipher {
        KeyRing::from_master_key(&[5u8; 32])
            .unwrap()
            .backup_cipher(1, b"salt")
            .unwrap()
    }

    #[test]
    fn bodies_of_every_length_round_trip() {
        let cipher = cipher();
        for len in [
            0,
            1,
            SEGMENT_LEN - 1,
            SEGMENT_LEN,
            SEGMENT_LEN + 1,
            2 * SEGMENT_LEN,
        ] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_body(&cipher, b"hdr", &body).unwrap();
            assert_eq!(open_body(&cipher, b"hdr", &sealed).unwrap(), body, "{len}");
        }
    }

    #[test]
    fn truncated_reordered_or_altered_bodies_fail() {
        let cipher = cipher();
        let body = vec![7u8; 2 * SEGMENT_LEN + 10];
        let sealed = seal_body(&cipher, b"hdr", &body).unwrap();
        let seg = SEGMENT_LEN + BACKUP_TAG_LEN;
        // Cut at a segment boundary: the new last segment was not sealed as final.
        let err = open_body(&cipher, b"hdr", &sealed[..2 * seg]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = open_body(&cipher, b"hdr", &sealed[..2 * seg + BACKUP_TAG_LEN]).unwrap_err();
        assert!(err.to_string().contains("segment 2"), "{err}");
        // Two segments swapped.
        let mut swapped = sealed[seg..2 * seg].to_vec();
        swapped.extend_from_slice(&sealed[..seg]);
        swapped.extend_from_slice(&sealed[2 * seg..]);
        let err = open_body(&cipher, b"hdr", &swapped).unwrap_err();
        assert!(err.to_string().contains("segment 0 fails"), "{err}");
        // One bit in the second segment.
        let mut flipped = sealed.clone();
        flipped[seg + 5] ^= 1;
        let err = open_body(&cipher, b"hdr", &flipped).unwrap_err();
        assert!(err.to_string().contains("segment 1 fails"), "{err}");
        // Another header.
        assert!(open_body(&cipher, b"HDR", &sealed).is_err());
    }

    #[test]
    fn archives_parse_strictly() {
        let mut archive = Vec::new();
        push_entry(&mut archive, MANIFEST_ENTRY, b"{}");
        push_entry(&mut archive, "tables/users.ndjson", b"x\n");
        let entries = parse_archive(&archive).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0, "tables/users.ndjson");
        assert!(parse_archive(&archive[..archive.len() - 1]).is_err());
    }
}
