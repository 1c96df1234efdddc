//! Why a key ring could not be opened, created, rotated or checked ([`KeyRingError`]).

use std::io;
use std::path::PathBuf;

use super::MIN_MASTER_KEY_LEN;

/// Why a key ring could not be opened, created, rotated or checked. Every message is one line,
/// names the file or directory, and never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// The key directory does not exist (or is not a directory).
    #[error("key directory {} does not exist or is not a directory", .dir.display())]
    DirectoryMissing {
        /// The directory that was expected.
        dir: PathBuf,
    },
    /// The key directory exists but holds no key files.
    #[error("key directory {} holds no keys (neither index.key nor kek-v<N>.key)", .dir.display())]
    NoKeys {
        /// The empty directory.
        dir: PathBuf,
    },
    /// One of the two kinds of key file is present and the other is not.
    #[error("key file {} is missing; the key directory is incomplete", .path.display())]
    KeyFileMissing {
        /// The file that should exist (for a missing KEK, `kek-v1.key`).
        path: PathBuf,
    },
    /// A key file is readable by group or others, or the directory is writable by them.
    #[error(
        "{} has mode {mode:04o}; key files must be 0600 and the key directory must not be group- or world-writable",
        .path.display()
    )]
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file (or a file named like one) does not have the documented format.
    #[error("key file {} is malformed: {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: &'static str,
    },
    /// Reading or writing the key directory failed.
    #[error("key directory I/O on {} failed: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another process created the next KEK version at the same moment.
    #[error(
        "another process created kek-v{version}.key concurrently; check `keys status` before rotating again"
    )]
    ConcurrentRotation {
        /// The version both tried to create.
        version: u32,
    },
    /// The key directory already holds `u32::MAX` KEK versions.
    #[error("no KEK version is left after {version}")]
    VersionsExhausted {
        /// The current version.
        version: u32,
    },
    /// The supplied master key is too short to be a key.
    #[error(
        "the master key is {len} bytes; at least {MIN_MASTER_KEY_LEN} random bytes are required"
    )]
    MasterKeyTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The supplied master key text is not standard base64.
    #[error("the master key is not standard base64")]
    MasterKeyNotBase64,
    /// A key differs from the one whose fingerprint the database holds.
    #[error(
        "the {key} does not match the database (fingerprint {actual}, database expects {expected}); wrong key directory or master key?"
    )]
    FingerprintMismatch {
        /// `index key` or `KEK v<N>`.
        key: String,
        /// The fingerprint the database holds.
        expected: String,
        /// The fingerprint of the key at hand.
        actual: String,
    },
    /// The database refers to a KEK version the key ring does not have.
    #[error("the database expects KEK v{version}, which is not in the key ring")]
    KekVersionMissing {
        /// The missing version.
        version: u32,
    },
    /// HKDF or HMAC refused a key length (cannot happen with the fixed lengths used here).
    #[error("key derivation failed")]
    KeyDerivation,
}
