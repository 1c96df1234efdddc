//! The `carevault` binary, run as an operator would: one-line errors without passwords,
//! account commands, and `serve` starting (and migrating) on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

mod common;

use common::{backend_url, carevault, logged, start};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    logged(child.wait_with_output().unwrap())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_connection_failure_is_one_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://carevault:hunter2-secret@127.0.0.1:1/carevault",
        "mysql://root:hunter2-secret@127.0.0.1:1/carevault",
    ] {
        let output = carevault(&dir.path().join("data"))
            .args(["--database-url", url, "migrate"])
            .output()
            .map(logged)
            .unwrap();
        assert!(!output.status.success());
        let err = stderr(&output);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with("carevault: cannot connect to the database at "),
            "{err}"
        );
        assert!(err.contains(":***@127.0.0.1:1/carevault"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = carevault(&dir.path().join("data"))
        .args(["serve", "--session-idle-timeout", "soon"])
        .output()
        .map(logged)
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--session-idle-timeout"),
        "{}",
        stderr(&output)
    );
    let output = carevault(&dir.path().join("data"))
        .args(["--database-url", "oracle://x/y", "migrate"])
        .output()
        .map(logged)
        .unwrap();
    assert!(
        stderr(&output).contains("--database-url"),
        "{}",
        stderr(&output)
    );
    let config = dir.path().join("carevault.toml");
    std::fs::write(&config, "bind = \"127.0.0.1:9\"\nno_such_option = true\n").unwrap();
    let output = carevault(&dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .arg("migrate")
        .output()
        .map(logged)
        .unwrap();
    assert!(
        stderr(&output).contains("no_such_option"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn operators_manage_accounts_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut create = carevault(&data);
    create.args([
        "user",
        "create",
        "--username",
        "Admin",
        "--role",
        "admin",
        "--display-name",
        "Head of IT",
        "--password-stdin",
    ]);
    let output = run_with_stdin(create, "a-long-admin-passphrase\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Created admin (admin)"));
    // The data dir and database exist, private to the owner.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o077,
        0
    );
    assert!(data.join("carevault.db").exists());

    let mut again = carevault(&data);
    again.args([
        "user",
        "create",
        "--username",
        "admin",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    let output = run_with_stdin(again, "another-passphrase\n");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--username: is already taken"),
        "{}",
        stderr(&output)
    );

    let mut weak = carevault(&data);
    weak.args([
        "user",
        "create",
        "--username",
        "bob",
        "--role",
        "surgeon",
        "--password-stdin",
    ]);
    let output = run_with_stdin(weak, "short\n");
    let err = stderr(&output);
    assert!(
        err.contains("--role: must be one of") && err.contains("--password: must be at least 8"),
        "{err}"
    );

    let output = carevault(&data)
        .args(["user", "list"])
        .output()
        .map(logged)
        .unwrap();
    assert!(stdout(&output).contains("admin") && stdout(&output).contains("Head of IT"));

    let mut reset = carevault(&data);
    reset.args([
        "user",
        "set-password",
        "--username",
        "admin",
        "--password-stdin",
    ]);
    assert!(
        run_with_stdin(reset, "yet-another-passphrase\n")
            .status
            .success()
    );

    // No terminal and no --password-stdin: a clear refusal, not a hang.
    let output = carevault(&data)
        .args(["user", "create", "--username", "carl", "--role", "nurse"])
        .stdin(Stdio::null())
        .output()
        .map(logged)
        .unwrap();
    assert!(
        stderr(&output).contains("--password-stdin"),
        "{}",
        stderr(&output)
    );

    // Demo mode refuses a database with real accounts.
    let output = carevault(&data)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .output()
        .map(logged)
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("already holds real accounts"),
        "{}",
        stderr(&output)
    );

    let output = carevault(&data)
        .args(["user", "disable", "--username", "admin"])
        .output()
        .map(logged)
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

fn http_get(address: &str, path: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut stream) = TcpStream::connect(address) {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            write!(
                stream,
                "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).ok();
            let status = response
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            return (status, response);
        }
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn serve_answers(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = carevault(&dir.path().join("data"));
    let scratch = database_url.map(common::ScratchDatabase::create);
    if let Some(scratch) = &scratch {
        command.args(["--database-url", &scratch.url]);
    }
    command.args(["serve", "--bind", "127.0.0.1:0"]);
    let server = start(command);
    let (status, body) = http_get(&server.address, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, _) = http_get(&server.address, "/login");
    assert_eq!(status, 200);
    let (status, body) = http_get(&server.address, "/dashboard");
    assert_eq!(status, 303, "{body}");
    drop(server); // before the scratch database is dropped
}

#[test]
fn serve_starts_and_migrates_on_sqlite() {
    serve_answers(None);
}

#[test]
fn serve_starts_and_migrates_on_postgres() {
    if let Some(url) = backend_url("CAREVAULT_TEST_POSTGRES_URL") {
        serve_answers(Some(&url));
    }
}

#[test]
fn serve_starts_and_migrates_on_mariadb() {
    if let Some(url) = backend_url("CAREVAULT_TEST_MYSQL_URL") {
        serve_answers(Some(&url));
    }
}

#[test]
fn a_demo_database_is_refused_without_demo() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start({
        let mut c = carevault(&data);
        c.args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
        c
    });
    let (status, body) = http_get(&server.address, "/login");
    assert_eq!(status, 200);
    assert!(body.contains("Demo data — not for real patients"));
    drop(server);
    let output = carevault(&data)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .map(logged)
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("created by `serve --demo`"),
        "{}",
        stderr(&output)
    );
}

/// Forwards every connection accepted on `listener` to `target` (a stand-in for the database
/// server coming back: before it is started, nothing listens on the port).
fn forward(listener: std::net::TcpListener, target: String) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (Ok(mut client_read), Ok(mut server_read)) =
                (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            let (mut client_write, mut server_write) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_read, &mut server_write);
                let _ = server_write.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server_read, &mut client_write);
                let _ = client_write.shutdown(std::net::Shutdown::Both);
            });
        }
    });
}

/// The database is down when the server starts: it still binds at once, answers `/readyz`
/// 503, pages with the friendly "Database unavailable" page and the API with a 503 problem;
/// when the database answers, it migrates and serves, without being restarted.
#[test]
fn serve_started_while_the_database_is_down_serves_once_it_is_back() {
    let Some(url) = backend_url("CAREVAULT_TEST_POSTGRES_URL") else {
        return;
    };
    let scratch = common::ScratchDatabase::create(&url);
    let real = url::Url::parse(&scratch.url).unwrap();
    let target = format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    );
    // A port where nothing listens yet: the database "is down".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut proxied = real.clone();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(port)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut command = carevault(&dir.path().join("data"));
    command.args([
        "--database-url",
        proxied.as_str(),
        "serve",
        "--bind",
        "127.0.0.1:0",
    ]);
    let server = start(command);

    let (status, body) = http_get(&server.address, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"unreachable\""), "{body}");
    let (status, body) = http_get(&server.address, "/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&server.address, "/login");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Database unavailable"), "{body}");
    assert!(
        body.to_ascii_lowercase().contains("retry-after: 5"),
        "{body}"
    );
    assert!(
        body.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{body}"
    );
    assert!(!body.contains("postgres"), "no internals: {body}");
    let (status, body) = http_get(&server.address, "/api/v1/auth/me");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("application/problem+json"), "{body}");

    // The database comes back.
    forward(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        target,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = http_get(&server.address, "/readyz");
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let (status, body) = http_get(&server.address, "/login");
    assert_eq!(status, 200, "{body}");
    drop(server); // before the scratch database is dropped
}
