//! Signing in through the page and the API, per role.

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp, demo_password};
use crate::on_all_backends;

const DASHBOARDS: [(&str, &str); 7] = [
    ("admin", "Administrator dashboard"),
    ("drsmith", "Doctor dashboard"),
    ("nurse", "Nurse dashboard"),
    ("reception", "Receptionist dashboard"),
    ("pharma", "Pharmacist dashboard"),
    ("john", "Patient dashboard"),
    ("auditor", "Auditor dashboard"),
];

async fn every_demo_user_signs_in_and_sees_their_dashboard(backend: Backend) {
    let app = TestApp::new(backend).await;
    for (username, title) in DASHBOARDS {
        let mut client = app.browser(username).await;
        let page = client.get("/dashboard").await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{username}: {html}"
        );
        // Each role sees only its own menu.
        assert_eq!(
            html.contains("/admin/status"),
            username == "admin",
            "{username}"
        );
    }
}

async fn api_sign_in_returns_a_token_and_me(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let response = client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith", "password": "doctor123"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert!(
        body["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("cvs_") && t.len() == 47)
    );
    assert!(
        body["expires_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-03-02T21:00:00"))
    );
    assert_eq!(body["user"]["username"], "drsmith");
    assert_eq!(body["user"]["role"], "doctor");
    assert!(body["user"]["id"].is_string());

    client.bearer = body["token"].as_str().map(str::to_owned);
    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "drsmith");
}

async fn wrong_password_and_unknown_user_get_the_same_answer(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let wrong = client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith", "password": "not-the-password"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let unknown = client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "nobody", "password": "not-the-password"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong["title"], unknown["title"]);
    assert_eq!(wrong["type"], unknown["type"]);

    let page = client.sign_in_through_form("nobody", "whatever1").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.text().contains("Invalid username or password."));
    let page = client.sign_in_through_form("drsmith", "whatever1").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.text().contains("Invalid username or password."));
}

async fn a_disabled_account_cannot_sign_in_and_loses_its_sessions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut nurse = app.api_client("nurse").await;
    let operator = app.services.console_operator();
    app.services
        .disable_account(&operator, "nurse")
        .await
        .expect("disable");
    nurse
        .get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "nurse", "password": demo_password("nurse")}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

async fn sign_in_follows_only_local_next_paths(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let page = client.get("/login?next=/admin/status").await;
    let nonce = crate::harness::hidden_field(&page.text(), "nonce").expect("nonce");
    for (next, expected) in [
        ("/admin/status", "/admin/status"),
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example", "/dashboard"),
    ] {
        let mut c = app.anonymous();
        let page = c.get("/login").await;
        let nonce = crate::harness::hidden_field(&page.text(), "nonce").expect("nonce");
        let response = c
            .post_form_raw(
                "/login",
                &[
                    ("username", "admin"),
                    ("password", "admin123"),
                    ("nonce", &nonce),
                    ("next", next),
                ],
                &[("sec-fetch-site", "same-origin")],
            )
            .await;
        assert_eq!(response.location(), Some(expected), "next={next}");
    }
    // A sign-in form without its nonce cookie is refused.
    let response = app
        .anonymous()
        .post_form_raw(
            "/login",
            &[
                ("username", "admin"),
                ("password", "admin123"),
                ("nonce", &nonce),
            ],
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

on_all_backends!(
    every_demo_user_signs_in_and_sees_their_dashboard,
    api_sign_in_returns_a_token_and_me,
    wrong_password_and_unknown_user_get_the_same_answer,
    a_disabled_account_cannot_sign_in_and_loses_its_sessions,
    sign_in_follows_only_local_next_paths,
);
