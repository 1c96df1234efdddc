//! The staff directory and editing a staff profile.

use super::*;

#[derive(Debug, Clone)]
struct StaffRow {
    name: String,
    username: String,
    role: &'static str,
    department: Option<String>,
    specialty: Option<String>,
    work_phone: Option<String>,
    working_hours: Option<String>,
    active: bool,
    edit_href: Option<String>,
    schedule_href: Option<String>,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    layout: Layout,
    rows: Vec<StaffRow>,
    /// Patients see doctors only, without contact details.
    for_patient: bool,
}

/// `GET /staff`: the directory.
pub async fn staff(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let members = state.services.staff_directory(&actor).await?;
    let admin = is_admin(&actor);
    let for_patient = actor.reaches_own_record_only();
    let rows = members
        .iter()
        .map(|s| StaffRow {
            name: s.display_name.clone(),
            username: s.username.clone(),
            role: s.role.label(),
            department: s.department_name.clone(),
            specialty: s.specialty.clone(),
            work_phone: s.work_phone.clone(),
            working_hours: s.working_hours.clone(),
            active: s.active,
            edit_href: admin.then(|| format!("/staff/{}/edit", s.id)),
            schedule_href: (!for_patient && s.role.holds_a_schedule())
                .then(|| format!("/schedule?clinician={}", s.id)),
        })
        .collect();
    let title = if for_patient {
        "Our doctors"
    } else {
        "Staff directory"
    };
    render(&StaffPage {
        layout: Layout::new(&state, &actor, title, "/staff", csrf).with_notice(notice),
        rows,
        for_patient,
    })
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct StaffForm {
    department_id: String,
    specialty: String,
    work_phone: String,
    working_hours: String,
    active: Option<String>,
}

#[derive(Template)]
#[template(path = "staff_form.html")]
struct StaffEditPage {
    layout: Layout,
    action: String,
    name: String,
    role: &'static str,
    departments: Vec<SelectOption>,
    form: StaffForm,
    errors: ValidationErrors,
}

fn parse_user_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse().map_err(|_| not_found("staff member"))
}

async fn staff_edit_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    member: &StaffMember,
    form: StaffForm,
    errors: ValidationErrors,
) -> Result<Response, PageError> {
    let departments = state.services.departments(actor).await?;
    render(&StaffEditPage {
        layout: Layout::new(
            state,
            actor,
            &format!("Edit {}", member.display_name),
            "/staff",
            csrf,
        ),
        action: format!("/staff/{}/edit", member.id),
        name: member.display_name.clone(),
        role: member.role.label(),
        departments: department_options(&departments, &form.department_id, Some("None")),
        form,
        errors,
    })
}

/// `GET /staff/{id}/edit` (administrators).
pub async fn edit_staff_form(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_user_id(&id)?;
    state.services.may_administer_scheduling(&actor).await?;
    let member = state.services.staff_member(&actor, id).await?;
    let form = StaffForm {
        department_id: member
            .department_id
            .map(|d| d.to_string())
            .unwrap_or_default(),
        specialty: member.specialty.clone().unwrap_or_default(),
        work_phone: member.work_phone.clone().unwrap_or_default(),
        working_hours: member.working_hours.clone().unwrap_or_default(),
        active: member.active.then(|| "on".to_owned()),
    };
    staff_edit_page(&state, &actor, csrf, &member, form, ValidationErrors::new()).await
}

/// `POST /staff/{id}/edit`.
pub async fn update_staff(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<StaffForm>,
) -> Result<Response, PageError> {
    let id = parse_user_id(&id)?;
    let input = StaffProfileInput {
        department_id: Some(form.department_id.clone()),
        specialty: Some(form.specialty.clone()),
        work_phone: Some(form.work_phone.clone()),
        working_hours: Some(form.working_hours.clone()),
        active: form.active.is_some(),
    };
    match state.services.update_staff_profile(&actor, id, input).await {
        Ok(_) => Ok(Redirect::to("/staff?notice=staff-saved").into_response()),
        Err(err) => match form_errors(err, "working_hours")? {
            FormOutcome::Invalid(errors) => {
                let member = state.services.staff_member(&actor, id).await?;
                Ok(with_status(
                    staff_edit_page(&state, &actor, csrf, &member, form, errors).await?,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ))
            }
            FormOutcome::Taken(_) => Err(PageError::Status(StatusCode::CONFLICT, None)),
        },
    }
}
