//! The scheduling JSON API: no double booking under 50 concurrent requests (per clinician
//! and per patient), back-to-back slots, the status graph and the automatic status job,
//! patients kept to their own appointments (IDOR), what each role may do and see, bad input
//! refused with nothing written, refusals on every route, and the patient's cancel cut-off.
//!
//! The clock starts on Monday 2026-03-02 at 09:00 UTC; the clinic's time zone is UTC. Dr.
//! Smith works Monday to Friday 08:00–12:00 and 13:00–17:00 in General Medicine (15-minute
//! slots); new doctors made here have no profile, so the default hours (Monday to Friday
//! 08:00–17:00) and no department (bookings name one).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use carevault_service::Actor;
use carevault_service::users::NewAccount;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, TestApp, TestResponse};
use crate::on_all_backends;

/// The password of the accounts these tests create.
pub(crate) const PASSWORD: &str = "correct-horse-battery-9";

/// Monday, Tuesday and Wednesday of the test week, at `hh:mm` UTC.
pub(crate) fn mon(time: &str) -> String {
    format!("2026-03-02T{time}:00+00:00")
}
fn tue(time: &str) -> String {
    format!("2026-03-03T{time}:00+00:00")
}
fn wed(time: &str) -> String {
    format!("2026-03-04T{time}:00+00:00")
}

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

async fn put(client: &mut Client<'_>, path: &str, body: &Value) -> TestResponse {
    send(client, Method::PUT, path, Some(body), &[]).await
}

pub(crate) fn id_of(value: &Value) -> String {
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

/// A user's id, as `/api/v1/auth/me` tells them.
pub(crate) async fn user_id(client: &mut Client<'_>) -> String {
    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    id_of(&me.json())
}

/// A bearer client for an account these tests created.
pub(crate) async fn sign_in<'a>(app: &'a TestApp, username: &str) -> Client<'a> {
    let mut client = app.anonymous();
    let response = client
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    client.bearer = Some(response.json()["token"].as_str().expect("a token").into());
    client
}

/// Creates an account and returns its user id.
pub(crate) async fn create_account(
    app: &TestApp,
    admin: &Actor,
    username: &str,
    role: &str,
) -> String {
    let account = app
        .services
        .create_account(
            admin,
            NewAccount {
                username: username.into(),
                display_name: if role == "doctor" {
                    format!("Dr. {username}")
                } else {
                    username.to_owned()
                },
                role: role.into(),
                password: secrecy::SecretString::from(PASSWORD),
            },
        )
        .await
        .expect("an account");
    account.id.to_string()
}

