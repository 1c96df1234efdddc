//! The audit trail over HTTP: append-only tables, exactly one event per action, proofs an
//! outsider can check with their own code, and concurrency.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sha2::{Digest, Sha256};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.database_url.as_str())
        .await
        .expect("the test database")
}

/// Every stored event as a map of column → text, in sequence order.
async fn events(
    db: &DatabaseConnection,
) -> Vec<std::collections::BTreeMap<String, Option<String>>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT seq, actor_kind, actor_id, actor_role, action, resource_type, resource_id, \
             patient_pseudonym, outcome, reason, request_id FROM audit_events ORDER BY seq",
        ))
        .await
        .expect("events");
    rows.into_iter()
        .map(|row| {
            let mut map = std::collections::BTreeMap::new();
            map.insert(
                "seq".to_owned(),
                Some(row.try_get::<i64>("", "seq").expect("seq").to_string()),
            );
            for column in [
                "actor_kind",
                "actor_id",
                "actor_role",
                "action",
                "resource_type",
                "resource_id",
                "patient_pseudonym",
                "outcome",
                "reason",
                "request_id",
            ] {
                map.insert(
                    column.to_owned(),
                    row.try_get::<Option<String>>("", column).expect(column),
                );
            }
            map
        })
        .collect()
}

fn get<'a>(
    event: &'a std::collections::BTreeMap<String, Option<String>>,
    column: &str,
) -> Option<&'a str> {
    event.get(column).and_then(|v| v.as_deref())
}

async fn audit_tables_refuse_update_and_delete(backend: Backend) {
    let is_postgres = matches!(backend, Backend::Postgres(_));
    let app = TestApp::new(backend).await;
    app.services.checkpoint_now().await.expect("a checkpoint");
    let db = db(&app).await;
    let seeded = events(&db).await.len();
    assert!(seeded >= 7, "the demo accounts' creation events exist");
    let mut statements = vec![
        "UPDATE audit_events SET outcome = 'denied'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE seq = 0",
        "UPDATE audit_checkpoints SET root_hash = 'x'",
        "DELETE FROM audit_checkpoints",
    ];
    if is_postgres {
        statements.push("TRUNCATE audit_events");
        statements.push("TRUNCATE audit_checkpoints");
    }
    for sql in statements {
        let result = db.execute_unprepared(sql).await;
        let err = result.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        events(&db).await.len(),
        seeded,
        "the demo seeding's events are intact"
    );
    let report = app
        .services
        .verify_audit_trail(true)
        .await
        .expect("verification");
    assert!(report.ok, "{report:?}");
}

