//! Erasure (GDPR Art. 17): crypto-shredding, the tombstone, the erasure ledger and its replay
//! after a restore, legal holds, clinical-record retention and the retention job, and the
//! routes' refusals.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use carevault_service::erasure::{LEDGER_FILE_NAME, read_ledger, replay_ledger};
use carevault_store::entity::{erasures, patient_allergies, patient_search_index, patients};
use carevault_store::{ConnectSettings, Store};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, id_of, jane, john_record, new_patient, sign_in};

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn store_of(app: &TestApp) -> Store {
    Store::connect(
        &app.database_url,
        &ConnectSettings {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .expect("a second connection to the test database")
}

async fn delete(client: &mut Client<'_>, path: &str) -> TestResponse {
    let request = client
        .request(Method::DELETE, path)
        .body(Body::empty())
        .expect("a request");
    client.send(request).await
}

/// The MRN of a patient, as an administrator reads it.
async fn mrn_of(admin: &mut Client<'_>, id: &str) -> String {
    let record = admin.get(&format!("/api/v1/patients/{id}")).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.text());
    record.json()["mrn"].as_str().expect("an MRN").to_owned()
}

async fn erase(admin: &mut Client<'_>, id: &str, mrn: &str) -> TestResponse {
    admin
        .post_json(
            &format!("/api/v1/patients/{id}/erasure"),
            &json!({"confirm_mrn": mrn}),
        )
        .await
}

/// How many search results `q` gives an administrator.
async fn hits(admin: &mut Client<'_>, q: &str) -> usize {
    let found = admin
        .get(&format!("/api/v1/patients?q={}", encode(q)))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    found.json()["items"].as_array().map_or(0, Vec::len)
}

fn app_with_ledger(backend: Backend, dir: &std::path::Path) -> crate::harness::TestAppBuilder {
    let ledger = dir.join(LEDGER_FILE_NAME);
    TestApp::builder(backend).service_settings(move |s| s.privacy.ledger_path = Some(ledger))
}

async fn erasure_shreds_the_patient_and_keeps_a_tombstone(backend: Backend) {
    let keys = tempfile::tempdir().expect("a temp dir");
    let app = app_with_ledger(backend, keys.path()).build().await;
    let mut admin = app.api_client("admin").await;
    let mut john_portal = app.api_client("john").await;
    let john = john_record(&app).await;
    let mrn = mrn_of(&mut admin, &john).await;
    assert_eq!(hits(&mut admin, "John Patient").await, 1);
    assert_eq!(hits(&mut admin, &mrn).await, 1);

    // No confirmation, or the wrong MRN: nothing happens.
    let missing = admin
        .post_json(&format!("/api/v1/patients/{john}/erasure"), &json!({}))
        .await;
    let problem = missing.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "confirm_mrn", "{problem}");
    let wrong = erase(&mut admin, &john, "00000000").await;
    wrong.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(hits(&mut admin, &mrn).await, 1);

    let erased = erase(&mut admin, &john, &mrn).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text());
    let erased = erased.json();
    assert_eq!(erased["patient_id"], john.as_str());
    assert_eq!(erased["ledger_sequence"], 1, "{erased}");
    assert!(erased.get("ledger_problem").is_none(), "{erased}");

    // The record is gone for every use case; searches find nothing.
    let read = admin.get(&format!("/api/v1/patients/{john}")).await;
    assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.text());
    assert_eq!(hits(&mut admin, "John Patient").await, 0);
    assert_eq!(hits(&mut admin, &mrn).await, 0);
    // A second erasure is refused as such.
    let again = erase(&mut admin, &john, &mrn).await;
    again.problem(StatusCode::CONFLICT);
    // The portal account is signed out and disabled.
    let me = john_portal.get("/api/v1/me/patient").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text());

    // In the database: an empty data key, no sealed value, no blind index, no clear
    // quasi-identifier; the tombstone.
    let store = store_of(&app).await;
    let row = carevault_store::privacy::find_patient(store.conn(), john.parse().unwrap())
        .await
        .unwrap()
        .expect("the row stays");
    assert!(row.is_erased());
    assert!(row.wrapped_data_key.is_empty());
    assert!(row.given_name.is_empty() && row.family_name.is_empty() && row.mrn.is_empty());
    assert!(row.allergies.is_none() && row.phone.is_none() && row.address.is_none());
    assert_eq!((row.sex.as_str(), row.birth_year), ("unknown", 0));
    assert!(row.account_id.is_none());
    let index = patient_search_index::Entity::find()
        .filter(patient_search_index::Column::PatientId.eq(john.clone()))
        .all(store.conn())
        .await
        .unwrap();
    assert!(index.is_empty(), "{index:?}");
    let tombstone = admin.get(&format!("/api/v1/patients/{john}/erasure")).await;
    assert_eq!(tombstone.status, StatusCode::OK, "{}", tombstone.text());
    let tombstone = tombstone.json();
    assert_eq!(tombstone["reason_category"], "data_subject_request");
    assert_eq!(tombstone["ledger_sequence"], 1);

    // The ledger: one chained entry, private, no personal data.
    let ledger_file = keys.path().join(LEDGER_FILE_NAME);
    let ledger = read_ledger(&ledger_file).unwrap();
    assert!(ledger.damage.is_none(), "{:?}", ledger.damage);
    assert_eq!(ledger.entries.len(), 1);
    assert_eq!(ledger.entries[0].patient_id, john);
    let text = std::fs::read_to_string(&ledger_file).unwrap();
    assert!(!text.contains("John") && !text.contains(&mrn), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ledger_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Staff pages that list patients, appointments, notifications and grants still work.
    for (user, paths) in [
        (
            "admin",
            &[
                "/patients",
                "/schedule",
                "/admin/notifications",
                "/admin/break-glass",
                "/admin/retention",
                "/admin/users",
                "/billing",
                "/audit",
                "/dashboard",
            ][..],
        ),
        (
            "drsmith",
            &["/patients", "/my/day", "/schedule", "/dashboard"][..],
        ),
    ] {
        let mut browser = app.browser(user).await;
        for path in paths {
            let page = browser.get(path).await;
            assert_eq!(
                page.status,
                StatusCode::OK,
                "{user} {path}: {}",
                page.text()
            );
        }
    }
    let page = app
        .browser("admin")
        .await
        .get(&format!("/patients/{john}/erase"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("has been erased"), "{}", page.text());

    // The audit trail still verifies, and records the erasure.
    let admin_actor = app.actor("admin").await;
    let report = app
        .services
        .verify_audit_trail_as(&admin_actor)
        .await
        .expect("verification");
    assert!(report.ok, "{report:?}");
    let mut auditor = app.api_client("auditor").await;
    let events = auditor
        .get("/api/v1/audit/events?action=erase&limit=10")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    assert!(
        events.text().contains("erased (data_subject_request)"),
        "{}",
        events.text()
    );
}

on_all_backends!(erasure_shreds_the_patient_and_keeps_a_tombstone);

async fn a_restored_patient_is_erased_again_by_the_ledger(backend: Backend) {
    let keys = tempfile::tempdir().expect("a temp dir");
    let app = app_with_ledger(backend, keys.path()).build().await;
    let mut admin = app.api_client("admin").await;
    let john = john_record(&app).await;
    let mrn = mrn_of(&mut admin, &john).await;
    let store = store_of(&app).await;
    // "The backup": the patient row and its search index before the erasure.
    let before = carevault_store::privacy::find_patient(store.conn(), john.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let index_before = patient_search_index::Entity::find()
        .filter(patient_search_index::Column::PatientId.eq(john.clone()))
        .all(store.conn())
        .await
        .unwrap();
    assert!(!index_before.is_empty());
    let allergies_before =
        carevault_store::allergies::of_patient(store.conn(), john.parse().unwrap())
            .await
            .unwrap();
    assert!(!allergies_before.is_empty());

    let erased = erase(&mut admin, &john, &mrn).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text());
    let ledger_file = keys.path().join(LEDGER_FILE_NAME);

    // "The restore": the old row, its indexes, and no tombstone.
    carevault_store::entity::patients::Model::from(before.clone())
        .into_active_model()
        .reset_all()
        .update(store.conn())
        .await
        .expect("the old row back");
    patient_search_index::Entity::insert_many(
        index_before
            .iter()
            .cloned()
            .map(IntoActiveModel::into_active_model),
    )
    .exec_without_returning(store.conn())
    .await
    .expect("the old indexes back");
    for entry in &allergies_before {
        patient_allergies::ActiveModel::from(entry)
            .reset_all()
            .update(store.conn())
            .await
            .expect("the old allergy list back");
    }
    erasures::Entity::delete_by_id(john.clone())
        .exec(store.conn())
        .await
        .unwrap();
    let resurrected = admin.get(&format!("/api/v1/patients/{john}")).await;
    assert_eq!(resurrected.status, StatusCode::OK, "the restore worked");
    assert_eq!(hits(&mut admin, &mrn).await, 1);

    let report = replay_ledger(&store, &ledger_file).await.expect("a replay");
    assert_eq!((report.entries, report.erased_now), (1, 1));
    let read = admin.get(&format!("/api/v1/patients/{john}")).await;
    assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.text());
    assert_eq!(hits(&mut admin, &mrn).await, 0);
    assert_eq!(hits(&mut admin, "John Patient").await, 0);
    let row = patients::Entity::find_by_id(john.clone())
        .one(store.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(row.wrapped_data_key.is_empty() && row.given_name.is_empty());
    let index = patient_search_index::Entity::find()
        .filter(patient_search_index::Column::PatientId.eq(john.clone()))
        .all(store.conn())
        .await
        .unwrap();
    assert!(index.is_empty());
    let tombstone = admin.get(&format!("/api/v1/patients/{john}/erasure")).await;
    assert_eq!(tombstone.status, StatusCode::OK, "{}", tombstone.text());
    assert_eq!(tombstone.json()["reason_category"], "ledger_replay");

    // Idempotent, and a ledger naming unknown patients is fine.
    let again = replay_ledger(&store, &ledger_file).await.expect("a replay");
    assert_eq!((again.entries, again.erased_now), (1, 0));
    let none = replay_ledger(&store, &keys.path().join("no-such-ledger.log"))
        .await
        .expect("no ledger, no erasures");
    assert_eq!((none.entries, none.erased_now), (0, 0));

    // An edited ledger is refused, naming the line.
    let text = std::fs::read_to_string(&ledger_file).unwrap();
    let tampered = keys.path().join("tampered.log");
    std::fs::write(&tampered, format!("{text}{text}")).unwrap();
    let err = replay_ledger(&store, &tampered).await.unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");

    let admin_actor = app.actor("admin").await;
    let verified = app
        .services
        .verify_audit_trail_as(&admin_actor)
        .await
        .expect("verification");
    assert!(verified.ok, "{verified:?}");
}

on_all_backends!(a_restored_patient_is_erased_again_by_the_ledger);

async fn a_legal_hold_refuses_erasure_until_it_ends(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    let patient = new_patient(&app, "Hilda", "Holdfast").await;
    let mrn = mrn_of(&mut admin, &patient).await;
    let holds = format!("/api/v1/patients/{patient}/legal-holds");

    // Bad input names the field.
    let no_reason = admin.post_json(&holds, &json!({"reason": " "})).await;
    let problem = no_reason.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "reason", "{problem}");
    let bad_day = admin
        .post_json(
            &holds,
            &json!({"reason": "Case 2026-114", "until": "next week"}),
        )
        .await;
    let problem = bad_day.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "until", "{problem}");
    let past = admin
        .post_json(
            &holds,
            &json!({"reason": "Case 2026-114", "until": "2026-01-01"}),
        )
        .await;
    past.problem(StatusCode::UNPROCESSABLE_ENTITY);

    // The clock stands at 2026-03-02.
    let set = admin
        .post_json(
            &holds,
            &json!({"reason": "Litigation hold, case 2026-114", "until": "2026-03-05"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::CREATED, "{}", set.text());
    assert_eq!(set.json()["active"], true);
    let refused = erase(&mut admin, &patient, &mrn).await;
    let problem = refused.problem(StatusCode::CONFLICT);
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Litigation hold, case 2026-114") && detail.contains("until 2026-03-05"),
        "{problem}"
    );
    // The page shows the refusal next to the form.
    let mut browser = app.browser("admin").await;
    let page = browser
        .post_form(
            &format!("/patients/{patient}/erase"),
            &[("confirm_mrn", mrn.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text().contains("Litigation hold, case 2026-114"),
        "{}",
        page.text()
    );
    assert_eq!(hits(&mut admin, &mrn).await, 1, "nothing was erased");

    // On its last day it still holds; the day after, erasure works.
    app.clock.advance(Duration::from_secs(3 * 24 * 3600));
    let mut admin = app.api_client("admin").await;
    erase(&mut admin, &patient, &mrn)
        .await
        .problem(StatusCode::CONFLICT);
    app.clock.advance(Duration::from_secs(24 * 3600));
    let mut admin = app.api_client("admin").await;
    let listed = admin.get(&holds).await;
    assert_eq!(
        listed.json()["items"][0]["active"],
        false,
        "{}",
        listed.text()
    );
    let erased = erase(&mut admin, &patient, &mrn).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text());

    // An indefinite hold, released through the API (once).
    let other = new_patient(&app, "Ingrid", "Indefinite").await;
    let other_mrn = mrn_of(&mut admin, &other).await;
    let other_holds = format!("/api/v1/patients/{other}/legal-holds");
    let set = admin
        .post_json(&other_holds, &json!({"reason": "Regulator inquiry 77"}))
        .await;
    assert_eq!(set.status, StatusCode::CREATED, "{}", set.text());
    let hold_id = id_of(&set.json());
    let refused = erase(&mut admin, &other, &other_mrn).await;
    let problem = refused.problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().is_some_and(
            |d| d.contains("Regulator inquiry 77") && d.contains("until it is released")
        ),
        "{problem}"
    );
    let released = delete(&mut admin, &format!("{other_holds}/{hold_id}")).await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text());
    delete(&mut admin, &format!("{other_holds}/{hold_id}"))
        .await
        .problem(StatusCode::CONFLICT);
    delete(
        &mut admin,
        &format!("{other_holds}/{}", uuid::Uuid::now_v7()),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    let erased = erase(&mut admin, &other, &other_mrn).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text());
    // No ledger configured: the erasure stands without one.
    assert_eq!(erased.json()["ledger_sequence"], Value::Null);
}