/// Registers a patient through the API (as reception) and returns their id.
pub(crate) async fn new_patient(app: &TestApp, given: &str, family: &str) -> String {
    let mut reception = app.api_client("reception").await;
    let response = reception
        .post_json(
            "/api/v1/patients",
            &json!({
                "given_name": given,
                "family_name": family,
                "date_of_birth": "1980-02-03",
                "sex": "female",
                "register_anyway": true,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    id_of(&response.json())
}

/// A patient registered through the service (faster than the API, for many).
fn patient_input(family: &str) -> carevault_service::patients::PatientInput {
    use carevault_service::patients::{Change, PatientInput};
    PatientInput {
        given_name: Change::Set("Pat".into()),
        family_name: Change::Set(family.into()),
        date_of_birth: Change::Set("1990-01-01".into()),
        sex: Change::Set("male".into()),
        ..PatientInput::default()
    }
}

/// A second patient with a portal account, `jane`, linked to her record.
pub(crate) async fn jane(app: &TestApp) -> String {
    let admin = app.actor("admin").await;
    create_account(app, &admin, "jane", "patient").await;
    let record = new_patient(app, "Jane", "Otherpatient").await;
    app.services
        .link_patient_account(&admin, record.parse().expect("an id"), "jane")
        .await
        .expect("linked");
    record
}

/// John's own record id.
pub(crate) async fn john_record(app: &TestApp) -> String {
    let mut john = app.api_client("john").await;
    let me = john.get("/api/v1/me/patient").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    id_of(&me.json())
}

/// The General Medicine department's id.
async fn general_medicine(app: &TestApp) -> String {
    let list = app
        .api_client("reception")
        .await
        .get("/api/v1/departments")
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    list.json()
        .as_array()
        .expect("departments")
        .iter()
        .find(|d| d["code"] == "GEN")
        .map(id_of)
        .expect("GEN")
}

pub(crate) fn booking(patient: &str, clinician: &str, start: &str, end: &str) -> Value {
    json!({
        "patient_id": patient,
        "clinician_id": clinician,
        "start": start,
        "end": end,
        "reason": "Persistent cough",
    })
}

/// Books and expects success; returns the appointment.
pub(crate) async fn book(client: &mut Client<'_>, body: &Value) -> Value {
    let response = client.post_json("/api/v1/appointments", body).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "{body}: {}",
        response.text()
    );
    let appointment = response.json();
    assert_eq!(
        response.location(),
        Some(format!("/api/v1/appointments/{}", id_of(&appointment)).as_str())
    );
    appointment
}

pub(crate) async fn set_status(
    client: &mut Client<'_>,
    appointment: &str,
    status: &str,
    reason: Option<&str>,
) -> TestResponse {
    let mut body = json!({ "status": status });
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    client
        .post_json(&format!("/api/v1/appointments/{appointment}/status"), &body)
        .await
}

/// Every appointment, as the administrator sees the list.
async fn all_appointments(app: &TestApp) -> Vec<Value> {
    let list = app
        .api_client("admin")
        .await
        .get("/api/v1/appointments")
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    list.json()["items"].as_array().expect("items").clone()
}

async fn status_of(app: &TestApp, appointment: &str) -> String {
    let response = app
        .api_client("admin")
        .await
        .get(&format!("/api/v1/appointments/{appointment}"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["status"].as_str().expect("a status").into()
}

/// Sends every booking at once, each on its own task, and returns the responses.
async fn book_concurrently(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for body in bodies {
        let router = app.router.clone();
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let request = axum::http::Request::post("/api/v1/appointments")
                .header(header::HOST, "carevault.test")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("a request");
            let response = router.oneshot(request).await.expect("a response");
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("a body")
                .to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the task ends"));
    }
    results
}

/// Exactly one booking succeeded, and every other one is a slot-taken problem with the
/// colliding appointment and the next free slots.
fn exactly_one_booked(results: &[(u16, Value)], taken_for: &str) -> Value {
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, _) in results {
        *by_status.entry(*status).or_default() += 1;
    }
    assert_eq!(
        by_status,
        BTreeMap::from([(201, 1), (409, results.len() - 1)]),
        "{results:?}"
    );
    let booked = results
        .iter()
        .find(|(s, _)| *s == 201)
        .map(|(_, b)| b.clone())
        .expect("one booking");
    for (_, problem) in results.iter().filter(|(s, _)| *s == 409) {
        assert_eq!(
            problem["type"], "urn:carevault:problem:slot-taken",
            "{problem}"
        );
        let conflicts = problem["conflicts"].as_array().expect("conflicts");
        assert!(
            conflicts
                .iter()
                .any(|c| c["appointment_id"] == booked["id"] && c["taken_for"] == taken_for),
            "{problem}"
        );
        assert!(
            problem["next_free_slots"]
                .as_array()
                .is_some_and(|slots| !slots.is_empty()),
            "{problem}"
        );
    }
    booked
}

// ---------------------------------------------------------------------------------------

async fn fifty_concurrent_bookings_of_one_clinician_yield_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reception_actor = app.actor("reception").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let mut bodies = Vec::new();
    for i in 0..50 {
        let patient = app
            .register_patient(&reception_actor, patient_input(&format!("Concurrent{i}")))
            .await;
        // Every slot holds 10:10–10:30, so each pair overlaps for the clinician only.
        let start = 10 * 60 + 5 * (i % 3);
        let time = |minutes: i64| mon(&format!("{:02}:{:02}", minutes / 60, minutes % 60));
        bodies.push(booking(
            &patient.id.to_string(),
            &drsmith,
            &time(start),
            &time(start + 30),
        ));
    }
    let reception = app.api_client("reception").await;
    let token = reception.bearer.clone().expect("a token");
    let results = book_concurrently(&app, &token, bodies).await;
    exactly_one_booked(&results, "clinician");
    assert_eq!(
        all_appointments(&app).await.len(),
        1,
        "nothing else written"
    );
}

async fn fifty_concurrent_bookings_of_one_patient_yield_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let general = general_medicine(&app).await;
    let patient = new_patient(&app, "Busy", "Patientmarkqz").await;
    let mut bodies = Vec::new();
    // Fifty doctors, one slot: each pair overlaps for the patient only.
    for i in 0..50 {
        let doctor = create_account(&app, &admin, &format!("doc{i:02}"), "doctor").await;
        let mut body = booking(&patient, &doctor, &mon("10:00"), &mon("10:30"));
        body["department_id"] = json!(general);
        bodies.push(body);
    }
    let reception = app.api_client("reception").await;
    let token = reception.bearer.clone().expect("a token");
    let results = book_concurrently(&app, &token, bodies).await;
    exactly_one_booked(&results, "patient");
    assert_eq!(
        all_appointments(&app).await.len(),
        1,
        "nothing else written"
    );
}

async fn back_to_back_slots_are_both_booked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let patient = new_patient(&app, "Back", "Tobackmarkqz").await;
    let other = new_patient(&app, "Other", "Backmarkqz").await;
    let first = book(
        &mut reception,
        &booking(&patient, &drsmith, &mon("10:00"), &mon("10:30")),
    )
    .await;
    let second = book(
        &mut reception,
        &booking(&patient, &drsmith, &mon("10:30"), &mon("11:00")),
    )
    .await;
    assert_eq!(first["end"], second["start"]);
    assert_eq!(first["status"], "scheduled");
    // Any overlap is refused: 10:25–10:45 collides with both.
    let overlap = reception
        .post_json(
            "/api/v1/appointments",
            &booking(&other, &drsmith, &mon("10:25"), &mon("10:45")),
        )
        .await;
    let problem = overlap.problem(StatusCode::CONFLICT);
    assert_eq!(problem["type"], "urn:carevault:problem:slot-taken");
    assert_eq!(problem["conflicts"].as_array().map(Vec::len), Some(2));
    // The next free slots start after the two booked ones.
    assert_eq!(
        problem["next_free_slots"][0]["start"],
        "2026-03-02T11:00:00+00:00"
    );
    assert_eq!(all_appointments(&app).await.len(), 2);
}

