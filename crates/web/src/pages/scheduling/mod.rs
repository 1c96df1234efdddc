//! Scheduling pages: departments, the staff directory, calendars, the check-in desk, a
//! patient's appointments and requests, and the appointment report.
//!
//! The service decides who may see and do what, and masks patients as the actor may see
//! them: a field it did not send is not rendered at all. Handlers parse the form, call one
//! use case and redirect (303) or render the form again with the messages next to their
//! fields (422; a double booking 409, with the conflicting slots and the next free ones).
//! Times are shown, and `datetime-local` inputs read, in the clinic's time zone. Which
//! links and forms a page offers follows the role and `next_statuses`: presentation only.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use carevault_core::Action;
use carevault_core::appointment::{AppointmentStatus, AppointmentType, TimeSlot};
use carevault_core::masking::{PatientField, Visibility, visibility};
use carevault_core::{
    AppointmentId, DepartmentId, Grant, PatientId, Role, UserId, ValidationErrors,
};
use carevault_service::scheduling::{
    AppointmentQuery, AppointmentReport, AppointmentView, BookingInput, Department,
    DepartmentInput, RequestInput, SlotConflict, SlotInput, StaffMember, StaffProfileInput,
    localize_form_datetime,
};
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken, query_params};
use crate::pages::{
    Layout, csv_download, month_start, not_found, notice, notice_in_query, render, report_range,
    with_status,
};
use crate::routes::{Access, RouteTable};

/// The file name browsers save the appointment report as.
pub const REPORT_CSV_FILE_NAME: &str = "appointment-report.csv";

/// Adds the scheduling pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .add(
            &[
                ("GET", Action::UseAccount),
                ("POST", Action::ManageDepartments),
            ],
            "/departments",
            Page,
            get(departments).post(create_department),
        )
        .add(
            &[
                ("GET", Action::ManageDepartments),
                ("POST", Action::ManageDepartments),
            ],
            "/departments/{id}/edit",
            Page,
            get(edit_department_form).post(update_department),
        )
        .add(&[("GET", Action::SeeStaff)], "/staff", Page, get(staff))
        .add(
            &[
                ("GET", Action::ManageDepartments),
                ("POST", Action::ManageDepartments),
            ],
            "/staff/{id}/edit",
            Page,
            get(edit_staff_form).post(update_staff),
        )
        .add(
            &[
                ("GET", Action::BookAppointments),
                ("POST", Action::BookAppointments),
            ],
            "/appointments/new",
            Page,
            get(booking_form).post(book),
        )
        .add(
            &[("GET", Action::Appointments)],
            "/appointments/requests",
            Page,
            get(requests),
        )
        .add(
            &[("GET", Action::OfficeReports)],
            "/appointments/report",
            Page,
            get(report),
        )
        .add(
            &[("GET", Action::OfficeReports)],
            "/appointments/report.csv",
            Page,
            get(report_csv),
        )
        .add(
            &[("GET", Action::Appointments)],
            "/appointments/{id}",
            Page,
            get(appointment),
        )
        .add(
            &[("POST", Action::Appointments)],
            "/appointments/{id}/status",
            Page,
            axum::routing::post(change_status),
        )
        .add(
            &[("POST", Action::Appointments)],
            "/appointments/{id}/reschedule",
            Page,
            axum::routing::post(reschedule),
        )
        .add(
            &[("POST", Action::Appointments)],
            "/appointments/{id}/accept",
            Page,
            axum::routing::post(accept),
        )
        .add(
            &[("GET", Action::Appointments)],
            "/schedule",
            Page,
            get(schedule),
        )
        .add(
            &[("GET", Action::Appointments)],
            "/appointments.csv",
            Page,
            get(schedule_csv),
        )
        .add(
            &[("GET", Action::Appointments)],
            "/my/day",
            Page,
            get(my_day),
        )
        .add(&[("GET", Action::Appointments)], "/desk", Page, get(desk))
        .add(
            &[("GET", Action::UsePortal), ("POST", Action::UsePortal)],
            "/my/appointments",
            Page,
            get(my_appointments).post(request_appointment),
        )
}

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/// The clinic's local date-time of `at`, as text.
fn local(state: &AppState, at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&state.services.clinic_time_zone())
        .format(format)
        .to_string()
}

/// The value of a `datetime-local` input for `at`.
fn input_value(state: &AppState, at: DateTime<Utc>) -> String {
    local(state, at, "%Y-%m-%dT%H:%M")
}

fn zone_name(state: &AppState) -> String {
    state.services.clinic_time_zone().name().to_owned()
}

