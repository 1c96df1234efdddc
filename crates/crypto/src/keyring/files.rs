//! The key directory on disk: checking it, listing its key files, reading and checking one,
//! and creating one atomically with private permissions (the format and the rules are in the
//! docs of the `keyring` module, `mod.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::{
    INDEX_KEY_FILE_NAME, KEK_FILE_PREFIX, KEY_FILE_SUFFIX, KEY_LEN, KeyRingError, MAX_KEY_FILE_LEN,
};

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> KeyRingError + '_ {
    move |source| KeyRingError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Checks that `dir` is a directory that others cannot write, creating it (`0700`) if allowed.
pub(super) fn ensure_directory(dir: &Path, create_if_missing: bool) -> Result<(), KeyRingError> {
    match fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => check_directory_permissions(dir, &metadata),
        Ok(_) => Err(KeyRingError::DirectoryMissing {
            dir: dir.to_owned(),
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if !create_if_missing {
                return Err(KeyRingError::DirectoryMissing {
                    dir: dir.to_owned(),
                });
            }
            create_private_directory(dir).map_err(io_error(dir))
        }
        Err(error) => Err(io_error(dir)(error)),
    }
}

/// What [`list_key_files`] found.
pub(super) struct KeyFileListing {
    pub(super) has_index_key: bool,
    pub(super) kek_versions: Vec<u32>,
}

pub(super) fn list_key_files(dir: &Path) -> Result<KeyFileListing, KeyRingError> {
    let mut listing = KeyFileListing {
        has_index_key: false,
        kek_versions: Vec::new(),
    };
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if name == INDEX_KEY_FILE_NAME {
            listing.has_index_key = true;
        } else if let Some(version) = parse_kek_file_name(name) {
            let version = version.ok_or_else(|| KeyRingError::Malformed {
                path: entry.path(),
                reason: "the version in the file name is not a decimal number from 1 without leading zeros",
            })?;
            listing.kek_versions.push(version);
        }
    }
    listing.kek_versions.sort_unstable();
    Ok(listing)
}

/// `None` when `name` is not a KEK file name at all; `Some(None)` when it is named like one
/// but its version is invalid.
fn parse_kek_file_name(name: &str) -> Option<Option<u32>> {
    let version = name
        .strip_prefix(KEK_FILE_PREFIX)?
        .strip_suffix(KEY_FILE_SUFFIX)?;
    Some(parse_version(version))
}

/// A version number: decimal, from 1, no sign, no leading zeros.
fn parse_version(text: &str) -> Option<u32> {
    let canonical = !text.is_empty()
        && !text.starts_with('0')
        && text.bytes().all(|byte| byte.is_ascii_digit());
    if canonical { text.parse().ok() } else { None }
}

/// Reads and checks one key file (format in the module docs).
pub(super) fn read_key_file(
    path: &Path,
    header: &str,
    version: u32,
) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyRingError> {
    let malformed = |reason: &'static str| KeyRingError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let mut file = File::open(path).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            KeyRingError::KeyFileMissing {
                path: path.to_owned(),
            }
        } else {
            io_error(path)(error)
        }
    })?;
    let metadata = file.metadata().map_err(io_error(path))?;
    if !metadata.is_file() {
        return Err(malformed("not a regular file"));
    }
    check_file_permissions(path, &metadata)?;

    let mut content = Zeroizing::new([0u8; MAX_KEY_FILE_LEN + 1]);
    let mut len = 0;
    while let Some(free) = content.get_mut(len..)
        && !free.is_empty()
    {
        match file.read(free) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(io_error(path)(error)),
        }
    }
    if len > MAX_KEY_FILE_LEN {
        return Err(malformed("longer than 256 bytes"));
    }
    let text = content
        .get(..len)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or_else(|| malformed("not UTF-8 text"))?;

    let mut lines = text.lines();
    if lines.next() != Some(header) {
        return Err(malformed("the first line is not the expected header"));
    }
    if lines.next().and_then(parse_version) != Some(version) {
        return Err(malformed(
            "the second line is not the version in the file name",
        ));
    }
    let encoded = lines
        .next()
        .ok_or_else(|| malformed("the key line is missing"))?;
    if lines.next().is_some() {
        return Err(malformed("more than three lines"));
    }
    let mut decoded = Zeroizing::new([0u8; 48]);
    let decoded_len = STANDARD
        .decode_slice(encoded, &mut decoded[..])
        .map_err(|_| malformed("the key line is not standard base64"))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    match decoded.get(..decoded_len) {
        Some(bytes) if bytes.len() == KEY_LEN => key.copy_from_slice(bytes),
        _ => return Err(malformed("the key is not 32 bytes")),
    }
    Ok(key)
}

/// Generates a key and writes it to `dir/file_name` atomically (temporary file + hard link).
/// Returns `false`, leaving the existing file alone, when `file_name` already exists.
pub(super) fn create_key_file(
    dir: &Path,
    file_name: &str,
    header: &str,
    version: u32,
) -> Result<bool, KeyRingError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    crate::fill_random(&mut key[..]);
    let mut content = Zeroizing::new(String::with_capacity(MAX_KEY_FILE_LEN));
    content.push_str(header);
    content.push('\n');
    content.push_str(&version.to_string());
    content.push('\n');
    STANDARD.encode_string(&key[..], &mut content);
    content.push('\n');

    let final_path = dir.join(file_name);
    let temp_path = dir.join(format!(
        ".{file_name}.{}.tmp",
        hex::encode(crate::random_bytes::<8>())
    ));
    let written = write_private_file(&temp_path, content.as_bytes());
    let linked = written.and_then(|()| fs::hard_link(&temp_path, &final_path));
    // The temporary name holds either a second link to the final file or an unused key.
    let removed = fs::remove_file(&temp_path);
    match linked {
        Ok(()) => {
            removed.map_err(io_error(&temp_path))?;
            sync_directory(dir).map_err(io_error(dir))?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(io_error(&final_path)(error)),
    }
}

/// Creates `path` (which must not exist) with mode `0600`, writes `content` and fsyncs it.
pub(super) fn write_private_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask may only have removed bits; make the mode exact.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(content)?;
    file.sync_all()
}

fn create_private_directory(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes a new directory entry durable.
fn sync_directory(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(unix)]
fn check_file_permissions(path: &Path, metadata: &fs::Metadata) -> Result<(), KeyRingError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyRingError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn check_directory_permissions(dir: &Path, metadata: &fs::Metadata) -> Result<(), KeyRingError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(KeyRingError::InsecurePermissions {
            path: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_file_permissions(_path: &Path, _metadata: &fs::Metadata) -> Result<(), KeyRingError> {
    Ok(())
}

#[cfg(not(unix))]
fn check_directory_permissions(_dir: &Path, _metadata: &fs::Metadata) -> Result<(), KeyRingError> {
    Ok(())
}
