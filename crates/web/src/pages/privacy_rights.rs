//! Data-subject rights pages: the access export as a ZIP download
//! (`/patients/{id}/access-export` for administrators, `/my/access-export` for the patient),
//! consents (`/my/consents` for the patient, `/patients/{id}/consents` for administrators and
//! reception) and the records of processing (`/admin/processing`, GDPR Art. 30).

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::consent::{ConsentPurpose, ConsentStatus};
use carevault_core::{PatientId, ValidationErrors};
use carevault_service::consents::{ConsentInput, ConsentOverview};
use carevault_service::subject_access::ProcessingRecords;
use carevault_service::{Actor, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::api::subject_access::zip_attachment;
use crate::errors::PageError;
use crate::pages::path_patient_id;
use crate::pages::{Layout, PageRequest, QueryNotice, render};
use crate::routes::RouteTable;

/// Adds the data-subject rights pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page(
            Action::SubjectRights,
            "/patients/{id}/access-export",
            patient_export,
        )
        .page(Action::UsePortal, "/my/access-export", my_export)
        .page_with_form(
            Action::UsePortal,
            "/my/consents",
            my_consents_page,
            my_consents_submit,
        )
        .page_with_form(
            Action::ManageConsents,
            "/patients/{id}/consents",
            patient_consents_page,
            patient_consents_submit,
        )
        .page(Action::ReadAuditLog, "/admin/processing", processing_page)
}

/// `GET /patients/{id}/access-export`: the ZIP (administrators).
pub async fn patient_export(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    Ok(zip_attachment(
        state.services.access_export(&actor, id).await?,
    ))
}

/// `GET /my/access-export`: the patient's own ZIP.
pub async fn my_export(
    PageRequest { state, actor, .. }: PageRequest,
) -> Result<Response, PageError> {
    Ok(zip_attachment(
        state.services.my_access_export(&actor).await?,
    ))
}

// ---- consents ----

#[derive(Debug, Clone)]
struct CurrentRow {
    purpose: &'static str,
    description: &'static str,
    granted: bool,
    since: String,
}

#[derive(Debug, Clone)]
struct HistoryRow {
    at: String,
    purpose: &'static str,
    status: &'static str,
    by: String,
    note: String,
}

#[derive(Template)]
#[template(path = "my_consents.html")]
struct MyConsentsPage {
    layout: Layout,
    linked: bool,
    current: Vec<CurrentRow>,
    history: Vec<HistoryRow>,
    purpose_error: Option<String>,
    status_error: Option<String>,
    note_error: Option<String>,
}

#[derive(Template)]
#[template(path = "patient_consents.html")]
struct PatientConsentsPage {
    layout: Layout,
    id: String,
    patient: String,
    current: Vec<CurrentRow>,
    history: Vec<HistoryRow>,
    purposes: Vec<(&'static str, &'static str)>,
    form_note: String,
    purpose_error: Option<String>,
    status_error: Option<String>,
    note_error: Option<String>,
}

/// A consent change from a form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentForm {
    purpose: String,
    status: String,
    note: String,
}

fn rows(
    state: &AppState,
    overview: Option<&ConsentOverview>,
) -> (Vec<CurrentRow>, Vec<HistoryRow>) {
    let zone = state.services.clinic_time_zone();
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
    };
    let Some(overview) = overview else {
        return (Vec::new(), Vec::new());
    };
    let current = overview
        .current
        .iter()
        .map(|c| CurrentRow {
            purpose: c.purpose.as_str(),
            description: c.purpose.description(),
            granted: c.status == ConsentStatus::Granted,
            since: c
                .recorded_at
                .map_or_else(|| "not recorded (default)".to_owned(), when),
        })
        .collect();
    let history = overview
        .history
        .iter()
        .map(|h| HistoryRow {
            at: when(h.recorded_at),
            purpose: h.purpose.as_str(),
            status: h.status.as_str(),
            by: if h.by_patient {
                "the patient".to_owned()
            } else {
                h.recorded_by_name.clone()
            },
            note: h.note.clone().unwrap_or_default(),
        })
        .collect();
    (current, history)
}

fn purposes() -> Vec<(&'static str, &'static str)> {
    ConsentPurpose::ALL
        .iter()
        .map(|p| (p.as_str(), p.description()))
        .collect()
}

fn input_of(form: &ConsentForm) -> ConsentInput {
    ConsentInput {
        purpose: form.purpose.clone(),
        status: form.status.clone(),
        note: Some(form.note.clone()),
    }
}

async fn my_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    errors: &ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let overview = state.services.my_consents(actor).await?;
    let (current, history) = rows(state, overview.as_ref());
    let field = |name: &str| errors.message_for(name).map(str::to_owned);
    render(&MyConsentsPage {
        layout: crate::pages::banner::with_own_banner(
            state,
            actor,
            Layout::new(state, actor, "Consents and my data", "/my/consents", csrf)
                .with_notice(notice),
        )
        .await?,
        linked: overview.is_some(),
        current,
        history,
        purpose_error: field("purpose"),
        status_error: field("status"),
        note_error: field("note"),
    })
}

/// `GET /my/consents`.
pub async fn my_consents_page(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    my_page(&state, &actor, csrf, &ValidationErrors::new(), notice).await
}

/// `POST /my/consents`: grant or withdraw one consent.
pub async fn my_consents_submit(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    match state
        .services
        .record_my_consent(&actor, input_of(&form))
        .await
    {
        Ok(_) => Ok(Redirect::to("/my/consents?notice=consent-recorded").into_response()),
        Err(ServiceError::Validation(errors)) => {
            let mut response = my_page(&state, &actor, csrf, &errors, None).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn staff_page(
    state: &AppState,
    actor: &Actor,
    id: PatientId,
    csrf: String,
    form: &ConsentForm,
    errors: &ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let overview = state.services.patient_consents(actor, id).await?;
    let banner = state.services.patient_banner(actor, id).await?;
    let (current, history) = rows(state, Some(&overview));
    let field = |name: &str| errors.message_for(name).map(str::to_owned);
    render(&PatientConsentsPage {
        layout: Layout::new(state, actor, "Consents", "/patients", csrf)
            .with_notice(notice)
            .with_banner(&banner),
        id: id.to_string(),
        patient: banner.name.clone(),
        current,
        history,
        purposes: purposes(),
        form_note: form.note.clone(),
        purpose_error: field("purpose"),
        status_error: field("status"),
        note_error: field("note"),
    })
}

/// `GET /patients/{id}/consents`.
pub async fn patient_consents_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    staff_page(
        &state,
        &actor,
        id,
        csrf,
        &ConsentForm::default(),
        &ValidationErrors::new(),
        notice,
    )
    .await
}

/// `POST /patients/{id}/consents`: record a consent for the patient.
pub async fn patient_consents_submit(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    match state
        .services
        .record_consent(&actor, id, input_of(&form))
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/patients/{id}/consents?notice=consent-recorded"))
                .into_response(),
        ),
        Err(ServiceError::Validation(errors)) => {
            let mut response = staff_page(&state, &actor, id, csrf, &form, &errors, None).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

// ---- records of processing ----

#[derive(Template)]
#[template(path = "processing_records.html")]
struct ProcessingPage {
    layout: Layout,
    records: ProcessingRecords,
}

/// `GET /admin/processing`: the records of processing (administrators and auditors).
pub async fn processing_page(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let records = state.services.processing_records(&actor).await?;
    render(&ProcessingPage {
        layout: Layout::new(
            &state,
            &actor,
            "Records of processing",
            "/admin/processing",
            csrf,
        ),
        records,
    })
}
