//! Break-the-glass pages: the emergency-access form and red banner of the patient page, the
//! form's handler, and the administrators' review queue (`/admin/break-glass`).
//!
//! The service decides who may break the glass and who reviews; these handlers parse the
//! form, call one use case and redirect (303), or render the page again with the messages
//! next to their fields (422). Whether the patient page offers the form follows the role
//! and the view the service chose (a doctor or nurse seeing the masked view): presentation
//! only. Times are shown in UTC, as the banner states.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::masking::PatientView;
use carevault_core::{PatientId, ValidationErrors};
use carevault_service::emergency::{
    DEFAULT_MINUTES, EmergencyAccessInput, EmergencyGrant, MIN_REASON_CHARS, ReviewStatus,
};
use carevault_service::patients::PatientDetails;
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::NoticeQuery;
use crate::pages::{Layout, PageRequest, notice, render};
use crate::routes::RouteTable;

/// The review queue's address.
pub const QUEUE_HREF: &str = "/admin/break-glass";

/// Adds the break-the-glass pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .form_post(
            Action::BreakTheGlass,
            "/patients/{id}/break-glass",
            break_glass,
        )
        .page(Action::ReviewEmergencyAccess, QUEUE_HREF, queue)
        .form_post(
            Action::ReviewEmergencyAccess,
            "/admin/break-glass/{id}/review",
            review,
        )
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

// ---------------------------------------------------------------------------------------
// The patient page's part
// ---------------------------------------------------------------------------------------

/// A choice of the duration select.
#[derive(Debug, Clone)]
pub struct DurationOption {
    pub minutes: i64,
    pub label: &'static str,
    pub selected: bool,
}

const DURATIONS: [(i64, &str); 6] = [
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (480, "8 hours"),
    (720, "12 hours"),
    (1440, "24 hours"),
];

fn duration_options(current: &str) -> Vec<DurationOption> {
    let current = current
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|m| DURATIONS.iter().any(|(d, _)| d == m))
        .unwrap_or(DEFAULT_MINUTES);
    DURATIONS
        .iter()
        .map(|&(minutes, label)| DurationOption {
            minutes,
            label,
            selected: minutes == current,
        })
        .collect()
}

/// What the patient page shows about emergency access: the red banner while the viewer
/// holds it, or the form to ask for it.
#[derive(Debug, Clone, Default)]
pub struct EmergencySection {
    /// "HH:MM UTC" (with the date when it is another day): the banner is shown.
    pub banner_until: Option<String>,
    /// The form is offered.
    pub offer: bool,
    pub min_reason_chars: usize,
    pub reason: String,
    pub durations: Vec<DurationOption>,
    pub errors: ValidationErrors,
}

impl EmergencySection {
    /// An empty break-the-glass form (not offered until `offer` is set).
    pub fn new_form() -> Self {
        Self {
            min_reason_chars: MIN_REASON_CHARS,
            durations: duration_options(""),
            ..Self::default()
        }
    }

    /// The section for `actor` viewing `details`. Only doctors and nurses hold or ask for
    /// emergency access; nobody else's page asks the service.
    pub async fn for_page(
        state: &AppState,
        actor: &Actor,
        details: &PatientDetails,
    ) -> Result<Self, PageError> {
        if !actor.may(Action::BreakTheGlass) {
            return Ok(Self::default());
        }
        let active = state
            .services
            .active_emergency_access(actor, details.id)
            .await?;
        Ok(Self {
            banner_until: active.as_ref().map(until),
            offer: active.is_none() && details.view == PatientView::Masked,
            min_reason_chars: MIN_REASON_CHARS,
            reason: String::new(),
            durations: duration_options(""),
            errors: ValidationErrors::new(),
        })
    }
}

/// When the grant ends, for the banner.
fn until(grant: &EmergencyGrant) -> String {
    let at = grant.expires_at;
    if at.date_naive() == grant.granted_at.date_naive() {
        at.format("%H:%M UTC").to_string()
    } else {
        at.format("%H:%M UTC on %Y-%m-%d").to_string()
    }
}

#[derive(Deserialize, Default)]
pub struct BreakGlassForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    duration_minutes: String,
}

carevault_core::opaque_debug!(BreakGlassForm);

/// `POST /patients/{id}/break-glass`: asks for emergency access, then back to the patient
/// page (now in full, with the banner); or the page again with the messages (422).
pub async fn break_glass(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<BreakGlassForm>,
) -> Result<Response, PageError> {
    let id: PatientId = id
        .parse()
        .map_err(|_| PageError::Status(StatusCode::NOT_FOUND, Some("No such patient.".into())))?;
    let result = state
        .services
        .request_emergency_access(
            &actor,
            EmergencyAccessInput {
                patient_id: id.to_string(),
                reason: form.reason.clone(),
                duration_minutes: Some(form.duration_minutes.clone()),
            },
        )
        .await;
    let errors = match result {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}?notice=emergency-access-granted"))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::Conflict { message, .. }) => {
            return Err(PageError::Status(StatusCode::CONFLICT, Some(message)));
        }
        Err(other) => return Err(other.into()),
    };
    let mut section = EmergencySection::new_form();
    section.offer = true;
    section.reason = form.reason;
    section.durations = duration_options(&form.duration_minutes);
    section.errors = errors;
    crate::pages::chart::rerender_with(
        &state,
        &actor,
        csrf,
        id,
        crate::pages::chart::ChartForms {
            emergency: Some(section),
            ..Default::default()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------
// The review queue
// ---------------------------------------------------------------------------------------

/// One grant of the queue.
#[derive(Debug, Clone)]
struct QueueRow {
    id: String,
    patient_href: String,
    patient: String,
    clinician: String,
    reason: String,
    granted_at: String,
    expires_at: String,
    duration: String,
    active: bool,
    status: &'static str,
    review_note: Option<String>,
    reviewed_by: Option<String>,
    reviewed_at: Option<String>,
    /// The form as sent, when it is shown again with messages.
    verdict: String,
    note: String,
    errors: ValidationErrors,
}

fn status_label(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Pending => "Awaiting review",
        ReviewStatus::Justified => "Justified",
        ReviewStatus::Unjustified => "Not justified",
    }
}

fn duration_label(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (1, 0) => "1 hour".to_owned(),
        (h, 0) => format!("{h} hours"),
        (h, m) => format!("{h} h {m} min"),
    }
}

