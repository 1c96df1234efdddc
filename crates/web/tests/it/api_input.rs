//! Bad input gets a 4xx problem+json with a useful message; never a 500.

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn bad_json_bodies_get_useful_problems(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let send = |body: &'static str, content_type: &'static str| {
        client
            .request(Method::POST, "/api/v1/auth/login")
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("a request")
    };
    let cases = [
        // Malformed JSON.
        (
            send(r#"{"username": "admin", "password": "#, "application/json"),
            StatusCode::BAD_REQUEST,
            None,
        ),
        // Wrong content type.
        (
            send(
                r#"{"username":"admin","password":"admin123"}"#,
                "text/plain",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        // Unknown field.
        (
            send(
                r#"{"username":"admin","password":"admin123","role":"admin"}"#,
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("role"),
        ),
        // Missing field.
        (
            send(r#"{"username":"admin"}"#, "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password"),
        ),
        // Wrong type.
        (
            send(
                r#"{"username":42,"password":"admin123"}"#,
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("username"),
        ),
        // Not an object.
        (
            send(r#"[1,2,3]"#, "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    ];
    for (request, status, field) in cases {
        let response = client.send(request).await;
        let problem = response.problem(status);
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            assert_eq!(
                problem["errors"][0]["pointer"],
                format!("/{field}"),
                "{problem}"
            );
        }
    }
}

async fn an_over_long_username_is_a_field_error(backend: Backend) {
    let app = TestApp::new(backend).await;
    let long = "a".repeat(65);
    let problem = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": long, "password": "whatever1"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "username");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("at most 64"))
    );
    // An empty password is a field error too.
    let problem = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "admin", "password": ""}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "password");
}

async fn an_oversized_body_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let huge = format!(
        r#"{{"username":"admin","password":"{}"}}"#,
        "x".repeat(200 * 1024)
    );
    let mut client = app.anonymous();
    let request = client
        .request(Method::POST, "/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(huge.clone()))
        .expect("request");
    client
        .send(request)
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE);
    // The same for a page form.
    let mut browser = app.browser("admin").await;
    let token = browser.form_token.clone().expect("token");
    let response = browser
        .post_form_raw(
            "/account/password",
            &[("csrf_token", &token), ("new_password", &huge)],
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().contains("Request id:"));
}

async fn account_creation_validates_every_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let long = "n".repeat(300);
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "x"),
                ("display_name", &long),
                ("role", "superuser"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text();
    for id in [
        "username-error",
        "display_name-error",
        "role-error",
        "password-error",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    // A taken username is a conflict shown next to the field.
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "drsmith"),
                ("display_name", "Another"),
                ("role", "doctor"),
                ("password", "long-enough-1"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().contains("Username is already taken."));
    let operator = app.services.console_operator();
    assert_eq!(
        app.services
            .list_accounts(&operator)
            .await
            .expect("accounts")
            .len(),
        7,
        "nothing written"
    );
}

/// Where the document says a query parameter is an id, a closed list or a number, the API
/// refuses an empty value (the pages' forms send those for "no filter"; the API does not).
async fn empty_ids_and_filters_are_refused_by_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.api_client("admin").await;
    for (path, field) in [
        ("/api/v1/audit/events?actor=", "actor"),
        ("/api/v1/audit/export.csv?outcome=", "outcome"),
        ("/api/v1/invoices?patient_id=", "patient_id"),
        ("/api/v1/notifications?recipient=", "recipient"),
        ("/api/v1/notifications?status=bogus", "status"),
        ("/api/v1/break-glass?status=", "status"),
        ("/api/v1/appointments?clinician=", "clinician"),
        ("/api/v1/patients?page=", "page"),
        ("/api/v1/patients?page=9223372036854775808", "page"),
    ] {
        let problem = admin
            .get(path)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    // The same filters, given, still work.
    let page = admin
        .get("/api/v1/audit/events?outcome=allowed&limit=1")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = admin.get("/api/v1/patients?page=2&per_page=5").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
}

on_all_backends!(
    bad_json_bodies_get_useful_problems,
    empty_ids_and_filters_are_refused_by_the_api,
    an_over_long_username_is_a_field_error,
    an_oversized_body_is_refused,
    account_creation_validates_every_field,
);
