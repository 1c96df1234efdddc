//! HTTP benchmark of the pharmacy's and billing's hot writes: dispensing (each one a
//! transaction with conditional stock decrements, movements, the prescription's dispensed
//! quantity, the charge on the patient's open invoice and audit events), dispensing under
//! contention for the same small batches, payments (optimistic locking on the invoice's
//! version) spread over many invoices and concentrated on one, and an audited invoice read,
//! over the real router.
//!
//! One process seeds a fresh SQLite database through the service (patients, a doctor's
//! encounters and prescriptions, stock, issued invoices), serves `carevault_web::router` on
//! 127.0.0.1:0, and drives it with N keep-alive HTTP/1.1 connections (raw `TcpStream`s
//! reading each response by `Content-Length`).
//!
//! ```text
//! cargo bench -p carevault --bench http_pharmacy
//! ```
//!
//! Environment (all optional): `CAREVAULT_BENCH_PRESCRIPTIONS` (patients with an active
//! prescription of each drug, default 500), `CAREVAULT_BENCH_INVOICES` (issued invoices,
//! default 300), `CAREVAULT_BENCH_CONTENDED_BATCHES` (default 150, of 20 units each),
//! `CAREVAULT_BENCH_SECS` (seconds per scenario, default 10), `CAREVAULT_BENCH_CONCURRENCY`
//! (default 16). Run without `--bench` (`cargo test --benches`) it does a short smoke run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use carevault_service::billing::{LineRequest, PriceInput};
use carevault_service::encounters::EncounterInput;
use carevault_service::pharmacy::{DrugInput, DrugView, ReceiptRequest};
use carevault_service::prescriptions::{Prescribed, PrescriptionRequest};
use carevault_service::{Actor, AuditSettings, ServiceSettings, Services, SystemClock};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};
use secrecy::{ExposeSecret, SecretString};

#[path = "support/keep_alive.rs"]
mod keep_alive;

use keep_alive::{Connection, env_parse, login, percentile};

struct Settings {
    prescriptions: usize,
    invoices: usize,
    contended_batches: u32,
    secs: u64,
    concurrency: usize,
}

/// Units in each batch of the contended drug.
const CONTENDED_BATCH_UNITS: u32 = 20;
/// Consecutive payments that go to the same invoice in the contended payment scenario.
const PAYMENTS_PER_INVOICE: usize = 64;

type Request = (String, String, String);
/// Names an answer (status and body) for the tally; `None` if it is not acceptable.
type Classify = fn(u16, &[u8]) -> Option<&'static str>;

/// What a scenario saw: answers by label.
struct Outcome {
    by_label: BTreeMap<&'static str, usize>,
}

impl Outcome {
    fn count(&self, label: &str) -> u64 {
        u64::try_from(self.by_label.get(label).copied().unwrap_or(0)).unwrap()
    }
}

/// Sends `request(n)` for n = 0, 1, 2, … (each n once, shared by all connections) on
/// `concurrency` connections for `secs`, as `token`. Every answer must be one `classify`
/// accepts; the count of each label is printed.
async fn scenario(
    name: &str,
    addr: SocketAddr,
    token: &str,
    settings: &Settings,
    classify: Classify,
    request: Arc<dyn Fn(usize) -> Request + Send + Sync>,
) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(settings.secs);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..settings.concurrency {
        let (token, request, next) = (token.to_owned(), request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await;
            let mut latencies = Vec::new();
            let mut labels = Vec::new();
            while Instant::now() < deadline {
                let (method, path, body) = request(next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let (status, response) = connection.send(&method, &path, &token, &body).await;
                latencies.push(t.elapsed());
                let label = classify(status, &response).unwrap_or_else(|| {
                    panic!(
                        "{method} {path} → {status} {}",
                        String::from_utf8_lossy(&response)
                    )
                });
                labels.push(label);
            }
            (latencies, labels)
        }));
    }
    let mut latencies = Vec::new();
    let mut by_label = BTreeMap::new();
    for task in tasks {
        let (l, s) = task.await.unwrap();
        latencies.extend(l);
        for label in s {
            *by_label.entry(label).or_insert(0) += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = latencies.len();
    let tally: String = by_label
        .iter()
        .map(|(label, n)| format!(" {label}×{n}"))
        .collect();
    println!(
        "{name:<46} {count:>7} req {:>7.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms {tally}",
        count as f64 / elapsed,
        percentile(&mut latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&mut latencies, 0.99).as_secs_f64() * 1e3,
    );
    Outcome { by_label }
}

fn created_only(status: u16, _: &[u8]) -> Option<&'static str> {
    (status == 201).then_some("201")
}

fn ok_only(status: u16, _: &[u8]) -> Option<&'static str> {
    (status == 200).then_some("200")
}