fn parse_appointment_id(raw: &str) -> Result<AppointmentId, PageError> {
    raw.parse().map_err(|_| not_found("appointment"))
}

pub(crate) fn status_label(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Requested => "Requested",
        AppointmentStatus::Scheduled => "Scheduled",
        AppointmentStatus::CheckedIn => "Checked in",
        AppointmentStatus::InProgress => "In progress",
        AppointmentStatus::Completed => "Completed",
        AppointmentStatus::Cancelled => "Cancelled",
        AppointmentStatus::NoShow => "No-show",
    }
}

/// The button that moves an appointment to `status`.
fn action_label(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Requested => "Back to requested",
        AppointmentStatus::Scheduled => "Accept",
        AppointmentStatus::CheckedIn => "Check in",
        AppointmentStatus::InProgress => "Start",
        AppointmentStatus::Completed => "Complete",
        AppointmentStatus::Cancelled => "Cancel",
        AppointmentStatus::NoShow => "Mark no-show",
    }
}

fn kind_label(kind: AppointmentType) -> &'static str {
    match kind {
        AppointmentType::Consultation => "Consultation",
        AppointmentType::FollowUp => "Follow-up",
        AppointmentType::Procedure => "Procedure",
    }
}

/// A choice in a `<select>`.
#[derive(Debug, Clone)]
struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

fn option(value: impl Into<String>, label: impl Into<String>, current: &str) -> SelectOption {
    let value = value.into();
    SelectOption {
        selected: value == current,
        label: label.into(),
        value,
    }
}

fn kind_options(current: &str) -> Vec<SelectOption> {
    AppointmentType::ALL
        .iter()
        .map(|k| option(k.as_str(), kind_label(*k), current))
        .collect()
}

/// Doctors and nurses of the directory, for a clinician select.
fn clinician_options(
    staff: &[StaffMember],
    current: &str,
    with_blank: Option<&str>,
) -> Vec<SelectOption> {
    let mut options: Vec<SelectOption> = with_blank
        .map(|label| option("", label, current))
        .into_iter()
        .collect();
    options.extend(
        staff
            .iter()
            .filter(|s| matches!(s.role, Role::Doctor | Role::Nurse) && s.active)
            .map(|s| {
                let mut label = s.display_name.clone();
                if let Some(d) = &s.department_name {
                    label.push_str(" — ");
                    label.push_str(d);
                }
                option(s.id.to_string(), label, current)
            }),
    );
    options
}

fn department_options(
    departments: &[Department],
    current: &str,
    with_blank: Option<&str>,
) -> Vec<SelectOption> {
    let mut options: Vec<SelectOption> = with_blank
        .map(|label| option("", label, current))
        .into_iter()
        .collect();
    options.extend(departments.iter().filter(|d| d.active).map(|d| {
        option(
            d.id.to_string(),
            format!("{} ({})", d.name, d.code),
            current,
        )
    }));
    options
}

/// Turns a service error on a form into the messages next to its fields; anything else
/// becomes the error page.
fn form_errors(err: ServiceError, default_field: &'static str) -> Result<FormOutcome, PageError> {
    match err {
        ServiceError::Validation(errors) => Ok(FormOutcome::Invalid(errors)),
        ServiceError::Conflict { field, message } => Ok(FormOutcome::Invalid(
            ValidationErrors::single(field.unwrap_or(default_field), message),
        )),
        ServiceError::SlotTaken(conflict) => Ok(FormOutcome::Taken(conflict)),
        other => Err(other.into()),
    }
}

/// The messages of `errors` about fields other than `shown`, for the summary at the top.
fn other_messages(errors: &ValidationErrors, shown: &[&str]) -> Vec<String> {
    errors
        .0
        .iter()
        .filter(|e| !shown.contains(&e.field.as_str()))
        .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
        .collect()
}

/// Why a form is shown again.
enum FormOutcome {
    Invalid(ValidationErrors),
    Taken(Box<SlotConflict>),
}

/// The message next to the start field when the slot is taken (the conflict box above the
/// form says by what).
const TAKEN: &str = "is already taken: choose one of the free slots offered, or another time";

/// A booked slot that collided, as the caller may see it.
#[derive(Debug, Clone)]
struct ConflictRow {
    time: String,
    taken_for: &'static str,
    clinician: Option<String>,
    patient: String,
}

/// A free slot offered instead.
#[derive(Debug, Clone)]
struct FreeSlot {
    value: String,
    label: String,
}

