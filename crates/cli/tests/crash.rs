//! A 2xx comes only after the commit: `carevault serve` is killed with SIGKILL while 16
//! connections register patients, started again on the same data, and every registration it
//! had acknowledged is there; the audit trail still verifies. On SQLite, and on PostgreSQL and
//! MariaDB when their test URLs are set. (Surviving a power loss, `synchronous=FULL` and the
//! servers' own fsyncs, is not what a process kill can show.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ScratchDatabase, backend_url, carevault, logged, request, start};

const PASSWORD: &str = "correct horse battery";
const WRITERS: usize = 16;
/// Kill the server once this many registrations have been acknowledged.
const ACKNOWLEDGED_BEFORE_KILL: usize = 60;

/// `carevault` on this data directory and (unless SQLite) database.
fn command(data: &Path, database_url: Option<&str>) -> Command {
    let mut command = carevault(data);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command
}

fn create_admin(data: &Path, database_url: Option<&str>) {
    let mut child = command(data, database_url)
        .args(["user", "create", "--username", "admin", "--role", "admin"])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = logged(child.wait_with_output().unwrap());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sign_in(address: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = request(
            address,
            "POST",
            "/api/v1/auth/login",
            None,
            &format!(r#"{{"username":"admin","password":"{PASSWORD}"}}"#),
        );
        if let Some((200, body)) = answer {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            return json["token"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no sign-in: {answer:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Letters for a number, so that every registration has its own family name.
fn letters(mut n: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, char::from(b'a' + u8::try_from(n % 26).unwrap()));
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

fn killed_under_write_load_loses_nothing(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    create_admin(&data, database_url);
    let mut serve = command(&data, database_url);
    serve.args(["serve", "--bind", "127.0.0.1:0"]);
    let mut server = start(serve);
    let address = server.address.clone();
    let token = sign_in(&address);

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    // Set just before the kill: a failure before it is the server's, not the kill's.
    let killing = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (address, token) = (address.clone(), token.clone());
            let (acknowledged, stop, killing) =
                (acknowledged.clone(), stop.clone(), killing.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let id = writer * 1_000_000 + n;
                    let body = format!(
                        r#"{{"given_name":"Crash","family_name":"Load{}","date_of_birth":"1980-02-03","sex":"female","phone":"07{id:010}"}}"#,
                        letters(id)
                    );
                    match request(&address, "POST", "/api/v1/patients", Some(&token), &body) {
                        Some((201, body)) => {
                            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
                            let id = json["id"].as_str().unwrap().to_owned();
                            acknowledged.lock().unwrap().push(id);
                        }
                        // Once the kill is under way, a broken connection is expected.
                        _ if killing.load(Ordering::SeqCst) => return,
                        Some((status, body)) => panic!("registration answered {status}: {body}"),
                        None => panic!("the server failed before it was killed"),
                    }
                }
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < ACKNOWLEDGED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "too few registrations went through"
        );
        assert!(
            writers.iter().all(|w| !w.is_finished()),
            "a writer stopped before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL (`Child::kill` on Unix), with every writer still sending.
    assert!(writers.iter().all(|w| !w.is_finished()));
    killing.store(true, Ordering::SeqCst);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    drop(server);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);

    let mut serve = command(&data, database_url);
    serve.args(["serve", "--bind", "127.0.0.1:0"]);
    let server = start(serve);
    let token = sign_in(&server.address);
    for id in &acknowledged {
        let answer = request(
            &server.address,
            "GET",
            &format!("/api/v1/patients/{id}"),
            Some(&token),
            "",
        );
        assert!(
            matches!(answer, Some((200, _))),
            "acknowledged registration {id} is lost after SIGKILL: {answer:?}"
        );
    }
    drop(server);

    let output = logged(
        command(&data, database_url)
            .args(["audit", "verify"])
            .output()
            .unwrap(),
    );
    assert!(
        output.status.success(),
        "the audit trail verifies after SIGKILL: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sigkill_under_write_load_on_sqlite() {
    killed_under_write_load_loses_nothing(None);
}

#[test]
fn sigkill_under_write_load_on_postgres() {
    if let Some(url) = backend_url("CAREVAULT_TEST_POSTGRES_URL") {
        let scratch = ScratchDatabase::create(&url);
        killed_under_write_load_loses_nothing(Some(&scratch.url));
    }
}

#[test]
fn sigkill_under_write_load_on_mariadb() {
    if let Some(url) = backend_url("CAREVAULT_TEST_MYSQL_URL") {
        let scratch = ScratchDatabase::create(&url);
        killed_under_write_load_loses_nothing(Some(&scratch.url));
    }
}
