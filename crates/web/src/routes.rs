//! The route table. Every route is added through [`RouteTable`] together with its [`Access`]
//! level and, for each method, the policy [`Action`] it performs; the table wraps it in the
//! matching session layer and in a gate that refuses (403, recorded in the audit trail) a role
//! the policy gives no grant for that action, before the handler or its extractors run. The
//! use case then asks the policy again for the record in question.
//!
//! Pages are added with [`RouteTable::page`], [`RouteTable::form_post`] and
//! [`RouteTable::page_with_form`] (action, path, handlers), or with [`RouteTable::add`]
//! (methods with their actions, path, access, method router) for the rest. An API operation
//! is added with [`RouteTable::api`]: its method and path are read from the handler's
//! `#[utoipa::path]` (through `utoipa_axum::routes!`), and its OpenAPI entry is collected here,
//! so the document served at `/api/openapi.json` lists exactly what the table routed.
//! [`build`] returns the router and the list of routes, which tests walk: nothing but the
//! public routes answers without a session, and every route answers every role as the
//! policy says (`tests/it/route_policy.rs`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use carevault_core::Action;
use carevault_core::audit::ResourceType;
use carevault_service::Actor;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Operation, PathItem, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use crate::errors::PageError;
use crate::problem::ApiError;
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
    /// What the route does, in the policy's terms (`None` for public routes).
    pub action: Option<Action>,
}

/// Collects routes and what they admit, and the OpenAPI entries of the API operations.
pub struct RouteTable {
    state: AppState,
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
    /// The paths of the API operations added so far, and the schemas they name.
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// What the gate of one route knows.
#[derive(Clone)]
struct Gate {
    state: AppState,
    access: Access,
    path: &'static str,
    actions: Arc<[(&'static str, Action)]>,
}

/// Refuses a signed-in actor whose role has no grant for the route's action. A method the
/// route does not declare (axum answers HEAD with the GET handler) is judged as its GET, and
/// one with no action at all is refused: the gate fails closed.
async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let method = match request.method().as_str() {
        "HEAD" => "GET",
        other => other,
    };
    let action = gate
        .actions
        .iter()
        .find(|(declared, _)| *declared == method)
        .map(|(_, action)| *action)
        .unwrap_or(Action::AdministerSystem);
    let Some(actor) = request.extensions().get::<Actor>() else {
        return next.run(request).await;
    };
    // The record asked for, if the path names one (an id fits the audit's column; the
    // request id links the refusal to the request's log line).
    let record = request
        .uri()
        .path()
        .split('/')
        .find(|segment| uuid::Uuid::try_parse(segment).is_ok())
        .map(str::to_owned);
    match gate
        .state
        .services
        .authorize_route(actor, action, resource_of(gate.path), record)
        .await
    {
        Ok(()) => next.run(request).await,
        Err(err) => match gate.access {
            Access::Page => PageError::from(err).into_response(),
            _ => ApiError::from(err).into_response(),
        },
    }
}

/// What a route is about, for the audit record of a refusal: the last noun of its path that
/// names a kind of resource (so an auditor filtering refusals by resource finds it).
fn resource_of(path: &str) -> ResourceType {
    use ResourceType as R;
    path.rsplit('/')
        .find_map(|segment| {
            Some(
                match segment.trim_end_matches(".csv").trim_end_matches(".pdf") {
                    "allergies" => R::Allergy,
                    "problems" | "problem" => R::Problem,
                    "documents" | "download" | "thumbnail" => R::Document,
                    "nursing-notes" | "triage" => R::NursingNote,
                    "break-glass" => R::EmergencyAccess,
                    "shares" | "sharing" => R::RecordShare,
                    "prescriptions" | "dispensations" | "dispensing" => R::Prescription,
                    "vitals" => R::Vitals,
                    "encounters" | "amend" | "amendments" | "addenda" | "notes" | "diagnoses" => {
                        R::Encounter
                    }
                    "appointments" | "schedule" | "desk" | "day" | "requests" | "start"
                    | "availability" => R::Appointment,
                    "invoices" | "billing" | "bills" | "payments" | "lines" => R::Invoice,
                    "prices" => R::PriceList,
                    "drugs" | "pharmacy" | "receipts" | "batches" => R::Drug,
                    "stock" | "adjustments" => R::Stock,
                    "departments" => R::Department,
                    "staff" => R::StaffProfile,
                    "audit" | "events" | "processing" | "access-history" | "checkpoint"
                    | "proof" => R::AuditLog,
                    "notifications" | "follow-ups" => R::Notification,
                    "users" => R::Account,
                    "legal-holds" | "holds" => R::LegalHold,
                    "patients" | "record" | "patient" | "chart" | "care-team" | "consents"
                    | "erase" | "erasure" | "access-export" | "summary" | "clinical" => R::Patient,
                    _ => return None,
                },
            )
        })
        .unwrap_or(R::System)
}

impl RouteTable {
    fn new(state: AppState) -> Self {
        Self {
            state,
            router: Router::new(),
            routes: Vec::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }

    /// The application state (for routes whose layers depend on the configuration).
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// Registers `method_router` (which must serve exactly the methods of `actions`) at
    /// `path`; each method names the policy action it performs. For pages and the other
    /// routes outside the OpenAPI document; API operations use [`RouteTable::api`].
    pub fn add(
        self,
        actions: &'static [(&'static str, Action)],
        path: &'static str,
        access: Access,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        assert!(
            !path.starts_with("/api/v1/"),
            "{path}: an API operation is added with RouteTable::api"
        );
        self.register(actions.into(), path, access, method_router)
    }

