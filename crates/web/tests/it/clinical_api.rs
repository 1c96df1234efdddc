//! The clinical record's JSON API: encounters written, signed and amended (never edited once
//! signed, the original kept); nurses' treatment notes and vitals but no diagnoses; who reads
//! what (reception nothing clinical, pharmacy prescriptions only); prescriptions refused
//! until a warning is acknowledged, and the acknowledgement audited; a doctor outside the
//! care team refused on every clinical route until they break the glass, and again once the
//! grant expires; patients' portal IDOR; bad input named by field; 401 without a session.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; a jump of more than 15 minutes ends
//! every session, so clients sign in again after one.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;
use crate::scheduling_api::{create_account, jane, john_record, sign_in};

const REASON: &str = "Collapsed in the emergency department; care team unreachable";

async fn send(
    client: &mut Client<'_>,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut builder = client.request(method, path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("a request");
    client.send(request).await
}

async fn patch(client: &mut Client<'_>, path: &str, body: &Value) -> TestResponse {
    send(client, Method::PATCH, path, Some(body), &[]).await
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Asserts a problem with `status` whose `errors` name `field`, and returns it.
fn field_problem(response: &TestResponse, status: StatusCode, field: &str) -> Value {
    let problem = response.problem(status);
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field)),
        "expected an error naming {field}: {problem}"
    );
    problem
}

