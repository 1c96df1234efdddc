//! Prescriptions: a doctor in the care team prescribes from an encounter; the patient's
//! allergy list (its active entries, `allergies/`) and active prescriptions are checked
//! first, and any warning must
//! be acknowledged with a reason before the prescription is written (its audit event names
//! the kinds of warning overridden; the reason itself stays sealed in the prescription and
//! is shown to the care team and the pharmacy). The checks are also run by
//! `Services::save_encounter`, which writes a prescription with the encounter's draft.
//! Pharmacists read prescriptions (not encounters); the patient reads
//! their own; reception and auditors do not.
//!
//! The drug is chosen from the formulary (`prescriptions.drug_id`; the drug and generic names
//! are then taken from it, and dispensing accepts only that drug) or, for a drug the pharmacy
//! does not stock, typed as free text with an optional generic name, matched to a formulary
//! drug when it is dispensed. The dispensing queue (`dispensing_queue`) lists active
//! prescriptions with units left, oldest first, with what the pharmacist needs: the patient as
//! the dispensing view shows them (name, date of birth, MRN, allergies), the prescriber, and
//! the acknowledged warnings with the prescriber's reason; one `listed` event per prescription.

use crate::audit_trail::pseudonym_of;
use carevault_core::Action;
use carevault_core::audit::{AuditAction, ResourceType};
use carevault_core::clinical::{
    PrescriptionDetails, PrescriptionInput, PrescriptionStatus, duplicate_active,
};
use carevault_core::ids::DrugId;
use carevault_core::masking::{PatientField, PatientView, Visibility, visibility};
use carevault_core::patient::ClinicalText;
use carevault_core::{EncounterId, PatientId, PrescriptionId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::encounters as encounter_store;
use carevault_store::patients::PatientRow;
use carevault_store::prescriptions::{self as store, PrescriptionRecord};
use carevault_store::users;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::actor::Actor;
use crate::allergies::AllergyList;
use crate::error::ServiceError;
use crate::ids::requested_id;
use crate::sealing::Place;

mod prescribe;
mod queue;
mod status;

pub use prescribe::*;
pub use queue::*;

const TABLE: &str = "prescriptions";
const LIST_LIMIT: u64 = 500;
const MIN_ACKNOWLEDGEMENT_CHARS: usize = 10;

/// A prescription as shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PrescriptionView {
    pub id: String,
    pub patient_id: PatientId,
    pub patient_label: String,
    pub encounter_id: String,
    pub prescriber_id: UserId,
    pub prescriber_name: String,
    pub status: PrescriptionStatus,
    /// The formulary drug prescribed, if it was chosen from the formulary.
    pub drug_id: Option<String>,
    pub drug_name: String,
    pub generic_name: Option<String>,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    pub quantity_dispensed: u32,
    pub instructions: Option<String>,
    /// The warnings overridden when it was written (the care team, administrators and the
    /// pharmacy; empty for others and when there were none).
    pub warnings: Vec<PrescriptionWarning>,
    /// The prescriber's reason for overriding them (the same readers).
    pub acknowledgement: Option<String>,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether this actor may cancel or complete it.
    pub may_change: bool,
}