fn free_slots(state: &AppState, slots: &[TimeSlot]) -> Vec<FreeSlot> {
    slots
        .iter()
        .map(|s| FreeSlot {
            value: input_value(state, s.start()),
            label: format!(
                "{}–{}",
                local(state, s.start(), "%a %d %b %H:%M"),
                local(state, s.end(), "%H:%M")
            ),
        })
        .collect()
}

/// Free slots of one day, labelled by time only.
fn day_slots(state: &AppState, slots: &[TimeSlot]) -> Vec<FreeSlot> {
    slots
        .iter()
        .map(|s| FreeSlot {
            value: input_value(state, s.start()),
            label: format!(
                "{}–{}",
                local(state, s.start(), "%H:%M"),
                local(state, s.end(), "%H:%M")
            ),
        })
        .collect()
}

/// What a conflict shows: the message, the collisions and the next free slots.
#[derive(Debug, Clone, Default)]
struct ConflictView {
    message: String,
    conflicts: Vec<ConflictRow>,
    free: Vec<FreeSlot>,
}

fn conflict_view(state: &AppState, conflict: &SlotConflict) -> ConflictView {
    ConflictView {
        message: conflict.message.clone(),
        conflicts: conflict
            .conflicts
            .iter()
            .map(|c| ConflictRow {
                time: format!(
                    "{}–{}",
                    local(state, c.start, "%a %d %b %H:%M"),
                    local(state, c.end, "%H:%M")
                ),
                taken_for: c.taken_for,
                clinician: c.clinician_name.clone(),
                patient: c.patient_label.clone(),
            })
            .collect(),
        free: free_slots(state, &conflict.next_free),
    }
}

/// A status change offered as a button.
#[derive(Debug, Clone)]
struct StatusAction {
    status: &'static str,
    label: &'static str,
}

/// One appointment in a list or calendar.
#[derive(Debug, Clone)]
struct AppointmentItem {
    id: String,
    href: String,
    day: String,
    time: String,
    patient: String,
    /// The patient's chart, when the patient is shown by name.
    patient_href: Option<String>,
    /// The patient is shown by pseudonym.
    pseudonym: bool,
    clinician: String,
    department: String,
    kind: &'static str,
    status: &'static str,
    status_code: &'static str,
    reason: Option<String>,
    status_reason: Option<String>,
    /// Status changes that need no reason (check in, start, complete, no-show).
    actions: Vec<StatusAction>,
    cancellable: bool,
    acceptable: bool,
    /// The nurse's triage, for those with the full view: "ESI 3 · Urgent".
    triage: Option<String>,
    /// The triage's acuity calls for a clinician at once (ESI 1 or 2).
    triage_urgent: bool,
    /// A vital sign measured at triage is outside its reference range.
    triage_abnormal: bool,
}

fn item(state: &AppState, a: &AppointmentView) -> AppointmentItem {
    AppointmentItem {
        id: a.id.to_string(),
        href: format!("/appointments/{}", a.id),
        day: local(state, a.start, "%a %Y-%m-%d"),
        time: format!(
            "{}–{}",
            local(state, a.start, "%H:%M"),
            local(state, a.end, "%H:%M")
        ),
        patient: a.patient_label.clone(),
        patient_href: (visibility(a.patient_view, PatientField::FamilyName) == Visibility::Clear)
            .then(|| format!("/patients/{}", a.patient_id)),
        pseudonym: visibility(a.patient_view, PatientField::FamilyName) == Visibility::Pseudonym,
        clinician: a
            .clinician_name
            .clone()
            .unwrap_or_else(|| "any clinician".to_owned()),
        department: a.department_name.clone(),
        kind: kind_label(a.kind),
        status: status_label(a.status),
        status_code: a.status.as_str(),
        reason: a.reason.clone(),
        triage: a.triage.as_ref().map(|t| t.acuity.label()),
        triage_urgent: a.triage.as_ref().is_some_and(|t| t.acuity.is_high()),
        triage_abnormal: a
            .triage
            .as_ref()
            .and_then(|t| t.vitals.as_ref())
            .is_some_and(|v| v.any_abnormal()),
        status_reason: a.status_reason.clone().flatten(),
        actions: a
            .next_statuses
            .iter()
            .filter(|s| {
                !matches!(
                    s,
                    AppointmentStatus::Cancelled | AppointmentStatus::Scheduled
                )
            })
            .map(|s| StatusAction {
                status: s.as_str(),
                label: action_label(*s),
            })
            .collect(),
        cancellable: a.next_statuses.contains(&AppointmentStatus::Cancelled),
        acceptable: a.next_statuses.contains(&AppointmentStatus::Scheduled),
    }
}

