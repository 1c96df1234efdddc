//! The key ring: the versioned key-encryption keys (KEKs) and the blind-index root key, read
//! from the key directory (or derived from an operator-supplied master key), and the purpose
//! keys derived from them.
//!
//! # Key directory
//! | file | content | rotated |
//! |---|---|---|
//! | `kek-v<N>.key` (`N` = 1, 2, …, decimal, no leading zeros) | a KEK: wraps per-patient data keys | yes: [`KeyRing::rotate`] adds `kek-v<N+1>.key` |
//! | `index.key` | the root of the blind-index keys | never |
//!
//! Every other file name is ignored, so the directory can also hold the erasure ledger and
//! the dot-prefixed temporary files used while creating a key. A file whose name looks like a
//! KEK (`kek-v….key`) but has no valid version is an error, not ignored.
//!
//! Key files are text, three lines, each ending in `\n`:
//!
//! ```text
//! carevault-kek-v1                              header (`carevault-index-v1` for index.key)
//! 3                                             version, decimal; equal to N in the file name
//! q83vEjRWeJC...(44 characters)...=            standard base64 (with padding) of 32 random bytes
//! ```
//!
//! `index.key` always has version `1`. Rules, enforced on every [`KeyRing::open`]:
//! - key files are regular files of at most 256 bytes with mode `0600` (any group or other
//!   permission bit is refused: [`KeyRingError::InsecurePermissions`]); they are created that
//!   way. The directory is created `0700` and refused when group- or other-writable (someone
//!   who can write it can replace a key). Ownership is not checked (that needs `geteuid`, and
//!   this crate has no `libc`/`unsafe`).
//! - a new file is written to a unique temporary name (`O_CREAT|O_EXCL`, `0600`), fsynced, then
//!   hard-linked to its final name, which fails if the name exists: a key file never exists
//!   half-written and is never overwritten. When two processes start at once on an empty
//!   directory, exactly one link succeeds and both then read the winner's key.
//!
//! # Master key
//! Instead of a directory, an operator may supply `CAREVAULT_MASTER_KEY` (standard base64 of at
//! least 32 random bytes, e.g. `openssl rand -base64 32`): [`KeyRing::from_master_key`] derives
//! KEK v1 and the index key from it with HKDF-SHA256 (salt `carevault master key v1`, info
//! `carevault master kek v1` and `carevault master index v1`). Such a ring has exactly one KEK
//! version and cannot be rotated (rotation writes a file).
//!
//! # Derived keys (HKDF-SHA256, RFC 5869, no salt: the input keys are already uniformly random)
//! | purpose | input key | info | output |
//! |---|---|---|---|
//! | data-key wrapping (AES-256-GCM) | KEK v`N` | `carevault wrap v1` | 32 bytes |
//! | KEK fingerprint | KEK v`N` | `carevault kek fingerprint v1` | 16 bytes, lowercase hex |
//! | blind index, per [`IndexKind`] (HMAC-SHA256) | index key | `carevault blind index v1 <kind>` | 32 bytes |
//! | index fingerprint | index key | `carevault index fingerprint v1` | 16 bytes, lowercase hex |
//! | backup root key (HMAC-SHA256 key) | KEK v`N` | `carevault backup v1` | 32 bytes |
//! | backup file key (AES-256-GCM) | backup root key of v`N` (as HKDF PRK) | `carevault backup file v1` ‖ the file's salt | 32 bytes |
//!
//! The backup file key is HKDF-Expand (RFC 5869 §2.3) with the backup root key as PRK, so
//! every backup file (random salt) has its own key, and a file names the KEK version it was
//! made with: [`KeyRing::backup_cipher`]. The ring hands out only a [`BackupCipher`], never
//! the key.
//!
//! `<kind>` is [`IndexKind::label`]. Because the blind-index keys hang off `index.key` rather
//! than a KEK, rotating the KEK never invalidates a blind index.
//!
//! Fingerprints identify a key without revealing it (a one-way function of a 256-bit random
//! key) and are what the database stores, so a server started with the wrong key directory can
//! refuse to start ([`KeyRing::verify_fingerprints`]). The key itself never leaves this module:
//! the ring holds only keyed primitives (an AES-256-GCM cipher per KEK version and one HMAC
//! state per index kind), whose memory is zeroized on drop; the raw key bytes live only in
//! [`Zeroizing`] buffers while the ring is built. `Debug` shows versions and fingerprints only.
//!
//! This file holds the ring itself: opening it, deriving its keys, rotating, checking
//! fingerprints. `files.rs` reads and writes the key directory (the format and rules above),
//! `backup.rs` holds the backup file cipher and `error.rs` the errors; the tests of a ring on
//! its key directory are in `tests.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use hmac::Hmac;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::blind_index::IndexKind;

