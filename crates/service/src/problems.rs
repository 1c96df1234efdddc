//! The problem list: a patient's conditions (ICD-10-CM coded or flagged free text), added
//! from an encounter's diagnoses or directly by a doctor of the care team; sealed.
//!
//! Rules (the pure parts are in `carevault_core::problem`):
//!
//! - **Who.** Whoever gets the full or own view reads it (administrators, the care team,
//!   the patient); doctors in the patient's care add problems, resolve and reactivate them
//!   (`chart_list_allowed`, asked once per use case in `chart_lists.rs`). Everyone else is
//!   refused, and the refusal recorded.
//! - **From a diagnosis** (`add_problem_from_diagnosis`): the diagnosis's code or free
//!   text, onset the encounter's date (in the clinic's time zone), and the source encounter
//!   and diagnosis kept in clear. A retracted diagnosis is refused.
//! - **No duplicates.** A problem whose ICD-10 code is already on the active list is
//!   refused (409), and so is a diagnosis already added and still active. The check runs
//!   after the patient row is locked, so two doctors adding the same code at once cannot
//!   both succeed.
//! - **Sealed.** Code, text, free-text flag and onset are one JSON body under the patient's
//!   data key.

use carevault_core::allergy::ChartListAction;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{DiagnosisCode, DiagnosisText};
use carevault_core::problem::{Condition, ProblemFields, ProblemInput, ProblemStatus};
use carevault_core::{DiagnosisId, EncounterId, PatientId, ProblemId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::Conn;
use carevault_store::encounters as encounter_store;
use carevault_store::patients::{self as patient_store, PatientRow};
use carevault_store::problems::{self as store, ProblemRecord};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::chart_lists::{AccountNames, status_conflict};
use crate::error::ServiceError;
use crate::ids::requested_id;
use crate::sealing::Place;

const TABLE: &str = "patient_problems";

/// One problem, opened.
#[derive(Clone, PartialEq, Eq)]
pub struct ProblemView {
    pub id: String,
    /// The ICD-10-CM code; `None` for free text.
    pub code: Option<String>,
    /// The code's title, or the free text.
    pub text: String,
    pub free_text: bool,
    pub onset: Option<NaiveDate>,
    pub status: ProblemStatus,
    /// The encounter whose diagnosis it came from, if any.
    pub encounter_id: Option<String>,
    /// Display name of whoever recorded it.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub patient_id: PatientId,
    /// The diagnosis it came from, if any.
    pub diagnosis_id: Option<String>,
    /// Who last resolved or reactivated it (`None`: never changed).
    pub updated_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for ProblemView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProblemView")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A patient's problem list as a page or the API shows it.
#[derive(Clone)]
pub struct PatientProblems {
    pub patient_id: PatientId,
    /// The patient's name (or pseudonym, where the view shows no identity).
    pub patient_label: String,
    /// Active first, then resolved; newest first within each.
    pub problems: Vec<ProblemView>,
    /// Whether the actor may add, resolve and reactivate problems (for the forms).
    pub may_manage: bool,
}

impl std::fmt::Debug for PatientProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientProblems")
            .field("patient_id", &self.patient_id)
            .field("problems", &self.problems.len())
            .finish_non_exhaustive()
    }
}

/// A problem as submitted, before validation. Its `Debug` output shows no value.
#[derive(Clone, Default)]
pub struct ProblemRequest {
    pub code: Option<String>,
    pub text: Option<String>,
    pub free_text: bool,
    /// `YYYY-MM-DD`; blank: not known.
    pub onset: Option<String>,
    /// Blank: active.
    pub status: String,
}

impl std::fmt::Debug for ProblemRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProblemRequest")
            .field("free_text", &self.free_text)
            .finish_non_exhaustive()
    }
}

/// The sealed body.
#[derive(Serialize, Deserialize)]
struct Body {
    code: Option<String>,
    text: String,
    free_text: bool,
    /// `YYYY-MM-DD`.
    onset: Option<String>,
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

fn open_body(row: &ProblemRecord, dek: &DataKey) -> Result<Body, ServiceError> {
    let json = place(&row.id.to_string(), &row.patient_id.to_string())
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)
}

