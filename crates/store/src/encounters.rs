//! Encounters, their diagnoses and appended notes, vitals and the de-identified diagnosis
//! counts. Everything clinical arrives sealed from the service.

use carevault_core::PatientId;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::Conn;
use crate::entity::{diagnosis_stats, encounter_diagnoses, encounter_notes, encounters, vitals};
use crate::error::StoreError;

pub type EncounterRow = encounters::Model;
pub type DiagnosisRow = encounter_diagnoses::Model;
pub type NoteRow = encounter_notes::Model;
pub type VitalsRow = vitals::Model;
pub type DiagnosisStatRow = diagnosis_stats::Model;

/// A nurse's (or doctor's) treatment note.
pub const NOTE_TREATMENT: &str = "treatment";
/// An amendment of a signed encounter.
pub const NOTE_AMENDMENT: &str = "amendment";
/// An addendum to a signed encounter (text added afterwards; the encounter is unchanged).
pub const NOTE_ADDENDUM: &str = "addendum";

pub async fn insert_encounter(conn: &impl Conn, row: EncounterRow) -> Result<(), StoreError> {
    encounters::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes every mutable column of `row` if it still has `read_at` as its `updated_at`;
/// `false` when it changed meanwhile.
pub async fn update_encounter(
    conn: &impl Conn,
    row: EncounterRow,
    read_at: i64,
) -> Result<bool, StoreError> {
    use encounters::Column as C;
    let id = row.id.clone();
    let mut active = row.into_active_model();
    for column in [
        C::Kind,
        C::Status,
        C::StartedAt,
        C::SignedAt,
        C::ChiefComplaint,
        C::History,
        C::Examination,
        C::Assessment,
        C::Plan,
        C::UpdatedAt,
    ] {
        active.reset(column);
    }
    for column in [
        C::Id,
        C::PatientId,
        C::ClinicianId,
        C::AppointmentId,
        C::DepartmentId,
        C::CreatedAt,
    ] {
        active.not_set(column);
    }
    let result = encounters::Entity::update_many()
        .set(active)
        .filter(C::Id.eq(id))
        .filter(C::UpdatedAt.eq(read_at))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_encounter(
    conn: &impl Conn,
    id: &str,
) -> Result<Option<EncounterRow>, StoreError> {
    Ok(encounters::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// The patient's encounters, newest first.
pub async fn encounters_of(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<EncounterRow>, StoreError> {
    Ok(encounters::Entity::find()
        .filter(encounters::Column::PatientId.eq(patient.to_string()))
        .order_by_desc(encounters::Column::StartedAt)
        .order_by_desc(encounters::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The encounters of one appointment of `patient`, oldest first.
pub async fn encounters_of_appointment(
    conn: &impl Conn,
    patient: PatientId,
    appointment: &str,
) -> Result<Vec<EncounterRow>, StoreError> {
    Ok(encounters::Entity::find()
        .filter(encounters::Column::PatientId.eq(patient.to_string()))
        .filter(encounters::Column::AppointmentId.eq(appointment.to_owned()))
        .order_by_asc(encounters::Column::CreatedAt)
        .order_by_asc(encounters::Column::Id)
        .all(conn)
        .await?)
}

pub async fn insert_diagnosis(conn: &impl Conn, row: DiagnosisRow) -> Result<(), StoreError> {
    encounter_diagnoses::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The encounter's diagnoses (retracted ones included), in the order they were added.
pub async fn diagnoses_of(
    conn: &impl Conn,
    encounter: &str,
) -> Result<Vec<DiagnosisRow>, StoreError> {
    Ok(encounter_diagnoses::Entity::find()
        .filter(encounter_diagnoses::Column::EncounterId.eq(encounter))
        .order_by_asc(encounter_diagnoses::Column::AddedAt)
        .order_by_asc(encounter_diagnoses::Column::Id)
        .all(conn)
        .await?)
}

/// Deletes the draft's diagnoses (a draft's list is replaced as a whole when edited).
pub async fn delete_diagnoses_of(conn: &impl Conn, encounter: &str) -> Result<(), StoreError> {
    encounter_diagnoses::Entity::delete_many()
        .filter(encounter_diagnoses::Column::EncounterId.eq(encounter))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks a diagnosis retracted (by an amendment); `false` if it already was.
pub async fn retract_diagnosis(
    conn: &impl Conn,
    id: &str,
    encounter: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let result = encounter_diagnoses::Entity::update_many()
        .set(encounter_diagnoses::ActiveModel {
            retracted_at: Set(Some(at)),
            ..Default::default()
        })
        .filter(encounter_diagnoses::Column::Id.eq(id))
        .filter(encounter_diagnoses::Column::EncounterId.eq(encounter))
        .filter(encounter_diagnoses::Column::RetractedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn insert_note(conn: &impl Conn, row: NoteRow) -> Result<(), StoreError> {
    encounter_notes::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The notes appended to an encounter, oldest first.
pub async fn notes_of(conn: &impl Conn, encounter: &str) -> Result<Vec<NoteRow>, StoreError> {
    Ok(encounter_notes::Entity::find()
        .filter(encounter_notes::Column::EncounterId.eq(encounter))
        .order_by_asc(encounter_notes::Column::CreatedAt)
        .order_by_asc(encounter_notes::Column::Id)
        .all(conn)
        .await?)
}

pub async fn insert_vitals(conn: &impl Conn, row: VitalsRow) -> Result<(), StoreError> {
    vitals::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The patient's vitals, newest first (or only those of one encounter).
pub async fn vitals_of(
    conn: &impl Conn,
    patient: PatientId,
    encounter: Option<&str>,
    limit: u64,
) -> Result<Vec<VitalsRow>, StoreError> {
    let mut query =
        vitals::Entity::find().filter(vitals::Column::PatientId.eq(patient.to_string()));
    if let Some(encounter) = encounter {
        query = query.filter(vitals::Column::EncounterId.eq(encounter));
    }
    Ok(query
        .order_by_desc(vitals::Column::RecordedAt)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn insert_stat(conn: &impl Conn, row: DiagnosisStatRow) -> Result<(), StoreError> {
    diagnosis_stats::Entity::insert(row.into_active_model())
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

/// The diagnosis counts' rows for local days starting in `[from, to)` (micros).
pub async fn stats_between(
    conn: &impl Conn,
    from: i64,
    to: i64,
) -> Result<Vec<DiagnosisStatRow>, StoreError> {
    Ok(diagnosis_stats::Entity::find()
        .filter(diagnosis_stats::Column::RecordedDay.gte(from))
        .filter(diagnosis_stats::Column::RecordedDay.lt(to))
        .all(conn)
        .await?)
}

/// Replaces a diagnosis's sealed body (its stat id is added when the encounter is signed).
pub async fn set_diagnosis_body(
    conn: &impl Conn,
    id: &str,
    body: Vec<u8>,
) -> Result<(), StoreError> {
    encounter_diagnoses::Entity::update_many()
        .set(encounter_diagnoses::ActiveModel {
            body: Set(body),
            ..Default::default()
        })
        .filter(encounter_diagnoses::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
