//! Encounters, their diagnoses and appended notes, vitals and the de-identified diagnosis
//! counts. Everything clinical arrives sealed from the service.

use carevault_core::clinical::{DiagnosisKind, EncounterNoteKind, EncounterStatus, EncounterType};
use carevault_core::time::to_micros;
use carevault_core::{
    AppointmentId, DepartmentId, DiagnosisId, EncounterId, EncounterNoteId, PatientId, UserId,
    VitalsId,
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::{diagnosis_stats, encounter_diagnoses, encounter_notes, encounters, vitals};
use crate::error::StoreError;
use crate::record::{self, Row};

/// An encounter. The five texts are sealed by the service (`None`: empty).
#[derive(Debug, Clone)]
pub struct EncounterRecord {
    pub id: EncounterId,
    pub patient_id: PatientId,
    pub clinician_id: UserId,
    pub appointment_id: Option<AppointmentId>,
    pub department_id: Option<DepartmentId>,
    pub kind: EncounterType,
    pub status: EncounterStatus,
    pub started_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub chief_complaint: Option<Vec<u8>>,
    pub history: Option<Vec<u8>>,
    pub examination: Option<Vec<u8>>,
    pub assessment: Option<Vec<u8>>,
    pub plan: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<encounters::Model> for EncounterRecord {
    type Error = StoreError;

    fn try_from(m: encounters::Model) -> Result<Self, StoreError> {
        let row = Row("encounters");
        Ok(EncounterRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            clinician_id: row.parse("clinician_id", &m.clinician_id)?,
            appointment_id: row.parse_opt("appointment_id", m.appointment_id.as_deref())?,
            department_id: row.parse_opt("department_id", m.department_id.as_deref())?,
            kind: row.convert("kind", m.kind.as_str(), EncounterType::parse)?,
            status: row.convert("status", m.status.as_str(), EncounterStatus::parse)?,
            started_at: row.time(m.started_at),
            signed_at: row.time_opt(m.signed_at),
            chief_complaint: m.chief_complaint,
            history: m.history,
            examination: m.examination,
            assessment: m.assessment,
            plan: m.plan,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
        })
    }
}

/// The columns of an encounter that change (an edit, signing, an amendment).
fn mutable_columns(r: &EncounterRecord) -> encounters::ActiveModel {
    encounters::ActiveModel {
        kind: Set(r.kind.as_str().to_owned()),
        status: Set(r.status.as_str().to_owned()),
        started_at: Set(to_micros(r.started_at)),
        signed_at: Set(r.signed_at.map(to_micros)),
        chief_complaint: Set(r.chief_complaint.clone()),
        history: Set(r.history.clone()),
        examination: Set(r.examination.clone()),
        assessment: Set(r.assessment.clone()),
        plan: Set(r.plan.clone()),
        updated_at: Set(to_micros(r.updated_at)),
        ..Default::default()
    }
}

pub async fn insert_encounter(conn: &impl Conn, r: &EncounterRecord) -> Result<(), StoreError> {
    let row = encounters::ActiveModel {
        id: Set(r.id.to_string()),
        patient_id: Set(r.patient_id.to_string()),
        clinician_id: Set(r.clinician_id.to_string()),
        appointment_id: Set(r.appointment_id.map(|id| id.to_string())),
        department_id: Set(r.department_id.map(|id| id.to_string())),
        created_at: Set(to_micros(r.created_at)),
        ..mutable_columns(r)
    };
    encounters::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every mutable column of `record` if it still has `read_at` as its `updated_at`;
/// `false` when it changed meanwhile.
pub async fn update_encounter(
    conn: &impl Conn,
    record: &EncounterRecord,
    read_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use encounters::Column as C;
    let result = encounters::Entity::update_many()
        .set(mutable_columns(record))
        .filter(C::Id.eq(record.id.to_string()))
        .filter(C::UpdatedAt.eq(to_micros(read_at)))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_encounter(
    conn: &impl Conn,
    id: EncounterId,
) -> Result<Option<EncounterRecord>, StoreError> {
    record::one(conn, encounters::Entity::find_by_id(id.to_string())).await
}

/// The patient's encounters, newest first.
pub async fn encounters_of(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<EncounterRecord>, StoreError> {
    record::all(
        conn,
        encounters::Entity::find()
            .filter(encounters::Column::PatientId.eq(patient.to_string()))
            .order_by_desc(encounters::Column::StartedAt)
            .order_by_desc(encounters::Column::Id)
            .limit(limit),
    )
    .await
}

/// The encounters of one appointment of `patient`, oldest first.
pub async fn encounters_of_appointment(
    conn: &impl Conn,
    patient: PatientId,
    appointment: AppointmentId,
) -> Result<Vec<EncounterRecord>, StoreError> {
    record::all(
        conn,
        encounters::Entity::find()
            .filter(encounters::Column::PatientId.eq(patient.to_string()))
            .filter(encounters::Column::AppointmentId.eq(appointment.to_string()))
            .order_by_asc(encounters::Column::CreatedAt)
            .order_by_asc(encounters::Column::Id),
    )
    .await
}

/// A diagnosis of an encounter. `body` is sealed by the service.
#[derive(Debug, Clone)]
pub struct DiagnosisRecord {
    pub id: DiagnosisId,
    pub encounter_id: EncounterId,
    pub patient_id: PatientId,
    pub kind: DiagnosisKind,
    pub free_text: bool,
    pub body: Vec<u8>,
    pub added_by: UserId,
    pub added_at: DateTime<Utc>,
    /// When an amendment retracted it.
    pub retracted_at: Option<DateTime<Utc>>,
}

impl TryFrom<encounter_diagnoses::Model> for DiagnosisRecord {
    type Error = StoreError;

    fn try_from(m: encounter_diagnoses::Model) -> Result<Self, StoreError> {
        let row = Row("encounter_diagnoses");
        Ok(DiagnosisRecord {
            id: row.parse("id", &m.id)?,
            encounter_id: row.parse("encounter_id", &m.encounter_id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            kind: row.convert("kind", m.kind.as_str(), DiagnosisKind::parse)?,
            free_text: m.free_text,
            body: m.body,
            added_by: row.parse("added_by", &m.added_by)?,
            added_at: row.time(m.added_at),
            retracted_at: row.time_opt(m.retracted_at),
        })
    }
}

pub async fn insert_diagnosis(conn: &impl Conn, r: &DiagnosisRecord) -> Result<(), StoreError> {
    let row = encounter_diagnoses::ActiveModel {
        id: Set(r.id.to_string()),
        encounter_id: Set(r.encounter_id.to_string()),
        patient_id: Set(r.patient_id.to_string()),
        kind: Set(r.kind.as_str().to_owned()),
        free_text: Set(r.free_text),
        body: Set(r.body.clone()),
        added_by: Set(r.added_by.to_string()),
        added_at: Set(to_micros(r.added_at)),
        retracted_at: Set(r.retracted_at.map(to_micros)),
    };
    encounter_diagnoses::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The encounter's diagnoses (retracted ones included), in the order they were added.
pub async fn diagnoses_of(
    conn: &impl Conn,
    encounter: EncounterId,
) -> Result<Vec<DiagnosisRecord>, StoreError> {
    record::all(
        conn,
        encounter_diagnoses::Entity::find()
            .filter(encounter_diagnoses::Column::EncounterId.eq(encounter.to_string()))
            .order_by_asc(encounter_diagnoses::Column::AddedAt)
            .order_by_asc(encounter_diagnoses::Column::Id),
    )
    .await
}

/// Deletes the draft's diagnoses (a draft's list is replaced as a whole when edited).
pub async fn delete_diagnoses_of(
    conn: &impl Conn,
    encounter: EncounterId,
) -> Result<(), StoreError> {
    encounter_diagnoses::Entity::delete_many()
        .filter(encounter_diagnoses::Column::EncounterId.eq(encounter.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks a diagnosis retracted (by an amendment); `false` if it already was.
pub async fn retract_diagnosis(
    conn: &impl Conn,
    id: DiagnosisId,
    encounter: EncounterId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = encounter_diagnoses::Entity::update_many()
        .set(encounter_diagnoses::ActiveModel {
            retracted_at: Set(Some(to_micros(at))),
            ..Default::default()
        })
        .filter(encounter_diagnoses::Column::Id.eq(id.to_string()))
        .filter(encounter_diagnoses::Column::EncounterId.eq(encounter.to_string()))
        .filter(encounter_diagnoses::Column::RetractedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces a diagnosis's sealed body (its stat id is added when the encounter is signed).
pub async fn set_diagnosis_body(
    conn: &impl Conn,
    id: DiagnosisId,
    body: Vec<u8>,
) -> Result<(), StoreError> {
    encounter_diagnoses::Entity::update_many()
        .set(encounter_diagnoses::ActiveModel {
            body: Set(body),
            ..Default::default()
        })
        .filter(encounter_diagnoses::Column::Id.eq(id.to_string()))
        .exec(conn)
        .await?;
    Ok(())
}

/// A note appended to an encounter (a treatment note, an amendment, an addendum). `body` is
/// sealed by the service.
#[derive(Debug, Clone)]
pub struct NoteRecord {
    pub id: EncounterNoteId,
    pub encounter_id: EncounterId,
    pub patient_id: PatientId,
    pub note_kind: EncounterNoteKind,
    pub body: Vec<u8>,
    pub author_id: UserId,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<encounter_notes::Model> for NoteRecord {
    type Error = StoreError;

    fn try_from(m: encounter_notes::Model) -> Result<Self, StoreError> {
        let row = Row("encounter_notes");
        Ok(NoteRecord {
            id: row.parse("id", &m.id)?,
            encounter_id: row.parse("encounter_id", &m.encounter_id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            note_kind: row.convert("note_kind", m.note_kind.as_str(), EncounterNoteKind::parse)?,
            body: m.body,
            author_id: row.parse("author_id", &m.author_id)?,
            created_at: row.time(m.created_at),
        })
    }
}

pub async fn insert_note(conn: &impl Conn, r: &NoteRecord) -> Result<(), StoreError> {
    let row = encounter_notes::ActiveModel {
        id: Set(r.id.to_string()),
        encounter_id: Set(r.encounter_id.to_string()),
        patient_id: Set(r.patient_id.to_string()),
        note_kind: Set(r.note_kind.as_str().to_owned()),
        body: Set(r.body.clone()),
        author_id: Set(r.author_id.to_string()),
        created_at: Set(to_micros(r.created_at)),
    };
    encounter_notes::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The notes appended to an encounter, oldest first.
pub async fn notes_of(
    conn: &impl Conn,
    encounter: EncounterId,
) -> Result<Vec<NoteRecord>, StoreError> {
    record::all(
        conn,
        encounter_notes::Entity::find()
            .filter(encounter_notes::Column::EncounterId.eq(encounter.to_string()))
            .order_by_asc(encounter_notes::Column::CreatedAt)
            .order_by_asc(encounter_notes::Column::Id),
    )
    .await
}

/// One set of vital signs, of an encounter or of a triage. `body` is sealed by the service.
#[derive(Debug, Clone)]
pub struct VitalsRecord {
    pub id: VitalsId,
    pub patient_id: PatientId,
    pub encounter_id: Option<EncounterId>,
    /// The visit whose triage measured them (no encounter then).
    pub appointment_id: Option<AppointmentId>,
    pub body: Vec<u8>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

impl TryFrom<vitals::Model> for VitalsRecord {
    type Error = StoreError;

    fn try_from(m: vitals::Model) -> Result<Self, StoreError> {
        let row = Row("vitals");
        Ok(VitalsRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            encounter_id: row.parse_opt("encounter_id", m.encounter_id.as_deref())?,
            appointment_id: row.parse_opt("appointment_id", m.appointment_id.as_deref())?,
            body: m.body,
            recorded_by: row.parse("recorded_by", &m.recorded_by)?,
            recorded_at: row.time(m.recorded_at),
        })
    }
}

pub async fn insert_vitals(conn: &impl Conn, r: &VitalsRecord) -> Result<(), StoreError> {
    let row = vitals::ActiveModel {
        id: Set(r.id.to_string()),
        patient_id: Set(r.patient_id.to_string()),
        encounter_id: Set(r.encounter_id.map(|id| id.to_string())),
        appointment_id: Set(r.appointment_id.map(|id| id.to_string())),
        body: Set(r.body.clone()),
        recorded_by: Set(r.recorded_by.to_string()),
        recorded_at: Set(to_micros(r.recorded_at)),
    };
    vitals::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The patient's vitals, newest first (or only those of one encounter).
pub async fn vitals_of(
    conn: &impl Conn,
    patient: PatientId,
    encounter: Option<EncounterId>,
    limit: u64,
) -> Result<Vec<VitalsRecord>, StoreError> {
    let mut query =
        vitals::Entity::find().filter(vitals::Column::PatientId.eq(patient.to_string()));
    if let Some(encounter) = encounter {
        query = query.filter(vitals::Column::EncounterId.eq(encounter.to_string()));
    }
    record::all(
        conn,
        query.order_by_desc(vitals::Column::RecordedAt).limit(limit),
    )
    .await
}

/// The vitals with these ids.
pub async fn vitals_by_ids(
    conn: &impl Conn,
    ids: &[VitalsId],
) -> Result<Vec<VitalsRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    record::all(
        conn,
        vitals::Entity::find()
            .filter(vitals::Column::Id.is_in(ids.iter().map(ToString::to_string))),
    )
    .await
}

/// One counted diagnosis, de-identified: its code, the department and the local day. Its
/// id is kept (as text) in the sealed diagnosis body, to uncount it when the diagnosis is
/// retracted; it names nothing else, so it has no id type of its own.
#[derive(Debug, Clone)]
pub struct DiagnosisStatRecord {
    pub id: String,
    /// The ICD-10 code.
    pub code: String,
    pub department_id: Option<DepartmentId>,
    /// The start of the local day it was counted on.
    pub recorded_day: DateTime<Utc>,
}

impl TryFrom<diagnosis_stats::Model> for DiagnosisStatRecord {
    type Error = StoreError;

    fn try_from(m: diagnosis_stats::Model) -> Result<Self, StoreError> {
        let row = Row("diagnosis_stats");
        Ok(DiagnosisStatRecord {
            id: m.id,
            code: m.code,
            department_id: row.parse_opt("department_id", m.department_id.as_deref())?,
            recorded_day: row.time(m.recorded_day),
        })
    }
}

pub async fn insert_stat(conn: &impl Conn, r: &DiagnosisStatRecord) -> Result<(), StoreError> {
    let row = diagnosis_stats::ActiveModel {
        id: Set(r.id.clone()),
        code: Set(r.code.clone()),
        department_id: Set(r.department_id.map(|id| id.to_string())),
        recorded_day: Set(to_micros(r.recorded_day)),
    };
    diagnosis_stats::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn delete_stat(conn: &impl Conn, id: &str) -> Result<(), StoreError> {
    diagnosis_stats::Entity::delete_by_id(id.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

/// The diagnosis counts' rows for local days starting in `[from, to)`.
pub async fn stats_between(
    conn: &impl Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DiagnosisStatRecord>, StoreError> {
    record::all(
        conn,
        diagnosis_stats::Entity::find()
            .filter(diagnosis_stats::Column::RecordedDay.gte(to_micros(from)))
            .filter(diagnosis_stats::Column::RecordedDay.lt(to_micros(to))),
    )
    .await
}
