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

/// Settings key holding the JSON of the last [`BackupRecord`].
pub const LAST_BACKUP_SETTING: &str = "backup.last";

/// The first eight bytes of every backup file.
pub const MAGIC: &[u8; 8] = b"CVBACKUP";
/// The version of the file format this binary writes (and the only one it reads).
pub const FORMAT_VERSION: u16 = 1;
/// The file name extension of backups.
pub const FILE_EXTENSION: &str = "cvbak";
/// Plaintext bytes per encrypted segment (the last one is shorter, possibly empty).
pub const SEGMENT_LEN: usize = 64 * 1024;
const SALT_LEN: usize = 32;
const FINGERPRINT_LEN: usize = 32;
/// magic, format version, KEK version, KEK fingerprint (hex text), salt, created at.
pub const HEADER_LEN: usize = 8 + 2 + 4 + FINGERPRINT_LEN + SALT_LEN + 8;
const MANIFEST_ENTRY: &str = "manifest.json";
const ZSTD_LEVEL: i32 = 3;

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

/// One table in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestTable {
    pub name: String,
    pub rows: u64,
    /// Lowercase hex SHA-256 of `tables/<name>.ndjson`.
    pub sha256: String,
}

/// `manifest.json`: what the backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u16,
    pub carevault_version: String,
    /// `sqlite`, `postgres` or `mysql`.
    pub source_backend: String,
    pub created_at: DateTime<Utc>,
    /// The migrations applied to the source, oldest first.
    pub migrations: Vec<String>,
    /// The fingerprint of the index key (not the key): a restore refuses other keys.
    pub index_fingerprint: String,
    pub tables: Vec<ManifestTable>,
}

impl Manifest {
    /// Every table's row count and hash equals `dumps`' (same tables, same order)?
    pub fn check(&self, dumps: &[TableDump]) -> Result<(), BackupError> {
        if dumps.len() != self.tables.len() {
            return Err(BackupError::Mismatch(format!(
                "{} tables restored, the manifest lists {}",
                dumps.len(),
                self.tables.len()
            )));
        }
        for (expected, actual) in self.tables.iter().zip(dumps) {
            if expected.name != actual.name
                || expected.rows != actual.rows
                || expected.sha256 != actual.sha256
            {
                return Err(BackupError::Mismatch(format!(
                    "table {}: {} rows with SHA-256 {}, the manifest says {} rows with SHA-256 {}",
                    expected.name, actual.rows, actual.sha256, expected.rows, expected.sha256
                )));
            }
        }
        Ok(())
    }
}

/// The plain header of a backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupHeader {
    pub format: u16,
    pub kek_version: u32,
    pub kek_fingerprint: String,
    pub salt: [u8; SALT_LEN],
    pub created_at: DateTime<Utc>,
}

