//! The audit trail's pages: the audit log with its filters, paging and CSV download
//! (administrators and auditors), and "Who accessed my record" (patients). Who may see what
//! is the service's decision; these handlers only parse, call and render.

use askama::Template;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_core::{Role, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::audit_log::{AuditEntry, AuditPage};
use serde::Deserialize;

use crate::audit_query::{AuditEventsParams, AuditExportParams, DEFAULT_LIMIT};
use crate::csv_export::{actor_label, audit_csv_response};
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::{Layout, PageRequest, render};

/// A stored role name as people read it ("Administrator"); empty for no role.
pub fn role_label(role: Option<&str>) -> String {
    match role {
        Some(text) => text
            .parse::<Role>()
            .map(|r| r.label().to_owned())
            .unwrap_or_else(|_| text.to_owned()),
        None => String::new(),
    }
}

/// What an action means, in words a patient understands.
pub fn action_label(action: &str) -> String {
    let Some(action) = AuditAction::parse(action) else {
        return action.to_owned();
    };
    match action {
        AuditAction::SignIn => "signed in",
        AuditAction::SignInFailed => "failed to sign in",
        AuditAction::SignInThrottled => "sign-in blocked after too many failures",
        AuditAction::SignOut => "signed out",
        AuditAction::SessionExpired => "session expired",
        AuditAction::AccountCreated => "created the account",
        AuditAction::AccountChanged => "changed the account",
        AuditAction::AccountDisabled => "disabled the account",
        AuditAction::RoleChanged => "changed the role",
        AuditAction::PasswordChanged => "changed the password",
        AuditAction::PasswordReset => "reset the password",
        AuditAction::Read => "viewed",
        AuditAction::Search => "found in a search",
        AuditAction::Listed => "listed",
        AuditAction::Create => "created",
        AuditAction::Update => "changed",
        AuditAction::StatusChanged => "changed the status of",
        AuditAction::BreakGlass => "used emergency access (break the glass) to",
        AuditAction::Delete => "deleted",
        AuditAction::Erase => "erased",
        AuditAction::Export => "exported",
        AuditAction::Download => "downloaded",
        AuditAction::Print => "printed",
        AuditAction::AccessDenied => "was refused access",
        AuditAction::AuditViewed => "viewed the audit log",
        AuditAction::AuditExported => "exported the audit log",
        AuditAction::AuditProofServed => "checked the log's integrity",
    }
    .to_owned()
}

fn format_time(entry: &AuditEntry) -> String {
    entry.time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// One row of the audit log table.
#[derive(Debug, Clone)]
struct AuditLogRow {
    seq: u64,
    time: String,
    actor: String,
    role: String,
    action: String,
    resource_type: String,
    resource_id: String,
    patient: String,
    outcome: String,
    reason: String,
    request_id: String,
}

impl From<&AuditEntry> for AuditLogRow {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            time: format_time(e),
            actor: actor_label(e),
            role: role_label(e.actor_role.as_deref()),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone().unwrap_or_default(),
            patient: e.patient_pseudonym.clone().unwrap_or_default(),
            outcome: e.outcome.clone(),
            reason: e.reason.clone().unwrap_or_default(),
            request_id: e.request_id.clone().unwrap_or_default(),
        }
    }
}

/// The filter form's values as entered.
#[derive(Debug, Clone, Default)]
struct AuditFilterForm {
    actor: String,
    action: String,
    patient: String,
    resource_type: String,
    outcome: String,
    from: String,
    to: String,
}

impl From<&AuditEventsParams> for AuditFilterForm {
    fn from(p: &AuditEventsParams) -> Self {
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
        Self {
            actor: text(&p.actor),
            action: text(&p.action),
            patient: text(&p.patient),
            resource_type: text(&p.resource_type),
            outcome: text(&p.outcome),
            from: text(&p.from),
            to: text(&p.to),
        }
    }
}

/// Where the table stands in the whole result.
#[derive(Debug, Clone, Default)]
struct Paging {
    total: u64,
    first: u64,
    last: u64,
    previous_href: Option<String>,
    next_href: Option<String>,
}

fn paging(page: &AuditPage, href: impl Fn(u64) -> String) -> Paging {
    let shown = page.entries.len() as u64;
    let end = page.offset.saturating_add(shown);
    Paging {
        total: page.total,
        first: if shown == 0 { 0 } else { page.offset + 1 },
        last: end,
        previous_href: (page.offset > 0).then(|| href(page.offset.saturating_sub(page.limit))),
        next_href: (end < page.total).then(|| href(end)),
    }
}

#[derive(Template)]
#[template(path = "audit_log.html")]
struct AuditLogPage {
    layout: Layout,
    form: AuditFilterForm,
    errors: ValidationErrors,
    /// A problem with the query that no form field shows (an unknown parameter).
    query_problem: Option<String>,
    actions: &'static [AuditAction],
    resource_types: &'static [ResourceType],
    outcomes: &'static [Outcome],
    rows: Vec<AuditLogRow>,
    paging: Paging,
    csv_href: String,
}

const FORM_FIELDS: [&str; 7] = [
    "actor",
    "action",
    "patient",
    "resource_type",
    "outcome",
    "from",
    "to",
];

