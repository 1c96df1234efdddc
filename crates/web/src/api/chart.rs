//! `GET /api/v1/patients/{id}/chart`: the patient chart as JSON — the same one use case as
//! the chart page (`Services::patient_chart`: authorised once, recorded once), rendered.
//! A section the caller's view does not include is absent, and `sections` lists the ones
//! present.

use axum::Json;
use axum::extract::{Path, State};
use carevault_service::allergies::{AllergyList, AllergyStatement, AllergyView};
use carevault_service::chart::{
    AppointmentSummary, BannerAlert, BannerAllergies, CareTeamSection, EncounterSummary,
    PatientBanner, PatientChart,
};
use carevault_service::problems::ProblemView;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::billing::InvoiceSummaryRecord;
use crate::api::clinical::{PrescriptionRecord, VitalsRecord};
use crate::api::documents::DocumentRecord;
use crate::api::patients::{CareTeamMemberRecord, PatientRecord};
use crate::api::{no_such_patient, path_patient_id};
use crate::csv_export::rfc3339_utc;
use crate::extract::CurrentActor;
use crate::problem::{ApiError, Problem};

/// Whose record this is, as the caller may see it.
#[derive(Serialize, ToSchema)]
pub struct BannerRecord {
    #[schema(format = Uuid)]
    patient_id: String,
    /// The name in clear, or the pseudonym.
    #[schema(example = "John Patient")]
    name: String,
    /// Whether `name` is the pseudonym.
    pseudonymised: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "10000008")]
    mrn: Option<String>,
    /// `YYYY-MM-DD`, or the birth year, or an age band, as the caller's view allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "1978-04-12")]
    date_of_birth: Option<String>,
    /// Completed years, when the date of birth is shown in clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    age_years: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "male")]
    sex: Option<String>,
    /// `recorded`, `no_known_allergies`, `not_recorded`, or `not_shown` (the caller's view
    /// does not include allergies).
    #[schema(example = "recorded")]
    allergy_status: &'static str,
    /// The active allergies (when `recorded`).
    allergies: Vec<BannerAllergyRecord>,
    /// Alerts in force: `emergency_access`, `legal_hold`, `masked`, `status`.
    alerts: Vec<BannerAlertRecord>,
}

/// One active allergy in the banner.
#[derive(Serialize, ToSchema)]
pub struct BannerAllergyRecord {
    #[schema(example = "Penicillins")]
    substance: String,
    #[schema(example = "anaphylaxis")]
    reaction: Option<String>,
    /// `mild`, `moderate`, `severe` or `unknown`.
    #[schema(example = "severe")]
    severity: String,
    free_text: bool,
}

/// An alert in force.
#[derive(Serialize, ToSchema)]
pub struct BannerAlertRecord {
    /// `emergency_access`, `legal_hold`, `masked` or `status`.
    kind: &'static str,
    /// The caller's emergency access ends then (RFC 3339, `emergency_access` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    /// The record's status (`status` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

impl From<&PatientBanner> for BannerRecord {
    fn from(b: &PatientBanner) -> Self {
        let (allergy_status, allergies) = match &b.allergies {
            BannerAllergies::NotShown => ("not_shown", Vec::new()),
            BannerAllergies::NotRecorded => ("not_recorded", Vec::new()),
            BannerAllergies::NoKnownAllergies => ("no_known_allergies", Vec::new()),
            BannerAllergies::Recorded(list) => (
                "recorded",
                list.iter()
                    .map(|a| BannerAllergyRecord {
                        substance: a.substance.clone(),
                        reaction: a.reaction.clone(),
                        severity: a.severity.clone(),
                        free_text: a.free_text,
                    })
                    .collect(),
            ),
        };
        Self {
            patient_id: b.id.to_string(),
            name: b.name.clone(),
            pseudonymised: b.pseudonymised,
            mrn: b.mrn.clone(),
            date_of_birth: b.date_of_birth.clone(),
            age_years: b.age_years,
            sex: b.sex.clone(),
            allergy_status,
            allergies,
            alerts: b
                .alerts
                .iter()
                .map(|a| match a {
                    BannerAlert::EmergencyAccess { until } => BannerAlertRecord {
                        kind: "emergency_access",
                        until: Some(rfc3339_utc(*until)),
                        status: None,
                    },
                    BannerAlert::LegalHold => BannerAlertRecord {
                        kind: "legal_hold",
                        until: None,
                        status: None,
                    },
                    BannerAlert::Masked => BannerAlertRecord {
                        kind: "masked",
                        until: None,
                        status: None,
                    },
                    BannerAlert::Status(status) => BannerAlertRecord {
                        kind: "status",
                        until: None,
                        status: Some(status.clone()),
                    },
                })
                .collect(),
        }
    }
}

/// One allergy entry.
#[derive(Serialize, ToSchema)]
pub struct ChartAllergyRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(example = "Penicillins")]
    substance: String,
    /// The coded substance; absent for free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    free_text: bool,
    reaction: Option<String>,
    #[schema(example = "severe")]
    severity: String,
    /// `active`, `inactive` or `entered_in_error`.
    #[schema(example = "active")]
    status: String,
    recorded_by: String,
    recorded_at: String,
}

