//! The route table. Every route is added through [`RouteTable::add`] together with its
//! [`Access`] level; the table wraps it in the matching session layer, so a handler cannot
//! run for a caller the level does not admit. [`build`] returns the router and the list of
//! routes, which a test walks to prove that nothing but the public routes answers without a
//! session.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, delete, get, post};

use crate::{AppState, api, assets, errors, headers, metrics, pages, session};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the sign-in page and form, health probes, static assets, the API's login and
    /// its OpenAPI document.
    Public,
    /// A page for signed-in users: without a session the browser is sent to `/login`;
    /// state-changing requests must pass the CSRF checks.
    Page,
    /// A JSON API route for signed-in users: without a session, 401 problem+json. Writes need
    /// `Authorization: Bearer`; a cookie alone never authorises one.
    Api,
}

/// One registered route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Collects routes and what they admit.
#[derive(Debug)]
pub struct RouteTable {
    state: AppState,
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
}

impl RouteTable {
    fn new(state: AppState) -> Self {
        Self {
            state,
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// The application state (for routes whose layers depend on the configuration).
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// Registers `method_router` (which must serve exactly `methods`) at `path`.
    pub fn add(
        mut self,
        methods: &[&'static str],
        path: &'static str,
        access: Access,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        let guarded = match access {
            Access::Public => method_router,
            Access::Page => method_router.route_layer(from_fn_with_state(
                self.state.clone(),
                session::require_page_session,
            )),
            Access::Api => method_router.route_layer(from_fn_with_state(
                self.state.clone(),
                session::require_api_session,
            )),
        };
        self.router = self.router.route(path, guarded);
        for method in methods {
            self.routes.push(RouteInfo {
                method,
                path,
                access,
            });
        }
        self
    }
}

pub(crate) fn build(state: AppState) -> (Router, Vec<RouteInfo>) {
    use Access::{Api, Page, Public};
    let table = RouteTable::new(state.clone())
        // Probes and assets.
        .add(&["GET"], "/healthz", Public, get(pages::probes::healthz))
        .add(&["GET"], "/readyz", Public, get(pages::probes::readyz))
        .add(&["GET"], "/metrics", Page, get(metrics::serve))
        .add(&["GET"], "/assets/{name}", Public, get(assets::serve))
        .add(&["GET"], "/favicon.ico", Public, get(assets::favicon))
        // Sign-in.
        .add(
            &["GET", "POST"],
            "/login",
            Public,
            get(pages::login::form).post(pages::login::submit),
        )
        .add(&["POST"], "/logout", Page, post(pages::login::logout))
        // Pages.
        .add(&["GET"], "/", Page, get(pages::dashboard::home))
        .add(
            &["GET"],
            "/dashboard",
            Page,
            get(pages::dashboard::dashboard),
        )
        .add(
            &["GET", "POST"],
            "/account/password",
            Page,
            get(pages::account::password_form).post(pages::account::change_password),
        )
        .add(
            &["GET", "POST"],
            "/admin/users",
            Page,
            get(pages::admin::users).post(pages::admin::create_user),
        )
        .add(&["GET"], "/admin/status", Page, get(pages::admin::status))
        .add(
            &["GET", "POST"],
            "/admin/backups",
            Page,
            get(pages::backups::page).post(pages::backups::back_up_now),
        )
        .add(
            &["POST"],
            "/admin/audit/verify",
            Page,
            post(pages::admin::verify_audit_trail),
        )
        .add(&["GET"], "/audit", Page, get(pages::audit::log))
        .add(
            &["GET"],
            "/audit/export.csv",
            Page,
            get(pages::audit::export_csv),
        )
        .add(
            &["GET"],
            "/account/access-history",
            Page,
            get(pages::audit::access_history),
        )
        .add(&["GET"], "/api/docs", Page, get(api::docs::page))
        // Patients.
        .add(&["GET"], "/patients", Page, get(pages::patients::list))
        .add(
            &["GET"],
            "/patients.csv",
            Page,
            get(pages::patients::list_csv),
        )
        .add(
            &["GET", "POST"],
            "/patients/new",
            Page,
            get(pages::patients::new_form).post(pages::patients::register),
        )
        .add(&["GET"], "/patients/{id}", Page, get(pages::chart::show))
        .add(
            &["GET", "POST"],
            "/patients/{id}/edit",
            Page,
            get(pages::patients::edit_form).post(pages::patients::update),
        )
        .add(
            &["POST"],
            "/patients/{id}/care-team",
            Page,
            post(pages::patients::assign_care_team),
        )
        .add(
            &["POST"],
            "/patients/{id}/care-team/{user_id}/remove",
            Page,
            post(pages::patients::remove_care_team),
        )
        .add(
            &["GET"],
            "/patients/{id}/encryption",
            Page,
            get(pages::patients::encryption),
        )
        .add(&["GET"], "/my/record", Page, get(pages::chart::my_record))
        .add(
            &["GET", "POST"],
            "/admin/research-export",
            Page,
            get(pages::patients::research_export_form).post(pages::patients::research_export),
        )
        // JSON API.
        .add(
            &["GET"],
            "/api/openapi.json",
            Public,
            get(api::docs::openapi_json),
        )
        .add(
            &["POST"],
            "/api/v1/auth/login",
            Public,
            post(api::auth::login),
        )
        .add(
            &["POST"],
            "/api/v1/auth/logout",
            Api,
            post(api::auth::logout),
        )
        .add(&["GET"], "/api/v1/auth/me", Api, get(api::auth::me))
        .add(
            &["GET"],
            "/api/v1/system/status",
            Api,
            get(api::system::status),
        )
        .add(
            &["GET"],
            "/api/v1/audit/events",
            Api,
            get(api::audit::events),
        )
        .add(
            &["GET"],
            "/api/v1/audit/export.csv",
            Api,
            get(api::audit::export_csv),
        )
        .add(
            &["GET"],
            "/api/v1/audit/checkpoint",
            Api,
            get(api::audit::checkpoint),
        )
        .add(
            &["GET"],
            "/api/v1/audit/proof/inclusion",
            Api,
            get(api::audit::inclusion_proof),
        )
        .add(
            &["GET"],
            "/api/v1/audit/proof/consistency",
            Api,
            get(api::audit::consistency_proof),
        )
        .add(
            &["GET", "POST"],
            "/api/v1/patients",
            Api,
            get(api::patients::list).post(api::patients::register),
        )
        .add(
            &["GET", "PATCH"],
            "/api/v1/patients/{id}",
            Api,
            get(api::patients::get_one).patch(api::patients::patch),
        )
        .add(
            &["GET"],
            "/api/v1/patients/{id}/chart",
            Api,
            get(api::chart::chart),
        )
        .add(
            &["GET", "POST"],
            "/api/v1/patients/{id}/care-team",
            Api,
            get(api::patients::care_team).post(api::patients::assign_care_team_member),
        )
        .add(
            &["DELETE"],
            "/api/v1/patients/{id}/care-team/{user_id}",
            Api,
            delete(api::patients::remove_care_team_member),
        )
        .add(
            &["GET"],
            "/api/v1/me/patient",
            Api,
            get(api::patients::my_record),
        );
    let table = pages::scheduling::routes(table);
    let table = api::scheduling::routes(table);
    let table = pages::emergency::routes(table);
    let table = pages::shares::routes(table);
    let table = pages::summary::routes(table);
    let table = api::emergency::routes(table);
    let table = api::shares::routes(table);
    let table = api::privacy::routes(table);
    let table = pages::privacy::routes(table);
    let table = api::subject_access::routes(table);
    let table = pages::privacy_rights::routes(table);
    let table = api::documents::routes(table);
    let table = pages::documents::routes(table);
    let table = api::clinical::routes(table);
    let table = api::chart_lists::routes(table);
    let table = pages::chart_lists::routes(table);
    let table = api::pharmacy::routes(table);
    let table = api::billing::routes(table);
    let table = pages::billing::routes(table);
    let table = api::notifications::routes(table);
    let table = pages::notifications::routes(table);
    let table = pages::pharmacy::routes(table);
    let table = pages::clinical::routes(table);
    let table = api::nursing::routes(table);
    let table = pages::nursing::routes(table);

    let RouteTable { router, routes, .. } = table;
    let max_body = state.settings.max_body_bytes;
    let router = router
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            errors::panic_response,
        ))
        .layer(from_fn_with_state(state.clone(), errors::render_errors))
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .layer(from_fn(headers::request_context))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state);
    (router, routes)
}
