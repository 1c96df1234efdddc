//! Departments, staff profiles, appointments and their slot claims.
//!
//! The slot claims are the database's own guarantee against double booking (see the
//! scheduling migration): [`claim_slots`] inserts one row per grid cell for the clinician
//! and one for the patient, and a uniqueness violation means an overlapping active
//! appointment holds one of them.

use carevault_core::{AppointmentId, DepartmentId, PatientId, UserId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::appointment_slot_claims as claims;
use crate::entity::appointments::{self, Column, Entity};
use crate::entity::{departments, staff_profiles};
use crate::error::StoreError;

pub type DepartmentRow = departments::Model;
pub type StaffProfileRow = staff_profiles::Model;
pub type AppointmentRow = appointments::Model;

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
    departments::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every column of `row` but its id; `false` when there is no such department.
pub async fn update_department(conn: &impl Conn, row: DepartmentRow) -> Result<bool, StoreError> {
    let id = row.id.clone();
    let mut active = row.into_active_model();
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
    Ok(departments::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?)
}

/// Every department, by name.
pub async fn departments(conn: &impl Conn) -> Result<Vec<DepartmentRow>, StoreError> {
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Name)
        .all(conn)
        .await?)
}

// ---- staff profiles ----

/// Creates or replaces the profile of `row.user_id`.
pub async fn upsert_staff_profile(
    conn: &impl Conn,
    row: StaffProfileRow,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::OnConflict;
    staff_profiles::Entity::insert(row.into_active_model())
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
    Ok(staff_profiles::Entity::find_by_id(user.to_string())
        .one(conn)
        .await?)
}

pub async fn staff_profiles(conn: &impl Conn) -> Result<Vec<StaffProfileRow>, StoreError> {
    Ok(staff_profiles::Entity::find().all(conn).await?)
}

// ---- appointments ----

/// Which appointments to list. Every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    pub clinician: Option<UserId>,
    pub patient: Option<PatientId>,
    pub department: Option<DepartmentId>,
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<String>,
    /// Starting at or after (micros).
    pub from: Option<i64>,
    /// Starting before (micros).
    pub to: Option<i64>,
}

pub async fn insert_appointment(conn: &impl Conn, row: AppointmentRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every mutable column of `row` if the stored row still has `read_at` as its
/// `updated_at`; `false` when it changed meanwhile (or is gone).
pub async fn update_appointment(
    conn: &impl Conn,
    row: AppointmentRow,
    read_at: i64,
) -> Result<bool, StoreError> {
    let id = row.id.clone();
    let mut active = row.into_active_model();
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
        .filter(Column::UpdatedAt.eq(read_at))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_appointment(
    conn: &impl Conn,
    id: AppointmentId,
) -> Result<Option<AppointmentRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_string()).one(conn).await?)
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
        query = query.filter(Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(Column::StartAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::StartAt.lt(to));
    }
    Ok(query
        .order_by_asc(Column::StartAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
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
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids))
        .order_by_asc(Column::StartAt)
        .all(conn)
        .await?)
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
    statuses: &[&str],
) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ClinicianId.eq(clinician.to_string()))
        .filter(Column::PatientId.eq(patient.to_string()))
        .filter(Column::Status.is_in(statuses.iter().copied()))
        .limit(1)
        .into_tuple::<String>()
        .one(conn)
        .await?
        .is_some())
}

/// Appointments in `status` whose end is at or before `ended_by` (micros), oldest first, at
/// most `limit`: the status job's work list.
pub async fn ended_in_status(
    conn: &impl Conn,
    status: &str,
    ended_by: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Status.eq(status))
        .filter(Column::EndAt.lte(ended_by))
        .order_by_asc(Column::EndAt)
        .limit(limit)
        .all(conn)
        .await?)
}

/// (department, clinician, status, start) of every appointment starting in `[from, to)`
/// (micros), for the report: no sealed column is read.
pub async fn report_rows(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<(String, Option<String>, String, i64)>, StoreError> {
    Ok(Entity::find()
        .select_only()
        .column(Column::DepartmentId)
        .column(Column::ClinicianId)
        .column(Column::Status)
        .column(Column::StartAt)
        .filter(
            Condition::all()
                .add(Column::StartAt.gte(from))
                .add(Column::StartAt.lt(to)),
        )
        .into_tuple()
        .all(conn)
        .await?)
}