impl BackupHeader {
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.format.to_be_bytes());
        bytes.extend_from_slice(&self.kek_version.to_be_bytes());
        let mut fingerprint = [b'0'; FINGERPRINT_LEN];
        for (slot, b) in fingerprint.iter_mut().zip(self.kek_fingerprint.bytes()) {
            *slot = b;
        }
        bytes.extend_from_slice(&fingerprint);
        bytes.extend_from_slice(&self.salt);
        bytes.extend_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        bytes
    }

    fn parse(bytes: &[u8]) -> Result<BackupHeader, BackupError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(BackupError::NotABackup);
        }
        if bytes.len() < HEADER_LEN {
            return Err(BackupError::Damaged("the header is truncated".into()));
        }
        let field = |from: usize, len: usize| &bytes[from..from + len];
        let format = u16::from_be_bytes([bytes[8], bytes[9]]);
        if format != FORMAT_VERSION {
            return Err(BackupError::UnsupportedFormat(format));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(field(10, 4));
        let kek_fingerprint = String::from_utf8(field(14, FINGERPRINT_LEN).to_vec())
            .map_err(|_| BackupError::Damaged("the header is not valid".into()))?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(field(14 + FINGERPRINT_LEN, SALT_LEN));
        let mut micros = [0u8; 8];
        micros.copy_from_slice(field(14 + FINGERPRINT_LEN + SALT_LEN, 8));
        let created_at = Utc
            .timestamp_micros(i64::from_be_bytes(micros))
            .single()
            .ok_or_else(|| BackupError::Damaged("the header's time is not valid".into()))?;
        Ok(BackupHeader {
            format,
            kek_version: u32::from_be_bytes(version),
            kek_fingerprint,
            salt,
            created_at,
        })
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

/// A backup file, authenticated, decompressed and checked against its manifest.
#[derive(Debug, Clone)]
pub struct OpenedBackup {
    pub header: BackupHeader,
    pub manifest: Manifest,
    /// `(table name, NDJSON)` in manifest order.
    pub tables: Vec<(&'static str, Vec<u8>)>,
}

/// Encrypts `dump` into the bytes of a backup file, with the ring's current KEK.
pub fn encode_backup(
    dump: &DatabaseDump,
    keys: &KeyRing,
    created_at: DateTime<Utc>,
) -> Result<(Vec<u8>, Manifest), BackupError> {
    let manifest = Manifest {
        format: FORMAT_VERSION,
        carevault_version: env!("CARGO_PKG_VERSION").to_owned(),
        source_backend: dump::backend_label(dump.backend).to_owned(),
        created_at,
        migrations: dump.migrations.clone(),
        index_fingerprint: keys.index_fingerprint().to_owned(),
        tables: dump
            .tables
            .iter()
            .map(|t| ManifestTable {
                name: t.name.to_owned(),
                rows: t.rows,
                sha256: t.sha256.clone(),
            })
            .collect(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Failed(format!("the manifest cannot be written: {e}")))?;
    let mut archive = Vec::new();
    push_entry(&mut archive, MANIFEST_ENTRY, &manifest_json);
    for table in &dump.tables {
        push_entry(
            &mut archive,
            &format!("tables/{}.ndjson", table.name),
            &table.ndjson,
        );
    }
    let compressed = zstd::bulk::compress(&archive, ZSTD_LEVEL)
        .map_err(|e| BackupError::Failed(format!("compression failed: {e}")))?;
    drop(archive);

    let version = keys.current_version();
    let header = BackupHeader {
        format: FORMAT_VERSION,
        kek_version: version,
        kek_fingerprint: keys.fingerprint(version).unwrap_or_default().to_owned(),
        salt: carevault_crypto::random_bytes(),
        created_at,
    };
    let aad = header.to_bytes();
    let cipher = keys
        .backup_cipher(version, &header.salt)
        .ok_or(BackupError::KeyMissing(version))?;
    let mut file = aad.clone();
    file.extend_from_slice(&seal_body(&cipher, &aad, &compressed)?);
    Ok((file, manifest))
}

/// The body in sealed segments (STREAM; see the module docs and docs/BACKUP-FORMAT.md).
fn seal_body(cipher: &BackupCipher, aad: &[u8], body: &[u8]) -> Result<Vec<u8>, BackupError> {
    let mut sealed =
        Vec::with_capacity(body.len() + body.len() / SEGMENT_LEN * BACKUP_TAG_LEN + 64);
    // A body that is an exact multiple of the segment length (or empty) ends with an empty
    // final segment, so the final segment is always shorter than a full one.
    let full = body.len() / SEGMENT_LEN;
    for (index, segment) in body.chunks(SEGMENT_LEN).enumerate() {
        let last = index == full;
        sealed.extend_from_slice(
            &cipher
                .seal_segment(index as u64, last, aad, segment)
                .map_err(|e| BackupError::Failed(e.to_string()))?,
        );
    }
    if body.len().is_multiple_of(SEGMENT_LEN) {
        sealed.extend_from_slice(
            &cipher
                .seal_segment(full as u64, true, aad, &[])
                .map_err(|e| BackupError::Failed(e.to_string()))?,
        );
    }
    Ok(sealed)
}

/// The body of sealed segments, every segment authenticated.
fn open_body(cipher: &BackupCipher, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, BackupError> {
    let sealed_len = SEGMENT_LEN + BACKUP_TAG_LEN;
    let full = sealed.len() / sealed_len;
    if sealed.len() % sealed_len < BACKUP_TAG_LEN {
        return Err(BackupError::Damaged(
            "the file is truncated (its final segment is missing)".into(),
        ));
    }
    let mut body = Vec::with_capacity(sealed.len());
    for (index, segment) in sealed.chunks(sealed_len).enumerate() {
        let plain = cipher
            .open_segment(index as u64, index == full, aad, segment)
            .map_err(|e| BackupError::Damaged(e.to_string()))?;
        body.extend_from_slice(&plain);
    }
    Ok(body)
}

fn push_entry(archive: &mut Vec<u8>, name: &str, content: &[u8]) {
    // Names are short ASCII paths chosen here (at most a few dozen bytes).
    let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    archive.extend_from_slice(&name_len.to_be_bytes());
    archive.extend_from_slice(&name.as_bytes()[..usize::from(name_len)]);
    archive.extend_from_slice(&(content.len() as u64).to_be_bytes());
    archive.extend_from_slice(content);
}

/// Reads the plain header only (no keys needed).
pub fn read_header(bytes: &[u8]) -> Result<BackupHeader, BackupError> {
    BackupHeader::parse(bytes)
}

/// Authenticates, decrypts and decompresses a backup file and checks every table against
/// its manifest. Touches no database.
pub fn open_backup(bytes: &[u8], keys: &KeyRing) -> Result<OpenedBackup, BackupError> {
    let header = BackupHeader::parse(bytes)?;
    let expected = keys
        .fingerprint(header.kek_version)
        .ok_or(BackupError::KeyMissing(header.kek_version))?;
    if expected != header.kek_fingerprint {
        return Err(BackupError::WrongKeys(format!(
            "KEK v{} (the backup names fingerprint {})",
            header.kek_version, header.kek_fingerprint
        )));
    }
    let cipher = keys
        .backup_cipher(header.kek_version, &header.salt)
        .ok_or(BackupError::KeyMissing(header.kek_version))?;
    let compressed = open_body(&cipher, &bytes[..HEADER_LEN], &bytes[HEADER_LEN..])?;
    let archive = zstd::stream::decode_all(&compressed[..])
        .map_err(|_| BackupError::Damaged("the body does not decompress".into()))?;
    drop(compressed);
    let mut entries = parse_archive(&archive)?.into_iter();
    let Some((name, manifest_json)) = entries.next() else {
        return Err(BackupError::Damaged("the archive is empty".into()));
    };
    if name != MANIFEST_ENTRY {
        return Err(BackupError::Damaged("the manifest is missing".into()));
    }
    let manifest: Manifest = serde_json::from_slice(manifest_json)
        .map_err(|e| BackupError::Damaged(format!("the manifest is not valid: {e}")))?;
    if manifest.format != FORMAT_VERSION {
        return Err(BackupError::UnsupportedFormat(manifest.format));
    }
    if manifest.index_fingerprint != keys.index_fingerprint() {
        return Err(BackupError::WrongKeys(format!(
            "the index key (the backup names fingerprint {})",
            manifest.index_fingerprint
        )));
    }
    let mut tables = Vec::with_capacity(manifest.tables.len());
    for expected in &manifest.tables {
        let Some((name, content)) = entries.next() else {
            return Err(BackupError::Damaged(format!(
                "table {} is missing",
                expected.name
            )));
        };
        if name != format!("tables/{}.ndjson", expected.name) {
            return Err(BackupError::Damaged(format!(
                "table {} is missing (found {name})",
                expected.name
            )));
        }
        let table = dump::backup_table(&expected.name)
            .ok_or_else(|| BackupDataError::UnknownTable(expected.name.clone()))?;
        let rows = content.iter().filter(|b| **b == b'\n').count() as u64;
        let sha256 = dump::sha256_hex(content);
        if rows != expected.rows || sha256 != expected.sha256 {
            return Err(BackupError::Damaged(format!(
                "table {} does not match its manifest entry",
                expected.name
            )));
        }
        tables.push((table, content.to_vec()));
    }
    if entries.next().is_some() {
        return Err(BackupError::Damaged(
            "the archive holds entries the manifest does not list".into(),
        ));
    }
    Ok(OpenedBackup {
        header,
        manifest,
        tables,
    })
}

fn parse_archive(archive: &[u8]) -> Result<Vec<(String, &[u8])>, BackupError> {
    let truncated = || BackupError::Damaged("the archive is truncated".into());
    let mut entries = Vec::new();
    let mut rest = archive;
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(2).ok_or_else(truncated)?;
        let name_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (name, tail) = tail.split_at_checked(name_len).ok_or_else(truncated)?;
        let (len, tail) = tail.split_at_checked(8).ok_or_else(truncated)?;
        let mut size = [0u8; 8];
        size.copy_from_slice(len);
        let size = usize::try_from(u64::from_be_bytes(size)).map_err(|_| truncated())?;
        let (content, tail) = tail.split_at_checked(size).ok_or_else(truncated)?;
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| BackupError::Damaged("an archive entry name is not valid".into()))?;
        entries.push((name, content));
        rest = tail;
    }
    Ok(entries)
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

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub tables: usize,
    pub rows: u64,
    /// Migrations newer than the backup applied after loading its rows.
    pub migrated_after: usize,
}

/// Restores `backup` into `target`, which must be empty (module docs). Checks what it
/// loaded against the manifest inside the loading transaction, then applies the migrations
/// this binary has beyond the backup's.
pub async fn restore_backup(
    backup: &OpenedBackup,
    target: &Store,
) -> Result<RestoreReport, BackupError> {
    let known = dump::known_migrations();
    let wanted = &backup.manifest.migrations;
    if wanted.len() > known.len() || known[..wanted.len()] != wanted[..] {
        let unknown: Vec<&str> = wanted
            .iter()
            .filter(|m| !known.contains(m))
            .map(String::as_str)
            .collect();
        return Err(BackupError::UnknownMigrations(if unknown.is_empty() {
            "they are in another order".into()
        } else {
            unknown.join(", ")
        }));
    }
    let applied = target.applied_migrations().await?;
    if !applied.is_empty() {
        if applied.len() > wanted.len() || wanted[..applied.len()] != applied[..] {
            return Err(BackupError::TargetNotEmpty(format!(
                "{} migrations applied",
                applied.len()
            )));
        }
        if let Some(table) = dump::first_non_empty_table(target.conn()).await? {
            return Err(BackupError::TargetNotEmpty(format!(
                "table {table} holds rows"
            )));
        }
    }
    let to_apply = u32::try_from(wanted.len() - applied.len())
        .map_err(|_| BackupError::UnknownMigrations("too many".into()))?;
    dump::migrate_by(target, to_apply).await?;

    let txn = target
        .conn()
        .begin()
        .await
        .map_err(carevault_store::StoreError::from)?;
    dump::clear_seeded_tables(&txn).await?;
    let mut rows = 0;
    for (name, ndjson) in &backup.tables {
        rows += dump::load_table(&txn, name, ndjson).await?;
    }
    let names: Vec<&'static str> = backup.tables.iter().map(|(name, _)| *name).collect();
    let loaded = dump::dump_tables(&txn, &names).await?;
    backup.manifest.check(&loaded)?;
    txn.commit()
        .await
        .map_err(carevault_store::StoreError::from)?;

    let pending = target.pending_migrations().await?.len();
    target.migrate().await?;
    Ok(RestoreReport {
        tables: backup.tables.len(),
        rows,
        migrated_after: pending,
    })
}

/// Checks the tables of `store` against `manifest` (the drill, and tests).
pub async fn compare_with_manifest(store: &Store, manifest: &Manifest) -> Result<(), BackupError> {
    let mut names = Vec::with_capacity(manifest.tables.len());
    for table in &manifest.tables {
        names.push(
            dump::backup_table(&table.name)
                .ok_or_else(|| BackupDataError::UnknownTable(table.name.clone()))?,
        );
    }
    let dumps = dump::dump_tables(store.conn(), &names).await?;
    manifest.check(&dumps)
}

/// The file name of a backup made at `at`: `carevault-YYYYMMDDTHHMMSSZ.cvbak`.
pub fn backup_file_name(at: DateTime<Utc>) -> String {
    format!("carevault-{}.{FILE_EXTENSION}", at.format("%Y%m%dT%H%M%SZ"))
}

/// Creates `dir` (and parents) `0700` if missing.
fn ensure_backup_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
    }
    Ok(())
}

