//! The backup file format: header, manifest, the sealed body, writing and opening a backup.

use super::*;

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
pub(super) const MANIFEST_ENTRY: &str = "manifest.json";
const ZSTD_LEVEL: i32 = 3;

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
pub(super) fn seal_body(
    cipher: &BackupCipher,
    aad: &[u8],
    body: &[u8],
) -> Result<Vec<u8>, BackupError> {
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
pub(super) fn open_body(
    cipher: &BackupCipher,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, BackupError> {
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

pub(super) fn push_entry(archive: &mut Vec<u8>, name: &str, content: &[u8]) {
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

pub(super) fn parse_archive(archive: &[u8]) -> Result<Vec<(String, &[u8])>, BackupError> {
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
