//! A patient's allergy entries and "no known allergies" statements (sealed bodies, clear
//! kind and status).

use carevault_core::allergy::{AllergyEntryKind, AllergyStatus};
use carevault_core::time::to_micros;
use carevault_core::{AllergyId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::patient_allergies::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// One entry of a patient's allergy list. `body` and `status_reason` are sealed by the
/// service.
#[derive(Debug, Clone)]
pub struct AllergyRecord {
    pub id: AllergyId,
    pub patient_id: PatientId,
    pub entry_kind: AllergyEntryKind,
    pub status: AllergyStatus,
    pub body: Vec<u8>,
    pub status_reason: Option<Vec<u8>>,
    /// `None`: moved from the old free-text field.
    pub recorded_by: Option<UserId>,
    pub recorded_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<patient_allergies::Model> for AllergyRecord {
    type Error = StoreError;

    fn try_from(m: patient_allergies::Model) -> Result<Self, StoreError> {
        let row = Row("patient_allergies");
        Ok(AllergyRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            entry_kind: row.convert(
                "entry_kind",
                m.entry_kind.as_str(),
                AllergyEntryKind::parse,
            )?,
            status: row.convert("status", m.status.as_str(), AllergyStatus::parse)?,
            body: m.body,
            status_reason: m.status_reason,
            recorded_by: row.parse_opt("recorded_by", m.recorded_by.as_deref())?,
            recorded_at: row.time(m.recorded_at),
            updated_by: row.parse_opt("updated_by", m.updated_by.as_deref())?,
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<&AllergyRecord> for patient_allergies::ActiveModel {
    fn from(r: &AllergyRecord) -> Self {
        patient_allergies::ActiveModel {
            id: Set(r.id.to_string()),
            patient_id: Set(r.patient_id.to_string()),
            entry_kind: Set(r.entry_kind.as_str().to_owned()),
            status: Set(r.status.as_str().to_owned()),
            body: Set(r.body.clone()),
            status_reason: Set(r.status_reason.clone()),
            recorded_by: Set(r.recorded_by.map(|id| id.to_string())),
            recorded_at: Set(to_micros(r.recorded_at)),
            updated_by: Set(r.updated_by.map(|id| id.to_string())),
            updated_at: Set(to_micros(r.updated_at)),
        }
    }
}

pub async fn insert(conn: &impl Conn, record: &AllergyRecord) -> Result<(), StoreError> {
    record::insert(conn, patient_allergies::ActiveModel::from(record)).await
}

/// Stores several new entries with multi-row statements.
pub async fn insert_many(conn: &impl Conn, records: &[AllergyRecord]) -> Result<(), StoreError> {
    for chunk in records.chunks(500) {
        Entity::insert_many(chunk.iter().map(patient_allergies::ActiveModel::from))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

pub async fn find(conn: &impl Conn, id: AllergyId) -> Result<Option<AllergyRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// Every entry of the patient, newest first (ties by id, which is time-ordered).
pub async fn of_patient(
    conn: &impl Conn,
    patient: PatientId,
) -> Result<Vec<AllergyRecord>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .order_by_desc(Column::RecordedAt)
            .order_by_desc(Column::Id),
    )
    .await
}

/// The entries of these patients in `status`, oldest first per patient (for lists of
/// patients, where each shows its active allergies).
pub async fn of_patients(
    conn: &impl Conn,
    patients: &[PatientId],
    status: AllergyStatus,
) -> Result<Vec<AllergyRecord>, StoreError> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.is_in(patients.iter().map(ToString::to_string)))
            .filter(Column::Status.eq(status.as_str()))
            .order_by_asc(Column::RecordedAt)
            .order_by_asc(Column::Id),
    )
    .await
}

/// Moves an entry from `from` to `to` with a sealed reason, if it is still in `from`;
/// `false` otherwise.
pub async fn set_status(
    conn: &impl Conn,
    id: AllergyId,
    from: AllergyStatus,
    to: AllergyStatus,
    reason: Option<Vec<u8>>,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::StatusReason, Expr::value(reason))
        .col_expr(Column::UpdatedBy, Expr::value(by.to_string()))
        .col_expr(Column::UpdatedAt, Expr::value(to_micros(at)))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
