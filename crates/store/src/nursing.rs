//! Nurses' own records (triage at check-in, nursing notes; sealed bodies from the service),
//! the vitals of a triage, and the department relation: which patients have a visit today
//! in the department of a nurse's staff profile.

use std::collections::HashSet;

use carevault_core::{PatientId, UserId};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::{appointments, care_team_members, nursing_notes, staff_profiles, vitals};
use crate::error::StoreError;
use crate::scheduling::{AppointmentRow, appointment_rows};

pub type NursingNoteRow = nursing_notes::Model;

/// The `kind` of a triage note.
pub const KIND_TRIAGE: &str = "triage";
/// The `kind` of a nursing note.
pub const KIND_NURSING: &str = "nursing";

pub async fn insert_note(conn: &impl Conn, row: NursingNoteRow) -> Result<(), StoreError> {
    nursing_notes::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The patient's nursing notes and triages, newest first, at most `limit`.
pub async fn notes_of(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<NursingNoteRow>, StoreError> {
    Ok(nursing_notes::Entity::find()
        .filter(nursing_notes::Column::PatientId.eq(patient.to_string()))
        .order_by_desc(nursing_notes::Column::CreatedAt)
        .order_by_desc(nursing_notes::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The triages of these appointments, newest first.
pub async fn triages_of(
    conn: &impl Conn,
    appointments: &[String],
) -> Result<Vec<NursingNoteRow>, StoreError> {
    if appointments.is_empty() {
        return Ok(Vec::new());
    }
    Ok(nursing_notes::Entity::find()
        .filter(nursing_notes::Column::Kind.eq(KIND_TRIAGE))
        .filter(nursing_notes::Column::AppointmentId.is_in(appointments.to_vec()))
        .order_by_desc(nursing_notes::Column::CreatedAt)
        .order_by_desc(nursing_notes::Column::Id)
        .all(conn)
        .await?)
}

/// The vitals rows with these ids.
pub async fn vitals_by_ids(
    conn: &impl Conn,
    ids: &[String],
) -> Result<Vec<vitals::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vitals::Entity::find()
        .filter(vitals::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?)
}

/// The departments of `user`'s active staff profile, as a subquery.
fn departments_of(user: UserId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(staff_profiles::Column::DepartmentId)
        .from(staff_profiles::Entity)
        .and_where(staff_profiles::Column::UserId.eq(user.to_string()))
        .and_where(staff_profiles::Column::Active.eq(true))
        .and_where(staff_profiles::Column::DepartmentId.is_not_null())
        .to_owned()
}

/// Which of `patients` have an appointment in one of `statuses`, starting in `[from, to)`
/// (micros), in a department of `user`'s active staff profile.
pub async fn department_patients_among(
    conn: &impl Conn,
    user: UserId,
    patients: &[PatientId],
    statuses: &[&str],
    from: i64,
    to: i64,
) -> Result<HashSet<PatientId>, StoreError> {
    if patients.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
    let rows: Vec<String> = appointments::Entity::find()
        .select_only()
        .column(appointments::Column::PatientId)
        .filter(appointments::Column::PatientId.is_in(ids))
        .filter(appointments::Column::Status.is_in(statuses.iter().copied()))
        .filter(appointments::Column::StartAt.gte(from))
        .filter(appointments::Column::StartAt.lt(to))
        .filter(appointments::Column::DepartmentId.in_subquery(departments_of(user)))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|id| id.parse().ok()).collect())
}

/// The appointments in one of `statuses`, starting in `[from, to)` (micros), in a
/// department of `user`'s active staff profile, earliest first, at most `limit`.
pub async fn department_appointments(
    conn: &impl Conn,
    user: UserId,
    statuses: &[&str],
    from: i64,
    to: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    appointment_rows(
        appointments::Entity::find()
            .filter(appointments::Column::Status.is_in(statuses.iter().copied()))
            .filter(appointments::Column::StartAt.gte(from))
            .filter(appointments::Column::StartAt.lt(to))
            .filter(appointments::Column::DepartmentId.in_subquery(departments_of(user)))
            .order_by_asc(appointments::Column::StartAt)
            .order_by_asc(appointments::Column::Id)
            .limit(limit)
            .all(conn)
            .await?,
    )
}

/// The patients whose care team `user` is on (any source), at most `limit`, most recently
/// added first.
pub async fn care_team_patients(
    conn: &impl Conn,
    user: UserId,
    limit: u64,
) -> Result<Vec<PatientId>, StoreError> {
    let rows: Vec<String> = care_team_members::Entity::find()
        .select_only()
        .column(care_team_members::Column::PatientId)
        .filter(care_team_members::Column::UserId.eq(user.to_string()))
        .order_by_desc(care_team_members::Column::CreatedAt)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .filter(|id| seen.insert(*id))
        .collect())
}

/// Today's appointments of these patients (by id) in `[from, to)`, earliest first: the
/// visit a care-team patient is here for.
pub async fn appointments_of_patients(
    conn: &impl Conn,
    patients: &[PatientId],
    statuses: &[&str],
    from: i64,
    to: i64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = patients.iter().map(ToString::to_string).collect();
    appointment_rows(
        appointments::Entity::find()
            .filter(appointments::Column::PatientId.is_in(ids))
            .filter(appointments::Column::Status.is_in(statuses.iter().copied()))
            .filter(appointments::Column::StartAt.gte(from))
            .filter(appointments::Column::StartAt.lt(to))
            .order_by_asc(appointments::Column::StartAt)
            .all(conn)
            .await?,
    )
}
