//! Erasure (GDPR Art. 17), legal holds, clinical-record retention, and the erasure ledger.
//!
//! # Erasure
//! An administrator erases a patient after confirming with the patient's MRN. It is refused,
//! with the reason, while a legal hold is in force (the hold's reason and until-date are in
//! the message) or while the clinical records must still be kept (the last encounter is
//! less than [`PrivacySettings::clinical_retention_years`] ago: retention is a legal
//! obligation too; the retention job erases once it has passed). A patient without any
//! encounter has no clinical record to keep. Otherwise, in **one transaction**:
//! `carevault_store::privacy::shred_patient` empties the wrapped data key (every sealed
//! value of the patient, in every table, becomes unreadable: crypto-shredding), the sealed
//! columns and the blind indexes, clears the quasi-identifiers kept in clear, ends care
//! team, shares and open appointments, deletes the notifications about the patient, and
//! disables and anonymises the portal account; the `erasures` tombstone row is written; and
//! an `erase` audit event is appended. What stays: the row's id, pseudonym number and
//! status `erased` (so the audit trail's references keep meaning something and still
//! verify), and the other tables' sealed rows, which nobody can open any more. Use cases
//! treat an erased patient as unknown (404).
//!
//! # The erasure ledger
//! A backup taken before an erasure still holds the patient. The ledger, a file in the key
//! directory (not in the database, so a restore does not roll it back), lists every
//! erasure; [`replay_ledger`] re-applies it after a restore. Format: one JSON object per
//! line (`\n`-terminated), append-only, mode 0600, fsynced after each append:
//!
//! ```text
//! {"v":1,"seq":1,"patient_id":"<uuid>","erased_at":<micros>,"erased_by":"<user uuid>"|null,"actor":"user|system|operator","prev":"<hex SHA-256 of the previous line, without its \n; 64 zeros for the first>"}
//! ```
//!
//! No personal data: ids and times only. The `prev` chain makes an edited, removed or
//! reordered line detectable; a last line without its `\n` is a torn write. Replay applies
//! the entries before the first damaged line and then fails naming the line.
//!
//! **Order: commit, then append.** The database's tombstone is the source of truth: an
//! erasure is committed first, then written to the ledger, and the tombstone notes the
//! ledger sequence. If the append fails, the erasure stands, the caller is told that the
//! ledger must be repaired ([`ErasureOutcome::ledger_problem`]), and every later erasure and
//! every retention run first appends the tombstones still missing from the ledger
//! ([`Services::sync_erasure_ledger`]). Appending first would be worse: a commit that then
//! fails (a hold set meanwhile, a lost connection) would leave a ledger entry that a replay
//! would turn into an erasure nobody was allowed to make. The remaining window — the
//! database lost before the ledger caught up — needs the database itself to be lost right
//! after an erasure whose ledger write failed, and is reported to the administrator.
//!
//! # Legal holds
//! Administrators set a hold (a reason of 3–200 characters, kept in **clear**: it must
//! outlive the data key that erasure destroys and there is no system-wide sealing key, so
//! the form asks for a case reference, not names or clinical details) with an optional last
//! day (in the clinic's time zone; absent = until released), and release it. Both audited
//! (`legal_hold`).
//!
//! # Retention
//! [`Services::retention_report`] lists the patients whose last encounter (or registration,
//! when they have none) is older than the retention period and who have no hold in force;
//! the retention job logs that report and, with [`PrivacySettings::retention_erase`], erases
//! them as the system actor.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, AuditEvent, ResourceType};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{Action, LegalHoldId, PatientId, ValidationErrors};
use carevault_store::patients::PatientRow;
use carevault_store::privacy::{self as store, ErasureRecord, LegalHoldRecord};
use carevault_store::{Store, StoreError, TransactionTrait};
use chrono::{DateTime, Months, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, ActorKind};
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;
use crate::{Services, audit_trail};

mod erase;
mod holds;
mod ledger;
mod retention;

pub use erase::*;
pub use holds::*;
pub use ledger::*;
pub use retention::*;

