//! Regression tests for defects found in review: each would have been a bypass, a 500 or a
//! leak.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn count_events(app: &TestApp, action: &str) -> i64 {
    let db = Database::connect(app.database_url.as_str())
        .await
        .expect("db");
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"),
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn concurrent_guesses_cannot_exceed_the_limit(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let router = app.router.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let request = axum::http::Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"username":"nurse","password":"guess-guess"}"#,
                ))
                .expect("request");
            router.oneshot(request).await.expect("response").status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    let verified = count_events(&app, "sign_in_failed").await;
    assert_eq!(verified, 10, "exactly the first ten guesses are checked");
    assert_eq!(
        verified + count_events(&app, "sign_in_throttled").await,
        40,
        "every attempt is recorded once"
    );
    // Ten guesses were checked: even the right password is refused until the window passes.
    let mut client = app.anonymous();
    let ok = serde_json::json!({"username": "nurse", "password": "nurse123"});
    client
        .post_json("/api/v1/auth/login", &ok)
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        client.post_json("/api/v1/auth/login", &ok).await.status,
        StatusCode::OK
    );
}

async fn sign_in_never_redirects_off_site_and_never_fails_on_a_strange_next(backend: Backend) {
    let app = TestApp::new(backend).await;
    for next in [
        "/\t/evil.example",
        "/\\evil.example",
        "/\n",
        "/%0a",
        " /x",
        "/ok?x=1",
    ] {
        let mut client = app.anonymous();
        let page = client.get("/login").await;
        let nonce = crate::harness::hidden_field(&page.text(), "nonce").expect("nonce");
        let response = client
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
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "next={next:?}: {}",
            response.text()
        );
        let location = response.location().expect("a location");
        let expected = if next == "/%0a" || next == "/ok?x=1" {
            next
        } else {
            "/dashboard"
        };
        assert_eq!(location, expected, "next={next:?}");
        // Signed in, the form page redirects the same way.
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let again = client.get(&format!("/login?next={encoded}")).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(again.location(), Some(expected));
    }
}

async fn control_characters_in_a_username_are_a_field_error(backend: Backend) {
    let app = TestApp::new(backend).await;
    let problem = app
        .anonymous()
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "adm\u{0}in", "password": "whatever1"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "username");
    let mut auditor = app.api_client("auditor").await;
    let response = auditor.get("/api/v1/audit/events?patient=ANON_1%00").await;
    assert!(
        response.status.is_client_error() || response.status == StatusCode::OK,
        "{}",
        response.text()
    );
}

async fn only_uuid_request_ids_are_taken_from_the_caller(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let request = |client: &crate::harness::Client<'_>, id: &str| {
        client
            .request(Method::GET, "/healthz")
            .header("x-request-id", id)
            .body(Body::empty())
            .expect("request")
    };
    let free_text = request(&client, "John Smith 1970-01-01");
    let free_text = client.send(free_text).await;
    assert_ne!(
        free_text.header("x-request-id"),
        Some("John Smith 1970-01-01")
    );
    let uuid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let kept = request(&client, uuid);
    let kept = client.send(kept).await;
    assert_eq!(kept.header("x-request-id"), Some(uuid));
}

async fn readyz_answers_503_json_when_the_database_is_gone(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.services.close().await;
    let response = app.anonymous().get("/readyz").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["database"], "unreachable");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
}

async fn trailing_characters_after_json_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let request = client
        .request(Method::POST, "/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"username":"admin","password":"admin123"} trailing"#,
        ))
        .expect("request");
    client.send(request).await.problem(StatusCode::BAD_REQUEST);
}

async fn account_and_session_events_are_recorded(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.session_idle_timeout = Duration::from_secs(120))
        .build()
        .await;
    // Session expiry.
    let mut nurse = app.api_client("nurse").await;
    app.clock.advance(Duration::from_secs(121));
    nurse
        .get("/api/v1/auth/me")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(count_events(&app, "session_expired").await, 1);
    // Own password change, reset by the operator, disabling.
    let mut doctor = app.browser("drsmith").await;
    let changed = doctor
        .post_form(
            "/account/password",
            &[
                ("current_password", "doctor123"),
                ("new_password", "new-passphrase"),
                ("confirm_password", "new-passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(count_events(&app, "password_changed").await, 1);
    let operator = app.services.console_operator();
    app.services
        .reset_password(
            &operator,
            "reception",
            secrecy::SecretString::from("another-passphrase"),
        )
        .await
        .expect("reset");
    assert_eq!(count_events(&app, "password_reset").await, 1);
    app.services
        .disable_account(&operator, "pharma")
        .await
        .expect("disable");
    assert_eq!(count_events(&app, "account_disabled").await, 1);
    // Throttled sign-in.
    let mut client = app.anonymous();
    for _ in 0..10 {
        client
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"username": "john", "password": "wrong-pass"}),
            )
            .await;
    }
    client
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "john", "password": "patient123"}),
        )
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(count_events(&app, "sign_in_throttled").await, 1);
    let report = app.services.verify_audit_trail(true).await.expect("verify");
    assert!(report.ok, "{report:?}");
}

async fn audit_access_is_refused_before_parameters_are_read(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut doctor = app.api_client("drsmith").await;
    for path in [
        "/api/v1/audit/events?action=bogus",
        "/api/v1/audit/export.csv?nonsense=1",
        "/api/v1/audit/proof/inclusion?index=x",
        "/api/v1/audit/proof/consistency",
    ] {
        doctor.get(path).await.problem(StatusCode::FORBIDDEN);
    }
    let mut browser = app.browser("nurse").await;
    assert_eq!(
        browser.get("/audit?action=bogus").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count_events(&app, "access_denied").await, 5);
}

on_all_backends!(
    concurrent_guesses_cannot_exceed_the_limit,
    sign_in_never_redirects_off_site_and_never_fails_on_a_strange_next,
    control_characters_in_a_username_are_a_field_error,
    only_uuid_request_ids_are_taken_from_the_caller,
    readyz_answers_503_json_when_the_database_is_gone,
    trailing_characters_after_json_are_refused,
    account_and_session_events_are_recorded,
    audit_access_is_refused_before_parameters_are_read,
);
