//! Scheduling: departments, the staff directory, appointments and patients' requests for
//! them, availability, the automatic status job and the appointment report.
//!
//! Rules (decided here, see also `carevault_core::appointment`):
//!
//! - **Who books.** Administrators and receptionists book for any clinician; a doctor books
//!   into their own schedule only, and only patients already on their care team (follow-ups:
//!   otherwise booking would hand a doctor any record they chose). A patient's own request
//!   may be accepted by the doctor it names, or, if it names none, by a doctor of its
//!   department, who takes it into their own schedule. Nurses see calendars but do not book; pharmacists and
//!   auditors see no appointments. A patient *requests* (status `requested`, no slot held);
//!   reception, an administrator or the requested doctor accepts it into a free slot or
//!   declines it (a cancellation with a reason).
//! - **No double booking** is the database's job: an active appointment claims its grid cells
//!   for its clinician and its patient in `appointment_slot_claims` (see the store), in the
//!   same transaction as the appointment. Working hours, the past and the length are checked
//!   here first so that the answer can say which rule was broken.
//! - **Who sees whom.** An appointment shows its patient as the actor's view of that patient
//!   allows (`carevault_core::masking`): a doctor sees names only of patients whose care team
//!   they are on — which includes everyone booked into their own schedule — and the
//!   pseudonym otherwise. The reason, the patient's other preferred times and the reason for
//!   a cancellation or decline are shown with the identity (full, registration and own
//!   views: reception needs them to find a slot and to answer the patient); notes only with
//!   clinical data (full and own views).
//! - **Care team.** A clinician with a scheduled, checked-in, in-progress or completed
//!   appointment with a patient is on the patient's care team (membership source
//!   `appointment`), added and removed in the transaction that changes the status.
//! - **Time.** Instants are UTC; the API takes RFC 3339 with an explicit offset and refuses a
//!   time without one. Working hours, "today", calendar days and form fields are in the
//!   clinic's IANA zone (`SchedulingSettings::time_zone`, `--time-zone`), daylight saving
//!   followed.
//! - **Status changes.** Check-in: reception, administrators, the appointment's clinician, on
//!   the appointment's day. Start and complete: the appointment's clinician or an
//!   administrator. Cancel: staff who may book it (with a reason), or the patient for their
//!   own appointment until the cut-off before it starts. No-show: staff who may book it,
//!   once it has started, and the status job.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::audit_trail::pseudonym_of;
use carevault_core::appointment::{
    AppointmentStatus, AppointmentType, TimeSlot, WeeklyHours, is_active, next_free_slots,
    puts_on_care_team, slot_keys,
};
use carevault_core::audit::{AuditAction, AuditEvent, Outcome, ResourceType};
use carevault_core::masking::{PatientView, view_for};
use carevault_core::patient::{ClinicalText, PatientStatus, Phone};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{
    Action, AppointmentId, DepartmentId, Grant, PatientId, Role, UserId, ValidationErrors,
};
use carevault_crypto::data_key::DataKey;
use carevault_store::patients::{self, PatientRow};
use carevault_store::scheduling::{
    self as store, AppointmentFilter, AppointmentRow, DepartmentRow, SlotOwner, StaffProfileRow,
};
use carevault_store::{StoreError, care_team, users};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::actor::Actor;
use crate::error::ServiceError;
// The refusal of a double booking lives with the error that carries it; re-exported here,
// where callers look for scheduling's types.
pub use crate::error::{ConflictingSlot, SlotConflict};
use crate::sealing::Place;
use crate::tx::{self, Abort};
use crate::{Services, patients::Shown};

/// Care-team membership that comes from an appointment.
pub const CARE_TEAM_SOURCE: &str = "appointment";
const TABLE: &str = "appointments";
/// The most appointments one list or calendar returns.
const LIST_LIMIT: u64 = 2000;

/// Tunables of scheduling.
#[derive(Debug, Clone)]
pub struct SchedulingSettings {
    /// The clinic's time zone: working hours, "today" and calendar days are in it.
    pub time_zone: Tz,
    /// A scheduled appointment not checked in this long after its end becomes a no-show.
    pub no_show_grace: Duration,
    /// A patient may cancel their own appointment until this long before it starts.
    pub patient_cancel_cutoff: Duration,
    /// How many free slots a conflict answer offers.
    pub free_slots_offered: usize,
    /// How many days ahead the free-slot search looks.
    pub free_slot_horizon_days: u32,
}

impl Default for SchedulingSettings {
    fn default() -> Self {
        Self {
            time_zone: Tz::UTC,
            no_show_grace: Duration::minutes(30),
            patient_cancel_cutoff: Duration::hours(24),
            free_slots_offered: 5,
            free_slot_horizon_days: 14,
        }
    }
}

// ---- departments ----

/// A department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub location: String,
    /// The default appointment length, in minutes.
    pub slot_minutes: u32,
    pub active: bool,
}

/// A department as submitted (form fields or JSON), before validation.
#[derive(Debug, Clone, Default)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub location: String,
    /// Blank: 30 minutes.
    pub slot_minutes: Option<String>,
    pub active: bool,
}

// ---- staff ----

/// One entry of the staff directory, as the actor may see it: patients see doctors' names,
/// specialties and departments only (the other fields are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    pub department_name: Option<String>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    /// Working hours in the text form (`mon-fri 08:00-17:00`).
    pub working_hours: Option<String>,
    pub active: bool,
    /// Whether a profile has been saved (otherwise the defaults are shown).
    pub has_profile: bool,
}

/// A staff profile as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct StaffProfileInput {
    /// Blank: no department.
    pub department_id: Option<String>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    /// Blank: Monday to Friday, 08:00–17:00.
    pub working_hours: Option<String>,
    pub active: bool,
}

// ---- appointments ----

/// An appointment as one actor may see it. Hidden fields are `None` (for [`Shown`] fields:
/// `None` hidden, `Some(None)` shown but empty).
#[derive(Clone, PartialEq, Eq)]
pub struct AppointmentView {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    /// The patient's name in clear, or their pseudonym, as the actor's view allows.
    pub patient_label: String,
    /// Which view of the patient the label comes from.
    pub patient_view: PatientView,
    pub clinician_id: Option<UserId>,
    pub clinician_name: Option<String>,
    pub department_id: DepartmentId,
    pub department_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: AppointmentType,
    pub status: AppointmentStatus,
    pub reason: Option<String>,
    pub notes: Shown<String>,
    pub preferred_times: Shown<String>,
    /// Why it was cancelled or declined.
    pub status_reason: Shown<String>,
    /// The statuses this actor may move it to now.
    pub next_statuses: Vec<AppointmentStatus>,
    /// Whether this actor may move it to another slot.
    pub may_reschedule: bool,
    pub created_at: DateTime<Utc>,
    /// The version: a reschedule based on an older one is refused.
    pub updated_at: DateTime<Utc>,
    /// The latest triage of the visit (acuity, note, flagged vitals), for those with the
    /// full view of the patient; `None` otherwise or when there is none.
    pub triage: Option<crate::nursing::TriageView>,
}

impl std::fmt::Debug for AppointmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppointmentView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// A booking as submitted, before validation. `start`/`end` are RFC 3339 with an offset.
#[derive(Clone, Default)]
pub struct BookingInput {
    pub patient_id: String,
    pub clinician_id: String,
    /// Blank: the clinician's department.
    pub department_id: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration_minutes: Option<String>,
    /// Blank: consultation.
    pub kind: Option<String>,
    pub reason: String,
    pub notes: Option<String>,
}

impl std::fmt::Debug for BookingInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingInput")
            .field("patient_id", &self.patient_id)
            .field("clinician_id", &self.clinician_id)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// A patient's request for a consultation, before validation.
#[derive(Clone, Default)]
pub struct RequestInput {
    /// Blank, or the patient's own record id; any other is refused (and recorded).
    pub patient_id: Option<String>,
    /// A department, or blank when a doctor is given (their department is used).
    pub department_id: Option<String>,
    pub clinician_id: Option<String>,
    /// The preferred start, RFC 3339 with an offset.
    pub start: String,
    /// Other times that would suit, in the patient's words.
    pub preferred_times: Option<String>,
    pub kind: Option<String>,
    pub reason: String,
}

impl std::fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInput")
            .field("department_id", &self.department_id)
            .field("clinician_id", &self.clinician_id)
            .finish_non_exhaustive()
    }
}

/// A new slot (and possibly clinician) for an existing appointment, or the slot chosen when
/// accepting a request.
#[derive(Debug, Clone, Default)]
pub struct SlotInput {
    /// Blank: keep the clinician (required when accepting a request without one).
    pub clinician_id: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration_minutes: Option<String>,
}

/// Which appointments to list.
#[derive(Debug, Clone, Default)]
pub struct AppointmentQuery {
    pub clinician: Option<UserId>,
    pub patient: Option<PatientId>,
    pub department: Option<DepartmentId>,
    pub statuses: Vec<AppointmentStatus>,
    /// Starting on or after this local day (clinic time).
    pub from: Option<NaiveDate>,
    /// Starting on or before this local day (inclusive).
    pub to: Option<NaiveDate>,
}

/// A clinician's day: working hours, what is booked, and what is free.
#[derive(Debug, Clone)]
pub struct Availability {
    pub clinician: StaffMember,
    pub date: NaiveDate,
    /// Working ranges of the day, in UTC.
    pub working: Vec<TimeSlot>,
    /// Slots held by active appointments.
    pub busy: Vec<TimeSlot>,
    /// Free slots of the clinician's department's default length.
    pub free: Vec<TimeSlot>,
    pub slot_minutes: u32,
}

/// Counts for the appointment report.
#[derive(Debug, Clone, Default)]
pub struct AppointmentReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: u64,
    pub by_department: Vec<(String, u64)>,
    pub by_clinician: Vec<(String, u64)>,
    pub by_status: Vec<(AppointmentStatus, u64)>,
    /// Every day of the range, zero days included.
    pub by_day: Vec<(NaiveDate, u64)>,
}

/// What one run of the status job changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusJobRun {
    pub no_shows: u64,
    pub completed: u64,
}

// ---- plain helpers ----