/// Erasure, retention and the ledger's location.
#[derive(Debug, Clone)]
pub struct PrivacySettings {
    /// The erasure ledger file (`<key-dir>/erasure-ledger.log`, or
    /// `<data-dir>/erasure-ledger.log` with `CAREVAULT_MASTER_KEY`); `None`: no ledger.
    pub ledger_path: Option<PathBuf>,
    /// Clinical records are kept this many years after the last encounter.
    pub clinical_retention_years: u32,
    /// Whether the retention job erases the patients past retention (otherwise it reports).
    pub retention_erase: bool,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            ledger_path: None,
            clinical_retention_years: 10,
            retention_erase: false,
        }
    }
}

impl Services {
    fn privacy(&self) -> &PrivacySettings {
        &self.settings().privacy
    }

    /// The local day a hold ending at `until` (exclusive, whole microseconds) covers last.
    fn local_day_of_end(&self, until: DateTime<Utc>) -> String {
        (until - chrono::Duration::microseconds(1))
            .with_timezone(&self.clinic_time_zone())
            .format("%Y-%m-%d")
            .to_string()
    }

    /// The patient row for privacy use cases (erased ones included); 404 if unknown.
    async fn privacy_row(&self, id: PatientId) -> Result<PatientRow, ServiceError> {
        store::find_patient(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("patient"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn entry_line(seq: u64, prev: &str) -> String {
        serde_json::to_string(&LedgerEntry {
            v: 1,
            seq,
            patient_id: Uuid::now_v7().to_string(),
            erased_at: 1,
            erased_by: None,
            actor: "system".into(),
            prev: prev.into(),
        })
        .unwrap()
    }

    #[test]
    fn a_chained_ledger_verifies_and_damage_is_named() {
        let first = entry_line(1, GENESIS);
        let second = entry_line(2, &line_hash(&first));
        let text = format!("{first}\n{second}\n");
        let good = parse_ledger(&text);
        assert_eq!(good.entries.len(), 2);
        assert!(good.damage.is_none());

        // An edited first line breaks the chain at line 2.
        let edited = text.replacen("\"erased_at\":1", "\"erased_at\":2", 1);
        let bad = parse_ledger(&edited);
        assert_eq!(bad.entries.len(), 1);
        assert_eq!(bad.damage.unwrap().line, 2);

        // A removed line: the sequence gives it away.
        let removed = parse_ledger(&format!("{second}\n"));
        assert_eq!(removed.damage.unwrap().line, 1);

        // A torn last write.
        let torn = parse_ledger(&format!("{first}\n{}", &second[..10]));
        assert_eq!(torn.entries.len(), 1);
        assert!(torn.damage.unwrap().problem.contains("incomplete"));

        assert!(parse_ledger("").entries.is_empty());
    }

    #[test]
    fn appends_chain_and_are_private() {
        let dir = tempfile_dir();
        let path = dir.join(LEDGER_FILE_NAME);
        let row = |id: &str| ErasureRecord {
            patient_id: id.parse().unwrap(),
            erased_at: from_micros(5),
            erased_by: None,
            actor_kind: "user".into(),
            reason_category: CATEGORY_REQUEST.into(),
            ledger_sequence: None,
        };
        let a = Uuid::now_v7().to_string();
        let b = Uuid::now_v7().to_string();
        assert_eq!(append_blocking(&path, &row(&a)).unwrap(), 1);
        assert_eq!(append_blocking(&path, &row(&b)).unwrap(), 2);
        // Appending the same erasure again is a no-op.
        assert_eq!(append_blocking(&path, &row(&a)).unwrap(), 1);
        let contents = read_ledger(&path).unwrap();
        assert_eq!(contents.entries.len(), 2);
        assert!(contents.damage.is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A ledger others may read or write is refused.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = append_blocking(&path, &row(&Uuid::now_v7().to_string())).unwrap_err();
            assert!(refused.contains("0600"), "{refused}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // A damaged ledger is not appended to.
        std::fs::write(&path, b"garbage\n").unwrap();
        assert!(append_blocking(&path, &row(&Uuid::now_v7().to_string())).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cv-ledger-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
