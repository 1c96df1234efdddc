//! No password and no session token ever reaches a log line.

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp, captured_logs};
use crate::on_all_backends;

async fn logs_hold_no_passwords_and_no_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let response = client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "pharma", "password": "pharmacy123"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let token = response.json()["token"].as_str().expect("token").to_owned();
    client.bearer = Some(token.clone());
    client.get("/api/v1/auth/me").await;
    client
        .post_json("/api/v1/auth/logout", &serde_json::json!({}))
        .await;
    let mut browser = app.browser("auditor").await;
    let cookie = browser.session_cookie().cloned().expect("cookie");
    browser.post_form("/logout", &[]).await;
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "typed-by-mistake", "password": "secret-typo-1"}),
        )
        .await;

    let logs = captured_logs();
    assert!(logs.contains("signed in"), "the harness captures the logs");
    for secret in [
        "pharmacy123",
        "audit123",
        "secret-typo-1",
        token.as_str(),
        cookie.as_str(),
        "typed-by-mistake",
    ] {
        assert!(!logs.contains(secret), "a log line contains {secret:?}");
    }
    let token_shape = regex::Regex::new(r"cvs_[A-Za-z0-9_-]{43}").expect("regex");
    assert!(
        !token_shape.is_match(&logs),
        "a log line contains a session token"
    );
}

on_all_backends!(logs_hold_no_passwords_and_no_tokens);