fn parse_id<T: std::str::FromStr>(
    errors: &mut ValidationErrors,
    field: &str,
    raw: &str,
) -> Option<T> {
    let raw = raw.trim();
    if raw.is_empty() {
        errors.push(field, "is required");
        return None;
    }
    match raw.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(field, "is not a valid id");
            None
        }
    }
}

fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn text(errors: &mut ValidationErrors, field: &str, raw: Option<&String>) -> Option<String> {
    let raw = given(raw)?;
    errors
        .check(field, ClinicalText::parse(raw))
        .map(|t| t.as_str().to_owned())
}

fn required_text(errors: &mut ValidationErrors, field: &str, raw: &str) -> Option<String> {
    if raw.trim().is_empty() {
        errors.push(field, "is required");
        return None;
    }
    errors
        .check(field, ClinicalText::parse(raw))
        .map(|t| t.as_str().to_owned())
}

fn parse_kind(errors: &mut ValidationErrors, raw: Option<&String>) -> Option<AppointmentType> {
    match given(raw) {
        None => Some(AppointmentType::Consultation),
        Some(raw) => errors.check("type", AppointmentType::parse(raw)),
    }
}

/// Turns a form's `datetime-local` value (`2026-03-02T10:00`, no offset) into RFC 3339 in the
/// clinic's time zone. Values that already carry an offset, and anything unparseable, pass
/// through unchanged (the booking's validation then names the problem). The JSON API does
/// not use this: there an offset is required.
pub fn localize_form_datetime(raw: &str, zone: Tz) -> String {
    let trimmed = raw.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(local) => match zone.from_local_datetime(&local).earliest() {
            Some(instant) => instant.to_rfc3339(),
            None => trimmed.to_owned(),
        },
        Err(_) => trimmed.to_owned(),
    }
}

fn seal(
    dek: &DataKey,
    appointment: &str,
    patient: &str,
    column: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    Place {
        table: TABLE,
        row_id: appointment,
        patient_id: patient,
    }
    .seal(dek, column, value)
}

fn open(
    dek: &DataKey,
    row: &AppointmentRow,
    column: &str,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, ServiceError> {
    Place {
        table: TABLE,
        row_id: &row.id,
        patient_id: &row.patient_id,
    }
    .open(dek, column, sealed)
}

fn status_of(row: &AppointmentRow) -> Result<AppointmentStatus, ServiceError> {
    AppointmentStatus::parse(&row.status).map_err(|_| ServiceError::Integrity)
}

fn slot_of(row: &AppointmentRow) -> Result<TimeSlot, ServiceError> {
    TimeSlot::new(from_micros(row.start_at), from_micros(row.end_at))
        .map_err(|_| ServiceError::Integrity)
}

fn department_of(row: DepartmentRow) -> Result<Department, ServiceError> {
    Ok(Department {
        id: row.id.parse().map_err(|_| ServiceError::Integrity)?,
        code: row.code,
        name: row.name,
        location: row.location,
        slot_minutes: u32::try_from(row.slot_minutes).unwrap_or(30),
        active: row.active,
    })
}

/// Statuses whose appointments put their clinician on the patient's care team.
fn care_team_statuses() -> Vec<&'static str> {
    AppointmentStatus::ALL
        .iter()
        .filter(|s| puts_on_care_team(**s))
        .map(|s| s.as_str())
        .collect()
}

impl SchedulingSettings {
    /// The clinic's UTC offset in force at `instant`.
    pub fn offset_at(&self, instant: DateTime<Utc>) -> FixedOffset {
        self.time_zone
            .offset_from_utc_datetime(&instant.naive_utc())
            .fix()
    }

    /// The clinic's UTC offset on `date` (at local noon).
    pub fn offset_on(&self, date: NaiveDate) -> FixedOffset {
        let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
        self.time_zone
            .offset_from_local_datetime(&noon)
            .earliest()
            .map_or_else(|| Utc.fix(), |o| o.fix())
    }

    /// The clinic's calendar day of `instant`.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.time_zone).date_naive()
    }

    /// The first instant of the local day `date`, in UTC.
    pub fn day_start(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_time(NaiveTime::MIN);
        self.time_zone
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(
                || Utc.from_utc_datetime(&midnight),
                |t| t.with_timezone(&Utc),
            )
    }
}

impl Services {
    fn scheduling(&self) -> &SchedulingSettings {
        &self.settings().scheduling
    }

    /// The clinic's time zone (pages show times in it).
    pub fn clinic_time_zone(&self) -> Tz {
        self.scheduling().time_zone
    }

    /// Today in the clinic's time zone.
    pub fn clinic_today(&self) -> NaiveDate {
        self.scheduling().local_date(self.now())
    }

