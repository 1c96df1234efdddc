//! The allergy list and the problem list pages: `/patients/{id}/allergies` (the statement in
//! force, the form to record an allergy, "no known allergies", status changes, the history)
//! and `/patients/{id}/problems` (the list, the form to add one, resolve / reactivate), and
//! "Add to problem list" from an encounter's diagnosis
//! (`POST /encounters/{eid}/diagnoses/{did}/problem`, back to the encounter with a notice).
//!
//! The lists themselves are the partials `allergy_list.html` and `problem_list.html`, which
//! render the service's view types (`AllergyList`, `ProblemView`) and are meant to be
//! included in other pages (the chart) as they are.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use carevault_core::Action;
use carevault_core::allergy::{AllergySeverity, CODED_SUBSTANCES, SubstanceKind};
use carevault_core::{PatientId, ValidationErrors};
use carevault_service::allergies::{AllergyList, AllergyRequest, AllergyStatusRequest};
use carevault_service::problems::{ProblemRequest, ProblemView};
use carevault_service::{Actor, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::pages::{
    Layout, PageRequest, QueryNotice, not_found, path_patient_id, render, with_status,
};
use crate::routes::{Access, RouteTable};

/// Adds the allergy and problem list pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("POST", Action::WriteClinicalNotes),
            ],
            "/patients/{id}/allergies",
            Access::Page,
            get(allergies_page).post(record_allergy),
        )
        .form_post(
            Action::WriteClinicalNotes,
            "/patients/{id}/allergies/no-known",
            record_no_known_allergies,
        )
        .form_post(
            Action::WriteClinicalNotes,
            "/patients/{id}/allergies/{entry_id}/status",
            change_allergy_status,
        )
        .add(
            &[
                ("GET", Action::SeeClinical),
                ("POST", Action::WriteEncounters),
            ],
            "/patients/{id}/problems",
            Access::Page,
            get(problems_page).post(add_problem),
        )
        .form_post(
            Action::WriteEncounters,
            "/patients/{id}/problems/{problem_id}/status",
            change_problem_status,
        )
        .form_post(
            Action::WriteEncounters,
            "/encounters/{eid}/diagnoses/{did}/problem",
            problem_from_diagnosis,
        )
}

/// A form shown again: the values as typed, the messages by field, and a sentence for the
/// top of the page (a conflict, a row form's problem).
struct Again<F> {
    form: F,
    errors: ValidationErrors,
    problem: Option<String>,
}

impl<F: Default> Again<F> {
    fn fresh() -> Self {
        Again {
            form: F::default(),
            errors: ValidationErrors::new(),
            problem: None,
        }
    }

    fn problem(problem: Option<String>) -> Self {
        Again {
            problem,
            ..Again::fresh()
        }
    }

    /// The form as typed, with the input's problems next to their fields.
    fn invalid(form: F, errors: ValidationErrors, not_done: &str) -> Self {
        Again {
            form,
            errors,
            problem: Some(format!(
                "{not_done}: please correct the fields marked below."
            )),
        }
    }
}

impl<F> Again<F> {
    /// The message for the field `name`, when its input was refused.
    fn field(&self, name: &str) -> Option<String> {
        self.errors.message_for(name).map(str::to_owned)
    }
}

/// The layout of a list page titled `title`: with the notice and the banner of `patient`.
async fn list_layout(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    title: &str,
    patient: PatientId,
    notice: Option<&'static str>,
) -> Result<Layout, PageError> {
    let layout = Layout::new(state, actor, title, "/patients", csrf).with_notice(notice);
    crate::pages::banner::with_banner(state, actor, layout, patient).await
}

/// What the allergy list and the problem list pages have in common: each is loaded for a
/// patient and shown with its form as typed.
trait ListPage {
    type Form: Default;
    type Page: Template;
    /// The page's path under `/patients/{id}/`.
    const SEGMENT: &'static str;

    async fn load(
        state: &AppState,
        actor: &Actor,
        id: PatientId,
        csrf: String,
        again: Again<Self::Form>,
        notice: Option<&'static str>,
    ) -> Result<Self::Page, PageError>;
}

/// The allergy list page.
struct Allergies;
/// The problem list page.
struct Problems;

/// `GET` of a list page, with the notice its query names.
async fn show<L: ListPage>(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: &str,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let id = path_patient_id(id)?;
    render(&L::load(state, actor, id, csrf, Again::fresh(), notice).await?)
}

