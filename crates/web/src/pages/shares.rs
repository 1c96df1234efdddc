//! `/my/sharing`: a patient shares their record with a doctor for some days, and stops it.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::{Role, ValidationErrors};
use carevault_service::shares::{DEFAULT_DAYS, ShareInput};
use carevault_service::{Actor, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, QueryNotice, render};
use crate::routes::RouteTable;

/// Adds the sharing pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page_with_form(Action::UsePortal, "/my/sharing", page, share)
        .form_post(Action::UsePortal, "/my/sharing/{share_id}/revoke", revoke)
}

#[derive(Debug, Clone)]
struct ShareRow {
    id: String,
    doctor: String,
    what: &'static str,
    granted_at: String,
    until: String,
    status: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "my_sharing.html")]
struct SharingPage {
    layout: Layout,
    linked: bool,
    shares: Vec<ShareRow>,
    /// (user id, name) of the doctors a record can be shared with.
    doctors: Vec<(String, String)>,
    form_doctor: String,
    form_days: String,
    /// (value, label) of what can be shared: the record, each signed encounter, each document.
    items: Vec<(String, String)>,
    form_item: String,
    doctor_error: Option<String>,
    days_error: Option<String>,
    other_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShareForm {
    doctor_id: String,
    days: String,
    /// `record`, `encounter:<id>` or `document:<id>`.
    item: String,
}

async fn sharing_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    form: ShareForm,
    errors: ValidationErrors,
    notice_code: Option<&'static str>,
) -> Result<Response, PageError> {
    let mine = state.services.my_record_shares(actor).await?;
    let zone = state.services.clinic_time_zone();
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
    };
    let shares = mine
        .as_ref()
        .map(|(_, shares)| {
            shares
                .iter()
                .map(|s| ShareRow {
                    id: s.id.clone(),
                    doctor: s.doctor_name.clone(),
                    what: match s.scope.as_str() {
                        "encounter" => "one visit",
                        "document" => "one document",
                        _ => "the whole record",
                    },
                    granted_at: when(s.granted_at),
                    until: when(s.revoked_at.unwrap_or(s.expires_at)),
                    status: if s.active {
                        "shared"
                    } else if s.revoked_at.is_some() {
                        "stopped"
                    } else {
                        "ended"
                    },
                    active: s.active,
                })
                .collect()
        })
        .unwrap_or_default();
    let doctors = state
        .services
        .staff_directory(actor)
        .await?
        .into_iter()
        .filter(|s| s.role == Role::Doctor)
        .map(|s| {
            let label = match (&s.specialty, &s.department_name) {
                (Some(sp), _) => format!("{} ({sp})", s.display_name),
                (None, Some(dep)) => format!("{} ({dep})", s.display_name),
                _ => s.display_name.clone(),
            };
            (s.id.to_string(), label)
        })
        .collect();
    let mut items = vec![("record".to_owned(), "My whole record".to_owned())];
    if let Some((patient, _)) = &mine {
        let day = |t: chrono::DateTime<chrono::Utc>| {
            t.with_timezone(&zone).format("%Y-%m-%d").to_string()
        };
        for e in state.services.list_encounters(actor, *patient).await? {
            items.push((
                format!("encounter:{}", e.id),
                format!(
                    "Only the visit of {} ({})",
                    day(e.started_at),
                    e.clinician_name
                ),
            ));
        }
        if let Some((_, documents)) = state.services.my_documents(actor).await? {
            for d in documents {
                items.push((
                    format!("document:{}", d.id),
                    format!("Only the document “{}”", d.title),
                ));
            }
        }
    }
    let field = |name: &str| errors.message_for(name).map(str::to_owned);
    render(&SharingPage {
        layout: crate::pages::banner::with_own_banner(
            state,
            actor,
            Layout::new(state, actor, "Sharing my record", "/my/sharing", csrf)
                .with_notice(notice_code),
        )
        .await?,
        linked: mine.is_some(),
        shares,
        doctors,
        items,
        form_item: if form.item.is_empty() {
            "record".to_owned()
        } else {
            form.item.clone()
        },
        doctor_error: field("doctor_id"),
        days_error: field("days"),
        other_error: errors
            .0
            .iter()
            .find(|e| e.field != "doctor_id" && e.field != "days")
            .or_else(|| errors.0.iter().find(|e| e.field == "scope_id"))
            .map(|e| e.message.clone()),
        form_doctor: form.doctor_id,
        form_days: if form.days.is_empty() {
            DEFAULT_DAYS.to_string()
        } else {
            form.days
        },
    })
}

/// `GET /my/sharing`.
pub async fn page(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    sharing_page(
        &state,
        &actor,
        csrf,
        ShareForm::default(),
        ValidationErrors::new(),
        notice,
    )
    .await
}

/// `POST /my/sharing`: share with a doctor.
pub async fn share(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<ShareForm>,
) -> Result<Response, PageError> {
    let Some((patient, _)) = state.services.my_record_shares(&actor).await? else {
        return Err(PageError::Status(
            StatusCode::CONFLICT,
            Some("Your account is not linked to a patient record yet.".into()),
        ));
    };
    let input = ShareInput {
        doctor_id: form.doctor_id.clone(),
        days: Some(form.days.clone()),
        scope: Some(
            form.item
                .split_once(':')
                .map_or(form.item.as_str(), |(scope, _)| scope)
                .to_owned(),
        ),
        scope_id: form.item.split_once(':').map(|(_, id)| id.to_owned()),
    };
    let errors = match state
        .services
        .grant_record_share(&actor, patient, input)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/my/sharing?notice=record-shared").into_response()),
        Err(ServiceError::Validation(errors)) => errors,
        Err(ServiceError::Conflict { field, message }) => {
            ValidationErrors::single(field.unwrap_or("doctor_id"), message)
        }
        Err(other) => return Err(other.into()),
    };
    let mut response = sharing_page(&state, &actor, csrf, form, errors, None).await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// `POST /my/sharing/{share_id}/revoke`: stop a share.
pub async fn revoke(
    PageRequest { state, actor, .. }: PageRequest,
    Path(share_id): Path<String>,
) -> Result<Response, PageError> {
    let Some((patient, _)) = state.services.my_record_shares(&actor).await? else {
        return Err(PageError::Status(StatusCode::NOT_FOUND, None));
    };
    match state
        .services
        .revoke_record_share(&actor, patient, &share_id)
        .await
    {
        Ok(_) | Err(ServiceError::Conflict { .. }) => {
            Ok(Redirect::to("/my/sharing?notice=share-stopped").into_response())
        }
        Err(other) => Err(other.into()),
    }
}
