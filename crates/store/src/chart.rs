//! Queries of the patient chart that no other screen needs: a patient's appointments on
//! either side of a moment.

use carevault_core::PatientId;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::appointments::{Column, Entity};
use crate::error::StoreError;
use crate::scheduling::{AppointmentRow, appointment_rows};

/// Statuses of an appointment that is still to happen.
const OPEN_STATUSES: [&str; 4] = ["requested", "scheduled", "checked_in", "in_progress"];

/// The patient's open appointments starting at or after `now` (micros), soonest first.
pub async fn upcoming_appointments(
    conn: &impl Conn,
    patient: PatientId,
    now: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    appointment_rows(
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .filter(Column::StartAt.gte(now))
            .filter(Column::Status.is_in(OPEN_STATUSES))
            .order_by_asc(Column::StartAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(conn)
            .await?,
    )
}

/// The patient's appointments that started before `now` (micros), in any status, most
/// recent first.
pub async fn recent_appointments(
    conn: &impl Conn,
    patient: PatientId,
    now: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    appointment_rows(
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .filter(Column::StartAt.lt(now))
            .order_by_desc(Column::StartAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(conn)
            .await?,
    )
}
