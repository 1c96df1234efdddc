//! The system status page's facts, for administrators.

use carevault_core::permission::Capability;
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
            Capability::AdministerSystem,
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
