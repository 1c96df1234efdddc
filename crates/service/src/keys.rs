//! The key ring at run time: binding the key directory to the database at start-up (the
//! database stores key fingerprints, never keys), picking up a KEK that `carevault keys
//! rotate` added while the server runs, re-wrapping data keys, and the status report.
//!
//! Rotation (`carevault keys rotate`) creates KEK v(N+1), records its fingerprint and
//! re-wraps data keys in transactions of `BATCH` rows while servers keep serving; it repeats its
//! pass until three passes in a row find nothing left. A running server re-reads the key ring
//! when the database names a newer KEK (the `key_reload` job, and at once when it meets a data
//! key under an unknown version). Old KEK files stay: backups taken before still need them.
//! Erased patients (an empty wrapped key) are skipped.
//!
//! Settings used: `keys.index_fingerprint` (the blind-index key's fingerprint) and
//! `keys.kek_fingerprints` (JSON object: KEK version → fingerprint; the highest version is
//! the current one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use carevault_core::Action;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_crypto::data_key::{DataKey, DataKeyError, WrappedDataKey, rewrap, unwrap_data_key};
use carevault_crypto::keyring::{KeyRing, KeyRingError, KeySource};
use carevault_store::patients::PatientRow;
use carevault_store::{Store, StoreError, patients, settings};
use secrecy::{ExposeSecret, SecretString};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;

const INDEX_FINGERPRINT: &str = "keys.index_fingerprint";
const KEK_FINGERPRINTS: &str = "keys.kek_fingerprints";

/// Where the keys come from.
#[derive(Clone)]
pub enum KeySourceConfig {
    /// A key directory (created with fresh keys when the database has none yet).
    Directory(PathBuf),
    /// `CAREVAULT_MASTER_KEY`: standard base64 of at least 32 random bytes.
    MasterKey(SecretString),
}

impl std::fmt::Debug for KeySourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySourceConfig::Directory(dir) => write!(f, "Directory({})", dir.display()),
            KeySourceConfig::MasterKey(_) => f.write_str("MasterKey(…)"),
        }
    }
}

/// Why the keys cannot be used with this database. Each message is one line that says what
/// is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyBindingError {
    #[error(
        "the key directory {dir} is missing, but this database holds data sealed with keys \
         (index key fingerprint {fingerprint}); start with --key-dir pointing at the key \
         directory this database was created with"
    )]
    DirectoryMissing { dir: String, fingerprint: String },
    #[error(
        "the key directory {dir} does not match this database ({detail}); start with --key-dir \
         pointing at the key directory this database was created with"
    )]
    Mismatch { dir: String, detail: String },
    #[error("the keys cannot be used: {0}")]
    Keys(#[from] KeyRingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(source: &KeySourceConfig) -> String {
    match source {
        KeySourceConfig::Directory(dir) => dir.display().to_string(),
        KeySourceConfig::MasterKey(_) => "CAREVAULT_MASTER_KEY".to_owned(),
    }
}

