//! The erasure ledger: its file format, appending to it, and replaying it after a restore.

use super::*;

/// File name of the erasure ledger inside the key directory.
pub const LEDGER_FILE_NAME: &str = "erasure-ledger.log";

/// Where the erasure ledger of a key directory lives.
pub fn ledger_path(key_dir: &Path) -> PathBuf {
    key_dir.join(LEDGER_FILE_NAME)
}

/// The ledger line format version.
const LEDGER_VERSION: u8 = 1;
/// `prev` of the first line.
pub(super) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The reason category of an erasure an administrator asked for.
pub const CATEGORY_REQUEST: &str = "data_subject_request";
/// The reason category of an erasure by the retention job.
pub const CATEGORY_RETENTION: &str = "retention_expired";
/// The reason category of an erasure re-applied from the ledger.
pub const CATEGORY_REPLAY: &str = "ledger_replay";

/// What replaying the ledger did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Entries in the ledger.
    pub entries: usize,
    /// Patients that were not yet erased in the database and now are.
    pub erased_now: usize,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    pub v: u8,
    pub seq: u64,
    pub patient_id: String,
    pub erased_at: i64,
    pub erased_by: Option<String>,
    pub actor: String,
    pub prev: String,
}

/// The ledger is not what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the erasure ledger is damaged at line {line}: {problem}")]
pub struct LedgerDamage {
    pub line: usize,
    pub problem: String,
}

/// A ledger read back: the good entries, the hash of the last good line, and the first
/// damage, if any.
#[derive(Debug, Clone, Default)]
pub struct LedgerContents {
    pub entries: Vec<LedgerEntry>,
    last_hash: String,
    pub damage: Option<LedgerDamage>,
}

pub(super) fn line_hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// Parses and chain-verifies ledger text.
pub fn parse_ledger(text: &str) -> LedgerContents {
    let mut contents = LedgerContents {
        last_hash: GENESIS.to_owned(),
        ..LedgerContents::default()
    };
    let mut rest = text;
    let mut number = 0usize;
    while !rest.is_empty() {
        number += 1;
        let Some((line, tail)) = rest.split_once('\n') else {
            contents.damage = Some(LedgerDamage {
                line: number,
                problem: "the last line is incomplete (a torn write)".into(),
            });
            break;
        };
        rest = tail;
        let entry: LedgerEntry = match serde_json::from_str(line) {
            Ok(entry) => entry,
            Err(_) => {
                contents.damage = Some(LedgerDamage {
                    line: number,
                    problem: "not a ledger entry".into(),
                });
                break;
            }
        };
        let problem = if entry.v != LEDGER_VERSION {
            Some(format!("unknown version {}", entry.v))
        } else if entry.seq != u64::try_from(number).unwrap_or(0) {
            Some(format!(
                "sequence {} where {number} was expected",
                entry.seq
            ))
        } else if entry.prev != contents.last_hash {
            Some("does not chain to the line before (edited, removed or reordered lines)".into())
        } else if entry.patient_id.parse::<PatientId>().is_err() {
            Some("not a patient id".into())
        } else {
            None
        };
        if let Some(problem) = problem {
            contents.damage = Some(LedgerDamage {
                line: number,
                problem,
            });
            break;
        }
        contents.last_hash = line_hash(line);
        contents.entries.push(entry);
    }
    contents
}

/// Reads and verifies the ledger at `path`; a missing file is an empty ledger.
pub fn read_ledger(path: &Path) -> Result<LedgerContents, ServiceError> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(parse_ledger(&text)),
            Err(_) => Ok(LedgerContents {
                last_hash: GENESIS.to_owned(),
                damage: Some(LedgerDamage {
                    line: 1,
                    problem: "not UTF-8 text".into(),
                }),
                ..LedgerContents::default()
            }),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(LedgerContents {
            last_hash: GENESIS.to_owned(),
            ..LedgerContents::default()
        }),
        Err(err) => Err(ServiceError::internal(err)),
    }
}

