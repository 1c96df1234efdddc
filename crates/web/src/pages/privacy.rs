//! Erasure (GDPR Art. 17), legal holds and the retention report, for administrators:
//! `/patients/{id}/erase` (what will happen, and a confirmation by MRN), `/patients/{id}/holds`
//! (set and release), `/admin/retention`. Every decision is the service's; a refusal is shown
//! next to the form.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use carevault_core::Action;
use carevault_core::{PatientId, ValidationErrors};
use carevault_service::erasure::{ErasureOutcome, LegalHold, LegalHoldInput, Tombstone};
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::path_patient_id;
use crate::pages::{Layout, PageRequest, render};
use crate::routes::RouteTable;

/// Adds the privacy pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .page_with_form(
            Action::ManageRetention,
            "/patients/{id}/erase",
            erase_page,
            erase,
        )
        .page_with_form(
            Action::ManageRetention,
            "/patients/{id}/holds",
            holds_page,
            set_hold,
        )
        .form_post(
            Action::ManageRetention,
            "/patients/{id}/holds/{hold_id}/release",
            release_hold,
        )
        .page(Action::ManageRetention, "/admin/retention", retention_page)
}

#[derive(Debug, Clone)]
struct HoldRow {
    id: String,
    reason: String,
    set_at: String,
    until: String,
    status: &'static str,
    active: bool,
}

fn when(state: &AppState, t: DateTime<Utc>) -> String {
    t.with_timezone(&state.services.clinic_time_zone())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn day(state: &AppState, t: DateTime<Utc>) -> String {
    t.with_timezone(&state.services.clinic_time_zone())
        .format("%Y-%m-%d")
        .to_string()
}

fn hold_rows(state: &AppState, holds: &[LegalHold]) -> Vec<HoldRow> {
    holds
        .iter()
        .map(|h| HoldRow {
            id: h.id.clone(),
            reason: h.reason.clone(),
            set_at: when(state, h.set_at),
            until: match h.until {
                // The stored end is the start of the next day.
                Some(until) => day(state, until - chrono::Duration::microseconds(1)),
                None => "until released".into(),
            },
            status: if h.active {
                "in force"
            } else if h.released_at.is_some() {
                "released"
            } else {
                "expired"
            },
            active: h.active,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "patient_erase.html")]
struct ErasePage {
    layout: Layout,
    id: String,
    pseudonym: String,
    name: String,
    refusal: Option<String>,
    holds: Vec<HoldRow>,
    last_encounter: Option<String>,
    retained_until: Option<String>,
    ledger_configured: bool,
    confirm_error: Option<String>,
    /// After the erasure (or for an erased patient): the tombstone.
    done: Option<TombstoneView>,
}

#[derive(Debug, Clone)]
struct TombstoneView {
    pseudonym: String,
    erased_at: String,
    category: String,
    ledger: String,
    ledger_problem: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EraseForm {
    confirm_mrn: String,
}

fn tombstone_view(
    state: &AppState,
    tombstone: &Tombstone,
    outcome: Option<&ErasureOutcome>,
) -> TombstoneView {
    TombstoneView {
        pseudonym: tombstone.pseudonym.clone(),
        erased_at: when(state, tombstone.erased_at),
        category: tombstone.reason_category.replace('_', " "),
        ledger: match tombstone.ledger_sequence {
            Some(seq) => format!("entry {seq}"),
            None => "not recorded in the erasure ledger".into(),
        },
        ledger_problem: outcome.and_then(|o| o.ledger_problem.clone()),
    }
}

/// The erase page of an erased patient, titled `title`: the tombstone, with what the
/// erasure just done reported (`outcome`).
async fn erased_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    title: &str,
    id: PatientId,
    outcome: Option<&ErasureOutcome>,
) -> Result<Response, PageError> {
    let tombstone = state.services.erasure_tombstone(actor, id).await?;
    render(&ErasePage {
        layout: Layout::new(state, actor, title, "/patients", csrf),
        id: id.to_string(),
        pseudonym: outcome.map_or_else(|| tombstone.pseudonym.clone(), |o| o.pseudonym.clone()),
        name: String::new(),
        refusal: None,
        holds: Vec::new(),
        last_encounter: None,
        retained_until: None,
        ledger_configured: false,
        confirm_error: None,
        done: Some(tombstone_view(state, &tombstone, outcome)),
    })
}

async fn erase_view(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: PatientId,
    refusal_override: Option<String>,
    confirm_error: Option<String>,
) -> Result<Response, PageError> {
    let preview = match state.services.erasure_preview(actor, id).await {
        Ok(preview) => preview,
        Err(ServiceError::NotFound(_)) => {
            // Erased already: show the tombstone (or 404 for an unknown id).
            return erased_page(state, actor, csrf, "Erased patient", id, None).await;
        }
        Err(other) => return Err(other.into()),
    };
    let banner = state.services.patient_banner(actor, id).await?;
    let name = banner.name.clone();
    render(&ErasePage {
        layout: Layout::new(state, actor, "Erase a patient", "/patients", csrf)
            .with_banner(&banner),
        id: id.to_string(),
        pseudonym: preview.pseudonym,
        name: name.trim().to_owned(),
        refusal: refusal_override.or(preview.refusal),
        holds: hold_rows(state, &preview.holds),
        last_encounter: preview.last_encounter.map(|t| day(state, t)),
        retained_until: preview.retained_until.map(|t| day(state, t)),
        ledger_configured: preview.ledger_configured,
        confirm_error,
        done: None,
    })
}

/// `GET /patients/{id}/erase`: what erasure does, whether it is refused now, and the form.
pub async fn erase_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    erase_view(&state, &actor, csrf, id, None, None).await
}

/// `POST /patients/{id}/erase`: erases, or shows why not next to the form.
pub async fn erase(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<EraseForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let (refusal, confirm_error) = match state
        .services
        .erase_patient(&actor, id, &form.confirm_mrn)
        .await
    {
        Ok(outcome) => {
            let title = "Patient erased";
            return erased_page(&state, &actor, csrf, title, id, Some(&outcome)).await;
        }
        Err(ServiceError::Conflict { message, .. }) => (Some(message), None),
        Err(ServiceError::Validation(errors)) => (
            None,
            errors
                .message_for("confirm_mrn")
                .map(str::to_owned)
                .or_else(|| errors.0.first().map(|e| e.message.clone())),
        ),
        Err(other) => return Err(other.into()),
    };
    let mut response = erase_view(&state, &actor, csrf, id, refusal, confirm_error).await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template)]
