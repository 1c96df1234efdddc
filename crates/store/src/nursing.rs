//! Nurses' own records (triage at check-in, nursing notes; sealed bodies from the service),
//! the vitals of a triage, and the department relation: which patients have a visit today
//! in the department of a nurse's staff profile.

use std::collections::HashSet;

use carevault_core::nursing::NursingNoteKind;
use carevault_core::time::to_micros;
use carevault_core::{AppointmentId, NursingNoteId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::{appointments, care_team_members, nursing_notes, staff_profiles};
use crate::error::StoreError;
use crate::record::{self, Row};
use crate::scheduling::AppointmentRow;

/// A nurse's note or a triage. `body` is sealed by the service.
#[derive(Debug, Clone)]
pub struct NursingNoteRecord {
    pub id: NursingNoteId,
    pub patient_id: PatientId,
    /// The visit a triage belongs to.
    pub appointment_id: Option<AppointmentId>,
    pub kind: NursingNoteKind,
    pub body: Vec<u8>,
    pub author_id: UserId,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<nursing_notes::Model> for NursingNoteRecord {
    type Error = StoreError;

    fn try_from(m: nursing_notes::Model) -> Result<Self, StoreError> {
        let row = Row("nursing_notes");
        Ok(NursingNoteRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            appointment_id: row.parse_opt("appointment_id", m.appointment_id.as_deref())?,
            kind: row.convert("kind", m.kind.as_str(), NursingNoteKind::parse)?,
            body: m.body,
            author_id: row.parse("author_id", &m.author_id)?,
            created_at: row.time(m.created_at),
        })
    }
}

pub async fn insert_note(conn: &impl Conn, r: &NursingNoteRecord) -> Result<(), StoreError> {
    let row = nursing_notes::ActiveModel {
        id: Set(r.id.to_string()),
        patient_id: Set(r.patient_id.to_string()),
        appointment_id: Set(r.appointment_id.map(|id| id.to_string())),
        kind: Set(r.kind.as_str().to_owned()),
        body: Set(r.body.clone()),
        author_id: Set(r.author_id.to_string()),
        created_at: Set(to_micros(r.created_at)),
    };
    nursing_notes::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The patient's nursing notes and triages, newest first, at most `limit`.
pub async fn notes_of(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<NursingNoteRecord>, StoreError> {
    record::all(
        conn,
        nursing_notes::Entity::find()
            .filter(nursing_notes::Column::PatientId.eq(patient.to_string()))
            .order_by_desc(nursing_notes::Column::CreatedAt)
            .order_by_desc(nursing_notes::Column::Id)
            .limit(limit),
    )
    .await
}

/// The triages of these appointments, newest first.
pub async fn triages_of(
    conn: &impl Conn,
    appointments: &[AppointmentId],
) -> Result<Vec<NursingNoteRecord>, StoreError> {
    if appointments.is_empty() {
        return Ok(Vec::new());
    }
    record::all(
        conn,
        nursing_notes::Entity::find()
            .filter(nursing_notes::Column::Kind.eq(NursingNoteKind::Triage.as_str()))
            .filter(
                nursing_notes::Column::AppointmentId
                    .is_in(appointments.iter().map(ToString::to_string)),
            )
            .order_by_desc(nursing_notes::Column::CreatedAt)
            .order_by_desc(nursing_notes::Column::Id),
    )
    .await
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
    record::all(
        conn,
        appointments::Entity::find()
            .filter(appointments::Column::Status.is_in(statuses.iter().copied()))
            .filter(appointments::Column::StartAt.gte(from))
            .filter(appointments::Column::StartAt.lt(to))
            .filter(appointments::Column::DepartmentId.in_subquery(departments_of(user)))
            .order_by_asc(appointments::Column::StartAt)
            .order_by_asc(appointments::Column::Id)
            .limit(limit),
    )
    .await
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
    record::all(
        conn,
        appointments::Entity::find()
            .filter(appointments::Column::PatientId.is_in(ids))
            .filter(appointments::Column::Status.is_in(statuses.iter().copied()))
            .filter(appointments::Column::StartAt.gte(from))
            .filter(appointments::Column::StartAt.lt(to))
            .order_by_asc(appointments::Column::StartAt),
    )
    .await
}
