//! Booking an appointment: the form and its submission, with the conflict answer.

use super::*;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct BookingQuery {
    patient: String,
    clinician: String,
    start: String,
    duration: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct BookingForm {
    patient_id: String,
    clinician_id: String,
    start: String,
    duration_minutes: String,
    #[serde(rename = "type")]
    kind: String,
    reason: String,
    notes: String,
    /// A free slot picked from a conflict's offers: fills the start field, books nothing.
    prefill_start: String,
}

carevault_core::opaque_debug!(BookingForm);

#[derive(Template)]
#[template(path = "appointment_form.html")]
struct BookingPage {
    layout: Layout,
    patient_id: String,
    patient_label: String,
    patient_href: String,
    clinicians: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    form: BookingForm,
    zone: String,
    errors: ValidationErrors,
    /// Messages about fields the form has no input for.
    other_errors: Vec<String>,
    conflict: Option<ConflictView>,
}

async fn booking_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    patient: PatientId,
    form: BookingForm,
    errors: ValidationErrors,
    conflict: Option<ConflictView>,
) -> Result<Response, PageError> {
    let banner = state.services.patient_banner(actor, patient).await?;
    let staff = state.services.staff_directory(actor).await?;
    let mut clinicians = clinician_options(&staff, &form.clinician_id, Some("Choose…"));
    if actor.role() == Some(Role::Doctor) {
        let own = actor.user_id().map(|u| u.to_string()).unwrap_or_default();
        clinicians.retain(|o| o.value == own);
    }
    render(&BookingPage {
        layout: Layout::new(state, actor, "Book an appointment", "/patients", csrf)
            .with_banner(&banner),
        patient_id: patient.to_string(),
        patient_label: banner.name.clone(),
        patient_href: format!("/patients/{patient}"),
        clinicians,
        kinds: kind_options(&form.kind),
        zone: zone_name(state),
        other_errors: other_messages(
            &errors,
            &[
                "clinician_id",
                "start",
                "end",
                "duration_minutes",
                "type",
                "reason",
                "notes",
            ],
        ),
        form,
        errors,
        conflict,
    })
}

/// `GET /appointments/new?patient=…&clinician=…&start=…`: the booking form.
pub async fn booking_form(
    PageRequest { state, actor, csrf }: PageRequest,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    state.services.may_book_appointments(&actor).await?;
    let query: BookingQuery = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::invalid(e.to_string()))?;
    let patient: PatientId = query.patient.trim().parse().map_err(|_| {
        PageError::invalid("Open the booking form from a patient's page (the patient is missing).")
    })?;
    let mut clinician = query.clinician.clone();
    if clinician.is_empty() && actor.role() == Some(Role::Doctor) {
        clinician = actor.user_id().map(|u| u.to_string()).unwrap_or_default();
    }
    let form = BookingForm {
        patient_id: patient.to_string(),
        clinician_id: clinician,
        start: query.start,
        duration_minutes: query.duration,
        kind: query.kind,
        ..BookingForm::default()
    };
    booking_page(
        &state,
        &actor,
        csrf,
        patient,
        form,
        ValidationErrors::new(),
        None,
    )
    .await
}

pub(super) fn optional(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// `POST /appointments/new`: books, then shows the appointment.
pub async fn book(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(mut form): Form<BookingForm>,
) -> Result<Response, PageError> {
    let patient: Option<PatientId> = form.patient_id.trim().parse().ok();
    if let Some(pick) = optional(&form.prefill_start) {
        let Some(patient) = patient else {
            return Err(not_found("patient"));
        };
        form.start = pick;
        form.prefill_start.clear();
        return booking_page(
            &state,
            &actor,
            csrf,
            patient,
            form,
            ValidationErrors::new(),
            None,
        )
        .await;
    }
    let input = BookingInput {
        patient_id: form.patient_id.clone(),
        clinician_id: form.clinician_id.clone(),
        department_id: None,
        start: localize_form_datetime(&form.start, state.services.clinic_time_zone()),
        end: None,
        duration_minutes: optional(&form.duration_minutes),
        kind: optional(&form.kind),
        reason: form.reason.clone(),
        notes: optional(&form.notes),
    };
    let outcome = match state.services.book_appointment(&actor, input).await {
        Ok(view) => {
            return Ok(Redirect::to(&format!(
                "/appointments/{}?notice=appointment-booked",
                view.id
            ))
            .into_response());
        }
        Err(err) => form_errors(err, "start")?,
    };
    let Some(patient) = patient else {
        return Err(PageError::invalid(
            "The patient is missing or not a valid id.",
        ));
    };
    let (errors, conflict, status) = match outcome {
        FormOutcome::Invalid(errors) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        FormOutcome::Taken(conflict) => (
            ValidationErrors::single("start", TAKEN),
            Some(conflict_view(&state, &conflict)),
            StatusCode::CONFLICT,
        ),
    };
    Ok(with_status(
        booking_page(&state, &actor, csrf, patient, form, errors, conflict).await?,
        status,
    ))
}