fn open_problem(
    row: &ProblemRecord,
    dek: &DataKey,
    names: &AccountNames,
) -> Result<ProblemView, ServiceError> {
    let body = open_body(row, dek)?;
    let onset = body
        .onset
        .as_deref()
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ServiceError::Integrity))
        .transpose()?;
    Ok(ProblemView {
        id: row.id.to_string(),
        code: body.code,
        text: body.text,
        free_text: body.free_text,
        onset,
        status: row.status,
        encounter_id: row.source_encounter_id.map(|id| id.to_string()),
        recorded_by: names.of(row.recorded_by),
        recorded_at: row.recorded_at,
        patient_id: row.patient_id,
        diagnosis_id: row.source_diagnosis_id.map(|id| id.to_string()),
        updated_by: row.updated_by.map(|id| names.of(id)),
        updated_at: row.updated_at,
    })
}

/// Active first, then resolved; newest first within each.
fn sort_problems(problems: &mut [ProblemView]) {
    problems.sort_by(|a, b| {
        let rank = |p: &ProblemView| u8::from(p.status != ProblemStatus::Active);
        rank(a)
            .cmp(&rank(b))
            .then((b.recorded_at, &b.id).cmp(&(a.recorded_at, &a.id)))
    });
}

fn duplicate(message: &str) -> ServiceError {
    ServiceError::Conflict {
        field: Some("code"),
        message: message.to_owned(),
    }
}

impl Services {
    /// The problem list of `patient` (active first, then resolved; newest first within
    /// each), opened with its data key. Not authorised and not audited here: the calling use
    /// case has done both for the patient.
    pub(crate) async fn problems_of(
        &self,
        patient: &PatientRow,
        dek: &DataKey,
    ) -> Result<Vec<ProblemView>, ServiceError> {
        let names = self.account_names().await?;
        let mut problems = store::of_patient(self.store().conn(), patient.id)
            .await?
            .iter()
            .map(|row| open_problem(row, dek, &names))
            .collect::<Result<Vec<_>, _>>()?;
        sort_problems(&mut problems);
        Ok(problems)
    }

