//! Background jobs of a running server: audit checkpoints every few seconds, incremental
//! re-verification of the audit trail, housekeeping, and notifications (delivery every 15 s,
//! stock alerts hourly). `serve` starts them; other
//! commands do not (they must not sign checkpoints over a database they only inspect).

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Services;

/// How often the jobs run.
#[derive(Debug, Clone)]
pub struct JobIntervals {
    pub checkpoint: Duration,
    pub verification: Duration,
    pub housekeeping: Duration,
    /// How often a running server checks whether `carevault keys rotate` added a KEK.
    pub key_reload: Duration,
    /// How often overdue appointments are marked no-show or completed.
    pub appointment_status: Duration,
    /// How often due notifications are delivered (in-app made visible, e-mail sent).
    pub notification_delivery: Duration,
    /// How often low-stock and expiring-batch alerts are checked (deduplicated per day).
    pub stock_alerts: Duration,
    /// How often the retention job runs (reports, and erases with `retention_erase`);
    /// `None`: never.
    pub retention: Option<Duration>,
    /// How often a backup (with its restore drill) is taken; `None`: never (the CLI's
    /// `--backup-interval` turns it on).
    pub backup: Option<Duration>,
}

impl Default for JobIntervals {
    fn default() -> Self {
        Self {
            checkpoint: Duration::from_secs(5),
            verification: Duration::from_secs(300),
            housekeeping: Duration::from_secs(600),
            key_reload: Duration::from_secs(1),
            appointment_status: Duration::from_secs(60),
            notification_delivery: Duration::from_secs(15),
            stock_alerts: Duration::from_secs(3600),
            retention: None,
            backup: None,
        }
    }
}

impl Services {
    /// Starts the background jobs; abort the handles (after [`Services::shutdown`]) to stop.
    pub fn start_jobs(&self, intervals: JobIntervals) -> Vec<JoinHandle<()>> {
        let checkpoints = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.checkpoint);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.checkpoint_now().await {
                        tracing::error!(error = %err, "could not sign an audit checkpoint");
                    }
                }
            })
        };
        let verification = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.verification);
                // Incremental runs check only what was added; every 12th run (hourly by default)
                // re-reads everything, so a change to old rows is found without a restart.
                let mut runs: u64 = 0;
                loop {
                    tick.tick().await;
                    let full = runs.is_multiple_of(12);
                    runs += 1;
                    if let Err(err) = services.verify_audit_trail(full).await {
                        tracing::error!(error = %err, "could not verify the audit trail");
                    }
                }
            })
        };
        let housekeeping = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.housekeeping);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.prune_expired_state().await {
                        tracing::warn!(error = %err, "housekeeping failed");
                    }
                }
            })
        };
        let key_reload = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.key_reload);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.reload_keys_if_rotated().await {
                        tracing::warn!(error = %err, "could not check for a rotated key");
                    }
                }
            })
        };
        let appointment_status = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.appointment_status);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.run_appointment_status_job().await {
                        tracing::warn!(error = %err, "could not update appointment statuses");
                    }
                }
            })
        };
        let notification_delivery = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.notification_delivery);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.deliver_due_notifications().await {
                        tracing::warn!(error = %err, "could not deliver notifications");
                    }
                }
            })
        };
        let stock_alerts = {
            let services = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(intervals.stock_alerts);
                loop {
                    tick.tick().await;
                    // A failed check (say, the database busy while the server starts) is tried
                    // again a minute later rather than at the next hourly tick.
                    while let Err(err) = services.run_stock_alert_job().await {
                        tracing::warn!(error = ?err, "could not check stock alerts; trying again in a minute");
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    }
                }
            })
        };
        let mut handles = vec![
            checkpoints,
            verification,
            housekeeping,
            key_reload,
            appointment_status,
            notification_delivery,
            stock_alerts,
        ];
        if let Some(every) = intervals.retention {
            let services = self.clone();
            handles.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    if let Err(err) = services.run_retention_job().await {
                        tracing::warn!(error = %err, "the retention job failed");
                    }
                }
            }));
        }
        if let Some(every) = intervals.backup {
            let services = self.clone();
            handles.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                // The first tick fires at once: skip it, so a restart does not back up.
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match services.run_scheduled_backup().await {
                        Ok(record) if record.succeeded() => {}
                        Ok(record) => tracing::error!(
                            error = record.error.as_deref().unwrap_or_default(),
                            "the scheduled backup failed"
                        ),
                        Err(err) => tracing::error!(error = %err, "the scheduled backup failed"),
                    }
                }
            }));
        }
        handles
    }
}
