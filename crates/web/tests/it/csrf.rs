//! Cross-site request forgery: a cross-origin form post, or one without the form token,
//! gets 403 and changes nothing; cookies alone never authorise an API write.

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn password_still(app: &TestApp, username: &str, password: &str) -> bool {
    app.anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
        .status
        == StatusCode::OK
}

async fn forged_form_posts_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let token = admin.form_token.clone().expect("a form token");
    let change = [
        ("current_password", "admin123"),
        ("new_password", "hijacked-password"),
        ("confirm_password", "hijacked-password"),
    ];
    let with_token = |extra: &[(&'static str, &'static str)]| {
        let mut fields = change.to_vec();
        fields.extend_from_slice(extra);
        fields
    };
    let mut fields = with_token(&[]);
    fields.push(("csrf_token", token.as_str()));

    // Cross-origin, with a valid token.
    let response = admin
        .post_form_raw(
            "/account/password",
            &fields,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.text().contains("Access denied"));
    // Cross-site by Fetch metadata, with a valid token.
    let response = admin
        .post_form_raw(
            "/account/password",
            &fields,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    // Same origin, without the token.
    let response = admin
        .post_form_raw(
            "/account/password",
            &with_token(&[]),
            &[
                ("origin", "https://carevault.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    // Same origin, with another session's token.
    let other = app.browser("drsmith").await.form_token.expect("token");
    let mut forged = with_token(&[]);
    forged.push(("csrf_token", other.as_str()));
    let response = admin
        .post_form_raw(
            "/account/password",
            &forged,
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    // Creating an account cross-origin.
    let response = admin
        .post_form_raw(
            "/admin/users",
            &[
                ("username", "mallory"),
                ("display_name", "M"),
                ("role", "admin"),
                ("password", "mallory-pass"),
                ("csrf_token", &token),
            ],
            &[("origin", "http://localhost:9999")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    assert!(
        password_still(&app, "admin", "admin123").await,
        "the password must be unchanged"
    );
    assert!(
        !password_still(&app, "mallory", "mallory-pass").await,
        "no account must have been created"
    );
    let operator = app.services.console_operator();
    let accounts = app
        .services
        .list_accounts(&operator)
        .await
        .expect("accounts");
    assert!(accounts.iter().all(|a| a.username.as_str() != "mallory"));

    // The genuine request succeeds.
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "carol"),
                ("display_name", "Carol Clerk"),
                ("role", "receptionist"),
                ("password", "carol-pass-1"),
            ],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert!(password_still(&app, "carol", "carol-pass-1").await);
}

async fn the_form_token_header_works_for_scripts(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut nurse = app.browser("nurse").await;
    let token = nurse.form_token.clone().expect("token");
    let request = nurse
        .request(axum::http::Method::POST, "/logout")
        .header("x-csrf-token", token)
        .header("sec-fetch-site", "same-origin")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = nurse.send(request).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

async fn cookies_alone_never_authorise_an_api_write(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut browser = app.browser("admin").await;
    // Reads with the cookie are fine…
    assert_eq!(browser.get("/api/v1/auth/me").await.status, StatusCode::OK);
    // …writes are not, and the session survives.
    let response = browser
        .post_json("/api/v1/auth/logout", &serde_json::json!({}))
        .await;
    let problem = response.problem(StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Bearer"))
    );
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
}

on_all_backends!(
    forged_form_posts_are_refused_and_change_nothing,
    the_form_token_header_works_for_scripts,
    cookies_alone_never_authorise_an_api_write,
);

/// What Chromium sends for a same-origin form under `Referrer-Policy: no-referrer`.
async fn a_null_origin_passes_only_with_same_origin_fetch_metadata(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let page = client.get("/login").await;
    let nonce = crate::harness::hidden_field(&page.text(), "nonce").expect("nonce");
    let fields = [
        ("username", "admin"),
        ("password", "admin123"),
        ("nonce", nonce.as_str()),
    ];
    let refused = client
        .post_form_raw("/login", &fields, &[("origin", "null")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a bare null origin is refused"
    );
    let refused = client
        .post_form_raw(
            "/login",
            &fields,
            &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let page = client.get("/login").await;
    let nonce = crate::harness::hidden_field(&page.text(), "nonce").expect("nonce");
    let fields = [
        ("username", "admin"),
        ("password", "admin123"),
        ("nonce", nonce.as_str()),
    ];
    let accepted = client
        .post_form_raw(
            "/login",
            &fields,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(
        accepted.status,
        StatusCode::SEE_OTHER,
        "{}",
        accepted.text()
    );
    // And for a signed-in form.
    client.refresh_form_token().await;
    let token = client.form_token.clone().expect("token");
    let out = client
        .post_form_raw(
            "/logout",
            &[("csrf_token", &token)],
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
}

on_all_backends!(a_null_origin_passes_only_with_same_origin_fetch_metadata);
