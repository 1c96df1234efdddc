//! `/api/v1/departments`, `/api/v1/staff`, `/api/v1/appointments` and
//! `/api/v1/me/appointments`: scheduling's JSON face. Handlers parse, call one
//! `carevault_service::scheduling` use case with the actor, and render.
//!
//! - **Times** are RFC 3339 with an offset, both ways: a start or end sent without one is a
//!   422 naming the field, and every time sent back is in the clinic's time zone (a double
//!   booking's 409 too, rendered by `crate::problem`).
//! - **What the caller may see**: an appointment is rendered from the
//!   [`AppointmentView`] the service produced for the actor. A field the caller's view hides
//!   (the reason, notes, preferred times, status reason) is *absent*, one shown but empty is
//!   `null`, exactly as in the patient API. `patient` is the name or the pseudonym
//!   (`ANON_…`), as the service chose.
//! - **Bad ids and dates** in the path or the query are 422 problems naming the field (the
//!   path's id is the field `id`), never a 404 or a 500: a malformed id names nothing, and
//!   saying so reveals nothing.
//! - **Versions**: `GET /api/v1/appointments/{id}` answers an `ETag` (the appointment's
//!   `updated_at` in microseconds); a `PATCH` with `If-Match` naming an older one answers
//!   412, like the patient API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carevault_core::Action;
use carevault_core::appointment::{AppointmentStatus, TimeSlot};
use carevault_core::{AppointmentId, DepartmentId, Role, UserId, ValidationErrors};
use carevault_service::ServiceError;
use carevault_service::scheduling::{
    AppointmentQuery, AppointmentView, Availability, BookingInput, Department, DepartmentInput,
    RequestInput, SlotInput, StaffMember, StaffProfileInput,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::versions::{IfMatch, precondition_failed, versioned};
use crate::extract::{ApiJson, ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::{Access, RouteTable};

/// Adds the scheduling API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
        .add(
            &[
                ("GET", Action::UseAccount),
                ("POST", Action::ManageDepartments),
            ],
            "/api/v1/departments",
            Access::Api,
            get(departments).post(create_department),
        )
        .add(
            &[
                ("GET", Action::UseAccount),
                ("PUT", Action::ManageDepartments),
            ],
            "/api/v1/departments/{id}",
            Access::Api,
            get(department).put(update_department),
        )
        .add(
            &[("GET", Action::SeeStaff)],
            "/api/v1/staff",
            Access::Api,
            get(staff),
        )
        .add(
            &[
                ("GET", Action::SeeStaff),
                ("PUT", Action::ManageDepartments),
            ],
            "/api/v1/staff/{id}",
            Access::Api,
            get(staff_member).put(update_staff_member),
        )
        .add(
            &[
                ("GET", Action::Appointments),
                ("POST", Action::Appointments),
            ],
            "/api/v1/appointments",
            Access::Api,
            get(appointments).post(create_appointment),
        )
        // A literal segment: axum (matchit) prefers it to `{id}` below.
        .add(
            &[("GET", Action::UseAccount)],
            "/api/v1/appointments/availability",
            Access::Api,
            get(availability),
        )
        .add(
            &[
                ("GET", Action::Appointments),
                ("PATCH", Action::Appointments),
            ],
            "/api/v1/appointments/{id}",
            Access::Api,
            get(appointment).patch(reschedule),
        )
        .add(
            &[("POST", Action::Appointments)],
            "/api/v1/appointments/{id}/status",
            Access::Api,
            post(change_status),
        )
        .add(
            &[("POST", Action::Appointments)],
            "/api/v1/appointments/{id}/accept",
            Access::Api,
            post(accept),
        )
        .add(
            &[("GET", Action::UsePortal)],
            "/api/v1/me/appointments",
            Access::Api,
            get(my_appointments),
        )
}

// ---------------------------------------------------------------------------------------
// Response bodies
// ---------------------------------------------------------------------------------------

/// `at` as RFC 3339 in `zone` (the clinic's time zone), with its offset.
fn local_time<Z: TimeZone>(at: DateTime<Utc>, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    at.with_timezone(zone).to_rfc3339()
}

/// A department.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentRecord {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(example = "GEN")]
    code: String,
    #[schema(example = "General Medicine")]
    name: String,
    #[schema(example = "Building A, ground floor")]
    location: String,
    /// The default appointment length, in minutes.
    #[schema(example = 15)]
    slot_minutes: u32,
    active: bool,
}

impl From<Department> for DepartmentRecord {
    fn from(d: Department) -> Self {
        Self {
            id: d.id.to_string(),
            code: d.code,
            name: d.name,
            location: d.location,
            slot_minutes: d.slot_minutes,
            active: d.active,
        }
    }
}