async fn each_action_leaves_exactly_one_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let db = db(&app).await;
    let drsmith_id = |rows: &[std::collections::BTreeMap<String, Option<String>>]| {
        rows.iter()
            .find(|e| {
                get(e, "action") == Some("account_created")
                    && get(e, "reason") == Some("role doctor")
            })
            .and_then(|e| get(e, "resource_id").map(str::to_owned))
            .expect("drsmith's creation")
    };
    let before = events(&db).await;
    let doctor_id = drsmith_id(&before);

    // Signing in.
    let mut doctor = app.api_client("drsmith").await;
    let after = events(&db).await;
    assert_eq!(after.len(), before.len() + 1);
    let e = after.last().expect("event");
    assert_eq!(get(e, "action"), Some("sign_in"));
    assert_eq!(get(e, "actor_kind"), Some("user"));
    assert_eq!(get(e, "actor_id"), Some(doctor_id.as_str()));
    assert_eq!(get(e, "actor_role"), Some("doctor"));
    assert_eq!(get(e, "outcome"), Some("allowed"));
    assert_eq!(get(e, "resource_type"), Some("session"));
    assert!(get(e, "request_id").is_some());

    // A failed sign-in, with a username typed by mistake.
    let before = after;
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith-typed-xyz", "password": "typed-password-1"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith", "password": "typed-password-2"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let after = events(&db).await;
    assert_eq!(after.len(), before.len() + 2);
    let unknown = &after[after.len() - 2];
    let known = &after[after.len() - 1];
    for e in [unknown, known] {
        assert_eq!(get(e, "action"), Some("sign_in_failed"));
        assert_eq!(get(e, "actor_kind"), Some("anonymous"));
        assert_eq!(get(e, "actor_id"), None);
        assert_eq!(get(e, "outcome"), Some("failed"));
    }
    assert_eq!(get(unknown, "resource_id"), None);
    assert_eq!(
        get(known, "resource_id"),
        Some(doctor_id.as_str()),
        "the targeted account is named by id"
    );

    // A denied request.
    let before = after;
    doctor
        .get("/api/v1/system/status")
        .await
        .problem(StatusCode::FORBIDDEN);
    let after = events(&db).await;
    assert_eq!(after.len(), before.len() + 1);
    let e = after.last().expect("event");
    assert_eq!(get(e, "action"), Some("access_denied"));
    assert_eq!(get(e, "actor_id"), Some(doctor_id.as_str()));
    assert_eq!(get(e, "actor_role"), Some("doctor"));
    assert_eq!(get(e, "outcome"), Some("denied"));

    // An API read (of the audit log itself).
    let mut auditor = app.api_client("auditor").await;
    let before = events(&db).await;
    let read = auditor.get("/api/v1/audit/events?limit=5").await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let after = events(&db).await;
    assert_eq!(after.len(), before.len() + 1);
    let e = after.last().expect("event");
    assert_eq!(get(e, "action"), Some("audit_viewed"));
    assert_eq!(get(e, "actor_role"), Some("auditor"));
    assert_eq!(get(e, "outcome"), Some("allowed"));
    assert_eq!(get(e, "request_id"), read.header("x-request-id"));

    // Sign-out.
    let before = after;
    doctor
        .post_json("/api/v1/auth/logout", &serde_json::json!({}))
        .await;
    let after = events(&db).await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(
        get(after.last().expect("event"), "action"),
        Some("sign_out")
    );

    // Nothing personal or secret anywhere in the log.
    let everything = format!("{after:?}");
    for secret in [
        "drsmith-typed-xyz",
        "typed-password-1",
        "typed-password-2",
        "doctor123",
        "audit123",
        "cvs_",
        "Sarah Smith",
    ] {
        assert!(
            !everything.contains(secret),
            "the audit log contains {secret:?}"
        );
    }
}

// ---- An independent checker: only sha2 and ed25519-dalek (and hex/base64 to read). ----

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    sha256(&[&[1], left, right])
}

fn unhex(text: &serde_json::Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.as_str().expect("hex"), &mut out).expect("32 hex bytes");
    out
}

/// RFC 9162 §2.1.3.2.
fn check_inclusion(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    proof: &[[u8; 32]],
    root: [u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn, mut r) = (index, size - 1, leaf);
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == root
}

/// RFC 9162 §2.1.4.2.
fn check_consistency(
    first: u64,
    second: u64,
    first_root: [u8; 32],
    second_root: [u8; 32],
    proof: &[[u8; 32]],
) -> bool {
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<[u8; 32]> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, first_root);
    }
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == first_root && sr == second_root && sn == 0
}

/// The documented canonical encoding, rebuilt from an event's JSON.
fn leaf_of(event: &serde_json::Value, time_micros: i64) -> [u8; 32] {
    let mut leaf = vec![1u8];
    leaf.extend_from_slice(&event["seq"].as_u64().expect("seq").to_be_bytes());
    leaf.push(1);
    leaf.extend_from_slice(&time_micros.to_be_bytes());
    for field in [
        "actor_kind",
        "actor_id",
        "actor_role",
        "action",
        "resource_type",
        "resource_id",
        "patient_pseudonym",
        "outcome",
        "reason",
        "request_id",
    ] {
        match event[field].as_str() {
            None => leaf.push(0),
            Some(text) => {
                leaf.push(1);
                leaf.extend_from_slice(&(text.len() as u32).to_be_bytes());
                leaf.extend_from_slice(text.as_bytes());
            }
        }
    }
    sha256(&[&[0], &leaf])
}

