//! The SQL statements of the two hottest requests, counted on the store and held to the
//! budget BENCHMARKS.md states ("Statements per request"): an audited, decrypted patient read
//! by a doctor on the care team, and a registration. A statement more is a regression to look
//! at; a statement fewer is a reason to lower the budget here and there. And a day's calendar
//! reads with as many statements for six appointments as for two: nothing is looked up per
//! patient.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{book, booking, mon, new_patient};

/// `GET /api/v1/patients/{id}` by a doctor on the care team.
const READ_BUDGET: usize = 7;
/// `POST /api/v1/patients` by a receptionist.
const REGISTER_BUDGET: usize = 11;
/// `GET /api/v1/appointments?clinician=…&date=…` by the doctor, however many appointments,
/// without the audit append (whose batch is shared).
const DAY_BUDGET: usize = 7;

fn within(what: &str, statements: &[String], budget: usize) {
    assert!(
        statements.len() <= budget,
        "{what} ran {} statements, the budget is {budget}:\n{}",
        statements.len(),
        statements.join("\n")
    );
}

/// A test app whose sessions stay cached however slowly the test runs (in production the
/// cache's bound is 1 s), so that only the request's own statements are counted.
async fn app_with_cached_sessions(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .service_settings(|s| s.session_cache_max_age = std::time::Duration::from_secs(600))
        .build()
        .await
}

async fn statements_per_request(backend: Backend) {
    let app = app_with_cached_sessions(backend).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let first = json!({
        "given_name": "Budget", "family_name": "Statementqz",
        "date_of_birth": "1970-01-02", "sex": "female", "phone": "0161 496 0001",
    });
    // Warm: the first request of a session may set things up that later ones reuse.
    let response = reception.post_json("/api/v1/patients", &first).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());

    let second = json!({
        "given_name": "Other", "family_name": "Statementqz",
        "date_of_birth": "1971-03-04", "sex": "male", "phone": "0161 496 0002",
    });
    app.statements.take();
    let response = reception.post_json("/api/v1/patients", &second).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    within("a registration", &app.statements.take(), REGISTER_BUDGET);

    let id = response.json()["id"].as_str().expect("an id").to_owned();
    let care_team = reception
        .post_json(
            &format!("/api/v1/patients/{id}/care-team"),
            &json!({ "username": "drsmith" }),
        )
        .await;
    assert_eq!(care_team.status, StatusCode::OK, "{}", care_team.text());
    let warm = doctor.get(&format!("/api/v1/patients/{id}")).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.text());

    app.statements.take();
    let read = doctor.get(&format!("/api/v1/patients/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    within(
        "an audited patient read",
        &app.statements.take(),
        READ_BUDGET,
    );
}

on_all_backends!(statements_per_request);

async fn a_days_calendar_costs_the_same_whatever_its_length(backend: Backend) {
    let app = app_with_cached_sessions(backend).await;
    let mut reception = app.api_client("reception").await;
    let mut doctor = app.api_client("drsmith").await;
    let me = doctor.get("/api/v1/auth/me").await;
    let drsmith = me.json()["id"].as_str().expect("an id").to_owned();
    // The test clock's Monday (09:00 now), in Dr. Smith's afternoon hours.
    let day = format!("/api/v1/appointments?clinician={drsmith}&date=2026-03-02");
    let mut counted = Vec::new();
    let slots = [
        ("13:00", "13:15"),
        ("13:30", "13:45"),
        ("14:00", "14:15"),
        ("14:30", "14:45"),
        ("15:00", "15:15"),
        ("15:30", "15:45"),
    ];
    for (n, (start, end)) in slots.into_iter().enumerate() {
        let patient = new_patient(&app, "Day", &format!("Calendarqz{n}")).await;
        book(
            &mut reception,
            &booking(&patient, &drsmith, &mon(start), &mon(end)),
        )
        .await;
        if n == 1 || n == 5 {
            let warm = doctor.get(&day).await;
            assert_eq!(warm.status, StatusCode::OK, "{}", warm.text());
            app.statements.take();
            let listed = doctor.get(&day).await;
            assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
            let items = listed.json()["items"].as_array().expect("items").len();
            assert_eq!(items, n + 1);
            // The audit append is left out: its batch is shared with whatever else is being
            // recorded at that moment (a notification sent in the background, say).
            let own: Vec<String> = app
                .statements
                .take()
                .into_iter()
                .filter(|sql| !sql.contains("audit_state") && !sql.contains("audit_events"))
                .collect();
            counted.push(own);
        }
    }
    let (two, six) = (&counted[0], &counted[1]);
    within("a day's calendar", six, DAY_BUDGET);
    assert_eq!(
        two.len(),
        six.len(),
        "a day of 2 appointments ran {} statements, of 6 {}:\n{}\n---\n{}",
        two.len(),
        six.len(),
        two.join("\n"),
        six.join("\n")
    );
}

on_all_backends!(a_days_calendar_costs_the_same_whatever_its_length);