/// A member of staff as the caller may see them. Patients see active doctors only, without
/// `work_phone` and `working_hours` (absent).
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRecord {
    /// The user id.
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(example = "drsmith")]
    username: String,
    #[schema(example = "Dr. Sarah Smith")]
    display_name: String,
    #[schema(value_type = String, example = "doctor")]
    role: Role,
    #[schema(value_type = Option<String>, format = Uuid)]
    department_id: Option<String>,
    /// The department's name.
    #[schema(example = "General Medicine")]
    department: Option<String>,
    #[schema(example = "General practice")]
    specialty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "+44 20 7946 0101")]
    work_phone: Option<String>,
    /// Per weekday, e.g. `mon-fri 08:00-12:00,13:00-17:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "mon-fri 08:00-12:00,13:00-17:00")]
    working_hours: Option<String>,
    active: bool,
}

impl From<StaffMember> for StaffRecord {
    fn from(s: StaffMember) -> Self {
        Self {
            id: s.id.to_string(),
            username: s.username,
            display_name: s.display_name,
            role: s.role,
            department_id: s.department_id.map(|d| d.to_string()),
            department: s.department_name,
            specialty: s.specialty,
            work_phone: s.work_phone,
            working_hours: s.working_hours,
            active: s.active,
        }
    }
}

/// An appointment as the caller may see it. `reason` is absent where the caller's view of
/// the patient hides it; `notes`, `preferred_times` and `status_reason` likewise, and are
/// `null` when shown but empty. Times are RFC 3339 in the clinic's time zone.
#[derive(Clone, Serialize, ToSchema)]
pub struct AppointmentRecord {
    #[schema(value_type = String, format = Uuid)]
    id: String,
    #[schema(value_type = String, format = Uuid)]
    patient_id: String,
    /// The patient's name, or their pseudonym (`ANON_…`) where the caller may not see it.
    patient: String,
    /// `null` for a request that names no clinician yet.
    #[schema(value_type = Option<String>, format = Uuid)]
    clinician_id: Option<String>,
    /// The clinician's display name.
    clinician: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    department_id: String,
    /// The department's name.
    department: String,
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    #[schema(example = "2026-03-02T10:15:00+00:00")]
    end: String,
    /// `consultation`, `follow_up` or `procedure`.
    #[serde(rename = "type")]
    #[schema(example = "consultation")]
    kind: String,
    /// `requested`, `scheduled`, `checked_in`, `in_progress`, `completed`, `cancelled` or
    /// `no_show`.
    #[schema(example = "scheduled")]
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
    /// Other times that would suit, in the patient's words (requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    preferred_times: Option<Option<String>>,
    /// Why it was cancelled or declined.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    status_reason: Option<Option<String>>,
    /// The statuses the caller may move it to now.
    next_statuses: Vec<String>,
    /// Whether the caller may move it to another slot (`PATCH`).
    may_reschedule: bool,
    /// RFC 3339, clinic time.
    created_at: String,
    /// RFC 3339, clinic time; the version (see `ETag`).
    updated_at: String,
    /// The nurse's latest triage of the visit (acuity, note, flagged vitals), for those
    /// with the full view of the patient; absent otherwise or when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    triage: Option<crate::api::nursing::TriageRecord>,
}

impl std::fmt::Debug for AppointmentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppointmentRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl AppointmentRecord {
    fn new<Z: TimeZone>(a: AppointmentView, zone: &Z) -> Self
    where
        Z::Offset: std::fmt::Display,
    {
        // `patient_view` is for the pages' own use: not sent.
        let AppointmentView {
            id,
            patient_id,
            patient_label,
            patient_view: _,
            clinician_id,
            clinician_name,
            department_id,
            department_name,
            start,
            end,
            kind,
            status,
            reason,
            notes,
            preferred_times,
            status_reason,
            next_statuses,
            may_reschedule,
            created_at,
            updated_at,
            triage,
        } = a;
        Self {
            id: id.to_string(),
            patient_id: patient_id.to_string(),
            patient: patient_label,
            clinician_id: clinician_id.map(|c| c.to_string()),
            clinician: clinician_name,
            department_id: department_id.to_string(),
            department: department_name,
            start: local_time(start, zone),
            end: local_time(end, zone),
            kind: kind.as_str().to_owned(),
            status: status.as_str().to_owned(),
            reason,
            notes,
            preferred_times,
            status_reason,
            next_statuses: next_statuses
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            may_reschedule,
            created_at: local_time(created_at, zone),
            updated_at: local_time(updated_at, zone),
            triage: triage.map(Into::into),
        }
    }
}

/// A list of appointments, earliest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentList {
    items: Vec<AppointmentRecord>,
}

/// A time range, RFC 3339 in the clinic's time zone; `end` is exclusive.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotRecord {
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    #[schema(example = "2026-03-02T10:15:00+00:00")]
    end: String,
}