async fn an_outsider_can_check_proofs_and_checkpoints(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut auditor = app.api_client("auditor").await;
    for _ in 0..4 {
        app.api_client("nurse").await;
    }
    app.services.checkpoint_now().await.expect("checkpoint");
    let small = auditor.get("/api/v1/audit/checkpoint").await;
    assert_eq!(small.status, StatusCode::OK, "{}", small.text());
    let small = small.json();
    for _ in 0..5 {
        app.api_client("john").await;
    }
    app.services.checkpoint_now().await.expect("checkpoint");
    let checkpoint = auditor.get("/api/v1/audit/checkpoint").await.json();

    // The checkpoint's signature, checked with ed25519-dalek alone.
    let note = checkpoint["note"].as_str().expect("note");
    let (body, signatures) = note.split_once("\n\n").expect("a signed note");
    let body = format!("{body}\n");
    let mut lines = body.lines();
    assert_eq!(
        Some(checkpoint["origin"].as_str().expect("origin")),
        lines.next()
    );
    let size: u64 = lines.next().expect("size").parse().expect("a number");
    let root: [u8; 32] = STANDARD
        .decode(lines.next().expect("root"))
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    assert_eq!(size, checkpoint["tree_size"].as_u64().expect("size"));
    assert_eq!(
        hex::encode(root),
        checkpoint["root_hash"].as_str().expect("root")
    );
    let verifier_key = checkpoint["verifier_key"].as_str().expect("verifier key");
    let mut parts = verifier_key.splitn(3, '+');
    let (name, key_id, key) = (
        parts.next().expect("name"),
        parts.next().expect("id"),
        parts.next().expect("key"),
    );
    let key = STANDARD.decode(key).expect("base64");
    assert_eq!(key[0], 1, "Ed25519");
    let public: [u8; 32] = key[1..].try_into().expect("32 bytes");
    let expected_id = &sha256(&[name.as_bytes(), b"\n", &[1], &public])[..4];
    assert_eq!(hex::encode(expected_id), key_id);
    let line = signatures
        .lines()
        .find(|l| l.starts_with(&format!("— {name} ")))
        .expect("our signature line");
    let blob = STANDARD
        .decode(line.rsplit(' ').next().expect("blob"))
        .expect("base64");
    assert_eq!(&blob[..4], expected_id);
    let signature = ed25519_dalek::Signature::from_slice(&blob[4..]).expect("64 bytes");
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("a key");
    verifying
        .verify_strict(body.as_bytes(), &signature)
        .expect("the checkpoint signature verifies");
    let mut tampered = body.clone().into_bytes();
    tampered[0] ^= 1;
    assert!(verifying.verify_strict(&tampered, &signature).is_err());

    // An inclusion proof for an event whose leaf we compute ourselves.
    let listed = auditor.get("/api/v1/audit/events?limit=500").await.json();
    let event = listed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["seq"] == 3)
        .expect("event 3")
        .clone();
    let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().expect("time"))
        .expect("RFC 3339");
    let leaf = leaf_of(&event, time.timestamp_micros());
    for index in [0, 3, size - 1] {
        let response = auditor
            .get(&format!(
                "/api/v1/audit/proof/inclusion?index={index}&size={size}"
            ))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let proof = response.json();
        let path: Vec<[u8; 32]> = proof["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(unhex)
            .collect();
        let served_leaf = unhex(&proof["leaf_hash"]);
        if index == 3 {
            assert_eq!(
                served_leaf, leaf,
                "the served leaf hash is the hash of the documented encoding"
            );
        }
        assert_eq!(unhex(&proof["root_hash"]), root);
        assert!(
            check_inclusion(index, size, served_leaf, &path, root),
            "inclusion of {index}"
        );
        assert!(!check_inclusion(
            index,
            size,
            sha256(&[b"other"]),
            &path,
            root
        ));
    }

    // A consistency proof between the two checkpoints.
    let first = small["tree_size"].as_u64().expect("size");
    let first_root = unhex(&small["root_hash"]);
    let response = auditor
        .get(&format!(
            "/api/v1/audit/proof/consistency?from={first}&to={size}"
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let proof = response.json();
    let path: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(unhex)
        .collect();
    assert!(check_consistency(first, size, first_root, root, &path));
    assert!(!check_consistency(
        first,
        size,
        sha256(&[b"forged"]),
        root,
        &path
    ));

    // Bad proof requests are clear 4xx.
    auditor
        .get(&format!(
            "/api/v1/audit/proof/inclusion?index={size}&size={size}"
        ))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    auditor
        .get("/api/v1/audit/proof/consistency?from=5&to=2")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    auditor
        .get("/api/v1/audit/proof/inclusion?index=x&size=2")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.api_client("drsmith")
        .await
        .get("/api/v1/audit/checkpoint")
        .await
        .problem(StatusCode::FORBIDDEN);
}

async fn concurrent_audited_reads_each_get_their_own_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let auditor = app.api_client("auditor").await;
    let token = auditor.bearer.clone().expect("token");
    let db = db(&app).await;
    let before = events(&db).await.len();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let router = app.router.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let request = axum::http::Request::get("/api/v1/audit/events?limit=1")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .expect("request");
            let response = router.oneshot(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK);
            response.headers()["x-request-id"]
                .to_str()
                .expect("id")
                .to_owned()
        }));
    }
    let mut request_ids = BTreeSet::new();
    for task in tasks {
        request_ids.insert(task.await.expect("task"));
    }
    let all = events(&db).await;
    let new: Vec<_> = all[before..]
        .iter()
        .filter(|e| get(e, "action") == Some("audit_viewed"))
        .collect();
    assert_eq!(new.len(), 200);
    let seqs: BTreeSet<_> = new
        .iter()
        .map(|e| get(e, "seq").expect("seq").to_owned())
        .collect();
    assert_eq!(seqs.len(), 200, "distinct sequence numbers");
    let recorded: BTreeSet<String> = new
        .iter()
        .map(|e| get(e, "request_id").expect("request id").to_owned())
        .collect();
    assert_eq!(recorded, request_ids, "each request has its own event");
    let report = app
        .services
        .verify_audit_trail(true)
        .await
        .expect("verification");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.size as usize, all.len());
}