impl From<&AllergyView> for ChartAllergyRecord {
    fn from(a: &AllergyView) -> Self {
        Self {
            id: a.id.clone(),
            substance: a.substance.clone(),
            code: a.code.clone(),
            free_text: a.free_text,
            reaction: a.reaction.clone(),
            severity: a.severity.as_str().to_owned(),
            status: a.status.as_str().to_owned(),
            recorded_by: a.recorded_by.clone(),
            recorded_at: rfc3339_utc(a.recorded_at),
        }
    }
}

/// The allergy list: the statement in force and the history.
#[derive(Serialize, ToSchema)]
pub struct ChartAllergiesRecord {
    /// `recorded`, `no_known_allergies` or `not_recorded`.
    #[schema(example = "recorded")]
    status: &'static str,
    /// The active entries.
    active: Vec<ChartAllergyRecord>,
    /// Entries no longer in force (inactive, entered in error).
    history: Vec<ChartAllergyRecord>,
}

impl From<&AllergyList> for ChartAllergiesRecord {
    fn from(list: &AllergyList) -> Self {
        Self {
            status: match list.statement {
                AllergyStatement::NotRecorded => "not_recorded",
                AllergyStatement::NoKnownAllergies { .. } => "no_known_allergies",
                AllergyStatement::Allergies(_) => "recorded",
            },
            active: list.active().iter().map(Into::into).collect(),
            history: list.history.iter().map(Into::into).collect(),
        }
    }
}

/// One problem of the problem list.
#[derive(Serialize, ToSchema)]
pub struct ChartProblemRecord {
    #[schema(format = Uuid)]
    id: String,
    /// The ICD-10-CM code; absent for free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "I10")]
    code: Option<String>,
    #[schema(example = "Essential (primary) hypertension")]
    text: String,
    free_text: bool,
    /// `YYYY-MM-DD`.
    onset: Option<String>,
    /// `active` or `resolved`.
    #[schema(example = "active")]
    status: String,
    #[schema(format = Uuid)]
    encounter_id: Option<String>,
    recorded_by: String,
    recorded_at: String,
}

impl From<&ProblemView> for ChartProblemRecord {
    fn from(p: &ProblemView) -> Self {
        Self {
            id: p.id.clone(),
            code: p.code.clone(),
            text: p.text.clone(),
            free_text: p.free_text,
            onset: p.onset.map(|d| d.format("%Y-%m-%d").to_string()),
            status: p.status.as_str().to_owned(),
            encounter_id: p.encounter_id.clone(),
            recorded_by: p.recorded_by.clone(),
            recorded_at: rfc3339_utc(p.recorded_at),
        }
    }
}

/// One recent encounter.
#[derive(Serialize, ToSchema)]
pub struct ChartEncounterRecord {
    #[schema(format = Uuid)]
    id: String,
    #[schema(example = "consultation")]
    kind: String,
    /// `draft` or `signed`.
    #[schema(example = "signed")]
    status: String,
    started_at: String,
    signed_at: Option<String>,
    #[schema(example = "Dr. Sarah Smith")]
    author: String,
    /// The diagnoses in force.
    diagnoses: Vec<ChartDiagnosisRecord>,
}

