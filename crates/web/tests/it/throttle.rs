//! Sign-in throttling per account and per client address.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

fn login(username: &str, password: &str) -> serde_json::Value {
    serde_json::json!({"username": username, "password": password})
}

async fn ten_wrong_passwords_lock_that_account_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    for attempt in 1..=9 {
        let response = client
            .post_json("/api/v1/auth/login", &login("drsmith", "wrong-password"))
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let tenth = client
        .post_json("/api/v1/auth/login", &login("drsmith", "wrong-password"))
        .await;
    tenth.problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = tenth
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after));
    // Even the right password is refused now, through the API and the page.
    client
        .post_json("/api/v1/auth/login", &login("drsmith", "doctor123"))
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    let page = client.sign_in_through_form("drsmith", "doctor123").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.header("retry-after").is_some());
    assert!(page.text().contains("Too many failed attempts"));
    // Another account is not affected.
    assert_eq!(
        client
            .post_json("/api/v1/auth/login", &login("nurse", "nurse123"))
            .await
            .status,
        StatusCode::OK
    );
    // After the window the account signs in again.
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        client
            .post_json("/api/v1/auth/login", &login("drsmith", "doctor123"))
            .await
            .status,
        StatusCode::OK
    );
}

async fn many_failures_from_one_address_throttle_that_address(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.throttle.max_failures_per_address = 5)
        .build()
        .await;
    let attacker: IpAddr = "203.0.113.7".parse().expect("ip");
    let mut client = app.anonymous().with_addr(attacker);
    for username in ["a1x", "b2x", "c3x", "d4x", "e5x"] {
        client
            .post_json("/api/v1/auth/login", &login(username, "guess-guess"))
            .await;
    }
    client
        .post_json("/api/v1/auth/login", &login("nurse", "nurse123"))
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    let mut elsewhere = app
        .anonymous()
        .with_addr("198.51.100.4".parse().expect("ip"));
    assert_eq!(
        elsewhere
            .post_json("/api/v1/auth/login", &login("nurse", "nurse123"))
            .await
            .status,
        StatusCode::OK
    );
}

on_all_backends!(
    ten_wrong_passwords_lock_that_account_only,
    many_failures_from_one_address_throttle_that_address
);