fn created(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

fn ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// A draft encounter for `patient` by `doctor`, with a coded primary diagnosis.
async fn draft(doctor: &mut Client<'_>, patient: &str) -> Value {
    created(
        &doctor
            .post_json(
                "/api/v1/encounters",
                &json!({
                    "patient_id": patient,
                    "kind": "consultation",
                    "chief_complaint": "Thirst for two weeks",
                    "history": "Polyuria, polydipsia",
                    "examination": "Dry mucosa",
                    "assessment": "Hyperglycaemia",
                    "plan": "Start metformin",
                    "diagnoses": [{"kind": "primary", "code": "E11.9"}],
                }),
            )
            .await,
    )
}

fn prescription_body(encounter: &str, drug: &str) -> Value {
    json!({
        "encounter_id": encounter,
        "drug_name": drug,
        "dose": "500 mg",
        "route": "oral",
        "frequency": "three times daily",
        "duration_days": 7,
        "quantity": 21,
    })
}

async fn encounters_are_drafted_signed_and_amended(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let mut nurse = app.api_client("nurse").await;

    let encounter = draft(&mut doctor, &john).await;
    let id = id_of(&encounter);
    let path = format!("/api/v1/encounters/{id}");
    assert_eq!(encounter["status"], "draft");
    assert_eq!(encounter["plan"], "Start metformin");
    assert_eq!(encounter["diagnoses"][0]["code"], "E11.9");
    assert_eq!(encounter["may_edit"], true);
    assert_eq!(encounter["may_sign"], true);

    // GET answers the version as ETag; a PATCH naming an older one is refused.
    let got = doctor.get(&path).await;
    let etag = got.header("etag").expect("an ETag").to_owned();
    assert_eq!(ok(&got)["chief_complaint"], "Thirst for two weeks");
    let changed = ok(&patch(&mut doctor, &path, &json!({"plan": "Metformin 500 mg"})).await);
    assert_eq!(changed["plan"], "Metformin 500 mg");
    assert_eq!(
        changed["chief_complaint"], "Thirst for two weeks",
        "absent fields keep their value"
    );
    assert_eq!(changed["diagnoses"][0]["code"], "E11.9");
    send(
        &mut doctor,
        Method::PATCH,
        &path,
        Some(&json!({"plan": "Lost update"})),
        &[("if-match", &etag)],
    )
    .await
    .problem(StatusCode::PRECONDITION_FAILED);

    // Bad input is named.
    field_problem(
        &patch(
            &mut doctor,
            &path,
            &json!({"diagnoses": [{"kind": "primary", "code": "QQQ.99"}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "diagnoses[0].code",
    );
    field_problem(
        &doctor
            .post_json("/api/v1/encounters", &json!({"chief_complaint": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_id",
    );
    field_problem(
        &doctor
            .post_json(
                "/api/v1/encounters",
                &json!({"patient_id": john, "colour": "red"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "colour",
    );
    field_problem(
        &doctor.get("/api/v1/encounters").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_id",
    );
    field_problem(
        &doctor.get("/api/v1/encounters/not-an-id").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id",
    );

    // The nurse adds a treatment note and vitals, but cannot change the encounter.
    let noted = created(
        &nurse
            .post_json(
                &format!("{path}/notes"),
                &json!({"text": "Gave water; patient comfortable"}),
            )
            .await,
    );
    assert_eq!(noted["notes"][0]["text"], "Gave water; patient comfortable");
    assert!(noted["notes"][0]["author"].is_string(), "{noted}");
    field_problem(
        &nurse
            .post_json(&format!("{path}/notes"), &json!({"text": ""}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "text",
    );
    let vitals = created(
        &nurse
            .post_json(
                "/api/v1/vitals",
                &json!({"patient_id": john, "encounter_id": id, "temperature_c": 37.2,
                        "pulse_bpm": 72, "weight_kg": 70, "height_cm": 175}),
            )
            .await,
    );
    assert_eq!(vitals["values"]["pulse_bpm"], "72");
    assert!(vitals["bmi"].is_string(), "{vitals}");
    field_problem(
        &nurse
            .post_json(
                "/api/v1/vitals",
                &json!({"patient_id": john, "temperature_c": 55}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "temperature_c",
    );
    let listed = ok(&nurse
        .get(&format!("/api/v1/vitals?patient_id={john}"))
        .await);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    patch(
        &mut nurse,
        &path,
        &json!({"diagnoses": [{"kind": "primary", "code": "I10"}]}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    nurse
        .post_json(&format!("{path}/sign"), &json!({}))
        .await
        .problem(StatusCode::FORBIDDEN);

    // Signing; a signed encounter is not edited, only amended.
    let signed = ok(&doctor.post_json(&format!("{path}/sign"), &json!({})).await);
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["signed_at"], "2026-03-02T09:00:00Z");
    let refused = patch(&mut doctor, &path, &json!({"plan": "Insulin"}))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("signed")),
        "{refused}"
    );
    doctor
        .post_json(&format!("{path}/sign"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT);
    nurse
        .post_json(&format!("{path}/notes"), &json!({"text": "Late note"}))
        .await
        .problem(StatusCode::CONFLICT);

    // The nurse may not amend (a diagnosis change).
    nurse
        .post_json(
            &format!("{path}/amendments"),
            &json!({"reason": "Wrong code", "add_diagnoses": [{"code": "I10"}]}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    // An amendment without a reason is named.
    field_problem(
        &doctor
            .post_json(&format!("{path}/amendments"), &json!({"plan": "Insulin"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason",
    );
    let diagnosis_id = signed["diagnoses"][0]["id"]
        .as_str()
        .expect("a diagnosis id")
        .to_owned();
    let amended = created(
        &doctor
            .post_json(
                &format!("{path}/amendments"),
                &json!({
                    "reason": "HbA1c came back: type 1, not type 2",
                    "plan": "Start insulin",
                    "add_diagnoses": [{"kind": "primary", "code": "E10.9"}],
                    "retract_diagnoses": [diagnosis_id],
                }),
            )
            .await,
    );
    assert_eq!(amended["plan"], "Start insulin");
    let amendments = ok(&doctor.get(&format!("{path}/amendments")).await);
    let first = &amendments["items"][0];
    assert_eq!(first["author"], "Dr. Sarah Smith", "{first}");
    assert_eq!(first["reason"], "HbA1c came back: type 1, not type 2");
    let plan = first["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["field"] == "plan"))
        .unwrap_or_else(|| panic!("a plan change: {first}"));
    assert_eq!(plan["before"], "Metformin 500 mg", "the original is kept");
    assert_eq!(plan["after"], "Start insulin");
    let shown = ok(&doctor.get(&path).await);
    let diagnoses = shown["diagnoses"].as_array().expect("diagnoses");
    assert!(
        diagnoses
            .iter()
            .any(|d| d["code"] == "E11.9" && d["retracted_at"].is_string()),
        "the retracted diagnosis stays listed: {shown}"
    );
    assert!(diagnoses.iter().any(|d| d["code"] == "E10.9"), "{shown}");

    // The list.
    let list = ok(&doctor
        .get(&format!("/api/v1/encounters?patient_id={john}"))
        .await);
    assert_eq!(list["items"][0]["id"], id.as_str());

    // ICD-10 search for any staff member, not patients.
    let found = ok(&nurse.get("/api/v1/icd10?q=E11.9").await);
    assert_eq!(found["items"][0]["code"], "E11.9");
    let words = ok(&doctor.get("/api/v1/icd10?q=diabetes&limit=5").await);
    assert!(!words["items"].as_array().expect("items").is_empty());
    field_problem(
        &doctor.get("/api/v1/icd10").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "q",
    );
    field_problem(
        &doctor.get("/api/v1/icd10?q=e11&limit=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "limit",
    );
    app.api_client("john")
        .await
        .get("/api/v1/icd10?q=e11")
        .await
        .problem(StatusCode::FORBIDDEN);

    // Without a session: 401 everywhere.
    let mut anonymous = app.anonymous();
    for path in [
        format!("/api/v1/encounters?patient_id={john}"),
        path.clone(),
        format!("{path}/amendments"),
        format!("/api/v1/vitals?patient_id={john}"),
        format!("/api/v1/prescriptions?patient_id={john}"),
        "/api/v1/icd10?q=e11".to_owned(),
    ] {
        anonymous.get(&path).await.problem(StatusCode::UNAUTHORIZED);
    }
    for path in [
        "/api/v1/encounters".to_owned(),
        format!("{path}/sign"),
        format!("{path}/notes"),
        format!("{path}/amendments"),
        "/api/v1/vitals".to_owned(),
        "/api/v1/prescriptions".to_owned(),
    ] {
        anonymous
            .post_json(&path, &json!({}))
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
}

on_all_backends!(encounters_are_drafted_signed_and_amended);

async fn reception_pharmacy_and_auditors_see_no_encounter(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = draft(&mut doctor, &john).await;
    let id = id_of(&encounter);
    let path = format!("/api/v1/encounters/{id}");
    let written = created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription_body(&id, "Paracetamol"),
            )
            .await,
    );
    let prescription = id_of(&written);

    for username in ["reception", "pharma", "auditor"] {
        let mut client = app.api_client(username).await;
        for path in [
            format!("/api/v1/encounters?patient_id={john}"),
            path.clone(),
            format!("{path}/amendments"),
            format!("/api/v1/vitals?patient_id={john}"),
        ] {
            let answer = client.get(&path).await;
            answer.problem(StatusCode::FORBIDDEN);
            assert!(!answer.text().contains("metformin"), "{username} {path}");
        }
        for (path, body) in [
            ("/api/v1/encounters".to_owned(), json!({"patient_id": john})),
            (format!("{path}/notes"), json!({"text": "A note"})),
            (format!("{path}/sign"), json!({})),
            (
                format!("{path}/amendments"),
                json!({"reason": "Because", "plan": "x"}),
            ),
            (
                "/api/v1/vitals".to_owned(),
                json!({"patient_id": john, "pulse_bpm": 70}),
            ),
            (
                "/api/v1/prescriptions".to_owned(),
                prescription_body(&id, "Ibuprofen"),
            ),
            (
                format!("/api/v1/prescriptions/{prescription}/status"),
                json!({"status": "completed"}),
            ),
        ] {
            client
                .post_json(&path, &body)
                .await
                .problem(StatusCode::FORBIDDEN);
        }
        patch(&mut client, &path, &json!({"plan": "x"}))
            .await
            .problem(StatusCode::FORBIDDEN);
        let prescriptions = client
            .get(&format!("/api/v1/prescriptions?patient_id={john}"))
            .await;
        let single = client
            .get(&format!("/api/v1/prescriptions/{prescription}"))
            .await;
        if username == "pharma" {
            // Pharmacy sees prescriptions, not the encounter notes.
            let list = ok(&prescriptions);
            assert_eq!(list["items"][0]["drug_name"], "Paracetamol");
            assert_eq!(ok(&single)["dose"], "500 mg");
        } else {
            prescriptions.problem(StatusCode::FORBIDDEN);
            single.problem(StatusCode::FORBIDDEN);
        }
    }
}

on_all_backends!(reception_pharmacy_and_auditors_see_no_encounter);

async fn a_warning_is_acknowledged_with_a_reason_and_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = id_of(&draft(&mut doctor, &john).await);

    // John is allergic to penicillin: amoxicillin is refused until acknowledged.
    let warned = doctor
        .post_json(
            "/api/v1/prescriptions",
            &prescription_body(&encounter, "Amoxicillin"),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(
        warned["type"], "urn:carevault:problem:prescription-warnings",
        "{warned}"
    );
    assert_eq!(warned["warnings"][0]["kind"], "allergy", "{warned}");
    let none = ok(&doctor
        .get(&format!("/api/v1/prescriptions?patient_id={john}"))
        .await);
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
    let mut short = prescription_body(&encounter, "Amoxicillin");
    short["acknowledgement"] = json!("ok");
    field_problem(
        &doctor.post_json("/api/v1/prescriptions", &short).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "acknowledgement",
    );
    let mut acknowledged = prescription_body(&encounter, "Amoxicillin");
    acknowledged["acknowledgement"] = json!("Childhood rash only; tolerated amoxicillin in 2020");
    let written = created(
        &doctor
            .post_json("/api/v1/prescriptions", &acknowledged)
            .await,
    );
    let id = id_of(&written);
    assert_eq!(written["status"], "active");
    assert_eq!(written["acknowledged_warnings"][0]["kind"], "allergy");
    assert_eq!(
        ok(&doctor.get(&format!("/api/v1/prescriptions/{id}")).await)["id"],
        id.as_str()
    );

    // The acknowledgement is in the audit log (its reason, not the doctor's words).
    let mut auditor = app.api_client("auditor").await;
    let events = ok(&auditor
        .get("/api/v1/audit/events?resource_type=prescription")
        .await);
    let events = events["events"].as_array().expect("events");
    assert!(
        events.iter().any(|e| e["resource_id"] == id.as_str()
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("warning overridden: allergy"))),
        "{events:?}"
    );
    assert!(
        !format!("{events:?}").contains("Childhood rash"),
        "the stated reason stays sealed"
    );

    // Bad input and the status graph.
    let mut bad = prescription_body(&encounter, "Paracetamol");
    bad["route"] = json!("by owl");
    bad["quantity"] = json!(0);
    let problem = field_problem(
        &doctor.post_json("/api/v1/prescriptions", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "route",
    );
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == "quantity")),
        "{problem}"
    );
    let status = format!("/api/v1/prescriptions/{id}/status");
    field_problem(
        &doctor
            .post_json(&status, &json!({"status": "cancelled"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason",
    );
    field_problem(
        &doctor
            .post_json(&status, &json!({"status": "paused"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status",
    );
    let cancelled = ok(&doctor
        .post_json(
            &status,
            &json!({"status": "cancelled", "reason": "Rash returned"}),
        )
        .await);
    assert_eq!(cancelled["status"], "cancelled");
    doctor
        .post_json(&status, &json!({"status": "completed"}))
        .await
        .problem(StatusCode::CONFLICT);
    let mut nurse = app.api_client("nurse").await;
    nurse
        .post_json(
            "/api/v1/prescriptions",
            &prescription_body(&encounter, "Ibuprofen"),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
}

on_all_backends!(a_warning_is_acknowledged_with_a_reason_and_audited);

/// Every clinical GET route of John's record, and whether each must answer 200.
fn clinical_reads(
    john: &str,
    encounter: &str,
    prescription: &str,
    document: Option<&str>,
) -> Vec<String> {
    let mut reads = document.map_or_else(Vec::new, |document| {
        vec![
            format!("/api/v1/documents?patient_id={john}"),
            format!("/api/v1/documents/{document}"),
            format!("/api/v1/documents/{document}/content"),
        ]
    });
    reads.extend([
        format!("/api/v1/encounters?patient_id={john}"),
        format!("/api/v1/encounters/{encounter}"),
        format!("/api/v1/encounters/{encounter}/amendments"),
        format!("/api/v1/vitals?patient_id={john}"),
        format!("/api/v1/prescriptions?patient_id={john}"),
        format!("/api/v1/prescriptions/{prescription}"),
    ]);
    reads
}

async fn outside_the_care_team_until_the_glass_is_broken(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let admin = app.actor("admin").await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut doctor = app.api_client("drsmith").await;
    let encounter = id_of(&draft(&mut doctor, &john).await);
    let prescription = id_of(&created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription_body(&encounter, "Paracetamol"),
            )
            .await,
    ));
    let smith = app.actor("drsmith").await;
    let document = app
        .services
        .upload_document(
            &smith,
            carevault_service::documents::DocumentUpload {
                patient_id: john.parse().expect("an id"),
                encounter_id: None,
                title: "ECG".into(),
                original_name: "ecg.pdf".into(),
                bytes: crate::documents::tiny_pdf("ecg"),
            },
        )
        .await
        .expect("uploaded")
        .id;
    let reads = clinical_reads(&john, &encounter, &prescription, Some(&document));
    let writes = |encounter: &str| {
        vec![
            (
                Method::POST,
                format!("/api/v1/encounters/{encounter}/notes"),
                json!({"text": "Seen in ED"}),
            ),
            (
                Method::POST,
                "/api/v1/vitals".to_owned(),
                json!({"patient_id": john, "pulse_bpm": 90}),
            ),
            (
                Method::POST,
                "/api/v1/encounters".to_owned(),
                json!({"patient_id": john, "chief_complaint": "Collapse"}),
            ),
            (
                Method::POST,
                "/api/v1/prescriptions".to_owned(),
                prescription_body(encounter, "Ibuprofen"),
            ),
        ]
    };

    let mut jones = sign_in(&app, "drjones").await;
    for path in &reads {
        jones.get(path).await.problem(StatusCode::FORBIDDEN);
    }
    for (method, path, body) in writes(&encounter) {
        send(&mut jones, method, &path, Some(&body), &[])
            .await
            .problem(StatusCode::FORBIDDEN);
    }

    let granted = jones
        .post_json(
            "/api/v1/break-glass",
            &json!({"patient_id": john, "reason": REASON, "duration_minutes": 60}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text());
    for path in &reads {
        let answer = jones.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    }
    assert_eq!(
        ok(&jones.get(&format!("/api/v1/encounters/{encounter}")).await)["history"],
        "Polyuria, polydipsia"
    );
    for (method, path, body) in writes(&encounter) {
        let answer = send(&mut jones, method, &path, Some(&body), &[]).await;
        assert!(
            matches!(
                answer.status,
                StatusCode::OK | StatusCode::CREATED | StatusCode::CONFLICT
            ),
            "{path}: {}",
            answer.text()
        );
    }

    // Still in force at 09:59 (a fresh session after the jump), over at 10:00.
    app.clock.advance(Duration::from_secs(59 * 60));
    let mut jones = sign_in(&app, "drjones").await;
    for path in &reads {
        let answer = jones.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    }
    app.clock.advance(Duration::from_secs(60));
    for path in &reads {
        jones.get(path).await.problem(StatusCode::FORBIDDEN);
    }
    for (method, path, body) in writes(&encounter) {
        send(&mut jones, method, &path, Some(&body), &[])
            .await
            .problem(StatusCode::FORBIDDEN);
    }

    // The review queue and the audit show the grant.
    let mut admin = app.api_client("admin").await;
    let queue = ok(&admin.get("/api/v1/break-glass?status=pending").await);
    assert_eq!(queue["items"].as_array().map(Vec::len), Some(1), "{queue}");
    let mut auditor = app.api_client("auditor").await;
    let events = ok(&auditor.get("/api/v1/audit/events?action=break_glass").await);
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
}

on_all_backends!(outside_the_care_team_until_the_glass_is_broken);

async fn patients_read_only_their_own_signed_encounters(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let jane = jane(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let admin = app.actor("admin").await;
    // Dr. Smith on Jane's care team, so he can write her record.
    app.services
        .assign_care_team_member(&admin, jane.parse().expect("an id"), "drsmith")
        .await
        .expect("assigned");
    let johns = id_of(&draft(&mut doctor, &john).await);
    let janes = id_of(&draft(&mut doctor, &jane).await);
    for id in [&johns, &janes] {
        ok(&doctor
            .post_json(&format!("/api/v1/encounters/{id}/sign"), &json!({}))
            .await);
    }
    let janes_prescription = id_of(&created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription_body(&janes, "Paracetamol"),
            )
            .await,
    ));
    created(
        &doctor
            .post_json(
                "/api/v1/prescriptions",
                &prescription_body(&johns, "Paracetamol"),
            )
            .await,
    );

    // John reads his own: the summary, not the clinicians' working notes.
    let mut patient = app.api_client("john").await;
    let list = ok(&patient
        .get(&format!("/api/v1/encounters?patient_id={john}"))
        .await);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let own = ok(&patient.get(&format!("/api/v1/encounters/{johns}")).await);
    assert_eq!(own["plan"], "Start metformin");
    assert_eq!(own["chief_complaint"], "Thirst for two weeks");
    for hidden in ["history", "examination"] {
        assert!(own.get(hidden).is_none(), "{hidden} shown: {own}");
    }
    assert_eq!(own["may_amend"], false);
    let prescriptions = ok(&patient
        .get(&format!("/api/v1/prescriptions?patient_id={john}"))
        .await);
    assert_eq!(prescriptions["items"].as_array().map(Vec::len), Some(1));
    ok(&patient
        .get(&format!("/api/v1/vitals?patient_id={john}"))
        .await);

    // Never Jane's.
    for path in clinical_reads(&jane, &janes, &janes_prescription, None) {
        let answer = patient.get(&path).await;
        answer.problem(StatusCode::FORBIDDEN);
        assert!(!answer.text().contains("metformin"), "{path}");
    }
    // Nor write anything.
    for (path, body) in [
        ("/api/v1/encounters".to_owned(), json!({"patient_id": john})),
        (
            format!("/api/v1/encounters/{johns}/amendments"),
            json!({"reason": "I disagree", "plan": "None"}),
        ),
        (
            "/api/v1/vitals".to_owned(),
            json!({"patient_id": john, "pulse_bpm": 70}),
        ),
        (
            "/api/v1/prescriptions".to_owned(),
            prescription_body(&johns, "Ibuprofen"),
        ),
    ] {
        patient
            .post_json(&path, &body)
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // Jane, likewise, not John's.
    let mut jane_client = sign_in(&app, "jane").await;
    let johns_prescription = ok(&doctor
        .get(&format!("/api/v1/prescriptions?patient_id={john}"))
        .await)["items"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    for path in clinical_reads(&john, &johns, &johns_prescription, None) {
        jane_client.get(&path).await.problem(StatusCode::FORBIDDEN);
    }
    ok(&jane_client
        .get(&format!("/api/v1/encounters/{janes}"))
        .await);
}

on_all_backends!(patients_read_only_their_own_signed_encounters);
