//! The database goes away under a running server, and comes back (PostgreSQL only).
//!
//! The shared PostgreSQL server is never stopped: the application reaches its test database
//! through a small TCP proxy started here, and "stopping the database" closes the proxy's
//! listener and kills every connection through it. Runs where `CAREVAULT_TEST_POSTGRES_URL`
//! is set (CI); skipped with a printed reason otherwise, unless
//! `CAREVAULT_REQUIRE_ALL_BACKENDS` is set, which makes a missing URL a failure.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use carevault_store::{ConnectSettings, Store};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::harness::{Backend, TestApp};

/// A TCP proxy on 127.0.0.1 in front of `upstream`, which can be stopped and started.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let proxy = Proxy {
            addr: "127.0.0.1:0".parse().unwrap(),
            upstream,
            accept: Mutex::new(None),
            connections: Arc::default(),
        };
        let addr = proxy.listen("127.0.0.1:0".parse().unwrap());
        Proxy { addr, ..proxy }
    }

    /// Binds `addr` (reusing the port after a stop) and serves it; returns the bound address.
    fn listen(&self, addr: SocketAddr) -> SocketAddr {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(128).unwrap();
        let bound = listener.local_addr().unwrap();
        let upstream = self.upstream;
        let connections = self.connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(task);
            }
        });
        *self.accept.lock().unwrap() = Some(task);
        bound
    }

    /// "Stops the database": no new connection is accepted, every open one is cut.
    async fn stop(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        let tasks: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// "Starts the database" again, on the same address.
    fn resume(&self) {
        self.listen(self.addr);
    }
}

fn upstream_of(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap();
    let port = parsed.port().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}").parse().unwrap()
}

/// Nothing about the database may reach a client.
fn assert_no_internals(text: &str) {
    let lower = text.to_lowercase();
    for leak in [
        "sqlx",
        "postgres",
        "connection refused",
        "pool timed out",
        "cvt_",
        "5432",
        "127.0.0.1",
        "error returned from database",
    ] {
        assert!(!lower.contains(leak), "{leak:?} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_goes_away_and_comes_back() {
    // PostgreSQL only: the proxy speaks plain TCP to the shared server.
    let Some(backend) = Backend::postgres() else {
        eprintln!("skipped db_down: CAREVAULT_TEST_POSTGRES_URL is not set");
        return;
    };
    let Backend::Postgres(admin_url) = &backend else {
        unreachable!()
    };
    let proxy = Proxy::start(upstream_of(admin_url)).await;
    let app = TestApp::builder(backend.clone())
        .connect_via(proxy.addr)
        .build()
        .await;
    let mut browser = app.browser("admin").await;
    let mut api = app.api_client("admin").await;
    let mut anonymous = app.anonymous();

    // Up.
    let ready = anonymous.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(ready.json()["checks"]["database"], "ok");
    assert_eq!(browser.get("/patients").await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/patients").await.status, StatusCode::OK);

    // Down.
    proxy.stop().await;

    let started = Instant::now();
    let ready = anonymous.get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text()
    );
    let doc = ready.json();
    assert_eq!(doc["status"], "unavailable");
    assert_eq!(doc["checks"]["database"], "unreachable");
    assert_no_internals(&ready.text());
    // Fails fast: the pool's acquire timeout (5 s), not a hang.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "/readyz took {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let page = browser.get("/patients").await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.text()
    );
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    let html = page.text();
    assert!(html.contains("Database unavailable"), "{html}");
    assert!(html.contains("try again"), "{html}");
    assert_no_internals(&html);
    assert!(started.elapsed() < Duration::from_secs(20));

    let response = api.get("/api/v1/patients").await;
    let problem = response.problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem["type"], "urn:carevault:problem:unavailable");
    assert!(response.header("retry-after").is_some());
    assert_no_internals(&response.text());

    // A new server started now cannot open the database: `Store::connect` (what
    // `carevault serve` calls first) fails within its timeout with one line that names the
    // URL without its password.
    let started = Instant::now();
    let err = Store::connect(&app.database_url, &ConnectSettings::default())
        .await
        .expect_err("no database behind the proxy");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot connect to the database at "),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(started.elapsed() < Duration::from_secs(20));

    // Back: the same running application serves again, by itself.
    proxy.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = anonymous.get("/readyz").await;
        if ready.status == StatusCode::OK {
            assert_eq!(ready.json()["checks"]["database"], "ok");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready again: {}",
            ready.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page = browser.get("/patients").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(api.get("/api/v1/patients").await.status, StatusCode::OK);
    let me = api.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    proxy.stop().await;
}