/// Serialises appends within this process (erasures are rare; one writer at a time).
static LEDGER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Appends one erasure to the ledger (verifying it first) and returns its sequence number.
pub(super) fn append_blocking(path: &Path, row: &ErasureRecord) -> Result<u64, String> {
    let existed = path.exists();
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|err| format!("the ledger file cannot be opened ({})", err.kind()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|err| format!("the ledger file cannot be inspected ({})", err.kind()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the ledger file is readable or writable by others (mode {:o}); make it 0600",
                mode & 0o777
            ));
        }
    }
    // Another server process may append at the same moment: an exclusive advisory lock on
    // the file, held until it is closed, makes read-check-append one step across processes.
    file.lock()
        .map_err(|err| format!("the ledger file cannot be locked ({})", err.kind()))?;
    let contents = read_ledger(path).map_err(|_| "the ledger file cannot be read".to_owned())?;
    if let Some(damage) = contents.damage {
        return Err(format!("{damage}; nothing was appended"));
    }
    let patient_id = row.patient_id.to_string();
    if let Some(entry) = contents
        .entries
        .iter()
        .find(|entry| entry.patient_id == patient_id)
    {
        return Ok(entry.seq);
    }
    let entry = LedgerEntry {
        v: LEDGER_VERSION,
        seq: u64::try_from(contents.entries.len()).unwrap_or(u64::MAX) + 1,
        patient_id,
        erased_at: to_micros(row.erased_at),
        erased_by: row.erased_by.map(|id| id.to_string()),
        actor: row.actor_kind.clone(),
        prev: contents.last_hash,
    };
    let mut line = serde_json::to_string(&entry).map_err(|err| err.to_string())?;
    line.push('\n');
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| format!("the ledger file cannot be written ({})", err.kind()))?;
    if !existed && let Some(dir) = path.parent() {
        // Make the new directory entry durable too.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(entry.seq)
}
impl Services {
    /// Appends one erasure to the ledger and notes the sequence on its tombstone. `Ok(None)`
    /// when no ledger is configured; `Err` with a sentence for the administrator.
    pub(super) async fn append_to_ledger(
        &self,
        erasure: &ErasureRecord,
    ) -> Result<Option<u64>, String> {
        let Some(path) = self.privacy().ledger_path.clone() else {
            return Ok(None);
        };
        let _guard = LEDGER_LOCK.lock().await;
        let row = erasure.clone();
        let appended = tokio::task::spawn_blocking(move || append_blocking(&path, &row))
            .await
            .map_err(|_| "the ledger write did not finish".to_owned())
            .and_then(|result| result);
        match appended {
            Ok(seq) => {
                if let Err(err) =
                    store::set_ledger_sequence(self.store().conn(), erasure.patient_id, seq).await
                {
                    tracing::warn!(error = %err, "could not note the ledger sequence on a tombstone");
                }
                Ok(Some(seq))
            }
            Err(problem) => {
                tracing::error!(
                    patient_id = %erasure.patient_id,
                    problem = %problem,
                    "the erasure is committed but the erasure ledger could not be written: repair the ledger"
                );
                Err(format!(
                    "The erasure is done, but the erasure ledger could not be written ({problem}). \
                     Repair the ledger file: until then, restoring an older backup would bring this patient back."
                ))
            }
        }
    }

    /// Appends to the ledger the erasures it does not record yet (after a failed write).
    /// Returns how many are still missing. Not audited: it moves ids between two records
    /// of the same erasures.
    pub async fn sync_erasure_ledger(&self) -> Result<usize, ServiceError> {
        if self.privacy().ledger_path.is_none() {
            return Ok(0);
        }
        let pending = store::erasures_without_ledger(self.store().conn()).await?;
        let mut missing = 0;
        for erasure in pending {
            if self.append_to_ledger(&erasure).await.is_err() {
                missing += 1;
            }
        }
        Ok(missing)
    }
}

/// Re-applies every erasure in the ledger at `ledger` to the database (after a restore): a
/// patient erased after the backup was taken stays erased. A missing ledger file means no
/// erasures. Each patient that is present and not erased is shredded again and gets its
/// tombstone, in one transaction per entry, with an `erase` audit event by the operator
/// (no legal-hold or retention check: the erasure already happened, lawfully). Idempotent.
/// A damaged ledger is applied up to the damage, then reported as an error naming the line.
pub async fn replay_ledger(store: &Store, ledger: &Path) -> Result<ReplayReport, ServiceError> {
    let path = ledger.to_owned();
    let contents = tokio::task::spawn_blocking(move || read_ledger(&path))
        .await
        .map_err(ServiceError::internal)??;
    let mut report = ReplayReport {
        entries: contents.entries.len(),
        erased_now: 0,
    };
    for entry in &contents.entries {
        // `read_ledger` refuses a line whose patient id is not valid.
        let Ok(patient_id) = entry.patient_id.parse() else {
            continue;
        };
        let Some(row) = store::find_patient(store.conn(), patient_id).await? else {
            // Registered after the backup was taken, or never in this database.
            continue;
        };
        let already = row.is_erased();
        let has_tombstone = store::find_erasure(store.conn(), &row.id.to_string())
            .await?
            .is_some();
        let now = Utc::now();
        let txn = store.conn().begin().await.map_err(StoreError::from)?;
        let shredded = store::shred_patient(&txn, row.id, to_micros(now))
            .await?
            .unwrap_or_default();
        if !has_tombstone {
            // The ledger's own text: its times are micros, its ids UUID text.
            let erased_by = match entry.erased_by.as_deref() {
                Some(id) => Some(id.parse().map_err(|_| ServiceError::Integrity)?),
                None => None,
            };
            store::insert_erasure(
                &txn,
                &ErasureRecord {
                    patient_id: row.id,
                    erased_at: from_micros(entry.erased_at),
                    erased_by,
                    actor_kind: entry.actor.clone(),
                    reason_category: CATEGORY_REPLAY.to_owned(),
                    ledger_sequence: Some(entry.seq),
                },
            )
            .await?;
        }
        if !already || !has_tombstone || shredded.index_rows > 0 {
            let event = AuditEvent {
                time: now,
                actor_kind: carevault_core::audit::ActorKind::Operator,
                actor_id: None,
                actor_role: None,
                action: AuditAction::Erase,
                resource_type: ResourceType::Patient,
                resource_id: None,
                patient_pseudonym: None,
                outcome: carevault_core::audit::Outcome::Allowed,
                reason: None,
                request_id: None,
            };
            let event = erase_event(event, &row, CATEGORY_REPLAY, Some(entry.seq));
            audit_trail::append_events(&txn, now, std::slice::from_ref(&event)).await?;
        }
        txn.commit().await.map_err(StoreError::from)?;
        if !already {
            report.erased_now += 1;
            tracing::warn!(patient_id = %row.id, seq = entry.seq, "erasure re-applied from the ledger");
        }
    }
    if let Some(damage) = contents.damage {
        tracing::error!(line = damage.line, "the erasure ledger is damaged");
        return Err(ServiceError::Conflict {
            field: None,
            message: format!(
                "{damage}; the {} entries before it were applied",
                report.entries
            ),
        });
    }
    Ok(report)
}
