//! Changing a prescription's status.

use super::*;

impl Services {
    /// Completes or cancels an active prescription (a doctor in the care team); cancelling
    /// needs a reason.
    pub async fn change_prescription_status(
        &self,
        actor: &Actor,
        id: &str,
        to_raw: &str,
        reason: Option<&str>,
    ) -> Result<PrescriptionView, ServiceError> {
        if !actor.may(Action::Prescribe) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(id.to_owned()),
                    "prescriptions are changed by doctors in the care team",
                )
                .await);
        }
        let to =
            PrescriptionStatus::parse(to_raw).map_err(|m| ValidationErrors::single("status", m))?;
        let row = self
            .find_prescription(id)
            .await?
            .ok_or(ServiceError::NotFound("prescription"))?;
        let (patient, view) = self.prescription_access(actor, row.patient_id).await?;
        if !(view == PatientView::Full && actor.may(Action::Prescribe)) {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Prescription,
                    Some(row.id.to_string()),
                    "prescriptions are changed by doctors in the care team",
                )
                .await);
        }
        let from = row.status;
        from.transition_to(to).map_err(|e| ServiceError::Conflict {
            field: Some("status"),
            message: e.to_string(),
        })?;
        let reason = match (to, reason.map(str::trim).filter(|s| !s.is_empty())) {
            (PrescriptionStatus::Cancelled, None) => {
                return Err(ValidationErrors::single("reason", "is required to cancel").into());
            }
            (_, Some(text)) => Some(
                ClinicalText::parse(text)
                    .map_err(|m| ValidationErrors::single("reason", m))?
                    .as_str()
                    .to_owned(),
            ),
            (_, None) => None,
        };
        let dek = self.patient_key(&patient).await?;
        let sealed = place(&row.id.to_string(), &row.patient_id.to_string()).seal(
            &dek,
            "status_reason",
            reason.as_deref(),
        )?;
        let mut event = self
            .audit_event(
                actor,
                AuditAction::StatusChanged,
                ResourceType::Prescription,
            )
            .resource_id(row.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{from} → {to}"));
        self.transaction(async |txn| {
            if !store::set_status(
                txn,
                row.id,
                from,
                to,
                sealed.clone(),
                self.stored_now()
                    .max(row.updated_at + Duration::microseconds(1)),
            )
            .await?
            {
                return Err(ServiceError::Conflict {
                    field: Some("status"),
                    message: "the prescription was changed meanwhile: reload it".into(),
                });
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.get_prescription(actor, id).await
    }
}