async fn no_event_is_lost_when_the_server_stops_gracefully(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::new(backend).await;
    let token = app
        .api_client("auditor")
        .await
        .bearer
        .clone()
        .expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    // The stop comes as soon as the first answer is out, with the other requests in flight
    // (a fixed pause let a loaded CI machine stop the server before any request was read).
    let first_answer = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let token = token.clone();
        let first_answer = first_answer.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
            let request = format!(
                "GET /api/v1/audit/events?limit=1 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).await.ok()?;
            if !response.starts_with("HTTP/1.1 200") {
                return None;
            }
            first_answer.notify_one();
            response
                .lines()
                .find_map(|l| l.strip_prefix("x-request-id: "))
                .map(|id| id.trim().to_owned())
        }));
    }
    tokio::time::timeout(std::time::Duration::from_secs(120), first_answer.notified())
        .await
        .expect("a first request is answered");
    let _ = stop.send(());
    let mut answered = BTreeSet::new();
    for task in tasks {
        if let Some(id) = task.await.expect("task") {
            answered.insert(id);
        }
    }
    server.await.expect("server task").expect("server");
    app.services.shutdown().await;
    assert!(
        !answered.is_empty(),
        "some requests were answered before the stop"
    );

    let db = db(&app).await;
    let all = events(&db).await;
    let recorded: BTreeSet<String> = all
        .iter()
        .filter(|e| get(e, "action") == Some("audit_viewed"))
        .filter_map(|e| get(e, "request_id").map(str::to_owned))
        .collect();
    for id in &answered {
        assert!(
            recorded.contains(id),
            "request {id} was answered but its event is missing"
        );
    }
    // The final checkpoint covers every event and is in the checkpoint file.
    let latest = app.services.checkpoint_now().await.expect("checkpoint");
    assert!(
        latest.is_none(),
        "shutdown already signed the final checkpoint"
    );
    let file = std::fs::read_to_string(&app.checkpoint_file).expect("the checkpoint file");
    assert!(
        file.contains(&format!("\n{}\n", all.len())),
        "a checkpoint of size {} in {file}",
        all.len()
    );
    let report = app
        .services
        .verify_audit_trail(true)
        .await
        .expect("verification");
    assert!(report.ok && report.checkpoints_matched >= 1, "{report:?}");
}

on_all_backends!(
    no_event_is_lost_when_the_server_stops_gracefully,
    audit_tables_refuse_update_and_delete,
    each_action_leaves_exactly_one_event,
    an_outsider_can_check_proofs_and_checkpoints,
    concurrent_audited_reads_each_get_their_own_event,
);
