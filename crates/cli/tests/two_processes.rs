//! Two `carevault serve` processes on one database, as behind a load balancer: a session
//! signed in through one works in the other; every write made through one is read through the
//! other at once; and what ends access ends it in both — at once for what nothing caches (a
//! care-team member taken off, an erasure), and within the session cache's bound (1 s) in the
//! other process for a signed-out session and a disabled account. On SQLite (two processes on
//! one file), and on PostgreSQL and MariaDB when their test URLs are set.
//!
//! The in-process twin, `crates/web/tests/it/session_cache.rs`, covers the same changes and
//! the rest (a reset password, a revoked share, an ended break-the-glass grant) with two
//! service instances and a test clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ScratchDatabase, Server, backend_url, carevault, logged, request, sign_in, start};

/// The session cache's bound (`session_cache_max_age`), and a margin for the clock's grain.
const SESSION_BOUND: Duration = Duration::from_millis(1_000 + 200);

/// `carevault` on this data directory and (unless SQLite) database.
fn command(data: &Path, database_url: Option<&str>) -> Command {
    let mut command = carevault(data);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command
}

fn serve(data: &Path, database_url: Option<&str>) -> Server {
    let mut serve = command(data, database_url);
    serve.args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
    start(serve)
}

fn get(address: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    call(address, "GET", path, token, "")
}

fn call(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let (status, body) = request(address, method, path, Some(token), body)
        .unwrap_or_else(|| panic!("{method} {path}: the server is gone"));
    (status, serde_json::from_str(&body).unwrap_or_default())
}

/// Registers a patient through `address` as `token`; answers its id.
fn register(address: &str, token: &str, given_name: &str) -> String {
    let body = serde_json::json!({
        "given_name": given_name,
        "family_name": "Twoprocess",
        "date_of_birth": "1971-03-04",
        "sex": "female",
        "register_anyway": true,
    });
    let (status, json) = call(
        address,
        "POST",
        "/api/v1/patients",
        token,
        &body.to_string(),
    );
    assert_eq!(status, 201, "registration through {address}: {json}");
    json["id"].as_str().unwrap().to_owned()
}

/// The status of reading patient `id` through `address` as `token`, and the given name read
/// (none in a masked view).
fn read(address: &str, token: &str, id: &str) -> (u16, Option<String>) {
    let (status, json) = get(address, &format!("/api/v1/patients/{id}"), token);
    (status, json["given_name"].as_str().map(str::to_owned))
}

/// The given name read (none in a masked view), asserting that the read itself succeeded.
fn given_name(address: &str, token: &str, id: &str) -> Option<String> {
    let (status, name) = read(address, token, id);
    assert_eq!(status, 200, "reading {id} through {address}");
    name
}

/// Whether `token` is still a session in the process at `address`.
fn signed_in(address: &str, token: &str) -> bool {
    match get(address, "/api/v1/auth/me", token) {
        (200, _) => true,
        (401, _) => false,
        (status, json) => panic!("/auth/me answered {status}: {json}"),
    }
}

/// Waits until `bound` has passed since `since`: a cache entry made before `since` is older
/// than its bound by then, whatever the machine's speed.
fn wait_past(since: Instant, bound: Duration) {
    let elapsed = since.elapsed();
    if elapsed < bound {
        std::thread::sleep(bound - elapsed);
    }
}