/// A diagnosis of a recent encounter.
#[derive(Serialize, ToSchema)]
pub struct ChartDiagnosisRecord {
    /// Absent for free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    text: String,
}

impl From<&EncounterSummary> for ChartEncounterRecord {
    fn from(e: &EncounterSummary) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.as_str().to_owned(),
            status: e.status.as_str().to_owned(),
            started_at: rfc3339_utc(e.started_at),
            signed_at: e.signed_at.map(rfc3339_utc),
            author: e.author.clone(),
            diagnoses: e
                .diagnoses
                .iter()
                .map(|(code, text)| ChartDiagnosisRecord {
                    code: code.clone(),
                    text: text.clone(),
                })
                .collect(),
        }
    }
}

/// A triage or nursing note.
#[derive(Serialize, ToSchema)]
pub struct ChartNursingNoteRecord {
    #[schema(format = Uuid)]
    id: String,
    /// `triage` or `nursing`.
    #[schema(example = "triage")]
    kind: &'static str,
    /// A triage's Emergency Severity Index level, 1 (immediate) to 5 (non-urgent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "3")]
    acuity: Option<&'static str>,
    text: Option<String>,
    /// The vitals measured with a triage.
    #[serde(skip_serializing_if = "Option::is_none")]
    vitals: Option<VitalsRecord>,
    author: String,
    at: String,
    #[schema(format = Uuid)]
    appointment_id: Option<String>,
}

impl From<&carevault_service::nursing::NursingNoteView> for ChartNursingNoteRecord {
    fn from(n: &carevault_service::nursing::NursingNoteView) -> Self {
        Self {
            id: n.id.clone(),
            kind: if n.acuity.is_some() {
                "triage"
            } else {
                "nursing"
            },
            acuity: n.acuity.map(|a| a.as_str()),
            text: n.text.clone(),
            vitals: n.vitals.clone().map(Into::into),
            author: n.author.clone(),
            at: rfc3339_utc(n.at),
            appointment_id: n.appointment_id.clone(),
        }
    }
}

/// An appointment of the chart.
#[derive(Serialize, ToSchema)]
pub struct ChartAppointmentRecord {
    #[schema(format = Uuid)]
    id: String,
    start: String,
    end: String,
    #[schema(example = "consultation")]
    kind: String,
    #[schema(example = "scheduled")]
    status: String,
    clinician: Option<String>,
    department: String,
    /// The reason for the visit (views that show it).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<&AppointmentSummary> for ChartAppointmentRecord {
    fn from(a: &AppointmentSummary) -> Self {
        Self {
            id: a.id.clone(),
            start: rfc3339_utc(a.start),
            end: rfc3339_utc(a.end),
            kind: a.kind.clone(),
            status: a.status.clone(),
            clinician: a.clinician.clone(),
            department: a.department.clone(),
            reason: a.reason.clone(),
        }
    }
}

/// Upcoming (soonest first) and recent (latest first) appointments.
#[derive(Serialize, ToSchema)]
pub struct ChartAppointmentsRecord {
    upcoming: Vec<ChartAppointmentRecord>,
    recent: Vec<ChartAppointmentRecord>,
}

/// The care team, or what the caller may know of it.
#[derive(Serialize, ToSchema)]
pub struct ChartCareTeamRecord {
    /// The members, when the caller's view includes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<CareTeamMemberRecord>>,
    /// How many members the team has, when they are not listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_count: Option<usize>,
    /// Why the members are not listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    withheld_because: Option<String>,
}