on_all_backends!(a_legal_hold_refuses_erasure_until_it_ends);

async fn retention_keeps_clinical_records_and_the_job_erases_after_it(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.privacy.retention_erase = true)
        .build()
        .await;
    let mut admin = app.api_client("admin").await;
    let john = john_record(&app).await;
    let mrn = mrn_of(&mut admin, &john).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": john,
                "kind": "consultation",
                "chief_complaint": "Cough",
                "diagnoses": [{"kind": "primary", "code": "E11.9"}],
            }),
        )
        .await;
    assert_eq!(
        encounter.status,
        StatusCode::CREATED,
        "{}",
        encounter.text()
    );
    let held = new_patient(&app, "Harold", "Heldback").await;
    let plain = new_patient(&app, "Petra", "Plain").await;

    // Within retention: refused, with the date.
    let refused = erase(&mut admin, &john, &mrn).await;
    let problem = refused.problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("clinical records must be kept until 2036-03-02")),
        "{problem}"
    );
    // Nothing past retention yet.
    let report = admin.get("/api/v1/retention").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    assert_eq!(report.json()["items"].as_array().map(Vec::len), Some(0));

    // Ten years and a day later.
    app.clock
        .advance(Duration::from_secs((10 * 365 + 4) * 24 * 3600));
    let mut admin = app.api_client("admin").await;
    let set = admin
        .post_json(
            &format!("/api/v1/patients/{held}/legal-holds"),
            &json!({"reason": "Case 2036-1"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::CREATED, "{}", set.text());
    let report = admin.get("/api/v1/retention").await.json();
    let listed: Vec<(String, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["patient_id"].as_str().unwrap().to_owned(),
                i["basis"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        listed.contains(&(john.clone(), "encounter".into())),
        "{report}"
    );
    assert!(
        listed.contains(&(plain.clone(), "registration".into())),
        "{report}"
    );
    assert!(!listed.iter().any(|(id, _)| *id == held), "{report}");
    assert_eq!(report["held"], 1);
    let page = app.browser("admin").await.get("/admin/retention").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&plain), "{}", page.text());

    let run = app.services.run_retention_job().await.expect("the job");
    assert_eq!(run.erased, listed.len(), "{run:?}");
    for id in [&john, &plain] {
        let read = admin.get(&format!("/api/v1/patients/{id}")).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.text());
        let tomb = admin.get(&format!("/api/v1/patients/{id}/erasure")).await;
        assert_eq!(tomb.json()["reason_category"], "retention_expired");
    }
    let kept = admin.get(&format!("/api/v1/patients/{held}")).await;
    assert_eq!(kept.status, StatusCode::OK, "the held patient stays");
    // The erased patient's encounter cannot be read, and lists do not fail on it.
    let encounter_id = id_of(&encounter.json());
    let read = admin
        .get(&format!("/api/v1/encounters/{encounter_id}"))
        .await;
    assert!(
        matches!(read.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}: {}",
        read.status,
        read.text()
    );
    let mut doctor = app.browser("drsmith").await;
    for path in ["/patients", "/my/day", "/reports/diagnoses", "/schedule"] {
        let page = doctor.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
    }
    let admin_actor = app.actor("admin").await;
    let verified = app
        .services
        .verify_audit_trail_as(&admin_actor)
        .await
        .expect("verification");
    assert!(verified.ok, "{verified:?}");
}

