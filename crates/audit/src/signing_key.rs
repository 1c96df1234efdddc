//! The log's Ed25519 checkpoint signing key on disk: created once with random
//! bytes, owner-only permissions, and loaded on every later start.
//!
//! # File format (version 1)
//!
//! ```text
//! carevault-audit-ed25519-v1\n
//! <32-byte Ed25519 seed, standard padded base64>\n
//! ```
//!
//! The file must be a regular file without any group or other permission bits
//! (mode `0600` or stricter); it is created that way, written to a temporary
//! file first and linked into place, so a crash never leaves a half-written
//! key behind and two processes starting at once end up with the same key.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use thiserror::Error;
use zeroize::Zeroizing;

/// First line of the key file.
const KEY_FILE_HEADER: &str = "carevault-audit-ed25519-v1";
/// Larger key files are rejected without reading them whole.
const MAX_KEY_FILE_LEN: u64 = 1024;

/// Why the signing key file could not be loaded or created.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// Reading, creating or writing the file failed.
    #[error("signing key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file can be read by group or others.
    #[error(
        "signing key file {path} has mode {mode:04o}; it must not be accessible by group or others (chmod 600)"
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is not a regular file.
    #[error("signing key file {path} is not a regular file")]
    NotAFile {
        /// The key file.
        path: PathBuf,
    },
    /// The content does not follow the key file format.
    #[error("signing key file {path} is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate a signing key: {0}")]
    Random(getrandom::Error),
}

/// Loads the Ed25519 signing key stored at `path`, creating it (random seed,
/// mode 0600) if the file does not exist.
///
/// # Errors
/// [`KeyFileError`] when the file cannot be read or created, is accessible by
/// group or others, or is malformed. An existing file is never overwritten.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    match load_signing_key(path) {
        Err(KeyFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            create_signing_key(path)
        }
        other => other,
    }
}

/// Loads an existing key file (see the module documentation).
///
/// # Errors
/// As [`load_or_create_signing_key`]; a missing file is [`KeyFileError::Io`]
/// with [`io::ErrorKind::NotFound`].
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let io_error = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let malformed = |reason| KeyFileError::Malformed {
        path: path.to_owned(),
        reason,
    };
    if metadata.len() > MAX_KEY_FILE_LEN {
        return Err(malformed("file is too large"));
    }
    let mut content = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_LEN)
        .read_to_end(&mut content)
        .map_err(io_error)?;
    let text = std::str::from_utf8(&content).map_err(|_| malformed("file is not UTF-8 text"))?;
    let seed_line = text
        .strip_prefix(KEY_FILE_HEADER)
        .and_then(|rest| rest.strip_prefix('\n'))
        .ok_or(malformed(
            "first line is not \"carevault-audit-ed25519-v1\"",
        ))?
        .strip_suffix('\n')
        .ok_or(malformed("file does not end with a newline"))?;
    let mut seed = Zeroizing::new([0u8; 32]);
    let decoded = BASE64
        .decode_slice(seed_line, &mut seed[..])
        .map_err(|_| malformed("second line is not a base64 32-byte seed"))?;
    if decoded != 32 {
        return Err(malformed("second line is not a base64 32-byte seed"));
    }
    Ok(SigningKey::from_bytes(&seed))
}

/// Creates a new key file; if another process created it first, loads theirs.
fn create_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let io_error = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut seed[..]).map_err(KeyFileError::Random)?;
    let mut content = Zeroizing::new(format!("{KEY_FILE_HEADER}\n"));
    BASE64.encode_string(&seed[..], &mut content);
    content.push('\n');

    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(KeyFileError::Random)?;
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".tmp-{}", hex::encode(suffix)));
    let temp_path = PathBuf::from(temp_name);

    let written = write_new_file(&temp_path, content.as_bytes()).and_then(|()| {
        // hard_link fails if `path` exists: never clobbers a key created meanwhile.
        fs::hard_link(&temp_path, path)
    });
    // Best effort: the temporary name is only a staging area.
    let _ = fs::remove_file(&temp_path);
    match written {
        Ok(()) => {
            sync_parent_directory(path).map_err(io_error)?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => load_signing_key(path),
        Err(error) => Err(io_error(error)),
    }
}

/// Writes `content` to a new file with mode 0600 and syncs it.
fn write_new_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

fn sync_parent_directory(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => File::open(parent)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).unwrap();
        let dir =
            std::env::temp_dir().join(format!("carevault-audit-{name}-{}", hex::encode(suffix)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn creates_then_loads_the_same_key() {
        let dir = temp_dir("key");
        let path = dir.join("audit.key");
        let created = load_or_create_signing_key(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load_or_create_signing_key(&path).unwrap();
        assert_eq!(created.to_bytes(), loaded.to_bytes());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("carevault-audit-ed25519-v1\n"));
        assert_eq!(text.lines().count(), 2);
        // No staging file left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_open_permissions_and_bad_content() {
        let dir = temp_dir("bad");
        let path = dir.join("audit.key");
        load_or_create_signing_key(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            load_or_create_signing_key(&path),
            Err(KeyFileError::InsecurePermissions { mode: 0o640, .. })
        ));

        let write = |content: &str| {
            fs::remove_file(&path).ok();
            write_new_file(&path, content.as_bytes()).unwrap();
        };
        let good_seed = BASE64.encode([7u8; 32]);
        write(&format!("carevault-audit-ed25519-v1\n{good_seed}\n"));
        assert_eq!(
            load_or_create_signing_key(&path).unwrap().to_bytes(),
            [7u8; 32]
        );
        for bad in [
            String::new(),
            format!("carevault-audit-ed25519-v2\n{good_seed}\n"),
            format!("carevault-audit-ed25519-v1\n{good_seed}"),
            format!("carevault-audit-ed25519-v1\n{good_seed}\n\n"),
            format!("carevault-audit-ed25519-v1\n{}\n", BASE64.encode([7u8; 31])),
            format!("carevault-audit-ed25519-v1\n{}\n", BASE64.encode([7u8; 33])),
            "carevault-audit-ed25519-v1\nnot base64!\n".to_owned(),
        ] {
            write(&bad);
            assert!(
                matches!(
                    load_or_create_signing_key(&path),
                    Err(KeyFileError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            load_or_create_signing_key(&dir),
            Err(KeyFileError::NotAFile { .. } | KeyFileError::Io { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