/// Where a status form may send the browser back to (a fixed list: no open redirect).
const RETURN_PAGES: [&str; 5] = [
    "/my/day",
    "/desk",
    "/my/appointments",
    "/appointments/requests",
    "/schedule",
];

fn is_admin(actor: &Actor) -> bool {
    actor.grant(Action::AdministerSystem) == Grant::Yes
}

// ---------------------------------------------------------------------------------------
// Departments
// ---------------------------------------------------------------------------------------

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
    fn input(&self) -> DepartmentInput {
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let form = DepartmentForm {
        active: Some("on".into()),
        ..DepartmentForm::default()
    };
    departments_page(
        &state,
        &actor,
        csrf,
        form,
        ValidationErrors::new(),
        notice_in_query(raw.as_deref()),
    )
    .await
}

/// `POST /departments`: creates a department (administrators).
pub async fn create_department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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

// ---------------------------------------------------------------------------------------
// Staff
// ---------------------------------------------------------------------------------------

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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let members = state.services.staff_directory(&actor).await?;
    let admin = is_admin(&actor);
    let for_patient = actor.role() == Some(Role::Patient);
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
            schedule_href: (!for_patient && matches!(s.role, Role::Doctor | Role::Nurse))
                .then(|| format!("/schedule?clinician={}", s.id)),
        })
        .collect();
    let title = if for_patient {
        "Our doctors"
    } else {
        "Staff directory"
    };
    render(&StaffPage {
        layout: Layout::new(&state, &actor, title, "/staff", csrf)
            .with_notice(notice_in_query(raw.as_deref())),
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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

// ---------------------------------------------------------------------------------------
// Booking
// ---------------------------------------------------------------------------------------

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

impl std::fmt::Debug for BookingForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BookingForm { .. }")
    }
}

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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    state.services.may_book_appointments(&actor).await?;
    let query: BookingQuery = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let patient: PatientId = query.patient.trim().parse().map_err(|_| {
        PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Open the booking form from a patient's page (the patient is missing).".into()),
        )
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

fn optional(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// `POST /appointments/new`: books, then shows the appointment.
pub async fn book(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("The patient is missing or not a valid id.".into()),
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

// ---------------------------------------------------------------------------------------
// One appointment
// ---------------------------------------------------------------------------------------

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
    let triage_href = (actor.role() == Some(Role::Nurse)
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let id = parse_appointment_id(&id)?;
    appointment_page(
        &state,
        &actor,
        csrf,
        id,
        PageProblem::none(),
        notice_in_query(raw.as_deref()),
    )
    .await
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
    fn input(&self, state: &AppState) -> SlotInput {
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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

// ---------------------------------------------------------------------------------------
// Calendars, my day, the desk
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
struct ScheduleParams {
    clinician: String,
    department: String,
    date: String,
    view: String,
    notice: String,
}

/// One day column of a calendar.
#[derive(Debug, Clone)]
struct DayColumn {
    label: String,
    date: String,
    today: bool,
    items: Vec<AppointmentItem>,
    free: Vec<FreeSlot>,
    href: String,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    layout: Layout,
    heading: String,
    clinicians: Vec<SelectOption>,
    departments: Vec<SelectOption>,
    date: String,
    week: bool,
    days: Vec<DayColumn>,
    previous_href: String,
    next_href: String,
    today_href: String,
    other_view_href: String,
    /// Booking links from free slots need a patient: offered only to those who book.
    zone: String,
    errors: ValidationErrors,
    csv_href: String,
}

fn schedule_href(target: &str, date: NaiveDate, week: bool) -> String {
    let mut href = format!("/schedule?{target}&date={date}");
    if week {
        href.push_str("&view=week");
    }
    href
}

/// What a calendar shows: the day or week, and whose.
struct ScheduleScope {
    date: NaiveDate,
    week: bool,
    clinician: Option<UserId>,
    department: Option<DepartmentId>,
    first: NaiveDate,
    last: NaiveDate,
    departments: Vec<Department>,
}

/// The calendar's day or week and clinician or department from its query (problems go to
/// `errors`). Shared by `/schedule` and its CSV export, so both list the same appointments.
async fn schedule_scope(
    state: &AppState,
    actor: &Actor,
    params: &ScheduleParams,
    errors: &mut ValidationErrors,
) -> Result<ScheduleScope, PageError> {
    let today = state.services.clinic_today();
    let date = match params.date.trim() {
        "" => today,
        raw => errors
            .check(
                "date",
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| "must be a date like 2026-03-02".to_owned()),
            )
            .unwrap_or(today),
    };
    let week = match params.view.trim() {
        "" | "day" => false,
        "week" => true,
        _ => {
            errors.push("view", "must be day or week");
            false
        }
    };
    let clinician: Option<UserId> = match params.clinician.trim() {
        "" => None,
        raw => errors.check(
            "clinician",
            raw.parse().map_err(|_| "is not a valid id".to_owned()),
        ),
    };
    let department: Option<DepartmentId> = match params.department.trim() {
        "" => None,
        raw => errors.check(
            "department",
            raw.parse().map_err(|_| "is not a valid id".to_owned()),
        ),
    };
    let departments = state.services.departments(actor).await?;
    let (clinician, department) = match (clinician, department) {
        (Some(c), _) => (Some(c), None),
        (None, Some(d)) => (None, Some(d)),
        (None, None) => {
            if matches!(actor.role(), Some(Role::Doctor | Role::Nurse)) {
                (actor.user_id(), None)
            } else {
                (None, departments.first().map(|d| d.id))
            }
        }
    };
    let first = if week {
        date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
    } else {
        date
    };
    let last = if week {
        first + Duration::days(6)
    } else {
        first
    };
    Ok(ScheduleScope {
        date,
        week,
        clinician,
        department,
        first,
        last,
        departments,
    })
}

/// The calendar's appointments: the active and finished ones of its days.
fn schedule_query(
    clinician: Option<UserId>,
    department: Option<DepartmentId>,
    first: NaiveDate,
    last: NaiveDate,
) -> AppointmentQuery {
    AppointmentQuery {
        clinician,
        department,
        statuses: vec![
            AppointmentStatus::Scheduled,
            AppointmentStatus::CheckedIn,
            AppointmentStatus::InProgress,
            AppointmentStatus::Completed,
            AppointmentStatus::NoShow,
        ],
        from: Some(first),
        to: Some(last),
        ..AppointmentQuery::default()
    }
}

/// `GET /schedule?clinician=…|department=…&date=…&view=day|week`.
pub async fn schedule(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if actor.role() == Some(Role::Patient) {
        return Ok(Redirect::to("/my/appointments").into_response());
    }
    let mut errors = ValidationErrors::new();
    let params: ScheduleParams = match query_params(raw.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            errors = e;
            ScheduleParams::default()
        }
    };
    let today = state.services.clinic_today();
    let ScheduleScope {
        date,
        week,
        clinician,
        department,
        first,
        last,
        departments,
    } = schedule_scope(&state, &actor, &params, &mut errors).await?;
    let appointments = if errors.is_empty() {
        state
            .services
            .list_appointments(&actor, schedule_query(clinician, department, first, last))
            .await?
    } else {
        Vec::new()
    };
    let staff = state.services.staff_directory(&actor).await?;
    let tz = state.services.clinic_time_zone();
    let heading = match (clinician, department) {
        (Some(c), _) => staff
            .iter()
            .find(|s| s.id == c)
            .map_or_else(|| "Clinician".to_owned(), |s| s.display_name.clone()),
        (None, Some(d)) => departments
            .iter()
            .find(|x| x.id == d)
            .map_or_else(|| "Department".to_owned(), |x| x.name.clone()),
        (None, None) => "No department yet".to_owned(),
    };
    let target = match (clinician, department) {
        (Some(c), _) => format!("clinician={c}"),
        (None, Some(d)) => format!("department={d}"),
        (None, None) => String::new(),
    };
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        let items: Vec<AppointmentItem> = appointments
            .iter()
            .filter(|a| a.start.with_timezone(&tz).date_naive() == day)
            .map(|a| item(&state, a))
            .collect();
        let mut free = Vec::new();
        if let (Some(c), false) = (clinician, week)
            && let Ok(availability) = state.services.availability(&actor, c, day).await
        {
            free = day_slots(&state, &availability.free);
        }
        days.push(DayColumn {
            label: day.format("%a %d %b").to_string(),
            date: day.to_string(),
            today: day == today,
            items,
            free,
            href: schedule_href(&target, day, false),
        });
        day += Duration::days(1);
    }
    let step = if week { 7 } else { 1 };
    let current_clinician = clinician.map(|c| c.to_string()).unwrap_or_default();
    let current_department = department.map(|d| d.to_string()).unwrap_or_default();
    let clinicians = clinician_options(&staff, &current_clinician, Some("—"));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let notice_code = notice(Some(params.notice.as_str()).filter(|n| !n.is_empty()));
    Ok(with_status(
        render(&SchedulePage {
            layout: Layout::new(&state, &actor, "Schedule", "/schedule", csrf)
                .with_notice(notice_code),
            heading,
            clinicians,
            departments: department_options(&departments, &current_department, Some("—")),
            date: date.to_string(),
            week,
            days,
            previous_href: schedule_href(&target, date - Duration::days(step), week),
            next_href: schedule_href(&target, date + Duration::days(step), week),
            today_href: schedule_href(&target, today, week),
            other_view_href: schedule_href(&target, date, !week),
            zone: zone_name(&state),
            errors,
            csv_href: schedule_href(&target, date, week).replacen(
                "/schedule",
                "/appointments.csv",
                1,
            ),
        })?,
        status,
    ))
}

/// The file name browsers save the appointment list export as.
pub const APPOINTMENTS_CSV_FILE_NAME: &str = "appointments.csv";

/// `GET /appointments.csv?clinician=…|department=…&date=…&view=day|week`: the appointments
/// of the calendar with the same query (a patient: their own), as the actor may see them;
/// audited as one export with its row count. Clinical notes are never exported.
pub async fn schedule_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params: ScheduleParams = query_params(raw.as_deref().unwrap_or_default())
        .map_err(|e| PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())))?;
    let query = if actor.role() == Some(Role::Patient) {
        AppointmentQuery::default()
    } else {
        let mut errors = ValidationErrors::new();
        let scope = schedule_scope(&state, &actor, &params, &mut errors).await?;
        if !errors.is_empty() {
            return Err(PageError::Status(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(errors.to_string()),
            ));
        }
        schedule_query(scope.clinician, scope.department, scope.first, scope.last)
    };
    let list = state.services.export_appointments(&actor, query).await?;
    let header = [
        "id",
        "start",
        "end",
        "patient",
        "clinician",
        "department",
        "type",
        "status",
        "reason",
        "status_reason",
    ]
    .map(str::to_owned);
    let time = |at| local(&state, at, "%Y-%m-%d %H:%M");
    let rows = list.iter().map(|a| {
        [
            a.id.to_string(),
            time(a.start),
            time(a.end),
            a.patient_label.clone(),
            a.clinician_name.clone().unwrap_or_default(),
            a.department_name.clone(),
            kind_label(a.kind).to_owned(),
            status_label(a.status).to_owned(),
            a.reason.clone().unwrap_or_default(),
            a.status_reason.clone().flatten().unwrap_or_default(),
        ]
    });
    csv_download(
        APPOINTMENTS_CSV_FILE_NAME,
        std::iter::once(header).chain(rows),
    )
}

