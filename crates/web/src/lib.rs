//! The HTTP face of Carevault: server-rendered HTML pages (askama), the JSON API under
//! `/api/v1` with its OpenAPI document, and the cross-cutting layers every response passes
//! through (request ids, security headers, sessions, CSRF, error rendering).
//!
//! Handlers are thin: they parse the request, call one service function with the [`Actor`]
//! the session layer established, and render the result. There are no business rules and no
//! SQL here. Every route is registered through [`routes::RouteTable`] with its [`Access`]
//! level, so a route cannot be added without deciding who may call it, and a test can list
//! them all.
//!
//! [`Actor`]: carevault_service::Actor
//! [`Access`]: routes::Access

pub mod api;
pub mod assets;
pub mod audit_query;
pub mod charts;
pub mod csrf;
pub mod csv_export;
pub mod errors;
pub mod extract;
pub mod headers;
pub mod metrics;
pub mod pages;
pub mod pdf;
pub mod problem;
pub mod routes;
pub mod session;
pub mod standby;
pub mod vitals_table;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use carevault_service::Services;

pub use routes::{Access, RouteInfo};

/// Settings of the HTTP layer, resolved from the configuration at start-up.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The URL people use to reach the server (for HSTS and origin checks).
    pub public_url: url::Url,
    /// Send cookies without `Secure` (plain http on localhost only). The cookie name then
    /// loses its `__Host-` prefix, which browsers accept only on secure cookies.
    pub insecure_cookies: bool,
    /// Show the demo banner.
    pub demo: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
}

impl WebSettings {
    /// Settings for a server at `public_url`, with secure defaults.
    pub fn new(public_url: url::Url) -> Self {
        Self {
            public_url,
            insecure_cookies: false,
            demo: false,
            max_body_bytes: 1024 * 1024,
            trust_forwarded_for: false,
        }
    }

    pub fn hsts(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The session cookie's name.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.insecure_cookies {
            "carevault"
        } else {
            "__Host-carevault"
        }
    }

    /// The name of the cookie that carries the sign-in form's nonce.
    pub fn login_cookie_name(&self) -> &'static str {
        if self.insecure_cookies {
            "carevault-login"
        } else {
            "__Host-carevault-login"
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub settings: Arc<WebSettings>,
    pub started: Instant,
    /// The HTTP counters `/metrics` reports (per process).
    pub metrics: Arc<metrics::HttpMetrics>,
}

impl AppState {
    pub fn new(services: Services, settings: WebSettings) -> Self {
        Self {
            services,
            settings: Arc::new(settings),
            started: Instant::now(),
            metrics: Arc::default(),
        }
    }
}

/// The whole application: pages, API, assets and every layer.
pub fn router(state: AppState) -> Router {
    routes::build(state).0
}

/// Every registered route with its access level (for tests and documentation).
pub fn route_table(state: AppState) -> Vec<RouteInfo> {
    routes::build(state).1
}