impl From<EmergencyGrant> for QueueRow {
    fn from(g: EmergencyGrant) -> Self {
        Self {
            patient_href: format!("/patients/{}", g.patient_id),
            id: g.id,
            patient: g.patient_label,
            clinician: g.clinician_name,
            reason: g.reason.unwrap_or_default(),
            granted_at: time(g.granted_at),
            expires_at: time(g.expires_at),
            duration: duration_label(g.duration_minutes),
            active: g.active,
            status: status_label(g.review_status),
            review_note: g.review_note.flatten(),
            reviewed_by: g.reviewed_by,
            reviewed_at: g.reviewed_at.map(time),
            verdict: String::new(),
            note: String::new(),
            errors: ValidationErrors::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "emergency_queue.html")]
struct QueuePage {
    layout: Layout,
    pending: Vec<QueueRow>,
    reviewed: Vec<QueueRow>,
}

/// The queue: pending grants (newest first), then reviewed ones (newest first). Refused
/// (and recorded) for anyone but administrators.
async fn queue_rows(
    state: &AppState,
    actor: &Actor,
) -> Result<(Vec<QueueRow>, Vec<QueueRow>), PageError> {
    // The administrators' check, recorded when refused.
    state.services.pending_emergency_reviews(actor).await?;
    let services = &state.services;
    let pending = services
        .emergency_grants(actor, Some(ReviewStatus::Pending))
        .await?;
    let mut reviewed = services
        .emergency_grants(actor, Some(ReviewStatus::Justified))
        .await?;
    reviewed.extend(
        services
            .emergency_grants(actor, Some(ReviewStatus::Unjustified))
            .await?,
    );
    reviewed.sort_by_key(|g| std::cmp::Reverse(g.granted_at));
    Ok((
        pending.into_iter().map(Into::into).collect(),
        reviewed.into_iter().map(Into::into).collect(),
    ))
}

/// `GET /admin/break-glass`: the review queue.
pub async fn queue(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (pending, reviewed) = queue_rows(&state, &actor).await?;
    let code = query_params::<NoticeQuery>(raw.as_deref().unwrap_or_default())
        .ok()
        .and_then(|q| q.notice);
    render(&QueuePage {
        layout: Layout::new(&state, &actor, "Emergency access reviews", QUEUE_HREF, csrf)
            .with_notice(notice(code.as_deref())),
        pending,
        reviewed,
    })
}

#[derive(Deserialize, Default)]
pub struct ReviewForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    note: String,
}

impl std::fmt::Debug for ReviewForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewForm")
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/break-glass/{id}/review`: records the verdict, then back to the queue; or
/// the queue again with the messages beside that grant's form (422; 409 when someone
/// reviewed it meanwhile).
pub async fn review(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let id: uuid::Uuid = id.parse().map_err(|_| {
        PageError::Status(
            StatusCode::NOT_FOUND,
            Some("No such emergency access grant.".into()),
        )
    })?;
    let id = id.to_string();
    let (status, errors) = match state
        .services
        .review_emergency_access(&actor, &id, &form.verdict, &form.note)
        .await
    {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("{QUEUE_HREF}?notice=emergency-access-reviewed"))
                    .into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(ServiceError::Conflict { message, .. }) => (
            StatusCode::CONFLICT,
            ValidationErrors::single("verdict", message),
        ),
        Err(other) => return Err(other.into()),
    };
    let (mut pending, mut reviewed) = queue_rows(&state, &actor).await?;
    for row in pending.iter_mut().chain(reviewed.iter_mut()) {
        if row.id == id {
            row.verdict.clone_from(&form.verdict);
            row.note.clone_from(&form.note);
            row.errors = errors.clone();
        }
    }
    let mut layout = Layout::new(&state, &actor, "Emergency access reviews", QUEUE_HREF, csrf);
    if status == StatusCode::CONFLICT {
        layout = layout.with_notice(Some("This grant has been reviewed already."));
    }
    let mut response = render(&QueuePage {
        layout,
        pending,
        reviewed,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_select_defaults_to_four_hours_and_keeps_a_choice() {
        let selected = |current: &str| {
            duration_options(current)
                .into_iter()
                .find(|o| o.selected)
                .map(|o| o.minutes)
        };
        assert_eq!(selected(""), Some(240));
        assert_eq!(selected("720"), Some(720));
        assert_eq!(selected("1500"), Some(240));
        assert_eq!(duration_label(90), "1 h 30 min");
        assert_eq!(duration_label(1440), "24 hours");
    }
}
