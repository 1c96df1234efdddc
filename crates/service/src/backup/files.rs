//! The backup directory: file names, writing, listing and pruning backup files.

use super::*;

/// The file name of a backup made at `at`: `carevault-YYYYMMDDTHHMMSSZ.cvbak`.
pub fn backup_file_name(at: DateTime<Utc>) -> String {
    format!("carevault-{}.{FILE_EXTENSION}", at.format("%Y%m%dT%H%M%SZ"))
}

/// Creates `dir` (and parents) `0700` if missing.
pub(super) fn ensure_backup_dir(dir: &Path) -> Result<(), BackupError> {
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
pub(super) fn free_backup_path(dir: &Path, at: DateTime<Utc>) -> PathBuf {
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
pub(super) fn prune_backups(dir: &Path, keep: usize) -> Result<usize, BackupError> {
    let files = list_backup_files(dir)?;
    let mut deleted = 0;
    for file in files.iter().skip(keep.max(1)) {
        let path = dir.join(&file.name);
        std::fs::remove_file(&path).map_err(io_error(&path))?;
        deleted += 1;
    }
    Ok(deleted)
}