    /// `Ok` for administrators; otherwise the refusal, recorded (for pages that show an
    /// administrator's form before anything is submitted).
    pub async fn may_administer_scheduling(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::StaffProfile)
            .await
    }

    /// `Ok` for staff who book appointments (administrators, reception, doctors for their
    /// own schedule); otherwise the refusal, recorded.
    pub async fn may_book_appointments(&self, actor: &Actor) -> Result<(), ServiceError> {
        if actor.may(Action::BookAppointments) {
            return Ok(());
        }
        Err(self
            .deny(
                actor,
                ResourceType::Appointment,
                None,
                "requires scheduling rights",
            )
            .await)
    }

    // ---- departments ----

    /// Every department (patients and other non-administrators: active ones only).
    pub async fn departments(&self, actor: &Actor) -> Result<Vec<Department>, ServiceError> {
        if actor.user_id().is_none() && actor.grant(Action::AdministerSystem) != Grant::Yes {
            return Err(ServiceError::Unauthenticated);
        }
        let all = actor.grant(Action::AdministerSystem) == Grant::Yes;
        store::departments(self.store().conn())
            .await?
            .into_iter()
            .filter(|row| all || row.active)
            .map(department_of)
            .collect()
    }

    /// One department.
    pub async fn department(
        &self,
        actor: &Actor,
        id: DepartmentId,
    ) -> Result<Department, ServiceError> {
        self.departments(actor)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(ServiceError::NotFound("department"))
    }

    fn validate_department(input: &DepartmentInput) -> Result<DepartmentRow, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let code = input.code.trim().to_ascii_uppercase();
        if code.is_empty() {
            errors.push("code", "is required");
        } else if code.len() > 16
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(
                "code",
                "must be 1–16 letters, digits, hyphens or underscores (e.g. CARD)",
            );
        }
        let name = input.name.trim().to_owned();
        if name.chars().count() < 2 || name.chars().count() > 100 {
            errors.push("name", "must be 2–100 characters");
        }
        let location = input.location.trim().to_owned();
        if location.chars().count() > 200 {
            errors.push("location", "must be at most 200 characters");
        }
        let slot_minutes = match given(input.slot_minutes.as_ref()) {
            None => 30,
            Some(raw) => match raw.parse::<i32>() {
                Ok(m) if (5..=240).contains(&m) && m % 5 == 0 => m,
                _ => {
                    errors.push(
                        "slot_minutes",
                        "must be a whole number of minutes from 5 to 240, a multiple of 5",
                    );
                    30
                }
            },
        };
        errors.into_result()?;
        Ok(DepartmentRow {
            id: String::new(),
            code,
            name,
            location,
            slot_minutes,
            active: input.active,
            created_at: 0,
            updated_at: 0,
        })
    }

    /// Creates a department. Administrators.
    pub async fn create_department(
        &self,
        actor: &Actor,
        input: DepartmentInput,
    ) -> Result<Department, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Department)
            .await?;
        let mut row = Self::validate_department(&input)?;
        let id = DepartmentId::generate();
        let now = to_micros(self.now());
        row.id = id.to_string();
        row.created_at = now;
        row.updated_at = now;
        self.transaction(async |txn| {
            match store::insert_department(txn, row.clone()).await {
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("code"),
                        message: "a department with this code or name already exists".into(),
                    });
                }
                other => other?,
            }
            let mut event = self.audit_event(actor, AuditAction::Create, ResourceType::Department);
            event.resource_id = Some(row.id.clone());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        department_of(row)
    }

    /// Changes a department. Administrators.
    pub async fn update_department(
        &self,
        actor: &Actor,
        id: DepartmentId,
        input: DepartmentInput,
    ) -> Result<Department, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Department)
            .await?;
        let existing = store::find_department(self.store().conn(), id)
            .await?
            .ok_or(ServiceError::NotFound("department"))?;
        let mut row = Self::validate_department(&input)?;
        row.id = existing.id.clone();
        row.created_at = existing.created_at;
        row.updated_at = to_micros(self.now());
        self.transaction(async |txn| {
            match store::update_department(txn, row.clone()).await {
                Err(StoreError::UniqueViolation(_)) => {
                    return Err(ServiceError::Conflict {
                        field: Some("code"),
                        message: "a department with this code or name already exists".into(),
                    });
                }
                other => other?,
            };
            let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Department);
            event.resource_id = Some(row.id.clone());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        department_of(row)
    }

    // ---- staff ----

    /// The staff directory. Staff see everyone with a clinical or desk role; patients see
    /// active doctors (name, specialty, department).
    pub async fn staff_directory(&self, actor: &Actor) -> Result<Vec<StaffMember>, ServiceError> {
        if actor.role().is_none() {
            if actor.grant(Action::AdministerSystem) == Grant::Yes {
                return self.all_staff(false).await;
            }
            return Err(ServiceError::Unauthenticated);
        }
        if !actor.may(Action::SeeStaff) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::StaffProfile,
                    None,
                    Action::SeeStaff.refusal(),
                )
                .await);
        }
        self.all_staff(actor.may(Action::UsePortal)).await
    }

    async fn all_staff(&self, for_patient: bool) -> Result<Vec<StaffMember>, ServiceError> {
        let conn = self.store().conn();
        let departments: HashMap<String, String> = store::departments(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let profiles: HashMap<String, StaffProfileRow> = store::staff_profiles(conn)
            .await?
            .into_iter()
            .map(|p| (p.user_id.clone(), p))
            .collect();
        let mut out = Vec::new();
        for user in users::list(conn).await? {
            if !user.role.in_staff_directory() {
                continue;
            }
            let profile = profiles.get(&user.id.to_string());
            let active = user.status == carevault_core::UserStatus::Active
                && profile.is_none_or(|p| p.active);
            if for_patient && !(user.role.takes_patient_requests() && active) {
                continue;
            }
            let department_id: Option<DepartmentId> = profile
                .and_then(|p| p.department_id.as_deref())
                .and_then(|id| id.parse().ok());
            let department_name = profile
                .and_then(|p| p.department_id.as_ref())
                .and_then(|id| departments.get(id).cloned());
            out.push(StaffMember {
                id: user.id,
                username: user.username.as_str().to_owned(),
                display_name: user.display_name.as_str().to_owned(),
                role: user.role,
                department_id,
                department_name,
                specialty: profile.and_then(|p| p.specialty.clone()),
                work_phone: if for_patient {
                    None
                } else {
                    profile.and_then(|p| p.work_phone.clone())
                },
                working_hours: if for_patient {
                    None
                } else {
                    Some(profile.map_or_else(
                        || WeeklyHours::default().to_string(),
                        |p| p.working_hours.clone(),
                    ))
                },
                active,
                has_profile: profile.is_some(),
            });
        }
        out.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(out)
    }

    /// One entry of the directory.
    pub async fn staff_member(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> Result<StaffMember, ServiceError> {
        self.staff_directory(actor)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(ServiceError::NotFound("staff member"))
    }

    /// Saves a staff member's profile. Administrators.
    pub async fn update_staff_profile(
        &self,
        actor: &Actor,
        id: UserId,
        input: StaffProfileInput,
    ) -> Result<StaffMember, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::StaffProfile)
            .await?;
        let user = users::find_by_id(self.store().conn(), id)
            .await?
            .filter(|u| u.role.in_staff_directory())
            .ok_or(ServiceError::NotFound("staff member"))?;
        let mut errors = ValidationErrors::new();
        let department_id = match given(input.department_id.as_ref()) {
            None => None,
            Some(raw) => match raw.parse::<DepartmentId>() {
                Ok(id) => {
                    if store::find_department(self.store().conn(), id)
                        .await?
                        .is_none()
                    {
                        errors.push("department_id", "is not a known department");
                    }
                    Some(id.to_string())
                }
                Err(_) => {
                    errors.push("department_id", "is not a valid id");
                    None
                }
            },
        };
        let specialty = given(input.specialty.as_ref()).map(str::to_owned);
        if specialty.as_ref().is_some_and(|s| s.chars().count() > 100) {
            errors.push("specialty", "must be at most 100 characters");
        }
        let work_phone = given(input.work_phone.as_ref())
            .and_then(|raw| errors.check("work_phone", Phone::parse(raw)))
            .map(|p| p.as_str().to_owned());
        let hours = match given(input.working_hours.as_ref()) {
            None => Some(WeeklyHours::default()),
            Some(raw) if raw.len() > 300 => {
                errors.push("working_hours", "must be at most 300 characters");
                None
            }
            Some(raw) => errors.check("working_hours", WeeklyHours::parse(raw)),
        };
        errors.into_result()?;
        let row = StaffProfileRow {
            user_id: user.id.to_string(),
            department_id,
            specialty,
            work_phone,
            working_hours: hours.unwrap_or_default().to_string(),
            active: input.active,
            updated_at: to_micros(self.now()),
        };
        self.transaction(async |txn| {
            store::upsert_staff_profile(txn, row.clone()).await?;
            let mut event =
                self.audit_event(actor, AuditAction::Update, ResourceType::StaffProfile);
            event.resource_id = Some(user.id.to_string());
            self.append_in(txn, event).await?;
            Ok(())
        })
        .await?;
        self.staff_member(actor, id).await
    }

    /// A clinician who can hold appointments: an active doctor or nurse account with an
    /// active profile (or none yet: default hours, no department).
    async fn clinician(
        &self,
        id: UserId,
    ) -> Result<Option<(users::UserRecord, Option<StaffProfileRow>)>, ServiceError> {
        let conn = self.store().conn();
        let Some(user) = users::find_by_id(conn, id).await? else {
            return Ok(None);
        };
        if !user.role.holds_a_schedule() || user.status != carevault_core::UserStatus::Active {
            return Ok(None);
        }
        let profile = store::find_staff_profile(conn, id).await?;
        if profile.as_ref().is_some_and(|p| !p.active) {
            return Ok(None);
        }
        Ok(Some((user, profile)))
    }

    // ---- reading appointments ----

    /// Whether `actor` may see appointments at all, and if so whose.
    fn appointment_reader(actor: &Actor) -> Option<Role> {
        actor.role().filter(|_| actor.may(Action::Appointments))
    }

    async fn require_appointment_reader(&self, actor: &Actor) -> Result<Role, ServiceError> {
        match Self::appointment_reader(actor) {
            Some(role) => Ok(role),
            None => Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "this role sees no appointments",
                )
                .await),
        }
    }

    /// What `actor` may book, move, cancel or mark a no-show (staff side).
    async fn manage_scope(&self, actor: &Actor) -> Result<ManageScope, ServiceError> {
        Ok(match actor.grant(Action::BookAppointments) {
            Grant::Yes => ManageScope {
                everything: true,
                ..ManageScope::default()
            },
            Grant::Scoped(carevault_core::Scope::OwnSchedule) => {
                let me = actor.user_id();
                let my_department = match me {
                    Some(id) => store::find_staff_profile(self.store().conn(), id)
                        .await?
                        .and_then(|p| p.department_id),
                    None => None,
                };
                ManageScope {
                    everything: false,
                    me: me.map(|id| id.to_string()),
                    my_department,
                }
            }
            _ => ManageScope::default(),
        })
    }

    /// The patient rows behind `rows`, with the view the actor has of each.
    async fn patient_views(
        &self,
        actor: &Actor,
        rows: &[AppointmentRow],
    ) -> Result<HashMap<String, (PatientRow, PatientView)>, ServiceError> {
        let ids: Vec<PatientId> = rows
            .iter()
            .filter_map(|r| r.patient_id.parse().ok())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let role = actor.role().ok_or(ServiceError::Forbidden)?;
        let mut out = HashMap::new();
        for row in patients::find_many(self.store().conn(), &ids).await? {
            let relation = self.relation_to(actor, &row).await?;
            if let Some(view) = view_for(role, relation) {
                out.insert(row.id.clone(), (row, view));
            }
        }
        Ok(out)
    }

    /// Presents `rows` as `actor` may see them (rows of patients the actor has no view of
    /// are left out), and the audit events that record the disclosure.
    async fn present_appointments(
        &self,
        actor: &Actor,
        rows: Vec<AppointmentRow>,
        action: AuditAction,
    ) -> Result<(Vec<AppointmentView>, Vec<AuditEvent>), ServiceError> {
        let patients = self.patient_views(actor, &rows).await?;
        let scope = self.manage_scope(actor).await?;
        let conn = self.store().conn();
        let departments: HashMap<String, String> = store::departments(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let names: HashMap<String, String> = users::list(conn)
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u.display_name.as_str().to_owned()))
            .collect();
        let mut keys: HashMap<String, DataKey> = HashMap::new();
        let mut labels: HashMap<String, String> = HashMap::new();
        let mut views = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let Some((patient, view)) = patients.get(&row.patient_id) else {
                continue;
            };
            let view = *view;
            if !labels.contains_key(&patient.id) {
                let label = if view.shows_identity() {
                    let data = self.open_row(actor, patient, action).await?;
                    format!("{} {}", data.given_name, data.family_name)
                } else {
                    pseudonym_of(patient.pseudonym_number)
                };
                labels.insert(patient.id.clone(), label);
            }
            let shows_reason = matches!(
                view,
                PatientView::Full | PatientView::Registration | PatientView::Own
            );
            let shows_clinical = matches!(view, PatientView::Full | PatientView::Own);
            let opened = if shows_reason {
                if !keys.contains_key(&patient.id) {
                    let dek = self
                        .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                        .await?;
                    keys.insert(patient.id.clone(), dek);
                }
                let dek = keys
                    .get(&patient.id)
                    .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("no data key")))?;
                let opened = (|| {
                    Ok::<_, ServiceError>((
                        open(dek, &row, "reason", Some(&row.reason))?,
                        open(dek, &row, "notes", row.notes.as_deref())?,
                        open(dek, &row, "preferred_times", row.preferred_times.as_deref())?,
                        open(dek, &row, "status_reason", row.status_reason.as_deref())?,
                    ))
                })();
                match opened {
                    Ok(opened) => Some(opened),
                    Err(ServiceError::Integrity) => {
                        let mut event = self
                            .audit_event(actor, action, ResourceType::Appointment)
                            .resource_id(&row.id)
                            .patient(pseudonym_of(patient.pseudonym_number));
                        event.outcome = Outcome::Failed;
                        event.reason = Some("sealed data failed its integrity check".into());
                        tracing::error!(appointment_id = %row.id, "sealed appointment data failed its integrity check");
                        self.record(event).await?;
                        return Err(ServiceError::Integrity);
                    }
                    Err(other) => return Err(other),
                }
            } else {
                None
            };
            let (reason, notes, preferred, status_reason) = opened.unwrap_or_default();
            let status = status_of(&row)?;
            let next_statuses = self.permitted_transitions(actor, &scope, &row, status, view);
            let may_reschedule = status == AppointmentStatus::Scheduled
                && !actor.reaches_own_record_only()
                && scope.manages(row.clinician_id.as_deref(), &row.department_id);
            events.push(
                self.audit_event(actor, action, ResourceType::Appointment)
                    .resource_id(&row.id)
                    .patient(pseudonym_of(patient.pseudonym_number)),
            );
            views.push(AppointmentView {
                id: row.id.parse().map_err(|_| ServiceError::Integrity)?,
                patient_id: row
                    .patient_id
                    .parse()
                    .map_err(|_| ServiceError::Integrity)?,
                patient_label: labels.get(&patient.id).cloned().unwrap_or_default(),
                patient_view: view,
                clinician_id: row
                    .clinician_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|_| ServiceError::Integrity)?,
                clinician_name: row
                    .clinician_id
                    .as_ref()
                    .and_then(|id| names.get(id).cloned()),
                department_id: row
                    .department_id
                    .parse()
                    .map_err(|_| ServiceError::Integrity)?,
                department_name: departments
                    .get(&row.department_id)
                    .cloned()
                    .unwrap_or_default(),
                start: from_micros(row.start_at),
                end: from_micros(row.end_at),
                kind: AppointmentType::parse(&row.kind).map_err(|_| ServiceError::Integrity)?,
                status,
                reason: shows_reason.then(|| reason.unwrap_or_default()),
                notes: shows_clinical.then_some(notes),
                preferred_times: shows_reason.then_some(preferred),
                status_reason: shows_reason.then_some(status_reason),
                next_statuses,
                may_reschedule,
                created_at: from_micros(row.created_at),
                updated_at: from_micros(row.updated_at),
                triage: None,
            });
        }
        // The nurse's triage of each visit, for those with the full view of its patient.
        let full: Vec<String> = views
            .iter()
            .filter(|v| v.patient_view == PatientView::Full)
            .map(|v| v.id.to_string())
            .collect();
        if !full.is_empty() {
            let name = |id: &str| names.get(id).cloned().unwrap_or_default();
            let mut triages = self.triages_of_appointments(&full, &keys, &name).await?;
            for view in &mut views {
                if view.patient_view == PatientView::Full {
                    view.triage = triages.remove(&view.id.to_string());
                }
            }
        }
        Ok((views, events))
    }

    /// The statuses `actor` may move an appointment in `status` to now.
    fn permitted_transitions(
        &self,
        actor: &Actor,
        scope: &ManageScope,
        row: &AppointmentRow,
        status: AppointmentStatus,
        view: PatientView,
    ) -> Vec<AppointmentStatus> {
        status
            .allowed_next()
            .iter()
            .copied()
            .filter(|to| {
                self.transition_refusal(actor, scope, row, status, *to, view)
                    .is_none()
            })
            .collect()
    }

    /// Why `actor` may not move `row` from `from` to `to` now (`None`: they may). The graph
    /// itself is checked separately.
    fn transition_refusal(
        &self,
        actor: &Actor,
        scope: &ManageScope,
        row: &AppointmentRow,
        from: AppointmentStatus,
        to: AppointmentStatus,
        view: PatientView,
    ) -> Option<Refusal> {
        use AppointmentStatus as S;
        use Refusal::{NotAllowed, NotNow};
        let now = self.now();
        let start = from_micros(row.start_at);
        let own_clinician = actor.user_id().map(|id| id.to_string()) == row.clinician_id;
        if actor.reaches_own_record_only() {
            if view != PatientView::Own {
                return Some(NotAllowed("not the patient's own appointment"));
            }
            return match (from, to) {
                (S::Scheduled, S::Cancelled)
                    if start - now < self.scheduling().patient_cancel_cutoff =>
                {
                    Some(NotNow(
                        "it is too close to the appointment to cancel online: please call the hospital",
                    ))
                }
                (S::Requested | S::Scheduled, S::Cancelled) => None,
                _ => Some(NotAllowed(
                    "patients may only cancel their own appointments",
                )),
            };
        }
        let manages = scope.manages(row.clinician_id.as_deref(), &row.department_id);
        let needs_rights = NotAllowed("requires scheduling rights for this clinician");
        match to {
            S::Scheduled | S::Cancelled => (!manages).then_some(needs_rights),
            S::CheckedIn => {
                if !(manages || own_clinician) {
                    Some(NotAllowed(
                        "requires reception, an administrator or the appointment's clinician",
                    ))
                } else if self.scheduling().local_date(now) != self.scheduling().local_date(start) {
                    Some(NotNow(
                        "can be checked in only on the day of the appointment",
                    ))
                } else {
                    None
                }
            }
            S::InProgress | S::Completed => {
                (!(own_clinician || actor.grant(Action::AdministerSystem) == Grant::Yes)).then_some(
                    NotAllowed("only the appointment's clinician or an administrator can do this"),
                )
            }
            S::NoShow => {
                if !manages {
                    Some(needs_rights)
                } else if now < start {
                    Some(NotNow("cannot be marked a no-show before it starts"))
                } else {
                    None
                }
            }
            S::Requested => Some(NotAllowed("an appointment cannot go back to requested")),
        }
    }

    /// One appointment, as the actor may see it. Audited.
    pub async fn get_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        let (mut views, events) = self
            .present_appointments(actor, vec![row], AuditAction::Read)
            .await?;
        self.record_all(events).await?;
        views.pop().ok_or(ServiceError::NotFound("appointment"))
    }

    /// Loads an appointment the actor may see; a patient asking for someone else's is
    /// refused (and recorded) whether or not it exists.
    async fn load_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
    ) -> Result<AppointmentRow, ServiceError> {
        self.require_appointment_reader(actor).await?;
        let row = store::find_appointment(self.store().conn(), id).await?;
        if actor.reaches_own_record_only() {
            let own = self.own_patient_row(actor).await?;
            match (&row, own) {
                (Some(row), Some(own)) if row.patient_id == own.id => {}
                _ => {
                    return Err(self
                        .deny(
                            actor,
                            ResourceType::Appointment,
                            Some(id.to_string()),
                            "not the patient's own appointment",
                        )
                        .await);
                }
            }
        }
        row.ok_or(ServiceError::NotFound("appointment"))
    }

    /// The patient record linked to a patient's account.
    async fn own_patient_row(&self, actor: &Actor) -> Result<Option<PatientRow>, ServiceError> {
        match actor.user_id().filter(|_| actor.may(Action::UsePortal)) {
            Some(user) => Ok(patients::find_by_account(self.store().conn(), user)
                .await?
                .filter(|row| row.status != patients::ERASED_STATUS)),
            None => Ok(None),
        }
    }

    /// Appointments matching `query`, earliest first, as the actor may see them. A patient
    /// sees only their own (any other patient filter is refused); every listed appointment
    /// is recorded as listed.
    pub async fn list_appointments(
        &self,
        actor: &Actor,
        mut query: AppointmentQuery,
    ) -> Result<Vec<AppointmentView>, ServiceError> {
        self.require_appointment_reader(actor).await?;
        if actor.reaches_own_record_only() {
            let own = self.own_patient_row(actor).await?;
            let Some(own) = own else {
                return Ok(Vec::new());
            };
            let own_id: PatientId = own.id.parse().map_err(|_| ServiceError::Integrity)?;
            if query.patient.is_some_and(|p| p != own_id) {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Appointment,
                        query.patient.map(|p| p.to_string()),
                        "not the patient's own appointments",
                    )
                    .await);
            }
            query.patient = Some(own_id);
        }
        let settings = self.scheduling();
        let filter = AppointmentFilter {
            clinician: query.clinician,
            patient: query.patient,
            department: query.department,
            statuses: query
                .statuses
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            from: query.from.map(|d| to_micros(settings.day_start(d))),
            to: query
                .to
                .and_then(|d| d.succ_opt())
                .map(|d| to_micros(settings.day_start(d))),
        };
        let rows = store::appointments(self.store().conn(), &filter, LIST_LIMIT).await?;
        let (views, events) = self
            .present_appointments(actor, rows, AuditAction::Listed)
            .await?;
        self.record_all(events).await?;
        Ok(views)
    }

    /// A patient's own appointments (all of them, earliest first).
    pub async fn my_appointments(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AppointmentView>, ServiceError> {
        if !actor.may(Action::UsePortal) {
            return Err(self
                .deny(actor, ResourceType::Appointment, None, "patients only")
                .await);
        }
        self.list_appointments(actor, AppointmentQuery::default())
            .await
    }

    // ---- booking ----

    /// Books an appointment into a free slot. Administrators and receptionists for any
    /// clinician, doctors for themselves. A double booking is refused with
    /// [`ServiceError::SlotTaken`].
    pub async fn book_appointment(
        &self,
        actor: &Actor,
        input: BookingInput,
    ) -> Result<AppointmentView, ServiceError> {
        self.may_book_appointments(actor).await?;
        let mut errors = ValidationErrors::new();
        let patient_id: Option<PatientId> = parse_id(&mut errors, "patient_id", &input.patient_id);
        let clinician_id: Option<UserId> =
            parse_id(&mut errors, "clinician_id", &input.clinician_id);
        let department_id: Option<DepartmentId> = match given(input.department_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "department_id", raw),
            None => None,
        };
        let kind = parse_kind(&mut errors, input.kind.as_ref());
        let reason = required_text(&mut errors, "reason", &input.reason);
        let notes = text(&mut errors, "notes", input.notes.as_ref());
        let scope = self.manage_scope(actor).await?;
        if let Some(clinician) = clinician_id
            && !scope.manages(Some(&clinician.to_string()), "")
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "doctors book into their own schedule only",
                )
                .await);
        }
        let target = self
            .booking_target(&mut errors, patient_id, clinician_id, department_id)
            .await?;
        let slot_minutes = target.as_ref().map_or(30, |t| t.slot_minutes);
        let slot = self.parse_slot(
            &mut errors,
            &input.start,
            input.end.as_deref(),
            input.duration_minutes.as_deref(),
            slot_minutes,
        );
        errors.into_result()?;
        let (Some(target), Some(slot), Some(kind), Some(reason)) = (target, slot, kind, reason)
        else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        self.check_working_hours(&target.hours, &slot)?;
        if actor.grant(Action::BookAppointments) != Grant::Yes {
            // A doctor books follow-ups for patients already in their care. Otherwise booking
            // would put anyone's record in their hands: new patients go through reception.
            let patient: PatientId = target
                .patient
                .id
                .parse()
                .map_err(|_| ServiceError::Integrity)?;
            let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
            if !care_team::is_member(self.store().conn(), patient, me).await? {
                return Err(self
                    .deny(
                        actor,
                        ResourceType::Appointment,
                        None,
                        "doctors book only patients already on their care team",
                    )
                    .await);
            }
        }
        let id = AppointmentId::generate();
        let now = to_micros(self.now());
        let dek = self
            .unwrap_patient_key(&target.patient.id, &target.patient.wrapped_data_key)
            .await?;
        let id_text = id.to_string();
        let s = |column: &str, value: Option<&str>| {
            seal(&dek, &id_text, &target.patient.id, column, value)
        };
        let row = AppointmentRow {
            id: id_text.clone(),
            patient_id: target.patient.id.clone(),
            clinician_id: Some(target.clinician.to_string()),
            department_id: target.department.to_string(),
            start_at: to_micros(slot.start()),
            end_at: to_micros(slot.end()),
            kind: kind.as_str().to_owned(),
            status: AppointmentStatus::Scheduled.as_str().to_owned(),
            reason: s("reason", Some(&reason))?.unwrap_or_default(),
            notes: s("notes", notes.as_deref())?,
            preferred_times: None,
            status_reason: None,
            requested_by: None,
            created_by: actor.user_id().map(|id| id.to_string()),
            created_at: now,
            updated_at: now,
        };
        let event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Appointment)
            .resource_id(&row.id)
            .patient(pseudonym_of(target.patient.pseudonym_number));
        self.write_with_claims(actor, &target, slot, &row, None, event)
            .await?;
        tracing::info!(appointment_id = %id, "appointment booked");
        self.get_appointment(actor, id).await
    }

    /// Validates who and where an appointment is for.
    async fn booking_target(
        &self,
        errors: &mut ValidationErrors,
        patient: Option<PatientId>,
        clinician: Option<UserId>,
        department: Option<DepartmentId>,
    ) -> Result<Option<BookingTarget>, ServiceError> {
        let conn = self.store().conn();
        let patient_row = match patient {
            Some(id) => {
                let row = patients::find(conn, id)
                    .await?
                    .filter(|row| row.status != patients::ERASED_STATUS);
                match &row {
                    None => errors.push("patient_id", "is not a known patient"),
                    Some(row) if row.status != PatientStatus::Active.as_str() => {
                        errors.push(
                            "patient_id",
                            format!("the patient's record is {}", row.status),
                        );
                    }
                    Some(_) => {}
                }
                row
            }
            None => None,
        };
        let clinician_found = match clinician {
            Some(id) => {
                let found = self.clinician(id).await?;
                if found.is_none() {
                    errors.push("clinician_id", "is not an active doctor or nurse");
                }
                found
            }
            None => None,
        };
        let department_id = department.or_else(|| {
            clinician_found
                .as_ref()
                .and_then(|(_, p)| p.as_ref())
                .and_then(|p| p.department_id.as_deref())
                .and_then(|id| id.parse().ok())
        });
        let department_row = match department_id {
            Some(id) => {
                let row = store::find_department(conn, id).await?.filter(|d| d.active);
                if row.is_none() {
                    errors.push("department_id", "is not an active department");
                }
                row
            }
            None => {
                if clinician_found.is_some() {
                    errors.push(
                        "department_id",
                        "is required: the clinician belongs to no department",
                    );
                }
                None
            }
        };
        let (Some(patient), Some((user, profile)), Some(department)) =
            (patient_row, clinician_found, department_row)
        else {
            return Ok(None);
        };
        let hours = match &profile {
            Some(p) => WeeklyHours::parse(&p.working_hours).map_err(|_| ServiceError::Integrity)?,
            None => WeeklyHours::default(),
        };
        Ok(Some(BookingTarget {
            patient,
            clinician: user.id,
            department: department.id.parse().map_err(|_| ServiceError::Integrity)?,
            slot_minutes: i64::from(department.slot_minutes),
            hours,
        }))
    }

    fn parse_slot(
        &self,
        errors: &mut ValidationErrors,
        start: &str,
        end: Option<&str>,
        duration: Option<&str>,
        default_minutes: i64,
    ) -> Option<TimeSlot> {
        match TimeSlot::parse(start, end, duration, default_minutes, self.now()) {
            Ok(slot) => Some(slot),
            Err(found) => {
                for e in found.0 {
                    errors.push(e.field, e.message);
                }
                None
            }
        }
    }

    fn check_working_hours(
        &self,
        hours: &WeeklyHours,
        slot: &TimeSlot,
    ) -> Result<(), ServiceError> {
        let offset = self.scheduling().offset_at(slot.start());
        if hours.covers(slot, offset) {
            Ok(())
        } else {
            Err(ValidationErrors::single(
                "start",
                format!("is outside the clinician's working hours ({hours})"),
            )
            .into())
        }
    }

    /// Writes `row` (inserted when `read_at` is `None`, else updated if unchanged since)
    /// with its slot claims, care-team membership and audit event, in one transaction,
    /// retried on contention. A claim that collides answers [`ServiceError::SlotTaken`].
    async fn write_with_claims(
        &self,
        actor: &Actor,
        target: &BookingTarget,
        slot: TimeSlot,
        row: &AppointmentRow,
        read_at: Option<i64>,
        event: AuditEvent,
    ) -> Result<(), ServiceError> {
        let id: AppointmentId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
        let patient: PatientId = target
            .patient
            .id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let owners = [
            SlotOwner::Clinician(target.clinician),
            SlotOwner::Patient(patient),
        ];
        let keys = slot_keys(&slot);
        // The reminder follows the slot; an accepted request is announced.
        let accepted = read_at.is_some() && event.action == AuditAction::StatusChanged;
        // A uniqueness violation of these writes is a claim colliding with another one.
        let collided = |err: StoreError| match err {
            StoreError::UniqueViolation(_) => Abort::Stop(SlotCollision),
            other => Abort::Fail(other.into()),
        };
        tx::retry(async || {
            let written = self
                .transaction_once(async |txn| {
                    match read_at {
                        None => store::insert_appointment(txn, row.clone())
                            .await
                            .map_err(collided)?,
                        Some(read_at) => {
                            if !store::update_appointment(txn, row.clone(), read_at)
                                .await
                                .map_err(collided)?
                            {
                                return Err(Abort::Fail(changed_meanwhile()));
                            }
                            store::release_slots(txn, id).await.map_err(collided)?;
                        }
                    }
                    store::claim_slots(txn, id, &owners, &keys)
                        .await
                        .map_err(collided)?;
                    care_team::add(
                        txn,
                        patient,
                        target.clinician,
                        CARE_TEAM_SOURCE,
                        actor.user_id(),
                        self.now(),
                    )
                    .await
                    .map_err(collided)?;
                    if read_at.is_some() {
                        // The clinician may have changed: the old one may leave the team.
                        self.refresh_care_team(txn, patient).await?;
                    }
                    self.queue_appointment_notifications(txn, row, &target.patient, accepted)
                        .await?;
                    self.append_in(txn, event.clone()).await?;
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => Ok(()),
                Err(Abort::Fail(err)) => Err(err),
                // Rolled back; the collision is read outside the transaction.
                Err(Abort::Stop(SlotCollision)) => {
                    match self.conflict_for(actor, target, slot, id).await? {
                        Some(conflict) => Err(ServiceError::SlotTaken(Box::new(conflict))),
                        // The colliding booking was itself rolled back: try again.
                        None => Err(tx::again(ServiceError::Unavailable)),
                    }
                }
            }
        })
        .await
    }

    /// The appointments `slot` collides with (other than `except`), and the clinician's next
    /// free slots of the same length. `None` if nothing collides any more.
    async fn conflict_for(
        &self,
        actor: &Actor,
        target: &BookingTarget,
        slot: TimeSlot,
        except: AppointmentId,
    ) -> Result<Option<SlotConflict>, ServiceError> {
        let conn = self.store().conn();
        let keys = slot_keys(&slot);
        let (first, past_last) = (
            keys.first().copied().unwrap_or_default(),
            keys.last().copied().unwrap_or_default() + 1,
        );
        let patient: PatientId = target
            .patient
            .id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let mut taken = Vec::new();
        for (owner, label) in [
            (SlotOwner::Clinician(target.clinician), "clinician"),
            (SlotOwner::Patient(patient), "patient"),
        ] {
            for row in store::overlapping(conn, owner, first, past_last).await? {
                if row.id != except.to_string() {
                    taken.push((row, label));
                }
            }
        }
        if taken.is_empty() {
            return Ok(None);
        }
        let rows: Vec<AppointmentRow> = taken.iter().map(|(r, _)| r.clone()).collect();
        let (views, events) = self
            .present_appointments(actor, rows, AuditAction::Listed)
            .await?;
        self.record_all(events).await?;
        let mut conflicts = Vec::new();
        for (row, label) in &taken {
            let shown = views.iter().find(|v| v.id.to_string() == row.id);
            conflicts.push(ConflictingSlot {
                appointment_id: row.id.parse().map_err(|_| ServiceError::Integrity)?,
                start: from_micros(row.start_at),
                end: from_micros(row.end_at),
                taken_for: label,
                clinician_name: shown.and_then(|v| v.clinician_name.clone()),
                patient_label: shown
                    .map_or_else(|| "another patient".to_owned(), |v| v.patient_label.clone()),
            });
        }
        let next_free = self
            .free_slots(
                target.clinician,
                &target.hours,
                slot.start(),
                slot.duration(),
            )
            .await?;
        let whose = if taken.iter().any(|(_, l)| *l == "clinician") {
            "the clinician already has an appointment at this time"
        } else {
            "the patient already has an appointment at this time"
        };
        Ok(Some(SlotConflict {
            message: format!("The slot is taken: {whose}."),
            conflicts,
            next_free,
            time_zone: self.scheduling().time_zone,
        }))
    }

    /// The clinician's next free slots of `length` from `from` on.
    async fn free_slots(
        &self,
        clinician: UserId,
        hours: &WeeklyHours,
        from: DateTime<Utc>,
        length: Duration,
    ) -> Result<Vec<TimeSlot>, ServiceError> {
        let settings = self.scheduling();
        let from = from.max(self.now());
        let horizon = from + Duration::days(i64::from(settings.free_slot_horizon_days) + 1);
        let busy = self
            .busy_slots(clinician, from - Duration::days(1), horizon)
            .await?;
        Ok(next_free_slots(
            &busy,
            hours,
            settings.offset_at(from),
            from,
            length,
            settings.free_slots_offered,
            settings.free_slot_horizon_days,
        ))
    }

    /// Slots held by the clinician's active appointments starting in `[from, to)`.
    async fn busy_slots(
        &self,
        clinician: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TimeSlot>, ServiceError> {
        let filter = AppointmentFilter {
            clinician: Some(clinician),
            statuses: AppointmentStatus::ALL
                .iter()
                .filter(|s| is_active(**s))
                .map(|s| s.as_str().to_owned())
                .collect(),
            from: Some(to_micros(from)),
            to: Some(to_micros(to)),
            ..Default::default()
        };
        store::appointments(self.store().conn(), &filter, LIST_LIMIT)
            .await?
            .iter()
            .map(slot_of)
            .collect()
    }

    /// Keeps the `appointment` care-team membership of every clinician of `patient` in line
    /// with their appointments: present while one puts them on the team, absent otherwise.
    async fn refresh_care_team(
        &self,
        conn: &impl carevault_store::Conn,
        patient: PatientId,
    ) -> Result<(), ServiceError> {
        let members = care_team::members(conn, patient).await?;
        for member in members.iter().filter(|m| m.source == CARE_TEAM_SOURCE) {
            if !store::has_appointment_with(conn, member.user_id, patient, &care_team_statuses())
                .await?
            {
                care_team::remove(conn, patient, member.user_id, CARE_TEAM_SOURCE).await?;
            }
        }
        Ok(())
    }

    /// A clinician's day: working hours, booked and free slots. Staff who see appointments
    /// and patients (who see only the free slots).
    pub async fn availability(
        &self,
        actor: &Actor,
        clinician: UserId,
        date: NaiveDate,
    ) -> Result<Availability, ServiceError> {
        self.require_appointment_reader(actor).await?;
        let member = self.staff_member(actor, clinician).await?;
        let Some((_, profile)) = self.clinician(clinician).await? else {
            return Err(ServiceError::NotFound("clinician"));
        };
        let hours = match &profile {
            Some(p) => WeeklyHours::parse(&p.working_hours).map_err(|_| ServiceError::Integrity)?,
            None => WeeklyHours::default(),
        };
        let slot_minutes = match profile.as_ref().and_then(|p| p.department_id.as_deref()) {
            Some(id) => match id.parse::<DepartmentId>() {
                Ok(id) => store::find_department(self.store().conn(), id)
                    .await?
                    .map_or(30, |d| u32::try_from(d.slot_minutes).unwrap_or(30)),
                Err(_) => 30,
            },
            None => 30,
        };
        let settings = self.scheduling();
        let offset = settings.offset_on(date);
        let working: Vec<TimeSlot> = hours
            .ranges(chrono::Datelike::weekday(&date))
            .iter()
            .filter_map(|(open, close)| {
                let start = offset.from_local_datetime(&date.and_time(*open)).single()?;
                let end = offset
                    .from_local_datetime(&date.and_time(*close))
                    .single()?;
                TimeSlot::new(start.with_timezone(&Utc), end.with_timezone(&Utc)).ok()
            })
            .collect();
        let day_start = settings.day_start(date);
        let day_end = date
            .succ_opt()
            .map_or(day_start + Duration::days(1), |d| settings.day_start(d));
        let busy = self
            .busy_slots(clinician, day_start - Duration::hours(12), day_end)
            .await?;
        let from = day_start.max(self.now());
        let free = if from >= day_end {
            Vec::new()
        } else {
            next_free_slots(
                &busy,
                &hours,
                offset,
                from,
                Duration::minutes(i64::from(slot_minutes)),
                usize::MAX,
                1,
            )
        };
        let busy = if actor.reaches_own_record_only() {
            Vec::new()
        } else {
            busy.into_iter()
                .filter(|s| s.end() > day_start && s.start() < day_end)
                .collect()
        };
        Ok(Availability {
            clinician: member,
            date,
            working,
            busy,
            free,
            slot_minutes,
        })
    }

    // ---- requests ----

    /// A patient asks for a consultation. Nothing is booked until staff accept it.
    pub async fn request_appointment(
        &self,
        actor: &Actor,
        input: RequestInput,
    ) -> Result<AppointmentView, ServiceError> {
        if !actor.may(Action::UsePortal) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "requests are made by patients for themselves",
                )
                .await);
        }
        let Some(patient) = self.own_patient_row(actor).await? else {
            return Err(ServiceError::Conflict {
                field: None,
                message: "your account is not linked to a patient record yet: please ask reception"
                    .into(),
            });
        };
        if let Some(raw) = given(input.patient_id.as_ref())
            && raw != patient.id
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "a patient may request appointments only for themselves",
                )
                .await);
        }
        let mut errors = ValidationErrors::new();
        let clinician: Option<UserId> = match given(input.clinician_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "clinician_id", raw),
            None => None,
        };
        let clinician_found = match clinician {
            Some(id) => {
                let found = self
                    .clinician(id)
                    .await?
                    .filter(|(user, _)| user.role.takes_patient_requests());
                if found.is_none() {
                    errors.push("clinician_id", "is not a doctor who takes appointments");
                }
                found
            }
            None => None,
        };
        let department: Option<DepartmentId> = match given(input.department_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "department_id", raw),
            None => clinician_found
                .as_ref()
                .and_then(|(_, p)| p.as_ref())
                .and_then(|p| p.department_id.as_deref())
                .and_then(|id| id.parse().ok()),
        };
        let department_row = match department {
            Some(id) => {
                let row = store::find_department(self.store().conn(), id)
                    .await?
                    .filter(|d| d.active);
                if row.is_none() {
                    errors.push("department_id", "is not an active department");
                }
                row
            }
            None => {
                if errors.message_for("clinician_id").is_none() {
                    errors.push("department_id", "choose a department or a doctor");
                }
                None
            }
        };
        let kind = parse_kind(&mut errors, input.kind.as_ref());
        let reason = required_text(&mut errors, "reason", &input.reason);
        let preferred = text(
            &mut errors,
            "preferred_times",
            input.preferred_times.as_ref(),
        );
        let minutes = department_row
            .as_ref()
            .map_or(30, |d| i64::from(d.slot_minutes));
        let slot = self.parse_slot(&mut errors, &input.start, None, None, minutes);
        errors.into_result()?;
        let (Some(department), Some(slot), Some(kind), Some(reason)) =
            (department_row, slot, kind, reason)
        else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        let id = AppointmentId::generate();
        let id_text = id.to_string();
        let now = to_micros(self.now());
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let s =
            |column: &str, value: Option<&str>| seal(&dek, &id_text, &patient.id, column, value);
        let row = AppointmentRow {
            id: id_text.clone(),
            patient_id: patient.id.clone(),
            clinician_id: clinician.map(|c| c.to_string()),
            department_id: department.id.clone(),
            start_at: to_micros(slot.start()),
            end_at: to_micros(slot.end()),
            kind: kind.as_str().to_owned(),
            status: AppointmentStatus::Requested.as_str().to_owned(),
            reason: s("reason", Some(&reason))?.unwrap_or_default(),
            notes: None,
            preferred_times: s("preferred_times", preferred.as_deref())?,
            status_reason: None,
            requested_by: actor.user_id().map(|id| id.to_string()),
            created_by: actor.user_id().map(|id| id.to_string()),
            created_at: now,
            updated_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Appointment)
            .resource_id(&row.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("consultation requested".into());
        self.transaction(async |txn| {
            store::insert_appointment(txn, row.clone()).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_appointment(actor, id).await
    }

    /// Accepts a patient's request into a free slot (and a clinician, if the request named
    /// none). Reception, administrators, or the requested doctor.
    pub async fn accept_request(
        &self,
        actor: &Actor,
        id: AppointmentId,
        input: SlotInput,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        let status = status_of(&row)?;
        if status != AppointmentStatus::Requested {
            return Err(status
                .transition_to(AppointmentStatus::Scheduled)
                .err()
                .map_or_else(
                    || ServiceError::Conflict {
                        field: Some("status"),
                        message: format!("the appointment is {status}, not requested"),
                    },
                    |e| ServiceError::Conflict {
                        field: Some("status"),
                        message: e.to_string(),
                    },
                ));
        }
        self.move_appointment(actor, row, input, true).await
    }

    /// Moves a scheduled appointment to another slot (and possibly another clinician).
    pub async fn reschedule_appointment(
        &self,
        actor: &Actor,
        id: AppointmentId,
        input: SlotInput,
        seen_updated_at: Option<DateTime<Utc>>,
    ) -> Result<AppointmentView, ServiceError> {
        let row = self.load_appointment(actor, id).await?;
        if let Some(seen) = seen_updated_at
            && to_micros(seen) != row.updated_at
        {
            return Err(changed_meanwhile());
        }
        let status = status_of(&row)?;
        if status != AppointmentStatus::Scheduled {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: format!("only a scheduled appointment can be moved; this one is {status}"),
            });
        }
        self.move_appointment(actor, row, input, false).await
    }

    async fn move_appointment(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        input: SlotInput,
        accepting: bool,
    ) -> Result<AppointmentView, ServiceError> {
        let mut errors = ValidationErrors::new();
        let scope = self.manage_scope(actor).await?;
        let clinician: Option<UserId> = match given(input.clinician_id.as_ref()) {
            Some(raw) => parse_id(&mut errors, "clinician_id", raw),
            None => match row.clinician_id.as_deref() {
                Some(raw) => raw.parse().ok(),
                // A doctor accepting a request for their department takes it themselves.
                None if !scope.everything => actor.user_id(),
                None => {
                    errors.push(
                        "clinician_id",
                        "is required: the request names no clinician",
                    );
                    None
                }
            },
        };
        if !scope.manages(row.clinician_id.as_deref(), &row.department_id)
            || clinician.is_some_and(|c| !scope.manages(Some(&c.to_string()), ""))
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(row.id.clone()),
                    "requires scheduling rights for this clinician",
                )
                .await);
        }
        let patient: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        let department: Option<DepartmentId> = row.department_id.parse().ok();
        // The department stays unless the appointment moves to another named clinician (a
        // request for a department keeps it whoever takes it).
        let keeps_department =
            row.clinician_id.is_none() || clinician.map(|c| c.to_string()) == row.clinician_id;
        let target = self
            .booking_target(
                &mut errors,
                Some(patient),
                clinician,
                if keeps_department { department } else { None },
            )
            .await?;
        let minutes = target.as_ref().map_or(30, |t| t.slot_minutes);
        let slot = self.parse_slot(
            &mut errors,
            &input.start,
            input.end.as_deref(),
            input.duration_minutes.as_deref(),
            minutes,
        );
        errors.into_result()?;
        let (Some(target), Some(slot)) = (target, slot) else {
            return Err(ValidationErrors::single("start", "is required").into());
        };
        self.check_working_hours(&target.hours, &slot)?;
        let read_at = row.updated_at;
        let mut updated = row.clone();
        updated.clinician_id = Some(target.clinician.to_string());
        updated.department_id = target.department.to_string();
        updated.start_at = to_micros(slot.start());
        updated.end_at = to_micros(slot.end());
        updated.status = AppointmentStatus::Scheduled.as_str().to_owned();
        updated.updated_at = to_micros(self.now()).max(read_at + 1);
        let mut event = self
            .audit_event(
                actor,
                if accepting {
                    AuditAction::StatusChanged
                } else {
                    AuditAction::Update
                },
                ResourceType::Appointment,
            )
            .resource_id(&updated.id)
            .patient(pseudonym_of(target.patient.pseudonym_number));
        event.reason = Some(if accepting {
            "requested → scheduled (request accepted)".into()
        } else {
            "moved to another slot".into()
        });
        self.write_with_claims(actor, &target, slot, &updated, Some(read_at), event)
            .await?;
        self.get_appointment(actor, row.id.parse().map_err(|_| ServiceError::Integrity)?)
            .await
    }

    /// Moves an appointment along the status graph. A `reason` is required to cancel.
    /// Moving a request to `scheduled` accepts it in its requested slot.
    pub async fn change_appointment_status(
        &self,
        actor: &Actor,
        id: AppointmentId,
        to_raw: &str,
        reason: Option<&str>,
    ) -> Result<AppointmentView, ServiceError> {
        let to = AppointmentStatus::parse(to_raw)
            .map_err(|message| ValidationErrors::single("status", message))?;
        let row = self.load_appointment(actor, id).await?;
        let from = status_of(&row)?;
        if let Err(refused) = from.transition_to(to) {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: refused.to_string(),
            });
        }
        let patient = patients::find(
            self.store().conn(),
            row.patient_id
                .parse()
                .map_err(|_| ServiceError::Integrity)?,
        )
        .await?
        .ok_or(ServiceError::Integrity)?;
        self.check_status_change(actor, &row, &patient, to).await?;
        if to == AppointmentStatus::Scheduled {
            let input = SlotInput {
                clinician_id: None,
                start: from_micros(row.start_at).to_rfc3339(),
                end: Some(from_micros(row.end_at).to_rfc3339()),
                duration_minutes: None,
            };
            return self.move_appointment(actor, row, input, true).await;
        }
        let mut errors = ValidationErrors::new();
        let reason = match to {
            AppointmentStatus::Cancelled if actor.reaches_own_record_only() => Some(
                text(&mut errors, "reason", reason.map(str::to_owned).as_ref())
                    .unwrap_or_else(|| "cancelled by the patient".to_owned()),
            ),
            AppointmentStatus::Cancelled => {
                required_text(&mut errors, "reason", reason.unwrap_or_default())
            }
            _ => text(&mut errors, "reason", reason.map(str::to_owned).as_ref()),
        };
        errors.into_result()?;
        if !self
            .apply_status(
                actor,
                row,
                &patient,
                to,
                reason.as_deref(),
                format!("{from} → {to}"),
            )
            .await?
        {
            return Err(changed_meanwhile());
        }
        self.get_appointment(actor, id).await
    }

    /// Writes a status change (not to `scheduled`) with its side effects, in one
    /// transaction: slots released when it stops being active, the care team refreshed, the
    /// change audited with `audit_note`. `false` when the appointment changed meanwhile.
    ///
    /// A completion's automatic charge joins the patient's open invoice, which a desk may be
    /// changing at the same moment: such a collision rolls back and starts again (the
    /// appointment itself has not moved), so it does not fail the completion. A visit
    /// charged by hand meanwhile is then seen as charged, and skipped.
    async fn apply_status(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
        reason: Option<&str>,
        audit_note: String,
    ) -> Result<bool, ServiceError> {
        let change = self
            .prepare_status_change(actor, row, patient, to, reason, audit_note)
            .await?;
        let (id, from) = (change.row.id.clone(), status_of(&change.row)?);
        let written = self
            .transaction_or_stop(async |txn| {
                match self
                    .write_status_change_in(txn, actor, patient, &change)
                    .await?
                {
                    StatusWrite::Written => Ok(()),
                    StatusWrite::AppointmentChanged => Err(Abort::Stop(())),
                    StatusWrite::InvoiceBusy => Err(Abort::Fail(tx::again(invoice_busy()))),
                }
            })
            .await?;
        if written.is_err() {
            return Ok(false);
        }
        tracing::info!(appointment_id = %id, from = %from, to = %to, "appointment status changed");
        Ok(true)
    }

    /// Refuses a status change `actor` may not make now (the graph, then who and when): a
    /// conflict for "not now", a recorded refusal for "not allowed". Used by the use cases
    /// that change an appointment's status as part of something else (an encounter started
    /// or signed).
    pub(crate) async fn check_status_change(
        &self,
        actor: &Actor,
        row: &AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
    ) -> Result<(), ServiceError> {
        let from = status_of(row)?;
        if let Err(refused) = from.transition_to(to) {
            return Err(ServiceError::Conflict {
                field: Some("status"),
                message: refused.to_string(),
            });
        }
        let relation = self.relation_to(actor, patient).await?;
        let view = actor
            .role()
            .and_then(|role| view_for(role, relation))
            .unwrap_or(PatientView::Pseudonymous);
        let scope = self.manage_scope(actor).await?;
        match self.transition_refusal(actor, &scope, row, from, to, view) {
            None => Ok(()),
            Some(Refusal::NotNow(message)) => Err(ServiceError::Conflict {
                field: Some("status"),
                message: message.to_owned(),
            }),
            Some(Refusal::NotAllowed(reason)) => Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    Some(row.id.clone()),
                    reason,
                )
                .await),
        }
    }

    /// A status change (not to `scheduled`) made ready to write: the row as it will be
    /// written, its audit event with `audit_note`, and a completed visit's charge. Nothing is
    /// written yet; [`Services::write_status_change_in`] writes it in the caller's
    /// transaction. The caller has checked the change ([`Services::check_status_change`]).
    pub(crate) async fn prepare_status_change(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        patient: &PatientRow,
        to: AppointmentStatus,
        reason: Option<&str>,
        audit_note: String,
    ) -> Result<PreparedStatusChange, ServiceError> {
        let read_at = row.updated_at;
        let mut updated = row.clone();
        updated.status = to.as_str().to_owned();
        updated.updated_at = to_micros(self.now()).max(read_at + 1);
        if let Some(reason) = reason {
            let dek = self
                .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                .await?;
            updated.status_reason = seal(
                &dek,
                &row.id,
                &row.patient_id,
                "status_reason",
                Some(reason),
            )?;
        }
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Appointment)
            .resource_id(&updated.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(audit_note);
        let charge = if to == AppointmentStatus::Completed {
            self.appointment_charge(actor, &row, patient).await?
        } else {
            None
        };
        Ok(PreparedStatusChange {
            row,
            updated,
            event,
            charge,
        })
    }

    /// Writes a prepared status change inside `txn` with its side effects: the visit's
    /// charge on completion (skipped, and said so in the audit event, when the visit was
    /// charged already), slots released when it stops being active, the care team
    /// refreshed, reminders withdrawn, the audit event. Anything but
    /// [`StatusWrite::Written`] means nothing may be committed: the caller rolls back.
    pub(crate) async fn write_status_change_in(
        &self,
        txn: &carevault_store::Transaction,
        actor: &Actor,
        patient: &PatientRow,
        change: &PreparedStatusChange,
    ) -> Result<StatusWrite, ServiceError> {
        let row = &change.row;
        let from = status_of(row)?;
        let to = status_of(&change.updated)?;
        let id: AppointmentId = row.id.parse().map_err(|_| ServiceError::Integrity)?;
        let patient_id: PatientId = row
            .patient_id
            .parse()
            .map_err(|_| ServiceError::Integrity)?;
        if !store::update_appointment(txn, change.updated.clone(), row.updated_at).await? {
            return Ok(StatusWrite::AppointmentChanged);
        }
        let mut event = change.event.clone();
        if let Some(charge) = &change.charge {
            match crate::billing::add_charge_in(txn, charge).await {
                Ok(crate::billing::ChargeOutcome::Added { invoice_id }) => {
                    let charged = crate::billing::charge_event(
                        self,
                        actor,
                        &invoice_id,
                        patient.pseudonym_number,
                        &format!("completed appointment {}", row.id),
                    );
                    self.append_in(txn, charged).await?;
                }
                Ok(crate::billing::ChargeOutcome::AlreadyCharged { invoice_id }) => {
                    tracing::info!(
                        appointment_id = %id,
                        invoice_id = %invoice_id,
                        "appointment already charged; automatic charge skipped"
                    );
                    event.reason = Some(format!(
                        "{}; already charged on invoice {invoice_id}, not charged again",
                        event.reason.unwrap_or_default()
                    ));
                }
                // The patient's open invoice changed meanwhile: nothing may be written.
                Ok(crate::billing::ChargeOutcome::Retry) | Err(StoreError::Contention(_)) => {
                    return Ok(StatusWrite::InvoiceBusy);
                }
                Err(err) => return Err(err.into()),
            }
        }
        if is_active(from) && !is_active(to) {
            store::release_slots(txn, id).await?;
        }
        if puts_on_care_team(from) != puts_on_care_team(to) {
            self.refresh_care_team(txn, patient_id).await?;
        }
        if to != AppointmentStatus::Scheduled {
            // Its reminders are withdrawn; a request declined by staff is announced.
            let declined = from == AppointmentStatus::Requested
                && to == AppointmentStatus::Cancelled
                && !actor.reaches_own_record_only();
            self.appointment_ended_notifications(txn, row, patient, declined)
                .await?;
        }
        self.append_in(txn, event).await?;
        Ok(StatusWrite::Written)
    }

    /// The charge of a completed appointment: the consultation price of its type, if the
    /// price list has one (otherwise nothing is charged), on the day it took place.
    async fn appointment_charge(
        &self,
        actor: &Actor,
        row: &AppointmentRow,
        patient: &PatientRow,
    ) -> Result<Option<crate::billing::PreparedCharge>, ServiceError> {
        use carevault_core::billing::{Discount, LineDescription, LineItem, LineKind, Quantity};
        let Some(price) = crate::billing::appointment_price(self.store().conn(), &row.kind).await?
        else {
            return Ok(None);
        };
        let carevault_core::billing::PriceRule::Fixed(unit_price) =
            crate::billing::rule_of(&price)?
        else {
            return Err(ServiceError::Integrity);
        };
        let tax_rate = carevault_core::money::Percent::parse(&price.tax_rate)
            .map_err(|_| ServiceError::Integrity)?;
        let day = self.scheduling().local_date(from_micros(row.start_at));
        let description = LineDescription::parse(&format!("{} on {day}", price.label))
            .map_err(|_| ServiceError::Integrity)?;
        let quantity = Quantity::whole(1).map_err(|_| ServiceError::Integrity)?;
        let item = LineItem::new(
            LineKind::Charge,
            description,
            quantity,
            unit_price,
            Discount::None,
            tax_rate,
        )?;
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let actor_id = actor
            .user_id()
            .map_or_else(|| "system".to_owned(), |id| id.to_string());
        Ok(Some(crate::billing::PreparedCharge {
            patient_id: patient.id.clone(),
            line: carevault_store::billing::LineRow {
                // The visit is charged once, whichever of this and a manual charge naming it
                // comes first (see `crate::visit_charges`).
                appointment_id: Some(row.id.clone()),
                ..crate::billing::line_row(
                    &item,
                    &dek,
                    &patient.id,
                    crate::billing::SOURCE_APPOINTMENT,
                    Some(row.id.clone()),
                    &actor_id,
                    to_micros(self.now()),
                )?
            },
            currency: self.settings().billing.currency,
        }))
    }

    // ---- the status job ----

    /// Marks scheduled appointments that ended more than the grace period ago without a
    /// check-in as no-shows, and completes in-progress ones whose local day has ended.
    /// Every change is audited with the system as the actor.
    pub async fn run_appointment_status_job(&self) -> Result<StatusJobRun, ServiceError> {
        let actor = Actor::system();
        let settings = self.scheduling().clone();
        let now = self.now();
        let mut run = StatusJobRun::default();
        let conn = self.store().conn();
        let due = store::ended_in_status(
            conn,
            AppointmentStatus::Scheduled.as_str(),
            to_micros(now - settings.no_show_grace),
            500,
        )
        .await?;
        for row in due {
            if self
                .job_transition(
                    &actor,
                    row,
                    AppointmentStatus::NoShow,
                    "no check-in by the end of the appointment",
                )
                .await?
            {
                run.no_shows += 1;
            }
        }
        // In progress past the end of its day: the day ends at local midnight after its end.
        let today_start = settings.day_start(settings.local_date(now));
        let open = store::ended_in_status(
            conn,
            AppointmentStatus::InProgress.as_str(),
            to_micros(today_start) - 1,
            500,
        )
        .await?;
        for row in open {
            if self
                .job_transition(
                    &actor,
                    row,
                    AppointmentStatus::Completed,
                    "left open past the end of the day",
                )
                .await?
            {
                run.completed += 1;
            }
        }
        if run != StatusJobRun::default() {
            tracing::info!(
                no_shows = run.no_shows,
                completed = run.completed,
                "appointment statuses updated"
            );
        }
        Ok(run)
    }

    async fn job_transition(
        &self,
        actor: &Actor,
        row: AppointmentRow,
        to: AppointmentStatus,
        why: &str,
    ) -> Result<bool, ServiceError> {
        let from = status_of(&row)?;
        if from.transition_to(to).is_err() {
            return Ok(false);
        }
        let Some(patient) = patients::find(
            self.store().conn(),
            row.patient_id
                .parse()
                .map_err(|_| ServiceError::Integrity)?,
        )
        .await?
        else {
            return Ok(false);
        };
        // `false` when someone changed it meanwhile (checked it in, say): then it is left.
        self.apply_status(
            actor,
            row,
            &patient,
            to,
            None,
            format!("{from} → {to} (automatic: {why})"),
        )
        .await
    }

    // ---- report ----

    /// Counts by department, clinician, status and day for the local days `from..=to`.
    /// Administrators and receptionists. No patient data is read.
    pub async fn appointment_report(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<AppointmentReport, ServiceError> {
        if !actor.may(Action::OfficeReports) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Appointment,
                    None,
                    "the appointment report is for administrators and reception",
                )
                .await);
        }
        let mut errors = ValidationErrors::new();
        if to < from {
            errors.push("to", "must not be before the start of the range");
        } else if (to - from).num_days() > 366 {
            errors.push("to", "the range may span at most 366 days");
        }
        errors.into_result()?;
        let settings = self.scheduling();
        let start = settings.day_start(from);
        let end = to.succ_opt().map_or(start, |d| settings.day_start(d));
        let rows =
            store::report_rows(self.store().conn(), to_micros(start), to_micros(end)).await?;
        let conn = self.store().conn();
        let departments: HashMap<String, String> = store::departments(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let names: HashMap<String, String> = users::list(conn)
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u.display_name.as_str().to_owned()))
            .collect();
        let mut by_department: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_clinician: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_status: BTreeMap<usize, u64> = BTreeMap::new();
        let mut by_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut day = from;
        while day <= to {
            by_day.insert(day, 0);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        for (department, clinician, status, start_at) in &rows {
            *by_department
                .entry(departments.get(department).cloned().unwrap_or_default())
                .or_default() += 1;
            let clinician = clinician
                .as_ref()
                .and_then(|c| names.get(c).cloned())
                .unwrap_or_else(|| "(not yet assigned)".into());
            *by_clinician.entry(clinician).or_default() += 1;
            if let Ok(status) = AppointmentStatus::parse(status) {
                let index = AppointmentStatus::ALL
                    .iter()
                    .position(|s| *s == status)
                    .unwrap_or_default();
                *by_status.entry(index).or_default() += 1;
            }
            *by_day
                .entry(settings.local_date(from_micros(*start_at)))
                .or_default() += 1;
        }
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Appointment);
        event.reason = Some(format!("appointment report {from} to {to}"));
        self.record(event).await?;
        Ok(AppointmentReport {
            from,
            to,
            total: rows.len() as u64,
            by_department: by_department.into_iter().collect(),
            by_clinician: by_clinician.into_iter().collect(),
            by_status: by_status
                .into_iter()
                .map(|(i, n)| (AppointmentStatus::ALL[i], n))
                .collect(),
            by_day: by_day.into_iter().collect(),
        })
    }
}

