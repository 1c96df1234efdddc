//! The medical record summary.

use super::*;

/// The printable medical record summary of one patient.
#[derive(Debug, Clone)]
pub struct MedicalSummary {
    /// Demographics as the viewer may see them.
    pub patient: crate::patients::PatientDetails,
    /// The current diagnoses of signed encounters, newest first, each once.
    pub problems: Vec<DiagnosisView>,
    /// Signed encounters, newest first.
    pub encounters: Vec<EncounterView>,
    pub prescriptions: Vec<crate::prescriptions::PrescriptionView>,
    /// The latest vitals, newest first (at most [`SUMMARY_VITALS`]), flagged.
    pub vitals: Vec<VitalsView>,
    pub printed_at: DateTime<Utc>,
}

/// How many sets of vitals the medical record summary shows.
pub const SUMMARY_VITALS: usize = 10;

impl Services {
    /// The medical record summary (demographics as the viewer may see them, problem list,
    /// signed encounters, prescriptions, allergies) for a print view or PDF. The care team,
    /// administrators and the patient themselves; recorded as a `print` of the record.
    pub async fn medical_record_summary(
        &self,
        actor: &Actor,
        patient_id: PatientId,
    ) -> Result<MedicalSummary, ServiceError> {
        let (patient_row, _) = self.clinical_access(actor, patient_id).await?;
        let patient = self.get_patient(actor, patient_id).await?;
        let encounters: Vec<EncounterView> = self
            .list_encounters(actor, patient_id)
            .await?
            .into_iter()
            .filter(|e| e.status == EncounterStatus::Signed)
            .collect();
        let mut problems: Vec<DiagnosisView> = Vec::new();
        for encounter in &encounters {
            for d in encounter
                .diagnoses
                .iter()
                .filter(|d| d.retracted_at.is_none())
            {
                let same = |p: &DiagnosisView| match (&p.code, &d.code) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => p.text.eq_ignore_ascii_case(&d.text),
                    _ => false,
                };
                if !problems.iter().any(same) {
                    problems.push(d.clone());
                }
            }
        }
        let prescriptions = self.list_prescriptions(actor, patient_id).await?;
        let mut vitals = self.list_vitals(actor, patient_id).await?;
        vitals.truncate(SUMMARY_VITALS);
        let mut event = self
            .audit_event(actor, AuditAction::Print, ResourceType::Patient)
            .resource_id(&patient_row.id)
            .patient(pseudonym_of(patient_row.pseudonym_number));
        event.reason = Some("medical record summary".into());
        self.record(event).await?;
        Ok(MedicalSummary {
            patient,
            problems,
            encounters,
            prescriptions,
            vitals,
            printed_at: self.now(),
        })
    }
}