mod backup;
mod error;
mod files;

pub use backup::{BACKUP_TAG_LEN, BackupCipher, BackupSegmentError};
pub use error::KeyRingError;
use files::{create_key_file, ensure_directory, list_key_files, read_key_file};

/// First line of every `kek-v<N>.key` file.
pub const KEK_FILE_HEADER: &str = "carevault-kek-v1";
/// First line of `index.key`.
pub const INDEX_FILE_HEADER: &str = "carevault-index-v1";
/// File name of the blind-index root key.
pub const INDEX_KEY_FILE_NAME: &str = "index.key";
/// Length of every key in bytes.
pub const KEY_LEN: usize = 32;
/// Shortest master key accepted by [`KeyRing::from_master_key`], in bytes.
pub const MIN_MASTER_KEY_LEN: usize = 32;

const KEK_FILE_PREFIX: &str = "kek-v";
const KEY_FILE_SUFFIX: &str = ".key";
const MAX_KEY_FILE_LEN: usize = 256;
const FINGERPRINT_LEN: usize = 16;

const WRAP_INFO: &[u8] = b"carevault wrap v1";
const KEK_FINGERPRINT_INFO: &[u8] = b"carevault kek fingerprint v1";
const INDEX_FINGERPRINT_INFO: &[u8] = b"carevault index fingerprint v1";
const BACKUP_ROOT_INFO: &[u8] = b"carevault backup v1";
const BACKUP_FILE_INFO: &[u8] = b"carevault backup file v1";
const BLIND_INDEX_INFO_PREFIX: &str = "carevault blind index v1 ";
const MASTER_KEY_SALT: &[u8] = b"carevault master key v1";
const MASTER_KEK_INFO: &[u8] = b"carevault master kek v1";
const MASTER_INDEX_INFO: &[u8] = b"carevault master index v1";

/// The file name of KEK version `version`: `kek-v3.key`.
pub fn kek_file_name(version: u32) -> String {
    format!("{KEK_FILE_PREFIX}{version}{KEY_FILE_SUFFIX}")
}

/// Where a key ring's keys came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Key files in this directory.
    Directory(PathBuf),
    /// Derived from an operator-supplied master key.
    MasterKey,
}

/// One KEK version: its wrapping cipher and its fingerprint.
#[derive(Clone)]
struct Kek {
    wrapping_cipher: Aes256Gcm,
    fingerprint: String,
    /// HMAC keyed with the backup root key (the HKDF PRK of backup file keys).
    backup_prk: Hmac<Sha256>,
}

/// The keyed HMAC state for each blind-index kind.
#[derive(Clone)]
struct BlindIndexMacs {
    mrn: Hmac<Sha256>,
    full_name: Hmac<Sha256>,
    family_name_and_birth_date: Hmac<Sha256>,
    phone: Hmac<Sha256>,
    national_id: Hmac<Sha256>,
    family_name_phonetic: Hmac<Sha256>,
}

