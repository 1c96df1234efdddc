//! Criterion benchmarks of the audit trail against a real SQLite database:
//!
//! - `audited_vs_unaudited_read/*`: 64 concurrent `Services::audit_events` calls (each
//!   records an `audit_viewed` event through the group-commit writer, then reads) against
//!   64 concurrent store-level reads of the same page (`count` + `list` + the actor-name
//!   lookup that `audit_events` also does), without any audit append.
//! - `group_commit_append/*`: audited reads at concurrency 1, 16 and 64 (a fresh log for
//!   each), and refused reads (a patient asking for the audit log: a pure group-commit
//!   append, no read) at the same concurrencies. The throughput growing with concurrency is
//!   the batching at work.
//!
//! Every audited read appends an event and every read counts the whole log, so the log's
//! growth during a run slows later reads; the size is printed before and after each step,
//! and `unaudited_read_64_concurrent_after_growth` repeats the unaudited read on the grown
//! log. `cargo bench -p carevault --bench http_audit` interleaves the two reads instead.
//! - `verify/verify_1m_events_10_checkpoints`: `verify_audit_log` end to end over a
//!   database of 1,000,000 events with a signed checkpoint every 100,000. The database is
//!   generated once with the append path's own maths (`encode_leaf` / `leaf_hash` /
//!   `Frontier`, one transaction per 10,000 events under the tree-state lock) and cached in
//!   `target/bench-data/audit-1m.db`; a data directory for timing the real binary
//!   (`carevault --data-dir target/bench-data/audit-1m audit verify`) is prepared next to it.
//!   With `CAREVAULT_BENCH_VERIFY_BREAKDOWN=1`, one more (untimed by criterion) pass prints
//!   how the time splits between reading rows, rebuilding leaves and the Merkle work, and
//!   how long plain sqlx takes to read the same pages.
//!
//! Run with `cargo bench -p carevault --bench audit_store` (filter with `-- verify` etc.).
//! See BENCHMARKS.md at the workspace root for the figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use carevault_audit::{Checkpoint, CheckpointSigner, Frontier, encode_leaf, leaf_hash};
use carevault_core::audit::{ActorKind, AuditAction, AuditEvent, Outcome, ResourceType};
use carevault_core::{Role, UserId};
use carevault_service::auth::SignInRequest;
use carevault_service::{
    Actor, AuditSettings, ServiceError, ServiceSettings, Services, SystemClock,
};
use carevault_store::audit::{
    self as audit_store, AuditFilter, CheckpointRow, NewAuditRow, TreeState,
};
use carevault_store::{ConnectSettings, Store, TransactionTrait, users};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use secrecy::SecretString;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Concurrent calls per batch in the audited-vs-unaudited comparison.
const READ_BATCH: usize = 64;
/// Events in the verification database: 1,000,000, or `CAREVAULT_BENCH_VERIFY_EVENTS` (a
/// multiple of [`CHECKPOINT_EVERY`]; 10,000,000 takes about 10 minutes to generate and 6 GB).
fn verify_events() -> u64 {
    let events: u64 = std::env::var("CAREVAULT_BENCH_VERIFY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    assert!(
        events > 0 && events.is_multiple_of(CHECKPOINT_EVERY),
        "CAREVAULT_BENCH_VERIFY_EVENTS must be a multiple of {CHECKPOINT_EVERY}"
    );
    events
}

/// The name of the cached database and data directory for `events` events: `audit-1m`,
/// `audit-10m`, or `audit-<n>` for other sizes.
fn verify_name(events: u64) -> String {
    if events.is_multiple_of(1_000_000) {
        format!("audit-{}m", events / 1_000_000)
    } else {
        format!("audit-{events}")
    }
}
/// Events per transaction while generating it.
const EVENTS_PER_TXN: u64 = 10_000;
/// A signed checkpoint every this many events.
const CHECKPOINT_EVERY: u64 = 100_000;

/// The server's runtime shape on this 2-core machine (`#[tokio::main]` uses one worker per
/// core).
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh SQLite database with the demo accounts, and the auditor and a patient signed in.
struct Fixture {
    services: Services,
    store: Store,
    auditor: Actor,
    patient: Actor,
    _dir: tempfile::TempDir,
}

