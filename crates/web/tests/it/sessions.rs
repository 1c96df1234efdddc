//! Session lifecycle: sign-out, replay, idle and absolute timeouts, rotation, password change.

use std::time::Duration;

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn sign_out_revokes_the_cookie_and_the_bearer_token(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Page session.
    let mut browser = app.browser("reception").await;
    let old_cookie = browser.session_cookie().cloned().expect("a session cookie");
    let response = browser.post_form("/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/login?notice=signed-out"));
    let mut replay = app.anonymous();
    replay.cookies.insert(
        app.state.settings.session_cookie_name().to_owned(),
        old_cookie.clone(),
    );
    let page = replay.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?notice=session-ended"));
    replay
        .get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // API token.
    let mut api = app.api_client("drsmith").await;
    assert_eq!(api.get("/api/v1/auth/me").await.status, StatusCode::OK);
    let out = api
        .post_json("/api/v1/auth/logout", &serde_json::json!({}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    api.get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    api.post_json("/api/v1/auth/logout", &serde_json::json!({}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

async fn idle_timeout_ends_the_session(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.session_idle_timeout = Duration::from_secs(120))
        .build()
        .await;
    let mut api = app.api_client("nurse").await;
    // Activity keeps it alive.
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(100));
        assert_eq!(api.get("/api/v1/auth/me").await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::from_secs(121));
    api.get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

async fn absolute_timeout_ends_even_an_active_session(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| {
            s.session_idle_timeout = Duration::from_secs(600);
            s.session_absolute_timeout = Duration::from_secs(1800);
        })
        .build()
        .await;
    let mut api = app.api_client("nurse").await;
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(500));
        assert_eq!(api.get("/api/v1/auth/me").await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::from_secs(400));
    api.get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

async fn signing_in_issues_a_new_session_and_revokes_the_old_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut browser = app.browser("admin").await;
    let first = browser.session_cookie().cloned().expect("a cookie");
    // Signed in, /login sends the browser on; the form is fetched as another tab would have
    // it, and posted with the old session cookie still present.
    assert_eq!(browser.get("/login").await.status, StatusCode::SEE_OTHER);
    let name = app.state.settings.session_cookie_name().to_owned();
    browser.cookies.remove(&name);
    let form = browser.get("/login").await;
    let nonce = crate::harness::hidden_field(&form.text(), "nonce").expect("nonce");
    browser.cookies.insert(name, first.clone());
    let again = browser
        .post_form_raw(
            "/login",
            &[
                ("username", "admin"),
                ("password", "admin123"),
                ("nonce", &nonce),
            ],
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let second = browser.session_cookie().cloned().expect("a cookie");
    assert_ne!(first, second, "the session id must change at sign-in");
    let mut replay = app.anonymous();
    replay
        .cookies
        .insert(app.state.settings.session_cookie_name().to_owned(), first);
    assert_eq!(replay.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
}

async fn a_password_change_ends_the_other_sessions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut here = app.browser("drsmith").await;
    let mut elsewhere = app.api_client("drsmith").await;
    let response = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "doctor123"),
                ("new_password", "a-new-passphrase"),
                ("confirm_password", "a-new-passphrase"),
            ],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(
        here.get("/dashboard").await.status,
        StatusCode::OK,
        "this session goes on"
    );
    elsewhere
        .get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // The new password works, the old one not.
    let mut client = app.anonymous();
    client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith", "password": "doctor123"}),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let ok = client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "drsmith", "password": "a-new-passphrase"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

async fn password_form_errors_are_shown_next_to_the_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut here = app.browser("drsmith").await;
    let response = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong-one"),
                ("new_password", "abcdefghij"),
                ("confirm_password", "abcdefghij"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().contains("id=\"current_password-error\""));
    let response = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "doctor123"),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .contains("New password must be at least 8 characters.")
    );
}

on_all_backends!(
    sign_out_revokes_the_cookie_and_the_bearer_token,
    idle_timeout_ends_the_session,
    absolute_timeout_ends_even_an_active_session,
    signing_in_issues_a_new_session_and_revokes_the_old_one,
    a_password_change_ends_the_other_sessions,
    password_form_errors_are_shown_next_to_the_field,
);

async fn guessing_the_current_password_is_throttled(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut here = app.browser("nurse").await;
    for _ in 0..10 {
        let response = here
            .post_form(
                "/account/password",
                &[
                    ("current_password", "guess-guess"),
                    ("new_password", "abcdefghij"),
                    ("confirm_password", "abcdefghij"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "nurse123"),
                ("new_password", "abcdefghij"),
                ("confirm_password", "abcdefghij"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().contains("Too many failed attempts"));
}

on_all_backends!(guessing_the_current_password_is_throttled);