impl BlindIndexMacs {
    fn derive(index_key: &[u8; KEY_LEN]) -> Result<Self, KeyRingError> {
        let mac = |kind: IndexKind| -> Result<Hmac<Sha256>, KeyRingError> {
            let info = format!("{BLIND_INDEX_INFO_PREFIX}{}", kind.label());
            let key = hkdf_expand::<KEY_LEN>(None, index_key, info.as_bytes())?;
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key[..])
                .map_err(|_| KeyRingError::KeyDerivation)
        };
        Ok(Self {
            mrn: mac(IndexKind::Mrn)?,
            full_name: mac(IndexKind::FullName)?,
            family_name_and_birth_date: mac(IndexKind::FamilyNameAndBirthDate)?,
            phone: mac(IndexKind::Phone)?,
            national_id: mac(IndexKind::NationalId)?,
            family_name_phonetic: mac(IndexKind::FamilyNamePhonetic)?,
        })
    }

    fn get(&self, kind: IndexKind) -> &Hmac<Sha256> {
        match kind {
            IndexKind::Mrn => &self.mrn,
            IndexKind::FullName => &self.full_name,
            IndexKind::FamilyNameAndBirthDate => &self.family_name_and_birth_date,
            IndexKind::Phone => &self.phone,
            IndexKind::NationalId => &self.national_id,
            IndexKind::FamilyNamePhonetic => &self.family_name_phonetic,
        }
    }
}

/// The KEKs (all versions) and the blind-index keys, ready to use. Cheap to clone; holds no raw
/// key bytes (see the module docs).
#[derive(Clone)]
pub struct KeyRing {
    current_version: u32,
    current: Kek,
    older: BTreeMap<u32, Kek>,
    blind_index_macs: BlindIndexMacs,
    index_fingerprint: String,
    source: KeySource,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("source", &self.source)
            .field("current_version", &self.current_version)
            .field("kek_fingerprints", &self.fingerprints())
            .field("index_fingerprint", &self.index_fingerprint)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the key ring from `dir`.
    ///
    /// With `create_if_missing`, a missing directory is created (`0700`) and a missing
    /// `index.key` or KEK (`kek-v1.key`) is generated; pass it only when the database holds no
    /// key fingerprint yet (first start), so that a lost key is reported instead of silently
    /// replaced. Without it, a missing directory is [`KeyRingError::DirectoryMissing`], an empty
    /// one [`KeyRingError::NoKeys`], a half-empty one [`KeyRingError::KeyFileMissing`].
    pub fn open(dir: &Path, create_if_missing: bool) -> Result<KeyRing, KeyRingError> {
        ensure_directory(dir, create_if_missing)?;
        let mut listing = list_key_files(dir)?;
        if !create_if_missing {
            match (listing.has_index_key, listing.kek_versions.is_empty()) {
                (false, true) => {
                    return Err(KeyRingError::NoKeys {
                        dir: dir.to_owned(),
                    });
                }
                (false, false) => {
                    return Err(KeyRingError::KeyFileMissing {
                        path: dir.join(INDEX_KEY_FILE_NAME),
                    });
                }
                (true, true) => {
                    return Err(KeyRingError::KeyFileMissing {
                        path: dir.join(kek_file_name(1)),
                    });
                }
                (true, false) => {}
            }
        } else if !listing.has_index_key || listing.kek_versions.is_empty() {
            if !listing.has_index_key {
                create_key_file(dir, INDEX_KEY_FILE_NAME, INDEX_FILE_HEADER, 1)?;
            }
            if listing.kek_versions.is_empty() {
                create_key_file(dir, &kek_file_name(1), KEK_FILE_HEADER, 1)?;
            }
            listing = list_key_files(dir)?;
        }

        let index_path = dir.join(INDEX_KEY_FILE_NAME);
        let index_key = read_key_file(&index_path, INDEX_FILE_HEADER, 1)?;
        let mut keks = BTreeMap::new();
        for version in listing.kek_versions {
            let path = dir.join(kek_file_name(version));
            let kek = read_key_file(&path, KEK_FILE_HEADER, version)?;
            keks.insert(version, kek);
        }
        Self::from_keys(keks, &index_key, KeySource::Directory(dir.to_owned()))
    }

