//! `/api/v1/notifications` (the caller's inbox; administrators: the outbox with filters),
//! `/api/v1/notifications/{id}/read`, `/api/v1/notifications/preferences` and
//! `/api/v1/follow-ups` (a doctor asks a patient in their care to book a follow-up). The
//! rules live in `carevault_service::notifications`; this module only translates JSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use carevault_core::Action;
use carevault_service::notifications::{
    FollowUpInput, NotificationView, OutboxFilter, Preferences,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Adds the notification routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .api(Action::UseAccount, routes!(list))
        .api(Action::UseAccount, routes!(mark_read))
        .api(Action::UseAccount, routes!(preferences))
        .api(Action::UseAccount, routes!(set_preferences))
        .api(Action::WriteEncounters, routes!(follow_up))
}

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationRecord {
    pub id: String,
    pub recipient_user_id: String,
    /// The patient it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
    /// `appointment_reminder`, `follow_up_reminder`, `low_stock`, `expiring_batch`,
    /// `consultation_request_outcome` or `break_glass_alert`.
    pub kind: String,
    /// `in_app` or `email`.
    pub channel: String,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    /// Absent in the outbox for texts about a patient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub attempts: u32,
    /// When a pending notification goes out or is tried again.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed (a fixed description and the SMTP reply code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_id: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationView> for NotificationRecord {
    fn from(n: NotificationView) -> Self {
        Self {
            id: n.id,
            recipient_user_id: n.recipient_user_id,
            patient_id: n.patient_id,
            kind: n.kind.as_str().to_owned(),
            channel: n.channel.as_str().to_owned(),
            status: n.status.as_str().to_owned(),
            subject: n.subject,
            body: n.body,
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error,
            related_id: n.related_id,
            created_at: n.created_at,
            sent_at: n.sent_at,
            read_at: n.read_at,
        }
    }
}

/// Notifications, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationRecord>,
}

/// Which notifications to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationListParams {
    /// `true`: every user's notifications (the outbox; administrators only).
    all: Option<bool>,
    /// With `all`: a delivery status.
    #[param(schema_with = crate::api::schemas::delivery_status)]
    status: Option<String>,
    /// With `all`: a kind.
    #[param(schema_with = crate::api::schemas::notification_kind)]
    kind: Option<String>,
    /// With `all`: a channel.
    #[param(schema_with = crate::api::schemas::channel)]
    channel: Option<String>,
    /// With `all`: a recipient's user id.
    #[param(format = Uuid, min_length = 1)]
    recipient: Option<String>,
}

impl NotificationListParams {
    /// Every filter given is checked, with `all` or without (without it they filter
    /// nothing, but a bad one is still a mistake worth naming); none may be empty.
    fn check(&self) -> Result<(), carevault_core::ValidationErrors> {
        use carevault_core::notification::{Channel, DeliveryStatus, NotificationKind};
        crate::extract::refuse_empty_params(&[
            ("status", self.status.as_deref()),
            ("kind", self.kind.as_deref()),
            ("channel", self.channel.as_deref()),
            ("recipient", self.recipient.as_deref()),
        ])?;
        let mut errors = carevault_core::ValidationErrors::new();
        if let Some(raw) = &self.status {
            errors.check("status", DeliveryStatus::parse(raw));
        }
        if let Some(raw) = &self.kind {
            errors.check("kind", NotificationKind::parse(raw));
        }
        if let Some(raw) = &self.channel {
            errors.check("channel", Channel::parse(raw));
        }
        if let Some(raw) = &self.recipient {
            errors.check(
                "recipient",
                raw.trim()
                    .parse::<carevault_core::UserId>()
                    .map_err(|_| "must be a user id (a UUID)".to_owned()),
            );
        }
        errors.into_result()
    }
}

/// A user's notification preferences.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferencesRecord {
    /// Consent to e-mail notifications (off by default).
    pub email_enabled: bool,
    /// Appointment and follow-up reminders at all (on by default).
    pub reminders_enabled: bool,
    /// Read only: whether e-mail can reach you (e-mail configured and an address on file).
    #[serde(default)]
    pub email_available: bool,
}

