//! Saving an encounter from its one form: the type, the five texts, the diagnoses, vitals
//! (optional) and a prescription (optional), and, when asked, signing it and completing its
//! appointment. Everything is validated first and then written in one transaction, or
//! nothing is written:
//!
//! - a prescription that raises a warning (a recorded allergy, an active prescription of the
//!   same drug) without an acknowledgement writes nothing; the warnings come back, so that
//!   the form can be shown again with every typed value and the acknowledgement field;
//! - a draft saved from an older version than the stored one is refused (409), as is a
//!   completion of an appointment that changed meanwhile;
//! - completing the appointment charges the visit (`billing::add_charge_in`) inside the same
//!   transaction, as completing it from the schedule does.
//!
//! Each change is its own audit event: the encounter created or updated, signed
//! (`draft → signed`), the vitals recorded, the prescription written (naming the kinds of
//! warning overridden), the appointment's status change and its charge.

use std::collections::HashMap;

use carevault_core::appointment::AppointmentStatus;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{
    EncounterAction, EncounterStatus, EncounterType, Vitals, VitalsInput, check_diagnosis_list,
};
use carevault_core::{EncounterId, PatientId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters::{self as store, EncounterRecord};
use carevault_store::patients::PatientRow;
use carevault_store::prescriptions as prescription_store;
use carevault_store::scheduling::AppointmentRow;
use chrono::{DateTime, Duration, Utc};

use super::{
    DiagnosisInput, EncounterView, changed_meanwhile, parse_diagnoses, parse_texts, seal_texts,
};
use crate::Services;
use crate::actor::Actor;
use crate::audit_trail::pseudonym_of;
use crate::error::ServiceError;
use crate::prescriptions::{Acknowledged, PrescriptionRequest, PrescriptionWarning, acknowledge};

/// The vitals fieldset of the form, as typed (blank: not measured). All blank: no reading.
#[derive(Clone, Default)]
pub struct VitalsSubmission {
    pub temperature_c: Option<String>,
    pub pulse_bpm: Option<String>,
    pub systolic_mmhg: Option<String>,
    pub diastolic_mmhg: Option<String>,
    pub respiratory_rate: Option<String>,
    pub spo2_percent: Option<String>,
    pub weight_kg: Option<String>,
    pub height_cm: Option<String>,
}

impl VitalsSubmission {
    /// The values in the form the range checks read.
    pub fn input(&self) -> VitalsInput<'_> {
        VitalsInput {
            temperature_c: self.temperature_c.as_deref(),
            pulse_bpm: self.pulse_bpm.as_deref(),
            systolic_mmhg: self.systolic_mmhg.as_deref(),
            diastolic_mmhg: self.diastolic_mmhg.as_deref(),
            respiratory_rate: self.respiratory_rate.as_deref(),
            spo2_percent: self.spo2_percent.as_deref(),
            weight_kg: self.weight_kg.as_deref(),
            height_cm: self.height_cm.as_deref(),
        }
    }

    /// Whether nothing was typed.
    pub fn is_blank(&self) -> bool {
        [
            &self.temperature_c,
            &self.pulse_bpm,
            &self.systolic_mmhg,
            &self.diastolic_mmhg,
            &self.respiratory_rate,
            &self.spo2_percent,
            &self.weight_kg,
            &self.height_cm,
        ]
        .iter()
        .all(|v| v.as_deref().is_none_or(|v| v.trim().is_empty()))
    }
}

impl std::fmt::Debug for VitalsSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VitalsSubmission(…)")
    }
}

/// Which encounter a form saves.
#[derive(Debug, Clone)]
pub enum DraftOf {
    /// A new encounter of this patient (and of this appointment, if given).
    New {
        patient_id: String,
        appointment_id: Option<String>,
    },
    /// This draft (its author only).
    Draft(String),
}