    /// Derives a one-version key ring from an operator-supplied master key (at least
    /// [`MIN_MASTER_KEY_LEN`] random bytes; derivation in the module docs).
    pub fn from_master_key(master_key: &[u8]) -> Result<KeyRing, KeyRingError> {
        if master_key.len() < MIN_MASTER_KEY_LEN {
            return Err(KeyRingError::MasterKeyTooShort {
                len: master_key.len(),
            });
        }
        let kek = hkdf_expand::<KEY_LEN>(Some(MASTER_KEY_SALT), master_key, MASTER_KEK_INFO)?;
        let index_key =
            hkdf_expand::<KEY_LEN>(Some(MASTER_KEY_SALT), master_key, MASTER_INDEX_INFO)?;
        Self::from_keys(BTreeMap::from([(1, kek)]), &index_key, KeySource::MasterKey)
    }

    /// [`KeyRing::from_master_key`] for the text of `CAREVAULT_MASTER_KEY`: standard base64
    /// (surrounding whitespace ignored).
    pub fn from_master_key_base64(text: &str) -> Result<KeyRing, KeyRingError> {
        let master_key = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| KeyRingError::MasterKeyNotBase64)?,
        );
        Self::from_master_key(&master_key)
    }

    /// Writes a new KEK, `kek-v<N+1>.key` where `N` is the highest version in `dir`, and returns
    /// `N+1`. The directory must open cleanly first. Running servers do not see the new version
    /// until they load the ring again. Never overwrites a file: if another process creates the
    /// same version at the same time, this fails with [`KeyRingError::ConcurrentRotation`].
    pub fn rotate(dir: &Path) -> Result<u32, KeyRingError> {
        let ring = Self::open(dir, false)?;
        let current = ring.current_version();
        let next = current
            .checked_add(1)
            .ok_or(KeyRingError::VersionsExhausted { version: current })?;
        if create_key_file(dir, &kek_file_name(next), KEK_FILE_HEADER, next)? {
            Ok(next)
        } else {
            Err(KeyRingError::ConcurrentRotation { version: next })
        }
    }

    /// The KEK version new data keys are wrapped with: the highest one.
    pub fn current_version(&self) -> u32 {
        self.current_version
    }

    /// Every KEK version in the ring, ascending.
    pub fn versions(&self) -> Vec<u32> {
        let mut versions: Vec<u32> = self.older.keys().copied().collect();
        versions.push(self.current_version);
        versions
    }

    /// The fingerprint of every KEK version (32 lowercase hex characters each).
    pub fn fingerprints(&self) -> BTreeMap<u32, String> {
        let mut fingerprints: BTreeMap<u32, String> = self
            .older
            .iter()
            .map(|(version, kek)| (*version, kek.fingerprint.clone()))
            .collect();
        fingerprints.insert(self.current_version, self.current.fingerprint.clone());
        fingerprints
    }

    /// The fingerprint of KEK `version`, if the ring has it.
    pub fn fingerprint(&self, version: u32) -> Option<&str> {
        self.kek(version).map(|kek| kek.fingerprint.as_str())
    }

    /// The fingerprint of the index key (32 lowercase hex characters).
    pub fn index_fingerprint(&self) -> &str {
        &self.index_fingerprint
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Checks the ring against the fingerprints the database holds: the index key must match,
    /// and every KEK version the database knows must be in the ring with the same fingerprint.
    /// Versions in the ring that the database does not know yet (a rotation whose database
    /// update did not happen) are accepted; the caller records them.
    pub fn verify_fingerprints(
        &self,
        index_fingerprint: &str,
        kek_fingerprints: &BTreeMap<u32, String>,
    ) -> Result<(), KeyRingError> {
        if index_fingerprint != self.index_fingerprint {
            return Err(KeyRingError::FingerprintMismatch {
                key: "index key".to_owned(),
                expected: index_fingerprint.to_owned(),
                actual: self.index_fingerprint.clone(),
            });
        }
        for (version, expected) in kek_fingerprints {
            let actual = self
                .fingerprint(*version)
                .ok_or(KeyRingError::KekVersionMissing { version: *version })?;
            if actual != expected {
                return Err(KeyRingError::FingerprintMismatch {
                    key: format!("KEK v{version}"),
                    expected: expected.clone(),
                    actual: actual.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The version and wrapping cipher new data keys are wrapped with.
    pub(crate) fn current_wrapping_cipher(&self) -> (u32, &Aes256Gcm) {
        (self.current_version, &self.current.wrapping_cipher)
    }

    /// The wrapping cipher of KEK `version`.
    pub(crate) fn wrapping_cipher(&self, version: u32) -> Option<&Aes256Gcm> {
        self.kek(version).map(|kek| &kek.wrapping_cipher)
    }

    /// The keyed HMAC for blind indexes of `kind` (clone it, then feed it).
    pub(crate) fn blind_index_mac(&self, kind: IndexKind) -> &Hmac<Sha256> {
        self.blind_index_macs.get(kind)
    }

    fn kek(&self, version: u32) -> Option<&Kek> {
        if version == self.current_version {
            Some(&self.current)
        } else {
            self.older.get(&version)
        }
    }

    fn from_keys(
        mut keks: BTreeMap<u32, Zeroizing<[u8; KEY_LEN]>>,
        index_key: &[u8; KEY_LEN],
        source: KeySource,
    ) -> Result<KeyRing, KeyRingError> {
        let (current_version, current_key) = keks
            .pop_last()
            .ok_or(KeyRingError::KekVersionMissing { version: 1 })?;
        let current = derive_kek(&current_key)?;
        let mut older = BTreeMap::new();
        for (version, key) in keks {
            older.insert(version, derive_kek(&key)?);
        }
        let index_fingerprint = hex::encode(*hkdf_expand::<FINGERPRINT_LEN>(
            None,
            index_key,
            INDEX_FINGERPRINT_INFO,
        )?);
        Ok(KeyRing {
            current_version,
            current,
            older,
            blind_index_macs: BlindIndexMacs::derive(index_key)?,
            index_fingerprint,
            source,
        })
    }
}

fn derive_kek(kek: &[u8; KEY_LEN]) -> Result<Kek, KeyRingError> {
    let wrapping_key = hkdf_expand::<KEY_LEN>(None, kek, WRAP_INFO)?;
    let fingerprint = hkdf_expand::<FINGERPRINT_LEN>(None, kek, KEK_FINGERPRINT_INFO)?;
    let backup_root = hkdf_expand::<KEY_LEN>(None, kek, BACKUP_ROOT_INFO)?;
    Ok(Kek {
        wrapping_cipher: Aes256Gcm::new((&*wrapping_key).into()),
        fingerprint: hex::encode(*fingerprint),
        backup_prk: <Hmac<Sha256> as KeyInit>::new_from_slice(&backup_root[..])
            .map_err(|_| KeyRingError::KeyDerivation)?,
    })
}

/// HKDF-SHA256(salt, ikm) expanded with `info` to `N` bytes, in a zeroizing buffer.
fn hkdf_expand<const N: usize>(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
) -> Result<Zeroizing<[u8; N]>, KeyRingError> {
    let mut okm = Zeroizing::new([0u8; N]);
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm[..])
        .map_err(|_| KeyRingError::KeyDerivation)?;
    Ok(okm)
}

#[cfg(test)]
mod tests {
    //! Tests of a key ring on its key directory: creating, reloading, rotating, refusing what is
    //! missing, insecure or malformed; and rings derived from a master key.

    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::files::{create_key_file, write_private_file};
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn key_dir() -> (tempfile::TempDir, PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("keys");
        (temp, dir)
    }

    #[test]
    fn first_open_creates_private_key_files() {
        let (_temp, dir) = key_dir();
        let ring = KeyRing::open(&dir, true).unwrap();
        assert_eq!(ring.current_version(), 1);
        assert_eq!(ring.versions(), vec![1]);
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&dir.join("kek-v1.key")), 0o600);
        assert_eq!(mode_of(&dir.join("index.key")), 0o600);

        let text = fs::read_to_string(dir.join("kek-v1.key")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "carevault-kek-v1");
        assert_eq!(lines[1], "1");
        assert_eq!(STANDARD.decode(lines[2]).unwrap().len(), 32);
        assert!(text.ends_with('\n'));
        let index = fs::read_to_string(dir.join("index.key")).unwrap();
        assert!(index.starts_with("carevault-index-v1\n1\n"));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn fingerprints_are_stable_across_reloads_and_distinct_between_keys() {
        let (_temp, dir) = key_dir();
        let first = KeyRing::open(&dir, true).unwrap();
        let again = KeyRing::open(&dir, false).unwrap();
        assert_eq!(first.fingerprints(), again.fingerprints());
        assert_eq!(first.index_fingerprint(), again.index_fingerprint());
        let fingerprint = first.fingerprint(1).unwrap();
        assert_eq!(fingerprint.len(), 32);
        assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(fingerprint, first.index_fingerprint());

        assert_eq!(KeyRing::rotate(&dir).unwrap(), 2);
        let rotated = KeyRing::open(&dir, false).unwrap();
        assert_eq!(rotated.versions(), vec![1, 2]);
        assert_eq!(rotated.fingerprint(1), Some(fingerprint));
        assert_ne!(rotated.fingerprint(2), rotated.fingerprint(1));
        assert_eq!(rotated.index_fingerprint(), first.index_fingerprint());

        let (_other_temp, other_dir) = key_dir();
        let other = KeyRing::open(&other_dir, true).unwrap();
        assert_ne!(other.fingerprint(1), first.fingerprint(1));
        assert_ne!(other.index_fingerprint(), first.index_fingerprint());
    }

    #[test]
    fn fingerprints_are_verified_against_the_database() {
        let (_temp, dir) = key_dir();
        let ring = KeyRing::open(&dir, true).unwrap();
        let stored = ring.fingerprints();
        ring.verify_fingerprints(ring.index_fingerprint(), &stored)
            .unwrap();
        // A version the database does not know yet is fine.
        KeyRing::rotate(&dir).unwrap();
        let rotated = KeyRing::open(&dir, false).unwrap();
        rotated
            .verify_fingerprints(ring.index_fingerprint(), &stored)
            .unwrap();

        let (_other_temp, other_dir) = key_dir();
        let other = KeyRing::open(&other_dir, true).unwrap();
        let error = other
            .verify_fingerprints(ring.index_fingerprint(), &stored)
            .unwrap_err();
        assert!(matches!(error, KeyRingError::FingerprintMismatch { .. }));
        assert!(error.to_string().contains("index key"));
        let error = other
            .verify_fingerprints(other.index_fingerprint(), &stored)
            .unwrap_err();
        assert!(error.to_string().contains("KEK v1"), "{error}");
        let error = ring
            .verify_fingerprints(ring.index_fingerprint(), &rotated.fingerprints())
            .unwrap_err();
        assert!(matches!(
            error,
            KeyRingError::KekVersionMissing { version: 2 }
        ));
    }

    #[test]
    fn missing_and_empty_directories_are_distinguished() {
        let (_temp, dir) = key_dir();
        let error = KeyRing::open(&dir, false).unwrap_err();
        assert!(matches!(error, KeyRingError::DirectoryMissing { .. }));
        assert!(!error.to_string().contains('\n'));

        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(matches!(
            KeyRing::open(&dir, false).unwrap_err(),
            KeyRingError::NoKeys { .. }
        ));

        KeyRing::open(&dir, true).unwrap();
        fs::remove_file(dir.join("index.key")).unwrap();
        let error = KeyRing::open(&dir, false).unwrap_err();
        assert!(
            matches!(&error, KeyRingError::KeyFileMissing { path } if path.ends_with("index.key"))
        );
    }

    #[test]
    fn insecure_permissions_are_refused() {
        let (_temp, dir) = key_dir();
        KeyRing::open(&dir, true).unwrap();
        let kek = dir.join("kek-v1.key");
        fs::set_permissions(&kek, fs::Permissions::from_mode(0o640)).unwrap();
        let error = KeyRing::open(&dir, false).unwrap_err();
        assert!(
            matches!(&error, KeyRingError::InsecurePermissions { mode: 0o640, path } if *path == kek)
        );
        assert!(error.to_string().contains("0640"), "{error}");
        fs::set_permissions(&kek, fs::Permissions::from_mode(0o604)).unwrap();
        assert!(matches!(
            KeyRing::open(&dir, true).unwrap_err(),
            KeyRingError::InsecurePermissions { .. }
        ));
        fs::set_permissions(&kek, fs::Permissions::from_mode(0o600)).unwrap();
        KeyRing::open(&dir, false).unwrap();

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        assert!(matches!(
            KeyRing::open(&dir, false).unwrap_err(),
            KeyRingError::InsecurePermissions { mode: 0o770, .. }
        ));
        // Readable (not writable) by others is fine for the directory.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        KeyRing::open(&dir, false).unwrap();
    }

    fn write_key(dir: &Path, name: &str, content: &str) {
        let path = dir.join(name);
        let _ = fs::remove_file(&path);
        write_private_file(&path, content.as_bytes()).unwrap();
    }

    #[test]
    fn malformed_key_files_are_refused() {
        let (_temp, dir) = key_dir();
        KeyRing::open(&dir, true).unwrap();
        let good = fs::read_to_string(dir.join("kek-v1.key")).unwrap();
        let key_line = good.lines().nth(2).unwrap().to_owned();
        let short_key = STANDARD.encode([7u8; 16]);
        for bad in [
            String::new(),
            format!("carevault-index-v1\n1\n{key_line}\n"),
            format!("carevault-kek-v1\n2\n{key_line}\n"),
            format!("carevault-kek-v1\n01\n{key_line}\n"),
            format!("carevault-kek-v1\n1\n{short_key}\n"),
            "carevault-kek-v1\n1\nnot base64!\n".to_owned(),
            format!("carevault-kek-v1\n1\n{key_line}\nextra\n"),
            format!("carevault-kek-v1\n1\n{key_line}\n{}", "x".repeat(300)),
        ] {
            write_key(&dir, "kek-v1.key", &bad);
            let error = KeyRing::open(&dir, false).unwrap_err();
            assert!(
                matches!(error, KeyRingError::Malformed { .. }),
                "{bad:?}: {error}"
            );
            assert!(!error.to_string().contains(&key_line));
        }
        write_key(&dir, "kek-v1.key", &good.replace('\n', "\r\n"));
        KeyRing::open(&dir, false).unwrap();

        write_key(&dir, "kek-v1.key", &good);
        write_key(&dir, "kek-v01.key", &good);
        assert!(matches!(
            KeyRing::open(&dir, false).unwrap_err(),
            KeyRingError::Malformed { .. }
        ));
        fs::remove_file(dir.join("kek-v01.key")).unwrap();
        // Unrelated files (the erasure ledger, editor backups) are ignored.
        write_key(&dir, "erasure-ledger.log", "whatever");
        write_key(&dir, "kek-v1.key.bak", "whatever");
        KeyRing::open(&dir, false).unwrap();
    }

    #[test]
    fn rotation_adds_a_version_and_keeps_the_old_ones() {
        let (_temp, dir) = key_dir();
        assert!(matches!(
            KeyRing::rotate(&dir).unwrap_err(),
            KeyRingError::DirectoryMissing { .. }
        ));
        KeyRing::open(&dir, true).unwrap();
        assert_eq!(KeyRing::rotate(&dir).unwrap(), 2);
        assert_eq!(KeyRing::rotate(&dir).unwrap(), 3);
        assert_eq!(mode_of(&dir.join("kek-v3.key")), 0o600);
        let ring = KeyRing::open(&dir, false).unwrap();
        assert_eq!(ring.versions(), vec![1, 2, 3]);
        assert_eq!(ring.current_version(), 3);
        // A retired version may be deleted; the rest still loads.
        fs::remove_file(dir.join("kek-v1.key")).unwrap();
        let ring = KeyRing::open(&dir, false).unwrap();
        assert_eq!(ring.versions(), vec![2, 3]);
        assert!(ring.wrapping_cipher(1).is_none());
    }

    #[test]
    fn creating_never_overwrites_an_existing_key() {
        let (_temp, dir) = key_dir();
        let ring = KeyRing::open(&dir, true).unwrap();
        assert!(!create_key_file(&dir, "kek-v1.key", KEK_FILE_HEADER, 1).unwrap());
        assert_eq!(
            KeyRing::open(&dir, true).unwrap().fingerprints(),
            ring.fingerprints()
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn concurrent_first_starts_agree_on_one_key() {
        let (_temp, dir) = key_dir();
        let rings: Vec<KeyRing> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| KeyRing::open(&dir, true).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for ring in &rings {
            assert_eq!(ring.fingerprints(), rings[0].fingerprints());
            assert_eq!(ring.index_fingerprint(), rings[0].index_fingerprint());
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn a_half_created_directory_is_completed_only_when_allowed() {
        let (_temp, dir) = key_dir();
        KeyRing::open(&dir, true).unwrap();
        let index_before = KeyRing::open(&dir, false)
            .unwrap()
            .index_fingerprint()
            .to_owned();
        fs::remove_file(dir.join("kek-v1.key")).unwrap();
        assert!(matches!(
            KeyRing::open(&dir, false).unwrap_err(),
            KeyRingError::KeyFileMissing { .. }
        ));
        let ring = KeyRing::open(&dir, true).unwrap();
        assert_eq!(ring.index_fingerprint(), index_before);
        assert_eq!(ring.versions(), vec![1]);
    }

    #[test]
    fn master_keys_derive_a_stable_ring() {
        let master = [42u8; 32];
        let a = KeyRing::from_master_key(&master).unwrap();
        let b =
            KeyRing::from_master_key_base64(&format!(" {}\n", STANDARD.encode(master))).unwrap();
        assert_eq!(a.fingerprints(), b.fingerprints());
        assert_eq!(a.index_fingerprint(), b.index_fingerprint());
        assert_eq!(a.versions(), vec![1]);
        assert_eq!(a.source(), &KeySource::MasterKey);
        let c = KeyRing::from_master_key(&[43u8; 32]).unwrap();
        assert_ne!(a.fingerprints(), c.fingerprints());
        assert_ne!(a.fingerprint(1), Some(a.index_fingerprint()));
        assert!(matches!(
            KeyRing::from_master_key(&[1u8; 31]).unwrap_err(),
            KeyRingError::MasterKeyTooShort { len: 31 }
        ));
        assert!(matches!(
            KeyRing::from_master_key_base64("not base64!").unwrap_err(),
            KeyRingError::MasterKeyNotBase64
        ));
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let master = [0x5Au8; 32];
        let ring = KeyRing::from_master_key(&master).unwrap();
        let debug = format!("{ring:?}");
        assert!(debug.contains(ring.index_fingerprint()));
        assert!(!debug.contains("5a5a5a"));
        assert!(!debug.contains(&STANDARD.encode(master)[..20]));
        assert!(!debug.to_lowercase().contains("aes"));
        assert!(!debug.to_lowercase().contains("hmac"));
    }
}