#[derive(Template)]
#[template(path = "schedule_list.html")]
struct DayListPage {
    layout: Layout,
    intro: String,
    items: Vec<AppointmentItem>,
    return_to: &'static str,
    show_clinician: bool,
    empty: &'static str,
    /// "Start" opens the appointment's encounter (a doctor's own day).
    starts_encounters: bool,
}

/// `GET /my/day`: the signed-in clinician's appointments today.
pub async fn my_day(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if actor.role() == Some(Role::Patient) {
        return Ok(Redirect::to("/my/appointments").into_response());
    }
    let today = state.services.clinic_today();
    let list = state
        .services
        .list_appointments(
            &actor,
            AppointmentQuery {
                clinician: actor.user_id(),
                statuses: vec![
                    AppointmentStatus::Scheduled,
                    AppointmentStatus::CheckedIn,
                    AppointmentStatus::InProgress,
                    AppointmentStatus::Completed,
                    AppointmentStatus::NoShow,
                ],
                from: Some(today),
                to: Some(today),
                ..AppointmentQuery::default()
            },
        )
        .await?;
    // A doctor's "Start" opens the encounter (the service decides whether they may).
    let starts_encounters = actor.role() == Some(Role::Doctor);
    let items = list
        .iter()
        .map(|a| {
            let mut shown = item(&state, a);
            if starts_encounters {
                shown
                    .actions
                    .retain(|act| act.status != AppointmentStatus::InProgress.as_str());
            }
            shown
        })
        .collect();
    render(&DayListPage {
        layout: Layout::new(&state, &actor, "My day", "/my/day", csrf)
            .with_notice(notice_in_query(raw.as_deref())),
        intro: format!(
            "{} — times in {}.",
            today.format("%A %d %B %Y"),
            zone_name(&state)
        ),
        items,
        return_to: "/my/day",
        show_clinician: false,
        empty: "Nothing booked for you today.",
        starts_encounters,
    })
}

