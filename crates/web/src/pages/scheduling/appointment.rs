//! One appointment: its page, status changes, rescheduling and accepting a request.

use super::*;

/// A labelled fact of the appointment page: `<div data-field="{name}">`.
#[derive(Debug, Clone)]
struct Fact {
    name: &'static str,
    label: &'static str,
    value: Option<String>,
    note: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "appointment.html")]
struct AppointmentPage {
    layout: Layout,
    item: AppointmentItem,
    facts: Vec<Fact>,
    patient_href: Option<String>,
    may_reschedule: bool,
    /// The datetime-local value of the current start, for the reschedule and accept forms.
    start_value: String,
    duration: i64,
    seen: String,
    clinicians: Vec<SelectOption>,
    free: Vec<FreeSlot>,
    zone: String,
    errors: ValidationErrors,
    conflict: Option<ConflictView>,
    /// The form that failed, so its messages show there: `status`, `reschedule`, `accept`.
    failed_form: &'static str,
    reason_value: String,
    /// The nurse's latest triage of the visit (full view of the patient only).
    triage: Option<crate::pages::nursing::TriageSummary>,
    /// The triage form, offered to nurses while the visit is checked in or in progress
    /// (presentation only: the service decides).
    triage_href: Option<String>,
}

struct PageProblem {
    errors: ValidationErrors,
    conflict: Option<ConflictView>,
    form: &'static str,
    reason: String,
}

impl PageProblem {
    fn none() -> Self {
        Self {
            errors: ValidationErrors::new(),
            conflict: None,
            form: "",
            reason: String::new(),
        }
    }
}

async fn appointment_page(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: AppointmentId,
    problem: PageProblem,
    notice_code: Option<&'static str>,
) -> Result<Response, PageError> {
    let a = state.services.get_appointment(actor, id).await?;
    let mut facts = vec![
        Fact {
            name: "patient",
            label: "Patient",
            value: Some(a.patient_label.clone()),
            note: (visibility(a.patient_view, PatientField::FamilyName) == Visibility::Pseudonym)
                .then_some("pseudonym"),
        },
        Fact {
            name: "when",
            label: "When",
            value: Some(format!(
                "{}–{} ({})",
                local(state, a.start, "%a %Y-%m-%d %H:%M"),
                local(state, a.end, "%H:%M"),
                zone_name(state)
            )),
            note: None,
        },
        Fact {
            name: "clinician",
            label: "Clinician",
            value: a.clinician_name.clone(),
            note: None,
        },
        Fact {
            name: "department",
            label: "Department",
            value: Some(a.department_name.clone()),
            note: None,
        },
        Fact {
            name: "type",
            label: "Type",
            value: Some(kind_label(a.kind).to_owned()),
            note: None,
        },
        Fact {
            name: "status",
            label: "Status",
            value: Some(status_label(a.status).to_owned()),
            note: None,
        },
    ];
    if let Some(reason) = &a.reason {
        facts.push(Fact {
            name: "reason",
            label: "Reason",
            value: Some(reason.clone()),
            note: None,
        });
    }
    let mut shown = |name, label, value: &Option<Option<String>>| {
        if let Some(v) = value {
            facts.push(Fact {
                name,
                label,
                value: v.clone().filter(|v| !v.is_empty()),
                note: None,
            });
        }
    };
    shown("notes", "Notes", &a.notes);
    shown(
        "preferred_times",
        "Other preferred times",
        &a.preferred_times,
    );
    // Why it was cancelled or declined: only where that happened or a reason was given.
    if a.status == AppointmentStatus::Cancelled
        || a.status_reason.as_ref().is_some_and(Option::is_some)
    {
        shown(
            "status_reason",
            "Why cancelled or declined",
            &a.status_reason,
        );
    }
    let acceptable = a.next_statuses.contains(&AppointmentStatus::Scheduled);
    let mut clinicians = Vec::new();
    let mut free = Vec::new();
    let current_clinician = a.clinician_id.map(|c| c.to_string()).unwrap_or_default();
    if acceptable || a.may_reschedule {
        if let Ok(staff) = state.services.staff_directory(actor).await {
            clinicians = clinician_options(&staff, &current_clinician, Some("Keep / choose…"));
        }
        if let Some(clinician) = a.clinician_id {
            let tz = state.services.clinic_time_zone();
            let date = a.start.with_timezone(&tz).date_naive();
            if let Ok(availability) = state.services.availability(actor, clinician, date).await {
                free = day_slots(state, &availability.free);
            }
        }
    }
    let patient_href = actor
        .role()
        .is_some_and(Role::is_staff)
        .then(|| format!("/patients/{}", a.patient_id));
    let triage = a
        .triage
        .as_ref()
        .map(|t| crate::pages::nursing::TriageSummary::new(state, t));
    let triage_href = (actor.may(Action::NursingCare)
        && a.patient_view == carevault_core::masking::PatientView::Full
        && carevault_core::nursing::may_be_triaged(a.status))
    .then(|| format!("/appointments/{}/triage", a.id));
    let item = item(state, &a);
    let layout = Layout::new(state, actor, "Appointment", "", csrf).with_notice(notice_code);
    render(&AppointmentPage {
        layout: crate::pages::banner::with_banner(state, actor, layout, a.patient_id).await?,
        facts,
        patient_href,
        may_reschedule: a.may_reschedule,
        start_value: input_value(state, a.start),
        duration: (a.end - a.start).num_minutes(),
        seen: a.updated_at.to_rfc3339(),
        clinicians,
        free,
        zone: zone_name(state),
        errors: problem.errors,
        conflict: problem.conflict,
        failed_form: problem.form,
        reason_value: problem.reason,
        item,
        triage,
        triage_href,
    })
}