async fn refused_transitions_and_the_status_job(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let drsmith = user_id(&mut doctor).await;
    let mut patients = Vec::new();
    for name in ["Ann", "Ben", "Cat", "Dan"] {
        patients.push(new_patient(&app, name, "Jobmarkqz").await);
    }
    let book_for = |patient: usize, start: String, end: String| {
        booking(&patients[patient], &drsmith, &start, &end)
    };
    // A: will not be checked in. B: checked in, never started. C: tomorrow. D: in
    // progress and left open. E: tomorrow early, still within the grace period at the run.
    let a = id_of(&book(&mut reception, &book_for(0, mon("10:00"), mon("10:15"))).await);
    let b = id_of(&book(&mut reception, &book_for(1, mon("10:15"), mon("10:30"))).await);
    let c = id_of(&book(&mut reception, &book_for(2, tue("10:00"), tue("10:15"))).await);
    let d = id_of(&book(&mut reception, &book_for(3, mon("11:00"), mon("11:15"))).await);
    let e = id_of(&book(&mut reception, &book_for(2, tue("08:30"), tue("08:45"))).await);

    // Not in the graph: refused with the current status named, nothing changed.
    let refused = set_status(&mut doctor, &a, "completed", None).await;
    let problem = refused.problem(StatusCode::CONFLICT);
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(detail.contains("from scheduled"), "{detail}");
    assert_eq!(status_of(&app, &a).await, "scheduled");
    let unknown = set_status(&mut doctor, &a, "finished", None).await;
    field_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "status");

    for id in [&b, &d] {
        let checked_in = set_status(&mut reception, id, "checked_in", None).await;
        assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.text());
        assert_eq!(checked_in.json()["status"], "checked_in");
    }
    let started = set_status(&mut doctor, &d, "in_progress", None).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());

    // Before anything ended, the job changes nothing.
    let run = app
        .services
        .run_appointment_status_job()
        .await
        .expect("runs");
    assert_eq!((run.no_shows, run.completed), (0, 0));

    // Tuesday 09:00: A ended yesterday (no-show), D was left open (completed); B stays
    // checked in, C is in the future, E ended 15 minutes ago (within the 30-minute grace).
    app.clock.set(
        Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0)
            .single()
            .expect("a time"),
    );
    let run = app
        .services
        .run_appointment_status_job()
        .await
        .expect("runs");
    assert_eq!((run.no_shows, run.completed), (1, 1));
    let expected = [
        (&a, "no_show"),
        (&b, "checked_in"),
        (&c, "scheduled"),
        (&d, "completed"),
        (&e, "scheduled"),
    ];
    for (id, status) in expected {
        assert_eq!(status_of(&app, id).await, status, "{id}");
    }
    let again = app
        .services
        .run_appointment_status_job()
        .await
        .expect("runs");
    assert_eq!(
        (again.no_shows, again.completed),
        (0, 0),
        "nothing left to do"
    );

    // A final status is final, and the refusal says which it is.
    // (A day later, the old sessions have expired.)
    let mut reception = app.api_client("reception").await;
    let final_refusal = set_status(&mut reception, &d, "cancelled", Some("mistake")).await;
    let problem = final_refusal.problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("completed")),
        "{problem}"
    );

    // The automatic changes are in the audit trail, by the system.
    let mut auditor = app.api_client("auditor").await;
    for (id, moved) in expected {
        let events = auditor
            .get(&format!(
                "/api/v1/audit/events?action=status_changed&resource={id}"
            ))
            .await;
        assert_eq!(events.status, StatusCode::OK, "{}", events.text());
        let by_system: Vec<Value> = events.json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["actor_kind"] == "system")
            .cloned()
            .collect();
        let expected = usize::from(moved == "no_show" || moved == "completed");
        assert_eq!(by_system.len(), expected, "{id}: {by_system:?}");
        for event in by_system {
            assert_eq!(event["outcome"], "allowed");
            assert!(event["patient_pseudonym"].is_string());
            assert!(
                event["reason"].as_str().is_some_and(|r| r.contains(moved)),
                "{event}"
            );
        }
    }
}