    /// The patient's problem list (administrators, the care team, the patient), with whether
    /// the actor may change it. One `listed` event.
    pub async fn list_problems(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<PatientProblems, ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::Read,
                ResourceType::Problem,
            )
            .await?;
        let patient = &access.patient;
        let dek = self.patient_key(patient).await?;
        let opened = match self.problems_of(patient, &dek).await {
            Ok(problems) => crate::patients::open_names(patient, &dek)
                .map(|(given, family)| (problems, format!("{given} {family}"))),
            Err(err) => Err(err),
        };
        let (problems, patient_label) = match opened {
            Ok(found) => found,
            Err(ServiceError::Integrity) => {
                return Err(self
                    .chart_list_integrity_failure(actor, ResourceType::Problem, patient)
                    .await);
            }
            Err(other) => return Err(other),
        };
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Problem)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} problems", problems.len()));
        self.record(event).await?;
        Ok(PatientProblems {
            patient_id,
            patient_label,
            may_manage: access.allows(actor, ChartListAction::WriteProblems),
            problems,
        })
    }

    /// The active problems' codes and source diagnoses (inside the caller's transaction).
    async fn active_problem_keys(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
    ) -> Result<(Vec<String>, Vec<DiagnosisId>), ServiceError> {
        let mut codes = Vec::new();
        let mut diagnoses = Vec::new();
        for row in store::of_patient(conn, patient.id).await? {
            if row.status != ProblemStatus::Active {
                continue;
            }
            if let Some(code) = open_body(&row, dek)?.code {
                codes.push(code);
            }
            diagnoses.extend(row.source_diagnosis_id);
        }
        Ok((codes, diagnoses))
    }

    /// Writes a new problem for `patient`, unless its code (or source diagnosis) is already
    /// on the active list: one transaction, the patient row locked first, with its event.
    async fn insert_problem(
        &self,
        actor: &Actor,
        patient: &PatientRow,
        input: &ProblemInput,
        source: Option<(EncounterId, DiagnosisId)>,
        reason: Option<&str>,
    ) -> Result<ProblemView, ServiceError> {
        let by = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let dek = self.patient_key(patient).await?;
        let condition = input.condition();
        let body = Body {
            code: condition.code().map(|c| c.as_str().to_owned()),
            text: condition.text(),
            free_text: condition.is_free_text(),
            onset: input.onset().map(|d| d.format("%Y-%m-%d").to_string()),
        };
        let json = serde_json::to_string(&body).map_err(ServiceError::internal)?;
        let id = ProblemId::generate();
        let now = self.stored_now();
        let row = ProblemRecord {
            id,
            patient_id: patient.id,
            status: input.status(),
            body: place(&id.to_string(), &patient.id.to_string())
                .seal(&dek, "body", Some(&json))?
                .unwrap_or_default(),
            source_encounter_id: source.map(|(encounter, _)| encounter),
            source_diagnosis_id: source.map(|(_, diagnosis)| diagnosis),
            recorded_by: by,
            recorded_at: now,
            updated_by: None,
            updated_at: now,
        };
        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Problem)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = reason.map(str::to_owned);
        self.transaction(async |txn| {
            patient_store::lock_row(txn, patient.id).await?;
            if input.status() == ProblemStatus::Active {
                let (codes, diagnoses) = self.active_problem_keys(txn, patient, &dek).await?;
                if body.code.as_ref().is_some_and(|code| codes.contains(code)) {
                    return Err(duplicate(
                        "this code is already on the patient's active problem list",
                    ));
                }
                if source.is_some_and(|(_, diagnosis)| diagnoses.contains(&diagnosis)) {
                    return Err(duplicate(
                        "this diagnosis is already on the patient's active problem list",
                    ));
                }
            }
            store::insert(txn, &row).await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        open_problem(&row, &dek, &self.account_names().await?)
    }

    /// Adds a problem (doctors in the patient's care): an ICD-10-CM code from the bundled
    /// list or flagged free text, an optional onset (not in the future), active or resolved.
    /// A code already on the active list is refused (409). One `create` event.
    pub async fn add_problem(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        request: ProblemRequest,
    ) -> Result<ProblemView, ServiceError> {
        let access = self
            .chart_list_access(
                actor,
                patient_id,
                ChartListAction::WriteProblems,
                ResourceType::Problem,
            )
            .await?;
        let input = ProblemInput::parse(
            &ProblemFields {
                code: request.code.as_deref(),
                text: request.text.as_deref(),
                free_text: request.free_text,
                onset: request.onset.as_deref(),
                status: &request.status,
            },
            self.clinic_today(),
        )?;
        self.insert_problem(actor, &access.patient, &input, None, None)
            .await
    }

    /// Adds an encounter's diagnosis to the patient's problem list in one call (doctors in
    /// the patient's care): its code or free text, onset the encounter's date, the source
    /// kept. Refused (409) when the diagnosis was retracted, or its code or itself is already
    /// on the active list. One `create` event.
    pub async fn add_problem_from_diagnosis(
        &self,
        actor: &Actor,
        encounter_id: &str,
        diagnosis_id: &str,
    ) -> Result<ProblemView, ServiceError> {
        self.problem_from_diagnosis(actor, None, encounter_id, diagnosis_id)
            .await
    }

    /// [`Services::add_problem_from_diagnosis`] for a route that names the patient: an
    /// encounter of another patient is not found.
    pub async fn add_patient_problem_from_diagnosis(
        &self,
        actor: &Actor,
        patient_id: PatientId,
        encounter_id: &str,
        diagnosis_id: &str,
    ) -> Result<ProblemView, ServiceError> {
        self.problem_from_diagnosis(actor, Some(patient_id), encounter_id, diagnosis_id)
            .await
    }

    async fn problem_from_diagnosis(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
        encounter_id: &str,
        diagnosis_id: &str,
    ) -> Result<ProblemView, ServiceError> {
        let encounter = match requested_id(encounter_id.trim()) {
            Some(id) => encounter_store::find_encounter(self.store().conn(), id).await?,
            None => None,
        }
        .filter(|e| patient.is_none_or(|p| p == e.patient_id))
        .ok_or(ServiceError::NotFound("encounter"))?;
        let access = self
            .chart_list_access(
                actor,
                encounter.patient_id,
                ChartListAction::WriteProblems,
                ResourceType::Problem,
            )
            .await?;
        let diagnosis = encounter_store::diagnoses_of(self.store().conn(), encounter.id)
            .await?
            .into_iter()
            .find(|d| d.id.to_string() == diagnosis_id.trim())
            .ok_or(ServiceError::NotFound("diagnosis"))?;
        if diagnosis.retracted_at.is_some() {
            return Err(ServiceError::Conflict {
                field: None,
                message: "the diagnosis was retracted by an amendment: it is not added".into(),
            });
        }
        // A draft's diagnoses are replaced at every save: only a signed encounter's stay, so
        // only they go onto the problem list (with their source).
        if encounter.status != carevault_core::clinical::EncounterStatus::Signed {
            return Err(ServiceError::Conflict {
                field: Some("encounter_status"),
                message: "the encounter is still a draft: sign it first, then add its diagnoses \
                          to the problem list"
                    .into(),
            });
        }
        let patient = &access.patient;
        let dek = self.patient_key(patient).await?;
        let (code, text) = match crate::encounters::open_diagnosis_body(&diagnosis, &dek) {
            Ok(opened) => opened,
            Err(ServiceError::Integrity) => {
                return Err(self
                    .chart_list_integrity_failure(actor, ResourceType::Problem, patient)
                    .await);
            }
            Err(other) => return Err(other),
        };
        let condition = match code {
            Some(code) => {
                Condition::Coded(DiagnosisCode::parse(&code).map_err(|_| ServiceError::Integrity)?)
            }
            None => Condition::FreeText(
                DiagnosisText::parse(&text).map_err(|_| ServiceError::Integrity)?,
            ),
        };
        let settings = &self.settings().scheduling;
        let onset = settings.local_date(encounter.started_at);
        let input = ProblemInput::from_condition(condition, Some(onset));
        self.insert_problem(
            actor,
            patient,
            &input,
            Some((encounter.id, diagnosis.id)),
            Some("from an encounter's diagnosis"),
        )
        .await
    }

    /// Resolves or reactivates a problem (doctors in the patient's care). Reactivating one
    /// whose code is active again on another problem is refused (409). With `patient`, a
    /// problem of another patient is not found. One `status_changed` event.
    pub async fn change_problem_status(
        &self,
        actor: &Actor,
        patient: Option<PatientId>,
        problem_id: &str,
        status: &str,
    ) -> Result<ProblemView, ServiceError> {
        let (row, access, by) = self
            .entry_for_change::<ProblemRecord>(actor, problem_id, patient)
            .await?;
        let to = ProblemStatus::parse(status).map_err(|m| ValidationErrors::single("status", m))?;
        let from = row.status;
        from.check_change(to).map_err(status_conflict)?;
        let patient = &access.patient;
        let dek = self.patient_key(patient).await?;
        let code = open_body(&row, &dek)?.code;
        let mut event = self
            .audit_event(actor, AuditAction::StatusChanged, ResourceType::Problem)
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{from} → {to}"));
        self.transaction(async |txn| {
            patient_store::lock_row(txn, patient.id).await?;
            if to == ProblemStatus::Active {
                let (codes, _) = self.active_problem_keys(txn, patient, &dek).await?;
                if code.as_ref().is_some_and(|code| codes.contains(code)) {
                    return Err(duplicate(
                        "this code is already on the patient's active problem list",
                    ));
                }
            }
            if !store::set_status(
                txn,
                row.id,
                from,
                to,
                by,
                self.stored_now()
                    .max(row.updated_at + Duration::microseconds(1)),
            )
            .await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the problem was changed meanwhile: reload it".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        let changed = store::find(self.store().conn(), row.id)
            .await?
            .ok_or(ServiceError::NotFound("problem"))?;
        open_problem(&changed, &dek, &self.account_names().await?)
    }
}
