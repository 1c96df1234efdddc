//! Erasure (GDPR Art. 17) and its ledger.
//!
//! STUB written by the integrator so that other work can compile against it; the erasure
//! helper owns this file and replaces this comment with the module's real documentation.

use std::path::{Path, PathBuf};

use carevault_store::Store;

use crate::error::ServiceError;

/// File name of the erasure ledger inside the key directory.
pub const LEDGER_FILE_NAME: &str = "erasure-ledger.log";

/// Where the erasure ledger of a key directory lives.
pub fn ledger_path(key_dir: &Path) -> PathBuf {
    key_dir.join(LEDGER_FILE_NAME)
}

/// What replaying the ledger did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Entries in the ledger.
    pub entries: usize,
    /// Patients that were not yet erased in the database and now are.
    pub erased_now: usize,
}

/// Re-applies every erasure in the ledger at `ledger` to the database (after a restore): a
/// patient erased after the backup was taken stays erased. A missing ledger file means no
/// erasures.
pub async fn replay_ledger(store: &Store, ledger: &Path) -> Result<ReplayReport, ServiceError> {
    let _ = (store, ledger);
    Ok(ReplayReport::default())
}