/// `GET /desk`: reception's check-in desk, today's appointments in every department.
pub async fn desk(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if actor.role() == Some(Role::Patient) {
        return Ok(Redirect::to("/my/appointments").into_response());
    }
    let today = state.services.clinic_today();
    let list = state
        .services
        .list_appointments(
            &actor,
            AppointmentQuery {
                statuses: vec![
                    AppointmentStatus::Scheduled,
                    AppointmentStatus::CheckedIn,
                    AppointmentStatus::InProgress,
                ],
                from: Some(today),
                to: Some(today),
                ..AppointmentQuery::default()
            },
        )
        .await?;
    render(&DayListPage {
        layout: Layout::new(&state, &actor, "Check-in desk", "/desk", csrf)
            .with_notice(notice_in_query(raw.as_deref())),
        intro: format!(
            "Today's arrivals, {} — times in {}.",
            today.format("%A %d %B %Y"),
            zone_name(&state)
        ),
        items: list.iter().map(|a| item(&state, a)).collect(),
        return_to: "/desk",
        show_clinician: true,
        empty: "No arrivals expected for the rest of today.",
        starts_encounters: false,
    })
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// A pending request with the free slots of its clinician's day.
#[derive(Debug, Clone)]
struct RequestRow {
    item: AppointmentItem,
    preferred_times: Option<String>,
    start_value: String,
    clinician_id: String,
    free: Vec<FreeSlot>,
}

#[derive(Template)]
#[template(path = "appointment_requests.html")]
struct RequestsPage {
    layout: Layout,
    rows: Vec<RequestRow>,
    clinicians: Vec<SelectOption>,
    zone: String,
}

/// How many requests get their clinician's free slots looked up.
const REQUESTS_WITH_AVAILABILITY: usize = 25;

/// `GET /appointments/requests`: pending requests to accept or decline.
pub async fn requests(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if actor.role() == Some(Role::Patient) {
        return Ok(Redirect::to("/my/appointments").into_response());
    }
    let list = state
        .services
        .list_appointments(
            &actor,
            AppointmentQuery {
                statuses: vec![AppointmentStatus::Requested],
                ..AppointmentQuery::default()
            },
        )
        .await?;
    let staff = state.services.staff_directory(&actor).await?;
    let tz = state.services.clinic_time_zone();
    let mut rows = Vec::new();
    for (index, a) in list.iter().enumerate() {
        let mut free = Vec::new();
        if index < REQUESTS_WITH_AVAILABILITY
            && let Some(clinician) = a.clinician_id
            && a.next_statuses.contains(&AppointmentStatus::Scheduled)
        {
            let date = a.start.with_timezone(&tz).date_naive();
            if let Ok(availability) = state.services.availability(&actor, clinician, date).await {
                free = day_slots(&state, &availability.free);
            }
        }
        rows.push(RequestRow {
            item: item(&state, a),
            preferred_times: a.preferred_times.clone().flatten(),
            start_value: input_value(&state, a.start),
            clinician_id: a.clinician_id.map(|c| c.to_string()).unwrap_or_default(),
            free,
        });
    }
    render(&RequestsPage {
        layout: Layout::new(
            &state,
            &actor,
            "Appointment requests",
            "/appointments/requests",
            csrf,
        )
        .with_notice(notice_in_query(raw.as_deref())),
        rows,
        clinicians: clinician_options(&staff, "", Some("The requested clinician")),
        zone: zone_name(&state),
    })
}

// ---------------------------------------------------------------------------------------
// A patient's own appointments
// ---------------------------------------------------------------------------------------

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

impl std::fmt::Debug for RequestForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestForm { .. }")
    }
}

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
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    my_appointments_page(
        &state,
        &actor,
        csrf,
        RequestForm::default(),
        ValidationErrors::new(),
        notice_in_query(raw.as_deref()),
    )
    .await
}

