//! The dashboards' aggregates: counts over clear columns only (patients' sex and birth
//! year, appointment and encounter times, departments and statuses, invoice amounts), so no
//! sealed column is read and no patient identity leaves here. Where a bucket depends on the
//! clinic's time zone (days, weeks) the query returns the instants of the window and the
//! service buckets them; everything else is grouped by the database.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};

use crate::Conn;
use crate::entity::{appointments, encounters, invoices, patient_tallies};
use crate::error::StoreError;

/// (sex, birth year, count) of every patient record not erased, from the tallies the
/// database keeps (a few hundred rows, whatever the number of patients).
pub async fn patients_by_sex_and_birth_year(
    conn: &impl Conn,
) -> Result<Vec<(String, i32, i64)>, StoreError> {
    Ok(patient_tallies::Entity::find()
        .select_only()
        .column(patient_tallies::Column::Sex)
        .column(patient_tallies::Column::BirthYear)
        .column(patient_tallies::Column::N)
        .filter(patient_tallies::Column::N.gt(0))
        .into_tuple()
        .all(conn)
        .await?)
}

/// The appointment statuses the dashboard counts: booked ones (requests not yet accepted
/// and cancelled appointments are left out).
pub const COUNTED_APPOINTMENT_STATUSES: [&str; 5] = [
    "scheduled",
    "checked_in",
    "in_progress",
    "completed",
    "no_show",
];

fn counted_appointments(from: i64, to: i64) -> Condition {
    Condition::all()
        .add(appointments::Column::StartAt.gte(from))
        .add(appointments::Column::StartAt.lt(to))
        .add(appointments::Column::Status.is_in(COUNTED_APPOINTMENT_STATUSES))
}

/// (department id, count) of the counted appointments starting in `[from, to)` (micros).
pub async fn appointments_by_department(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(appointments::Entity::find()
        .select_only()
        .column(appointments::Column::DepartmentId)
        .column_as(appointments::Column::Id.count(), "n")
        .filter(counted_appointments(from, to))
        .group_by(appointments::Column::DepartmentId)
        .into_tuple()
        .all(conn)
        .await?)
}

/// The start instants (micros) of the counted appointments starting in `[from, to)`,
/// for bucketing by local day.
pub async fn appointment_starts(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(appointments::Entity::find()
        .select_only()
        .column(appointments::Column::StartAt)
        .filter(counted_appointments(from, to))
        .into_tuple()
        .all(conn)
        .await?)
}

/// The start instants (micros) of every encounter (draft or signed) started in
/// `[from, to)`, for bucketing by week.
pub async fn encounter_starts(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(encounters::Entity::find()
        .select_only()
        .column(encounters::Column::StartedAt)
        .filter(encounters::Column::StartedAt.gte(from))
        .filter(encounters::Column::StartedAt.lt(to))
        .into_tuple()
        .all(conn)
        .await?)
}

/// (status, total, paid) in minor units of every invoice still owing (issued or partially
/// paid). Summed by the service: `SUM` has a different type on each backend.
pub async fn outstanding_invoices(conn: &impl Conn) -> Result<Vec<(String, i64, i64)>, StoreError> {
    Ok(invoices::Entity::find()
        .select_only()
        .column(invoices::Column::Status)
        .column(invoices::Column::TotalMinor)
        .column(invoices::Column::PaidMinor)
        .filter(invoices::Column::Status.is_in(["issued", "partially_paid"]))
        .into_tuple()
        .all(conn)
        .await?)
}

/// How many appointments with `status` start in `[from, to)`, optionally of one clinician.
pub async fn count_appointments(
    conn: &impl Conn,
    from: i64,
    to: i64,
    statuses: &[&str],
    clinician: Option<&str>,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    let mut query = appointments::Entity::find()
        .filter(appointments::Column::StartAt.gte(from))
        .filter(appointments::Column::StartAt.lt(to))
        .filter(appointments::Column::Status.is_in(statuses.iter().copied()));
    if let Some(clinician) = clinician {
        query = query.filter(appointments::Column::ClinicianId.eq(clinician));
    }
    Ok(query.count(conn).await?)
}

/// How many prescriptions are in `status`.
pub async fn count_prescriptions(conn: &impl Conn, status: &str) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(crate::entity::prescriptions::Entity::find()
        .filter(crate::entity::prescriptions::Column::Status.eq(status))
        .count(conn)
        .await?)
}
