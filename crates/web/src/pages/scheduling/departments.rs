//! The departments pages: the list, creating and editing a department.

use super::*;

#[derive(Debug, Clone)]
struct DepartmentRow {
    href: String,
    code: String,
    name: String,
    location: String,
    slot_minutes: u32,
    active: bool,
    schedule_href: String,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct DepartmentForm {
    code: String,
    name: String,
    location: String,
    slot_minutes: String,
    active: Option<String>,
}

impl DepartmentForm {
    pub(super) fn input(&self) -> DepartmentInput {
        DepartmentInput {
            code: self.code.clone(),
            name: self.name.clone(),
            location: self.location.clone(),
            slot_minutes: Some(self.slot_minutes.clone()),
            active: self.active.is_some(),
        }
    }

    fn of(d: &Department) -> Self {
        Self {
            code: d.code.clone(),
            name: d.name.clone(),
            location: d.location.clone(),
            slot_minutes: d.slot_minutes.to_string(),
            active: d.active.then(|| "on".to_owned()),
        }
    }
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    layout: Layout,
    rows: Vec<DepartmentRow>,
    /// The create form (administrators).
    manage: bool,
    form: DepartmentForm,
    errors: ValidationErrors,
}

#[derive(Template)]
#[template(path = "department_form.html")]
struct DepartmentEditPage {
    layout: Layout,
    action: String,
    form: DepartmentForm,
    errors: ValidationErrors,
}

async fn departments_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    form: DepartmentForm,
    errors: ValidationErrors,
    notice_code: Option<&'static str>,
) -> Result<Response, PageError> {
    let list = state.services.departments(actor).await?;
    let manage = is_admin(actor);
    let rows = list
        .iter()
        .map(|d| DepartmentRow {
            href: format!("/departments/{}/edit", d.id),
            code: d.code.clone(),
            name: d.name.clone(),
            location: d.location.clone(),
            slot_minutes: d.slot_minutes,
            active: d.active,
            schedule_href: format!("/schedule?department={}", d.id),
        })
        .collect();
    render(&DepartmentsPage {
        layout: Layout::new(state, actor, "Departments", "/departments", csrf)
            .with_notice(notice_code),
        rows,
        manage,
        form,
        errors,
    })
}

/// `GET /departments`.
pub async fn departments(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let form = DepartmentForm {
        active: Some("on".into()),
        ..DepartmentForm::default()
    };
    departments_page(&state, &actor, csrf, form, ValidationErrors::new(), notice).await
}

/// `POST /departments`: creates a department (administrators).
pub async fn create_department(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, PageError> {
    match state.services.create_department(&actor, form.input()).await {
        Ok(_) => Ok(Redirect::to("/departments?notice=department-saved").into_response()),
        Err(err) => match form_errors(err, "code")? {
            FormOutcome::Invalid(errors) => Ok(with_status(
                departments_page(&state, &actor, csrf, form, errors, None).await?,
                StatusCode::UNPROCESSABLE_ENTITY,
            )),
            FormOutcome::Taken(_) => Err(PageError::Status(StatusCode::CONFLICT, None)),
        },
    }
}

fn parse_department_id(raw: &str) -> Result<DepartmentId, PageError> {
    raw.parse().map_err(|_| not_found("department"))
}

/// `GET /departments/{id}/edit` (administrators).
pub async fn edit_department_form(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_department_id(&id)?;
    state.services.may_administer_scheduling(&actor).await?;
    let department = state.services.department(&actor, id).await?;
    render(&DepartmentEditPage {
        layout: Layout::new(
            &state,
            &actor,
            &format!("Edit {}", department.name),
            "/departments",
            csrf,
        ),
        action: format!("/departments/{id}/edit"),
        form: DepartmentForm::of(&department),
        errors: ValidationErrors::new(),
    })
}

/// `POST /departments/{id}/edit`.
pub async fn update_department(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, PageError> {
    let id = parse_department_id(&id)?;
    match state
        .services
        .update_department(&actor, id, form.input())
        .await
    {
        Ok(_) => Ok(Redirect::to("/departments?notice=department-saved").into_response()),
        Err(err) => match form_errors(err, "code")? {
            FormOutcome::Invalid(errors) => Ok(with_status(
                render(&DepartmentEditPage {
                    layout: Layout::new(&state, &actor, "Edit department", "/departments", csrf),
                    action: format!("/departments/{id}/edit"),
                    form,
                    errors,
                })?,
                StatusCode::UNPROCESSABLE_ENTITY,
            )),
            FormOutcome::Taken(_) => Err(PageError::Status(StatusCode::CONFLICT, None)),
        },
    }
}