/// `GET /appointments/{id}`.
pub async fn appointment(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    QueryNotice(notice): QueryNotice,
) -> Result<Response, PageError> {
    let id = parse_appointment_id(&id)?;
    appointment_page(&state, &actor, csrf, id, PageProblem::none(), notice).await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    reason: String,
    return_to: String,
}

impl std::fmt::Debug for StatusForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusForm")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// `POST /appointments/{id}/status`: check in, start, complete, cancel (with a reason),
/// decline a request, mark a no-show.
pub async fn change_status(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let id = parse_appointment_id(&id)?;
    let reason = optional(&form.reason);
    if form.status.trim() == AppointmentStatus::Cancelled.as_str() && reason.is_none() {
        let problem = PageProblem {
            errors: ValidationErrors::single("reason", "is required to cancel"),
            conflict: None,
            form: "status",
            reason: String::new(),
        };
        return Ok(with_status(
            appointment_page(&state, &actor, csrf, id, problem, None).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    match state
        .services
        .change_appointment_status(&actor, id, &form.status, reason.as_deref())
        .await
    {
        Ok(_) => {
            let back = RETURN_PAGES
                .iter()
                .find(|p| **p == form.return_to)
                .map_or_else(|| format!("/appointments/{id}"), |p| (*p).to_owned());
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}notice=status-changed")).into_response())
        }
        Err(err) => {
            let (errors, conflict, status) = match form_errors(err, "status")? {
                FormOutcome::Invalid(errors) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
                FormOutcome::Taken(c) => (
                    ValidationErrors::single("status", c.message.clone()),
                    Some(conflict_view(&state, &c)),
                    StatusCode::CONFLICT,
                ),
            };
            let problem = PageProblem {
                errors,
                conflict,
                form: "status",
                reason: form.reason,
            };
            Ok(with_status(
                appointment_page(&state, &actor, csrf, id, problem, None).await?,
                status,
            ))
        }
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct SlotForm {
    clinician_id: String,
    start: String,
    duration_minutes: String,
    /// A free slot picked with its button: used instead of `start`.
    slot: String,
    seen: String,
}

impl SlotForm {
    pub(super) fn input(&self, state: &AppState) -> SlotInput {
        let start = optional(&self.slot).unwrap_or_else(|| self.start.clone());
        SlotInput {
            clinician_id: optional(&self.clinician_id),
            start: localize_form_datetime(&start, state.services.clinic_time_zone()),
            end: None,
            duration_minutes: optional(&self.duration_minutes),
        }
    }
}

async fn slot_failure(
    state: &AppState,
    actor: &Actor,
    csrf: String,
    id: AppointmentId,
    err: ServiceError,
    form: &'static str,
) -> Result<Response, PageError> {
    let (errors, conflict, status) = match form_errors(err, "start")? {
        FormOutcome::Invalid(errors) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        FormOutcome::Taken(c) => (
            ValidationErrors::single("start", TAKEN),
            Some(conflict_view(state, &c)),
            StatusCode::CONFLICT,
        ),
    };
    let problem = PageProblem {
        errors,
        conflict,
        form,
        reason: String::new(),
    };
    Ok(with_status(
        appointment_page(state, actor, csrf, id, problem, None).await?,
        status,
    ))
}

/// `POST /appointments/{id}/reschedule`.
pub async fn reschedule(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<SlotForm>,
) -> Result<Response, PageError> {
    let id = parse_appointment_id(&id)?;
    let seen = DateTime::parse_from_rfc3339(form.seen.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc));
    match state
        .services
        .reschedule_appointment(&actor, id, form.input(&state), seen)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/appointments/{id}?notice=appointment-rescheduled"
        ))
        .into_response()),
        Err(err) => slot_failure(&state, &actor, csrf, id, err, "reschedule").await,
    }
}

/// `POST /appointments/{id}/accept`: accepts a request into a slot.
pub async fn accept(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
    Form(form): Form<SlotForm>,
) -> Result<Response, PageError> {
    let id = parse_appointment_id(&id)?;
    match state
        .services
        .accept_request(&actor, id, form.input(&state))
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/appointments/{id}?notice=request-accepted")).into_response(),
        ),
        Err(err) => slot_failure(&state, &actor, csrf, id, err, "accept").await,
    }
}