/// A clinician's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityRecord {
    #[schema(value_type = String, format = Uuid)]
    clinician_id: String,
    /// `YYYY-MM-DD`, a day in the clinic's time zone.
    #[schema(example = "2026-03-02", format = Date)]
    date: String,
    /// The length of the free slots offered: the clinician's department's default.
    slot_minutes: u32,
    /// Working hours of the day.
    working: Vec<SlotRecord>,
    /// Held by active appointments (empty for patients).
    busy: Vec<SlotRecord>,
    /// Free slots of `slot_minutes` within the working hours, from now on.
    free: Vec<SlotRecord>,
}

impl AvailabilityRecord {
    fn new<Z: TimeZone>(a: Availability, zone: &Z) -> Self
    where
        Z::Offset: std::fmt::Display,
    {
        let slots = |slots: Vec<TimeSlot>| {
            slots
                .into_iter()
                .map(|s| SlotRecord {
                    start: local_time(s.start(), zone),
                    end: local_time(s.end(), zone),
                })
                .collect()
        };
        Self {
            clinician_id: a.clinician.id.to_string(),
            date: a.date.to_string(),
            slot_minutes: a.slot_minutes,
            working: slots(a.working),
            busy: slots(a.busy),
            free: slots(a.free),
        }
    }
}

/// The 409 answer of a booking or a move: an RFC 9457 problem. For a double booking
/// (`urn:carevault:problem:slot-taken`) it carries the appointments the slot collides
/// with (as the caller may see them) and the clinician's next free slots; any other 409
/// (`urn:carevault:problem:conflict`: not allowed from the current status, changed
/// meanwhile) is a plain problem without them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotTakenProblem {
    /// `urn:carevault:problem:slot-taken` or `urn:carevault:problem:conflict`.
    #[serde(rename = "type")]
    kind: String,
    /// `The slot is taken`.
    title: String,
    status: u16,
    /// Whose time is taken: the clinician's or the patient's.
    detail: String,
    request_id: String,
    /// `slot-taken` only: the appointments the slot collides with.
    conflicts: Option<Vec<SlotConflictRecord>>,
    /// `slot-taken` only: the clinician's next free slots of the same length.
    next_free_slots: Option<Vec<SlotRecord>>,
}

/// An appointment a booking collided with.
#[derive(Serialize, ToSchema)]
pub struct SlotConflictRecord {
    #[schema(value_type = String, format = Uuid)]
    appointment_id: String,
    start: String,
    end: String,
    /// `clinician` or `patient`: whose time is already taken.
    taken_for: String,
    clinician: Option<String>,
    /// The name or pseudonym, as the caller may see it; `another patient` if not at all.
    patient: String,
}

impl std::fmt::Debug for SlotConflictRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `patient` may be a name: never in Debug output.
        f.debug_struct("SlotConflictRecord")
            .field("appointment_id", &self.appointment_id)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------

/// A department (all of it: `PUT` replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    /// 1–16 letters, digits, hyphens or underscores; stored in capitals; unique.
    #[schema(example = "CARD")]
    code: String,
    /// 2–100 characters; unique.
    #[schema(example = "Cardiology")]
    name: String,
    #[serde(default)]
    #[schema(example = "Building B, first floor")]
    location: String,
    /// The default appointment length: 5–240 minutes, a multiple of 5 (default 30).
    #[serde(default)]
    #[schema(example = 30, minimum = 5, maximum = 240, multiple_of = 5)]
    slot_minutes: Option<i64>,
    /// Default `true`.
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

impl From<DepartmentRequest> for DepartmentInput {
    fn from(d: DepartmentRequest) -> Self {
        Self {
            code: d.code,
            name: d.name,
            location: d.location,
            slot_minutes: d.slot_minutes.map(|m| m.to_string()),
            active: d.active,
        }
    }
}

/// A staff member's profile (all of it: `PUT` replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffProfileRequest {
    /// `null` or absent: no department.
    #[serde(default, deserialize_with = "crate::extract::optional_id")]
    #[schema(format = Uuid, min_length = 1)]
    department_id: Option<String>,
    #[serde(default)]
    #[schema(example = "Cardiology")]
    specialty: Option<String>,
    #[serde(default)]
    #[schema(example = "+44 20 7946 0103")]
    work_phone: Option<String>,
    /// Per weekday, e.g. `mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00`. Absent:
    /// Monday to Friday, 08:00–17:00.
    #[serde(default)]
    #[schema(example = "mon-fri 08:00-12:00,13:00-17:00")]
    working_hours: Option<String>,
    /// Default `true`.
    #[serde(default = "yes")]
    active: bool,
}

impl From<StaffProfileRequest> for StaffProfileInput {
    fn from(s: StaffProfileRequest) -> Self {
        Self {
            department_id: s.department_id,
            specialty: s.specialty,
            work_phone: s.work_phone,
            working_hours: s.working_hours,
            active: s.active,
        }
    }
}