async fn sign_in(services: &Services, username: &str, password: &str) -> Actor {
    let signed = services
        .sign_in(SignInRequest {
            username: username.into(),
            password: SecretString::from(password),
            client_addr: None,
            previous_token: None,
            request_id: None,
        })
        .await
        .unwrap();
    services.authenticate(&signed.token, None).await.unwrap()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/carevault.db", dir.path().display());
    let store = Store::connect(&url, &ConnectSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let services = Services::new(
        store.clone(),
        Arc::new(SystemClock),
        ServiceSettings::default(),
        AuditSettings::ephemeral().expect("audit settings"),
        carevault_crypto::keyring::KeyRing::from_master_key(&[9u8; 32]).unwrap(),
    );
    services.seed_demo().await.unwrap();
    let auditor = sign_in(&services, "auditor", "audit123").await;
    let patient = sign_in(&services, "john", "patient123").await;
    Fixture {
        services,
        store,
        auditor,
        patient,
        _dir: dir,
    }
}

async fn log_size(store: &Store) -> u64 {
    audit_store::read_state(store.conn()).await.unwrap().size
}

/// The read `Services::audit_events` does after recording the view: the count, the page,
/// and the display name of each acting account on it.
async fn unaudited_read(store: &Store) -> u64 {
    let conn = store.conn();
    let filter = AuditFilter::default();
    let total = audit_store::count(conn, &filter).await.unwrap();
    let rows = audit_store::list(conn, &filter, 0, 1).await.unwrap();
    for row in &rows {
        if let Some(id) = row
            .fields
            .actor_id
            .as_deref()
            .and_then(|id| id.parse::<UserId>().ok())
        {
            black_box(users::find_by_id(conn, id).await.unwrap());
        }
    }
    black_box(rows);
    total
}

/// `n` concurrent audited reads (each its own task, as each request is in the server).
async fn audited_batch(services: &Services, actor: &Actor, n: usize) {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let services = services.clone();
        let actor = actor.clone();
        tasks.spawn(async move {
            services
                .audit_events(&actor, AuditFilter::default(), 0, 1)
                .await
                .map(|page| page.total)
        });
    }
    while let Some(result) = tasks.join_next().await {
        black_box(result.unwrap().unwrap());
    }
}

/// `n` concurrent unaudited reads of the same page.
async fn unaudited_batch(store: &Store, n: usize) {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let store = store.clone();
        tasks.spawn(async move { unaudited_read(&store).await });
    }
    while let Some(result) = tasks.join_next().await {
        black_box(result.unwrap());
    }
}

/// `n` concurrent refused reads: each records an `access_denied` event through the
/// group-commit writer and reads nothing.
async fn refused_batch(services: &Services, patient: &Actor, n: usize) {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let services = services.clone();
        let actor = patient.clone();
        tasks.spawn(async move {
            services
                .audit_events(&actor, AuditFilter::default(), 0, 1)
                .await
                .map(|page| page.total)
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(matches!(result.unwrap(), Err(ServiceError::Forbidden)));
    }
}

/// Times `iters` sequential batches produced by `batch`.
fn time_batches<F, Fut>(rt: &Runtime, iters: u64, mut batch: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            batch().await;
        }
        start.elapsed()
    })
}

fn audited_vs_unaudited(c: &mut Criterion) {
    let rt = runtime();
    let f = rt.block_on(fixture());
    let mut group = c.benchmark_group("audited_vs_unaudited_read");
    group.throughput(Throughput::Elements(READ_BATCH as u64));

    eprintln!(
        "audit log before the unaudited read: {} events",
        rt.block_on(log_size(&f.store))
    );
    group.bench_function("unaudited_read_64_concurrent", |b| {
        b.iter_custom(|iters| time_batches(&rt, iters, || unaudited_batch(&f.store, READ_BATCH)));
    });
    eprintln!(
        "audit log before the audited read: {} events",
        rt.block_on(log_size(&f.store))
    );
    group.bench_function("audited_read_64_concurrent", |b| {
        b.iter_custom(|iters| {
            time_batches(&rt, iters, || {
                audited_batch(&f.services, &f.auditor, READ_BATCH)
            })
        });
    });
    // The audited run grew the log (every view is an event); the same unaudited read over
    // the grown log separates that from the cost of the append itself.
    eprintln!(
        "audit log after the audited read: {} events",
        rt.block_on(log_size(&f.store))
    );
    group.bench_function("unaudited_read_64_concurrent_after_growth", |b| {
        b.iter_custom(|iters| time_batches(&rt, iters, || unaudited_batch(&f.store, READ_BATCH)));
    });
    group.finish();
    rt.block_on(f.services.shutdown());
}

