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
use axum::extract::{Path, RawQuery};
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
use crate::extract::query_params;
use crate::pages::{
    Layout, PageRequest, QueryNotice, csv_download, input_status, month_start, not_found, notice,
    render, report_range, staff_screen, with_status,
};
use crate::routes::{Access, RouteTable};

mod appointment;
mod booking;
mod day;
mod departments;
mod my_appointments;
mod report;
mod requests;
mod schedule;
mod staff;

pub use appointment::*;
pub use booking::*;
pub use day::*;
pub use departments::*;
pub use my_appointments::*;
pub use report::*;
pub use requests::*;
pub use schedule::*;
pub use staff::*;

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
        .page_with_form(
            Action::ManageDepartments,
            "/departments/{id}/edit",
            edit_department_form,
            update_department,
        )
        .page(Action::SeeStaff, "/staff", staff)
        .page_with_form(
            Action::ManageDepartments,
            "/staff/{id}/edit",
            edit_staff_form,
            update_staff,
        )
        .page_with_form(
            Action::BookAppointments,
            "/appointments/new",
            booking_form,
            book,
        )
        .page(Action::Appointments, "/appointments/requests", requests)
        .page(Action::OfficeReports, "/appointments/report", report)
        .page(
            Action::OfficeReports,
            "/appointments/report.csv",
            report_csv,
        )
        .page(Action::Appointments, "/appointments/{id}", appointment)
        .form_post(
            Action::Appointments,
            "/appointments/{id}/status",
            change_status,
        )
        .form_post(
            Action::Appointments,
            "/appointments/{id}/reschedule",
            reschedule,
        )
        .form_post(Action::Appointments, "/appointments/{id}/accept", accept)
        .page(Action::Appointments, "/schedule", schedule)
        .page(Action::Appointments, "/appointments.csv", schedule_csv)
        .page(Action::Appointments, "/my/day", my_day)
        .page(Action::Appointments, "/desk", desk)
        .page_with_form(
            Action::UsePortal,
            "/my/appointments",
            my_appointments,
            request_appointment,
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

/// A select's options: the blank choice labelled `with_blank` (if any), then `options`.
fn after_blank(
    with_blank: Option<&str>,
    current: &str,
    options: impl Iterator<Item = SelectOption>,
) -> Vec<SelectOption> {
    with_blank
        .map(|label| option("", label, current))
        .into_iter()
        .chain(options)
        .collect()
}

/// Doctors and nurses of the directory, for a clinician select.
fn clinician_options(
    staff: &[StaffMember],
    current: &str,
    with_blank: Option<&str>,
) -> Vec<SelectOption> {
    let clinicians = staff
        .iter()
        .filter(|s| s.role.holds_a_schedule() && s.active)
        .map(|s| {
            let mut label = s.display_name.clone();
            if let Some(d) = &s.department_name {
                label.push_str(" — ");
                label.push_str(d);
            }
            option(s.id.to_string(), label, current)
        });
    after_blank(with_blank, current, clinicians)
}

fn department_options(
    departments: &[Department],
    current: &str,
    with_blank: Option<&str>,
) -> Vec<SelectOption> {
    let active = departments.iter().filter(|d| d.active).map(|d| {
        option(
            d.id.to_string(),
            format!("{} ({})", d.name, d.code),
            current,
        )
    });
    after_blank(with_blank, current, active)
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

/// Free slots offered as choices, labelled "start–end" with the start as `start_format`.
fn free_slots(state: &AppState, slots: &[TimeSlot], start_format: &str) -> Vec<FreeSlot> {
    slots
        .iter()
        .map(|s| FreeSlot {
            value: input_value(state, s.start()),
            label: format!(
                "{}–{}",
                local(state, s.start(), start_format),
                local(state, s.end(), "%H:%M")
            ),
        })
        .collect()
}

/// Free slots of one day, labelled by time only.
fn day_slots(state: &AppState, slots: &[TimeSlot]) -> Vec<FreeSlot> {
    free_slots(state, slots, "%H:%M")
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
        free: free_slots(state, &conflict.next_free, "%a %d %b %H:%M"),
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