#[template(path = "legal_holds.html")]
struct HoldsPage {
    layout: Layout,
    id: String,
    holds: Vec<HoldRow>,
    form_reason: String,
    form_until: String,
    reason_error: Option<String>,
    until_error: Option<String>,
    other_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HoldForm {
    reason: String,
    until: String,
}

async fn holds_view(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: PatientId,
    form: HoldForm,
    errors: ValidationErrors,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let holds = state.services.legal_holds(actor, id).await?;
    let field = |name: &str| errors.message_for(name).map(str::to_owned);
    let layout = Layout::new(state, actor, "Legal holds", "/patients", csrf).with_notice(notice);
    render(&HoldsPage {
        layout: crate::pages::banner::with_banner(state, actor, layout, id).await?,
        id: id.to_string(),
        holds: hold_rows(state, &holds),
        reason_error: field("reason"),
        until_error: field("until"),
        other_error: errors
            .0
            .iter()
            .find(|e| e.field != "reason" && e.field != "until")
            .map(|e| e.message.clone()),
        form_reason: form.reason,
        form_until: form.until,
    })
}

/// `GET /patients/{id}/holds`.
pub async fn holds_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let notice = match raw.as_deref() {
        Some("notice=hold-set") => {
            Some("The legal hold is in force: the patient cannot be erased.")
        }
        Some("notice=hold-released") => Some("The legal hold has been released."),
        _ => None,
    };
    holds_view(
        &state,
        &actor,
        csrf,
        id,
        HoldForm::default(),
        ValidationErrors::new(),
        notice,
    )
    .await
}

/// `POST /patients/{id}/holds`: set a hold.
pub async fn set_hold(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let input = LegalHoldInput {
        reason: form.reason.clone(),
        until: Some(form.until.clone()),
    };
    let errors = match state.services.set_legal_hold(&actor, id, input).await {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}/holds?notice=hold-set")).into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(other) => return Err(other.into()),
    };
    let mut response = holds_view(&state, &actor, csrf, id, form, errors, None).await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// `POST /patients/{id}/holds/{hold_id}/release`.
pub async fn release_hold(
    PageRequest { state, actor, .. }: PageRequest,
    Path((id, hold_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    match state
        .services
        .release_legal_hold(&actor, id, &hold_id)
        .await
    {
        Ok(_) | Err(ServiceError::Conflict { .. }) => {
            Ok(Redirect::to(&format!("/patients/{id}/holds?notice=hold-released")).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Clone)]
struct RetentionRow {
    id: String,
    pseudonym: String,
    last_activity: String,
    basis: &'static str,
}

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    layout: Layout,
    years: u32,
    cutoff: String,
    rows: Vec<RetentionRow>,
    held: usize,
    job_erases: bool,
    ledger_pending: usize,
}

/// `GET /admin/retention`: the patients past retention without a hold.
pub async fn retention_page(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let report = state.services.retention_report(&actor).await?;
    render(&RetentionPage {
        layout: Layout::new(&state, &actor, "Retention", "/admin/retention", csrf),
        years: report.years,
        cutoff: day(&state, report.cutoff),
        rows: report
            .items
            .iter()
            .map(|item| RetentionRow {
                id: item.patient_id.to_string(),
                pseudonym: item.pseudonym.clone(),
                last_activity: day(&state, item.last_activity),
                basis: if item.from_encounter {
                    "last encounter"
                } else {
                    "registration (no encounter)"
                },
            })
            .collect(),
        held: report.held,
        job_erases: report.job_erases,
        ledger_pending: report.ledger_pending,
    })
}