/// Everything the encounter form holds, before validation.
#[derive(Clone, Default)]
pub struct DraftSubmission {
    /// Blank: the draft's type (a new encounter: consultation).
    pub kind: Option<String>,
    /// The five texts, by name; a blank or absent text is empty.
    pub texts: HashMap<String, String>,
    /// The whole list of diagnoses (it replaces the draft's).
    pub diagnoses: Vec<DiagnosisInput>,
    /// Recorded with the save when any value is given.
    pub vitals: VitalsSubmission,
    /// Written with the save when given (its `encounter_id` is ignored).
    pub prescription: Option<PrescriptionRequest>,
    /// Sign the encounter with this save.
    pub sign: bool,
    /// With `sign`: complete the encounter's appointment (which must be in progress).
    pub complete_appointment: bool,
    /// The version (`updated_at`) the form was drawn from; an older one is refused.
    pub seen_version: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for DraftSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftSubmission")
            .field("sign", &self.sign)
            .field("complete_appointment", &self.complete_appointment)
            .finish_non_exhaustive()
    }
}

/// What saving the form did.
#[derive(Debug, Clone)]
pub enum DraftSaved {
    /// Everything was written.
    Saved {
        encounter: Box<EncounterView>,
        /// The prescription written with it.
        prescription_id: Option<String>,
        /// Whether its appointment was completed.
        completed_appointment: bool,
    },
    /// Nothing was written: the prescription raised these warnings and needs an
    /// acknowledgement (a reason); `acknowledgement_error` says what is wrong with the one
    /// given, if any.
    NeedsAcknowledgement {
        warnings: Vec<PrescriptionWarning>,
        acknowledgement_error: Option<String>,
    },
}

/// The encounter a save writes to, with what writing it needs.
struct Target {
    /// The stored draft; `None` for a new encounter.
    existing: Option<EncounterRecord>,
    patient: PatientRow,
    author: UserId,
    dek: DataKey,
    appointment: Option<AppointmentRow>,
}

/// Moves `found`'s messages under `prefix.` (`vitals.pulse_bpm`).
fn push_prefixed(errors: &mut ValidationErrors, prefix: &str, found: ValidationErrors) {
    for e in found.0 {
        errors.push(format!("{prefix}.{}", e.field), e.message);
    }
}

impl Services {
    /// Saves an encounter's form as a whole (see the module comment): validates every part,
    /// checks the prescription, then writes the encounter, its diagnoses, the vitals, the
    /// prescription, the signature and the appointment's completion in one transaction.
    pub async fn save_encounter(
        &self,
        actor: &Actor,
        of: DraftOf,
        submission: DraftSubmission,
    ) -> Result<DraftSaved, ServiceError> {
        let target = self.save_target(actor, &of, &submission).await?;
        let Target {
            existing,
            patient,
            author,
            dek,
            appointment,
        } = target;

        // Everything is validated before anything is checked against other records.
        let mut errors = ValidationErrors::new();
        let kind = match submission
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(
                existing
                    .as_ref()
                    .map_or(EncounterType::Consultation, |row| row.kind),
            ),
            Some(raw) => errors.check("kind", EncounterType::parse(raw)),
        };
        let texts = parse_texts(&mut errors, &submission.texts);
        let diagnoses = parse_diagnoses(&mut errors, "diagnoses", &submission.diagnoses);
        if let Err(message) = check_diagnosis_list(&diagnoses) {
            errors.push("diagnoses", message);
        }
        let vitals = if submission.vitals.is_blank() {
            None
        } else {
            match Vitals::parse(&submission.vitals.input()) {
                Ok(vitals) => Some(vitals),
                Err(found) => {
                    push_prefixed(&mut errors, "vitals", found);
                    None
                }
            }
        };
        let prescription = match &submission.prescription {
            None => None,
            Some(request) => match self.parse_prescription(request).await {
                Ok(parsed) => Some((parsed, request.acknowledgement.clone())),
                Err(ServiceError::Validation(found)) => {
                    push_prefixed(&mut errors, "prescription", found);
                    None
                }
                Err(other) => return Err(other),
            },
        };
        let completing = submission.sign && submission.complete_appointment;
        if completing && appointment.is_none() {
            errors.push("complete_appointment", "the encounter has no appointment");
        }
        errors.into_result()?;
        let kind = kind.unwrap_or(EncounterType::Consultation);

