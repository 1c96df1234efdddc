//! Administration pages and API: who may see them.

use axum::http::StatusCode;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

async fn only_admins_see_the_status_page_and_api(backend: Backend) {
    let app = TestApp::new(backend.clone()).await;
    let expected_backend = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
        Backend::MySql(_) => "MariaDB/MySQL",
    };
    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/status").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(expected_backend), "{html}");
    assert!(html.contains("m20261122_000001_foundation"));
    assert!(html.contains("Uptime"));

    let status = app
        .api_client("admin")
        .await
        .get("/api/v1/system/status")
        .await;
    assert_eq!(status.status, StatusCode::OK);
    let body = status.json();
    assert_eq!(body["database_backend"], expected_backend);
    assert_eq!(body["migrations_pending"].as_array().map(Vec::len), Some(0));
    assert_eq!(body["accounts"], 7);

    for username in ["drsmith", "nurse", "reception", "pharma", "john", "auditor"] {
        let mut client = app.browser(username).await;
        assert_eq!(
            client.get("/admin/status").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        assert_eq!(
            client.get("/admin/users").await.status,
            StatusCode::FORBIDDEN,
            "{username}"
        );
        let response = client
            .post_form(
                "/admin/users",
                &[
                    ("username", "eve"),
                    ("display_name", "Eve"),
                    ("role", "admin"),
                    ("password", "eve-password"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{username}");
        app.api_client(username)
            .await
            .get("/api/v1/system/status")
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    let operator = app.services.console_operator();
    assert!(
        app.services
            .list_accounts(&operator)
            .await
            .expect("accounts")
            .iter()
            .all(|a| a.username.as_str() != "eve")
    );
}

async fn admins_list_and_create_accounts(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let page = admin.get("/admin/users").await;
    assert_eq!(page.status, StatusCode::OK);
    for username in [
        "admin",
        "drsmith",
        "nurse",
        "reception",
        "pharma",
        "john",
        "auditor",
    ] {
        assert!(page.text().contains(&format!("<code>{username}</code>")));
    }
    assert!(!page.text().contains("$argon2"), "never a password hash");
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "DrJones"),
                ("display_name", "Dr. Ian Jones"),
                ("role", "doctor"),
                ("password", "jones-password"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        Some("/admin/users?notice=user-created")
    );
    let page = admin.get("/admin/users?notice=user-created").await;
    assert!(
        page.text().contains("<code>drjones</code>"),
        "usernames are stored in lowercase"
    );
    assert!(page.text().contains("The account has been created."));
}

on_all_backends!(
    only_admins_see_the_status_page_and_api,
    admins_list_and_create_accounts
);
