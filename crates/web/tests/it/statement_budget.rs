//! The SQL statements of the two hottest requests, counted on the store and held to the
//! budget BENCHMARKS.md states ("Statements per request"): an audited, decrypted patient read
//! by a doctor on the care team, and a registration. A statement more is a regression to look
//! at; a statement fewer is a reason to lower the budget here and there.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

/// `GET /api/v1/patients/{id}` by a doctor on the care team.
const READ_BUDGET: usize = 7;
/// `POST /api/v1/patients` by a receptionist.
const REGISTER_BUDGET: usize = 11;

fn within(what: &str, statements: &[String], budget: usize) {
    assert!(
        statements.len() <= budget,
        "{what} ran {} statements, the budget is {budget}:\n{}",
        statements.len(),
        statements.join("\n")
    );
}

async fn statements_per_request(backend: Backend) {
    // Long enough that the session read by the first request is still remembered however
    // slowly this test runs (in production it is 1 s).
    let app = TestApp::builder(backend)
        .service_settings(|s| s.session_cache_max_age = std::time::Duration::from_secs(600))
        .build()
        .await;
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