/// `POST /my/appointments`: a patient requests a consultation.
pub async fn request_appointment(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
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

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

/// One bar of the SVG chart.
#[derive(Debug, Clone)]
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    label: String,
    count: u64,
    /// Draw the label under this bar (not every day fits).
    show_label: bool,
}

#[derive(Debug, Clone)]
struct CountRow {
    label: String,
    count: u64,
}

#[derive(Template)]
#[template(path = "appointment_report.html")]
struct ReportPage {
    layout: Layout,
    from: String,
    to: String,
    errors: ValidationErrors,
    total: u64,
    by_department: Vec<CountRow>,
    by_clinician: Vec<CountRow>,
    by_status: Vec<CountRow>,
    by_day: Vec<CountRow>,
    bars: Vec<Bar>,
    chart_width: u32,
    chart_height: u32,
    max_count: u64,
    csv_href: String,
}

/// Chart geometry.
const CHART_HEIGHT: u32 = 200;
const CHART_TOP: u32 = 20;
const CHART_BOTTOM: u32 = 40;

fn bars(report: &AppointmentReport) -> (Vec<Bar>, u32, u64) {
    let n = u32::try_from(report.by_day.len())
        .unwrap_or(u32::MAX)
        .max(1);
    let width = (720 / n).clamp(4, 40);
    let max = report
        .by_day
        .iter()
        .map(|(_, c)| *c)
        .max()
        .unwrap_or(0)
        .max(1);
    let label_every = (n / 14).max(1);
    let bars = report
        .by_day
        .iter()
        .enumerate()
        .map(|(i, (day, count))| {
            let i = u32::try_from(i).unwrap_or(0);
            let height = u32::try_from(u64::from(CHART_HEIGHT) * count / max).unwrap_or(0);
            Bar {
                x: 40 + i * width,
                y: CHART_TOP + CHART_HEIGHT - height,
                width: width.saturating_sub(2).max(2),
                height,
                label: day.format("%d %b").to_string(),
                count: *count,
                show_label: i % label_every == 0,
            }
        })
        .collect();
    (bars, 40 + n * width + 30, max)
}

