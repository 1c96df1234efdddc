//! Registering and editing a patient.

use super::*;

fn register_page(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    values: &PatientForm,
    fields: &[PatientField],
    errors: &ValidationErrors,
    duplicates: Vec<ListRow>,
) -> PatientFormPage {
    let sections = form_sections(fields, values, errors, false);
    PatientFormPage {
        layout: Layout::new(state, actor, "Register a patient", "/patients", csrf),
        action: "/patients/new".to_owned(),
        submit_label: "Register",
        cancel_href: "/patients".to_owned(),
        intro: "Fields marked as optional may be left empty. A hospital number (MRN) is assigned when the patient is registered. Every registration is recorded in the audit trail.",
        problems: unplaced_errors(&sections, errors),
        has_errors: !errors.is_empty(),
        sections,
        duplicates,
        seen: None,
        allergy_list_href: None,
    }
}

/// `GET /patients/new`: the registration form.
pub async fn new_form(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    // The service says which fields the actor may fill in (and records a refusal).
    let fields = state.services.writable_patient_fields(&actor, None).await?;
    render(&register_page(
        &state,
        &actor,
        csrf,
        &PatientForm::default(),
        &fields,
        &ValidationErrors::new(),
        Vec::new(),
    ))
}

/// `POST /patients/new`: registers the patient, or shows the form again with the problems
/// (422) or the possible duplicates (409).
pub async fn register(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<PatientForm>,
) -> Result<Response, PageError> {
    let anyway = form.register_anyway.as_deref() == Some("true");
    let result = state
        .services
        .register_patient(&actor, form.to_input(), anyway)
        .await;
    let (errors, duplicates, status) = match result {
        Ok(Registration::Registered(details)) => {
            return Ok(Redirect::to(&format!(
                "/patients/{}?notice=patient-registered",
                details.id
            ))
            .into_response());
        }
        Ok(Registration::PossibleDuplicates(matches)) => (
            ValidationErrors::new(),
            matches.iter().map(ListRow::from).collect(),
            StatusCode::CONFLICT,
        ),
        Err(ServiceError::Validation(errors)) => {
            (errors, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => return Err(other.into()),
    };
    let values = PatientForm {
        register_anyway: None,
        ..form
    };
    let fields = state.services.writable_patient_fields(&actor, None).await?;
    let mut response = render(&register_page(
        &state, &actor, csrf, &values, &fields, &errors, duplicates,
    ))?;
    *response.status_mut() = status;
    Ok(response)
}

fn edit_page(
    layout: Layout,
    role: Option<Role>,
    id: PatientId,
    fields: &[PatientField],
    values: &PatientForm,
    errors: &ValidationErrors,
) -> PatientFormPage {
    let with_status = matches!(values.status.as_deref(), Some("active" | "deceased"));
    let sections = form_sections(fields, values, errors, with_status);
    let back = if role == Some(Role::Patient) {
        "/my/record".to_owned()
    } else {
        patient_href(id)
    };
    PatientFormPage {
        layout,
        action: format!("/patients/{id}/edit"),
        submit_label: "Save changes",
        cancel_href: back,
        intro: "Only the fields you may change are shown. Emptying an optional field removes it from the record. Every change is recorded in the audit trail.",
        problems: unplaced_errors(&sections, errors),
        has_errors: !errors.is_empty(),
        sections,
        duplicates: Vec::new(),
        seen: values.seen.clone(),
        // Presentation only: the allergy page itself says who may read and change it.
        allergy_list_href: matches!(role, Some(Role::Admin | Role::Doctor | Role::Nurse))
            .then(|| format!("{}/allergies", patient_href(id))),
    }
}

fn edit_layout(
    state: &AppState,
    actor: &carevault_service::Actor,
    csrf: String,
    title: &str,
) -> Layout {
    let current = if actor.reaches_own_record_only() {
        "/my/record"
    } else {
        "/patients"
    };
    Layout::new(state, actor, title, current, csrf)
}

/// `GET /patients/{id}/edit`: the fields the actor may change, filled in.
pub async fn edit_form(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let fields = state
        .services
        .writable_patient_fields(&actor, Some(id))
        .await?;
    let details = state.services.get_patient(&actor, id).await?;
    let title = format!("Edit {}", details.display_name());
    let layout = with_banner(
        &state,
        &actor,
        edit_layout(&state, &actor, csrf, &title),
        id,
    )
    .await?;
    render(&edit_page(
        layout,
        actor.role(),
        id,
        &fields,
        &PatientForm::from_details(&details),
        &ValidationErrors::new(),
    ))
}

/// `POST /patients/{id}/edit`: saves the change, or shows the form again with the problems
/// next to their fields (422).
pub async fn update(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<PatientForm>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let (errors, status) = match state
        .services
        .update_patient(&actor, id, form.to_input(), form.seen())
        .await
    {
        Ok(_) if actor.reaches_own_record_only() => {
            return Ok(Redirect::to("/my/record?notice=patient-updated").into_response());
        }
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{id}?notice=patient-updated")).into_response(),
            );
        }
        Err(ServiceError::Validation(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(ServiceError::Conflict { message, .. }) => (
            ValidationErrors::single("Not saved:", message),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    let fields = state
        .services
        .writable_patient_fields(&actor, Some(id))
        .await?;
    let layout = with_banner(
        &state,
        &actor,
        edit_layout(&state, &actor, csrf, "Edit patient"),
        id,
    )
    .await?;
    let mut response = render(&edit_page(
        layout,
        actor.role(),
        id,
        &fields,
        &form,
        &errors,
    ))?;
    *response.status_mut() = status;
    Ok(response)
}
