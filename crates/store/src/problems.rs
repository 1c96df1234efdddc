//! A patient's problem list (sealed bodies, clear status and source).

use carevault_core::problem::ProblemStatus;
use carevault_core::time::to_micros;
use carevault_core::{DiagnosisId, EncounterId, PatientId, ProblemId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::Conn;
use crate::entity::patient_problems::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// One problem of a patient's list. `body` is sealed by the service.
#[derive(Debug, Clone)]
pub struct ProblemRecord {
    pub id: ProblemId,
    pub patient_id: PatientId,
    pub status: ProblemStatus,
    pub body: Vec<u8>,
    /// The encounter and diagnosis the problem was added from, if any.
    pub source_encounter_id: Option<EncounterId>,
    pub source_diagnosis_id: Option<DiagnosisId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<patient_problems::Model> for ProblemRecord {
    type Error = StoreError;

    fn try_from(m: patient_problems::Model) -> Result<Self, StoreError> {
        let row = Row("patient_problems");
        Ok(ProblemRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            status: row.convert("status", m.status.as_str(), ProblemStatus::parse)?,
            body: m.body,
            source_encounter_id: row
                .parse_opt("source_encounter_id", m.source_encounter_id.as_deref())?,
            source_diagnosis_id: row
                .parse_opt("source_diagnosis_id", m.source_diagnosis_id.as_deref())?,
            recorded_by: row.parse("recorded_by", &m.recorded_by)?,
            recorded_at: row.time(m.recorded_at),
            updated_by: row.parse_opt("updated_by", m.updated_by.as_deref())?,
            updated_at: row.time(m.updated_at),
        })
    }
}

impl From<&ProblemRecord> for patient_problems::ActiveModel {
    fn from(r: &ProblemRecord) -> Self {
        patient_problems::ActiveModel {
            id: Set(r.id.to_string()),
            patient_id: Set(r.patient_id.to_string()),
            status: Set(r.status.as_str().to_owned()),
            body: Set(r.body.clone()),
            source_encounter_id: Set(r.source_encounter_id.map(|id| id.to_string())),
            source_diagnosis_id: Set(r.source_diagnosis_id.map(|id| id.to_string())),
            recorded_by: Set(r.recorded_by.to_string()),
            recorded_at: Set(to_micros(r.recorded_at)),
            updated_by: Set(r.updated_by.map(|id| id.to_string())),
            updated_at: Set(to_micros(r.updated_at)),
        }
    }
}

pub async fn insert(conn: &impl Conn, record: &ProblemRecord) -> Result<(), StoreError> {
    record::insert(conn, patient_problems::ActiveModel::from(record)).await
}

pub async fn find(conn: &impl Conn, id: ProblemId) -> Result<Option<ProblemRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// Every problem of the patient, newest first (ties by id, which is time-ordered).
pub async fn of_patient(
    conn: &impl Conn,
    patient: PatientId,
) -> Result<Vec<ProblemRecord>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .order_by_desc(Column::RecordedAt)
            .order_by_desc(Column::Id),
    )
    .await
}

/// Moves a problem from `from` to `to`, if it is still in `from`; `false` otherwise.
pub async fn set_status(
    conn: &impl Conn,
    id: ProblemId,
    from: ProblemStatus,
    to: ProblemStatus,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedBy, Expr::value(by.to_string()))
        .col_expr(Column::UpdatedAt, Expr::value(to_micros(at)))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
