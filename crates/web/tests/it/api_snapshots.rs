//! The JSON of the main API routes, as snapshots (`tests/it/snapshots/`): a change in what a
//! client receives shows up as a diff to review. Ids (random UUIDv7s) and pseudonyms are
//! replaced by placeholders; the test clock makes every time the same on each run. The same
//! snapshots hold on SQLite, PostgreSQL and MariaDB, so the backends answer alike.
//!
//! After a deliberate change: `INSTA_UPDATE=always cargo test -p carevault-web --test it
//! api_snapshots`, review the `.snap` diff, commit it.

use axum::http::StatusCode;
use serde_json::Value;

use crate::fixtures::records_of;
use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::john_record;

/// `value` with what differs from run to run replaced: UUIDs by `[id]`, pseudonyms by
/// `ANON_[n]`, and bearer or form tokens by `[token]`.
fn stable(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(if uuid::Uuid::try_parse(&text).is_ok() {
            "[id]".to_owned()
        } else if text.starts_with("ANON_") {
            "ANON_[n]".to_owned()
        } else {
            text
        }),
        Value::Array(items) => Value::Array(items.into_iter().map(stable).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, stable(value)))
                .collect(),
        ),
        other => other,
    }
}

async fn the_main_routes_answer_as_recorded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = records_of(&app, john_record(&app).await, ("10:00", "10:15")).await;
    let reads = [
        (
            "admin",
            "patient",
            format!("/api/v1/patients/{}", john.patient),
        ),
        (
            "drsmith",
            "chart",
            format!("/api/v1/patients/{}/chart", john.patient),
        ),
        (
            "drsmith",
            "encounter",
            format!("/api/v1/encounters/{}", john.encounter),
        ),
        (
            "pharma",
            "prescription",
            format!("/api/v1/prescriptions/{}", john.prescription),
        ),
        (
            "reception",
            "appointment",
            format!("/api/v1/appointments/{}", john.appointment),
        ),
        (
            "reception",
            "invoice",
            format!("/api/v1/invoices/{}", john.invoice),
        ),
        ("john", "my_record", "/api/v1/me/patient".to_owned()),
        (
            "auditor",
            "patient_pseudonymous",
            format!("/api/v1/patients/{}", john.patient),
        ),
    ];
    for (username, name, path) in reads {
        let response = app.api_client(username).await.get(&path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            response.text()
        );
        insta::assert_json_snapshot!(name, stable(response.json()));
    }
}

on_all_backends!(the_main_routes_answer_as_recorded);