/// What an actor may book, move, cancel or mark a no-show: everything (administrators,
/// reception), or their own schedule and the requests for their department that name no
/// clinician (doctors), or nothing.
#[derive(Debug, Clone, Default)]
struct ManageScope {
    everything: bool,
    me: Option<String>,
    my_department: Option<String>,
}

impl ManageScope {
    /// Whether an appointment of `clinician` (none: an unassigned request) in `department`
    /// is within the scope.
    fn manages(&self, clinician: Option<&str>, department: &str) -> bool {
        self.everything
            || match clinician {
                Some(clinician) => self.me.as_deref() == Some(clinician),
                None => self.my_department.as_deref() == Some(department),
            }
    }
}

/// Why a status change is refused: not this actor's to make (403, recorded), or not now
/// (409: the appointment's state or time does not allow it yet, or any more).
/// What writing a status change came to (see [`Services::write_status_change_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusWrite {
    Written,
    /// The appointment changed since it was read: nothing may be written.
    AppointmentChanged,
    /// The patient's open invoice was being changed at the same moment: roll back and try
    /// again.
    InvoiceBusy,
}

/// The answer when the patient's invoice stayed busy through every attempt.
pub(crate) fn invoice_busy() -> ServiceError {
    ServiceError::Conflict {
        field: Some("status"),
        message: "the patient's invoice was being changed at the same time: try again".into(),
    }
}