async fn recorded_fingerprints(
    conn: &impl carevault_store::Conn,
) -> Result<Option<(String, BTreeMap<u32, String>)>, StoreError> {
    let Some(index) = settings::get(conn, INDEX_FINGERPRINT).await? else {
        return Ok(None);
    };
    let keks = match settings::get(conn, KEK_FINGERPRINTS).await? {
        Some(json) => serde_json::from_str::<BTreeMap<u32, String>>(&json)
            .map_err(|e| StoreError::Corrupt(format!("settings.{KEK_FINGERPRINTS}: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(Some((index, keks)))
}

async fn record_fingerprints(
    conn: &impl carevault_store::Conn,
    ring: &KeyRing,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(&ring.fingerprints())
        .map_err(|e| StoreError::Corrupt(format!("fingerprints: {e}")))?;
    settings::set(conn, KEK_FINGERPRINTS, &json).await?;
    settings::get_or_insert(conn, INDEX_FINGERPRINT, ring.index_fingerprint()).await?;
    Ok(())
}

fn open_source(source: &KeySourceConfig, create: bool) -> Result<KeyRing, KeyRingError> {
    match source {
        KeySourceConfig::Directory(dir) => KeyRing::open(dir, create),
        KeySourceConfig::MasterKey(key) => KeyRing::from_master_key_base64(key.expose_secret()),
    }
}

/// Opens the key ring for `store`'s database. A database without recorded fingerprints is
/// new: keys are created if needed and their fingerprints recorded. Otherwise the keys must
/// be the ones recorded, or nothing is touched and the error says which check failed.
pub async fn bind_key_ring(
    store: &Store,
    source: &KeySourceConfig,
) -> Result<KeyRing, KeyBindingError> {
    let conn = store.conn();
    let Some((index, keks)) = recorded_fingerprints(conn).await? else {
        let ring = open_source(source, true)?;
        record_fingerprints(conn, &ring).await?;
        return Ok(ring);
    };
    if let KeySourceConfig::Directory(dir) = source
        && !dir.is_dir()
    {
        return Err(KeyBindingError::DirectoryMissing {
            dir: dir.display().to_string(),
            fingerprint: index,
        });
    }
    let ring = match open_source(source, false) {
        Ok(ring) => ring,
        Err(KeyRingError::NoKeys { .. }) => {
            return Err(KeyBindingError::Mismatch {
                dir: describe(source),
                detail: "it holds no keys".into(),
            });
        }
        Err(other) => return Err(other.into()),
    };
    ring.verify_fingerprints(&index, &keks)
        .map_err(|err| KeyBindingError::Mismatch {
            dir: describe(source),
            detail: err.to_string(),
        })?;
    if ring.fingerprints().len() > keks.len() {
        // A rotation created a KEK but stopped before recording it.
        record_fingerprints(conn, &ring).await?;
    }
    Ok(ring)
}

/// A KEK version as `keys status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekStatus {
    pub version: u32,
    pub fingerprint: String,
    /// Data keys wrapped under this version.
    pub data_keys: u64,
    /// `current`, `in use` (older, still wrapping data keys) or `retired` (older, wraps none).
    pub state: &'static str,
}

/// The key ring's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub source: String,
    pub index_fingerprint: String,
    pub keks: Vec<KekStatus>,
}

/// What a rotation or re-wrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrapReport {
    pub version: u32,
    pub rewrapped: u64,
    /// Data keys still under an older version (a server that has not yet picked up the new
    /// KEK kept wrapping with the old one); run `carevault keys rewrap` again.
    pub remaining: u64,
}

impl Services {
    pub(crate) fn key_ring(&self) -> Arc<KeyRing> {
        match self.inner.keys.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the key directory when the database records a newer KEK than the ring in
    /// memory (a rotation by `carevault keys rotate` while this server runs).
    pub async fn reload_keys_if_rotated(&self) -> Result<bool, ServiceError> {
        let ring = self.key_ring();
        let Some((index, keks)) = recorded_fingerprints(self.store().conn()).await? else {
            return Ok(false);
        };
        let newest = keks.keys().next_back().copied().unwrap_or(0);
        if newest <= ring.current_version() {
            return Ok(false);
        }
        let KeySource::Directory(dir) = ring.source().clone() else {
            return Ok(false);
        };
        let fresh = tokio::task::spawn_blocking(move || KeyRing::open(&dir, false))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        fresh
            .verify_fingerprints(&index, &keks)
            .map_err(ServiceError::internal)?;
        tracing::info!(version = fresh.current_version(), "picked up a rotated key");
        self.replace_key_ring(fresh);
        Ok(true)
    }

    fn replace_key_ring(&self, ring: KeyRing) {
        let mut slot = match self.inner.keys.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(ring);
    }

    /// Unwraps the data key of `patient`'s record, reloading the key ring once if the key
    /// names a KEK version this process has not seen yet.
    pub(crate) async fn patient_key(&self, patient: &PatientRow) -> Result<DataKey, ServiceError> {
        let patient_id = &patient.id.to_string();
        let wrapped = &patient.wrapped_data_key;
        if wrapped.is_empty() {
            // Crypto-shredded by erasure: the patient is gone, not damaged.
            return Err(ServiceError::NotFound("patient"));
        }
        let wrapped =
            WrappedDataKey::from_bytes(wrapped.to_vec()).map_err(|_| ServiceError::Integrity)?;
        match unwrap_data_key(&self.key_ring(), &wrapped, patient_id) {
            Ok(key) => Ok(key),
            Err(DataKeyError::UnknownKekVersion(_)) => {
                self.reload_keys_if_rotated().await?;
                unwrap_data_key(&self.key_ring(), &wrapped, patient_id)
                    .map_err(|_| ServiceError::Integrity)
            }
            Err(_) => Err(ServiceError::Integrity),
        }
    }

    /// Versions, fingerprints and how many data keys each KEK wraps. Administrators and the
    /// console operator.
    pub async fn key_status(&self, actor: &Actor) -> Result<KeyStatus, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Keys)
            .await?;
        self.reload_keys_if_rotated().await?;
        let ring = self.key_ring();
        let counts: BTreeMap<u32, u64> = patients::count_by_kek_version(self.store().conn())
            .await?
            .into_iter()
            .collect();
        let current = ring.current_version();
        let keks = ring
            .fingerprints()
            .into_iter()
            .map(|(version, fingerprint)| {
                let data_keys = counts.get(&version).copied().unwrap_or(0);
                KekStatus {
                    version,
                    fingerprint,
                    data_keys,
                    state: if version == current {
                        "current"
                    } else if data_keys > 0 {
                        "in use"
                    } else {
                        "retired"
                    },
                }
            })
            .collect();
        Ok(KeyStatus {
            source: match ring.source() {
                KeySource::Directory(dir) => dir.display().to_string(),
                KeySource::MasterKey => "CAREVAULT_MASTER_KEY".into(),
            },
            index_fingerprint: ring.index_fingerprint().to_owned(),
            keks,
        })
    }

    /// Creates a new KEK version in the key directory, records its fingerprint, and
    /// re-wraps every data key under it while the system keeps serving. Console operator
    /// and administrators.
    pub async fn rotate_keys(&self, actor: &Actor) -> Result<RewrapReport, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Keys)
            .await?;
        let ring = self.key_ring();
        let KeySource::Directory(dir) = ring.source().clone() else {
            return Err(ServiceError::Conflict {
                field: None,
                message: "keys derived from CAREVAULT_MASTER_KEY cannot be rotated; move to a \
                          key directory first"
                    .into(),
            });
        };
        let version = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || KeyRing::rotate(&dir))
                .await
                .map_err(ServiceError::internal)?
                .map_err(ServiceError::internal)?
        };
        let fresh = open_dir(&dir).await?;
        self.transaction(async |txn| {
            record_fingerprints(txn, &fresh).await?;
            let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Keys);
            event.resource_id = Some(format!("kek-v{version}"));
            event.reason = Some("key-encryption key rotated".into());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.replace_key_ring(fresh);
        tracing::info!(version, "created a new key-encryption key");
        self.rewrap_data_keys(actor).await
    }

    /// Re-wraps every data key still under an older KEK version with the current one. Runs
    /// in small transactions, so the server keeps serving; repeats until none is left, and
    /// waits briefly for servers that have not picked up the new KEK yet.
    pub async fn rewrap_data_keys(&self, actor: &Actor) -> Result<RewrapReport, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Keys)
            .await?;
        self.reload_keys_if_rotated().await?;
        let ring = self.key_ring();
        let version = ring.current_version();
        let mut rewrapped = 0u64;
        let mut quiet_passes = 0;
        while quiet_passes < 3 {
            let batch = patients::wrapped_keys_below(self.store().conn(), version, BATCH).await?;
            if batch.is_empty() {
                quiet_passes += 1;
                // Servers re-read the key ring every few seconds; anything they wrapped
                // with the old KEK meanwhile is picked up by the next pass.
                tokio::time::sleep(SETTLE).await;
                continue;
            }
            quiet_passes = 0;
            rewrapped += self
                .transaction(async |txn| {
                    let mut rewrapped = 0;
                    for (id, bytes, from_version) in batch.iter().cloned() {
                        let wrapped = WrappedDataKey::from_bytes(bytes)
                            .map_err(|_| ServiceError::Integrity)?;
                        let fresh = rewrap(&ring, &wrapped, &id.to_string())
                            .map_err(|_| ServiceError::Integrity)?;
                        if patients::replace_wrapped_key(
                            txn,
                            id,
                            from_version,
                            fresh.into_bytes(),
                            version,
                        )
                        .await?
                        {
                            rewrapped += 1;
                        }
                    }
                    Ok(rewrapped)
                })
                .await?;
        }
        let remaining: u64 = patients::count_by_kek_version(self.store().conn())
            .await?
            .into_iter()
            .filter(|(v, _)| *v < version)
            .map(|(_, n)| n)
            .sum();
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Keys);
        event.resource_id = Some(format!("kek-v{version}"));
        event.reason = Some(format!(
            "{rewrapped} data keys re-wrapped, {remaining} left"
        ));
        self.record(event).await?;
        Ok(RewrapReport {
            version,
            rewrapped,
            remaining,
        })
    }
}

const BATCH: u64 = 200;
const SETTLE: Duration = Duration::from_millis(1500);

async fn open_dir(dir: &Path) -> Result<KeyRing, ServiceError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || KeyRing::open(&dir, false))
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)
}