        // The appointment may be completed by this actor now (a refusal is recorded).
        let completion = match appointment.clone().filter(|_| completing) {
            Some(row) => {
                self.check_status_change(actor, &row, &patient, AppointmentStatus::Completed)
                    .await?;
                let note = format!("{} → {}", row.status, AppointmentStatus::Completed);
                Some(
                    self.prepare_status_change(
                        actor,
                        row,
                        &patient,
                        AppointmentStatus::Completed,
                        None,
                        note,
                    )
                    .await?,
                )
            }
            None => None,
        };

        // The encounter as it will be written.
        let now = self.stored_now();
        let mut row = match &existing {
            Some(row) => {
                let mut updated = row.clone();
                updated.updated_at = now.max(row.updated_at + Duration::microseconds(1));
                updated
            }
            None => {
                self.new_encounter_row(&patient, author, now, appointment.as_ref())
                    .await?
            }
        };
        row.kind = kind;
        if submission.sign {
            row.status = EncounterStatus::Signed;
            row.signed_at = Some(now);
        }
        seal_texts(&mut row, &dek, &texts)?;

        // The prescription: warnings without an acknowledgement stop everything here.
        let new_prescription = match prescription {
            None => None,
            Some((parsed, acknowledgement)) => {
                let warnings = self
                    .prescription_warnings(actor, &patient, &dek, &parsed)
                    .await?;
                let reason = match acknowledge(&warnings, acknowledgement.as_deref()) {
                    Acknowledged::Missing => {
                        return Ok(DraftSaved::NeedsAcknowledgement {
                            warnings,
                            acknowledgement_error: None,
                        });
                    }
                    Acknowledged::Invalid(message) => {
                        return Ok(DraftSaved::NeedsAcknowledgement {
                            warnings,
                            acknowledgement_error: Some(message),
                        });
                    }
                    Acknowledged::NotNeeded => None,
                    Acknowledged::Given(reason) => Some(reason),
                };
                Some(self.new_prescription(
                    actor, &patient, &dek, row.id, author, parsed, warnings, reason,
                )?)
            }
        };
        let vitals_row = match &vitals {
            Some(vitals) => Some(self.vitals_row(&patient, &dek, Some(row.id), author, vitals)?),
            None => None,
        };