impl std::fmt::Debug for PrescriptionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrescriptionView")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The sealed body.
#[derive(Serialize, Deserialize)]
struct Body {
    drug_name: String,
    generic_name: Option<String>,
    dose: String,
    route: String,
    frequency: String,
    duration_days: u32,
    quantity: u32,
    instructions: Option<String>,
    warnings: Vec<PrescriptionWarning>,
    acknowledgement: Option<String>,
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

impl Services {
    /// The patient, if `actor` may read their prescriptions (the full view, the patient's
    /// own, or a pharmacist's dispensing view); otherwise the refusal, recorded.
    async fn prescription_access(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<(PatientRow, PatientView), ServiceError> {
        self.load_for_part(
            actor,
            patient,
            &[PatientView::Full, PatientView::Own, PatientView::Dispensing],
            ResourceType::Prescription,
            "prescriptions are for the care team, pharmacy and the patient",
        )
        .await
    }

    /// The patient's prescriptions, newest first, as the actor may see them. Audited.
    pub async fn list_prescriptions(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<Vec<PrescriptionView>, ServiceError> {
        let (patient, view) = self.prescription_access(actor, patient_id).await?;
        let dek = self.patient_key(&patient).await?;
        let mut out = Vec::new();
        for row in store::of_patient(self.store().conn(), patient_id, None, LIST_LIMIT).await? {
            out.push(
                self.present_prescription(actor, &row, &patient, view, &dek)
                    .await?,
            );
        }
        let mut event = self
            .audit_event(actor, AuditAction::Listed, ResourceType::Prescription)
            .resource_id(&patient.id)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} prescriptions", out.len()));
        self.record(event).await?;
        Ok(out)
    }

    /// One prescription (for its page and the printable copy). Audited.
    pub async fn get_prescription(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<PrescriptionView, ServiceError> {
        let Some(row) = self.find_prescription(id).await? else {
            let id = Some(id.to_owned());
            return Err(self
                .missing(actor, ResourceType::Prescription, id, "prescription")
                .await);
        };
        let (patient, view) = self.prescription_access(actor, row.patient_id).await?;
        let dek = self.patient_key(&patient).await?;
        let shown = self
            .present_prescription(actor, &row, &patient, view, &dek)
            .await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Prescription)
                .resource_id(row.id.to_string())
                .patient(pseudonym_of(patient.pseudonym_number)),
        )
        .await?;
        Ok(shown)
    }

    /// The prescription `id` names, if any (not authorised here).
    pub(crate) async fn find_prescription(
        &self,
        id: &str,
    ) -> Result<Option<PrescriptionRecord>, ServiceError> {
        match requested_id(id) {
            Some(id) => Ok(store::find(self.store().conn(), id).await?),
            None => Ok(None),
        }
    }

    pub(crate) async fn present_prescription(
        &self,
        actor: &Actor,
        row: &PrescriptionRecord,
        patient: &PatientRow,
        view: PatientView,
        dek: &DataKey,
    ) -> Result<PrescriptionView, ServiceError> {
        let body = open_body(row, dek)?;
        let prescriber = row.prescriber_id;
        let prescriber_name = users::find_by_id(self.store().conn(), prescriber)
            .await?
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default();
        let label = if view.shows_identity() {
            let (given, family) = crate::patients::open_names(patient, dek)?;
            format!("{given} {family}")
        } else {
            pseudonym_of(patient.pseudonym_number)
        };
        let clinical = view == PatientView::Full;
        // The pharmacist dispensing it must see what was overridden, and why.
        let sees_override = matches!(view, PatientView::Full | PatientView::Dispensing);
        Ok(PrescriptionView {
            id: row.id.to_string(),
            patient_id: row.patient_id,
            patient_label: label,
            encounter_id: row.encounter_id.to_string(),
            prescriber_id: prescriber,
            prescriber_name,
            status: row.status,
            drug_id: row.drug_id.map(|id| id.to_string()),
            drug_name: body.drug_name,
            generic_name: body.generic_name,
            dose: body.dose,
            route: body.route,
            frequency: body.frequency,
            duration_days: body.duration_days,
            quantity: body.quantity,
            quantity_dispensed: row.quantity_dispensed,
            instructions: body.instructions,
            warnings: if sees_override {
                body.warnings
            } else {
                Vec::new()
            },
            acknowledgement: body.acknowledgement.filter(|_| sees_override),
            status_reason: place(&row.id.to_string(), &row.patient_id.to_string()).open(
                dek,
                "status_reason",
                row.status_reason.as_deref(),
            )?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            may_change: clinical
                && actor.may(Action::Prescribe)
                && row.status == PrescriptionStatus::Active,
        })
    }
}

fn open_body(row: &PrescriptionRecord, dek: &DataKey) -> Result<Body, ServiceError> {
    let json = place(&row.id.to_string(), &row.patient_id.to_string())
        .open(dek, "body", Some(&row.body))?
        .ok_or(ServiceError::Integrity)?;
    serde_json::from_str(&json).map_err(|_| ServiceError::Integrity)
}
