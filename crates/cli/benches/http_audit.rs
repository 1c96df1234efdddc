//! HTTP benchmark of an audited read under concurrency, against the same read unaudited,
//! in the same run.
//!
//! One process serves the real Carevault router (`carevault_web::router`) on 127.0.0.1:0
//! with `axum::serve`, over a fresh database with the demo accounts. Merged into that
//! router, in this benchmark only, is an unaudited twin of `GET /api/v1/audit/events`:
//! `GET /api/v1/bench/unaudited-events` behind the same session guard
//! (`require_api_session`, which authenticates the bearer token with
//! `Services::authenticate`) and the same outer layers, parsing the same query parameters,
//! checking the same capability, and answering the same JSON from
//! `carevault_store::audit::{count, list}` plus the actor-name lookup, without recording
//! anything.
//!
//! The load generator opens N persistent HTTP/1.1 keep-alive connections (raw
//! `TcpStream`s, its own single-threaded runtime on its own thread), sends GET requests back
//! to back on each, and reads each response by its `Content-Length`. Every response must be
//! 200. Each scenario is bounded by time and by a request count. The two scenarios of one
//! concurrency are interleaved in rounds (unaudited, audited, audited, unaudited, …) so that
//! both see the same audit-log growth (every audited read appends an event, and both reads
//! count the whole log).
//!
//! Runs on SQLite (a temp dir), and on PostgreSQL as well when
//! `CAREVAULT_TEST_POSTGRES_URL` is set (a fresh database, dropped at the end).
//!
//! ```text
//! cargo bench -p carevault --bench http_audit
//! ```
//!
//! Environment (all optional):
//! - `CAREVAULT_BENCH_SECS`: seconds per scenario and concurrency (default 20)
//! - `CAREVAULT_BENCH_MAX_REQUESTS`: request cap per scenario and concurrency (default 2,000,000)
//! - `CAREVAULT_BENCH_CONCURRENCY`: comma-separated connection counts (default `1,8,32,64`)
//! - `CAREVAULT_BENCH_ROUNDS`: interleaved rounds per concurrency (default 4)
//! - `CAREVAULT_BENCH_AUDITED_TWIN=1`: also run the bench's audited twin
//!   (`/api/v1/bench/audited-events`, calling `Services::audit_events`); it is used instead
//!   of the real route automatically if the real route answers 404.
//! - `CAREVAULT_BENCH_SQLITE=0`: skip SQLite (e.g. to run PostgreSQL only).
//! - `CAREVAULT_BENCH_GROUP_COMMIT_WINDOW_US`: override `AuditSettings::group_commit_window`
//!   (microseconds; default: the service's own default) to see what the window costs.
//!
//! Run without `--bench` (e.g. `cargo test --benches`) it does a short smoke run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::{Json, Router};
use carevault_core::{Action, UserId};
use carevault_service::audit_log::{AuditEntry, MAX_PAGE};
use carevault_service::{AuditSettings, ServiceError, ServiceSettings, Services, SystemClock};
use carevault_store::audit::{self as audit_store, AuditRow};
use carevault_store::{ConnectSettings, Store, users};
use carevault_web::audit_query::AuditEventsParams;
use carevault_web::extract::{ApiQuery, CurrentActor};
use carevault_web::problem::{ApiError, Problem};
use carevault_web::{AppState, WebSettings, errors, headers, session};
use chrono::SecondsFormat;
use sea_orm::{ConnectionTrait, Database};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REAL_PATH: &str = "/api/v1/audit/events?limit=1";
const UNAUDITED_PATH: &str = "/api/v1/bench/unaudited-events?limit=1";
const AUDITED_TWIN_PATH: &str = "/api/v1/bench/audited-events?limit=1";