/// A whole number of minutes sent as a JSON number or as text (`30` or `"30"`); the
/// service judges the value. `null` is "not given".
pub(crate) fn minutes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    crate::extract::number_or_text(deserializer, "a whole number of minutes", false)
}

/// A new appointment.
///
/// Staff (administrators, receptionists, doctors for their own schedule) book: `patient_id`,
/// `clinician_id`, `start` and `reason` are required; the length is `end`, or
/// `duration_minutes`, or the department's default. A patient *requests*: `start` is the
/// preferred start, `department_id` or `clinician_id` (a doctor) says with whom,
/// `preferred_times` lists other times that would suit; `patient_id`, if given, must be
/// their own record; `end`, `duration_minutes` and `notes` are not theirs to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppointmentRequest {
    #[serde(default)]
    #[schema(format = Uuid)]
    patient_id: Option<String>,
    #[serde(default)]
    #[schema(format = Uuid)]
    clinician_id: Option<String>,
    /// Default: the clinician's department.
    #[serde(default)]
    #[schema(format = Uuid)]
    department_id: Option<String>,
    /// RFC 3339 with an offset, on a 5-minute boundary, not in the past.
    #[schema(example = "2026-03-02T10:00:00+00:00")]
    start: String,
    /// RFC 3339 with an offset; exclusive.
    #[serde(default)]
    #[schema(example = "2026-03-02T10:30:00+00:00")]
    end: Option<String>,
    /// 5–720, a multiple of 5.
    #[serde(default, deserialize_with = "minutes")]
    #[schema(value_type = Option<i64>, example = 30, minimum = 5, maximum = 720, multiple_of = 5)]
    duration_minutes: Option<String>,
    /// `consultation` (default), `follow_up` or `procedure`.
    #[serde(default, rename = "type")]
    #[schema(example = "consultation")]
    kind: Option<String>,
    #[schema(example = "Persistent cough")]
    reason: String,
    #[serde(default)]
    notes: Option<String>,
    /// Requests only.
    #[serde(default)]
    preferred_times: Option<String>,
}

impl std::fmt::Debug for CreateAppointmentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreateAppointmentRequest { .. }")
    }
}

/// A field that is not the caller's to send.
fn not_accepted(errors: &mut ValidationErrors, field: &str, given: bool, why: &str) {
    if given {
        errors.push(field, why);
    }
}

impl CreateAppointmentRequest {
    fn into_booking(self) -> Result<BookingInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        not_accepted(
            &mut errors,
            "preferred_times",
            self.preferred_times.is_some(),
            "is for patients' requests only",
        );
        errors.into_result()?;
        Ok(BookingInput {
            patient_id: self.patient_id.unwrap_or_default(),
            clinician_id: self.clinician_id.unwrap_or_default(),
            department_id: self.department_id,
            start: self.start,
            end: self.end,
            duration_minutes: self.duration_minutes,
            kind: self.kind,
            reason: self.reason,
            notes: self.notes,
        })
    }

    fn into_request(self) -> Result<RequestInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let why = "is chosen by the hospital when it accepts the request";
        not_accepted(&mut errors, "end", self.end.is_some(), why);
        not_accepted(
            &mut errors,
            "duration_minutes",
            self.duration_minutes.is_some(),
            why,
        );
        not_accepted(
            &mut errors,
            "notes",
            self.notes.is_some(),
            "are written by staff",
        );
        errors.into_result()?;
        Ok(RequestInput {
            patient_id: self.patient_id,
            department_id: self.department_id,
            clinician_id: self.clinician_id,
            start: self.start,
            preferred_times: self.preferred_times,
            kind: self.kind,
            reason: self.reason,
        })
    }
}

/// A new slot: for `PATCH` (reschedule) and for accepting a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    /// Another clinician (default: keep the appointment's; required when accepting a
    /// request that names none).
    #[serde(default)]
    #[schema(format = Uuid)]
    clinician_id: Option<String>,
    /// RFC 3339 with an offset.
    #[schema(example = "2026-03-03T10:00:00+00:00")]
    start: String,
    /// RFC 3339 with an offset; exclusive.
    #[serde(default)]
    end: Option<String>,
    /// 5–720, a multiple of 5.
    #[serde(default, deserialize_with = "minutes")]
    #[schema(value_type = Option<i64>, example = 30, minimum = 5, maximum = 720, multiple_of = 5)]
    duration_minutes: Option<String>,
}

impl From<SlotRequest> for SlotInput {
    fn from(s: SlotRequest) -> Self {
        Self {
            clinician_id: s.clinician_id,
            start: s.start,
            end: s.end,
            duration_minutes: s.duration_minutes,
        }
    }
}

/// A status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    /// `scheduled` (accept a request in its requested slot), `checked_in`, `in_progress`,
    /// `completed`, `cancelled` (declines a request) or `no_show`.
    #[schema(example = "checked_in", schema_with = status_change_schema)]
    status: String,
    /// Required to cancel or decline (staff); optional otherwise.
    #[serde(default)]
    reason: Option<String>,
}

