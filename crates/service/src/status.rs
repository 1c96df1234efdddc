//! The system status page's facts, for administrators.

use carevault_core::Action;
use carevault_store::{Backend, sessions, users};
use chrono::{DateTime, Utc};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;

#[derive(Debug, Clone)]
pub struct SystemStatus {
    pub version: &'static str,
    pub backend: Backend,
    /// The database URL with any password masked.
    pub database: String,
    pub database_size_bytes: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub uptime: std::time::Duration,
    pub migrations_applied: Vec<String>,
    pub migrations_pending: Vec<String>,
    pub accounts: u64,
    pub active_sessions: u64,
}

impl Services {
    pub async fn system_status(&self, actor: &Actor) -> Result<SystemStatus, ServiceError> {
        self.authorize(
            actor,
            Action::AdministerSystem,
            carevault_core::audit::ResourceType::System,
        )
        .await?;
        let store = self.store();
        let now = self.now();
        let idle =
            chrono::Duration::from_std(self.settings().session_idle_timeout).unwrap_or_default();
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION"),
            backend: store.backend(),
            database: store.redacted_url().to_owned(),
            database_size_bytes: store.size_bytes().await,
            started_at: self.inner.started_at,
            uptime: (now - self.inner.started_at).to_std().unwrap_or_default(),
            migrations_applied: store.applied_migrations().await?,
            migrations_pending: store.pending_migrations().await?,
            accounts: users::count(store.conn()).await?,
            active_sessions: sessions::count_active(store.conn(), now, now - idle).await?,
        })
    }
}

/// Free space of the data directory's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub available_bytes: u64,
    pub total_bytes: u64,
}

/// Below this much free space (or [`LOW_DISK_PERCENT`]), the disk is reported "low".
pub const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;
/// Below this share of the file system free, the disk is reported "low".
pub const LOW_DISK_PERCENT: u64 = 5;
/// Without a backup schedule, a successful backup older than this is reported "stale"; with
/// one, a backup is stale when it is older than the interval plus [`BACKUP_STALE_GRACE`].
pub const BACKUP_STALE_AFTER: chrono::Duration = chrono::Duration::hours(26);
/// How late a scheduled backup may be (it runs, then its drill) before it is "stale".
pub const BACKUP_STALE_GRACE: chrono::Duration = chrono::Duration::hours(2);

/// When a successful backup becomes "stale" under `settings`.
pub fn backup_stale_after(settings: &crate::backup::BackupSettings) -> chrono::Duration {
    settings
        .interval
        .and_then(|every| chrono::Duration::from_std(every).ok())
        .map_or(BACKUP_STALE_AFTER, |every| every + BACKUP_STALE_GRACE)
}

impl DiskSpace {
    /// Less than 1 GiB or less than 5 % free.
    pub fn is_low(&self) -> bool {
        self.available_bytes < LOW_DISK_BYTES
            || self.available_bytes.saturating_mul(100)
                < self.total_bytes.saturating_mul(LOW_DISK_PERCENT)
    }
}