/// Writes `bytes` to a new file at `path` (`0600`, never overwriting), synced to disk.
pub fn write_backup_file(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    Ok(())
}

/// A free name in `dir` for a backup made at `at` (a suffix when one second saw two).
fn free_backup_path(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    let base = backup_file_name(at);
    let mut path = dir.join(&base);
    let stem = base
        .trim_end_matches(&format!(".{FILE_EXTENSION}"))
        .to_owned();
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.{FILE_EXTENSION}"));
        n += 1;
    }
    path
}

/// One file in the backup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
    pub modified: Option<DateTime<Utc>>,
}

/// The backup files in `dir`, newest first.
pub fn list_backup_files(dir: &Path) -> Result<Vec<BackupFile>, BackupError> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(err) => return Err(io_error(dir)(err)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("carevault-") || !name.ends_with(&format!(".{FILE_EXTENSION}")) {
            continue;
        }
        let meta = entry.metadata().map_err(io_error(dir))?;
        if !meta.is_file() {
            continue;
        }
        files.push(BackupFile {
            name,
            bytes: meta.len(),
            modified: meta.modified().ok().map(DateTime::<Utc>::from),
        });
    }
    files.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.name.cmp(&a.name)));
    Ok(files)
}

/// Deletes all but the newest `keep` backup files in `dir`; returns how many it deleted.
fn prune_backups(dir: &Path, keep: usize) -> Result<usize, BackupError> {
    let files = list_backup_files(dir)?;
    let mut deleted = 0;
    for file in files.iter().skip(keep.max(1)) {
        let path = dir.join(&file.name);
        std::fs::remove_file(&path).map_err(io_error(&path))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Restores the file at `path` into a scratch SQLite database beside it and checks every
/// table against the manifest; the scratch files are removed afterwards.
pub async fn restore_drill(path: &Path, keys: &KeyRing) -> Result<(), BackupError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    // A unique name: a CLI `backup create` may drill beside a running server's drill.
    let scratch = dir.join(format!(
        ".restore-drill-{}.db",
        hex::encode(carevault_crypto::random_bytes::<8>())
    ));
    let remove_scratch = || {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = scratch.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    };
    remove_scratch();
    let bytes = tokio::fs::read(path).await.map_err(io_error(path))?;
    let keys_for_open = keys.clone();
    let opened = tokio::task::spawn_blocking(move || open_backup(&bytes, &keys_for_open))
        .await
        .map_err(|_| BackupError::Failed("the drill task stopped".into()))??;
    let url = format!("sqlite://{}", scratch.display());
    let store = Store::connect(
        &url,
        &carevault_store::ConnectSettings {
            max_connections: 1,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| BackupError::Mismatch(format!("the scratch database: {e}")))?;
    let result = async {
        restore_backup(&opened, &store).await?;
        compare_with_manifest(&store, &opened.manifest).await
    }
    .await;
    store.close().await;
    remove_scratch();
    result
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
