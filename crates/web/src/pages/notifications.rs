//! `/notifications` (every signed-in user's inbox, with mark-as-read),
//! `/notifications/preferences` (reminders on or off, consent to e-mail) and
//! `/admin/notifications` (the outbox: delivery status and last error, with filters).

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::notification::{Channel, DeliveryStatus, NotificationKind};
use carevault_service::ServiceError;
use carevault_service::notifications::{NotificationView, OutboxFilter};
use serde::Deserialize;

use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, render};
use crate::routes::RouteTable;

/// Adds the notification pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page(Action::UseAccount, "/notifications", inbox)
        .form_post(Action::UseAccount, "/notifications/{id}/read", mark_read)
        .page_with_form(
            Action::UseAccount,
            "/notifications/preferences",
            preferences,
            save_preferences,
        )
        .page(Action::AdministerSystem, "/admin/notifications", outbox)
}

/// How a notification's kind reads.
fn kind_label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::AppointmentReminder => "Appointment reminder",
        NotificationKind::FollowUpReminder => "Follow-up reminder",
        NotificationKind::LowStock => "Low stock",
        NotificationKind::ExpiringBatch => "Expiring batch",
        NotificationKind::ConsultationRequestOutcome => "Appointment request",
        NotificationKind::BreakGlassAlert => "Emergency access",
    }
}

/// A notice from the query (`?notice=…`), from a fixed list only.
fn notice_of(raw: Option<&str>) -> Option<&'static str> {
    let code = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "notice")
        .map(|(_, v)| v.into_owned());
    match code.as_deref() {
        Some("preferences-saved") => Some("Your notification preferences have been saved."),
        _ => None,
    }
}

struct InboxRow {
    id: String,
    kind: &'static str,
    subject: String,
    /// The body's lines.
    lines: Vec<String>,
    when: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<InboxRow>,
    unread: usize,
}

/// `GET /notifications`: the signed-in user's inbox.
pub async fn inbox(PageRequest { state, actor, csrf }: PageRequest) -> Result<Response, PageError> {
    let zone = state.services.clinic_time_zone();
    let rows: Vec<InboxRow> = state
        .services
        .my_notifications(&actor)
        .await?
        .into_iter()
        .map(|n| InboxRow {
            kind: kind_label(n.kind),
            subject: n.subject.unwrap_or_default(),
            lines: n
                .body
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
            when: n
                .sent_at
                .unwrap_or(n.created_at)
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            unread: n.read_at.is_none(),
            id: n.id,
        })
        .collect();
    render(&InboxPage {
        layout: Layout::new(&state, &actor, "Notifications", "/notifications", csrf),
        unread: rows.iter().filter(|r| r.unread).count(),
        rows,
    })
}

/// `POST /notifications/{id}/read`.
pub async fn mark_read(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    state.services.mark_notification_read(&actor, &id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

#[derive(Template)]
#[template(path = "notification_preferences.html")]
struct PreferencesPage {
    layout: Layout,
    email_enabled: bool,
    reminders_enabled: bool,
    email_available: bool,
    is_patient: bool,
}

/// `GET /notifications/preferences`.
pub async fn preferences(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let p = state.services.notification_preferences(&actor).await?;
    render(&PreferencesPage {
        layout: Layout::new(
            &state,
            &actor,
            "Notification preferences",
            "/notifications/preferences",
            csrf,
        )
        .with_notice(notice_of(raw.as_deref())),
        email_enabled: p.email_enabled,
        reminders_enabled: p.reminders_enabled,
        email_available: p.email_available,
        is_patient: actor.reaches_own_record_only(),
    })
}

/// The preferences form: a checkbox is present when ticked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreferencesForm {
    email_enabled: Option<String>,
    reminders_enabled: Option<String>,
}

/// `POST /notifications/preferences`.
pub async fn save_preferences(
    PageRequest { state, actor, .. }: PageRequest,
    Form(form): Form<PreferencesForm>,
) -> Result<Response, PageError> {
    state
        .services
        .set_notification_preferences(
            &actor,
            form.email_enabled.is_some(),
            form.reminders_enabled.is_some(),
        )
        .await?;
    Ok(Redirect::to("/notifications/preferences?notice=preferences-saved").into_response())
}

struct OutboxRow {
    kind: &'static str,
    channel: &'static str,
    status: &'static str,
    recipient: String,
    subject: String,
    attempts: u32,
    next_attempt: String,
    created: String,
    sent: String,
    last_error: String,
}

#[derive(Template)]
#[template(path = "admin_notifications.html")]
struct OutboxPage {
    layout: Layout,
    rows: Vec<OutboxRow>,
    /// (value, label, selected)
    statuses: Vec<(&'static str, &'static str, bool)>,
    kinds: Vec<(&'static str, &'static str, bool)>,
    channels: Vec<(&'static str, &'static str, bool)>,
    recipient: String,
    errors: Vec<String>,
}

/// `GET /admin/notifications?status=…&kind=…&channel=…&recipient=…`: the outbox.
pub async fn outbox(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let mut filter = OutboxFilter::default();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = Some(value.into_owned()).filter(|v| !v.is_empty());
        match key.as_ref() {
            "status" => filter.status = value,
            "kind" => filter.kind = value,
            "channel" => filter.channel = value,
            "recipient" => filter.recipient_user_id = value,
            _ => {}
        }
    }
    let zone = state.services.clinic_time_zone();
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
    };
    let (rows, errors, status) = match state
        .services
        .notification_outbox(&actor, filter.clone())
        .await
    {
        Ok(list) => (list, Vec::new(), StatusCode::OK),
        Err(ServiceError::Validation(errors)) => (
            Vec::new(),
            errors
                .0
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(other) => return Err(other.into()),
    };
    // Only an administrator gets here (the outbox refused everyone else).
    let users: std::collections::HashMap<String, String> = state
        .services
        .list_accounts(&actor)
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u.username.to_string()))
        .collect();
    let rows = rows
        .into_iter()
        .map(|n: NotificationView| OutboxRow {
            kind: kind_label(n.kind),
            channel: match n.channel {
                Channel::InApp => "in-app",
                Channel::Email => "e-mail",
            },
            status: n.status.as_str(),
            recipient: users
                .get(&n.recipient_user_id)
                .cloned()
                .unwrap_or_else(|| n.recipient_user_id.clone()),
            subject: n
                .subject
                .unwrap_or_else(|| "(about a patient: sealed)".to_owned()),
            attempts: n.attempts,
            next_attempt: if n.status == DeliveryStatus::Pending {
                when(n.next_attempt_at)
            } else {
                String::new()
            },
            created: when(n.created_at),
            sent: n.sent_at.map(when).unwrap_or_default(),
            last_error: n.last_error.unwrap_or_default(),
        })
        .collect();
    let chosen = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    let page = OutboxPage {
        layout: Layout::new(
            &state,
            &actor,
            "Notification outbox",
            "/admin/notifications",
            csrf,
        ),
        rows,
        statuses: DeliveryStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str(), chosen(&filter.status, s.as_str())))
            .collect(),
        kinds: NotificationKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_label(*k), chosen(&filter.kind, k.as_str())))
            .collect(),
        channels: Channel::ALL
            .iter()
            .map(|c| (c.as_str(), c.as_str(), chosen(&filter.channel, c.as_str())))
            .collect(),
        recipient: filter.recipient_user_id.unwrap_or_default(),
        errors,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}
