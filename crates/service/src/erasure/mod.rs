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
use carevault_core::{Action, PatientId, ValidationErrors};
use carevault_store::patients::{ERASED_STATUS, PatientRow};
use carevault_store::privacy::{self as store, ErasureRow, LegalHoldRow};
use carevault_store::{Store, StoreError, TransactionTrait};
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::actor::{Actor, ActorKind};
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;
use crate::{Services, audit_trail};

/// File name of the erasure ledger inside the key directory.
pub const LEDGER_FILE_NAME: &str = "erasure-ledger.log";

/// Where the erasure ledger of a key directory lives.
pub fn ledger_path(key_dir: &Path) -> PathBuf {
    key_dir.join(LEDGER_FILE_NAME)
}

/// The ledger line format version.
const LEDGER_VERSION: u8 = 1;
/// `prev` of the first line.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The reason category of an erasure an administrator asked for.
pub const CATEGORY_REQUEST: &str = "data_subject_request";
/// The reason category of an erasure by the retention job.
pub const CATEGORY_RETENTION: &str = "retention_expired";
/// The reason category of an erasure re-applied from the ledger.
pub const CATEGORY_REPLAY: &str = "ledger_replay";
const MIN_HOLD_REASON: usize = 3;
const MAX_HOLD_REASON: usize = 200;

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

fn line_hash(line: &str) -> String {
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
fn append_blocking(path: &Path, row: &ErasureRow) -> Result<u64, String> {
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
    if let Some(entry) = contents
        .entries
        .iter()
        .find(|entry| entry.patient_id == row.patient_id)
    {
        return Ok(entry.seq);
    }
    let entry = LedgerEntry {
        v: LEDGER_VERSION,
        seq: u64::try_from(contents.entries.len()).unwrap_or(u64::MAX) + 1,
        patient_id: row.patient_id.clone(),
        erased_at: row.erased_at,
        erased_by: row.erased_by.clone(),
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

/// A legal hold as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: String,
    pub patient_id: PatientId,
    pub reason: String,
    pub set_by: Option<String>,
    pub set_at: DateTime<Utc>,
    /// The hold ends at this instant (the end of its last day); `None`: until released.
    pub until: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    /// In force now.
    pub active: bool,
}

/// A new hold, before validation.
#[derive(Debug, Clone, Default)]
pub struct LegalHoldInput {
    /// A case or matter reference (3–200 characters, stored in clear).
    pub reason: String,
    /// `YYYY-MM-DD`, the hold's last day in the clinic's time zone; blank: until released.
    pub until: Option<String>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub patient_id: PatientId,
    pub pseudonym: String,
    pub erased_at: DateTime<Utc>,
    /// The ledger entry, once written.
    pub ledger_sequence: Option<u64>,
    /// Why the ledger could not be written: the erasure stands, but the ledger must be
    /// repaired (a restore would otherwise bring the patient back).
    pub ledger_problem: Option<String>,
}

/// The tombstone of an erased patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub patient_id: PatientId,
    pub pseudonym: String,
    pub erased_at: DateTime<Utc>,
    pub erased_by: Option<String>,
    pub reason_category: String,
    pub ledger_sequence: Option<u64>,
}

/// What the erase page shows before confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasurePreview {
    pub patient_id: PatientId,
    pub pseudonym: String,
    /// Why erasure would be refused now, if it would.
    pub refusal: Option<String>,
    pub holds: Vec<LegalHold>,
    pub last_encounter: Option<DateTime<Utc>>,
    /// Clinical records are kept until then (`None`: no encounter).
    pub retained_until: Option<DateTime<Utc>>,
    /// Whether the ledger is configured.
    pub ledger_configured: bool,
}

/// One patient past retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionItem {
    pub patient_id: PatientId,
    pub pseudonym: String,
    /// The last encounter, or the registration when there is none.
    pub last_activity: DateTime<Utc>,
    /// `true` when `last_activity` is an encounter.
    pub from_encounter: bool,
}