// ---------------------------------------------------------------------------------------
// Settings.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Settings {
    secs: f64,
    max_requests: u64,
    concurrencies: Vec<usize>,
    rounds: usize,
    audited_twin: bool,
    sqlite: bool,
    warm_up: Duration,
    group_commit_window: Option<Duration>,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> T {
    match env_var(name) {
        Some(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid value")),
        None => default,
    }
}

impl Settings {
    fn from_env() -> Settings {
        // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) is a smoke run.
        let smoke = !std::env::args().any(|a| a == "--bench");
        let concurrencies = env_var("CAREVAULT_BENCH_CONCURRENCY")
            .unwrap_or_else(|| if smoke { "1,8" } else { "1,8,32,64" }.to_owned())
            .split(',')
            .map(|n| {
                n.trim()
                    .parse::<usize>()
                    .expect("CAREVAULT_BENCH_CONCURRENCY")
            })
            .filter(|n| *n > 0)
            .collect();
        Settings {
            secs: env_parse("CAREVAULT_BENCH_SECS", if smoke { 1.0 } else { 20.0 }),
            max_requests: env_parse("CAREVAULT_BENCH_MAX_REQUESTS", 2_000_000),
            concurrencies,
            rounds: env_parse("CAREVAULT_BENCH_ROUNDS", if smoke { 2 } else { 4 }).max(1),
            audited_twin: env_parse("CAREVAULT_BENCH_AUDITED_TWIN", 0u8) != 0,
            sqlite: env_parse("CAREVAULT_BENCH_SQLITE", 1u8) != 0,
            warm_up: Duration::from_secs(if smoke { 0 } else { 2 }),
            group_commit_window: env_var("CAREVAULT_BENCH_GROUP_COMMIT_WINDOW_US").map(|us| {
                Duration::from_micros(us.trim().parse().expect("a number of microseconds"))
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The databases.
// ---------------------------------------------------------------------------------------

enum BenchDb {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin: String, name: String },
}

impl BenchDb {
    async fn create(postgres_admin: Option<&str>) -> (BenchDb, String) {
        match postgres_admin {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/carevault.db", dir.path().display());
                (BenchDb::Sqlite { _dir: dir }, url)
            }
            Some(admin) => {
                let name = format!("cvbench_{}", uuid::Uuid::new_v4().simple());
                let db = Database::connect(admin).await.expect("PostgreSQL answers");
                db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                let _ = db.close().await;
                let mut url = url::Url::parse(admin).unwrap();
                url.set_path(&format!("/{name}"));
                (
                    BenchDb::Postgres {
                        admin: admin.to_owned(),
                        name,
                    },
                    url.to_string(),
                )
            }
        }
    }

    async fn drop_db(self) {
        if let BenchDb::Postgres { admin, name } = self {
            let db = Database::connect(admin.as_str()).await.unwrap();
            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .unwrap();
            let _ = db.close().await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The twin routes (this benchmark only).
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct Twin {
    services: Services,
    store: Store,
}

/// The same JSON as `GET /api/v1/audit/events`.
#[derive(Serialize)]
struct EventsPage {
    total: u64,
    offset: u64,
    limit: u64,
    events: Vec<EventRecord>,
}

#[derive(Serialize)]
struct EventRecord {
    seq: u64,
    time: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: Option<String>,
    actor_role: Option<String>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    patient_pseudonym: Option<String>,
    outcome: String,
    reason: Option<String>,
    request_id: Option<String>,
}

impl From<AuditEntry> for EventRecord {
    fn from(e: AuditEntry) -> Self {
        EventRecord {
            seq: e.seq,
            time: e.time.to_rfc3339_opts(SecondsFormat::Micros, true),
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            actor_role: e.actor_role,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            patient_pseudonym: e.patient_pseudonym,
            outcome: e.outcome,
            reason: e.reason,
            request_id: e.request_id,
        }
    }
}

/// What `Services::audit_events` does to rows: the acting account's display name, looked up
/// once per distinct actor on the page.
async fn entries(store: &Store, rows: Vec<AuditRow>) -> Result<Vec<AuditEntry>, ServiceError> {
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let f = row.fields;
        let actor_name = match &f.actor_id {
            Some(id) => {
                if !names.contains_key(id) {
                    let name = match id.parse::<UserId>() {
                        Ok(user_id) => users::find_by_id(store.conn(), user_id)
                            .await?
                            .map(|u| u.display_name.to_string()),
                        Err(_) => None,
                    };
                    names.insert(id.clone(), name);
                }
                names.get(id).cloned().flatten()
            }
            None => None,
        };
        out.push(AuditEntry {
            seq: row.seq,
            time: carevault_core::time::from_micros(f.time_micros),
            actor_kind: f.actor_kind,
            actor_id: f.actor_id,
            actor_name,
            actor_role: f.actor_role,
            action: f.action,
            resource_type: f.resource_type,
            resource_id: f.resource_id,
            patient_pseudonym: f.patient_pseudonym,
            outcome: f.outcome,
            reason: f.reason,
            request_id: f.request_id,
        });
    }
    Ok(out)
}

/// `GET /api/v1/audit/events` without the audit append.
async fn unaudited_events(
    State(twin): State<Twin>,
    CurrentActor(actor): CurrentActor,
    ApiQuery(params): ApiQuery<AuditEventsParams>,
) -> Result<Json<EventsPage>, ApiError> {
    let query = params
        .to_query()
        .map_err(|errors| Problem::validation(&errors))?;
    // The same check `audit_events` makes (a refusal would be recorded there; not here).
    actor.require(Action::ReadAuditLog)?;
    let limit = query.limit.clamp(1, MAX_PAGE);
    let conn = twin.store.conn();
    let total = audit_store::count(conn, &query.filter)
        .await
        .map_err(ServiceError::from)?;
    let rows = audit_store::list(conn, &query.filter, query.offset, limit)
        .await
        .map_err(ServiceError::from)?;
    let events = entries(&twin.store, rows).await?;
    Ok(Json(EventsPage {
        total,
        offset: query.offset,
        limit,
        events: events.into_iter().map(Into::into).collect(),
    }))
}

/// The audited read through the bench's own handler (`Services::audit_events`).
async fn audited_twin_events(
    State(twin): State<Twin>,
    CurrentActor(actor): CurrentActor,
    ApiQuery(params): ApiQuery<AuditEventsParams>,
) -> Result<Json<EventsPage>, ApiError> {
    let query = params
        .to_query()
        .map_err(|errors| Problem::validation(&errors))?;
    let page = twin
        .services
        .audit_events(&actor, query.filter, query.offset, query.limit)
        .await?;
    Ok(Json(EventsPage {
        total: page.total,
        offset: page.offset,
        limit: page.limit,
        events: page.entries.into_iter().map(Into::into).collect(),
    }))
}

/// The twin routes behind the same guard and outer layers as the real API routes.
fn twin_router(state: &AppState, twin: Twin) -> Router {
    Router::new()
        .route("/api/v1/bench/unaudited-events", get(unaudited_events))
        .route("/api/v1/bench/audited-events", get(audited_twin_events))
        .route_layer(from_fn_with_state(
            state.clone(),
            session::require_api_session,
        ))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            errors::panic_response,
        ))
        .layer(from_fn_with_state(state.clone(), errors::render_errors))
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .layer(from_fn(headers::request_context))
        .with_state(twin)
}

// ---------------------------------------------------------------------------------------
// The client.
// ---------------------------------------------------------------------------------------

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response into `buf`; returns its status and the body's range in `buf`.
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, std::ops::Range<usize>)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    buf.clear();
    let header_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos + 4;
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    };
    let head = std::str::from_utf8(&buf[..header_end]).map_err(|_| bad("header not UTF-8"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status"))?;
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .ok_or_else(|| bad("no Content-Length"))?;
    while buf.len() < header_end + length {
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok((status, header_end..header_end + length))
}

/// One request on a fresh connection (sign-in and probes).
async fn request(addr: SocketAddr, raw: String) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = Vec::with_capacity(16 * 1024);
    let (status, body) = read_response(&mut stream, &mut buf).await.unwrap();
    (status, String::from_utf8_lossy(&buf[body]).into_owned())
}

async fn login(addr: SocketAddr) -> String {
    let body = r#"{"username":"auditor","password":"audit123"}"#;
    let (status, text) = request(
        addr,
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 200, "sign-in failed: {text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["token"].as_str().unwrap().to_owned()
}

async fn get_once(addr: SocketAddr, path: &str, token: &str) -> (u16, String) {
    request(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"),
    )
    .await
}

/// The key names of a JSON object and of its first event.
fn shape(text: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut keys: Vec<String> = json
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(event) = json["events"].get(0).and_then(|e| e.as_object()) {
        keys.extend(event.keys().map(|k| format!("events[].{k}")));
    }
    keys.sort();
    keys
}

#[derive(Default)]
struct Stats {
    completed: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    /// `total` of the last response: the audit log's size then.
    last_total: Option<u64>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.completed += other.completed;
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        if other.last_total.is_some() {
            self.last_total = other.last_total;
        }
    }

    fn rps(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let index = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

/// `concurrency` connections sending `path` back to back for `duration` or until
/// `max_requests` were sent, whichever comes first.
async fn run_slice(
    addr: SocketAddr,
    path: &str,
    token: &str,
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
) -> Stats {
    let raw: Arc<[u8]> =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n")
            .into_bytes()
            .into();
    let mut streams = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        streams.push(stream);
    }
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        let raw = raw.clone();
        let issued = issued.clone();
        tasks.spawn(async move {
            let mut stats = Stats::default();
            let mut buf = Vec::with_capacity(16 * 1024);
            let mut last = None;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let sent = Instant::now();
                stream.write_all(&raw).await.unwrap();
                let (status, body) = read_response(&mut stream, &mut buf).await.unwrap();
                let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                last = Some((status, body.clone()));
                if status == 200 {
                    stats.completed += 1;
                    stats.latencies_us.push(micros);
                } else {
                    stats.errors += 1;
                    if stats.first_error.is_none() {
                        stats.first_error =
                            Some(format!("{status}: {}", String::from_utf8_lossy(&buf[body])));
                    }
                }
            }
            // `buf` still holds the last response.
            if let Some((200, body)) = last
                && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&buf[body])
            {
                stats.last_total = json["total"].as_u64();
            }
            stats
        });
    }
    let mut all = Stats::default();
    while let Some(stats) = tasks.join_next().await {
        all.merge(stats.unwrap());
    }
    all.elapsed = start.elapsed();
    all
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Unaudited,
    Audited,
    AuditedTwin,
}

struct Row {
    concurrency: usize,
    by_scenario: Vec<(Scenario, Stats)>,
    log_before: Option<u64>,
}

async fn client(addr: SocketAddr, settings: Settings) -> (Vec<Row>, bool) {
    let token = login(addr).await;

    let (status, real_body) = get_once(addr, REAL_PATH, &token).await;
    let real_route = match status {
        200 => true,
        404 => {
            eprintln!(
                "NOTE: {REAL_PATH} answers 404 (the route is not in this build): the audited \
                 scenario uses the bench's audited twin {AUDITED_TWIN_PATH} instead"
            );
            false
        }
        other => panic!("{REAL_PATH} answered {other}: {real_body}"),
    };
    let (status, twin_body) = get_once(addr, UNAUDITED_PATH, &token).await;
    assert_eq!(status, 200, "{UNAUDITED_PATH}: {twin_body}");
    if real_route && shape(&real_body) != shape(&twin_body) {
        eprintln!(
            "WARNING: the unaudited twin's JSON differs in shape from the real route's:\n  real: {:?}\n  twin: {:?}",
            shape(&real_body),
            shape(&twin_body)
        );
    }

    let mut scenarios = vec![Scenario::Unaudited, Scenario::Audited];
    if settings.audited_twin && real_route {
        scenarios.push(Scenario::AuditedTwin);
    }
    let path = |scenario: Scenario| match scenario {
        Scenario::Unaudited => UNAUDITED_PATH,
        Scenario::Audited if real_route => REAL_PATH,
        Scenario::Audited | Scenario::AuditedTwin => AUDITED_TWIN_PATH,
    };

    if !settings.warm_up.is_zero() {
        for &scenario in &scenarios {
            run_slice(addr, path(scenario), &token, 8, settings.warm_up, u64::MAX).await;
        }
    }

    let slice = Duration::from_secs_f64(settings.secs / settings.rounds as f64);
    let per_slice_cap = (settings.max_requests / settings.rounds as u64).max(1);
    let mut rows = Vec::new();
    for &concurrency in &settings.concurrencies {
        let log_before = serde_json::from_str::<serde_json::Value>(
            &get_once(addr, UNAUDITED_PATH, &token).await.1,
        )
        .ok()
        .and_then(|j| j["total"].as_u64());
        let mut totals: Vec<(Scenario, Stats)> =
            scenarios.iter().map(|s| (*s, Stats::default())).collect();
        for round in 0..settings.rounds {
            // ABBA order: neither scenario always runs on the larger log.
            let mut order: Vec<usize> = (0..scenarios.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let stats = run_slice(
                    addr,
                    path(scenarios[i]),
                    &token,
                    concurrency,
                    slice,
                    per_slice_cap,
                )
                .await;
                totals[i].1.merge(stats);
            }
        }
        for (scenario, stats) in &totals {
            if stats.errors > 0 {
                eprintln!(
                    "WARNING: {scenario:?} at concurrency {concurrency}: {} non-200 responses, first: {}",
                    stats.errors,
                    stats.first_error.as_deref().unwrap_or_default()
                );
            }
        }
        eprintln!(
            "concurrency {concurrency}: {}",
            totals
                .iter()
                .map(|(s, st)| format!("{s:?} {:.0} req/s", st.rps()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        rows.push(Row {
            concurrency,
            by_scenario: totals,
            log_before,
        });
    }
    (rows, real_route)
}

// ---------------------------------------------------------------------------------------
// One backend.
// ---------------------------------------------------------------------------------------

fn run_backend(settings: &Settings, postgres_admin: Option<&str>) {
    let backend_name = if postgres_admin.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    // The server's runtime: one worker per core, as `#[tokio::main]` in `carevault serve`.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (db, url) = server_rt.block_on(BenchDb::create(postgres_admin));
    let (addr, services, stop, server) = server_rt.block_on(async {
        // The binary's default pool (`--db-max-connections` 10).
        let store = Store::connect(&url, &ConnectSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let mut audit = AuditSettings::ephemeral().expect("audit settings");
        if let Some(window) = settings.group_commit_window {
            audit.group_commit_window = window;
        }
        let window = audit.group_commit_window;
        let services = Services::new(
            store.clone(),
            Arc::new(SystemClock),
            ServiceSettings::default(),
            audit,
            carevault_crypto::keyring::KeyRing::from_master_key(&[9u8; 32]).unwrap(),
        );
        services.seed_demo().await.unwrap();
        eprintln!("group-commit window {window:?}");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let public_url = url::Url::parse(&format!("http://{addr}/")).unwrap();
        let state = AppState::new(services.clone(), WebSettings::new(public_url));
        let twin = Twin {
            services: services.clone(),
            store,
        };
        let app = carevault_web::router(state.clone()).merge(twin_router(&state, twin));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        (addr, services, stop, server)
    });

    eprintln!("{backend_name}: serving on http://{addr}/");
    let client_settings = settings.clone();
    let (mut rows, real_route) = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(client(addr, client_settings))
    })
    .join()
    .unwrap();

    let _ = stop.send(());
    server_rt.block_on(async {
        let _ = server.await;
        services.shutdown().await;
        services.close().await;
        db.drop_db().await;
    });

    let audited_label = if real_route {
        "audited (`/api/v1/audit/events`)"
    } else {
        "audited (bench twin, real route missing)"
    };
    println!();
    let window = settings
        .group_commit_window
        .map(|w| format!(", group-commit window overridden to {w:?}"))
        .unwrap_or_default();
    println!(
        "### {backend_name}: {} s per scenario per concurrency, {} interleaved rounds{window}",
        settings.secs, settings.rounds
    );
    println!();
    println!(
        "| connections | unaudited req/s | p50 ms | p99 ms | {audited_label} req/s | p50 ms | p99 ms | audited / unaudited | log size at start |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &mut rows {
        let (unaudited, rest) = row.by_scenario.split_at_mut(1);
        let u = &mut unaudited[0].1;
        let a = &mut rest[0].1;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0}% | {} |",
            row.concurrency,
            u.rps(),
            u.percentile_ms(0.50),
            u.percentile_ms(0.99),
            a.rps(),
            a.percentile_ms(0.50),
            a.percentile_ms(0.99),
            100.0 * a.rps() / u.rps(),
            row.log_before
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
    if rows.iter().any(|r| r.by_scenario.len() > 2) {
        println!();
        println!("Audited twin (`Services::audit_events` through the bench's handler):");
        println!();
        println!("| connections | req/s | p50 ms | p99 ms | twin / unaudited |");
        println!("|---:|---:|---:|---:|---:|");
        for row in &mut rows {
            let unaudited_rps = row.by_scenario[0].1.rps();
            let t = &mut row.by_scenario[2].1;
            println!(
                "| {} | {:.0} | {:.2} | {:.2} | {:.0}% |",
                row.concurrency,
                t.rps(),
                t.percentile_ms(0.50),
                t.percentile_ms(0.99),
                100.0 * t.rps() / unaudited_rps
            );
        }
    }
    let final_total = rows
        .iter()
        .flat_map(|r| r.by_scenario.iter().filter_map(|(_, s)| s.last_total))
        .max();
    if let Some(total) = final_total {
        println!();
        println!("Audit log size at the end: about {total} events.");
    }
}

fn main() {
    let settings = Settings::from_env();
    eprintln!("{settings:?}");
    if settings.sqlite {
        run_backend(&settings, None);
    }
    match env_var("CAREVAULT_TEST_POSTGRES_URL") {
        Some(admin) => run_backend(&settings, Some(&admin)),
        None => eprintln!("PostgreSQL skipped: CAREVAULT_TEST_POSTGRES_URL is not set"),
    }
}
