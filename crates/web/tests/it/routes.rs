//! Every route is enumerated from the route table: without a session, API routes answer 401
//! problem+json and pages redirect to the sign-in page; only the public routes answer.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use carevault_web::Access;

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;

/// The routes that answer without a session, and nothing else.
const PUBLIC: [(&str, &str); 8] = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/assets/{name}"),
    ("GET", "/favicon.ico"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/openapi.json"),
];

fn concrete(path: &str) -> String {
    path.replace("{name}", "app.css")
        .replace("{id}", "01990000-0000-7000-8000-000000000000")
}

async fn without_a_session_nothing_but_the_public_routes_answers(backend: Backend) {
    let app = TestApp::new(backend).await;
    let table = carevault_web::route_table(app.state.clone());
    assert!(table.len() > PUBLIC.len());
    let public: BTreeSet<_> = table
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        public,
        PUBLIC.into_iter().collect(),
        "the public routes changed: review them"
    );
    for route in table.iter().filter(|r| r.access != Access::Public) {
        let path = concrete(route.path);
        let method: Method = route.method.parse().expect("a method");
        let mut client = app.anonymous();
        let request = client
            .request(method.clone(), &path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("a request");
        let response = client.send(request).await;
        match route.access {
            Access::Api => {
                assert!(path.starts_with("/api/v1/"), "{path}");
                response.problem(StatusCode::UNAUTHORIZED);
            }
            Access::Page => {
                assert_eq!(response.status, StatusCode::SEE_OTHER, "{method} {path}");
                assert!(
                    response.location().is_some_and(|l| l.starts_with("/login")),
                    "{method} {path}"
                );
            }
            Access::Public => unreachable!(),
        }
    }
}

async fn api_routes_and_the_openapi_document_agree(backend: Backend) {
    let app = TestApp::new(backend).await;
    let table = carevault_web::route_table(app.state.clone());
    let routed: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.method.to_lowercase(), r.path.to_owned()))
        .collect();
    let document = app.anonymous().get("/api/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK);
    let document = document.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert_eq!(routed, documented);
    // The access level is declared once, in the route table: an API route that needs a
    // session is documented with the bearer requirement, and one whose action some role lacks
    // documents the 403 that the gate answers such a role.
    for route in table.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        let method = route.method.to_lowercase();
        let operation = &document["paths"][route.path][method.as_str()];
        assert_eq!(
            operation.get("security").is_some(),
            route.access == Access::Api,
            "{method} {}: security",
            route.path
        );
        let refused_to_some_role = route.action.is_some_and(|action| {
            carevault_core::Role::ALL
                .into_iter()
                .any(|role| !carevault_core::policy::grant(role, action).is_possible())
        });
        if refused_to_some_role {
            assert!(
                operation["responses"]["403"].is_object(),
                "{method} {}: no 403",
                route.path
            );
        }
    }
    // The shared error answers are declared once and given to every operation they apply to.
    for name in [
        "Unauthenticated",
        "Unavailable",
        "MalformedBody",
        "InvalidInput",
    ] {
        assert!(
            document["components"]["responses"][name].is_object(),
            "{name} missing from components/responses"
        );
    }
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let responses = &operation["responses"];
            assert!(responses["503"].is_object(), "{method} {path}: no 503");
            if operation.get("security").is_some() {
                assert!(responses["401"].is_object(), "{method} {path}: no 401");
            }
            if operation["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses[status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
        }
    }
    // The readable rendering lists every operation and needs a session.
    let mut admin = app.browser("admin").await;
    let page = admin.get("/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    for (_, path) in &documented {
        assert!(
            page.text().contains(path.as_str()),
            "{path} missing from /api/docs"
        );
    }
    assert!(
        !page.text().contains("<script"),
        "the docs page needs no script"
    );
}

async fn health_probes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    assert_eq!(client.get("/healthz").await.status, StatusCode::OK);
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["database"], "ok");
}

async fn unknown_paths_get_a_friendly_404(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut client = app.anonymous();
    let page = client.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text().contains("Page not found"));
    assert!(page.text().contains("Request id:"));
    client
        .get("/api/v1/no-such-thing")
        .await
        .problem(StatusCode::NOT_FOUND);
    let wrong_method = client.get("/api/v1/auth/login").await;
    wrong_method.problem(StatusCode::METHOD_NOT_ALLOWED);
}

on_all_backends!(
    without_a_session_nothing_but_the_public_routes_answers,
    api_routes_and_the_openapi_document_agree,
    health_probes,
    unknown_paths_get_a_friendly_404,
);
