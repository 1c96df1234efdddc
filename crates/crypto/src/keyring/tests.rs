//! Tests of a key ring on its key directory: creating, reloading, rotating, refusing what is
//! missing, insecure or malformed; and rings derived from a master key.
#![cfg(test)]

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
    assert!(matches!(&error, KeyRingError::KeyFileMissing { path } if path.ends_with("index.key")));
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
    let b = KeyRing::from_master_key_base64(&format!(" {}\n", STANDARD.encode(master))).unwrap();
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
