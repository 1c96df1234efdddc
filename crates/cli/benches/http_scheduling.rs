//! HTTP benchmark of scheduling: bookings (each one a transaction with its slot claims,
//! care-team membership and audit event), double-booking attempts under contention, a
//! clinician's day and a clinician's availability, over the real router.
//!
//! One process seeds a fresh SQLite database with synthetic patients and doctors, serves
//! `carevault_web::router` on 127.0.0.1:0, and drives it with N keep-alive HTTP/1.1
//! connections (raw `TcpStream`s reading each response by `Content-Length`).
//!
//! ```text
//! cargo bench -p carevault --bench http_scheduling
//! ```
//!
//! Environment (all optional): `CAREVAULT_BENCH_PATIENTS` (default 5000),
//! `CAREVAULT_BENCH_DOCTORS` (default 20), `CAREVAULT_BENCH_SECS` (seconds per scenario,
//! default 10), `CAREVAULT_BENCH_CONCURRENCY` (default 16). Run without `--bench`
//! (`cargo test --benches`) it does a short smoke run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use carevault_service::scheduling::StaffProfileInput;
use carevault_service::users::NewAccount;
use carevault_service::{AuditSettings, ServiceSettings, Services, SystemClock};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};
use chrono::{Duration as Minutes, Utc};
use secrecy::SecretString;

struct Settings {
    patients: u64,
    doctors: usize,
    secs: u64,
    concurrency: usize,
}

#[path = "support/keep_alive.rs"]
mod keep_alive;

use keep_alive::{Connection, env_parse, login, percentile};

type Request = (String, String, String);