/// A dispensing: 201, or 409 because the stock ran out ("0 usable") or because the retries
/// on moved batches ran out while stock remained.
fn dispensed(status: u16, body: &[u8]) -> Option<&'static str> {
    match status {
        201 => Some("201"),
        409 if String::from_utf8_lossy(body).contains("wanted, 0 usable") => {
            Some("409-out-of-stock")
        }
        409 => Some("409-retries-exhausted"),
        _ => None,
    }
}

/// A payment: 201, or 503 when the invoice's version moved on every attempt.
fn paid(status: u16, _: &[u8]) -> Option<&'static str> {
    match status {
        201 => Some("201"),
        503 => Some("503-retries-exhausted"),
        _ => None,
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let settings = if bench {
        Settings {
            prescriptions: env_parse("CAREVAULT_BENCH_PRESCRIPTIONS", 500),
            invoices: env_parse("CAREVAULT_BENCH_INVOICES", 300),
            contended_batches: env_parse("CAREVAULT_BENCH_CONTENDED_BATCHES", 150),
            secs: env_parse("CAREVAULT_BENCH_SECS", 10),
            concurrency: env_parse("CAREVAULT_BENCH_CONCURRENCY", 16),
        }
    } else {
        Settings {
            prescriptions: 8,
            invoices: 6,
            contended_batches: 3,
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

/// Signs `username` in through the service: the bearer token and the actor.
async fn sign_in(services: &Services, username: &str, password: &str) -> (String, Actor) {
    let signed_in = services
        .sign_in(carevault_service::auth::SignInRequest {
            username: username.into(),
            password: SecretString::from(password.to_owned()),
            client_addr: None,
            previous_token: None,
            request_id: None,
        })
        .await
        .unwrap();
    let actor = services.authenticate(&signed_in.token, None).await.unwrap();
    (signed_in.token.expose_secret().to_owned(), actor)
}

fn drug_input(name: &str) -> DrugInput {
    DrugInput {
        name: name.into(),
        generic_name: name.to_lowercase(),
        form: "tablet".into(),
        strength: "500 mg".into(),
        unit: "tablet".into(),
        atc_code: None,
        reorder_level: "10".into(),
        reorder_quantity: "1000".into(),
        active: true,
    }
}

async fn receive(
    services: &Services,
    actor: &Actor,
    drug: &DrugView,
    batch: &str,
    days: u64,
    units: u32,
) {
    let expiry = services
        .clinic_today()
        .checked_add_days(chrono::Days::new(days))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    services
        .receive_stock(
            actor,
            ReceiptRequest {
                drug_id: drug.id.clone(),
                supplier: "Bench Pharma Supplies".into(),
                batch_number: batch.into(),
                expiry,
                quantity: units.to_string(),
                unit_cost: "0.12".into(),
            },
        )
        .await
        .unwrap();
}

/// (units on hand, each batch's units) of a drug, read through the service.
async fn on_hand(services: &Services, actor: &Actor, drug: &DrugView) -> (u64, Vec<u32>) {
    let level = services
        .stock_levels(actor, 30)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.drug.id == drug.id)
        .unwrap();
    let batches = level.batches.iter().map(|b| b.quantity_on_hand).collect();
    (level.on_hand, batches)
}

/// Prescribes `drug` from `encounter` (acknowledging the warnings, if any).
async fn prescribe(
    services: &Services,
    doctor: &Actor,
    encounter: &str,
    drug: &DrugView,
) -> String {
    let mut request = PrescriptionRequest {
        encounter_id: encounter.to_owned(),
        drug_id: Some(drug.id.clone()),
        drug_name: drug.name.clone(),
        dose: "500 mg".into(),
        route: "oral".into(),
        frequency: "once daily".into(),
        duration_days: "30".into(),
        quantity: "5000".into(),
        ..Default::default()
    };
    let mut written = services.prescribe(doctor, request.clone()).await.unwrap();
    if let Prescribed::NeedsAcknowledgement(_) = written {
        request.acknowledgement = Some("Intended: benchmark course".into());
        written = services.prescribe(doctor, request).await.unwrap();
    }
    match written {
        Prescribed::Written(view) => view.id,
        Prescribed::NeedsAcknowledgement(w) => panic!("still warned: {w:?}"),
    }
}

/// Runs `work(i)` for i in 0..n on `tasks` concurrent tasks; the results in order of i.
async fn seed_concurrently<T, F, Fut>(n: usize, tasks: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let work = Arc::new(work);
    let mut handles = Vec::new();
    for task in 0..tasks {
        let work = work.clone();
        handles.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for i in (task..n).step_by(tasks) {
                done.push((i, work(i).await));
            }
            done
        }));
    }
    let mut all = Vec::with_capacity(n);
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
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
        store.clone(),
        Arc::new(SystemClock),
        service_settings,
        AuditSettings::ephemeral().expect("audit settings"),
        carevault_crypto::keyring::KeyRing::from_master_key(&[9u8; 32]).unwrap(),
    );
    services.seed_demo().await.unwrap();
    let operator = services.console_operator();
    let (prescriptions, invoices) = (settings.prescriptions, settings.invoices);
    // Two sets of invoices (spread and contended) of `invoices` each.
    let patients_needed = prescriptions + 2 * invoices;
    services
        .seed_synthetic_patients(
            &operator,
            u64::try_from(patients_needed).unwrap(),
            Some(2026),
        )
        .await
        .unwrap();
    let mut patients: Vec<String> = Vec::new();
    let mut after = None;
    loop {
        let rows = carevault_store::patients::batch_after(store.conn(), after, 500)
            .await
            .unwrap();
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        // John Patient (the demo's) has an account; the synthetic patients do not.
        patients.extend(
            rows.into_iter()
                .filter(|r| r.account_id.is_none())
                .map(|r| r.id.to_string()),
        );
    }
    assert!(
        patients.len() >= patients_needed,
        "{} patients",
        patients.len()
    );
    let seeding = Instant::now();

    let (_, admin) = sign_in(&services, "admin", "admin123").await;
    let (_, doctor) = sign_in(&services, "drsmith", "doctor123").await;
    let (pharma_token, pharma) = sign_in(&services, "pharma", "pharmacy123").await;
    // The default drug entry of the demo's price list: cost + 30 %.
    services
        .save_price(
            &admin,
            None,
            PriceInput {
                code: "DRUGS".into(),
                kind: "drug".into(),
                label: "Medicines (cost + 30 %)".into(),
                appointment_type: None,
                drug_id: None,
                fixed_price: None,
                markup_percent: Some("30".into()),
                tax_rate: None,
                active: true,
            },
        )
        .await
        .unwrap();
    // Plenty of stock in four batches; first expiry first out takes from the first.
    let plenty = services
        .create_drug(&pharma, drug_input("Benchmol"))
        .await
        .unwrap();
    let plenty_units = 1_000_000;
    for (n, days) in [200, 300, 400, 500].into_iter().enumerate() {
        receive(
            &services,
            &pharma,
            &plenty,
            &format!("B-{n}"),
            days,
            plenty_units,
        )
        .await;
    }
    // Small batches, all taken from by every connection, soonest expiry first.
    let scarce = services
        .create_drug(&pharma, drug_input("Scarcemol"))
        .await
        .unwrap();
    for n in 0..settings.contended_batches {
        let days = 100 + u64::from(n);
        receive(
            &services,
            &pharma,
            &scarce,
            &format!("S-{n}"),
            days,
            CONTENDED_BATCH_UNITS,
        )
        .await;
    }
    let scarce_initial = u64::from(settings.contended_batches) * u64::from(CONTENDED_BATCH_UNITS);

    // Per patient: on drsmith's care team, an encounter, one prescription of each drug.
    let prescribed = {
        let (services, admin, doctor) = (services.clone(), admin.clone(), doctor.clone());
        let (plenty, scarce) = (plenty.clone(), scarce.clone());
        let ids: Vec<String> = patients[..prescriptions].to_vec();
        seed_concurrently(prescriptions, 8, move |i| {
            let (services, admin, doctor) = (services.clone(), admin.clone(), doctor.clone());
            let (plenty, scarce, patient) = (plenty.clone(), scarce.clone(), ids[i].clone());
            async move {
                services
                    .assign_care_team_member(&admin, patient.parse().unwrap(), "drsmith")
                    .await
                    .unwrap();
                let encounter = services
                    .create_encounter(
                        &doctor,
                        EncounterInput {
                            patient_id: patient,
                            texts: HashMap::from([(
                                "chief_complaint".to_owned(),
                                "Benchmark".to_owned(),
                            )]),
                            ..EncounterInput::default()
                        },
                    )
                    .await
                    .unwrap();
                (
                    prescribe(&services, &doctor, &encounter.id, &plenty).await,
                    prescribe(&services, &doctor, &encounter.id, &scarce).await,
                )
            }
        })
        .await
    };
    let (plenty_rx, scarce_rx): (Vec<String>, Vec<String>) = prescribed.into_iter().unzip();

    // Issued invoices: consultation, blood test and a large deposit line (room for many
    // payments of 0.01), on patients without prescriptions (no open draft).
    let issue = |offset: usize| {
        let (services, admin) = (services.clone(), admin.clone());
        let ids: Vec<String> = patients[offset..offset + invoices].to_vec();
        seed_concurrently(invoices, 8, move |i| {
            let (services, admin, patient) = (services.clone(), admin.clone(), ids[i].clone());
            async move {
                let (invoice, _) = services.open_invoice(&admin, &patient).await.unwrap();
                let id = invoice.summary.id;
                for (description, price) in [
                    ("Consultation", "40.00"),
                    ("Blood test", "18.50"),
                    ("Treatment plan", "1000.00"),
                ] {
                    let line = LineRequest {
                        description: description.into(),
                        quantity: "1".into(),
                        unit_price: price.into(),
                        ..LineRequest::default()
                    };
                    services.add_invoice_line(&admin, &id, line).await.unwrap();
                }
                services.issue_invoice(&admin, &id).await.unwrap();
                id
            }
        })
    };
    let spread_invoices = issue(prescriptions).await;
    let contended_invoices = issue(prescriptions + invoices).await;
    println!(
        "seeded {} patients, {} prescriptions, {} batches and {} invoices through the service in {:.1} s",
        patients.len(),
        2 * prescriptions,
        4 + settings.contended_batches,
        2 * invoices,
        seeding.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public_url = url::Url::parse(&format!("http://{addr}/")).unwrap();
    let state = AppState::new(services.clone(), WebSettings::new(public_url));
    let app = carevault_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let admin_token = login(addr).await;

    let dispense = |rx: Vec<String>, drug: &DrugView| {
        let (rx, drug) = (Arc::new(rx), drug.id.clone());
        Arc::new(move |n: usize| {
            let body = serde_json::json!({
                "prescription_id": rx[n % rx.len()],
                "drug_id": drug,
                "quantity": 1,
            });
            (
                "POST".to_owned(),
                "/api/v1/dispensations".to_owned(),
                body.to_string(),
            )
        })
    };
    let outcome = scenario(
        "dispensing (POST /dispensations, 1 unit)",
        addr,
        &pharma_token,
        &settings,
        created_only,
        dispense(plenty_rx, &plenty),
    )
    .await;
    let (left, _) = on_hand(&services, &pharma, &plenty).await;
    assert_eq!(
        left,
        4 * u64::from(plenty_units) - outcome.count("201"),
        "every 201 took exactly one unit"
    );

    let outcome = scenario(
        "contended dispensing, same small batches",
        addr,
        &pharma_token,
        &settings,
        dispensed,
        dispense(scarce_rx, &scarce),
    )
    .await;
    let (left, batches) = on_hand(&services, &pharma, &scarce).await;
    let taken = outcome.count("201");
    assert_eq!(
        left,
        scarce_initial - taken,
        "every 201 took exactly one unit"
    );
    assert!(batches.iter().all(|b| *b <= CONTENDED_BATCH_UNITS));
    let emptied = batches.iter().filter(|b| **b == 0).count();
    println!(
        "  stock of the contended drug: {scarce_initial} → {left} units ({taken} dispensed), \
         {emptied} of {} batches empty, none below zero",
        batches.len()
    );

    let pay = |invoices: Vec<String>, per_invoice: usize| {
        let invoices = Arc::new(invoices);
        Arc::new(move |n: usize| {
            (
                "POST".to_owned(),
                format!(
                    "/api/v1/invoices/{}/payments",
                    invoices[(n / per_invoice) % invoices.len()]
                ),
                r#"{"amount":"0.01","method":"cash"}"#.to_owned(),
            )
        })
    };
    let spread = scenario(
        "payments of 0.01 over many invoices",
        addr,
        &admin_token,
        &settings,
        paid,
        pay(spread_invoices.clone(), 1),
    )
    .await;
    let contended = scenario(
        "payments, 64 in a row on the same invoice",
        addr,
        &admin_token,
        &settings,
        paid,
        pay(contended_invoices.clone(), PAYMENTS_PER_INVOICE),
    )
    .await;
    // No payment lost or counted twice: what the invoices say was paid is what was accepted.
    for (invoices, outcome) in [
        (&spread_invoices, &spread),
        (&contended_invoices, &contended),
    ] {
        let mut cents = 0;
        for id in invoices.iter() {
            let view = services.get_invoice(&admin, id).await.unwrap();
            cents += view.summary.totals.paid.minor_units();
        }
        assert_eq!(cents, i64::try_from(outcome.count("201")).unwrap());
    }

    let read = {
        let invoices = Arc::new(spread_invoices);
        Arc::new(move |n: usize| {
            (
                "GET".to_owned(),
                format!("/api/v1/invoices/{}", invoices[n % invoices.len()]),
                String::new(),
            )
        })
    };
    scenario(
        "an invoice (GET /invoices/{id})",
        addr,
        &admin_token,
        &settings,
        ok_only,
        read,
    )
    .await;
    services.shutdown().await;
}
