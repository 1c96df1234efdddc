//! A patient's own appointments and their request form.

use super::*;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct RequestForm {
    department_id: String,
    clinician_id: String,
    start: String,
    preferred_times: String,
    #[serde(rename = "type")]
    kind: String,
    reason: String,
}

carevault_core::opaque_debug!(RequestForm);

#[derive(Template)]
#[template(path = "my_appointments.html")]
struct MyAppointmentsPage {
    layout: Layout,
    upcoming: Vec<AppointmentItem>,
    past: Vec<AppointmentItem>,
    departments: Vec<SelectOption>,
    doctors: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    form: RequestForm,
    zone: String,
    errors: ValidationErrors,
    other_errors: Vec<String>,
}

async fn my_appointments_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    form: RequestForm,
    errors: ValidationErrors,
    notice_code: Option<&'static str>,
) -> Result<Response, PageError> {
    let list = state.services.my_appointments(actor).await?;
    let today = state.services.clinic_today();
    let tz = state.services.clinic_time_zone();
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for a in &list {
        let open = matches!(
            a.status,
            AppointmentStatus::Requested
                | AppointmentStatus::Scheduled
                | AppointmentStatus::CheckedIn
                | AppointmentStatus::InProgress
        );
        if open
            && (a.start.with_timezone(&tz).date_naive() >= today
                || a.status == AppointmentStatus::Requested)
        {
            upcoming.push(item(state, a));
        } else {
            past.push(item(state, a));
        }
    }
    past.reverse();
    let departments = state.services.departments(actor).await?;
    let doctors = state.services.staff_directory(actor).await?;
    render(&MyAppointmentsPage {
        layout: crate::pages::banner::with_own_banner(
            state,
            actor,
            Layout::new(state, actor, "My appointments", "/my/appointments", csrf)
                .with_notice(notice_code),
        )
        .await?,
        upcoming,
        past,
        departments: department_options(&departments, &form.department_id, Some("Any")),
        doctors: clinician_options(&doctors, &form.clinician_id, Some("Any doctor")),
        kinds: kind_options(&form.kind),
        zone: zone_name(state),
        other_errors: other_messages(
            &errors,
            &[
                "department_id",
                "clinician_id",
                "start",
                "preferred_times",
                "type",
                "reason",
            ],
        ),
        form,
        errors,
    })
}

/// `GET /my/appointments`: a patient's upcoming and past appointments and requests.
pub async fn my_appointments(
    PageRequest { state, actor, csrf }: PageRequest,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    my_appointments_page(
        &state,
        &actor,
        csrf,
        RequestForm::default(),
        ValidationErrors::new(),
        notice,
    )
    .await
}

/// `POST /my/appointments`: a patient requests a consultation.
pub async fn request_appointment(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<RequestForm>,
) -> Result<Response, PageError> {
    let input = RequestInput {
        patient_id: None,
        department_id: optional(&form.department_id),
        clinician_id: optional(&form.clinician_id),
        start: localize_form_datetime(&form.start, state.services.clinic_time_zone()),
        preferred_times: optional(&form.preferred_times),
        kind: optional(&form.kind),
        reason: form.reason.clone(),
    };
    match state.services.request_appointment(&actor, input).await {
        Ok(_) => Ok(Redirect::to("/my/appointments?notice=request-sent").into_response()),
        Err(err) => {
            let errors = match form_errors(err, "start")? {
                FormOutcome::Invalid(errors) => errors,
                FormOutcome::Taken(_) => ValidationErrors::single("start", TAKEN),
            };
            Ok(with_status(
                my_appointments_page(&state, &actor, csrf, form, errors, None).await?,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}
