//! Prescriptions (sealed details, clear status).

use carevault_core::clinical::PrescriptionStatus;
use carevault_core::ids::DrugId;
use carevault_core::time::to_micros;
use carevault_core::{EncounterId, PatientId, PrescriptionId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::prescriptions::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// A prescription. `body` and `status_reason` are sealed by the service.
#[derive(Debug, Clone)]
pub struct PrescriptionRecord {
    pub id: PrescriptionId,
    pub patient_id: PatientId,
    pub encounter_id: EncounterId,
    pub prescriber_id: UserId,
    pub status: PrescriptionStatus,
    pub body: Vec<u8>,
    pub status_reason: Option<Vec<u8>>,
    pub quantity_dispensed: u32,
    /// The formulary drug prescribed; `None` for a free-text prescription.
    pub drug_id: Option<DrugId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<prescriptions::Model> for PrescriptionRecord {
    type Error = StoreError;

    fn try_from(m: prescriptions::Model) -> Result<Self, StoreError> {
        let row = Row("prescriptions");
        Ok(PrescriptionRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            encounter_id: row.parse("encounter_id", &m.encounter_id)?,
            prescriber_id: row.parse("prescriber_id", &m.prescriber_id)?,
            status: row.convert("status", m.status.as_str(), PrescriptionStatus::parse)?,
            body: m.body,
            status_reason: m.status_reason,
            quantity_dispensed: row.convert(
                "quantity_dispensed",
                m.quantity_dispensed,
                u32::try_from,
            )?,
            drug_id: row.parse_opt("drug_id", m.drug_id.as_deref())?,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<&PrescriptionRecord> for prescriptions::ActiveModel {
    fn from(r: &PrescriptionRecord) -> Self {
        prescriptions::ActiveModel {
            id: Set(r.id.to_string()),
            patient_id: Set(r.patient_id.to_string()),
            encounter_id: Set(r.encounter_id.to_string()),
            prescriber_id: Set(r.prescriber_id.to_string()),
            status: Set(r.status.as_str().to_owned()),
            body: Set(r.body.clone()),
            status_reason: Set(r.status_reason.clone()),
            quantity_dispensed: Set(i32::try_from(r.quantity_dispensed).unwrap_or(i32::MAX)),
            drug_id: Set(r.drug_id.map(|id| id.to_string())),
            created_at: Set(to_micros(r.created_at)),
            updated_at: Set(to_micros(r.updated_at)),
        }
    }
}

pub async fn insert(conn: &impl Conn, record: &PrescriptionRecord) -> Result<(), StoreError> {
    record::insert(conn, prescriptions::ActiveModel::from(record)).await
}

pub async fn find(
    conn: &impl Conn,
    id: PrescriptionId,
) -> Result<Option<PrescriptionRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// The patient's prescriptions, newest first (only those in `status`, if given).
pub async fn of_patient(
    conn: &impl Conn,
    patient: PatientId,
    status: Option<PrescriptionStatus>,
    limit: u64,
) -> Result<Vec<PrescriptionRecord>, StoreError> {
    let mut query = Entity::find().filter(Column::PatientId.eq(patient.to_string()));
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status.as_str()));
    }
    record::all(
        conn,
        query
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit),
    )
    .await
}

/// Moves a prescription from `from` to `to` with a sealed reason; `false` if its status is
/// no longer `from`.
pub async fn set_status(
    conn: &impl Conn,
    id: PrescriptionId,
    from: PrescriptionStatus,
    to: PrescriptionStatus,
    reason: Option<Vec<u8>>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(prescriptions::ActiveModel {
            status: Set(to.as_str().to_owned()),
            status_reason: Set(reason),
            updated_at: Set(to_micros(now)),
            ..Default::default()
        })
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Active prescriptions of every patient, oldest first (the pharmacy's dispensing queue).
pub async fn active(conn: &impl Conn, limit: u64) -> Result<Vec<PrescriptionRecord>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::Status.eq(PrescriptionStatus::Active.as_str()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit),
    )
    .await
}
