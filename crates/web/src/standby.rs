//! Serving before the database answers. `carevault serve` started while its database server
//! (PostgreSQL, MariaDB) is down does not exit: it binds its port at once and answers through
//! a [`Standby`] until the database answers, then hands every request to the application.
//! Until then:
//! - `/healthz` is 200 (the process is alive) and `/readyz` 503 (it cannot serve);
//! - the API answers a 503 `unavailable` problem with `Retry-After`;
//! - every page is the friendly "Database unavailable" page (503, `Retry-After`), styled by
//!   the embedded assets, which are served as usual;
//! - every response has the usual security headers and a request id.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use crate::headers::{RequestId, X_REQUEST_ID, apply_security_headers};
use crate::problem::Problem;
use crate::{WebSettings, assets};

/// Seconds a client is asked to wait before trying again.
const RETRY_AFTER_SECONDS: &str = "5";

/// The application once it exists, and the standby answers until then.
#[derive(Clone)]
pub struct Standby {
    app: Arc<OnceLock<Router>>,
    settings: Arc<WebSettings>,
}

impl std::fmt::Debug for Standby {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standby")
            .field("ready", &self.app.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Standby {
    /// A standby answering with `settings`' headers (HSTS) and demo banner.
    pub fn new(settings: WebSettings) -> Standby {
        Standby {
            app: Arc::new(OnceLock::new()),
            settings: Arc::new(settings),
        }
    }

    /// From now on every request goes to `app`. Only the first call counts.
    pub fn ready(&self, app: Router) {
        let _ = self.app.set(app);
    }

    /// The router to serve: the application when it is ready, the standby answers before.
    pub fn router(&self) -> Router {
        let standby = self.clone();
        Router::new().fallback(move |request: Request| {
            let standby = standby.clone();
            async move { standby.answer(request).await }
        })
    }

    async fn answer(&self, request: Request) -> Response {
        if let Some(app) = self.app.get() {
            return match app.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        let path = request.uri().path().to_owned();
        let request_id = RequestId(uuid::Uuid::now_v7().to_string());
        let mut response = if let Some(name) = path.strip_prefix("/assets/") {
            assets::serve(axum::extract::Path(name.to_owned())).await
        } else if path == "/favicon.ico" {
            assets::favicon().await
        } else if path == "/healthz" {
            axum::Json(serde_json::json!({ "status": "ok" })).into_response()
        } else if path == "/readyz" {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "status": "unavailable",
                    "database": "unreachable",
                    "checks": { "database": "unreachable" },
                })),
            )
                .into_response()
        } else if crate::errors::is_api_path(&path) {
            let mut problem = Problem::for_status(StatusCode::SERVICE_UNAVAILABLE)
                .with_detail("The database cannot be reached yet. Try again shortly.");
            problem.request_id = Some(request_id.0.clone());
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                Body::from(serde_json::to_vec(&problem).unwrap_or_default()),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            response
        } else {
            let html = crate::errors::unavailable_page(&request_id.0, self.settings.demo);
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, html).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        };
        let refused = response.status() == StatusCode::SERVICE_UNAVAILABLE && path != "/readyz";
        let headers = response.headers_mut();
        if refused {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if let Ok(value) = HeaderValue::from_str(&request_id.0) {
            headers.insert(X_REQUEST_ID.clone(), value);
        }
        apply_security_headers(headers, path.starts_with("/assets/"), self.settings.hsts());
        response
    }
}