/// A list page shown again after a refused change, with `status`.
async fn again<L: ListPage>(
    state: &AppState,
    actor: &Actor,
    id: PatientId,
    csrf: String,
    again: Again<L::Form>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = L::load(state, actor, id, csrf, again, None).await?;
    Ok(with_status(render(&page)?, status))
}

/// After a status change from a row's form: back to the list with `notice`, or the list
/// again with the refusal at the top (409 for a conflict, 422 for bad input).
async fn after_status_change<L: ListPage, T>(
    state: &AppState,
    actor: &Actor,
    id: PatientId,
    csrf: String,
    outcome: Result<T, ServiceError>,
    notice: &str,
    not_done: &str,
) -> Result<Response, PageError> {
    let segment = L::SEGMENT;
    match outcome {
        Ok(_) => {
            Ok(Redirect::to(&format!("/patients/{id}/{segment}?notice={notice}")).into_response())
        }
        Err(err @ (ServiceError::Conflict { .. } | ServiceError::Validation(_))) => {
            let status = if matches!(err, ServiceError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let refused = Again::problem(problem_text(not_done, &err));
            again::<L>(state, actor, id, csrf, refused, status).await
        }
        Err(other) => Err(other.into()),
    }
}

// ---- allergies ----

/// One group of the substance select (drug classes, drugs, foods, environmental).
#[derive(Debug, Clone)]
struct SubstanceGroup {
    label: &'static str,
    /// (code, label, selected)
    options: Vec<(&'static str, &'static str, bool)>,
}

fn substance_groups(selected: &str) -> Vec<SubstanceGroup> {
    SubstanceKind::ALL
        .iter()
        .map(|kind| SubstanceGroup {
            label: match kind {
                SubstanceKind::DrugClass => "Drug classes",
                SubstanceKind::Drug => "Drugs",
                SubstanceKind::Food => "Foods",
                SubstanceKind::Environmental => "Other (latex, contrast, stings…)",
            },
            options: CODED_SUBSTANCES
                .iter()
                .filter(|s| s.kind == *kind)
                .map(|s| (s.code, s.label, s.code == selected))
                .collect(),
        })
        .collect()
}

fn severities(selected: &str) -> Vec<(&'static str, &'static str, bool)> {
    let selected = if selected.is_empty() {
        AllergySeverity::Unknown.as_str()
    } else {
        selected
    };
    [
        (AllergySeverity::Severe, "Severe"),
        (AllergySeverity::Moderate, "Moderate"),
        (AllergySeverity::Mild, "Mild"),
        (AllergySeverity::Unknown, "Not known"),
    ]
    .into_iter()
    .map(|(s, label)| (s.as_str(), label, s.as_str() == selected))
    .collect()
}

/// The allergy form as submitted. The substance is the select's code, or with `free_text`
/// ticked the words typed in `substance_text`.
#[derive(Default, Deserialize, Clone)]
#[serde(default)]
pub struct AllergyForm {
    substance: String,
    free_text: Option<String>,
    substance_text: String,
    reaction: String,
    severity: String,
}

carevault_core::opaque_debug!(AllergyForm);

impl AllergyForm {
    fn free_text(&self) -> bool {
        self.free_text.as_deref() == Some("true")
    }

    fn request(&self) -> AllergyRequest {
        AllergyRequest {
            substance: if self.free_text() {
                self.substance_text.clone()
            } else {
                self.substance.clone()
            },
            free_text: self.free_text(),
            reaction: Some(self.reaction.clone()),
            severity: self.severity.clone(),
            status: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "patient_allergies.html")]
struct AllergiesPage {
    layout: Layout,
    id: String,
    patient: String,
    allergy_list: AllergyList,
    allergy_actions: bool,
    substances: Vec<SubstanceGroup>,
    severities: Vec<(&'static str, &'static str, bool)>,
    form: AllergyForm,
    free_text_checked: bool,
    substance_error: Option<String>,
    reaction_error: Option<String>,
    severity_error: Option<String>,
    /// A refusal to show at the top (a conflict, a status change's bad input).
    problem: Option<String>,
}

impl ListPage for Allergies {
    type Form = AllergyForm;
    type Page = AllergiesPage;
    const SEGMENT: &'static str = "allergies";

    async fn load(
        state: &AppState,
        actor: &Actor,
        id: PatientId,
        csrf: String,
        again: Again<AllergyForm>,
        notice: Option<&'static str>,
    ) -> Result<AllergiesPage, PageError> {
        let found = state.services.list_allergies(actor, id).await?;
        let title = format!("Allergies of {}", found.patient_label);
        Ok(AllergiesPage {
            layout: list_layout(state, actor, csrf, &title, found.patient_id, notice).await?,
            id: found.patient_id.to_string(),
            patient: found.patient_label,
            allergy_list: found.list,
            allergy_actions: found.may_record,
            substances: substance_groups(&again.form.substance),
            severities: severities(&again.form.severity),
            free_text_checked: again.form.free_text(),
            substance_error: again.field("substance"),
            reaction_error: again.field("reaction"),
            severity_error: again.field("severity"),
            form: again.form,
            problem: again.problem,
        })
    }
}

/// `GET /patients/{id}/allergies`.
pub async fn allergies_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    show::<Allergies>(&state, &actor, csrf, &id, notice).await
}

/// A refusal a page shows at the top: the conflict's message, or the input's problems.
fn problem_text(prefix: &str, err: &ServiceError) -> Option<String> {
    match err {
        ServiceError::Conflict { message, .. } => Some(format!("{prefix}: {message}.")),
        ServiceError::Validation(errors) => Some(format!(
            "{prefix}: {}.",
            errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        _ => None,
    }
}

/// `POST /patients/{id}/allergies`: records an allergy, or shows the form again with the
/// problems next to their fields (422, every typed value kept).
pub async fn record_allergy(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<AllergyForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    match state
        .services
        .record_allergy(&actor, id, form.request())
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/patients/{id}/allergies?notice=allergy-recorded"))
                .into_response(),
        ),
        Err(ServiceError::Validation(errors)) => {
            let invalid = Again::invalid(form, errors, "The allergy was not recorded");
            again::<Allergies>(
                &state,
                &actor,
                id,
                csrf,
                invalid,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ServiceError::Conflict { message, .. }) => {
            let refused = Again {
                form,
                errors: ValidationErrors::single(
                    "substance",
                    "is already recorded as an active allergy",
                ),
                problem: Some(format!("The allergy was not recorded: {message}.")),
            };
            again::<Allergies>(&state, &actor, id, csrf, refused, StatusCode::CONFLICT).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /patients/{id}/allergies/no-known`: records "no known allergies" (409 with the
/// reason while an allergy is active).
pub async fn record_no_known_allergies(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    match state.services.record_no_known_allergies(&actor, id).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{id}/allergies?notice=no-known-allergies-recorded"
        ))
        .into_response()),
        Err(err @ ServiceError::Conflict { .. }) => {
            let refused = Again::problem(problem_text(
                "\"No known allergies\" was not recorded",
                &err,
            ));
            again::<Allergies>(&state, &actor, id, csrf, refused, StatusCode::CONFLICT).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A status change from a form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    reason: String,
}

/// `POST /patients/{id}/allergies/{entry_id}/status`: changes an entry's status (an entry
/// of another patient is not found).
pub async fn change_allergy_status(
    PageRequest { state, actor, csrf }: PageRequest,
    Path((id, entry_id)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let request = AllergyStatusRequest {
        status: form.status,
        reason: Some(form.reason),
    };
    let outcome = state
        .services
        .change_allergy_status(&actor, Some(id), &entry_id, request)
        .await;
    let (notice, not_done) = ("allergy-status-changed", "The entry was not changed");
    after_status_change::<Allergies, _>(&state, &actor, id, csrf, outcome, notice, not_done).await
}

// ---- problems ----

/// The problem form as submitted.
#[derive(Default, Deserialize, Clone)]
#[serde(default)]
pub struct ProblemForm {
    code: String,
    free_text: Option<String>,
    text: String,
    onset: String,
    status: String,
}

carevault_core::opaque_debug!(ProblemForm);

impl ProblemForm {
    fn free_text(&self) -> bool {
        self.free_text.as_deref() == Some("true")
    }
}

#[derive(Template)]
#[template(path = "patient_problems.html")]
struct ProblemsPage {
    layout: Layout,
    id: String,
    patient: String,
    problems: Vec<ProblemView>,
    problem_actions: bool,
    form: ProblemForm,
    free_text_checked: bool,
    code_error: Option<String>,
    text_error: Option<String>,
    onset_error: Option<String>,
    status_error: Option<String>,
    problem: Option<String>,
}

impl ListPage for Problems {
    type Form = ProblemForm;
    type Page = ProblemsPage;
    const SEGMENT: &'static str = "problems";

    async fn load(
        state: &AppState,
        actor: &Actor,
        id: PatientId,
        csrf: String,
        again: Again<ProblemForm>,
        notice: Option<&'static str>,
    ) -> Result<ProblemsPage, PageError> {
        let found = state.services.list_problems(actor, id).await?;
        let title = format!("Problem list of {}", found.patient_label);
        Ok(ProblemsPage {
            layout: list_layout(state, actor, csrf, &title, found.patient_id, notice).await?,
            id: found.patient_id.to_string(),
            patient: found.patient_label,
            problems: found.problems,
            problem_actions: found.may_manage,
            free_text_checked: again.form.free_text(),
            code_error: again.field("code"),
            text_error: again.field("text"),
            onset_error: again.field("onset"),
            status_error: again.field("status"),
            form: again.form,
            problem: again.problem,
        })
    }
}

/// `GET /patients/{id}/problems`.
pub async fn problems_page(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    show::<Problems>(&state, &actor, csrf, &id, notice).await
}

/// `POST /patients/{id}/problems`: adds a problem, or shows the form again with the
/// problems next to their fields (422) or the duplicate (409), every typed value kept.
pub async fn add_problem(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<ProblemForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let request = ProblemRequest {
        code: Some(form.code.clone()),
        text: Some(form.text.clone()),
        free_text: form.free_text(),
        onset: Some(form.onset.clone()),
        status: form.status.clone(),
    };
    match state.services.add_problem(&actor, id, request).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/patients/{id}/problems?notice=problem-added")).into_response(),
        ),
        Err(ServiceError::Validation(errors)) => {
            let invalid = Again::invalid(form, errors, "The problem was not added");
            again::<Problems>(
                &state,
                &actor,
                id,
                csrf,
                invalid,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ServiceError::Conflict { field, message }) => {
            let errors = match field {
                Some(field) => ValidationErrors::single(
                    field,
                    "is already on the patient's active problem list",
                ),
                None => ValidationErrors::new(),
            };
            let refused = Again {
                form,
                errors,
                problem: Some(format!("The problem was not added: {message}.")),
            };
            again::<Problems>(&state, &actor, id, csrf, refused, StatusCode::CONFLICT).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A problem's status change from a form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProblemStatusForm {
    status: String,
}

/// `POST /patients/{id}/problems/{problem_id}/status`: resolves or reactivates a problem (a
/// problem of another patient is not found).
pub async fn change_problem_status(
    PageRequest { state, actor, csrf }: PageRequest,
    Path((id, problem_id)): Path<(String, String)>,
    Form(form): Form<ProblemStatusForm>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let outcome = state
        .services
        .change_problem_status(&actor, Some(id), &problem_id, &form.status)
        .await;
    let (notice, not_done) = ("problem-status-changed", "The problem was not changed");
    after_status_change::<Problems, _>(&state, &actor, id, csrf, outcome, notice, not_done).await
}

/// `POST /encounters/{eid}/diagnoses/{did}/problem`: "Add to problem list" on an encounter's
/// diagnosis; back to the encounter with a notice saying whether it was added.
pub async fn problem_from_diagnosis(
    PageRequest { state, actor, .. }: PageRequest,
    Path((encounter_id, diagnosis_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let encounter_id = encounter_id
        .trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("encounter"))?;
    let notice = match state
        .services
        .add_problem_from_diagnosis(&actor, &encounter_id, &diagnosis_id)
        .await
    {
        Ok(_) => "problem-added-from-diagnosis",
        Err(ServiceError::Conflict {
            field: Some("encounter_status"),
            ..
        }) => "problem-encounter-draft",
        Err(ServiceError::Conflict { field: Some(_), .. }) => "problem-already-listed",
        Err(ServiceError::Conflict { field: None, .. }) => "problem-diagnosis-retracted",
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&format!("/encounters/{encounter_id}?notice={notice}")).into_response())
}
