//! The use cases. Every public function that touches data takes an [`Actor`], decides
//! whether that actor may do it (the permission matrix and the masking policy of
//! `carevault-core`, and the module's own rules), and reads or writes through
//! `carevault-store`; a use case runs in one store transaction.
//!
//! This crate never parses HTTP and never renders HTML: the web layer is a thin translation
//! of requests into these calls and of their results into pages and JSON.

pub mod actor;
pub mod addenda;
pub mod allergies;
pub mod audit_log;
pub mod audit_trail;
pub mod audit_verify;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod chart;
mod chart_lists;
pub mod clock;
pub mod consents;
pub mod dashboard;
pub mod demo;
mod demo_clinical;
pub mod documents;
pub mod emergency;
pub mod encounters;
pub mod erasure;
pub mod error;
pub mod exports;
mod ids;
pub mod jobs;
pub mod keys;
pub mod notifications;
pub mod nursing;
pub mod patients;
pub mod pharmacy;
pub mod prescriptions;
pub mod problems;
pub mod scheduling;
mod sealing;
mod session_cache;
pub mod shares;
pub mod status;
pub mod subject_access;
pub mod synthetic;
mod tx;
pub mod users;
pub mod visit_charges;
pub mod vitals;

use std::sync::Arc;
use std::time::Duration;

use carevault_store::Store;
use chrono::{DateTime, Utc};

pub use actor::{Actor, ActorKind};
pub use audit_trail::AuditSettings;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ServiceError;

/// Tunables of the use cases, resolved from the configuration at start-up.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// A session unused for this long ends.
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_timeout: Duration,
    /// How long an authenticated session is remembered before it is read again: the bound
    /// within which a session revoked or an account disabled by another process on the same
    /// database stops working here (in this process, at once). At most 2 s in production.
    pub session_cache_max_age: Duration,
    pub throttle: ThrottleSettings,
    pub patients: PatientSettings,
    pub scheduling: scheduling::SchedulingSettings,
    /// The largest document upload, in bytes (`--max-upload-size`).
    pub documents_max_bytes: u64,
    pub pharmacy: pharmacy::PharmacySettings,
    pub billing: billing::BillingSettings,
    pub notifications: notifications::NotificationSettings,
    pub backup: backup::BackupSettings,
    pub privacy: erasure::PrivacySettings,
    /// The data directory whose free space the status page and `/readyz` report.
    pub data_dir: Option<std::path::PathBuf>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(15 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 60 * 60),
            session_cache_max_age: Duration::from_secs(1),
            throttle: ThrottleSettings::default(),
            patients: PatientSettings::default(),
            scheduling: scheduling::SchedulingSettings::default(),
            documents_max_bytes: carevault_core::document::DEFAULT_MAX_UPLOAD_BYTES,
            billing: billing::BillingSettings::default(),
            pharmacy: pharmacy::PharmacySettings::default(),
            notifications: notifications::NotificationSettings::default(),
            backup: backup::BackupSettings::default(),
            privacy: erasure::PrivacySettings::default(),
            data_dir: None,
        }
    }
}

/// Tunables of the patient registry.
#[derive(Debug, Clone)]
pub struct PatientSettings {
    /// The k of the research export's k-anonymity (every row shares its quasi-identifiers
    /// with at least k−1 others).
    pub research_export_k: usize,
    /// Results per page when the caller does not say.
    pub page_size: u64,
    /// How many synthetic patients `serve --demo` creates on a new demo database.
    pub demo_synthetic_patients: u64,
}

impl Default for PatientSettings {
    fn default() -> Self {
        Self {
            research_export_k: 5,
            page_size: 25,
            demo_synthetic_patients: 300,
        }
    }
}

/// Sign-in throttling: failures counted in a sliding window, per account and per client
/// address.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub window: Duration,
    pub max_failures_per_account: u64,
    pub max_failures_per_address: u64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            max_failures_per_account: 10,
            max_failures_per_address: 100,
        }
    }
}

/// The use cases, sharing one store, one clock and one set of settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: ServiceSettings,
    started_at: DateTime<Utc>,
    throttle_salt: std::sync::OnceLock<String>,
    audit: AuditSettings,
    audit_writer: audit_trail::AuditWriter,
    checkpoint_lock: tokio::sync::Mutex<()>,
    verified: tokio::sync::Mutex<Option<carevault_audit::VerifierState>>,
    keys: std::sync::RwLock<Arc<carevault_crypto::keyring::KeyRing>>,
    sessions: session_cache::SessionCache,
}

impl Services {
    /// The use cases over `store`. Starts the audit trail's group-commit writer, so it must
    /// be called inside a Tokio runtime.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
        audit: AuditSettings,
        keys: carevault_crypto::keyring::KeyRing,
    ) -> Self {
        let started_at = clock.now();
        let session_cache_max_age = settings.session_cache_max_age;
        let audit_writer = audit_trail::AuditWriter::start(store.clone(), &audit, clock.clone());
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
                started_at,
                throttle_salt: std::sync::OnceLock::new(),
                audit,
                audit_writer,
                checkpoint_lock: tokio::sync::Mutex::new(()),
                verified: tokio::sync::Mutex::new(None),
                keys: std::sync::RwLock::new(Arc::new(keys)),
                sessions: session_cache::SessionCache::new(session_cache_max_age),
            }),
        }
    }

    /// "Verify now" from the status page: administrators only.
    pub async fn verify_audit_trail_as(
        &self,
        actor: &Actor,
    ) -> Result<audit_verify::VerificationReport, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::AdministerSystem,
            carevault_core::audit::ResourceType::AuditLog,
        )
        .await?;
        self.verify_audit_trail(true).await
    }

    /// Verifies the audit trail: in full the first time (and when `full`), afterwards only
    /// the events and checkpoints added since the last good run. Stores the report for the
    /// status page.
    pub async fn verify_audit_trail(
        &self,
        full: bool,
    ) -> Result<audit_verify::VerificationReport, ServiceError> {
        let mut verified = self.inner.verified.lock().await;
        let start = if full { None } else { verified.clone() };
        let (report, state) = audit_verify::verify_from(
            &self.inner.store,
            &self.inner.audit.verifier(),
            self.inner.audit.origin(),
            Vec::new(),
            start.unwrap_or_default(),
            self.now(),
        )
        .await?;
        *verified = state;
        if report.ok {
            tracing::info!(events = report.size, "audit trail verified");
        } else {
            tracing::error!(
                problem = report.problem.as_deref().unwrap_or_default(),
                "audit trail verification FAILED"
            );
        }
        self.store_verification(&report).await?;
        Ok(report)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The current time as the store keeps it (whole microseconds), so a record built now
    /// shows the same instant as when it is read back.
    pub(crate) fn stored_now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(self.now(), 6)
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.inner.settings
    }

    /// Whether the database answers now (for `/readyz`). Not audited: it reveals nothing.
    pub async fn database_ready(&self) -> bool {
        self.inner.store.ping().await.is_ok()
    }

    /// Closes the database pool (at shutdown).
    pub async fn close(&self) {
        let _ = self.inner.store.conn().clone().close().await;
    }
}