    /// Registers a page for signed-in users at `path`: `show` answers `GET`, performing
    /// `action`.
    pub fn page<H, T>(self, action: Action, path: &'static str, show: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.page_route(vec![("GET", action)], path, get(show))
    }

    /// Registers a form's target for signed-in users at `path`: `submit` answers `POST`,
    /// performing `action`.
    pub fn form_post<H, T>(self, action: Action, path: &'static str, submit: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.page_route(vec![("POST", action)], path, post(submit))
    }

    /// Registers a page with its own form at `path`: `show` answers `GET` and `submit`
    /// answers `POST`, both performing `action`.
    pub fn page_with_form<H, T, S, U>(
        self,
        action: Action,
        path: &'static str,
        show: H,
        submit: S,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
        S: Handler<U, AppState>,
        U: 'static,
    {
        let actions = vec![("GET", action), ("POST", action)];
        self.page_route(actions, path, get(show).post(submit))
    }

    /// Registers a page route ([`Access::Page`]) whose methods perform `actions`.
    fn page_route(
        self,
        actions: Vec<(&'static str, Action)>,
        path: &'static str,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        assert!(
            !path.starts_with("/api/v1/"),
            "{path}: an API operation is added with RouteTable::api"
        );
        self.register(actions.into(), path, Access::Page, method_router)
    }

    /// Registers an API operation for signed-in callers ([`Access::Api`]) that performs
    /// `action`. `operation` is `routes!(handler)`: the method(s) and path come from the
    /// handler's `#[utoipa::path]`, and its OpenAPI entry (with the schemas it names and the
    /// bearer security requirement that the access level implies) goes into the document.
    pub fn api(self, action: Action, operation: UtoipaMethodRouter<AppState>) -> Self {
        self.operation(Access::Api, action, operation)
    }

    /// Registers an API operation anyone may call ([`Access::Public`]: the sign-in).
    pub fn public_api(self, operation: UtoipaMethodRouter<AppState>) -> Self {
        self.operation(Access::Public, Action::UseAccount, operation)
    }

    fn operation(
        mut self,
        access: Access,
        action: Action,
        (schemas, mut paths, method_router): UtoipaMethodRouter<AppState>,
    ) -> Self {
        let mut declared = paths.paths.iter_mut();
        let (Some((path, item)), None) = (declared.next(), declared.next()) else {
            panic!("an API operation is declared at exactly one path");
        };
        let path = intern(path);
        let mut actions = Vec::new();
        for (method, operation) in operations_mut(item) {
            // The access level is written here, not in the declaration: an operation that
            // needs a session says so in the document.
            match access {
                Access::Api => {
                    operation.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                    api::responses::refused(operation, action);
                }
                _ => assert!(
                    operation.security.is_none(),
                    "{method} {path}: a public operation needs no security"
                ),
            }
            actions.push((method, action));
        }
        assert!(!actions.is_empty(), "{path}: an operation without a method");
        self.paths.merge(paths);
        self.schemas.extend(schemas);
        self.register(actions.into(), path, access, method_router)
    }

    fn register(
        mut self,
        actions: Arc<[(&'static str, Action)]>,
        path: &'static str,
        access: Access,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        let gated = |router: MethodRouter<AppState>| {
            router.route_layer(from_fn_with_state(
                Gate {
                    state: self.state.clone(),
                    access,
                    path,
                    actions: actions.clone(),
                },
                gate,
            ))
        };
        let guarded = match access {
            Access::Public => method_router,
            Access::Page => gated(method_router).route_layer(from_fn_with_state(
                self.state.clone(),
                session::require_page_session,
            )),
            Access::Api => gated(method_router).route_layer(from_fn_with_state(
                self.state.clone(),
                session::require_api_session,
            )),
        };
        self.router = self.router.route(path, guarded);
        for (method, action) in actions.iter() {
            self.routes.push(RouteInfo {
                method,
                path,
                access,
                action: (access != Access::Public).then_some(*action),
            });
        }
        self
    }
}

/// The operations a path item declares, with their HTTP methods as the gate and
/// [`RouteInfo`] name them.
fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("GET", &mut item.get),
        ("PUT", &mut item.put),
        ("POST", &mut item.post),
        ("DELETE", &mut item.delete),
        ("OPTIONS", &mut item.options),
        ("HEAD", &mut item.head),
        ("PATCH", &mut item.patch),
        ("TRACE", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
    .collect()
}

/// A path read from an OpenAPI declaration, kept for the life of the process like the paths
/// written as literals (each distinct path is stored once, however often the table is built).
fn intern(path: &str) -> &'static str {
    static PATHS: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut paths = PATHS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = paths.get(path) {
        return known;
    }
    let leaked: &'static str = Box::leak(path.to_owned().into_boxed_str());
    paths.insert(leaked);
    leaked
}

pub(crate) fn build(state: AppState) -> (Router, Vec<RouteInfo>) {
    use Access::Public;
    let table = RouteTable::new(state.clone())
        // Probes and assets.
        .add(
            &[("GET", Action::UseAccount)],
            "/healthz",
            Public,
            get(pages::probes::healthz),
        )
        .add(
            &[("GET", Action::UseAccount)],
            "/readyz",
            Public,
            get(pages::probes::readyz),
        )
        .page(Action::AdministerSystem, "/metrics", metrics::serve)
        .add(
            &[("GET", Action::UseAccount)],
            "/assets/{name}",
            Public,
            get(assets::serve),
        )
        .add(
            &[("GET", Action::UseAccount)],
            "/favicon.ico",
            Public,
            get(assets::favicon),
        )
        // Sign-in.
        .add(
            &[("GET", Action::UseAccount), ("POST", Action::UseAccount)],
            "/login",
            Public,
            get(pages::login::form).post(pages::login::submit),
        )
        .form_post(Action::UseAccount, "/logout", pages::login::logout)
        // Pages.
        .page(Action::UseAccount, "/", pages::dashboard::home)
        .page(
            Action::UseAccount,
            "/dashboard",
            pages::dashboard::dashboard,
        )
        .page_with_form(
            Action::UseAccount,
            "/account/password",
            pages::account::password_form,
            pages::account::change_password,
        )
        .page_with_form(
            Action::AdministerSystem,
            "/admin/users",
            pages::admin::users,
            pages::admin::create_user,
        )
        .page(
            Action::AdministerSystem,
            "/admin/status",
            pages::admin::status,
        )
        .page_with_form(
            Action::AdministerSystem,
            "/admin/backups",
            pages::backups::page,
            pages::backups::back_up_now,
        )
        .form_post(
            Action::AdministerSystem,
            "/admin/audit/verify",
            pages::admin::verify_audit_trail,
        )
        .page(Action::ReadAuditLog, "/audit", pages::audit::log)
        .page(
            Action::ReadAuditLog,
            "/audit/export.csv",
            pages::audit::export_csv,
        )
        .page(
            Action::UsePortal,
            "/account/access-history",
            pages::audit::access_history,
        )
        .page(Action::ReadApiDocs, "/api/docs", api::docs::page)
        // Patients.
        .page(Action::FindPatients, "/patients", pages::patients::list)
        .page(
            Action::FindPatients,
            "/patients.csv",
            pages::patients::list_csv,
        )
        .page_with_form(
            Action::RegisterPatients,
            "/patients/new",
            pages::patients::new_form,
            pages::patients::register,
        )
        .page(Action::SeeIdentity, "/patients/{id}", pages::chart::show)
        .page_with_form(
            Action::EditRecord,
            "/patients/{id}/edit",
            pages::patients::edit_form,
            pages::patients::update,
        )
        .form_post(
            Action::ManageCareTeam,
            "/patients/{id}/care-team",
            pages::patients::assign_care_team,
        )
        .form_post(
            Action::ManageCareTeam,
            "/patients/{id}/care-team/{user_id}/remove",
            pages::patients::remove_care_team,
        )
        .page(
            Action::AdministerSystem,
            "/patients/{id}/encryption",
            pages::patients::encryption,
        )
        .page(Action::UsePortal, "/my/record", pages::chart::my_record)
        .page_with_form(
            Action::AdministerSystem,
            "/admin/research-export",
            pages::patients::research_export_form,
            pages::patients::research_export,
        )
        // JSON API.
        .add(
            &[("GET", Action::UseAccount)],
            "/api/openapi.json",
            Public,
            get(api::docs::openapi_json),
        )
        .public_api(routes!(api::auth::login))
        .api(Action::UseAccount, routes!(api::auth::logout))
        .api(Action::UseAccount, routes!(api::auth::me))
        .api(Action::AdministerSystem, routes!(api::system::status))
        .api(Action::ReadAuditLog, routes!(api::audit::events))
        .api(Action::ReadAuditLog, routes!(api::audit::export_csv))
        .api(Action::ReadAuditLog, routes!(api::audit::checkpoint))
        .api(Action::ReadAuditLog, routes!(api::audit::inclusion_proof))
        .api(Action::ReadAuditLog, routes!(api::audit::consistency_proof))
        .api(Action::FindPatients, routes!(api::patients::list))
        .api(Action::RegisterPatients, routes!(api::patients::register))
        .api(Action::SeeIdentity, routes!(api::patients::get_one))
        .api(Action::EditRecord, routes!(api::patients::patch))
        .api(Action::SeeIdentity, routes!(api::chart::chart))
        .api(Action::SeeCareTeam, routes!(api::patients::care_team))
        .api(
            Action::ManageCareTeam,
            routes!(api::patients::assign_care_team_member),
        )
        .api(
            Action::ManageCareTeam,
            routes!(api::patients::remove_care_team_member),
        )
        .api(Action::UsePortal, routes!(api::patients::my_record));
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

    let RouteTable {
        router,
        routes,
        paths,
        schemas,
        ..
    } = table;
    let document = api::docs::ApiDocument::assemble(paths, schemas);
    let max_body = state.settings.max_body_bytes;
    let router = router
        .fallback(errors::not_found)
        .layer(Extension(document))
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
