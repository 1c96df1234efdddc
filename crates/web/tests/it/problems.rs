//! The problem list through the JSON API: added directly (ICD-10 code from the bundled list
//! or flagged free text, onset not in the future) and from an encounter's diagnosis in one
//! call (onset the encounter's day, source kept; duplicates and retracted diagnoses
//! refused), resolved and reactivated; who may read and who may write (doctors in the
//! patient's care only); problems of another patient; bad input named with nothing written;
//! one audit event per read and change.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::allergies::{cared_for_patient, created, draft_encounter, events_of, field_problem, ok};
use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, jane, john_record, sign_in};

fn problems_path(patient: &str) -> String {
    format!("/api/v1/patients/{patient}/problems")
}

async fn list(client: &mut Client<'_>, patient: &str) -> Value {
    ok(&client.get(&problems_path(patient)).await)
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn problems_are_added_resolved_and_reactivated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let path = problems_path(&john);

    let empty = list(&mut doctor, &john).await;
    assert!(empty["items"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(empty["may_manage"], true);

    let diabetes = created(
        &doctor
            .post_json(&path, &json!({"code": "e119", "onset": "2019-06-01"}))
            .await,
    );
    assert_eq!(diabetes["code"], "E11.9");
    assert_eq!(
        diabetes["text"],
        "Type 2 diabetes mellitus without complications"
    );
    assert_eq!(diabetes["onset"], "2019-06-01");
    assert_eq!(diabetes["status"], "active");
    assert_eq!(diabetes["free_text"], false);
    assert_eq!(diabetes["recorded_by"], "Dr. Sarah Smith");
    let back_pain = created(
        &doctor
            .post_json(
                &path,
                &json!({"text": "Chronic lower back pain", "free_text": true, "status": "resolved"}),
            )
            .await,
    );
    assert!(back_pain.get("code").is_none(), "{back_pain}");
    assert_eq!(back_pain["status"], "resolved");

    // The same code twice on the active list: refused, nothing written.
    field_problem(
        &doctor.post_json(&path, &json!({"code": "E11.9"})).await,
        StatusCode::CONFLICT,
        "code",
    );

    // Active first, then resolved.
    let listed = list(&mut doctor, &john).await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], diabetes["id"]);
    assert_eq!(items[1]["status"], "resolved");

    // Resolve, reactivate; the same status again is a conflict.
    let status = |id: &str| format!("/api/v1/problems/{id}/status");
    let resolved = ok(&doctor
        .post_json(&status(&id(&diabetes)), &json!({"status": "resolved"}))
        .await);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["updated_by"], "Dr. Sarah Smith");
    field_problem(
        &doctor
            .post_json(&status(&id(&diabetes)), &json!({"status": "resolved"}))
            .await,
        StatusCode::CONFLICT,
        "status",
    );
    // Resolved, so the code may be added again; then the old one cannot come back.
    let again = created(&doctor.post_json(&path, &json!({"code": "E11.9"})).await);
    field_problem(
        &doctor
            .post_json(&status(&id(&diabetes)), &json!({"status": "active"}))
            .await,
        StatusCode::CONFLICT,
        "code",
    );
    ok(&doctor
        .post_json(&status(&id(&again)), &json!({"status": "resolved"}))
        .await);
    ok(&doctor
        .post_json(&status(&id(&diabetes)), &json!({"status": "active"}))
        .await);

    // The patient reads their own problem list, and may not change it.
    let mut patient = app.api_client("john").await;
    let own = list(&mut patient, &john).await;
    assert_eq!(own["may_manage"], false);
    assert_eq!(own["items"].as_array().map(Vec::len), Some(3));
    patient
        .post_json(&path, &json!({"code": "I10"}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Audited: reads listed, each change once, no clinical word.
    assert_eq!(
        events_of(&app, "problem", "listed", Some(&john))
            .await
            .len(),
        3
    );
    assert_eq!(
        events_of(&app, "problem", "create", Some(&id(&diabetes)))
            .await
            .len(),
        1
    );
    let changes = events_of(&app, "problem", "status_changed", Some(&id(&diabetes))).await;
    assert_eq!(changes.len(), 2);
    let dump = format!("{:?}", events_of(&app, "problem", "create", None).await);
    assert!(!dump.contains("diabetes") && !dump.contains("back pain"));
}

async fn bad_problem_input_is_named_and_nothing_is_written(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let path = problems_path(&john);
    for (body, field) in [
        (json!({"code": "Z99.999"}), "code"),
        (json!({"code": "diabetes"}), "code"),
        (json!({}), "code"),
        (json!({"text": "Back pain"}), "code"),
        (json!({"free_text": true}), "text"),
        (json!({"text": "x", "free_text": true}), "text"),
        (json!({"code": "I10", "onset": "2026-03-03"}), "onset"),
        (json!({"code": "I10", "onset": "yesterday"}), "onset"),
        (json!({"code": "I10", "status": "cured"}), "status"),
        (json!({"code": "I10", "colour": "red"}), "colour"),
        (
            json!({"encounter_id": uuid::Uuid::now_v7()}),
            "diagnosis_id",
        ),
        (
            json!({"encounter_id": uuid::Uuid::now_v7(), "diagnosis_id": uuid::Uuid::now_v7(), "code": "I10"}),
            "encounter_id",
        ),
    ] {
        field_problem(
            &doctor.post_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    field_problem(
        &doctor
            .post_json(
                &format!("/api/v1/problems/{}/status", uuid::Uuid::now_v7()),
                &json!({"state": "resolved"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "state",
    );
    assert!(
        list(&mut doctor, &john).await["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert!(events_of(&app, "problem", "create", None).await.is_empty());
}

async fn a_diagnosis_is_added_in_one_call(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = created(
        &doctor
            .post_json(
                "/api/v1/encounters",
                &json!({
                    "patient_id": john,
                    "chief_complaint": "Thirst",
                    "diagnoses": [
                        {"kind": "primary", "code": "E11.9"},
                        {"kind": "secondary", "text": "Worried about his feet", "free_text": true},
                        {"kind": "secondary", "code": "I10"},
                    ],
                }),
            )
            .await,
    );
    let eid = id(&encounter);
    let signed = ok(&doctor
        .post_json(&format!("/api/v1/encounters/{eid}/sign"), &json!({}))
        .await);
    let diagnoses = signed["diagnoses"].as_array().expect("diagnoses").clone();
    let (coded, words, hypertension) = (id(&diagnoses[0]), id(&diagnoses[1]), id(&diagnoses[2]));
    let path = problems_path(&john);

    let from_coded = created(
        &doctor
            .post_json(&path, &json!({"encounter_id": eid, "diagnosis_id": coded}))
            .await,
    );
    assert_eq!(from_coded["code"], "E11.9");
    assert_eq!(from_coded["onset"], "2026-03-02", "the encounter's day");
    assert_eq!(from_coded["encounter_id"], eid.as_str());
    assert_eq!(from_coded["diagnosis_id"], coded.as_str());
    let create = events_of(&app, "problem", "create", Some(&id(&from_coded))).await;
    assert_eq!(
        create[0].reason.as_deref(),
        Some("from an encounter's diagnosis")
    );
    // Free text stays free text.
    let from_words = created(
        &doctor
            .post_json(&path, &json!({"encounter_id": eid, "diagnosis_id": words}))
            .await,
    );
    assert_eq!(from_words["free_text"], true);
    assert_eq!(from_words["text"], "Worried about his feet");
    // Twice: refused, for the code and for the diagnosis itself.
    doctor
        .post_json(&path, &json!({"encounter_id": eid, "diagnosis_id": coded}))
        .await
        .problem(StatusCode::CONFLICT);
    doctor
        .post_json(&path, &json!({"encounter_id": eid, "diagnosis_id": words}))
        .await
        .problem(StatusCode::CONFLICT);
    // A retracted diagnosis is refused.
    ok(&doctor
        .post_json(
            &format!("/api/v1/encounters/{eid}/amendments"),
            &json!({"reason": "Blood pressure was normal on repeat", "retract_diagnoses": [hypertension]}),
        )
        .await
        .into_created_or_ok());
    let retracted = doctor
        .post_json(
            &path,
            &json!({"encounter_id": eid, "diagnosis_id": hypertension}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        retracted["detail"]
            .as_str()
            .is_some_and(|d| d.contains("retracted")),
        "{retracted}"
    );

    // Unknown diagnosis, unknown encounter, and an encounter of another patient: 404.
    doctor
        .post_json(
            &path,
            &json!({"encounter_id": eid, "diagnosis_id": uuid::Uuid::now_v7()}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    let other = cared_for_patient(&app, "Otherproblem").await;
    doctor
        .post_json(
            &problems_path(&other),
            &json!({"encounter_id": eid, "diagnosis_id": coded}),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        list(&mut doctor, &john).await["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Through the service call the encounter page uses.
    let doctor_actor = app.actor("drsmith").await;
    let via_service = app
        .services
        .add_problem_from_diagnosis(&doctor_actor, &eid, &hypertension)
        .await;
    assert!(matches!(
        via_service,
        Err(carevault_service::ServiceError::Conflict { .. })
    ));
}

async fn who_may_read_and_keep_the_problem_list(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let admin_actor = app.actor("admin").await;
    create_account(&app, &admin_actor, "drjones", "doctor").await;
    app.services
        .assign_care_team_member(&admin_actor, jane.parse().expect("an id"), "drjones")
        .await
        .expect("on Jane's care team");
    let path = problems_path(&john);
    let mut doctor = app.api_client("drsmith").await;
    let problem = created(&doctor.post_json(&path, &json!({"code": "I10"})).await);
    let status = format!("/api/v1/problems/{}/status", id(&problem));
    let encounter = id(&draft_encounter(&mut doctor, &john, "E11.9").await);
    let diagnosis = ok(&doctor.get(&format!("/api/v1/encounters/{encounter}")).await)["diagnoses"]
        [0]["id"]
        .as_str()
        .expect("a diagnosis")
        .to_owned();
    let from_diagnosis = json!({"encounter_id": encounter, "diagnosis_id": diagnosis});

    let mut anonymous = app.anonymous();
    anonymous.get(&path).await.problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json(&path, &json!({"code": "I10"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    anonymous
        .post_json(&status, &json!({"status": "resolved"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);

    for username in ["reception", "pharma", "auditor"] {
        let mut client = app.api_client(username).await;
        client.get(&path).await.problem(StatusCode::FORBIDDEN);
        client
            .post_json(&path, &json!({"code": "E11.9"}))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // The nurse reads but does not keep the problem list; administrators read.
    let mut nurse = app.api_client("nurse").await;
    assert_eq!(list(&mut nurse, &john).await["may_manage"], false);
    for client in [&mut nurse, &mut app.api_client("admin").await] {
        client
            .post_json(&path, &json!({"code": "E11.9"}))
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .post_json(&path, &from_diagnosis)
            .await
            .problem(StatusCode::FORBIDDEN);
        client
            .post_json(&status, &json!({"status": "resolved"}))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // A doctor outside the care team: refused on every route, even with the problem's id.
    let mut jones = sign_in(&app, "drjones").await;
    jones.get(&path).await.problem(StatusCode::FORBIDDEN);
    jones
        .post_json(&path, &json!({"code": "E11.9"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    jones
        .post_json(&status, &json!({"status": "resolved"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    jones
        .post_json(&problems_path(&jane), &from_diagnosis)
        .await
        .problem(StatusCode::NOT_FOUND);
    // Jane, a patient, reads her own list only.
    let mut jane_client = sign_in(&app, "jane").await;
    jane_client.get(&path).await.problem(StatusCode::FORBIDDEN);
    ok(&jane_client.get(&problems_path(&jane)).await);
    jane_client
        .post_json(&status, &json!({"status": "resolved"}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Nothing changed, and the refusals are on record.
    let after = list(&mut doctor, &john).await;
    assert_eq!(after["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["items"][0]["status"], "active");
    let denied = crate::allergies::events(
        &app,
        carevault_store::audit::AuditFilter {
            resource_type: Some("problem".into()),
            outcome: Some("denied".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(denied.len() >= 15, "{} refusals recorded", denied.len());
}

/// A response that must be 200 or 201.
trait CreatedOrOk {
    fn into_created_or_ok(self) -> crate::harness::TestResponse;
}

impl CreatedOrOk for crate::harness::TestResponse {
    fn into_created_or_ok(mut self) -> crate::harness::TestResponse {
        if self.status == StatusCode::CREATED {
            self.status = StatusCode::OK;
        }
        self
    }
}

on_all_backends!(
    problems_are_added_resolved_and_reactivated,
    bad_problem_input_is_named_and_nothing_is_written,
    a_diagnosis_is_added_in_one_call,
    who_may_read_and_keep_the_problem_list,
);