/// The free space of the file system holding `dir`, when the platform can tell.
pub fn disk_space(dir: &std::path::Path) -> Option<DiskSpace> {
    #[cfg(unix)]
    {
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(DiskSpace {
            available_bytes: stat.f_bavail.saturating_mul(stat.f_frsize),
            total_bytes: stat.f_blocks.saturating_mul(stat.f_frsize),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// How long `/readyz` waits for the database's answer.
pub const READINESS_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The backup's state for `/readyz`, the status page and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupHealth {
    /// The last backup succeeded less than [`backup_stale_after`] ago.
    Ok,
    /// The last backup succeeded, but longer ago.
    Stale,
    /// The last backup (or its restore drill) failed.
    Failed,
    /// No backup recorded.
    None,
}

impl BackupHealth {
    pub fn of(
        record: Option<&crate::backup::BackupRecord>,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> BackupHealth {
        match record {
            None => BackupHealth::None,
            Some(r) if !r.succeeded() || r.drill.as_ref().is_some_and(|d| d.error.is_some()) => {
                BackupHealth::Failed
            }
            Some(r) if now - r.finished_at > stale_after => BackupHealth::Stale,
            Some(_) => BackupHealth::Ok,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackupHealth::Ok => "ok",
            BackupHealth::Stale => "stale",
            BackupHealth::Failed => "failed",
            BackupHealth::None => "none",
        }
    }
}

/// What `/readyz` reports. Nothing in it is sensitive: four words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    /// `None` when no data directory is configured or the platform cannot tell.
    pub disk_low: Option<bool>,
    /// `None` when the database cannot be read.
    pub backup: Option<BackupHealth>,
    /// `Some(true)` verified, `Some(false)` failed, `None` pending (or unreadable).
    pub audit_verified: Option<bool>,
    /// Whether the audit facts could be read (false when the database is down).
    pub audit_known: bool,
}

impl Readiness {
    /// Ready to take traffic: only an unreachable database takes the node out. A low
    /// disk, a stale or failed backup or a failed audit verification are reported for
    /// the operator but leave the node serving (taking every node out at once would be
    /// worse than the problem).
    pub fn ready(&self) -> bool {
        self.database
    }
}

/// What `/metrics` reports beyond the HTTP counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsFacts {
    pub database_up: bool,
    /// Events waiting for the audit writer.
    pub audit_queue_depth: usize,
    /// Seconds since the last successful backup, if any.
    pub backup_age_seconds: Option<f64>,
    pub uptime_seconds: f64,
}

impl Services {
    /// How `record` (the last backup) stands now.
    pub fn backup_health(&self, record: Option<&crate::backup::BackupRecord>) -> BackupHealth {
        BackupHealth::of(
            record,
            self.now(),
            backup_stale_after(&self.settings().backup),
        )
    }

    /// The free space of the data directory, if one is configured.
    pub fn data_dir_space(&self) -> Option<DiskSpace> {
        self.settings().data_dir.as_deref().and_then(disk_space)
    }

    /// The facts of `/readyz`. Not audited and open to anyone: it says only whether the
    /// database answers, whether the disk is low and the backup and audit states in one
    /// word each.
    pub async fn readiness(&self) -> Readiness {
        // A load balancer's probe should not wait out the pool's acquire timeout.
        let database = tokio::time::timeout(READINESS_PING_TIMEOUT, self.database_ready())
            .await
            .unwrap_or(false);
        let disk_low = self.data_dir_space().map(|d| d.is_low());
        if !database {
            return Readiness {
                database,
                disk_low,
                backup: None,
                audit_verified: None,
                audit_known: false,
            };
        }
        let backup = self.last_backup().await.ok().map(|r| {
            BackupHealth::of(
                r.as_ref(),
                self.now(),
                backup_stale_after(&self.settings().backup),
            )
        });
        let verification = self.last_audit_verification().await;
        Readiness {
            database,
            disk_low,
            backup,
            audit_verified: verification
                .as_ref()
                .ok()
                .and_then(|v| v.as_ref().map(|v| v.ok)),
            audit_known: verification.is_ok(),
        }
    }

    /// The facts of `/metrics` beyond the HTTP layer's own counters. Administrators only
    /// (the refusal is recorded).
    pub async fn metrics_facts(&self, actor: &Actor) -> Result<MetricsFacts, ServiceError> {
        self.authorize(
            actor,
            Action::AdministerSystem,
            carevault_core::audit::ResourceType::System,
        )
        .await?;
        let now = self.now();
        let backup_age_seconds = match self.last_backup().await {
            Ok(Some(record)) if record.succeeded() => {
                Some((now - record.finished_at).num_milliseconds().max(0) as f64 / 1000.0)
            }
            _ => None,
        };
        Ok(MetricsFacts {
            database_up: self.database_ready().await,
            audit_queue_depth: self.audit_queue_depth().await,
            backup_age_seconds,
            uptime_seconds: (now - self.inner.started_at).num_milliseconds().max(0) as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{BackupRecord, BackupSettings};

    fn record(at: DateTime<Utc>) -> BackupRecord {
        BackupRecord {
            finished_at: at,
            file_name: Some("b.cvbak".into()),
            bytes: 1,
            error: None,
            drill: None,
        }
    }

    #[test]
    fn a_backup_is_stale_after_its_interval_and_the_grace() {
        let now = Utc::now();
        let hourly = BackupSettings {
            interval: Some(std::time::Duration::from_secs(3600)),
            ..BackupSettings::default()
        };
        let stale_after = backup_stale_after(&hourly);
        // Hourly plus two hours' grace: stale after three hours.
        let old = record(now - chrono::Duration::minutes(200));
        assert_eq!(
            BackupHealth::of(Some(&old), now, stale_after),
            BackupHealth::Stale
        );
        let recent = record(now - chrono::Duration::minutes(170));
        assert_eq!(
            BackupHealth::of(Some(&recent), now, stale_after),
            BackupHealth::Ok
        );
        let unscheduled = backup_stale_after(&BackupSettings::default());
        assert_eq!(unscheduled, BACKUP_STALE_AFTER);
        assert_eq!(
            BackupHealth::of(Some(&old), now, unscheduled),
            BackupHealth::Ok
        );
    }
}