/// `GET /audit`: the audit log, filtered and paged.
pub async fn log(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    state.services.require_audit_access(&actor).await?;
    let layout = Layout::new(&state, &actor, "Audit log", "/audit", csrf);
    let parsed = query_params::<AuditEventsParams>(raw.as_deref().unwrap_or_default())
        .and_then(|params| params.to_query().map(|query| (params, query)));
    let (params, query) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => {
            let params = query_params::<AuditEventsParams>(raw.as_deref().unwrap_or_default())
                .unwrap_or_default();
            return invalid_filters(layout, &params, errors);
        }
    };
    let page = match state
        .services
        .audit_events(&actor, query.filter, query.offset, query.limit)
        .await
    {
        Ok(page) => page,
        Err(ServiceError::Validation(errors)) => return invalid_filters(layout, &params, errors),
        Err(other) => return Err(other.into()),
    };
    let filters = params.filter_query_string();
    render(&AuditLogPage {
        layout,
        form: AuditFilterForm::from(&params),
        errors: ValidationErrors::new(),
        query_problem: None,
        actions: AuditAction::ALL,
        resource_types: ResourceType::ALL,
        outcomes: Outcome::ALL,
        rows: page.entries.iter().map(AuditLogRow::from).collect(),
        paging: paging(&page, |offset| {
            format!("/audit?{}", params.page_query_string(offset))
        }),
        csv_href: csv_href(&filters),
    })
}

fn csv_href(filters: &str) -> String {
    if filters.is_empty() {
        "/audit/export.csv".to_owned()
    } else {
        format!("/audit/export.csv?{filters}")
    }
}

/// The form again, with a message next to each bad field (422), and no results.
fn invalid_filters(
    layout: Layout,
    params: &AuditEventsParams,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let query_problem = errors
        .0
        .iter()
        .find(|e| !FORM_FIELDS.contains(&e.field.as_str()))
        .map(|e| format!("“{}” {}.", e.field, e.message));
    let mut response = render(&AuditLogPage {
        layout,
        form: AuditFilterForm::from(params),
        errors,
        query_problem,
        actions: AuditAction::ALL,
        resource_types: ResourceType::ALL,
        outcomes: Outcome::ALL,
        rows: Vec::new(),
        paging: Paging::default(),
        csv_href: csv_href(&params.filter_query_string()),
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// `GET /audit/export.csv`: the filtered log as a streamed CSV download.
pub async fn export_csv(
    PageRequest { state, actor, .. }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    state.services.require_audit_access(&actor).await?;
    let query = query_params::<AuditExportParams>(raw.as_deref().unwrap_or_default())
        .and_then(|params| AuditEventsParams::from(params).to_query())
        .map_err(|errors| PageError::invalid(errors.to_string()))?;
    let export = state
        .services
        .export_audit_events(&actor, query.filter)
        .await?;
    Ok(audit_csv_response(export))
}

/// One access to the patient's record.
#[derive(Debug, Clone)]
struct AccessRow {
    time: String,
    who: String,
    role: String,
    action: String,
}

#[derive(Template)]
#[template(path = "access_history.html")]
struct AccessHistoryPage {
    layout: Layout,
    rows: Vec<AccessRow>,
    paging: Paging,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccessHistoryParams {
    offset: Option<String>,
}

/// `GET /account/access-history`: who accessed the patient's own record.
pub async fn access_history(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // A mangled offset shows the first page: there is nothing to correct in a form here.
    let offset = query_params::<AccessHistoryParams>(raw.as_deref().unwrap_or_default())
        .ok()
        .and_then(|p| p.offset)
        .and_then(|o| o.trim().parse::<u64>().ok())
        .filter(|o| i64::try_from(*o).is_ok())
        .unwrap_or(0);
    let page = state
        .services
        .my_access_history(&actor, offset, DEFAULT_LIMIT)
        .await?;
    render(&AccessHistoryPage {
        layout: Layout::new(
            &state,
            &actor,
            "Who accessed my record",
            "/account/access-history",
            csrf,
        ),
        rows: page
            .entries
            .iter()
            .map(|e| AccessRow {
                time: format_time(e),
                who: actor_label(e),
                role: role_label(e.actor_role.as_deref()),
                action: action_label(&e.action),
            })
            .collect(),
        paging: paging(&page, |offset| {
            format!("/account/access-history?offset={offset}")
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, name: Option<&str>) -> AuditEntry {
        AuditEntry {
            seq: 1,
            time: chrono::DateTime::UNIX_EPOCH,
            actor_kind: kind.into(),
            actor_id: None,
            actor_name: name.map(Into::into),
            actor_role: None,
            action: "password_reset".into(),
            resource_type: "account".into(),
            resource_id: None,
            patient_pseudonym: None,
            outcome: "allowed".into(),
            reason: None,
            request_id: None,
        }
    }

    #[test]
    fn actors_without_an_account_are_named_by_kind() {
        assert_eq!(actor_label(&entry("operator", None)), "console operator");
        assert_eq!(actor_label(&entry("user", Some("Ada Admin"))), "Ada Admin");
        assert_eq!(actor_label(&entry("anonymous", None)), "anonymous");
    }

    #[test]
    fn labels_for_people() {
        assert_eq!(role_label(Some("admin")), "Administrator");
        assert_eq!(role_label(None), "");
        assert_eq!(action_label("password_reset"), "reset the password");
        assert_eq!(action_label("something_new"), "something_new");
    }
}