impl std::fmt::Debug for StatusChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusChangeRequest")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Which appointments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentListParams {
    /// A clinician's user id.
    #[param(format = Uuid, min_length = 1)]
    clinician: Option<String>,
    /// A patient's id (patients: only their own).
    #[param(format = Uuid, min_length = 1)]
    patient: Option<String>,
    /// A department's id.
    #[param(format = Uuid, min_length = 1)]
    department: Option<String>,
    /// One day, `YYYY-MM-DD` (clinic time); not with `from` or `to`.
    #[param(format = Date)]
    date: Option<String>,
    /// The first day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    to: Option<String>,
    /// Statuses, comma-separated: `scheduled,checked_in`.
    #[param(schema_with = crate::api::schemas::appointment_statuses)]
    status: Option<String>,
}

fn optional_id<T: std::str::FromStr>(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match raw.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(field, "is not a valid id");
            None
        }
    }
}

fn optional_date(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(field, "must be a date like 2026-03-02");
            None
        }
    }
}

impl AppointmentListParams {
    /// Checks every value; all problems are reported together.
    fn into_query(self) -> Result<AppointmentQuery, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (name, value) in [
            ("clinician", &self.clinician),
            ("patient", &self.patient),
            ("department", &self.department),
            ("date", &self.date),
            ("from", &self.from),
            ("to", &self.to),
            ("status", &self.status),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                errors.push(name, crate::extract::EMPTY_PARAMETER);
            }
        }
        let clinician = optional_id(&mut errors, "clinician", self.clinician.as_deref());
        let patient = optional_id(&mut errors, "patient", self.patient.as_deref());
        let department = optional_id(&mut errors, "department", self.department.as_deref());
        let date = optional_date(&mut errors, "date", self.date.as_deref());
        let mut from = optional_date(&mut errors, "from", self.from.as_deref());
        let mut to = optional_date(&mut errors, "to", self.to.as_deref());
        if date.is_some() && (from.is_some() || to.is_some()) {
            errors.push("date", "give either a date or from/to, not both");
        } else if date.is_some() {
            (from, to) = (date, date);
        } else if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push("to", "must not be before from");
        }
        let mut statuses = Vec::new();
        for part in self
            .status
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Some(status) = errors.check("status", AppointmentStatus::parse(part)) {
                statuses.push(status);
            }
        }
        errors.into_result()?;
        Ok(AppointmentQuery {
            clinician,
            patient,
            department,
            statuses,
            from,
            to,
        })
    }
}

/// Whose day, and which.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// The clinician's user id.
    #[param(format = Uuid)]
    clinician: String,
    /// `YYYY-MM-DD`, a day in the clinic's time zone.
    #[param(format = Date)]
    date: String,
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

/// An id from the path: one that is not an id is a 422 naming the field `id`.
fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ValidationErrors> {
    raw.trim()
        .parse()
        .map_err(|_| ValidationErrors::single("id", "is not a valid id"))
}

fn validation(errors: &ValidationErrors) -> ApiError {
    Problem::validation(errors).into()
}

fn record(state: &AppState, view: AppointmentView) -> AppointmentRecord {
    AppointmentRecord::new(view, &state.services.clinic_time_zone())
}

/// The appointment with its version as `ETag`.
fn with_etag(state: &AppState, view: AppointmentView, status: StatusCode) -> Response {
    let (updated_at, location) = (view.updated_at, format!("/api/v1/appointments/{}", view.id));
    versioned(
        (status, Json(record(state, view))).into_response(),
        Some(updated_at),
        Some(&location),
    )
}

/// Lists departments.
///
/// Anyone signed in; administrators also see inactive ones.
#[utoipa::path(
    get, path = "/api/v1/departments", tag = "scheduling",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The departments", body = Vec<DepartmentRecord>),
    )
)]
pub async fn departments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<Vec<DepartmentRecord>>, ApiError> {
    let list = state.services.departments(&actor).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Creates a department.
///
/// Administrators.
#[utoipa::path(
    post, path = "/api/v1/departments", tag = "scheduling",
    security(("bearer" = [])),
    request_body = DepartmentRequest,
    responses(
        (status = 201, description = "Created; `Location` is its URL", body = DepartmentRecord,
            headers(("location" = String, description = "/api/v1/departments/{id}"))),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<DepartmentRequest>,
) -> Result<Response, ApiError> {
    let created = state
        .services
        .create_department(&actor, body.into())
        .await?;
    let location = format!("/api/v1/departments/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(DepartmentRecord::from(created)),
    )
        .into_response())
}