/// A status change ready to be written (see [`Services::prepare_status_change`]).
pub(crate) struct PreparedStatusChange {
    /// The appointment as read.
    pub(crate) row: AppointmentRow,
    /// The appointment as it will be written.
    updated: AppointmentRow,
    event: AuditEvent,
    charge: Option<crate::billing::PreparedCharge>,
}

enum Refusal {
    NotAllowed(&'static str),
    NotNow(&'static str),
}

/// Who, for whom and where a booking is, validated.
struct BookingTarget {
    patient: PatientRow,
    clinician: UserId,
    department: DepartmentId,
    slot_minutes: i64,
    hours: WeeklyHours,
}

/// A booking's slot claim collided with another appointment's (its transaction stops and
/// is rolled back; the collision is then read).
struct SlotCollision;

fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "the appointment was changed by someone else meanwhile: reload it and try again"
            .into(),
    }
}

impl Actor {
    /// The server itself, for background jobs (the appointment status job).
    pub(crate) fn system() -> Self {
        Self {
            kind: crate::actor::ActorKind::System,
            user_id: None,
            username: None,
            display_name: "system".into(),
            role: None,
            session_id: None,
            request_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_datetimes_get_the_clinic_offset() {
        let zone: Tz = "Europe/Berlin".parse().expect("a zone");
        assert_eq!(
            localize_form_datetime("2026-03-02T10:00", zone),
            "2026-03-02T10:00:00+01:00"
        );
        assert_eq!(
            localize_form_datetime("2026-07-02T10:00", zone),
            "2026-07-02T10:00:00+02:00"
        );
        assert_eq!(
            localize_form_datetime("2026-03-02T10:00:00Z", zone),
            "2026-03-02T10:00:00Z"
        );
        assert_eq!(localize_form_datetime("tomorrow", zone), "tomorrow");
    }

    #[test]
    fn clinic_days_follow_the_time_zone() {
        let settings = SchedulingSettings {
            time_zone: "Europe/Berlin".parse().expect("a zone"),
            ..Default::default()
        };
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
        assert_eq!(
            settings.day_start(date).to_rfc3339(),
            "2026-03-01T23:00:00+00:00"
        );
        assert_eq!(settings.offset_on(date).local_minus_utc(), 3600);
        let late = Utc
            .with_ymd_and_hms(2026, 3, 1, 23, 30, 0)
            .single()
            .expect("a time");
        assert_eq!(settings.local_date(late), date);
    }
}
