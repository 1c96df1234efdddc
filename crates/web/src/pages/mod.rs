//! HTML pages. Each handler calls the service and renders an askama template; the shared
//! [`Layout`] gives every page the navigation of the actor's role, the form token and the
//! demo banner.

pub mod account;
pub mod admin;
pub mod audit;
pub mod backups;
pub mod banner;
pub mod billing;
pub mod chart;
pub mod chart_lists;
pub mod clinical;
pub mod dashboard;
pub mod documents;
pub mod emergency;
pub mod encounter_form;
pub mod login;
pub mod notifications;
pub mod nursing;
pub mod patients;
pub mod pharmacy;
pub mod privacy;
pub mod privacy_rights;
pub mod probes;
pub mod scheduling;
pub mod shares;
pub mod summary;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use carevault_core::policy::{Grant, Scope, grant};
use carevault_core::{Action, Role};
use carevault_service::Actor;

use crate::AppState;
use crate::extract::{CurrentActor, FormToken};

/// One entry of the navigation menu.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every signed-in page shows around its content.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub display_name: String,
    pub role_label: &'static str,
    pub nav: Vec<NavItem>,
    pub csrf_token: String,
    pub demo: bool,
    pub notice: Option<&'static str>,
    /// The patient banner, on patient-scoped pages.
    pub banner: Option<banner::BannerView>,
    /// The banner's name is the page's heading (the chart), instead of a separate `<h1>`.
    pub heading_in_banner: bool,
}

impl Layout {
    pub fn new(
        state: &AppState,
        actor: &Actor,
        title: &str,
        current: &str,
        csrf_token: String,
    ) -> Self {
        let role = actor.role();
        Self {
            title: title.to_owned(),
            display_name: actor.display_name().to_owned(),
            role_label: role.map_or("", Role::label),
            nav: navigation(role, current),
            csrf_token,
            demo: state.settings.demo,
            notice: None,
            banner: None,
            heading_in_banner: false,
        }
    }

    pub fn with_notice(mut self, notice: Option<&'static str>) -> Self {
        self.notice = notice;
        self
    }

    /// Shows the patient banner above the page heading.
    pub fn with_banner(mut self, banner: &carevault_service::chart::PatientBanner) -> Self {
        self.banner = Some(banner.into());
        self
    }
}

/// The menu: every page with the policy action that opens it, in menu order. A role sees an
/// entry when the policy grants it the action beyond its own record (a patient's pages are
/// the portal's); the route table gates each page on the same action, and a test checks that
/// no entry leads to a refusal.
pub const MENU: &[(&str, &str, Action)] = &[
    ("/dashboard", "Dashboard", Action::UseAccount),
    ("/patients", "Patients", Action::FindPatients),
    ("/my/patients", "My patients", Action::NursingCare),
    ("/my/day", "My day", Action::ClinicalWorklist),
    ("/schedule", "Schedule", Action::Appointments),
    ("/desk", "Check-in desk", Action::FrontDesk),
    (
        "/appointments/requests",
        "Requests",
        Action::BookAppointments,
    ),
    ("/my/record", "My record", Action::UsePortal),
    ("/my/appointments", "My appointments", Action::UsePortal),
    ("/my/encounters", "My encounters", Action::UsePortal),
    ("/my/prescriptions", "My prescriptions", Action::UsePortal),
    ("/my/documents", "My documents", Action::UsePortal),
    ("/my/sharing", "Sharing", Action::UsePortal),
    ("/my/consents", "Consents and my data", Action::UsePortal),
    ("/staff", "Our doctors", Action::UsePortal),
    ("/staff", "Staff", Action::SeeStaff),
    ("/departments", "Departments", Action::ManageDepartments),
    (
        "/appointments/report",
        "Appointment report",
        Action::OfficeReports,
    ),
    ("/admin/users", "Users", Action::AdministerSystem),
    ("/admin/status", "System status", Action::AdministerSystem),
    (
        "/admin/research-export",
        "Research export",
        Action::AdministerSystem,
    ),
    (
        "/admin/break-glass",
        "Emergency access reviews",
        Action::ReviewEmergencyAccess,
    ),
    ("/admin/retention", "Retention", Action::ManageRetention),
    (
        "/reports/diagnoses",
        "Diagnoses report",
        Action::ClinicalReports,
    ),
    ("/pharmacy", "Pharmacy", Action::ManageStock),
    ("/billing", "Billing", Action::ManageBilling),
    ("/reports/billing", "Billing report", Action::OfficeReports),
    ("/my/bills", "My bills", Action::UsePortal),
    ("/audit", "Audit log", Action::ReadAuditLog),
    (
        "/admin/processing",
        "Records of processing",
        Action::ReadAuditLog,
    ),
    (
        "/account/access-history",
        "Who accessed my record",
        Action::UsePortal,
    ),
    ("/api/docs", "API", Action::ReadApiDocs),
    ("/notifications", "Notifications", Action::UseAccount),
    (
        "/admin/notifications",
        "Notification outbox",
        Action::AdministerSystem,
    ),
    ("/account/password", "Password", Action::UseAccount),
];