fn group_commit(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("group_commit_append");
    for n in [1usize, 16, 64] {
        // A fresh log for each level: the reads count the whole log, which each run grows.
        let f = rt.block_on(fixture());
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("audited_read_concurrency_{n}"), |b| {
            b.iter_custom(|iters| {
                time_batches(&rt, iters, || audited_batch(&f.services, &f.auditor, n))
            });
        });
        eprintln!(
            "audit log after audited reads at concurrency {n}: {} events",
            rt.block_on(log_size(&f.store))
        );
        rt.block_on(f.services.shutdown());
    }
    // Refusals read nothing, so the log's growth does not matter here.
    let f = rt.block_on(fixture());
    for n in [1usize, 16, 64] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("refusal_append_only_concurrency_{n}"), |b| {
            b.iter_custom(|iters| {
                time_batches(&rt, iters, || refused_batch(&f.services, &f.patient, n))
            });
        });
    }
    group.finish();
    eprintln!(
        "audit log after the group-commit benches: {} events",
        rt.block_on(log_size(&f.store))
    );
    rt.block_on(f.services.shutdown());
}

// ---------------------------------------------------------------------------------------
// The 1,000,000-event database.
// ---------------------------------------------------------------------------------------

/// The fixed test key of the verification database (also written to the binary's key file).
fn bench_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn bench_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data")
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A plausible mix of events: sign-ins, patient reads and searches, audit views, refusals.
fn synthetic_event(seq: u64, users: &[UserId], base: DateTime<Utc>) -> AuditEvent {
    let user = users[usize::try_from(seq).unwrap() % users.len()];
    let millis = i64::try_from(seq).unwrap() * 50;
    let mut event = AuditEvent {
        time: base + chrono::Duration::milliseconds(millis),
        actor_kind: ActorKind::User,
        actor_id: Some(user),
        actor_role: Some(Role::Doctor),
        action: AuditAction::Read,
        resource_type: ResourceType::Patient,
        resource_id: Some(format!("{:032x}", seq.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        patient_pseudonym: Some(format!("ANON_{:06}", seq % 50_000)),
        outcome: Outcome::Allowed,
        reason: None,
        request_id: Some(format!("{:032x}", seq.wrapping_mul(0xbf58_476d_1ce4_e5b9))),
    };
    match seq % 10 {
        0 => {
            event.action = AuditAction::SignIn;
            event.resource_type = ResourceType::Session;
            event.patient_pseudonym = None;
        }
        7 => {
            event.action = AuditAction::Search;
            event.resource_id = None;
            event.patient_pseudonym = None;
            event.reason = Some("name search".into());
        }
        8 => {
            event.actor_role = Some(Role::Auditor);
            event.action = AuditAction::AuditViewed;
            event.resource_type = ResourceType::AuditLog;
            event.resource_id = None;
            event.patient_pseudonym = None;
            event.reason = Some("all events".into());
        }
        9 => {
            event.actor_role = Some(Role::Receptionist);
            event.action = AuditAction::AccessDenied;
            event.outcome = Outcome::Denied;
            event.reason = Some("requires access to the patient's record".into());
        }
        _ => {}
    }
    event
}

/// Writes the 1M-event database to `path` (through a `.partial` file, renamed at the end so
/// an interrupted run never leaves a half-built cache behind).
async fn build_verify_db(path: &Path) {
    let partial = path.with_extension("db.partial");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let started = Instant::now();
    let total = verify_events();
    eprintln!(
        "generating {total} audit events in {} (once; cached)",
        path.display()
    );
    let store = Store::connect(&sqlite_url(&partial), &ConnectSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let settings = AuditSettings::new(bench_key(), None).unwrap();
    let origin = settings.origin().to_owned();
    let signer = CheckpointSigner::new(origin.clone(), bench_key()).unwrap();
    let users: Vec<UserId> = (0..50).map(|_| UserId::generate()).collect();
    let base = Utc.timestamp_micros(1_767_225_600_000_000).unwrap();

    loop {
        let txn = store.conn().begin().await.unwrap();
        let now = Utc::now();
        // As `append_events`: the tree-state lock, the frontier, the rows, the new state.
        let state = audit_store::lock_state(&txn, now).await.unwrap();
        if state.size >= total {
            break;
        }
        let mut frontier = if state.frontier.is_empty() {
            Frontier::new()
        } else {
            Frontier::from_bytes(&state.frontier).unwrap()
        };
        assert_eq!(frontier.size(), state.size);
        let count = EVENTS_PER_TXN.min(total - state.size);
        let mut rows = Vec::with_capacity(usize::try_from(count).unwrap());
        for _ in 0..count {
            let seq = frontier.size();
            let fields = synthetic_event(seq, &users, base).fields();
            let hash = leaf_hash(&encode_leaf(seq, &fields.canonical_bytes()));
            frontier.push(hash);
            rows.push(NewAuditRow {
                seq,
                fields,
                leaf_hash: hash,
            });
        }
        audit_store::insert_events(&txn, &rows).await.unwrap();
        audit_store::save_state(
            &txn,
            &TreeState {
                size: frontier.size(),
                frontier: frontier.to_bytes(),
            },
        )
        .await
        .unwrap();
        if frontier.size().is_multiple_of(CHECKPOINT_EVERY) {
            let checkpoint =
                Checkpoint::new(origin.clone(), frontier.size(), frontier.root()).unwrap();
            audit_store::insert_checkpoint(
                &txn,
                &CheckpointRow {
                    tree_size: frontier.size(),
                    root_hash: hex::encode(frontier.root()),
                    note: signer.sign(&checkpoint),
                    created_at: now,
                },
            )
            .await
            .unwrap();
        }
        txn.commit().await.unwrap();
    }
    store.close().await;
    std::fs::rename(&partial, path).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    eprintln!("generated in {:.1?}", started.elapsed());
}

/// Whether `path` holds the complete database (else it is rebuilt).
async fn cached_db_is_complete(path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    let Ok(store) = Store::connect(&sqlite_url(path), &ConnectSettings::default()).await else {
        return false;
    };
    // A schema that moved on since the cache was built: bring it up to date.
    if store.migrate().await.is_err() {
        return false;
    }
    let size = audit_store::read_state(store.conn()).await.map(|s| s.size);
    let checkpoints = audit_store::all_checkpoints(store.conn())
        .await
        .map(|c| c.len());
    store.close().await;
    let events = verify_events();
    matches!((size, checkpoints), (Ok(s), Ok(c)) if s == events && u64::try_from(c) == Ok(events / CHECKPOINT_EVERY))
}

/// `<bench-data>/audit-1m/` (or `audit-10m/`, …) as `carevault --data-dir` expects it: `carevault.db` (a hard
/// link to the cached database) and `keys/audit-signing.key` (the fixed test key, 0600).
fn prepare_binary_data_dir(db: &Path) -> PathBuf {
    use base64::Engine;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = bench_data_dir()
        .canonicalize()
        .unwrap()
        .join(verify_name(verify_events()));
    let keys = dir.join("keys");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&keys)
        .unwrap();
    let linked = dir.join("carevault.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", linked.display()));
    }
    std::fs::hard_link(db, &linked).unwrap();
    let key_path = keys.join("audit-signing.key");
    let _ = std::fs::remove_file(&key_path);
    let content = format!(
        "carevault-audit-ed25519-v1\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(bench_key().to_bytes())
    );
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .unwrap();
    std::io::Write::write_all(&mut file, content.as_bytes()).unwrap();
    dir
}