async fn a_patient_reaches_only_their_own_appointments(backend: Backend) {
    let app = TestApp::new(backend).await;
    let jane_record = jane(&app).await;
    let john_record = john_record(&app).await;
    let general = general_medicine(&app).await;
    let mut reception = app.api_client("reception").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let janes = id_of(
        &book(
            &mut reception,
            &booking(&jane_record, &drsmith, &wed("10:00"), &wed("10:15")),
        )
        .await,
    );
    let johns = id_of(
        &book(
            &mut reception,
            &booking(&john_record, &drsmith, &wed("11:00"), &wed("11:15")),
        )
        .await,
    );
    let mut jane = sign_in(&app, "jane").await;
    let request = jane
        .post_json(
            "/api/v1/appointments",
            &json!({"department_id": general, "start": wed("14:00"), "reason": "Headache"}),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{}", request.text());
    let janes_request = id_of(&request.json());
    assert_eq!(request.json()["status"], "requested");
    assert_eq!(request.json()["patient_id"], jane_record.as_str());

    let mut john = app.api_client("john").await;
    let before = all_appointments(&app).await;
    // Another patient's appointment, and one that does not exist: the same 403 (no
    // existence oracle), and nothing changes.
    let nowhere = "01990000-0000-7000-8000-000000000000";
    for id in [&janes, &janes_request, &nowhere.to_owned()] {
        let path = format!("/api/v1/appointments/{id}");
        john.get(&path).await.problem(StatusCode::FORBIDDEN);
        set_status(&mut john, id, "cancelled", Some("not mine"))
            .await
            .problem(StatusCode::FORBIDDEN);
        patch(&mut john, &path, &json!({"start": wed("15:00")}))
            .await
            .problem(StatusCode::FORBIDDEN);
        john.post_json(
            &format!("{path}/accept"),
            &json!({"clinician_id": drsmith, "start": wed("15:00")}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
    john.get(&format!("/api/v1/appointments?patient={jane_record}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Requesting on Jane's behalf.
    john.post_json(
        "/api/v1/appointments",
        &json!({
            "patient_id": jane_record, "department_id": general,
            "start": wed("15:00"), "reason": "On her behalf",
        }),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // His own lists hold his own appointment only.
    for path in ["/api/v1/appointments", "/api/v1/me/appointments"] {
        let list = john.get(path).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        let ids: Vec<String> = list.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(ids, vec![johns.clone()], "{path}");
    }
    let own = john.get(&format!("/api/v1/appointments/{johns}")).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    assert_eq!(own.json()["patient"], "John Patient");
    assert_eq!(own.json()["reason"], "Persistent cough");
    // Jane still sees hers, untouched.
    let janes_view = jane.get(&format!("/api/v1/appointments/{janes}")).await;
    assert_eq!(janes_view.status, StatusCode::OK);
    assert_eq!(janes_view.json()["status"], "scheduled");
    let after = all_appointments(&app).await;
    assert_eq!(before, after, "nothing changed");
}

async fn requests_are_accepted_or_declined_by_staff(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut john = app.api_client("john").await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let drsmith = user_id(&mut doctor).await;
    let general = general_medicine(&app).await;
    let ask = json!({
        "department_id": general, "start": wed("10:00"),
        "preferred_times": "Mornings", "reason": "Check-up",
    });
    let first = john.post_json("/api/v1/appointments", &ask).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let first = first.json();
    assert_eq!(first["status"], "requested");
    assert_eq!(first["preferred_times"], "Mornings");
    assert!(first["clinician_id"].is_null());
    // A patient does not choose the length or write notes.
    let mut too_much = ask.clone();
    too_much["notes"] = json!("my own notes");
    too_much["duration_minutes"] = json!(60);
    let refused = john.post_json("/api/v1/appointments", &too_much).await;
    field_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "notes");
    field_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "duration_minutes",
    );

    let accepted = reception
        .post_json(
            &format!("/api/v1/appointments/{}/accept", id_of(&first)),
            &json!({"clinician_id": drsmith, "start": wed("10:30")}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    let accepted = accepted.json();
    assert_eq!(accepted["status"], "scheduled");
    assert_eq!(accepted["start"], "2026-03-04T10:30:00+00:00");
    assert_eq!(
        accepted["end"], "2026-03-04T10:45:00+00:00",
        "GEN's 15 minutes"
    );
    assert_eq!(accepted["clinician_id"], drsmith.as_str());
    // Accepting twice is a conflict naming the status.
    let twice = reception
        .post_json(
            &format!("/api/v1/appointments/{}/accept", id_of(&first)),
            &json!({"start": wed("11:00")}),
        )
        .await;
    assert!(
        twice.problem(StatusCode::CONFLICT)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("scheduled"))
    );

    let second = john
        .post_json(
            "/api/v1/appointments",
            &json!({"clinician_id": drsmith, "start": wed("13:00"), "reason": "Rash"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    let second = id_of(&second.json());
    // Declining needs a reason; the patient then sees the outcome and the reason.
    field_problem(
        &set_status(&mut doctor, &second, "cancelled", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason",
    );
    let declined = set_status(
        &mut doctor,
        &second,
        "cancelled",
        Some("Please see the nurse"),
    )
    .await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text());
    let mine = john.get("/api/v1/me/appointments").await.json();
    let outcome = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["id"] == second.as_str())
        .cloned()
        .expect("the declined request");
    assert_eq!(outcome["status"], "cancelled");
    assert_eq!(outcome["status_reason"], "Please see the nurse");
}

async fn roles_book_check_in_and_see_what_they_may(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let general = general_medicine(&app).await;
    let jones = create_account(&app, &admin, "drjones", "doctor").await;
    let mut admin_client = app.api_client("admin").await;
    let profile = put(
        &mut admin_client,
        &format!("/api/v1/staff/{jones}"),
        &json!({
            "department_id": general, "specialty": "Cardiology",
            "working_hours": "mon-fri 09:00-17:00",
        }),
    )
    .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text());
    assert_eq!(profile.json()["department_id"], general.as_str());

    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let mut nurse = app.api_client("nurse").await;
    let mut pharma = app.api_client("pharma").await;
    let mut drjones = sign_in(&app, "drjones").await;
    let drsmith = user_id(&mut doctor).await;
    let alice = new_patient(&app, "Alice", "Rolesmarkqz").await;
    let bob = new_patient(&app, "Bob", "Othermarkqz").await;

    // Reception books and checks in on the day; not on another day.
    let today = id_of(
        &book(
            &mut reception,
            &booking(&alice, &drsmith, &mon("10:00"), &mon("10:15")),
        )
        .await,
    );
    let checked_in = set_status(&mut reception, &today, "checked_in", None).await;
    assert_eq!(checked_in.status, StatusCode::OK, "{}", checked_in.text());
    let tomorrow = id_of(
        &book(
            &mut reception,
            &booking(&alice, &drsmith, &tue("10:00"), &tue("10:15")),
        )
        .await,
    );
    let early = set_status(&mut reception, &tomorrow, "checked_in", None).await;
    assert!(
        early.problem(StatusCode::CONFLICT)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("day")),
    );

    // A nurse sees calendars but does not book.
    let count = all_appointments(&app).await.len();
    nurse
        .post_json(
            "/api/v1/appointments",
            &booking(&bob, &drsmith, &mon("14:00"), &mon("14:15")),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        nurse.get("/api/v1/appointments").await.status,
        StatusCode::OK
    );
    // A pharmacist sees no appointments at all.
    pharma
        .get("/api/v1/appointments")
        .await
        .problem(StatusCode::FORBIDDEN);
    pharma
        .get(&format!("/api/v1/appointments/{today}"))
        .await
        .problem(StatusCode::FORBIDDEN);
    pharma
        .get(&format!(
            "/api/v1/appointments/availability?clinician={drsmith}&date=2026-03-02"
        ))
        .await
        .problem(StatusCode::FORBIDDEN);
    // A doctor books into their own schedule only.
    doctor
        .post_json(
            "/api/v1/appointments",
            &booking(&bob, &jones, &mon("14:00"), &mon("14:15")),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(all_appointments(&app).await.len(), count, "nothing written");
    // ... and only patients already on their care team.
    doctor
        .post_json(
            "/api/v1/appointments",
            &booking(&bob, &drsmith, &mon("14:00"), &mon("14:15")),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(all_appointments(&app).await.len(), count, "nothing written");
    let assigned = reception
        .post_json(
            &format!("/api/v1/patients/{bob}/care-team"),
            &json!({"username": "drsmith"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text());
    let own = book(
        &mut doctor,
        &booking(&bob, &drsmith, &mon("14:00"), &mon("14:15")),
    )
    .await;
    assert_eq!(
        own["patient"], "Bob Othermarkqz",
        "his own patient, by name"
    );

    // Dr. Jones's patient Carol (on no other care team): her name to Dr. Jones, a
    // pseudonym to Dr. Smith looking at Dr. Jones's schedule, and no reason.
    let carol = new_patient(&app, "Carol", "Carolmarkqz").await;
    book(
        &mut reception,
        &booking(&carol, &jones, &mon("15:00"), &mon("15:30")),
    )
    .await;
    let schedule = format!("/api/v1/appointments?clinician={jones}&date=2026-03-02");
    let seen_by_smith = doctor.get(&schedule).await;
    assert_eq!(
        seen_by_smith.status,
        StatusCode::OK,
        "{}",
        seen_by_smith.text()
    );
    let item = seen_by_smith.json()["items"][0].clone();
    assert!(
        item["patient"]
            .as_str()
            .is_some_and(|p| p.starts_with("ANON_")),
        "{item}"
    );
    assert!(item.get("reason").is_none(), "hidden, so absent: {item}");
    assert!(!seen_by_smith.text().contains("Carolmarkqz"));
    let seen_by_jones = drjones.get(&schedule).await.json()["items"][0].clone();
    assert_eq!(seen_by_jones["patient"], "Carol Carolmarkqz");
    assert_eq!(seen_by_jones["reason"], "Persistent cough");
    // Once Dr. Smith is on Carol's care team, he sees her name there too.
    let assigned = reception
        .post_json(
            &format!("/api/v1/patients/{carol}/care-team"),
            &json!({"username": "drsmith"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text());
    let item = doctor.get(&schedule).await.json()["items"][0].clone();
    assert_eq!(item["patient"], "Carol Carolmarkqz", "{item}");

    // The care team follows the appointments: Dr. Smith sees Dana's name while she has an
    // appointment with him, and not after it is cancelled.
    let dana = new_patient(&app, "Dana", "Danamarkqz").await;
    let patient_path = format!("/api/v1/patients/{dana}");
    let before = doctor.get(&patient_path).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    assert!(
        before.json().get("given_name").is_none(),
        "{}",
        before.text()
    );
    let with_dana = id_of(
        &book(
            &mut reception,
            &booking(&dana, &drsmith, &wed("10:00"), &wed("10:15")),
        )
        .await,
    );
    let during = doctor.get(&patient_path).await.json();
    assert_eq!(during["given_name"], "Dana");
    assert_eq!(during["family_name"], "Danamarkqz");
    let cancelled = set_status(
        &mut reception,
        &with_dana,
        "cancelled",
        Some("Patient phoned"),
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    let after = doctor.get(&patient_path).await.json();
    assert!(after.get("given_name").is_none(), "{after}");
    assert!(
        after["family_name"]
            .as_str()
            .is_some_and(|f| f.starts_with("ANON_")),
        "{after}"
    );
}

async fn bad_input_is_named_and_nothing_is_written(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let patient = new_patient(&app, "Bad", "Inputmarkqz").await;
    let unknown = "01990000-0000-7000-8000-000000000000";
    let good = booking(&patient, &drsmith, &mon("10:00"), &mon("10:30"));
    let with = |changes: Value| {
        let mut body = good.clone();
        for (key, value) in changes.as_object().expect("an object") {
            if value.is_null() {
                body.as_object_mut().expect("an object").remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    let cases = [
        (with(json!({"clinician_id": unknown})), 422, "clinician_id"),
        (
            with(json!({"clinician_id": "drsmith"})),
            422,
            "clinician_id",
        ),
        (with(json!({"patient_id": unknown})), 422, "patient_id"),
        (with(json!({"end": mon("09:30")})), 422, "end"),
        (
            with(json!({"end": "2029-03-02T10:00:00+00:00"})),
            422,
            "end",
        ),
        (
            with(json!({"end": null, "duration_minutes": 3 * 365 * 24 * 60})),
            422,
            "duration_minutes",
        ),
        (with(json!({"start": "next tuesday at ten"})), 422, "start"),
        (with(json!({"start": "2026-03-02T10:00:00"})), 422, "start"),
        (with(json!({"start": "2026-03-02 10:00"})), 422, "start"),
        (
            with(json!({"start": mon("12:00"), "end": mon("12:30")})),
            422,
            "start",
        ),
        (
            with(json!({"start": mon("17:00"), "end": mon("17:30")})),
            422,
            "start",
        ),
        (
            with(json!({"start": mon("08:00"), "end": mon("08:30")})),
            422,
            "start",
        ),
        (
            with(json!({"start": "2026-03-07T10:00:00+00:00", "end": "2026-03-07T10:30:00+00:00"})),
            422,
            "start",
        ),
        (
            with(json!({"start": mon("10:02"), "end": mon("10:32")})),
            422,
            "start",
        ),
        (with(json!({"type": "surgery"})), 422, "type"),
        (with(json!({"reason": null})), 422, "reason"),
        (with(json!({"reason": " "})), 422, "reason"),
        (
            with(json!({"duration_minutes": true})),
            422,
            "duration_minutes",
        ),
        (with(json!({"colour": "blue"})), 422, "colour"),
        (
            with(json!({"preferred_times": "mornings"})),
            422,
            "preferred_times",
        ),
    ];
    for (body, status, field) in cases {
        let response = reception.post_json("/api/v1/appointments", &body).await;
        let problem = field_problem(
            &response,
            StatusCode::from_u16(status).expect("a status"),
            field,
        );
        assert!(problem["detail"].is_string(), "{problem}");
    }
    let not_a_number = reception
        .post_json(
            "/api/v1/appointments",
            &with(json!({"end": null, "duration_minutes": true})),
        )
        .await;
    assert!(
        not_a_number.text().contains("a whole number of minutes"),
        "{}",
        not_a_number.text()
    );
    // The missing offset is explained.
    let response = reception
        .post_json(
            "/api/v1/appointments",
            &with(json!({"start": "2026-03-02T10:00:00"})),
        )
        .await;
    assert!(
        response.text().contains("time zone offset"),
        "{}",
        response.text()
    );
    // Not JSON at all.
    let request = reception
        .request(Method::POST, "/api/v1/appointments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"start\": "))
        .expect("a request");
    reception
        .send(request)
        .await
        .problem(StatusCode::BAD_REQUEST);
    // Bad query and path input is a 4xx naming the field, never a 500.
    for (path, field) in [
        ("/api/v1/appointments?date=2026-13-01", "date"),
        ("/api/v1/appointments?clinician=drsmith", "clinician"),
        ("/api/v1/appointments?status=scheduled,finished", "status"),
        ("/api/v1/appointments?from=2026-03-05&to=2026-03-01", "to"),
        ("/api/v1/appointments?sort=name", "sort"),
        (
            "/api/v1/appointments/availability?clinician=x&date=2026-03-02",
            "clinician",
        ),
        (
            "/api/v1/appointments/availability?date=2026-03-02",
            "clinician",
        ),
        (
            "/api/v1/appointments/availability?clinician=01990000-0000-7000-8000-000000000000&date=03/02/2026",
            "date",
        ),
        ("/api/v1/appointments/not-an-id", "id"),
        ("/api/v1/departments/42", "id"),
        ("/api/v1/staff/drsmith", "id"),
    ] {
        field_problem(
            &reception.get(path).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert!(all_appointments(&app).await.is_empty(), "nothing written");
    // And the good booking still goes through.
    book(&mut reception, &good).await;
}

/// One route for [`every_route_refuses_the_wrong_caller_and_bad_input`]: a request that
/// `refused` (if any) gets 403 for, and a bad variant that an admitted caller gets 422 for.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    refused: Option<&'static str>,
    bad: Option<(&'static str, String, Option<Value>)>,
}

impl Route {
    fn new(method: Method, path: &str, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.to_owned(),
            body,
            refused: None,
            bad: None,
        }
    }

    fn refused_to(mut self, username: &'static str) -> Self {
        self.refused = Some(username);
        self
    }

    fn bad_for(mut self, username: &'static str, path: &str, body: Option<Value>) -> Self {
        self.bad = Some((username, path.to_owned(), body));
        self
    }
}

async fn every_route_refuses_the_wrong_caller_and_bad_input(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut john = app.api_client("john").await;
    let mut reception = app.api_client("reception").await;
    let mut admin = app.api_client("admin").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let general = general_medicine(&app).await;
    let patient = new_patient(&app, "Route", "Walkmarkqz").await;
    let booked = id_of(
        &book(
            &mut reception,
            &booking(&patient, &drsmith, &tue("10:00"), &tue("10:15")),
        )
        .await,
    );
    let request = john
        .post_json(
            "/api/v1/appointments",
            &json!({"department_id": general, "start": wed("10:00"), "reason": "Check-up"}),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{}", request.text());
    let requested = id_of(&request.json());

    let department = format!("/api/v1/departments/{general}");
    let staff = format!("/api/v1/staff/{drsmith}");
    let appointment = format!("/api/v1/appointments/{booked}");
    let status = format!("{appointment}/status");
    let accept = format!("/api/v1/appointments/{requested}/accept");
    let availability =
        format!("/api/v1/appointments/availability?clinician={drsmith}&date=2026-03-03");
    let new_department = json!({"code": "ORTH", "name": "Orthopaedics"});
    // (method, path, body, a caller the route refuses, a bad body or query for one it admits)
    let routes = [
        Route::new(Method::GET, "/api/v1/departments", None),
        Route::new(Method::POST, "/api/v1/departments", Some(new_department))
            .refused_to("reception")
            .bad_for(
                "admin",
                "/api/v1/departments",
                Some(json!({"code": "no spaces", "name": "X"})),
            ),
        Route::new(Method::GET, &department, None).bad_for(
            "reception",
            "/api/v1/departments/GEN",
            None,
        ),
        Route::new(
            Method::PUT,
            &department,
            Some(json!({"code": "GEN", "name": "General Medicine", "slot_minutes": 15})),
        )
        .refused_to("drsmith")
        .bad_for(
            "admin",
            &department,
            Some(json!({"code": "GEN", "name": "General Medicine", "slot_minutes": 7})),
        ),
        Route::new(Method::GET, "/api/v1/staff", None).refused_to("auditor"),
        Route::new(Method::GET, &staff, None)
            .refused_to("auditor")
            .bad_for("reception", "/api/v1/staff/drsmith", None),
        Route::new(
            Method::PUT,
            &staff,
            Some(json!({
                "department_id": general,
                "working_hours": "mon-fri 08:00-12:00,13:00-17:00",
            })),
        )
        .refused_to("reception")
        .bad_for(
            "admin",
            &staff,
            Some(json!({"working_hours": "weekdays, mostly"})),
        ),
        Route::new(Method::GET, "/api/v1/appointments", None)
            .refused_to("pharma")
            .bad_for("reception", "/api/v1/appointments?date=tomorrow", None),
        Route::new(
            Method::POST,
            "/api/v1/appointments",
            Some(booking(&patient, &drsmith, &tue("11:00"), &tue("11:15"))),
        )
        .refused_to("nurse")
        .bad_for(
            "reception",
            "/api/v1/appointments",
            Some(booking(&patient, &drsmith, "tomorrow", &tue("11:15"))),
        ),
        Route::new(Method::GET, &availability, None)
            .refused_to("pharma")
            .bad_for(
                "reception",
                "/api/v1/appointments/availability?clinician=drsmith&date=2026-03-03",
                None,
            ),
        Route::new(Method::GET, &appointment, None)
            .refused_to("pharma")
            .bad_for("reception", "/api/v1/appointments/42", None),
        Route::new(
            Method::PATCH,
            &appointment,
            Some(json!({"start": tue("11:00")})),
        )
        .refused_to("nurse")
        .bad_for(
            "reception",
            &appointment,
            Some(json!({"start": "2026-03-03T11:00:00"})),
        ),
        Route::new(
            Method::POST,
            &status,
            Some(json!({"status": "cancelled", "reason": "r"})),
        )
        .refused_to("pharma")
        .bad_for("reception", &status, Some(json!({"status": "done"}))),
        Route::new(
            Method::POST,
            &accept,
            Some(json!({"clinician_id": drsmith, "start": wed("10:00")})),
        )
        .refused_to("nurse")
        .bad_for(
            "reception",
            &accept,
            Some(json!({"clinician_id": drsmith, "start": wed("10:03")})),
        ),
        Route::new(Method::GET, "/api/v1/me/appointments", None).refused_to("reception"),
    ];
    let before = all_appointments(&app).await;
    for route in &routes {
        let (method, body) = (route.method.clone(), route.body.as_ref());
        // Without a session: 401.
        send(&mut app.anonymous(), method.clone(), &route.path, body, &[])
            .await
            .problem(StatusCode::UNAUTHORIZED);
        if let Some(refused) = route.refused {
            let mut client = app.api_client(refused).await;
            send(&mut client, method.clone(), &route.path, body, &[])
                .await
                .problem(StatusCode::FORBIDDEN);
        }
        if let Some((admitted, path, bad_body)) = &route.bad {
            let mut client = app.api_client(admitted).await;
            let response = send(&mut client, method.clone(), path, bad_body.as_ref(), &[]).await;
            let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                problem["errors"][0]["field"].is_string(),
                "{method} {path}: {problem}"
            );
        }
    }
    assert_eq!(before, all_appointments(&app).await, "nothing written");
    // A body that is not JSON is refused on every route that takes one.
    for route in routes.iter().filter(|r| r.body.is_some()) {
        let request = admin
            .request(route.method.clone(), &route.path)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("hello"))
            .expect("a request");
        admin
            .send(request)
            .await
            .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

async fn json_shapes_versions_and_availability(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut reception = app.api_client("reception").await;
    let mut john = app.api_client("john").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let patient = new_patient(&app, "Shape", "Shapemarkqz").await;
    let created = book(
        &mut reception,
        &booking(&patient, &drsmith, &mon("10:00"), &mon("10:30")),
    )
    .await;
    let keys: Vec<&str> = created
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "patient_id",
        "patient",
        "clinician_id",
        "clinician",
        "department_id",
        "department",
        "start",
        "end",
        "type",
        "status",
        "reason",
        "next_statuses",
    ] {
        assert!(keys.contains(&key), "{key} missing: {created}");
    }
    // Reception's view shows the reason but not the clinical notes.
    assert!(created.get("notes").is_none(), "{created}");
    assert_eq!(created["patient"], "Shape Shapemarkqz");
    assert_eq!(created["clinician"], "Dr. Sarah Smith");
    assert_eq!(created["department"], "General Medicine");
    assert_eq!(created["start"], "2026-03-02T10:00:00+00:00");
    assert_eq!(created["type"], "consultation");
    let id = id_of(&created);
    let path = format!("/api/v1/appointments/{id}");

    // Versions: a move based on an old copy is refused with 412.
    let read = reception.get(&path).await;
    let etag = read.header("etag").expect("an ETag").to_owned();
    let moved = send(
        &mut reception,
        Method::PATCH,
        &path,
        Some(&json!({"start": mon("11:00"), "duration_minutes": 15})),
        &[("if-match", &etag)],
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    assert_eq!(moved.json()["end"], "2026-03-02T11:15:00+00:00");
    let new_etag = moved.header("etag").expect("an ETag").to_owned();
    assert_ne!(etag, new_etag);
    let stale = send(
        &mut reception,
        Method::PATCH,
        &path,
        Some(&json!({"start": mon("14:00")})),
        &[("if-match", &etag)],
    )
    .await;
    stale.problem(StatusCode::PRECONDITION_FAILED);
    let garbage = send(
        &mut reception,
        Method::PATCH,
        &path,
        Some(&json!({"start": mon("14:00")})),
        &[("if-match", "\"yesterday\"")],
    )
    .await;
    garbage.problem(StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        reception.get(&path).await.json()["start"],
        "2026-03-02T11:00:00+00:00"
    );

    // Availability: the 11:00–11:15 slot is busy, the morning from now on is free.
    let day = reception
        .get(&format!(
            "/api/v1/appointments/availability?clinician={drsmith}&date=2026-03-02"
        ))
        .await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.text());
    let day = day.json();
    assert_eq!(day["clinician_id"], drsmith.as_str());
    assert_eq!(day["date"], "2026-03-02");
    assert_eq!(day["slot_minutes"], 15);
    assert_eq!(
        day["working"],
        json!([
            {"start": mon("08:00"), "end": mon("12:00")},
            {"start": mon("13:00"), "end": mon("17:00")},
        ])
    );
    assert_eq!(
        day["busy"],
        json!([{"start": mon("11:00"), "end": mon("11:15")}])
    );
    let free = day["free"].as_array().expect("free");
    assert_eq!(free[0], json!({"start": mon("09:00"), "end": mon("09:15")}));
    assert!(!free.iter().any(|s| s["start"] == mon("11:00")));
    // A patient sees the free slots but not what is booked.
    let for_john = john
        .get(&format!(
            "/api/v1/appointments/availability?clinician={drsmith}&date=2026-03-02"
        ))
        .await
        .json();
    assert_eq!(for_john["busy"], json!([]));
    assert_eq!(for_john["free"], day["free"]);

    // Staff JSON: patients see doctors without their phone and hours.
    let mut staff = reception
        .get(&format!("/api/v1/staff/{drsmith}"))
        .await
        .json();
    assert_eq!(staff["username"], "drsmith");
    assert_eq!(staff["role"], "doctor");
    assert_eq!(staff["specialty"], "General practice");
    assert_eq!(staff["working_hours"], "mon-fri 08:00-12:00,13:00-17:00");
    assert!(staff["work_phone"].is_string());
    let directory = john.get("/api/v1/staff").await;
    assert_eq!(directory.status, StatusCode::OK, "{}", directory.text());
    let directory = directory.json();
    let entries = directory.as_array().expect("entries");
    assert!(entries.iter().all(|s| s["role"] == "doctor"), "{directory}");
    staff = entries
        .iter()
        .find(|s| s["id"] == drsmith.as_str())
        .cloned()
        .expect("Dr. Smith");
    assert!(staff.get("work_phone").is_none() && staff.get("working_hours").is_none());
    assert_eq!(staff["department_id"], general_medicine(&app).await);

    // Departments: create, read, change.
    let mut admin = app.api_client("admin").await;
    let created = admin
        .post_json(
            "/api/v1/departments",
            &json!({"code": "orth", "name": "Orthopaedics", "location": "C", "slot_minutes": 20}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let department = created.json();
    assert_eq!(department["code"], "ORTH");
    let path = created.location().expect("a location").to_owned();
    let changed = put(
        &mut admin,
        &path,
        &json!({"code": "ORTH", "name": "Orthopaedics", "slot_minutes": 25, "active": false}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.json()["active"], false);
    // Inactive: gone for everyone but administrators.
    reception.get(&path).await.problem(StatusCode::NOT_FOUND);
    let duplicate = admin
        .post_json(
            "/api/v1/departments",
            &json!({"code": "GEN", "name": "Another"}),
        )
        .await;
    duplicate.problem(StatusCode::CONFLICT);
}

async fn a_patient_cancels_only_before_the_cut_off(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john_record = john_record(&app).await;
    let mut reception = app.api_client("reception").await;
    let mut john = app.api_client("john").await;
    let drsmith = user_id(&mut app.api_client("drsmith").await).await;
    let far = id_of(
        &book(
            &mut reception,
            &booking(&john_record, &drsmith, &wed("10:00"), &wed("10:15")),
        )
        .await,
    );
    let near = id_of(
        &book(
            &mut reception,
            &booking(&john_record, &drsmith, &tue("08:00"), &tue("08:15")),
        )
        .await,
    );
    // 23 hours ahead: too late to cancel online, and the answer says so.
    let refused = set_status(&mut john, &near, "cancelled", None).await;
    let problem = refused.problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("too close")),
        "{problem}"
    );
    assert_eq!(status_of(&app, &near).await, "scheduled");
    let listed = john
        .get(&format!("/api/v1/appointments/{near}"))
        .await
        .json();
    assert_eq!(listed["next_statuses"], json!([]));
    // 49 hours ahead: fine.
    let listed = john
        .get(&format!("/api/v1/appointments/{far}"))
        .await
        .json();
    assert_eq!(listed["next_statuses"], json!(["cancelled"]));
    let cancelled = set_status(&mut john, &far, "cancelled", None).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    assert_eq!(cancelled.json()["status"], "cancelled");
    // A patient moves nothing, and checks nothing in.
    patch(
        &mut john,
        &format!("/api/v1/appointments/{near}"),
        &json!({"start": tue("09:00")}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    set_status(&mut john, &near, "checked_in", None)
        .await
        .problem(StatusCode::FORBIDDEN);
    // The cancelled slot is free again.
    let other = new_patient(&app, "Next", "Inlinemarkqz").await;
    book(
        &mut reception,
        &booking(&other, &drsmith, &wed("10:00"), &wed("10:15")),
    )
    .await;
}

/// A request that names no doctor may be taken by a doctor of its department, who then
/// holds it; a doctor of another department (or none) may neither take nor decline it, and
/// stays outside the patient's care team.
async fn a_request_for_a_department_goes_to_a_doctor_of_that_department(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let mut john = app.api_client("john").await;
    let john_id = john_record(&app).await;
    let general = general_medicine(&app).await;
    let request = john
        .post_json(
            "/api/v1/appointments",
            &json!({"department_id": general, "start": wed("10:00"), "reason": "Dizzy spells"}),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{}", request.text());
    let request = id_of(&request.json());

    create_account(&app, &admin, "drjones", "doctor").await;
    let mut jones = sign_in(&app, "drjones").await;
    let jones_id = user_id(&mut jones).await;
    let taken = jones
        .post_json(
            &format!("/api/v1/appointments/{request}/accept"),
            &json!({"clinician_id": jones_id, "start": wed("10:00")}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::FORBIDDEN, "{}", taken.text());
    let declined = set_status(&mut jones, &request, "cancelled", Some("Not mine")).await;
    assert_eq!(
        declined.status,
        StatusCode::FORBIDDEN,
        "{}",
        declined.text()
    );
    let record = jones
        .get(&format!("/api/v1/patients/{john_id}"))
        .await
        .json();
    assert_ne!(record["given_name"], "John", "{record}");
    assert_eq!(status_of(&app, &request).await, "requested");

    // Dr. Smith works in General Medicine: accepting without naming a clinician takes it.
    let mut smith = app.api_client("drsmith").await;
    let smith_id = user_id(&mut smith).await;
    let accepted = smith
        .post_json(
            &format!("/api/v1/appointments/{request}/accept"),
            &json!({"start": wed("10:00")}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    let accepted = accepted.json();
    assert_eq!(accepted["clinician_id"], smith_id.as_str());
    assert_eq!(accepted["department_id"], general.as_str());
    assert_eq!(accepted["status"], "scheduled");
}

on_all_backends!(
    a_request_for_a_department_goes_to_a_doctor_of_that_department,
    fifty_concurrent_bookings_of_one_clinician_yield_one,
    fifty_concurrent_bookings_of_one_patient_yield_one,
    back_to_back_slots_are_both_booked,
    refused_transitions_and_the_status_job,
    a_patient_reaches_only_their_own_appointments,
    requests_are_accepted_or_declined_by_staff,
    roles_book_check_in_and_see_what_they_may,
    bad_input_is_named_and_nothing_is_written,
    every_route_refuses_the_wrong_caller_and_bad_input,
    json_shapes_versions_and_availability,
    a_patient_cancels_only_before_the_cut_off,
);
