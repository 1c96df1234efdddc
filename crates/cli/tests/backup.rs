//! `carevault backup create | verify | restore` from the operator's side: a backup of one
//! data directory restores into a fresh one (and into PostgreSQL when configured) with the
//! same key directory, after which the accounts are there and the audit trail verifies; a
//! file with one flipped byte fails `verify` and `restore`, and the restore creates nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ScratchDatabase, carevault, create_admin, logged};

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run(data: &Path, args: &[&str]) -> Output {
    logged(carevault(data).args(args).output().unwrap())
}

fn only_backup(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cvbak"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn backup_verify_and_restore_into_a_fresh_data_directory() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    create_admin(&source);
    let keys = source.join("keys");
    let keys_arg = keys.to_str().unwrap();

    let created = run(&source, &["backup", "create"]);
    assert!(created.status.success(), "{}", text(&created));
    assert!(
        text(&created).contains("Restore drill passed"),
        "{}",
        text(&created)
    );
    let file = only_backup(&source.join("backups"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let file_arg = file.to_str().unwrap();

    let verified = run(&source, &["backup", "verify", file_arg]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("is intact"), "{}", text(&verified));

    // One flipped byte: verify and restore fail, and the restore creates nothing.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    let damaged = root.path().join("damaged.cvbak");
    std::fs::write(&damaged, &bytes).unwrap();
    let damaged_arg = damaged.to_str().unwrap();
    let refused = run(&source, &["backup", "verify", damaged_arg]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("damaged or was not made with these keys")
            && text(&refused).contains("fails authentication"),
        "{}",
        text(&refused)
    );
    let target = root.path().join("target");
    let refused = run(
        &target,
        &["--key-dir", keys_arg, "backup", "restore", damaged_arg],
    );
    assert!(!refused.status.success());
    assert!(text(&refused).contains("damaged"), "{}", text(&refused));
    assert!(!target.exists(), "a refused restore creates nothing");

    // The real file restores into a fresh data directory with the same keys.
    let restored = run(
        &target,
        &["--key-dir", keys_arg, "backup", "restore", file_arg],
    );
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        text(&restored).contains("every table matches the manifest"),
        "{}",
        text(&restored)
    );
    let users = run(&target, &["--key-dir", keys_arg, "user", "list"]);
    assert!(users.status.success(), "{}", text(&users));
    assert!(text(&users).contains("admin"), "{}", text(&users));
    let audit = run(&target, &["--key-dir", keys_arg, "audit", "verify"]);
    assert!(audit.status.success(), "{}", text(&audit));

    // A second restore into the same (now populated) database is refused.
    let again = run(
        &target,
        &["--key-dir", keys_arg, "backup", "restore", file_arg],
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    // Without the keys nothing can be read.
    let other = run(&root.path().join("other"), &["backup", "verify", file_arg]);
    assert!(!other.status.success());

    // SQLite to PostgreSQL: the same file restores into an empty PostgreSQL database.
    if let Ok(url) = std::env::var("CAREVAULT_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
        let scratch = ScratchDatabase::create(&url);
        let restored = run(
            &root.path().join("pg"),
            &[
                "--key-dir",
                keys_arg,
                "--database-url",
                &scratch.url,
                "backup",
                "restore",
                file_arg,
            ],
        );
        assert!(restored.status.success(), "{}", text(&restored));
        let users = run(
            &root.path().join("pg"),
            &[
                "--key-dir",
                keys_arg,
                "--database-url",
                &scratch.url,
                "user",
                "list",
            ],
        );
        assert!(text(&users).contains("admin"), "{}", text(&users));
    }
}
