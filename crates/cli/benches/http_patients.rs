//! HTTP benchmark of the patient registry: search by name among many synthetic patients,
//! audited patient reads, and registrations, over the real router.
//!
//! One process seeds a fresh SQLite database (or PostgreSQL with `CAREVAULT_BENCH_POSTGRES=1`
//! and `CAREVAULT_TEST_POSTGRES_URL` set) with synthetic patients through
//! `Services::seed_synthetic_patients` (the registration path: sealed, indexed, audited),
//! serves `carevault_web::router` on 127.0.0.1:0, and drives it with N keep-alive HTTP/1.1
//! connections (raw `TcpStream`s reading each response by `Content-Length`). Every response
//! must be 2xx.
//!
//! ```text
//! cargo bench -p carevault --bench http_patients
//! ```
//!
//! Environment (all optional): `CAREVAULT_BENCH_PATIENTS` (default 100000),
//! `CAREVAULT_BENCH_SECS` (seconds per scenario, default 15), `CAREVAULT_BENCH_CONCURRENCY`
//! (default 16). Run without `--bench` (`cargo test --benches`) it does a short smoke run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carevault_service::synthetic::SyntheticPatients;
use carevault_service::{AuditSettings, ServiceSettings, Services, SystemClock};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};

struct Settings {
    patients: u64,
    secs: u64,
    concurrency: usize,
}

#[path = "support/keep_alive.rs"]
mod keep_alive;

use keep_alive::{Connection, env_parse, login};

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
}

impl Stats {
    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort();
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// Runs `requests` (method, path, body) round-robin on `concurrency` connections for `secs`.
async fn scenario(
    name: &str,
    addr: SocketAddr,
    token: &str,
    settings: &Settings,
    requests: Arc<Vec<(String, String, String)>>,
) {
    let deadline = Instant::now() + Duration::from_secs(settings.secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..settings.concurrency {
        let (token, requests) = (token.to_owned(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await;
            let mut stats = Stats::default();
            let mut i = worker;
            while Instant::now() < deadline {
                let (method, path, body) = &requests[i % requests.len()];
                i += settings_stride();
                let t = Instant::now();
                let (status, response) = connection.send(method, path, &token, body).await;
                stats.latencies.push(t.elapsed());
                assert!(
                    (200..300).contains(&status),
                    "{method} {path} → {status} {}",
                    String::from_utf8_lossy(&response)
                );
            }
            stats
        }));
    }
    let mut all = Stats::default();
    for task in tasks {
        all.latencies.extend(task.await.unwrap().latencies);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = all.latencies.len();
    println!(
        "{name:<44} {count:>8} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        count as f64 / elapsed,
        all.percentile(0.50).as_secs_f64() * 1e3,
        all.percentile(0.99).as_secs_f64() * 1e3,
    );
}

fn settings_stride() -> usize {
    7919
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let settings = if bench {
        Settings {
            patients: env_parse("CAREVAULT_BENCH_PATIENTS", 100_000),
            secs: env_parse("CAREVAULT_BENCH_SECS", 15),
            concurrency: env_parse("CAREVAULT_BENCH_CONCURRENCY", 16),
        }
    } else {
        Settings {
            patients: 50,
            secs: 1,
            concurrency: 2,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/carevault.db", dir.path().display());
    let store = Store::connect(&url, &ConnectSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut service_settings = ServiceSettings::default();
    service_settings.patients.demo_synthetic_patients = 0;
    let services = Services::new(
        store,
        Arc::new(SystemClock),
        service_settings,
        AuditSettings::ephemeral().expect("audit settings"),
        carevault_crypto::keyring::KeyRing::from_master_key(&[9u8; 32]).unwrap(),
    );
    services.seed_demo().await.unwrap();
    let operator = services.console_operator();
    let seed = 2026;
    let started = Instant::now();
    services
        .seed_synthetic_patients(&operator, settings.patients, Some(seed))
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} synthetic patients in {secs:.1} s ({:.0} registrations/s, bulk path: 200 per transaction)",
        settings.patients,
        settings.patients as f64 / secs
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public_url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let state = AppState::new(services.clone(), WebSettings::new(public_url));
    let app = carevault_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = login(addr).await;

    // The same generator and seed give the names that were registered.
    let mut generator = SyntheticPatients::seeded(seed);
    let today = chrono::Utc::now().date_naive();
    let sample: Vec<_> = (0..settings.patients.min(2_000))
        .map(|_| generator.next_patient(today))
        .collect();
    let encode = |q: &str| q.replace(' ', "%20");
    let full_names: Vec<_> = sample
        .iter()
        .map(|p| {
            let q = format!("{} {}", p.given_name, p.family_name);
            (
                "GET".to_owned(),
                format!("/api/v1/patients?q={}&per_page=25", encode(&q)),
                String::new(),
            )
        })
        .collect();
    scenario(
        "search by full name (25 per page)",
        addr,
        &token,
        &settings,
        Arc::new(full_names),
    )
    .await;
    let family_names: Vec<_> = sample
        .iter()
        .map(|p| {
            (
                "GET".to_owned(),
                format!("/api/v1/patients?q={}&per_page=25", encode(&p.family_name)),
                String::new(),
            )
        })
        .collect();
    scenario(
        "search by family name, sound-alike (25/page)",
        addr,
        &token,
        &settings,
        Arc::new(family_names),
    )
    .await;

    // Ids for the reads: the first pages of the list.
    let mut connection = Connection::open(addr).await;
    let mut ids = Vec::new();
    for page in 1..=10 {
        let (status, body) = connection
            .send(
                "GET",
                &format!("/api/v1/patients?per_page=100&page={page}"),
                &token,
                "",
            )
            .await;
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for item in json["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
    }
    let reads: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                "GET".to_owned(),
                format!("/api/v1/patients/{id}"),
                String::new(),
            )
        })
        .collect();
    scenario(
        "audited patient read (GET /patients/{id})",
        addr,
        &token,
        &settings,
        Arc::new(reads),
    )
    .await;

    let registrations: Vec<_> = (0..5_000)
        .map(|n| {
            let p = generator.next_patient(today);
            let body = serde_json::json!({
                "given_name": p.given_name,
                "family_name": p.family_name,
                "date_of_birth": p.date_of_birth.format("%Y-%m-%d").to_string(),
                "sex": p.sex,
                "address": p.address,
                "phone": format!("07{:09}", 100_000_000 + n),
                "email": p.email,
                "register_anyway": true,
            });
            (
                "POST".to_owned(),
                "/api/v1/patients".to_owned(),
                body.to_string(),
            )
        })
        .collect();
    scenario(
        "registration (POST /patients, one per txn)",
        addr,
        &token,
        &settings,
        Arc::new(registrations),
    )
    .await;
    services.shutdown().await;
}
