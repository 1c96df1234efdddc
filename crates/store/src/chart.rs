//! Queries of the patient chart that no other screen needs: a patient's appointments on
//! either side of a moment.

use carevault_core::PatientId;
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::appointments::{Column, Entity};
use crate::error::StoreError;
use crate::record;
use crate::scheduling::AppointmentRow;

/// Statuses of an appointment that is still to happen.
const OPEN_STATUSES: [&str; 4] = ["requested", "scheduled", "checked_in", "in_progress"];

/// The patient's open appointments starting at or after `now` (micros), soonest first.
pub async fn upcoming_appointments(
    conn: &impl Conn,
    patient: PatientId,
    now: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    let open_from_now = Condition::all()
        .add(Column::StartAt.gte(now))
        .add(Column::Status.is_in(OPEN_STATUSES));
    appointments_of(conn, patient, open_from_now, Order::Asc, limit).await
}

/// The patient's appointments that started before `now` (micros), in any status, most
/// recent first.
pub async fn recent_appointments(
    conn: &impl Conn,
    patient: PatientId,
    now: i64,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    let before_now = Condition::all().add(Column::StartAt.lt(now));
    appointments_of(conn, patient, before_now, Order::Desc, limit).await
}

/// At most `limit` of the patient's appointments matching `when`, by start time in `order`
/// (ties by id in the same order).
async fn appointments_of(
    conn: &impl Conn,
    patient: PatientId,
    when: Condition,
    order: Order,
    limit: u64,
) -> Result<Vec<AppointmentRow>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .filter(when)
            .order_by(Column::StartAt, order.clone())
            .order_by(Column::Id, order)
            .limit(limit),
    )
    .await
}