fn two_processes_serve_as_one(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = serve(&data, database_url);
    let second = serve(&data, database_url);
    let (a, b) = (first.address.as_str(), second.address.as_str());

    // A session made in one process works in the other.
    let reception = sign_in(a, "reception", "staff123");
    let admin = sign_in(b, "admin", "admin123");
    assert!(signed_in(b, &reception) && signed_in(a, &admin));

    // Every write is read through the other process at once.
    let ada = register(a, &reception, "Ada");
    assert_eq!(given_name(b, &reception, &ada).as_deref(), Some("Ada"));
    let bea = register(b, &reception, "Bea");
    assert_eq!(given_name(a, &reception, &bea).as_deref(), Some("Bea"));
    let (status, found) = get(b, "/api/v1/patients?q=Twoprocess", &reception);
    assert_eq!((status, found["total"].as_u64()), (200, Some(2)), "{found}");

    // A care-team member put on in one process and taken off in the other: nothing caches
    // access to a patient, so both processes agree at once.
    let doctor = sign_in(a, "drsmith", "doctor123");
    assert_eq!(
        given_name(b, &doctor, &ada),
        None,
        "not on the care team yet"
    );
    let team = serde_json::json!({ "username": "drsmith" }).to_string();
    let (status, members) = call(
        b,
        "POST",
        &format!("/api/v1/patients/{ada}/care-team"),
        &reception,
        &team,
    );
    assert_eq!(status, 200, "{members}");
    for address in [a, b] {
        assert_eq!(
            given_name(address, &doctor, &ada).as_deref(),
            Some("Ada"),
            "on the team, through {address}"
        );
    }
    let smith = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "drsmith")
        .and_then(|m| m["user_id"].as_str())
        .unwrap()
        .to_owned();
    let (status, json) = call(
        a,
        "DELETE",
        &format!("/api/v1/patients/{ada}/care-team/{smith}"),
        &reception,
        "",
    );
    assert_eq!(status, 200, "{json}");
    for address in [a, b] {
        assert_eq!(
            given_name(address, &doctor, &ada),
            None,
            "off the team, through {address}"
        );
    }

    // An erasure in one process: the record is gone from the other at once.
    let (status, record) = get(b, &format!("/api/v1/patients/{bea}"), &admin);
    assert_eq!(status, 200, "{record}");
    let mrn = record["mrn"].as_str().unwrap();
    let confirm = serde_json::json!({ "confirm_mrn": mrn }).to_string();
    let (status, json) = call(
        a,
        "POST",
        &format!("/api/v1/patients/{bea}/erasure"),
        &admin,
        &confirm,
    );
    assert!(
        matches!(status, 200 | 201),
        "erasure answered {status}: {json}"
    );
    assert_eq!(
        read(b, &reception, &bea),
        (404, None),
        "gone after the erasure"
    );

    // A session signed out in one process: refused there at once, and in the other (which
    // has it cached, from the check just before) once the cache's bound has passed.
    assert!(signed_in(b, &reception));
    let signed_out = Instant::now();
    let (status, json) = call(a, "POST", "/api/v1/auth/logout", &reception, "");
    assert_eq!(status, 204, "{json}");
    assert!(
        !signed_in(a, &reception),
        "refused at once where it was signed out"
    );
    wait_past(signed_out, SESSION_BOUND);
    assert!(
        !signed_in(b, &reception),
        "refused in the other process within the bound"
    );

    // An account disabled by a third process (the operator's `carevault user disable`).
    assert!(signed_in(a, &doctor) && signed_in(b, &doctor));
    let disabled = Instant::now();
    let output = logged(
        command(&data, database_url)
            .args(["user", "disable", "--username", "drsmith"])
            .output()
            .unwrap(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_past(disabled, SESSION_BOUND);
    for address in [a, b] {
        assert!(
            !signed_in(address, &doctor),
            "a disabled account's session, through {address}"
        );
    }
    let refused = request(
        b,
        "POST",
        "/api/v1/auth/login",
        None,
        r#"{"username":"drsmith","password":"doctor123"}"#,
    );
    assert!(
        matches!(refused, Some((401, _))),
        "a disabled account signs in: {refused:?}"
    );
    drop((first, second));
}

#[test]
fn two_processes_on_sqlite() {
    two_processes_serve_as_one(None);
}

#[test]
fn two_processes_on_postgres() {
    if let Some(url) = backend_url("CAREVAULT_TEST_POSTGRES_URL") {
        let scratch = ScratchDatabase::create(&url);
        two_processes_serve_as_one(Some(&scratch.url));
    }
}

#[test]
fn two_processes_on_mariadb() {
    if let Some(url) = backend_url("CAREVAULT_TEST_MYSQL_URL") {
        let scratch = ScratchDatabase::create(&url);
        two_processes_serve_as_one(Some(&scratch.url));
    }
}