/// Sends `request(n)` for n = 0, 1, 2, … (each n once, shared by all connections) on
/// `concurrency` connections for `secs`. Every answer must have one of `accepted` statuses;
/// the count of each is printed.
async fn scenario(
    name: &str,
    addr: SocketAddr,
    token: &str,
    settings: &Settings,
    accepted: &'static [u16],
    request: Arc<dyn Fn(usize) -> Request + Send + Sync>,
) {
    let deadline = Instant::now() + Duration::from_secs(settings.secs);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..settings.concurrency {
        let (token, request, next) = (token.to_owned(), request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await;
            let mut latencies = Vec::new();
            let mut statuses = Vec::new();
            while Instant::now() < deadline {
                let (method, path, body) = request(next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let (status, response) = connection.send(&method, &path, &token, &body).await;
                latencies.push(t.elapsed());
                assert!(
                    accepted.contains(&status),
                    "{method} {path} → {status} {}",
                    String::from_utf8_lossy(&response)
                );
                statuses.push(status);
            }
            (latencies, statuses)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = Vec::new();
    for task in tasks {
        let (l, s) = task.await.unwrap();
        latencies.extend(l);
        statuses.extend(s);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = latencies.len();
    let mut by_status = String::new();
    for status in accepted {
        let n = statuses.iter().filter(|s| *s == status).count();
        if n > 0 {
            by_status.push_str(&format!(" {status}×{n}"));
        }
    }
    println!(
        "{name:<46} {count:>7} req {:>7.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms {by_status}",
        count as f64 / elapsed,
        percentile(&mut latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&mut latencies, 0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let settings = if bench {
        Settings {
            patients: env_parse("CAREVAULT_BENCH_PATIENTS", 5_000),
            doctors: env_parse("CAREVAULT_BENCH_DOCTORS", 20),
            secs: env_parse("CAREVAULT_BENCH_SECS", 10),
            concurrency: env_parse("CAREVAULT_BENCH_CONCURRENCY", 16),
        }
    } else {
        Settings {
            patients: 40,
            doctors: 2,
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
    services
        .seed_synthetic_patients(&operator, settings.patients, Some(2026))
        .await
        .unwrap();
    let department = services.departments(&operator).await.unwrap()[0].id;
    let mut doctors = Vec::new();
    for n in 0..settings.doctors {
        let account = services
            .create_account(
                &operator,
                NewAccount {
                    username: format!("bench.doctor{n}"),
                    display_name: format!("Dr. Bench {n}"),
                    role: "doctor".into(),
                    password: SecretString::from("bench-password-123"),
                },
            )
            .await
            .unwrap();
        services
            .update_staff_profile(
                &operator,
                account.id,
                StaffProfileInput {
                    department_id: Some(department.to_string()),
                    working_hours: Some("mon-sun 00:00-23:55".into()),
                    active: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        doctors.push(account.id.to_string());
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public_url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let state = AppState::new(services.clone(), WebSettings::new(public_url));
    let app = carevault_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = login(addr).await;

    let mut connection = Connection::open(addr).await;
    let mut patients = Vec::new();
    for page in 1.. {
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
        let items = json["items"].as_array().unwrap();
        if items.is_empty() || patients.len() >= 2_000 {
            break;
        }
        for item in items {
            patients.push(item["id"].as_str().unwrap().to_owned());
        }
    }

    // Tomorrow 00:00 UTC onwards; booking n goes to doctor n mod D in that doctor's
    // (n div D)-th 15-minute slot, for patient n mod P: no two bookings collide.
    let first = (Utc::now() + Minutes::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let slots_per_day = 95; // 00:00–23:45 starts, within the 23:55 close
    let slot_start = move |index: usize| {
        let day = index / slots_per_day;
        let slot = index % slots_per_day;
        first + Minutes::days(day as i64) + Minutes::minutes(15 * slot as i64)
    };
    let (doctors, patients) = (Arc::new(doctors), Arc::new(patients));
    let book = {
        let (doctors, patients) = (doctors.clone(), patients.clone());
        Arc::new(move |n: usize| {
            let doctor = &doctors[n % doctors.len()];
            let patient = &patients[n % patients.len()];
            let body = serde_json::json!({
                "patient_id": patient,
                "clinician_id": doctor,
                "start": slot_start(n / doctors.len()).to_rfc3339(),
                "duration_minutes": 15,
                "reason": "Benchmark consultation",
            });
            (
                "POST".to_owned(),
                "/api/v1/appointments".to_owned(),
                body.to_string(),
            )
        })
    };
    scenario(
        "booking (POST /appointments, no conflicts)",
        addr,
        &token,
        &settings,
        &[201],
        book,
    )
    .await;

    // Every connection tries the same doctor's slots in the far future: the first request
    // for each slot wins, the others get 409 with the conflict and the next free slots.
    let contended = {
        let (doctors, patients) = (doctors.clone(), patients.clone());
        // 300 days ahead, clear of the first scenario's bookings.
        let far = 300 * slots_per_day;
        Arc::new(move |n: usize| {
            let body = serde_json::json!({
                "patient_id": patients[(n + 1) % patients.len()],
                "clinician_id": doctors[0],
                "start": slot_start(far + n / 8).to_rfc3339(),
                "duration_minutes": 15,
                "reason": "Contended booking",
            });
            (
                "POST".to_owned(),
                "/api/v1/appointments".to_owned(),
                body.to_string(),
            )
        })
    };
    scenario(
        "double booking, 8 tries per slot (201 / 409)",
        addr,
        &token,
        &settings,
        &[201, 409],
        contended,
    )
    .await;

    let day = first.date_naive().format("%Y-%m-%d").to_string();
    let days = {
        let (doctors, day) = (doctors.clone(), day.clone());
        Arc::new(move |n: usize| {
            (
                "GET".to_owned(),
                format!(
                    "/api/v1/appointments?clinician={}&date={day}",
                    doctors[n % doctors.len()]
                ),
                String::new(),
            )
        })
    };
    scenario(
        "a doctor's day (GET /appointments?clinician&date)",
        addr,
        &token,
        &settings,
        &[200],
        days,
    )
    .await;

    let availability = {
        let doctors = doctors.clone();
        Arc::new(move |n: usize| {
            (
                "GET".to_owned(),
                format!(
                    "/api/v1/appointments/availability?clinician={}&date={day}",
                    doctors[n % doctors.len()]
                ),
                String::new(),
            )
        })
    };
    scenario(
        "availability (GET /appointments/availability)",
        addr,
        &token,
        &settings,
        &[200],
        availability,
    )
    .await;
    services.shutdown().await;
}