/// One department.
#[utoipa::path(
    get, path = "/api/v1/departments/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The department's id")),
    responses(
        (status = 200, description = "The department", body = DepartmentRecord),
        (status = 404, description = "No such department (or an inactive one, for non-administrators)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<DepartmentRecord>, ApiError> {
    let id: DepartmentId = path_id(&id).map_err(|e| validation(&e))?;
    Ok(Json(state.services.department(&actor, id).await?.into()))
}

/// Changes a department (every field).
///
/// Administrators.
#[utoipa::path(
    put, path = "/api/v1/departments/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The department's id")),
    request_body = DepartmentRequest,
    responses(
        (status = 200, description = "The changed department", body = DepartmentRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_department(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<DepartmentRequest>, ApiError>,
) -> Result<Json<DepartmentRecord>, ApiError> {
    let id: DepartmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let changed = state
        .services
        .update_department(&actor, id, body.into())
        .await?;
    Ok(Json(changed.into()))
}

/// The staff directory.
///
/// Staff see everyone with a clinical or desk role; patients see active doctors (name,
/// specialty, department); auditors are refused.
#[utoipa::path(
    get, path = "/api/v1/staff", tag = "scheduling",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The directory, by name", body = Vec<StaffRecord>),
        (status = 403, description = "Auditors", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn staff(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<Vec<StaffRecord>>, ApiError> {
    let list = state.services.staff_directory(&actor).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One entry of the staff directory.
#[utoipa::path(
    get, path = "/api/v1/staff/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user id")),
    responses(
        (status = 200, description = "The staff member", body = StaffRecord),
        (status = 403, description = "Auditors", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the directory (as the caller sees it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn staff_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<StaffRecord>, ApiError> {
    let id: UserId = path_id(&id).map_err(|e| validation(&e))?;
    Ok(Json(state.services.staff_member(&actor, id).await?.into()))
}

/// Saves a staff member's profile (every field).
///
/// Administrators.
#[utoipa::path(
    put, path = "/api/v1/staff/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user id")),
    request_body = StaffProfileRequest,
    responses(
        (status = 200, description = "The staff member", body = StaffRecord),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_staff_member(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<StaffProfileRequest>, ApiError>,
) -> Result<Json<StaffRecord>, ApiError> {
    let id: UserId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let saved = state
        .services
        .update_staff_profile(&actor, id, body.into())
        .await?;
    Ok(Json(saved.into()))
}

/// Lists appointments.
///
/// Staff who see appointments (not pharmacists or auditors); a patient only their own.
/// Each is shown as the caller may see it (patients as names or pseudonyms) and recorded in
/// the audit log.
#[utoipa::path(
    get, path = "/api/v1/appointments", tag = "scheduling",
    security(("bearer" = [])),
    params(AppointmentListParams),
    responses(
        (status = 200, description = "The appointments, earliest first", body = AppointmentList),
        (status = 403, description = "The role sees no appointments, or a patient asked for another patient's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn appointments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AppointmentListParams>, ApiError>,
) -> Result<Json<AppointmentList>, ApiError> {
    let ApiQuery(params) = params?;
    let query = params.into_query().map_err(|e| validation(&e))?;
    let list = state.services.list_appointments(&actor, query).await?;
    Ok(Json(AppointmentList {
        items: list.into_iter().map(|a| record(&state, a)).collect(),
    }))
}

/// Books an appointment, or (for a patient) requests one.
///
/// Administrators and receptionists book for any clinician, doctors into their own
/// schedule; nurses, pharmacists and auditors may not. No two active appointments of the
/// same clinician or the same patient may overlap; a collision is 409 with the colliding
/// appointments and the clinician's next free slots. A patient's request holds no slot: it
/// is created `requested` until reception or the doctor accepts it.
#[utoipa::path(
    post, path = "/api/v1/appointments", tag = "scheduling",
    security(("bearer" = [])),
    request_body = CreateAppointmentRequest,
    responses(
        (status = 201, description = "Booked (`scheduled`) or requested (`requested`); `Location` is its URL", body = AppointmentRecord,
            headers(("location" = String, description = "/api/v1/appointments/{id}"))),
        (status = 403, description = "The role may not book, a doctor booking for another clinician, or a patient naming another patient's record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slot is taken for the clinician or the patient", body = SlotTakenProblem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input (unknown clinician or patient, a time without offset, in the past, outside working hours, end before start, too long); `errors[].field` names each bad field", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_appointment(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateAppointmentRequest>,
) -> Result<Response, ApiError> {
    // Which use case: a patient's booking is a request; whether either is allowed is the
    // service's decision.
    let created = if actor.role() == Some(Role::Patient) {
        let input = body.into_request().map_err(|e| validation(&e))?;
        state.services.request_appointment(&actor, input).await?
    } else {
        let input = body.into_booking().map_err(|e| validation(&e))?;
        state.services.book_appointment(&actor, input).await?
    };
    Ok(with_etag(&state, created, StatusCode::CREATED))
}

/// A clinician's day: working hours, busy and free slots.
///
/// Staff who see appointments, and patients (who get no `busy` slots).
#[utoipa::path(
    get, path = "/api/v1/appointments/availability", tag = "scheduling",
    security(("bearer" = [])),
    params(AvailabilityParams),
    responses(
        (status = 200, description = "The day", body = AvailabilityRecord),
        (status = 403, description = "The role sees no appointments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such clinician", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is missing or invalid; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn availability(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<AvailabilityParams>, ApiError>,
) -> Result<Json<AvailabilityRecord>, ApiError> {
    let ApiQuery(params) = params?;
    let mut errors = ValidationErrors::new();
    let clinician: Option<UserId> = match params.clinician.trim() {
        "" => {
            errors.push("clinician", "is required");
            None
        }
        raw => optional_id(&mut errors, "clinician", Some(raw)),
    };
    let date = match params.date.trim() {
        "" => {
            errors.push("date", "is required");
            None
        }
        raw => optional_date(&mut errors, "date", Some(raw)),
    };
    errors.into_result().map_err(|e| validation(&e))?;
    let (Some(clinician), Some(date)) = (clinician, date) else {
        return Err(validation(&ValidationErrors::single(
            "clinician",
            "is required",
        )));
    };
    let day = state.services.availability(&actor, clinician, date).await?;
    Ok(Json(AvailabilityRecord::new(
        day,
        &state.services.clinic_time_zone(),
    )))
}

/// One appointment.
///
/// Shown as the caller may see it; recorded in the audit log. A patient may read only their
/// own (any other id is 403, whether or not it exists).
#[utoipa::path(
    get, path = "/api/v1/appointments/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    responses(
        (status = 200, description = "The appointment; the `ETag` header is its version, for `If-Match` on PATCH", body = AppointmentRecord),
        (status = 403, description = "The caller may not see it (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`id` is not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn appointment(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let view = state.services.get_appointment(&actor, id).await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}

/// Moves a scheduled appointment to another slot (and possibly another clinician).
///
/// Staff who may book for the clinician (both the old and the new one). Send `If-Match`
/// with the `ETag` of the copy the move is based on to be refused (412) instead of moving
/// an appointment someone else changed since.
#[utoipa::path(
    patch, path = "/api/v1/appointments/{id}", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = SlotRequest,
    responses(
        (status = 200, description = "The moved appointment (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not move it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not scheduled, the new slot is taken (`slot-taken`), or it changed meanwhile", body = SlotTakenProblem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version that is no longer the stored one; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reschedule(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    if_match: IfMatch,
    body: Result<ApiJson<SlotRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let seen = if_match
        .version("If-Match must be an ETag from this appointment's GET or PATCH response.")?;
    match state
        .services
        .reschedule_appointment(&actor, id, body.into(), seen)
        .await
    {
        Ok(view) => Ok(with_etag(&state, view, StatusCode::OK)),
        // "Changed meanwhile" (the one conflict that names no field) against the version
        // the client named: RFC 9110's answer is 412.
        Err(ServiceError::Conflict {
            field: None,
            message,
        }) if seen.is_some() => Err(precondition_failed(message)),
        Err(other) => Err(other.into()),
    }
}

/// Moves an appointment along the status graph.
///
/// `requested` → `scheduled` (accept in the requested slot) or `cancelled` (decline);
/// `scheduled` → `checked_in` (on the day), `cancelled` or `no_show` (once started);
/// `checked_in` → `in_progress` or `cancelled`; `in_progress` → `completed`. Who may do
/// what: see `next_statuses` on the appointment. A patient may cancel their own future
/// appointment until the cut-off before it starts. A move the graph does not allow, or
/// not now, is 409 naming the current status.
#[utoipa::path(
    post, path = "/api/v1/appointments/{id}/status", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = StatusChangeRequest,
    responses(
        (status = 200, description = "The appointment in its new status (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not make this change (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from the current status, or not now (too close to cancel, not the day to check in)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or a missing reason; `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_status(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<StatusChangeRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .change_appointment_status(&actor, id, &body.status, body.reason.as_deref())
        .await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}

/// Accepts a patient's request into a free slot.
///
/// Reception, administrators, or the requested doctor. The slot is checked like a
/// booking's.
#[utoipa::path(
    post, path = "/api/v1/appointments/{id}/accept", tag = "scheduling",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The appointment's id")),
    request_body = SlotRequest,
    responses(
        (status = 200, description = "The appointment, now scheduled (with its new ETag)", body = AppointmentRecord),
        (status = 403, description = "The caller may not accept it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such appointment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not a request any more, or the slot is taken (`slot-taken`)", body = SlotTakenProblem, content_type = "application/problem+json"),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
    body: Result<ApiJson<SlotRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let id: AppointmentId = path_id(&id).map_err(|e| validation(&e))?;
    let ApiJson(body) = body?;
    let view = state
        .services
        .accept_request(&actor, id, body.into())
        .await?;
    Ok(with_etag(&state, view, StatusCode::OK))
}

/// The caller's own appointments and requests.
///
/// Patients; recorded in the audit log.
#[utoipa::path(
    get, path = "/api/v1/me/appointments", tag = "scheduling",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's appointments, earliest first", body = AppointmentList),
        (status = 403, description = "Not a patient account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_appointments(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Json<AppointmentList>, ApiError> {
    let list = state.services.my_appointments(&actor).await?;
    Ok(Json(AppointmentList {
        items: list.into_iter().map(|a| record(&state, a)).collect(),
    }))
}

fn status_change_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of([
        "scheduled",
        "checked_in",
        "in_progress",
        "completed",
        "cancelled",
        "no_show",
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use carevault_core::PatientId;
    use carevault_core::appointment::AppointmentType;
    use carevault_core::masking::PatientView;

    use super::*;

    fn view(shown: bool) -> AppointmentView {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        AppointmentView {
            id: AppointmentId::generate(),
            patient_id: PatientId::generate(),
            patient_label: "ANON_1234".into(),
            patient_view: PatientView::Pseudonymous,
            clinician_id: Some(UserId::generate()),
            clinician_name: Some("Dr. Sarah Smith".into()),
            department_id: DepartmentId::generate(),
            department_name: "General Medicine".into(),
            start: at,
            end: at + chrono::Duration::minutes(15),
            kind: AppointmentType::Consultation,
            status: AppointmentStatus::Scheduled,
            reason: shown.then(|| "cough".to_owned()),
            notes: shown.then_some(None),
            preferred_times: shown.then_some(None),
            status_reason: shown.then_some(None),
            next_statuses: vec![AppointmentStatus::CheckedIn],
            may_reschedule: true,
            created_at: at,
            updated_at: at,
            triage: None,
        }
    }

    fn keys(view: AppointmentView) -> (BTreeSet<String>, serde_json::Value) {
        let zone: chrono::FixedOffset = chrono::FixedOffset::east_opt(3600).unwrap();
        let json = serde_json::to_value(AppointmentRecord::new(view, &zone)).unwrap();
        let keys = json.as_object().unwrap().keys().cloned().collect();
        (keys, json)
    }

    #[test]
    fn hidden_fields_are_absent_and_empty_ones_null() {
        let (hidden, _) = keys(view(false));
        let (shown, json) = keys(view(true));
        let difference: BTreeSet<_> = shown.difference(&hidden).cloned().collect();
        assert_eq!(
            difference,
            ["notes", "preferred_times", "reason", "status_reason"]
                .map(str::to_owned)
                .into()
        );
        assert!(json["notes"].is_null());
        assert_eq!(json["type"], "consultation");
        assert_eq!(json["start"], "2026-03-02T11:00:00+01:00", "clinic time");
    }

    fn query(raw: &str) -> Result<AppointmentQuery, String> {
        crate::extract::query_params::<AppointmentListParams>(raw)
            .map_err(|e| e.0[0].field.clone())
            .and_then(|p| p.into_query().map_err(|errors| errors.0[0].field.clone()))
    }

    #[test]
    fn list_parameters_are_checked_and_named() {
        let q = query("date=2026-03-02&status=scheduled,checked-in").unwrap();
        assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(q.to, q.from);
        assert_eq!(
            q.statuses,
            [AppointmentStatus::Scheduled, AppointmentStatus::CheckedIn]
        );
        for (raw, field) in [
            ("clinician=x", "clinician"),
            ("patient=1", "patient"),
            ("department=%20zz", "department"),
            ("date=2026-02-30", "date"),
            ("from=yesterday", "from"),
            ("from=2026-03-03&to=2026-03-02", "to"),
            ("date=2026-03-02&from=2026-03-02", "date"),
            ("status=done", "status"),
            ("colour=blue", "colour"),
        ] {
            assert_eq!(query(raw).unwrap_err(), field, "{raw}");
        }
    }

    #[test]
    fn durations_arrive_as_numbers_or_text() {
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": 30}"#).unwrap();
        assert_eq!(body.duration_minutes.as_deref(), Some("30"));
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": "45"}"#).unwrap();
        assert_eq!(body.duration_minutes.as_deref(), Some("45"));
        let body: SlotRequest =
            serde_json::from_str(r#"{"start": "x", "duration_minutes": null}"#).unwrap();
        assert_eq!(body.duration_minutes, None);
        let wrong =
            serde_json::from_str::<SlotRequest>(r#"{"start": "x", "duration_minutes": 1.5}"#)
                .unwrap_err();
        assert!(
            wrong.to_string().contains("a whole number of minutes"),
            "{wrong}"
        );
        assert!(serde_json::from_str::<SlotRequest>(r#"{"start": "x", "end": 3}"#).is_err());
    }
}
