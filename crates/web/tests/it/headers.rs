//! Security headers on pages, API responses and error pages.

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp, TestResponse};
use crate::on_all_backends;

fn assert_security_headers(response: &TestResponse, what: &str) {
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{what}"
    );
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        response.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
    assert!(response.header("x-request-id").is_some(), "{what}");
}

async fn every_kind_of_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let mut api = app.api_client("admin").await;
    let mut anonymous = app.anonymous();
    let cases = [
        ("sign-in page", anonymous.get("/login").await),
        ("redirect", anonymous.get("/dashboard").await),
        ("dashboard", admin.get("/dashboard").await),
        ("status page", admin.get("/admin/status").await),
        ("404 page", admin.get("/nowhere").await),
        ("API", api.get("/api/v1/auth/me").await),
        ("API 401", anonymous.get("/api/v1/auth/me").await),
        ("API 404", api.get("/api/v1/nowhere").await),
        ("probe", anonymous.get("/readyz").await),
    ];
    for (what, response) in &cases {
        assert_security_headers(response, what);
        // HTTPS public URL: HSTS.
        assert!(
            response.header("strict-transport-security").is_some(),
            "{what}"
        );
    }
    let forbidden = app.browser("nurse").await.get("/admin/status").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_security_headers(&forbidden, "403 page");
    assert!(forbidden.text().contains("Request id:"));
    // Assets may be cached, everything else not.
    let css = anonymous.get("/assets/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.header("cache-control")
            .is_some_and(|v| v.starts_with("public"))
    );
}

async fn plain_http_gets_no_hsts_and_no_secure_prefix(backend: Backend) {
    let app = TestApp::builder(backend)
        .public_url("http://127.0.0.1:8080")
        .build()
        .await;
    let response = app.anonymous().get("/login").await;
    assert!(response.header("strict-transport-security").is_none());
}

async fn the_session_cookie_has_the_right_attributes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let response = client.sign_in_through_form("admin", "admin123").await;
    let cookie = response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-carevault="))
        .expect("a session cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    assert!(!cookie.contains("Domain="));
}

on_all_backends!(
    every_kind_of_response_carries_the_security_headers,
    plain_http_gets_no_hsts_and_no_secure_prefix,
    the_session_cookie_has_the_right_attributes,
);