        // The audit events, one per change.
        let mut events = vec![
            self.audit_event(
                actor,
                if existing.is_some() {
                    AuditAction::Update
                } else {
                    AuditAction::Create
                },
                ResourceType::Encounter,
            )
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number)),
        ];
        if let Some(v) = &vitals_row {
            events.push(
                self.audit_event(actor, AuditAction::Create, ResourceType::Vitals)
                    .resource_id(v.id.to_string())
                    .patient(pseudonym_of(patient.pseudonym_number)),
            );
        }
        if submission.sign {
            let mut signed = self
                .audit_event(actor, AuditAction::StatusChanged, ResourceType::Encounter)
                .resource_id(row.id.to_string())
                .patient(pseudonym_of(patient.pseudonym_number));
            signed.reason = Some("draft → signed".into());
            events.push(signed);
        }
        let counted_on = submission.sign.then(|| self.report_day(&row));

        let prescription_id = self
            .transaction(async |txn| {
                match &existing {
                    Some(stored) => {
                        if !store::update_encounter(txn, &row, stored.updated_at).await? {
                            return Err(changed_meanwhile());
                        }
                        store::delete_diagnoses_of(txn, row.id).await?;
                    }
                    None => store::insert_encounter(txn, &row).await?,
                }
                self.insert_diagnoses(txn, &row, &dek, &diagnoses, author, counted_on)
                    .await?;
                if let Some(v) = &vitals_row {
                    store::insert_vitals(txn, v).await?;
                }
                if let Some(written) = &new_prescription {
                    prescription_store::insert(txn, &written.row).await?;
                }
                let prescribed = new_prescription.iter().map(|written| &written.event);
                for event in events.iter().chain(prescribed) {
                    self.append_in(txn, event.clone()).await?;
                }
                if let Some(change) = &completion {
                    match self
                        .write_status_change_in(txn, actor, &patient, change)
                        .await?
                    {
                        crate::scheduling::StatusWrite::Written => {}
                        crate::scheduling::StatusWrite::AppointmentChanged => {
                            return Err(ServiceError::Conflict {
                                field: Some("complete_appointment"),
                                message: "the appointment was changed meanwhile: nothing was \
                                          saved; reload the page and sign again"
                                    .into(),
                            });
                        }
                        crate::scheduling::StatusWrite::InvoiceBusy => {
                            return Err(ServiceError::Conflict {
                                field: Some("complete_appointment"),
                                message: "the patient's invoice was being changed at the same \
                                          time: nothing was saved; sign again"
                                    .into(),
                            });
                        }
                    }
                }
                Ok(new_prescription.as_ref().map(|written| written.row.id))
            })
            .await?;
        if submission.sign {
            tracing::info!(encounter_id = %row.id, "encounter signed");
        }
        let encounter = self.get_encounter(actor, &row.id.to_string()).await?;
        Ok(DraftSaved::Saved {
            encounter: Box::new(encounter),
            prescription_id: prescription_id.map(|id| id.to_string()),
            completed_appointment: completion.is_some(),
        })
    }

    /// The encounter a form saves, refused (recorded) unless `actor` may write it: a draft's
    /// author (who may also sign it), or for a new one a doctor in the patient's care team.
    async fn save_target(
        &self,
        actor: &Actor,
        of: &DraftOf,
        submission: &DraftSubmission,
    ) -> Result<Target, ServiceError> {
        match of {
            DraftOf::Draft(id) => {
                let action = if submission.sign {
                    EncounterAction::Sign
                } else {
                    EncounterAction::Edit
                };
                let (row, patient, author, dek) =
                    self.encounter_for_change(actor, id, action).await?;
                if submission.seen_version.is_some_and(|seen| {
                    seen.timestamp_micros() != row.updated_at.timestamp_micros()
                }) {
                    return Err(changed_meanwhile());
                }
                let appointment = match row.appointment_id {
                    Some(id) => {
                        self.appointment_of_patient(&id.to_string(), &patient)
                            .await?
                    }
                    None => None,
                };
                Ok(Target {
                    existing: Some(row),
                    patient,
                    author,
                    dek,
                    appointment,
                })
            }
            DraftOf::New {
                patient_id,
                appointment_id,
            } => {
                let patient_id: PatientId = patient_id
                    .trim()
                    .parse()
                    .map_err(|_| ValidationErrors::single("patient_id", "is not a valid id"))?;
                let (patient, view) = self.clinical_access(actor, patient_id).await?;
                let author = self.require_encounter_writer(actor, view, &patient).await?;
                let appointment = match appointment_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    None => None,
                    Some(raw) => Some(
                        self.appointment_of_patient(raw, &patient)
                            .await?
                            .ok_or_else(|| {
                                ValidationErrors::single(
                                    "appointment_id",
                                    "is not an appointment of this patient",
                                )
                            })?,
                    ),
                };
                let dek = self.patient_key(&patient).await?;
                Ok(Target {
                    existing: None,
                    patient,
                    author,
                    dek,
                    appointment,
                })
            }
        }
    }

    /// A new draft's row for `patient` by `author`, of `appointment` and in its department
    /// when it has one (otherwise in the author's department), with no text yet.
    pub(super) async fn new_encounter_row(
        &self,
        patient: &PatientRow,
        author: UserId,
        now: DateTime<Utc>,
        appointment: Option<&AppointmentRow>,
    ) -> Result<EncounterRecord, ServiceError> {
        let (appointment_id, department) = match appointment {
            Some(a) => (Some(a.id), Some(a.department_id)),
            None => (
                None,
                carevault_store::scheduling::find_staff_profile(self.store().conn(), author)
                    .await?
                    .and_then(|p| p.department_id),
            ),
        };
        Ok(EncounterRecord {
            id: EncounterId::generate(),
            patient_id: patient.id,
            clinician_id: author,
            appointment_id,
            department_id: department,
            kind: EncounterType::Consultation,
            status: EncounterStatus::Draft,
            started_at: now,
            signed_at: None,
            chief_complaint: None,
            history: None,
            examination: None,
            assessment: None,
            plan: None,
            created_at: now,
            updated_at: now,
        })
    }
}