/// The menu for a role (see [`MENU`]).
pub fn navigation(role: Option<Role>, current: &str) -> Vec<NavItem> {
    let Some(role) = role else {
        return Vec::new();
    };
    let portal = grant(role, Action::UsePortal).is_possible();
    MENU.iter()
        .filter(|(_, _, action)| match grant(role, *action) {
            Grant::No => false,
            Grant::Scoped(Scope::Own) => *action == Action::UsePortal,
            _ => true,
        })
        // A patient's directory entry is "Our doctors".
        .filter(|(href, label, _)| !(portal && *href == "/staff" && *label == "Staff"))
        .map(|(href, label, _)| NavItem {
            href,
            label,
            current: *href == current,
        })
        .collect()
}

/// A fixed set of notices shown after a redirect (`?notice=…`), so no text from the URL is
/// ever echoed into a page.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "signed-out" => Some("You have signed out."),
        "session-ended" => Some("Your session has ended. Please sign in again."),
        "password-changed" => {
            Some("Your password has been changed. Your other sessions were signed out.")
        }
        "user-created" => Some("The account has been created."),
        "audit-verified" => Some("The audit trail has been verified: it is intact."),
        "audit-verification-failed" => {
            Some("The audit trail was verified and a problem was found: see below.")
        }
        "patient-registered" => Some("The patient has been registered."),
        "patient-updated" => Some("The changes have been saved."),
        "care-team-added" => Some("The care team member has been added."),
        "care-team-removed" => Some("The care team member has been removed."),
        "department-saved" => Some("The department has been saved."),
        "staff-saved" => Some("The staff profile has been saved."),
        "appointment-booked" => Some("The appointment has been booked."),
        "appointment-rescheduled" => Some("The appointment has been moved."),
        "request-accepted" => Some("The request has been accepted and booked."),
        "request-sent" => Some(
            "Your request has been sent. The hospital will confirm a time; the answer shows here.",
        ),
        "status-changed" => Some("The appointment's status has been changed."),
        "emergency-access-granted" => Some(
            "Emergency access granted. Every view is recorded; an administrator will review your reason.",
        ),
        "emergency-access-reviewed" => Some("The review has been recorded."),
        "record-shared" => {
            Some("Your record is shared with the doctor. You can stop it here at any time.")
        }
        "share-stopped" => Some("Sharing has stopped: the doctor no longer sees your record."),
        "invoice-line-added" => Some("The line has been added."),
        "invoice-line-removed" => Some("The line has been removed."),
        "invoice-issued" => Some("The invoice has been issued."),
        "payment-recorded" => Some("The payment has been recorded."),
        "invoice-voided" => Some("The invoice is void."),
        "price-saved" => Some("The price has been saved."),
        "consent-recorded" => Some("The consent has been recorded."),
        "allergy-recorded" => Some("The allergy has been recorded."),
        "no-known-allergies-recorded" => Some("\"No known allergies\" has been recorded."),
        "allergy-status-changed" => Some("The entry's status has been changed."),
        "problem-added" => Some("The problem has been added to the problem list."),
        "problem-status-changed" => Some("The problem's status has been changed."),
        "problem-added-from-diagnosis" => Some("The diagnosis has been added to the problem list."),
        "problem-already-listed" => {
            Some("Not added: this diagnosis (or its code) is already on the active problem list.")
        }
        "problem-encounter-draft" => Some(
            "Not added: the encounter is still a draft. Sign it, then add its diagnoses to the problem list.",
        ),
        "problem-diagnosis-retracted" => {
            Some("Not added: the diagnosis was retracted by an amendment.")
        }
        "triage-recorded" => Some("The triage has been recorded."),
        "nursing-note-added" => Some("The nursing note has been added."),
        "addendum-added" => Some("The addendum has been added."),
        _ => None,
    }
}

