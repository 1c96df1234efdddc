//! Departments, staff profiles, appointments and their slot claims.
//!
//! The slot claims are the database's own guarantee against double booking (see the
//! scheduling migration): [`claim_slots`] inserts one row per grid cell for the clinician
//! and one for the patient, and a uniqueness violation means an overlapping active
//! appointment holds one of them.

use carevault_core::appointment::{AppointmentStatus, AppointmentType, WeeklyHours};
use carevault_core::time::to_micros;
use carevault_core::{AppointmentId, DepartmentId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::appointment_slot_claims as claims;
use crate::entity::appointments::{self, Column, Entity};
use crate::entity::{departments, staff_profiles};
use crate::error::StoreError;
use crate::record::{self, Row};

/// A department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub location: String,
    /// The default slot length.
    pub slot_minutes: u32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<departments::Model> for DepartmentRow {
    type Error = StoreError;

    fn try_from(m: departments::Model) -> Result<Self, StoreError> {
        let row = Row("departments");
        Ok(DepartmentRow {
            id: row.parse("id", &m.id)?,
            code: m.code,
            name: m.name,
            location: m.location,
            slot_minutes: row.convert("slot_minutes", m.slot_minutes, u32::try_from)?,
            active: m.active,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<DepartmentRow> for departments::Model {
    fn from(r: DepartmentRow) -> Self {
        departments::Model {
            id: r.id.to_string(),
            code: r.code,
            name: r.name,
            location: r.location,
            slot_minutes: i32::try_from(r.slot_minutes).unwrap_or(i32::MAX),
            active: r.active,
            created_at: to_micros(r.created_at),
            updated_at: to_micros(r.updated_at),
        }
    }
}

/// The directory entry of a staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffProfileRow {
    pub user_id: UserId,
    pub department_id: Option<DepartmentId>,
    pub specialty: Option<String>,
    pub work_phone: Option<String>,
    pub working_hours: WeeklyHours,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<staff_profiles::Model> for StaffProfileRow {
    type Error = StoreError;

    fn try_from(m: staff_profiles::Model) -> Result<Self, StoreError> {
        let row = Row("staff_profiles");
        Ok(StaffProfileRow {
            user_id: row.parse("user_id", &m.user_id)?,
            department_id: row.parse_opt("department_id", m.department_id.as_deref())?,
            specialty: m.specialty,
            work_phone: m.work_phone,
            working_hours: row.convert(
                "working_hours",
                m.working_hours.as_str(),
                WeeklyHours::parse,
            )?,
            active: m.active,
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<StaffProfileRow> for staff_profiles::Model {
    fn from(r: StaffProfileRow) -> Self {
        staff_profiles::Model {
            user_id: r.user_id.to_string(),
            department_id: r.department_id.map(|id| id.to_string()),
            specialty: r.specialty,
            work_phone: r.work_phone,
            working_hours: r.working_hours.to_string(),
            active: r.active,
            updated_at: to_micros(r.updated_at),
        }
    }
}

/// An appointment (or a patient's request for one). The reason, notes, preferred times and
/// status reason are sealed under the patient's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRow {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    /// `None` for a request that names no clinician.
    pub clinician_id: Option<UserId>,
    pub department_id: DepartmentId,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub kind: AppointmentType,
    pub status: AppointmentStatus,
    pub reason: Vec<u8>,
    pub notes: Option<Vec<u8>>,
    pub preferred_times: Option<Vec<u8>>,
    pub status_reason: Option<Vec<u8>>,
    pub requested_by: Option<UserId>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// Also the row's version: conditional writes compare it.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<appointments::Model> for AppointmentRow {
    type Error = StoreError;

    fn try_from(m: appointments::Model) -> Result<Self, StoreError> {
        let row = Row("appointments");
        Ok(AppointmentRow {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            clinician_id: row.parse_opt("clinician_id", m.clinician_id.as_deref())?,
            department_id: row.parse("department_id", &m.department_id)?,
            start_at: row.time(m.start_at),
            end_at: row.time(m.end_at),
            kind: row.convert("kind", m.kind.as_str(), AppointmentType::parse)?,
            status: row.convert("status", m.status.as_str(), AppointmentStatus::parse)?,
            reason: m.reason,
            notes: m.notes,
            preferred_times: m.preferred_times,
            status_reason: m.status_reason,
            requested_by: row.parse_opt("requested_by", m.requested_by.as_deref())?,
            created_by: row.parse_opt("created_by", m.created_by.as_deref())?,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<AppointmentRow> for appointments::Model {
    fn from(r: AppointmentRow) -> Self {
        appointments::Model {
            id: r.id.to_string(),
            patient_id: r.patient_id.to_string(),
            clinician_id: r.clinician_id.map(|id| id.to_string()),
            department_id: r.department_id.to_string(),
            start_at: to_micros(r.start_at),
            end_at: to_micros(r.end_at),
            kind: r.kind.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            reason: r.reason,
            notes: r.notes,
            preferred_times: r.preferred_times,
            status_reason: r.status_reason,
            requested_by: r.requested_by.map(|id| id.to_string()),
            created_by: r.created_by.map(|id| id.to_string()),
            created_at: to_micros(r.created_at),
            updated_at: to_micros(r.updated_at),
        }
    }
}

/// Whose time a slot claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOwner {
    Clinician(UserId),
    Patient(PatientId),
}

impl SlotOwner {
    fn kind(self) -> &'static str {
        match self {
            SlotOwner::Clinician(_) => "c",
            SlotOwner::Patient(_) => "p",
        }
    }

    fn id(self) -> String {
        match self {
            SlotOwner::Clinician(id) => id.to_string(),
            SlotOwner::Patient(id) => id.to_string(),
        }
    }
}

// ---- departments ----

pub async fn insert_department(conn: &impl Conn, row: DepartmentRow) -> Result<(), StoreError> {
    departments::Entity::insert(departments::Model::from(row).into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every column of `row` but its id; `false` when there is no such department.
pub async fn update_department(conn: &impl Conn, row: DepartmentRow) -> Result<bool, StoreError> {
    let id = row.id.to_string();
    let mut active = departments::Model::from(row).into_active_model();
    for column in [
        departments::Column::Code,
        departments::Column::Name,
        departments::Column::Location,
        departments::Column::SlotMinutes,
        departments::Column::Active,
        departments::Column::UpdatedAt,
    ] {
        active.reset(column);
    }
    active.not_set(departments::Column::Id);
    active.not_set(departments::Column::CreatedAt);
    let result = departments::Entity::update_many()
        .set(active)
        .filter(departments::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn find_department(
    conn: &impl Conn,
    id: DepartmentId,
) -> Result<Option<DepartmentRow>, StoreError> {
    record::one(conn, departments::Entity::find_by_id(id.to_string())).await
}

/// Every department, by name.
pub async fn departments(conn: &impl Conn) -> Result<Vec<DepartmentRow>, StoreError> {
    record::all(
        conn,
        departments::Entity::find().order_by_asc(departments::Column::Name),
    )
    .await
}

// ---- staff profiles ----

/// Creates or replaces the profile of `row.user_id`.
pub async fn upsert_staff_profile(
    conn: &impl Conn,
    row: StaffProfileRow,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::OnConflict;
    staff_profiles::Entity::insert(staff_profiles::Model::from(row).into_active_model())
        .on_conflict(
            OnConflict::column(staff_profiles::Column::UserId)
                .update_columns([
                    staff_profiles::Column::DepartmentId,
                    staff_profiles::Column::Specialty,
                    staff_profiles::Column::WorkPhone,
                    staff_profiles::Column::WorkingHours,
                    staff_profiles::Column::Active,
                    staff_profiles::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_staff_profile(
    conn: &impl Conn,
    user: UserId,
) -> Result<Option<StaffProfileRow>, StoreError> {
    record::one(conn, staff_profiles::Entity::find_by_id(user.to_string())).await
}

pub async fn staff_profiles(conn: &impl Conn) -> Result<Vec<StaffProfileRow>, StoreError> {
    record::all(conn, staff_profiles::Entity::find()).await
}

// ---- appointments ----

/// Which appointments to list. Every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    pub clinician: Option<UserId>,
    pub patient: Option<PatientId>,
    pub department: Option<DepartmentId>,
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<AppointmentStatus>,
    /// Starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    pub to: Option<DateTime<Utc>>,
}

pub async fn insert_appointment(conn: &impl Conn, row: AppointmentRow) -> Result<(), StoreError> {
    Entity::insert(appointments::Model::from(row).into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every mutable column of `row` if the stored row still has `read_at` as its
/// `updated_at`; `false` when it changed meanwhile (or is gone).
pub async fn update_appointment(
    conn: &impl Conn,
    row: AppointmentRow,
    read_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let id = row.id.to_string();
    let mut active = appointments::Model::from(row).into_active_model();
    for column in [
        Column::ClinicianId,
        Column::DepartmentId,
        Column::StartAt,
        Column::EndAt,
        Column::Kind,
        Column::Status,
        Column::Reason,
        Column::Notes,
        Column::PreferredTimes,
        Column::StatusReason,
        Column::UpdatedAt,
    ] {
        active.reset(column);
    }
    active.not_set(Column::Id);
    active.not_set(Column::PatientId);
    active.not_set(Column::RequestedBy);
    active.not_set(Column::CreatedBy);
    active.not_set(Column::CreatedAt);
    let result = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(id))
        .filter(Column::UpdatedAt.eq(to_micros(read_at)))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_appointment(
    conn: &impl Conn,
    id: AppointmentId,
) -> Result<Option<AppointmentRow>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// Appointments matching `filter`, earliest first, at most `limit`.
pub async fn appointments(
    conn: &impl Conn,
    filter: &AppointmentFilter,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    let mut query = Entity::find();
    if let Some(clinician) = filter.clinician {
        query = query.filter(Column::ClinicianId.eq(clinician.to_string()));
    }
    if let Some(patient) = filter.patient {
        query = query.filter(Column::PatientId.eq(patient.to_string()));
    }
    if let Some(department) = filter.department {
        query = query.filter(Column::DepartmentId.eq(department.to_string()));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(from) = filter.from {
        query = query.filter(Column::StartAt.gte(to_micros(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::StartAt.lt(to_micros(to)));
    }
    record::all(
        conn,
        query
            .order_by_asc(Column::StartAt)
            .order_by_asc(Column::Id)
            .limit(limit),
    )
    .await
}

/// Appointments of `owner` holding any cell between `start` and `end` (micros): the ones a
/// new booking there collides with.
pub async fn overlapping(
    conn: &impl Conn,
    owner: SlotOwner,
    first_key: i64,
    past_last_key: i64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    let ids: Vec<String> = claims::Entity::find()
        .filter(claims::Column::OwnerKind.eq(owner.kind()))
        .filter(claims::Column::OwnerId.eq(owner.id()))
        .filter(claims::Column::SlotKey.gte(first_key))
        .filter(claims::Column::SlotKey.lt(past_last_key))
        .all(conn)
        .await?
        .into_iter()
        .map(|claim| claim.appointment_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    record::all(
        conn,
        Entity::find()
            .filter(Column::Id.is_in(ids))
            .order_by_asc(Column::StartAt),
    )
    .await
}

/// Claims `keys` for the appointment, for each of `owners`. A
/// [`StoreError::UniqueViolation`] means an overlapping appointment holds one of them.
pub async fn claim_slots(
    conn: &impl Conn,
    appointment: AppointmentId,
    owners: &[SlotOwner],
    keys: &[i64],
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(owners.len() * keys.len());
    for owner in owners {
        for key in keys {
            rows.push(claims::ActiveModel {
                owner_kind: Set(owner.kind().to_owned()),
                owner_id: Set(owner.id()),
                slot_key: Set(*key),
                appointment_id: Set(appointment.to_string()),
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    claims::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Releases every slot the appointment holds.
pub async fn release_slots(conn: &impl Conn, appointment: AppointmentId) -> Result<(), StoreError> {
    claims::Entity::delete_many()
        .filter(claims::Column::AppointmentId.eq(appointment.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether `clinician` has an appointment with `patient` in one of `statuses`.
pub async fn has_appointment_with(
    conn: &impl Conn,
    clinician: UserId,
    patient: PatientId,
    statuses: &[AppointmentStatus],
) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ClinicianId.eq(clinician.to_string()))
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .limit(1)
        .into_tuple::<String>()
        .one(conn)
        .await?
        .is_some())
}

/// Appointments in `status` whose end is at or before `ended_by`, oldest first, at most
/// `limit`: the status job's work list.
pub async fn ended_in_status(
    conn: &impl Conn,
    status: AppointmentStatus,
    ended_by: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::Status.eq(status.as_str()))
            .filter(Column::EndAt.lte(to_micros(ended_by)))
            .order_by_asc(Column::EndAt)
            .limit(limit),
    )
    .await
}

/// One appointment as the report counts it: no sealed column is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub department_id: DepartmentId,
    pub clinician_id: Option<UserId>,
    pub status: AppointmentStatus,
    pub start_at: DateTime<Utc>,
}

/// Every appointment starting in `[from, to)`, for the report.
pub async fn report_rows(
    conn: &impl Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ReportRow>, StoreError> {
    let rows: Vec<(String, Option<String>, String, i64)> = Entity::find()
        .select_only()
        .column(Column::DepartmentId)
        .column(Column::ClinicianId)
        .column(Column::Status)
        .column(Column::StartAt)
        .filter(
            Condition::all()
                .add(Column::StartAt.gte(to_micros(from)))
                .add(Column::StartAt.lt(to_micros(to))),
        )
        .into_tuple()
        .all(conn)
        .await?;
    let row = Row("appointments");
    rows.into_iter()
        .map(|(department, clinician, status, start_at)| {
            Ok(ReportRow {
                department_id: row.parse("department_id", &department)?,
                clinician_id: row.parse_opt("clinician_id", clinician.as_deref())?,
                status: row.convert("status", status.as_str(), AppointmentStatus::parse)?,
                start_at: row.time(start_at),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> appointments::Model {
        appointments::Model {
            id: AppointmentId::generate().to_string(),
            patient_id: PatientId::generate().to_string(),
            clinician_id: Some(UserId::generate().to_string()),
            department_id: DepartmentId::generate().to_string(),
            start_at: 1_760_000_000_000_000,
            end_at: 1_760_000_001_800_000,
            kind: "follow_up".into(),
            status: "checked_in".into(),
            reason: vec![1, 2, 3],
            notes: None,
            preferred_times: None,
            status_reason: None,
            requested_by: None,
            created_by: Some(UserId::generate().to_string()),
            created_at: 1_759_000_000_000_001,
            updated_at: 1_759_000_000_000_002,
        }
    }

    #[test]
    fn an_appointment_converts_both_ways_unchanged() {
        let model = stored();
        let record = AppointmentRow::try_from(model.clone()).unwrap();
        assert_eq!(record.status, AppointmentStatus::CheckedIn);
        assert_eq!(record.kind, AppointmentType::FollowUp);
        assert_eq!(appointments::Model::from(record), model);
    }

    #[test]
    fn a_column_that_does_not_convert_is_named() {
        let bad = appointments::Model {
            status: "lost".into(),
            ..stored()
        };
        let err = AppointmentRow::try_from(bad).unwrap_err().to_string();
        assert!(err.contains("appointments.status: "), "{err}");
        let bad = appointments::Model {
            clinician_id: Some("nobody".into()),
            ..stored()
        };
        let err = AppointmentRow::try_from(bad).unwrap_err().to_string();
        assert!(err.contains("appointments.clinician_id: "), "{err}");
    }
}
