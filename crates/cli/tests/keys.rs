//! The key directory from the operator's side: a server refuses to start with a missing or
//! foreign key directory (and changes nothing), and `carevault keys rotate` re-wraps every
//! patient data key while a running server keeps reading and registering patients.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{carevault, create_admin, logged, request, sign_in, start};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file of the data directory (not the key directory, not SQLite's transient `-wal` and
/// `-shm` files, which any connection creates), with a hash of its bytes.
fn snapshot(data: &Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut files: Vec<(String, u64)> = std::fs::read_dir(data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .filter(|(name, _)| !name.ends_with("-wal") && !name.ends_with("-shm"))
        .map(|(name, path)| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(path).unwrap().hash(&mut hasher);
            (name, hasher.finish())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_missing_or_foreign_key_directory_is_refused_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    create_admin(&data);
    let other = root.path().join("other");
    create_admin(&other);
    let before = snapshot(&data);

    // Missing: the key directory the database was created with is gone (moved elsewhere).
    let missing = root.path().join("nowhere");
    let output = logged(
        carevault(&data)
            .arg("--key-dir")
            .arg(&missing)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .output()
            .unwrap(),
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("is missing"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
    assert!(!missing.exists(), "no key directory may be created");
    assert_eq!(snapshot(&data), before, "the data directory changed");

    // Foreign: another installation's keys.
    let output = logged(
        carevault(&data)
            .arg("--key-dir")
            .arg(other.join("keys"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .output()
            .unwrap(),
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("does not match"), "{message}");
    assert!(message.contains("fingerprint"), "{message}");
    assert_eq!(snapshot(&data), before, "the data directory changed");

    // An emptied key directory is "does not match … holds no keys", not a fresh start.
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = logged(
        carevault(&data)
            .arg("--key-dir")
            .arg(&empty)
            .args(["keys", "status"])
            .output()
            .unwrap(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("holds no keys"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "no key may be created"
    );
    assert_eq!(snapshot(&data), before);

    // The right keys still work.
    let output = logged(carevault(&data).args(["keys", "status"]).output().unwrap());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("current"), "{}", stdout(&output));
}

#[test]
fn synthetic_patients_go_only_into_demo_or_scratch_databases() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    create_admin(&data);
    let output = logged(
        carevault(&data)
            .args(["demo", "seed", "--patients", "3"])
            .output()
            .unwrap(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("not created by `serve --demo`"),
        "{}",
        stderr(&output)
    );
    let output = logged(
        carevault(&data)
            .args([
                "demo",
                "seed",
                "--patients",
                "3",
                "--seed",
                "1",
                "--allow-real-database",
            ])
            .output()
            .unwrap(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("Registered 3 synthetic patients"),
        "{}",
        stdout(&output)
    );
    let output = logged(carevault(&data).args(["keys", "status"]).output().unwrap());
    let status = stdout(&output);
    let v1 = status
        .lines()
        .find(|line| line.starts_with("v1 "))
        .unwrap_or_default();
    assert!(v1.contains(" 3 ") && v1.ends_with("current"), "{status}");
}

fn register(address: &str, token: &str, n: usize) -> Result<String, String> {
    let body = serde_json::json!({
        "given_name": format!("Load{n}"),
        "family_name": "Rotation",
        "date_of_birth": "1970-01-01",
        "sex": "female",
        "phone": format!("0770 0{:06}", n),
        "register_anyway": true,
    })
    .to_string();
    let (status, response) =
        request(address, "POST", "/api/v1/patients", Some(token), &body).unwrap_or_default();
    if status != 201 {
        return Err(format!("register → {status} {response}"));
    }
    let json: serde_json::Value = serde_json::from_str(&response).map_err(|e| e.to_string())?;
    Ok(json["id"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn keys_rotate_rewraps_every_data_key_while_the_server_serves() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut command = carevault(&data);
    command.args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
    let server = start(command);
    let address = server.address.clone();
    let token = sign_in(&address, "admin", "admin123");
    let first = register(&address, &token, 0).unwrap();

    // Load: two clients registering and reading patients until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|worker| {
            let (address, token, stop, first) =
                (address.clone(), token.clone(), stop.clone(), first.clone());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut errors = Vec::new();
                let mut n = (worker + 1) * 100_000;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match register(&address, &token, n) {
                        Ok(id) => ids.push(id),
                        Err(e) => errors.push(e),
                    }
                    for id in [
                        first.as_str(),
                        ids.last().map_or(first.as_str(), String::as_str),
                    ] {
                        let (status, body) = request(
                            &address,
                            "GET",
                            &format!("/api/v1/patients/{id}"),
                            Some(&token),
                            "",
                        )
                        .unwrap_or_default();
                        if status != 200 {
                            errors.push(format!("read → {status} {body}"));
                        }
                    }
                    let (status, body) = request(
                        &address,
                        "GET",
                        "/api/v1/patients?q=Rotation&per_page=5",
                        Some(&token),
                        "",
                    )
                    .unwrap_or_default();
                    if status != 200 {
                        errors.push(format!("search → {status} {body}"));
                    }
                }
                (ids, errors)
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(500));
    let output = logged(carevault(&data).args(["keys", "rotate"]).output().unwrap());
    assert!(output.status.success(), "{}", stderr(&output));
    let rotated = stdout(&output);
    assert!(rotated.contains("KEK v2 is now current"), "{rotated}");
    assert!(
        rotated.contains("0 still under older versions"),
        "{rotated}"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);

    let mut ids = vec![first];
    for worker in workers {
        let (mut worker_ids, errors) = worker.join().unwrap();
        assert!(
            errors.is_empty(),
            "requests failed during rotation: {errors:?}"
        );
        ids.append(&mut worker_ids);
    }
    assert!(ids.len() > 3, "the load ran: {} patients", ids.len());

    // The rotation waited until the server had picked up v2, so nothing registered during
    // or after it is under v1: v1 is retired.
    let output = logged(carevault(&data).args(["keys", "status"]).output().unwrap());
    assert!(output.status.success(), "{}", stderr(&output));
    let status = stdout(&output);
    let v1 = status
        .lines()
        .find(|line| line.starts_with("v1 "))
        .unwrap_or_default();
    let v2 = status
        .lines()
        .find(|line| line.starts_with("v2 "))
        .unwrap_or_default();
    assert!(v1.ends_with("retired") && v1.contains(" 0 "), "{status}");
    assert!(v2.ends_with("current"), "{status}");

    // Every patient is readable under the new KEK.
    for id in &ids {
        let (status, body) = request(
            &address,
            "GET",
            &format!("/api/v1/patients/{id}"),
            Some(&token),
            "",
        )
        .unwrap_or_default();
        assert_eq!(status, 200, "{id}: {body}");
    }
    drop(server);
}