/// The cached database, built if missing or incomplete.
async fn verify_db() -> PathBuf {
    std::fs::create_dir_all(bench_data_dir()).unwrap();
    let dir = bench_data_dir().canonicalize().unwrap();
    let path = dir.join(format!("{}.db", verify_name(verify_events())));
    if !cached_db_is_complete(&path).await {
        build_verify_db(&path).await;
        assert!(cached_db_is_complete(&path).await);
    }
    let data_dir = prepare_binary_data_dir(&path);
    eprintln!(
        "binary check: target/release/carevault --data-dir {} audit verify",
        data_dir.display()
    );
    path
}

fn verify(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("verify");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60))
        .throughput(Throughput::Elements(verify_events()));
    // Built lazily, so that `-- <filter>` runs that skip this bench do not build it.
    let mut opened: Option<(Store, AuditSettings)> = None;
    group.bench_function("verify_1m_events_10_checkpoints", |b| {
        let (store, settings) = opened.get_or_insert_with(|| {
            rt.block_on(async {
                let path = verify_db().await;
                // As `carevault audit verify` opens it.
                let store = Store::connect(
                    &sqlite_url(&path),
                    &ConnectSettings {
                        max_connections: 2,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                (store, AuditSettings::new(bench_key(), None).unwrap())
            })
        });
        let verifier = settings.verifier();
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let report = carevault_service::audit_verify::verify_audit_log(
                        store,
                        &verifier,
                        settings.origin(),
                        vec![],
                        Utc::now(),
                    )
                    .await
                    .unwrap();
                    elapsed += start.elapsed();
                    assert!(report.ok, "verification failed: {:?}", report.problem);
                    assert_eq!(report.size, verify_events());
                    assert_eq!(
                        u64::try_from(report.checkpoints_matched).unwrap(),
                        verify_events() / CHECKPOINT_EVERY
                    );
                }
                elapsed
            })
        });
    });
    group.finish();
    if let Some((store, settings)) = opened {
        if std::env::var("CAREVAULT_BENCH_VERIFY_BREAKDOWN").is_ok_and(|v| v == "1") {
            rt.block_on(verify_breakdown(&store, &settings));
        }
        rt.block_on(store.close());
    }
}

