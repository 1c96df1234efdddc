//! Consent records: append one, read a patient's history. Rows are never updated.

use carevault_core::consent::{ConsentPurpose, ConsentStatus};
use carevault_core::time::to_micros;
use carevault_core::{ConsentId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::consents::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// One consent record. Its `Debug` output leaves out the sealed note.
#[derive(Clone)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub patient_id: PatientId,
    pub purpose: ConsentPurpose,
    pub status: ConsentStatus,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: UserId,
    /// Sealed under the patient's data key.
    pub note: Option<Vec<u8>>,
}

impl std::fmt::Debug for ConsentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRecord")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TryFrom<consents::Model> for ConsentRecord {
    type Error = StoreError;

    fn try_from(m: consents::Model) -> Result<Self, StoreError> {
        let row = Row("consents");
        Ok(ConsentRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            purpose: row.convert("purpose", m.purpose.as_str(), ConsentPurpose::parse)?,
            status: row.convert("status", m.status.as_str(), ConsentStatus::parse)?,
            recorded_at: row.time(m.recorded_at),
            recorded_by: row.parse("recorded_by", &m.recorded_by)?,
            note: m.note,
        })
    }
}

pub async fn insert(conn: &impl Conn, record: &ConsentRecord) -> Result<(), StoreError> {
    let row = consents::ActiveModel {
        id: Set(record.id.to_string()),
        patient_id: Set(record.patient_id.to_string()),
        purpose: Set(record.purpose.as_str().to_owned()),
        status: Set(record.status.as_str().to_owned()),
        recorded_at: Set(to_micros(record.recorded_at)),
        recorded_by: Set(record.recorded_by.to_string()),
        note: Set(record.note.clone()),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// The patient's consent records, newest first (ties by id, which is time-ordered).
pub async fn for_patient(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<ConsentRecord>, StoreError> {
    latest(conn, patient, None, limit).await
}

/// The patient's records for one purpose, newest first, at most `limit`.
pub async fn for_purpose(
    conn: &impl Conn,
    patient: PatientId,
    purpose: ConsentPurpose,
    limit: u64,
) -> Result<Vec<ConsentRecord>, StoreError> {
    latest(conn, patient, Some(purpose), limit).await
}

async fn latest(
    conn: &impl Conn,
    patient: PatientId,
    purpose: Option<ConsentPurpose>,
    limit: u64,
) -> Result<Vec<ConsentRecord>, StoreError> {
    let mut query = Entity::find().filter(Column::PatientId.eq(patient.to_string()));
    if let Some(purpose) = purpose {
        query = query.filter(Column::Purpose.eq(purpose.as_str()));
    }
    record::all(
        conn,
        query
            .order_by_desc(Column::RecordedAt)
            .order_by_desc(Column::Id)
            .limit(limit),
    )
    .await
}

/// Removes the patient's consent records (for erasure); returns how many were removed.
pub async fn delete_for_patient(conn: &impl Conn, patient: &str) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::PatientId.eq(patient))
        .exec(conn)
        .await?
        .rows_affected)
}