/// What every signed-in page handler takes from its request: the application state, the
/// signed-in actor and the session's form token (for the forms the page renders).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub state: AppState,
    pub actor: Actor,
    pub csrf: String,
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = crate::errors::PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentActor(actor) = CurrentActor::from_request_parts(parts, state).await?;
        let FormToken(csrf) = FormToken::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            actor,
            csrf,
        })
    }
}

/// The notice a page shows after a redirect, named by its query's `notice` parameter
/// (see [`notice_in_query`]).
#[derive(Debug, Clone, Copy)]
pub struct QueryNotice(pub Option<&'static str>);

impl<S: Send + Sync> FromRequestParts<S> for QueryNotice {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(notice_in_query(parts.uri.query())))
    }
}

/// The `?notice=…` parameter of a page reached after a redirect (see [`notice`]).
#[derive(Debug, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// The notice named by the `notice` parameter of a query string (`?notice=record-shared`).
pub(crate) fn notice_in_query(raw: Option<&str>) -> Option<&'static str> {
    let code = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "notice")
        .map(|(_, v)| v.into_owned());
    notice(code.as_deref())
}

/// The `from` and `to` dates (`YYYY-MM-DD`) of a report's query string, with their errors:
/// a missing date is `default_from(today)`, and `default_to(from, today)`.
pub(crate) fn report_range(
    state: &crate::AppState,
    raw: Option<&str>,
    default_from: fn(chrono::NaiveDate) -> chrono::NaiveDate,
    default_to: fn(chrono::NaiveDate, chrono::NaiveDate) -> chrono::NaiveDate,
) -> (
    chrono::NaiveDate,
    chrono::NaiveDate,
    carevault_core::ValidationErrors,
) {
    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Params {
        from: String,
        to: String,
    }
    let mut errors = carevault_core::ValidationErrors::new();
    let params: Params = match crate::extract::query_params(raw.unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            errors = e;
            Params::default()
        }
    };
    let today = state.services.clinic_today();
    let mut date = |field: &str, raw: &str, default: chrono::NaiveDate| match raw.trim() {
        "" => default,
        text => errors
            .check(
                field,
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| "must be a date like 2026-03-02".to_owned()),
            )
            .unwrap_or(default),
    };
    let from = date("from", &params.from, default_from(today));
    let to = date("to", &params.to, default_to(from, today));
    (from, to, errors)
}

/// The first day of `today`'s month.
pub(crate) fn month_start(today: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    today.with_day(1).unwrap_or(today)
}

/// A CSV download of `rows` (every cell neutralised) saved as `file_name`, never cached.
pub(crate) fn csv_download<R, C>(
    file_name: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<Response, crate::errors::PageError>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let body = crate::csv_export::csv_rows(rows).map_err(|err| {
        tracing::error!(error = %err, file_name, "a CSV download failed");
        crate::errors::PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, None)
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// `response` with `status` (a form shown again with its errors: 422 or 409).
pub(crate) fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The status of a page shown with the problems of its query: 200, or 422 when there are any.
pub(crate) fn input_status(errors: &carevault_core::ValidationErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A staff screen: a patient's account, which the policy lets reach its own record only, is
/// sent to its own screen `patients_go_to` instead.
pub(crate) fn staff_screen(
    actor: &Actor,
    patients_go_to: &'static str,
) -> Result<(), crate::errors::PageError> {
    if actor.reaches_own_record_only() {
        return Err(crate::errors::PageError::Redirect(patients_go_to));
    }
    Ok(())
}

/// A patient id from the path of a patient-scoped page (surrounding spaces ignored); one that
/// is not an id is the 404 "No such patient.".
pub(crate) fn path_patient_id(
    raw: &str,
) -> Result<carevault_core::PatientId, crate::errors::PageError> {
    raw.trim().parse().map_err(|_| not_found("patient"))
}

/// A 404 page saying "No such <what>." (for ids that do not parse, before the service).
pub(crate) fn not_found(what: &str) -> crate::errors::PageError {
    crate::errors::PageError::Status(
        axum::http::StatusCode::NOT_FOUND,
        Some(format!("No such {what}.")),
    )
}

/// Renders a template into an HTML response.
pub fn render(template: &impl askama::Template) -> Result<Response, crate::errors::PageError> {
    let html = template.render()?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Html(html),
    )
        .into_response())
}

/// "12.3 MiB"-style sizes.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "3 d 4 h 5 min" style.
pub fn format_uptime(uptime: std::time::Duration) -> String {
    let secs = uptime.as_secs();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}
