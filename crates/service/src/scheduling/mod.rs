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
use carevault_core::policy::Relation;
use carevault_core::time::{to_micros, version_after, whole_micros};
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

mod booking;
mod departments;
mod reading;
mod reports;
mod requests;
mod staff;
mod status;

pub use booking::*;
pub use departments::*;
pub use reading::*;
pub use reports::*;
pub use requests::*;
pub use staff::*;
pub use status::*;

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
    appointment: AppointmentId,
    patient: PatientId,
    column: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, ServiceError> {
    Place {
        table: TABLE,
        row_id: &appointment.to_string(),
        patient_id: &patient.to_string(),
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
        row_id: &row.id.to_string(),
        patient_id: &row.patient_id.to_string(),
    }
    .open(dek, column, sealed)
}

fn slot_of(row: &AppointmentRow) -> Result<TimeSlot, ServiceError> {
    TimeSlot::new(row.start_at, row.end_at).map_err(|_| ServiceError::Integrity)
}

fn department_of(row: DepartmentRow) -> Department {
    Department {
        id: row.id,
        code: row.code,
        name: row.name,
        location: row.location,
        slot_minutes: row.slot_minutes,
        active: row.active,
    }
}

/// The name of every department, by id.
async fn department_names(
    conn: &impl carevault_store::Conn,
) -> Result<HashMap<DepartmentId, String>, ServiceError> {
    Ok(store::departments(conn)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

/// Statuses whose appointments put their clinician on the patient's care team.
fn care_team_statuses() -> Vec<AppointmentStatus> {
    AppointmentStatus::ALL
        .iter()
        .copied()
        .filter(|s| puts_on_care_team(*s))
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
}

/// What an actor may book, move, cancel or mark a no-show: everything (administrators,
/// reception), or their own schedule and the requests for their department that name no
/// clinician (doctors), or nothing.
#[derive(Debug, Clone, Default)]
struct ManageScope {
    everything: bool,
    me: Option<UserId>,
    my_department: Option<DepartmentId>,
}

impl ManageScope {
    /// Whether an appointment of `clinician` (none: an unassigned request) in `department`
    /// is within the scope.
    fn manages(&self, clinician: Option<UserId>, department: DepartmentId) -> bool {
        match clinician {
            Some(clinician) => self.manages_clinician(clinician),
            None => self.everything || self.my_department == Some(department),
        }
    }

    /// Whether appointments of `clinician` are within the scope.
    fn manages_clinician(&self, clinician: UserId) -> bool {
        self.everything || self.me == Some(clinician)
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
