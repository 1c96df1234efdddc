//! Tampering with the audit trail behind the server's back: each edit a database
//! administrator could make (after dropping the append-only triggers) makes
//! `carevault audit verify --checkpoint <saved checkpoints.log>` fail and name the first bad
//! sequence number (or, for a full rewrite, the checkpoint that no longer matches). An
//! untouched log verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use common::{carevault, child_stderr, logged};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use carevault_audit::{Frontier, encode_leaf, leaf_hash};
use carevault_core::audit::AuditFields;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

fn post_json(address: &str, path: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).ok();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A demo server that signs in and fails a few times, then stops gracefully (which signs a
/// final checkpoint). Returns the data dir.
fn make_log(root: &Path) -> PathBuf {
    let data = root.join("pristine");
    let mut child = carevault(&data)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(child_stderr())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first
        .split("serving at http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    for (user, password) in [
        ("admin", "admin123"),
        ("drsmith", "doctor123"),
        ("nurse", "wrong-one"),
        ("john", "patient123"),
    ] {
        post_json(
            &address,
            "/api/v1/auth/login",
            &format!(r#"{{"username":"{user}","password":"{password}"}}"#),
        );
    }
    // Give the checkpoint job a chance to sign an intermediate checkpoint, then add more.
    std::thread::sleep(Duration::from_millis(5500));
    for (user, password) in [
        ("reception", "staff123"),
        ("pharma", "bad-guess1"),
        ("auditor", "audit123"),
        ("admin", "admin123"),
    ] {
        post_json(
            &address,
            "/api/v1/auth/login",
            &format!(r#"{{"username":"{user}","password":"{password}"}}"#),
        );
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0");
    data
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn open(data: &Path) -> DatabaseConnection {
    let db = Database::connect(format!("sqlite://{}/carevault.db", data.display()))
        .await
        .unwrap();
    for trigger in [
        "audit_events_no_update",
        "audit_events_no_delete",
        "audit_checkpoints_no_update",
        "audit_checkpoints_no_delete",
    ] {
        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
            .await
            .unwrap();
    }
    db
}

async fn event_count(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_events",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn fields_of(db: &DatabaseConnection, seq: i64) -> AuditFields {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT * FROM audit_events WHERE seq = {seq}"),
        ))
        .await
        .unwrap()
        .unwrap();
    AuditFields {
        time_micros: row.try_get("", "recorded_at").unwrap(),
        actor_kind: row.try_get("", "actor_kind").unwrap(),
        actor_id: row.try_get("", "actor_id").unwrap(),
        actor_role: row.try_get("", "actor_role").unwrap(),
        action: row.try_get("", "action").unwrap(),
        resource_type: row.try_get("", "resource_type").unwrap(),
        resource_id: row.try_get("", "resource_id").unwrap(),
        patient_pseudonym: row.try_get("", "patient_pseudonym").unwrap(),
        outcome: row.try_get("", "outcome").unwrap(),
        reason: row.try_get("", "reason").unwrap(),
        request_id: row.try_get("", "request_id").unwrap(),
    }
}

fn quote(value: &Option<String>) -> String {
    value
        .as_ref()
        .map_or("NULL".into(), |v| format!("'{}'", v.replace('\'', "''")))
}

async fn insert_event(db: &DatabaseConnection, seq: i64, f: &AuditFields) {
    let hash = hex::encode(leaf_hash(&encode_leaf(seq as u64, &f.canonical_bytes())));
    db.execute_unprepared(&format!(
        "INSERT INTO audit_events (seq, recorded_at, actor_kind, actor_id, actor_role, action, resource_type, \
         resource_id, patient_pseudonym, outcome, reason, request_id, leaf_hash) VALUES \
         ({seq}, {}, '{}', {}, {}, '{}', '{}', {}, {}, '{}', {}, {}, '{hash}')",
        f.time_micros,
        f.actor_kind,
        quote(&f.actor_id),
        quote(&f.actor_role),
        f.action,
        f.resource_type,
        quote(&f.resource_id),
        quote(&f.patient_pseudonym),
        f.outcome,
        quote(&f.reason),
        quote(&f.request_id),
    ))
    .await
    .unwrap();
}

fn verify(data: &Path, saved: &Path) -> Output {
    carevault(data)
        .args(["audit", "verify", "--checkpoint"])
        .arg(saved)
        .output()
        .map(logged)
        .unwrap()
}

fn assert_fails_at(output: &Output, seq: i64, what: &str) {
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{what}: verify should fail; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(err.contains("FAILED"), "{what}: {err}");
    assert!(
        err.contains(&format!("sequence number {seq}")),
        "{what}: expected sequence number {seq}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_tampering_is_detected_and_named() {
    let root = tempfile::tempdir().unwrap();
    let pristine = make_log(root.path());
    let saved = root.path().join("saved-checkpoints.log");
    std::fs::copy(pristine.join("checkpoints").join("checkpoints.log"), &saved).unwrap();
    let saved_text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        saved_text.matches("— carevault/audit/").count() >= 2,
        "at least two checkpoints: {saved_text}"
    );

    // Untouched: verifies.
    let output = verify(&pristine, &saved);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("audit trail verified"));

    let scenario = |name: &str| {
        let dir = root.path().join(name);
        copy_dir(&pristine, &dir);
        dir
    };

    // Change one field of one event.
    let dir = scenario("modified");
    let db = open(&dir).await;
    let n = event_count(&db).await;
    assert!(n >= 14, "enough events: {n}");
    db.execute_unprepared("UPDATE audit_events SET outcome = 'denied' WHERE seq = 5")
        .await
        .unwrap();
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), 5, "one field changed");

    // Delete one event.
    let dir = scenario("deleted");
    let db = open(&dir).await;
    db.execute_unprepared("DELETE FROM audit_events WHERE seq = 6")
        .await
        .unwrap();
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), 6, "one event deleted");

    // Delete the last 10 events (and, to hide it, the tree state too).
    let dir = scenario("truncated");
    let db = open(&dir).await;
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE seq >= {}", n - 10))
        .await
        .unwrap();
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), n - 10, "last 10 deleted");

    // Swap two events.
    let dir = scenario("swapped");
    let db = open(&dir).await;
    db.execute_unprepared("UPDATE audit_events SET seq = -1 WHERE seq = 3")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_events SET seq = 3 WHERE seq = 8")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_events SET seq = 8 WHERE seq = -1")
        .await
        .unwrap();
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), 3, "two events swapped");

    // Insert one event at the end, with a correctly computed hash.
    let dir = scenario("inserted-at-end");
    let db = open(&dir).await;
    let mut forged = fields_of(&db, 2).await;
    forged.request_id = Some("forged".into());
    insert_event(&db, n, &forged).await;
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), n, "one event appended");

    // Insert one event in the middle, renumbering the later ones.
    let dir = scenario("inserted-in-middle");
    let db = open(&dir).await;
    db.execute_unprepared("UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= 4")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_events SET seq = seq - 999999 WHERE seq >= 1000000")
        .await
        .unwrap();
    insert_event(&db, 4, &forged).await;
    db.close().await.unwrap();
    assert_fails_at(&verify(&dir, &saved), 4, "one event inserted in the middle");

    // Rewrite the whole table with recomputed hashes, a new tree state and no stored
    // checkpoints; delete the data dir's checkpoint file too.
    let dir = scenario("rewritten");
    let db = open(&dir).await;
    let mut frontier = Frontier::new();
    let mut rows = Vec::new();
    for seq in 0..n {
        let mut fields = fields_of(&db, seq).await;
        fields.request_id = Some(format!("rewritten-{seq}"));
        frontier.push(leaf_hash(&encode_leaf(
            seq as u64,
            &fields.canonical_bytes(),
        )));
        rows.push(fields);
    }
    db.execute_unprepared("DELETE FROM audit_events")
        .await
        .unwrap();
    for (seq, fields) in rows.iter().enumerate() {
        insert_event(&db, seq as i64, fields).await;
    }
    db.execute_unprepared(&format!(
        "UPDATE audit_state SET frontier = '{}', tree_size = {n}",
        hex::encode(frontier.to_bytes())
    ))
    .await
    .unwrap();
    db.execute_unprepared("DELETE FROM audit_checkpoints")
        .await
        .unwrap();
    db.close().await.unwrap();
    std::fs::remove_file(dir.join("checkpoints").join("checkpoints.log")).unwrap();
    // Without the saved checkpoints the forgery is self-consistent…
    let output = carevault(&dir)
        .args(["audit", "verify"])
        .output()
        .map(logged)
        .unwrap();
    assert!(
        output.status.success(),
        "a full rewrite is invisible without outside checkpoints"
    );
    // …with them, the first checkpoint that no longer matches is named.
    let output = verify(&dir, &saved);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        err.contains("checkpoint #1") && err.contains("no longer matches"),
        "{err}"
    );
    assert!(err.contains("sequence number 0"), "{err}");

    // A checkpoint whose signature was altered.
    let forged_checkpoints = root.path().join("forged-checkpoints.log");
    let mut text = saved_text.clone();
    let i = text.find("\n— ").unwrap();
    let sig_start = text[i..].rfind(' ').map(|j| i + j + 10).unwrap();
    let replacement = if &text[sig_start..=sig_start] == "A" {
        "B"
    } else {
        "A"
    };
    text.replace_range(sig_start..=sig_start, replacement);
    std::fs::write(&forged_checkpoints, text).unwrap();
    let output = verify(&pristine, &forged_checkpoints);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(err.contains("signature"), "{err}");
}

#[test]
fn verify_needs_the_key_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    assert!(
        carevault(&data)
            .arg("migrate")
            .output()
            .map(logged)
            .unwrap()
            .status
            .success()
    );
    let output = carevault(&data)
        .args(["audit", "verify"])
        .output()
        .map(logged)
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("audit signing key"), "{err}");
    assert!(
        !data.join("keys").join("audit-signing.key").exists(),
        "verify must not create a key"
    );
}