/// A patient's chart as the caller may see it. Each section is present exactly when it is
/// named in `sections`.
#[derive(Serialize, ToSchema)]
pub struct ChartRecord {
    banner: BannerRecord,
    /// The sections present: `demographics`, `allergies`, `problems`, `medications`,
    /// `vitals`, `encounters`, `nursing`, `appointments`, `documents`, `bills`, `care_team`.
    sections: Vec<&'static str>,
    /// The record's details and contact (`demographics`).
    #[serde(skip_serializing_if = "Option::is_none")]
    patient: Option<PatientRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allergies: Option<ChartAllergiesRecord>,
    /// Active problems first, then resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<Vec<ChartProblemRecord>>,
    /// Active prescriptions, with what was dispensed.
    #[serde(skip_serializing_if = "Option::is_none")]
    medications: Option<Vec<PrescriptionRecord>>,
    /// The last readings, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    vitals: Option<Vec<VitalsRecord>>,
    /// Recent encounters, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    encounters: Option<Vec<ChartEncounterRecord>>,
    /// The latest triages and nursing notes, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    nursing: Option<Vec<ChartNursingNoteRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    appointments: Option<ChartAppointmentsRecord>,
    /// Recent documents, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    documents: Option<Vec<DocumentRecord>>,
    /// Recent bills, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    bills: Option<Vec<InvoiceSummaryRecord>>,
    care_team: ChartCareTeamRecord,
}

impl From<PatientChart> for ChartRecord {
    fn from(c: PatientChart) -> Self {
        let care_team = match c.care_team {
            CareTeamSection::Members(members) => ChartCareTeamRecord {
                members: Some(members.into_iter().map(Into::into).collect()),
                member_count: None,
                withheld_because: None,
            },
            CareTeamSection::NotShown { members, reason } => ChartCareTeamRecord {
                members: None,
                member_count: Some(members),
                withheld_because: Some(reason.to_owned()),
            },
        };
        Self {
            banner: (&c.banner).into(),
            sections: c.sections.iter().map(|s| s.as_str()).collect(),
            patient: c.details.map(Into::into),
            allergies: c.allergies.as_ref().map(Into::into),
            problems: c.problems.map(|p| p.iter().map(Into::into).collect()),
            medications: c
                .medications
                .map(|m| m.into_iter().map(Into::into).collect()),
            vitals: c
                .vitals
                .map(|v| v.readings.into_iter().map(Into::into).collect()),
            encounters: c.encounters.map(|e| e.iter().map(Into::into).collect()),
            nursing: c.nursing.map(|n| n.iter().map(Into::into).collect()),
            appointments: c.appointments.map(|a| ChartAppointmentsRecord {
                upcoming: a.upcoming.iter().map(Into::into).collect(),
                recent: a.recent.iter().map(Into::into).collect(),
            }),
            documents: c.documents.map(|d| d.into_iter().map(Into::into).collect()),
            bills: c.bills.map(|b| b.into_iter().map(Into::into).collect()),
            care_team,
        }
    }
}

/// A patient's chart.
///
/// The clinician's one screen of a patient: banner (name as the caller may see it, MRN,
/// age, date of birth, sex, allergies, alerts), problems, allergies, active medications,
/// vitals, recent encounters, appointments, documents, bills and care team — each section
/// only where the caller's view of the patient includes it (`sections` lists them). One
/// read is recorded in the audit trail, naming the sections returned.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}/chart", tag = "patients",
    params(("id" = String, Path, format = Uuid, description = "The patient's id")),
    responses(
        (status = 200, description = "The chart, with the sections the caller's view includes", body = ChartRecord),
        (status = 403, description = "The caller may not see this patient (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn chart(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<ChartRecord>, ApiError> {
    let id = path_patient_id(&id).ok_or_else(no_such_patient)?;
    let chart = state.services.patient_chart(&actor, id).await?;
    Ok(Json(chart.into()))
}

carevault_core::opaque_debug!(
    BannerRecord,
    BannerAllergyRecord,
    BannerAlertRecord,
    ChartAllergyRecord,
    ChartAllergiesRecord,
    ChartProblemRecord,
    ChartEncounterRecord,
    ChartNursingNoteRecord,
    ChartDiagnosisRecord,
    ChartAppointmentRecord,
    ChartAppointmentsRecord,
    ChartCareTeamRecord,
    ChartRecord,
);
