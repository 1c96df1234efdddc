//! Running the built `carevault` binary from tests: a command with a clean environment, and
//! its stderr kept in the test log that CI greps for secrets.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// `carevault --data-dir <data_dir>`, with a clean environment, run from the data dir's parent.
pub fn carevault(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carevault"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(data_dir.parent().unwrap_or(Path::new("/")));
    command
}

/// `$CAREVAULT_TEST_LOG_DIR/cli-<pid>.log` when that is set.
fn test_log() -> Option<std::fs::File> {
    let dir = std::env::var_os("CAREVAULT_TEST_LOG_DIR")?;
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&dir).join(format!("cli-{}.log", std::process::id())))
        .ok()
}

/// Keeps a finished command's stderr in the test log, and hands the output back.
pub fn logged(output: Output) -> Output {
    if let Some(mut file) = test_log() {
        let _ = file.write_all(&output.stderr);
    }
    output
}

/// The stderr of a long-running child: the test log, or nowhere.
pub fn child_stderr() -> Stdio {
    test_log().map_or_else(Stdio::null, Stdio::from)
}

/// A running `carevault serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(mut command: Command) -> Server {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let address = match first.split("serving at http://").nth(1) {
        Some(rest) => rest.split('/').next().unwrap().to_owned(),
        None => {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            let _ = child.kill();
            panic!("the server did not start: {first} {err}");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    // Keep draining stderr (into the test log) so a chatty server never blocks on a full pipe.
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || match test_log() {
            Some(mut file) => {
                let _ = std::io::copy(&mut stderr, &mut file);
            }
            None => {
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            }
        });
    }
    Server { child, address }
}

/// A fresh, empty database on the server that `url` points at, dropped again on drop. The
/// binary tests need their own: a database remembers the fingerprints of the keys it was
/// first used with and refuses any other key directory (as it should).
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    pub url: String,
}

fn run_sql(url: &str, sql: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = Database::connect(url).await.unwrap();
        db.execute_unprepared(sql).await.unwrap();
        db.close().await.unwrap();
    });
}

impl ScratchDatabase {
    pub fn create(url: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!("cv_cli_{}_{nanos}", std::process::id());
        run_sql(url, &format!("CREATE DATABASE {name}"));
        let mut scratch = url::Url::parse(url).unwrap();
        scratch.set_path(&format!("/{name}"));
        Self {
            server_url: url.to_owned(),
            name,
            url: scratch.to_string(),
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let url = self.server_url.clone();
        // Best effort: a leftover scratch database is harmless.
        let _ = std::panic::catch_unwind(|| run_sql(&url, &format!("DROP DATABASE {name}")));
    }
}

/// `carevault user create --username admin --role admin`, the password from stdin; asserts
/// it succeeded.
pub fn create_admin(data_dir: &Path) {
    let mut child = carevault(data_dir)
        .args([
            "user",
            "create",
            "--username",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let output = logged(child.wait_with_output().unwrap());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A backend's test URL from `var`, or `None` to skip (which `CAREVAULT_REQUIRE_ALL_BACKENDS=1`
/// turns into a failure, as in CI).
pub fn backend_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CAREVAULT_REQUIRE_ALL_BACKENDS")
            .is_ok_and(|v| !v.is_empty() && v != "0") =>
        {
            panic!("{var} is not set but CAREVAULT_REQUIRE_ALL_BACKENDS=1")
        }
        _ => {
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// One HTTP/1.1 request on a fresh connection, with a JSON body (may be empty) and a bearer
/// token: the status and the body, or `None` if the server is gone.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Signs in through the API and answers the bearer token; panics if the server refuses.
pub fn sign_in(address: &str, username: &str, password: &str) -> String {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let answer = request(address, "POST", "/api/v1/auth/login", None, &body);
    let Some((200, body)) = answer else {
        panic!("{username} cannot sign in: {answer:?}");
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    json["token"].as_str().unwrap().to_owned()
}