impl From<Preferences> for NotificationPreferencesRecord {
    fn from(p: Preferences) -> Self {
        Self {
            email_enabled: p.email_enabled,
            reminders_enabled: p.reminders_enabled,
            email_available: p.email_available,
        }
    }
}

/// A follow-up reminder to queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    #[schema(format = Uuid)]
    pub patient_id: String,
    /// Book the follow-up by this date, `YYYY-MM-DD` (today or later).
    pub due: String,
}

/// A queued follow-up reminder.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpRecord {
    pub patient_id: String,
    pub due: NaiveDate,
    /// One per channel; empty when the patient has no portal account or turned reminders
    /// off.
    pub notification_ids: Vec<String>,
}

/// Lists notifications.
///
/// Everyone: their own delivered in-app notifications. Administrators with `all=true`: the
/// outbox, every notification with its delivery status and last error, filtered.
#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "notifications",
    params(NotificationListParams),
    responses(
        (status = 200, description = "Notifications, newest first", body = NotificationList),
        (status = 403, description = "`all=true` by someone who is not an administrator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<NotificationListParams>, ApiError>,
) -> Result<Json<NotificationList>, ApiError> {
    let ApiQuery(params) = params?;
    params.check().map_err(|e| Problem::validation(&e))?;
    let items = if params.all.unwrap_or(false) {
        state
            .services
            .notification_outbox(
                &actor,
                OutboxFilter {
                    status: params.status,
                    kind: params.kind,
                    channel: params.channel,
                    recipient_user_id: params.recipient,
                },
            )
            .await?
    } else {
        state.services.my_notifications(&actor).await?
    };
    Ok(Json(NotificationList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Marks one of your notifications read.
///
/// Anyone else's notification, or an unknown id, is refused alike (403, recorded).
#[utoipa::path(
    post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path, description = "The notification's id")),
    responses(
        (status = 204, description = "Read"),
        (status = 403, description = "Not your notification", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.mark_notification_read(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your notification preferences.
#[utoipa::path(
    get, path = "/api/v1/notifications/preferences", tag = "notifications",
    responses(
        (status = 200, description = "Your preferences", body = NotificationPreferencesRecord),
    )
)]
pub async fn preferences(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<NotificationPreferencesRecord>, ApiError> {
    let preferences = state.services.notification_preferences(&actor).await?;
    Ok(Json(preferences.into()))
}

/// Saves your notification preferences.
///
/// `email_enabled` is your consent to e-mail; without it notifications stay in the app.
/// `reminders_enabled: false` stops appointment and follow-up reminders altogether.
#[utoipa::path(
    put, path = "/api/v1/notifications/preferences", tag = "notifications",
    request_body = NotificationPreferencesRecord,
    responses(
        (status = 200, description = "Your preferences", body = NotificationPreferencesRecord),
    )
)]
pub async fn set_preferences(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<NotificationPreferencesRecord>, ApiError>,
) -> Result<Json<NotificationPreferencesRecord>, ApiError> {
    let ApiJson(body) = body?;
    let saved = state
        .services
        .set_notification_preferences(&actor, body.email_enabled, body.reminders_enabled)
        .await?;
    Ok(Json(saved.into()))
}

/// Asks a patient to book a follow-up appointment.
///
/// Doctors, for patients in their care. The reminder goes out at once (in the app, and by
/// e-mail if the patient accepts it) and says only by when and who asks.
#[utoipa::path(
    post, path = "/api/v1/follow-ups", tag = "notifications",
    request_body = FollowUpRequest,
    responses(
        (status = 201, description = "Queued", body = FollowUpRecord),
        (status = 403, description = "Not a doctor, or the patient is not in your care", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn follow_up(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Result<ApiJson<FollowUpRequest>, ApiError>,
) -> Result<(StatusCode, Json<FollowUpRecord>), ApiError> {
    let ApiJson(body) = body?;
    let queued = state
        .services
        .queue_follow_up(
            &actor,
            FollowUpInput {
                patient_id: body.patient_id,
                due: body.due,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(FollowUpRecord {
            patient_id: queued.patient_id,
            due: queued.due,
            notification_ids: queued.notification_ids,
        }),
    ))
}