on_all_backends!(retention_keeps_clinical_records_and_the_job_erases_after_it);

async fn the_privacy_routes_refuse_everyone_but_administrators(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin_actor = app.actor("admin").await;
    create_account(&app, &admin_actor, "drjones", "doctor").await;
    let john = john_record(&app).await;
    let jane_id = jane(&app).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let api_paths = [
        format!("/api/v1/patients/{john}/erasure"),
        format!("/api/v1/patients/{john}/legal-holds"),
    ];

    // Unauthenticated.
    let mut anonymous = app.anonymous();
    for path in &api_paths {
        let response = anonymous.get(path).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        anonymous.get("/api/v1/retention").await.status,
        StatusCode::UNAUTHORIZED
    );
    for path in [
        format!("/patients/{john}/erase"),
        format!("/patients/{john}/holds"),
        "/admin/retention".to_owned(),
    ] {
        let response = anonymous.get(&path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{path}");
    }

    // Wrong roles, including the patient themselves and another patient: 403, nothing done.
    let mut receptionist = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let mut patient = app.api_client("john").await;
    let mut other_patient = sign_in(&app, "jane").await;
    for client in [
        &mut receptionist,
        &mut doctor,
        &mut patient,
        &mut other_patient,
    ] {
        let response = client
            .post_json(&api_paths[0], &json!({"confirm_mrn": "12345678"}))
            .await;
        response.problem(StatusCode::FORBIDDEN);
        let response = client
            .post_json(&api_paths[1], &json!({"reason": "Case 1"}))
            .await;
        response.problem(StatusCode::FORBIDDEN);
        client
            .get(&api_paths[1])
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .get("/api/v1/retention")
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    for user in ["drsmith", "reception"] {
        let mut browser = app.browser(user).await;
        for path in [
            format!("/patients/{jane_id}/erase"),
            format!("/patients/{jane_id}/holds"),
            "/admin/retention".to_owned(),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{user} {path}");
        }
        let post = browser
            .post_form(
                &format!("/patients/{jane_id}/erase"),
                &[("confirm_mrn", "12345678")],
            )
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{user}");
    }

    // Unknown and malformed ids.
    let mut admin = app.api_client("admin").await;
    for id in [unknown.as_str(), "not-an-id"] {
        erase(&mut admin, id, "12345678")
            .await
            .problem(StatusCode::NOT_FOUND);
        admin
            .post_json(
                &format!("/api/v1/patients/{id}/legal-holds"),
                &json!({"reason": "Case 1"}),
            )
            .await
            .problem(StatusCode::NOT_FOUND);
        admin
            .get(&format!("/api/v1/patients/{id}/erasure"))
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    // Not erased: no tombstone.
    admin
        .get(&format!("/api/v1/patients/{john}/erasure"))
        .await
        .problem(StatusCode::NOT_FOUND);
    // Not JSON / unknown fields.
    let unknown_field = admin
        .post_json(&api_paths[0], &json!({"confirm": true}))
        .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The pages: the confirmation form, a missing MRN, a hold without reason, then a hold.
    let mut browser = app.browser("admin").await;
    let page = browser.get(&format!("/patients/{jane_id}/erase")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("confirm_mrn"), "{}", page.text());
    let missing = browser
        .post_form(&format!("/patients/{jane_id}/erase"), &[])
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.text().contains("type the patient"),
        "{}",
        missing.text()
    );
    let no_reason = browser
        .post_form(
            &format!("/patients/{jane_id}/holds"),
            &[("reason", ""), ("until", "")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason.text().contains("is required"),
        "{}",
        no_reason.text()
    );
    let set = browser
        .post_form(
            &format!("/patients/{jane_id}/holds"),
            &[("reason", "Case 99"), ("until", "")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text());
    let page = browser.get(&format!("/patients/{jane_id}/holds")).await;
    assert!(page.text().contains("Case 99") && page.text().contains("in force"));
    assert!(
        browser
            .get(&format!("/patients/{jane_id}"))
            .await
            .text()
            .contains(&format!("/patients/{jane_id}/erase")),
        "the patient page links to the erase page"
    );
}

on_all_backends!(the_privacy_routes_refuse_everyone_but_administrators);

async fn an_erased_patients_other_records_break_no_page(backend: Backend) {
    // No retention period, so a patient with fresh clinical records can be erased.
    let app = TestApp::builder(backend)
        .service_settings(|s| s.privacy.clinical_retention_years = 0)
        .build()
        .await;
    let admin_actor = app.actor("admin").await;
    create_account(&app, &admin_actor, "drjones", "doctor").await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let smith = crate::scheduling_api::user_id(&mut doctor).await;
    let mut reception = app.api_client("reception").await;
    // An appointment tomorrow (with its reminders), a signed encounter, a prescription, an
    // invoice with a line, and an emergency access grant (with its alerts).
    let booked = reception
        .post_json(
            "/api/v1/appointments",
            &crate::scheduling_api::booking(
                &john,
                &smith,
                "2026-03-03T10:00:00+00:00",
                "2026-03-03T10:30:00+00:00",
            ),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text());
    let encounter = doctor
        .post_json(
            "/api/v1/encounters",
            &json!({
                "patient_id": john,
                "kind": "consultation",
                "chief_complaint": "Cough",
                "diagnoses": [{"kind": "primary", "code": "E11.9"}],
            }),
        )
        .await;
    assert_eq!(
        encounter.status,
        StatusCode::CREATED,
        "{}",
        encounter.text()
    );
    let encounter_id = id_of(&encounter.json());
    let signed = doctor
        .post_json(
            &format!("/api/v1/encounters/{encounter_id}/sign"),
            &json!({}),
        )
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
    let prescribed = doctor
        .post_json(
            "/api/v1/prescriptions",
            &json!({
                "encounter_id": encounter_id,
                "drug_name": "Metformin",
                "dose": "500 mg",
                "route": "oral",
                "frequency": "twice daily",
                "duration_days": 7,
                "quantity": 14,
            }),
        )
        .await;
    assert_eq!(
        prescribed.status,
        StatusCode::CREATED,
        "{}",
        prescribed.text()
    );
    let invoice = reception
        .post_json("/api/v1/invoices", &json!({"patient_id": john}))
        .await;
    assert_eq!(invoice.status, StatusCode::CREATED, "{}", invoice.text());
    let invoice_id = id_of(&invoice.json());
    let line = reception
        .post_json(
            &format!("/api/v1/invoices/{invoice_id}/lines"),
            &json!({"description": "Consultation", "quantity": "1", "unit_price": "50.00"}),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{}", line.text());
    let mut jones = sign_in(&app, "drjones").await;
    let grant = jones
        .post_json(
            "/api/v1/break-glass",
            &json!({
                "patient_id": john,
                "reason": "Collapsed in the emergency department; care team unreachable",
                "duration_minutes": 60,
            }),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text());

    let mut admin = app.api_client("admin").await;
    let mrn = mrn_of(&mut admin, &john).await;
    let erased = erase(&mut admin, &john, &mrn).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text());

    // The patient's own items are gone (404/403), never a failure.
    for path in [
        format!("/api/v1/encounters/{encounter_id}"),
        format!("/api/v1/invoices/{invoice_id}"),
        format!("/api/v1/patients/{john}/encounters"),
    ] {
        let response = admin.get(&path).await;
        assert!(
            matches!(
                response.status,
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
            ),
            "{path}: {} {}",
            response.status,
            response.text()
        );
    }
    // Lists that held them still answer.
    let pages: [(&str, &[&str]); 6] = [
        (
            "admin",
            &[
                "/schedule",
                "/desk",
                "/billing",
                "/admin/break-glass",
                "/admin/notifications",
                "/notifications",
                "/dashboard",
                "/appointments/report",
                "/reports/diagnoses",
                "/reports/billing",
                "/audit",
                "/api/v1/appointments",
                "/api/v1/invoices",
                "/api/v1/break-glass",
                "/api/v1/notifications?all=true",
            ],
        ),
        (
            "drsmith",
            &[
                "/my/day",
                "/schedule",
                "/notifications",
                "/dashboard",
                "/api/v1/appointments",
            ],
        ),
        (
            "reception",
            &["/desk", "/billing", "/schedule", "/appointments/requests"],
        ),
        (
            "pharma",
            &[
                "/pharmacy",
                "/pharmacy/dispensing",
                "/billing",
                "/dashboard",
            ],
        ),
        ("nurse", &["/my/day", "/schedule", "/dashboard"]),
        ("auditor", &["/audit", "/dashboard"]),
    ];
    for (user, paths) in pages {
        let mut browser = app.browser(user).await;
        for path in paths {
            let response = browser.get(path).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{user} {path}: {}",
                response.text()
            );
        }
    }
    let mut jones = app.anonymous();
    jones
        .sign_in_through_form("drjones", crate::scheduling_api::PASSWORD)
        .await;
    jones.refresh_form_token().await;
    for path in ["/dashboard", "/notifications", "/my/day"] {
        let response = jones.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "drjones {path}: {}",
            response.text()
        );
    }
}

on_all_backends!(an_erased_patients_other_records_break_no_page);