/// The retention report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub years: u32,
    /// Activity before this instant is past retention.
    pub cutoff: DateTime<Utc>,
    pub items: Vec<RetentionItem>,
    /// Patients past retention but under a legal hold (left out of `items`).
    pub held: usize,
    /// Whether the retention job erases (`retention_erase`).
    pub job_erases: bool,
    /// Erasures not yet in the ledger.
    pub ledger_pending: usize,
}

/// What a retention job run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRun {
    pub due: usize,
    pub erased: usize,
    pub refused: usize,
}

fn years_after(at: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn years_before(at: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    at.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn present_hold(row: LegalHoldRow, now: i64) -> Result<LegalHold, ServiceError> {
    let active = row.released_at.is_none() && row.until.is_none_or(|until| until > now);
    Ok(LegalHold {
        patient_id: row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?,
        id: row.id,
        reason: row.reason,
        set_by: row.set_by,
        set_at: from_micros(row.set_at),
        until: row.until.map(from_micros),
        released_at: row.released_at.map(from_micros),
        released_by: row.released_by,
        active,
    })
}

fn tombstone_of(row: &PatientRow, erasure: ErasureRow) -> Result<Tombstone, ServiceError> {
    Ok(Tombstone {
        patient_id: erasure
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?,
        pseudonym: pseudonym_of(row.pseudonym_number),
        erased_at: from_micros(erasure.erased_at),
        erased_by: erasure.erased_by,
        reason_category: erasure.reason_category,
        ledger_sequence: erasure
            .ledger_sequence
            .and_then(|seq| u64::try_from(seq).ok()),
    })
}

fn actor_kind_text(actor: &Actor) -> &'static str {
    match actor.kind() {
        ActorKind::User => "user",
        ActorKind::Operator => "operator",
        ActorKind::System => "system",
    }
}

fn erase_event(
    event: AuditEvent,
    row: &PatientRow,
    category: &str,
    ledger_seq: Option<u64>,
) -> AuditEvent {
    event
        .resource_id(&row.id)
        .patient(pseudonym_of(row.pseudonym_number))
        .reason(match ledger_seq {
            Some(seq) => format!("erased ({category}, ledger entry {seq})"),
            None => format!("erased ({category})"),
        })
}

impl Services {
    fn privacy(&self) -> &PrivacySettings {
        &self.settings().privacy
    }

    /// Why `row` may not be erased at `now`, if it may not: a hold in force (its reason and
    /// last day) or clinical records still within retention.
    async fn erasure_refusal(
        &self,
        conn: &impl carevault_store::Conn,
        row: &PatientRow,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, ServiceError> {
        let holds = store::active_holds(conn, &row.id, to_micros(now)).await?;
        if let Some(hold) = holds.first() {
            let until = match hold.until {
                Some(until) => format!("until {}", self.local_day_of_end(until)),
                None => "until it is released".to_owned(),
            };
            let more = match holds.len() {
                1 => String::new(),
                n => format!(
                    " (and {} more hold{})",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ),
            };
            return Ok(Some(format!(
                "a legal hold applies: “{}”, {until}{more}",
                hold.reason
            )));
        }
        if let Some(last) = store::last_encounter_at(conn, &row.id).await? {
            let kept_until =
                years_after(from_micros(last), self.privacy().clinical_retention_years);
            if kept_until > now {
                return Ok(Some(format!(
                    "clinical records must be kept until {} ({} years after the last encounter)",
                    kept_until
                        .with_timezone(&self.clinic_time_zone())
                        .format("%Y-%m-%d"),
                    self.privacy().clinical_retention_years
                )));
            }
        }
        Ok(None)
    }

    /// The local day a hold ending at `until` (micros, exclusive) covers last.
    fn local_day_of_end(&self, until: i64) -> String {
        (from_micros(until) - chrono::Duration::microseconds(1))
            .with_timezone(&self.clinic_time_zone())
            .format("%Y-%m-%d")
            .to_string()
    }

    /// The patient row for privacy use cases (erased ones included); 404 if unknown.
    async fn privacy_row(&self, id: PatientId) -> Result<PatientRow, ServiceError> {
        store::find_patient(self.store().conn(), &id.to_string())
            .await?
            .ok_or(ServiceError::NotFound("patient"))
    }

    /// What erasing the patient would do, and whether it would be refused now.
    /// Administrators.
    pub async fn erasure_preview(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<ErasurePreview, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.status == ERASED_STATUS {
            return Err(ServiceError::NotFound("patient"));
        }
        let now = self.now();
        let conn = self.store().conn();
        let refusal = self.erasure_refusal(conn, &row, now).await?;
        let holds = store::holds_of(conn, id)
            .await?
            .into_iter()
            .map(|hold| present_hold(hold, to_micros(now)))
            .collect::<Result<Vec<_>, _>>()?;
        let last = store::last_encounter_at(conn, &row.id)
            .await?
            .map(from_micros);
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::LegalHold)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("erasure preview".into());
        self.record(event).await?;
        Ok(ErasurePreview {
            patient_id: id,
            pseudonym: pseudonym_of(row.pseudonym_number),
            refusal,
            holds,
            last_encounter: last,
            retained_until: last
                .map(|last| years_after(last, self.privacy().clinical_retention_years)),
            ledger_configured: self.privacy().ledger_path.is_some(),
        })
    }

    /// Erases a patient (GDPR Art. 17) after the administrator typed the patient's MRN as
    /// confirmation. Refused (409, with the reason) under a legal hold or within clinical
    /// retention. See the module comment for what it does.
    pub async fn erase_patient(
        &self,
        actor: &Actor,
        id: PatientId,
        confirm_mrn: &str,
    ) -> Result<ErasureOutcome, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.status == ERASED_STATUS {
            return Err(ServiceError::Conflict {
                field: None,
                message: "this patient has been erased already".into(),
            });
        }
        let typed: String = confirm_mrn.chars().filter(char::is_ascii_digit).collect();
        if typed.is_empty() {
            return Err(ValidationErrors::single(
                "confirm_mrn",
                "type the patient's MRN to confirm the erasure",
            )
            .into());
        }
        let dek = self
            .unwrap_patient_key(&row.id, &row.wrapped_data_key)
            .await?;
        let place = Place {
            table: "patients",
            row_id: &row.id,
            patient_id: &row.id,
        };
        let mrn = place
            .open(&dek, "mrn", Some(&row.mrn))?
            .ok_or(ServiceError::Integrity)?;
        let mrn_digits: String = mrn.chars().filter(char::is_ascii_digit).collect();
        if typed != mrn_digits {
            return Err(ValidationErrors::single(
                "confirm_mrn",
                "does not match this patient's MRN: nothing was erased",
            )
            .into());
        }
        drop(dek);
        self.erase_row(actor, row, CATEGORY_REQUEST).await
    }

    /// The erasure itself, for an authorised actor: refusal checks, the one transaction,
    /// then the ledger.
    async fn erase_row(
        &self,
        actor: &Actor,
        row: PatientRow,
        category: &str,
    ) -> Result<ErasureOutcome, ServiceError> {
        // Earlier erasures whose ledger write failed go first, so the ledger stays in order.
        let _ = self.sync_erasure_ledger().await;
        let now = self.now();
        let micros = to_micros(now);
        let erasure = ErasureRow {
            patient_id: row.id.clone(),
            erased_at: micros,
            erased_by: actor.user_id().map(|id| id.to_string()),
            actor_kind: actor_kind_text(actor).to_owned(),
            reason_category: category.to_owned(),
            ledger_sequence: None,
        };
        let erased = self
            .transaction_or_stop(async |txn| {
                // Write first: SQLite takes its write lock now, and on PostgreSQL and MariaDB
                // the patient row stays locked, so a hold being set concurrently (which
                // touches the row) is either seen below or waits for this transaction and
                // then finds it erased.
                let Some(_) = store::touch_patient(txn, &row.id).await? else {
                    return Err(ServiceError::NotFound("patient").into());
                };
                if let Some(refusal) = self.erasure_refusal(txn, &row, now).await? {
                    return Err(Abort::Stop(refusal));
                }
                let shredded = store::shred_patient(txn, &row.id, micros)
                    .await?
                    .ok_or(ServiceError::NotFound("patient"))?;
                store::insert_erasure(txn, erasure.clone()).await?;
                let event = erase_event(
                    self.audit_event(actor, AuditAction::Erase, ResourceType::Patient),
                    &row,
                    category,
                    None,
                );
                self.append_in(txn, event).await?;
                Ok(shredded)
            })
            .await?;
        let shredded = match erased {
            Ok(shredded) => shredded,
            // Refused: recorded once the transaction is rolled back.
            Err(refusal) => {
                let mut event = self
                    .audit_event(actor, AuditAction::Erase, ResourceType::Patient)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(row.pseudonym_number));
                event.outcome = carevault_core::audit::Outcome::Denied;
                event.reason = Some(
                    if refusal.starts_with("a legal hold") {
                        "erasure refused: legal hold"
                    } else {
                        "erasure refused: clinical retention"
                    }
                    .into(),
                );
                self.record(event).await?;
                return Err(ServiceError::Conflict {
                    field: None,
                    message: format!("The patient cannot be erased: {refusal}."),
                });
            }
        };
        tracing::warn!(
            patient_id = %row.id,
            index_rows = shredded.index_rows,
            notifications = shredded.notifications,
            appointments_cancelled = shredded.appointments_cancelled,
            account = shredded.account_id.is_some(),
            "patient erased (crypto-shredded)"
        );
        let (ledger_sequence, ledger_problem) = match self.append_to_ledger(&erasure).await {
            Ok(seq) => (seq, None),
            Err(problem) => (None, Some(problem)),
        };
        Ok(ErasureOutcome {
            patient_id: row.id.parse().map_err(|_| ServiceError::Integrity)?,
            pseudonym: pseudonym_of(row.pseudonym_number),
            erased_at: now,
            ledger_sequence,
            ledger_problem,
        })
    }

    /// Appends one erasure to the ledger and notes the sequence on its tombstone. `Ok(None)`
    /// when no ledger is configured; `Err` with a sentence for the administrator.
    async fn append_to_ledger(&self, erasure: &ErasureRow) -> Result<Option<u64>, String> {
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
                let stored = i64::try_from(seq).unwrap_or(i64::MAX);
                if let Err(err) =
                    store::set_ledger_sequence(self.store().conn(), &erasure.patient_id, stored)
                        .await
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

    /// The tombstone of an erased patient. Administrators. 404 if the patient is not
    /// erased (or unknown).
    pub async fn erasure_tombstone(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Tombstone, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let row = self.privacy_row(id).await?;
        let erasure = store::find_erasure(self.store().conn(), &row.id)
            .await?
            .filter(|_| row.status == ERASED_STATUS)
            .ok_or(ServiceError::NotFound("erasure"))?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Patient)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("tombstone".into());
        self.record(event).await?;
        tombstone_of(&row, erasure)
    }

    /// The patient's legal holds, newest first. Administrators.
    pub async fn legal_holds(
        &self,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Vec<LegalHold>, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        let now = to_micros(self.now());
        let holds = store::holds_of(self.store().conn(), id)
            .await?
            .into_iter()
            .map(|hold| present_hold(hold, now))
            .collect::<Result<Vec<_>, _>>()?;
        let event = self
            .audit_event(actor, AuditAction::Read, ResourceType::LegalHold)
            .resource_id(&row.id)
            .patient(pseudonym_of(row.pseudonym_number));
        self.record(event).await?;
        Ok(holds)
    }

    /// Sets a legal hold on a patient's record. Administrators.
    pub async fn set_legal_hold(
        &self,
        actor: &Actor,
        id: PatientId,
        input: LegalHoldInput,
    ) -> Result<LegalHold, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        if row.status == ERASED_STATUS {
            return Err(ServiceError::NotFound("patient"));
        }
        let now = self.now();
        let mut errors = ValidationErrors::new();
        let reason = input.reason.trim().to_owned();
        let length = reason.chars().count();
        if length < MIN_HOLD_REASON {
            errors.push(
                "reason",
                "is required: give the case or matter reference (no names or clinical details)",
            );
        } else if length > MAX_HOLD_REASON {
            errors.push(
                "reason",
                format!("must be at most {MAX_HOLD_REASON} characters"),
            );
        } else if reason.chars().any(char::is_control) {
            errors.push("reason", "must be one line without control characters");
        }
        let until = match input
            .until
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(day) => {
                    // The hold covers its last day in full, in the clinic's time zone.
                    let end = day
                        .succ_opt()
                        .and_then(|next| next.and_hms_opt(0, 0, 0))
                        .and_then(|midnight| {
                            midnight
                                .and_local_timezone(self.clinic_time_zone())
                                .earliest()
                        })
                        .map(|local| local.with_timezone(&Utc));
                    match end {
                        Some(end) if end > now => Some(end),
                        Some(_) => {
                            errors.push("until", "must be today or a later day");
                            None
                        }
                        None => {
                            errors.push("until", "is not a valid day");
                            None
                        }
                    }
                }
                Err(_) => {
                    errors.push("until", "must be a date (YYYY-MM-DD), or blank for no end");
                    None
                }
            },
        };
        errors.into_result()?;
        let hold = LegalHoldRow {
            id: Uuid::now_v7().to_string(),
            patient_id: row.id.clone(),
            reason,
            set_by: actor.user_id().map(|id| id.to_string()),
            set_at: to_micros(now),
            until: until.map(to_micros),
            released_at: None,
            released_by: None,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::LegalHold)
            .resource_id(&hold.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some(match until {
            Some(until) => format!(
                "legal hold until {}",
                self.local_day_of_end(to_micros(until))
            ),
            None => "legal hold until released".into(),
        });
        self.transaction(async |txn| {
            // Touch the patient row first: see `erase_row`.
            if store::touch_patient(txn, &row.id).await?.is_none() {
                return Err(ServiceError::NotFound("patient"));
            }
            store::insert_hold(txn, hold.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        present_hold(hold, to_micros(now))
    }

    /// Releases a legal hold. Administrators. 409 if released already.
    pub async fn release_legal_hold(
        &self,
        actor: &Actor,
        id: PatientId,
        hold_id: &str,
    ) -> Result<LegalHold, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::LegalHold)
            .await?;
        let row = self.privacy_row(id).await?;
        let conn = self.store().conn();
        let Some(hold) = store::find_hold(conn, hold_id.trim())
            .await?
            .filter(|hold| hold.patient_id == row.id)
        else {
            return Err(ServiceError::NotFound("legal hold"));
        };
        let now = to_micros(self.now());
        let by = actor.user_id().map(|id| id.to_string());
        let mut event = self
            .audit_event(actor, AuditAction::Delete, ResourceType::LegalHold)
            .resource_id(&hold.id)
            .patient(pseudonym_of(row.pseudonym_number));
        event.reason = Some("legal hold released".into());
        self.transaction(async |txn| {
            if !store::release_hold(txn, &hold.id, by.clone(), now).await? {
                return Err(ServiceError::Conflict {
                    field: None,
                    message: "this legal hold has been released already".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let released = store::find_hold(conn, &hold.id)
            .await?
            .ok_or(ServiceError::NotFound("legal hold"))?;
        present_hold(released, now)
    }

    async fn retention_items(&self) -> Result<(Vec<RetentionItem>, usize), ServiceError> {
        let now = self.now();
        let years = self.privacy().clinical_retention_years;
        let cutoff = to_micros(years_before(now, years));
        let conn = self.store().conn();
        let last = store::last_encounters(conn).await?;
        let held = store::held_patients(conn, to_micros(now)).await?;
        let mut items = Vec::new();
        let mut held_count = 0;
        for (id, number, created_at) in store::retention_subjects(conn).await? {
            let (activity, from_encounter) = match last.get(&id) {
                Some(at) => (*at, true),
                None => (created_at, false),
            };
            if activity >= cutoff {
                continue;
            }
            if held.contains(&id) {
                held_count += 1;
                continue;
            }
            items.push(RetentionItem {
                patient_id: id.parse().map_err(|_| ServiceError::Integrity)?,
                pseudonym: pseudonym_of(number),
                last_activity: from_micros(activity),
                from_encounter,
            });
        }
        items.sort_by_key(|item| item.last_activity);
        Ok((items, held_count))
    }

    /// The patients past retention without a hold: administrators. Each patient listed is
    /// recorded (`listed`, by pseudonym); nothing is decrypted.
    pub async fn retention_report(&self, actor: &Actor) -> Result<RetentionReport, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let (items, held) = self.retention_items().await?;
        let events = items
            .iter()
            .map(|item| {
                let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Patient);
                event.resource_id = Some(item.patient_id.to_string());
                event.patient_pseudonym = Some(item.pseudonym.clone());
                event.reason = Some("retention report".into());
                event
            })
            .collect();
        self.record_all(events).await?;
        let ledger_pending = store::erasures_without_ledger(self.store().conn())
            .await?
            .len();
        let years = self.privacy().clinical_retention_years;
        Ok(RetentionReport {
            years,
            cutoff: years_before(self.now(), years),
            items,
            held,
            job_erases: self.privacy().retention_erase,
            ledger_pending,
        })
    }

    /// The retention job: logs how many patients are past retention and, with
    /// `retention_erase`, erases them as the system actor (each erasure audited and
    /// written to the ledger). Also catches the ledger up.
    pub async fn run_retention_job(&self) -> Result<RetentionRun, ServiceError> {
        let missing = self.sync_erasure_ledger().await?;
        if missing > 0 {
            tracing::error!(
                missing,
                "erasures are missing from the erasure ledger: repair the ledger file"
            );
        }
        let (items, held) = self.retention_items().await?;
        let mut run = RetentionRun {
            due: items.len(),
            ..RetentionRun::default()
        };
        tracing::info!(
            due = run.due,
            held,
            erase = self.privacy().retention_erase,
            "retention check"
        );
        if !self.privacy().retention_erase {
            return Ok(run);
        }
        let actor = Actor::system();
        for item in items {
            let Some(row) = store::find_patient(self.store().conn(), &item.patient_id.to_string())
                .await?
                .filter(|row| row.status != ERASED_STATUS)
            else {
                continue;
            };
            match self.erase_row(&actor, row, CATEGORY_RETENTION).await {
                Ok(outcome) => {
                    run.erased += 1;
                    if outcome.ledger_problem.is_some() {
                        tracing::error!("a retention erasure is missing from the erasure ledger");
                    }
                }
                Err(ServiceError::Conflict { .. }) => run.refused += 1,
                Err(err) => return Err(err),
            }
        }
        Ok(run)
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
        let Some(row) = store::find_patient(store.conn(), &entry.patient_id).await? else {
            // Registered after the backup was taken, or never in this database.
            continue;
        };
        let already = row.status == ERASED_STATUS;
        let has_tombstone = store::find_erasure(store.conn(), &row.id).await?.is_some();
        let now = Utc::now();
        let txn = store.conn().begin().await.map_err(StoreError::from)?;
        let shredded = store::shred_patient(&txn, &row.id, to_micros(now))
            .await?
            .unwrap_or_default();
        if !has_tombstone {
            store::insert_erasure(
                &txn,
                ErasureRow {
                    patient_id: row.id.clone(),
                    erased_at: entry.erased_at,
                    erased_by: entry.erased_by.clone(),
                    actor_kind: entry.actor.clone(),
                    reason_category: CATEGORY_REPLAY.to_owned(),
                    ledger_sequence: Some(i64::try_from(entry.seq).unwrap_or(i64::MAX)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let row = |id: &str| ErasureRow {
            patient_id: id.into(),
            erased_at: 5,
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