fn appointment_range(
    state: &AppState,
    raw: Option<&str>,
) -> (NaiveDate, NaiveDate, ValidationErrors) {
    report_range(state, raw, month_start, |from, _| from + Duration::days(30))
}

/// `GET /appointments/report?from=…&to=…`.
pub async fn report(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, mut errors) = appointment_range(&state, raw.as_deref());
    let mut report = AppointmentReport {
        from,
        to,
        ..AppointmentReport::default()
    };
    if errors.is_empty() {
        match state.services.appointment_report(&actor, from, to).await {
            Ok(r) => report = r,
            Err(ServiceError::Validation(e)) => errors = e,
            Err(other) => return Err(other.into()),
        }
    } else {
        // Who may see the report is decided (and a refusal recorded) before the input is
        // judged: ask for one day so a wrong role still gets its 403.
        state
            .services
            .appointment_report(&actor, from, from)
            .await?;
    }
    let (chart, chart_width, max_count) = bars(&report);
    let counts = |rows: &[(String, u64)]| {
        rows.iter()
            .map(|(label, count)| CountRow {
                label: label.clone(),
                count: *count,
            })
            .collect::<Vec<_>>()
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(with_status(
        render(&ReportPage {
            layout: Layout::new(
                &state,
                &actor,
                "Appointment report",
                "/appointments/report",
                csrf,
            ),
            from: from.to_string(),
            to: to.to_string(),
            errors,
            total: report.total,
            by_department: counts(&report.by_department),
            by_clinician: counts(&report.by_clinician),
            by_status: report
                .by_status
                .iter()
                .map(|(s, c)| CountRow {
                    label: status_label(*s).to_owned(),
                    count: *c,
                })
                .collect(),
            by_day: report
                .by_day
                .iter()
                .map(|(d, c)| CountRow {
                    label: d.to_string(),
                    count: *c,
                })
                .collect(),
            bars: chart,
            chart_width,
            chart_height: CHART_TOP + CHART_HEIGHT + CHART_BOTTOM,
            max_count,
            csv_href: format!("/appointments/report.csv?from={from}&to={to}"),
        })?,
        status,
    ))
}

/// `GET /appointments/report.csv?from=…&to=…`: the same counts as CSV
/// (`dimension,key,count`).
pub async fn report_csv(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (from, to, errors) = appointment_range(&state, raw.as_deref());
    if !errors.is_empty() {
        state
            .services
            .appointment_report(&actor, from, from)
            .await?;
        return Err(PageError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(errors.to_string()),
        ));
    }
    let report = state.services.appointment_report(&actor, from, to).await?;
    let mut rows: Vec<[String; 3]> = vec![["dimension".into(), "key".into(), "count".into()]];
    rows.push(["total".into(), String::new(), report.total.to_string()]);
    for (name, count) in &report.by_department {
        rows.push(["department".into(), name.clone(), count.to_string()]);
    }
    for (name, count) in &report.by_clinician {
        rows.push(["clinician".into(), name.clone(), count.to_string()]);
    }
    for (status, count) in &report.by_status {
        rows.push(["status".into(), status.as_str().into(), count.to_string()]);
    }
    for (day, count) in &report.by_day {
        rows.push(["day".into(), day.to_string(), count.to_string()]);
    }
    csv_download(REPORT_CSV_FILE_NAME, rows)
}