/// One pass over the same log, timing separately what `verify_from` does per page: reading
/// the rows (`events_from`, pages of 5,000), rebuilding each leaf (canonical bytes, envelope,
/// stored hash decoded) and the Merkle work (`LogVerifier::push`: leaf hash, frontier,
/// checkpoint roots). Printed, not asserted: it says where the time goes.
async fn verify_breakdown(store: &Store, settings: &AuditSettings) {
    use carevault_audit::{LogVerifier, StoredLeaf, TrustedCheckpoint, VerifierState};
    let verifier = settings.verifier();
    let checkpoints: Vec<TrustedCheckpoint> = audit_store::all_checkpoints(store.conn())
        .await
        .unwrap()
        .iter()
        .map(|row| {
            TrustedCheckpoint::from_checkpoint(
                format!("checkpoint {}", row.tree_size),
                &verifier.open(&row.note).unwrap(),
            )
        })
        .collect();
    let mut log = LogVerifier::new(VerifierState::new(), checkpoints);
    let (mut fetch, mut encode, mut merkle) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut next = 0;
    loop {
        let t = Instant::now();
        let rows = audit_store::events_from(store.conn(), next, 5_000)
            .await
            .unwrap();
        fetch += t.elapsed();
        let Some(last) = rows.last() else { break };
        next = last.seq + 1;
        let t = Instant::now();
        let leaves: Vec<StoredLeaf> = rows
            .iter()
            .map(|row| {
                let mut stored = [0u8; 32];
                hex::decode_to_slice(&row.leaf_hash, &mut stored).unwrap();
                StoredLeaf {
                    seq: row.seq,
                    leaf_bytes: encode_leaf(row.seq, &row.fields.canonical_bytes()),
                    stored_leaf_hash: Some(stored),
                }
            })
            .collect();
        encode += t.elapsed();
        let t = Instant::now();
        log.push_all(&leaves).unwrap();
        merkle += t.elapsed();
        if rows.len() < 5_000 {
            break;
        }
    }
    let t = Instant::now();
    let summary = log.finish().unwrap();
    merkle += t.elapsed();
    assert_eq!(summary.size, verify_events());
    eprintln!(
        "verify breakdown (one pass, {} events): reading rows {fetch:.2?}, \
         rebuilding leaves {encode:.2?}, Merkle + checkpoints {merkle:.2?}",
        summary.size
    );

    // The same pages read with plain sqlx (no sea-orm models), every column decoded: how much
    // of "reading rows" is the driver and how much the ORM layer.
    use sea_orm::sqlx::Row;
    let pool = store.conn().get_sqlite_connection_pool();
    let t = Instant::now();
    let (mut next, mut read) = (0i64, 0u64);
    loop {
        let rows = sea_orm::sqlx::query(
            "SELECT seq, recorded_at, actor_kind, actor_id, actor_role, action, resource_type, \
             resource_id, patient_pseudonym, outcome, reason, request_id, leaf_hash \
             FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT 5000",
        )
        .bind(next)
        .fetch_all(pool)
        .await
        .unwrap();
        let Some(last) = rows.last() else { break };
        next = last.get::<i64, _>(0) + 1;
        for row in &rows {
            black_box((row.get::<i64, _>(0), row.get::<i64, _>(1)));
            black_box((row.get::<String, _>(2), row.get::<String, _>(5)));
            black_box((row.get::<String, _>(6), row.get::<String, _>(9)));
            black_box(row.get::<String, _>(12));
            for column in [3, 4, 7, 8, 10, 11] {
                black_box(row.get::<Option<String>, _>(column));
            }
        }
        read += rows.len() as u64;
        if rows.len() < 5_000 {
            break;
        }
    }
    assert_eq!(read, verify_events());
    eprintln!(
        "the same pages through plain sqlx (no sea-orm models): {:.2?}",
        t.elapsed()
    );
}

criterion_group! {
    name = reads;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = audited_vs_unaudited, group_commit
}
criterion_group! {
    name = verification;
    config = Criterion::default();
    targets = verify
}
criterion_main!(reads, verification);
