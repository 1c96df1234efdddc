//! Follow-up reminders a clinician queues for a patient.

use super::*;

/// A follow-up reminder as submitted.
#[derive(Debug, Clone, Default)]
pub struct FollowUpInput {
    pub patient_id: String,
    /// `YYYY-MM-DD`, today or later.
    pub due: String,
}

/// A queued follow-up reminder.
#[derive(Debug, Clone)]
pub struct FollowUpQueued {
    pub patient_id: String,
    pub due: NaiveDate,
    /// The notifications written, one per channel; empty when the patient has no portal
    /// account or turned reminders off.
    pub notification_ids: Vec<String>,
}
impl Services {
    /// A doctor asks a patient in their care to book a follow-up by `due`. The reminder
    /// goes out at once (in-app, and e-mail if the patient accepts it), and is audited.
    pub async fn queue_follow_up(
        &self,
        actor: &Actor,
        input: FollowUpInput,
    ) -> Result<FollowUpQueued, ServiceError> {
        let Some(me) = actor
            .user_id()
            .filter(|_| actor.may(Action::WriteEncounters))
        else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Notification,
                    None,
                    "follow-up reminders are queued by doctors",
                )
                .await);
        };
        let mut errors = ValidationErrors::new();
        let patient_id: Option<PatientId> = match input.patient_id.trim().parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push("patient_id", "is not a valid id");
                None
            }
        };
        let due = match NaiveDate::parse_from_str(input.due.trim(), "%Y-%m-%d") {
            Ok(due) if due < self.clinic_today() => {
                errors.push("due", "must be today or later");
                None
            }
            Ok(due) => Some(due),
            Err(_) => {
                errors.push("due", "must be a date (YYYY-MM-DD)");
                None
            }
        };
        let patient = self.known_patient(&mut errors, patient_id).await?;
        errors.into_result()?;
        let (Some(patient), Some(patient_id), Some(due)) = (patient, patient_id, due) else {
            return Err(ValidationErrors::single("patient_id", "is required").into());
        };
        if !self
            .in_care_of(me, &[patient_id])
            .await?
            .contains(&patient_id)
        {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Notification,
                    Some(patient.id.to_string()),
                    "follow-ups are for patients in the doctor's care",
                )
                .await);
        }
        let dek = self.patient_key(&patient).await?;
        let text = rules::follow_up_reminder_text(due, actor.display_name());
        let ids = self
            .transaction(async |txn| {
                let ids = self
                    .queue_to_patient(
                        txn,
                        &patient,
                        &dek,
                        PatientNotice {
                            kind: NotificationKind::FollowUpReminder,
                            text: text.clone(),
                            related_id: None,
                            deliver_at: self.now(),
                        },
                    )
                    .await?;
                let mut event =
                    self.audit_event(actor, AuditAction::Create, ResourceType::Notification);
                event.resource_id = ids.first().cloned();
                event.patient_pseudonym = Some(pseudonym_of(patient.pseudonym_number));
                event.reason = Some(if ids.is_empty() {
                    "follow-up reminder not queued: no portal account or reminders turned off"
                        .into()
                } else {
                    format!("follow-up reminder queued ({} channels)", ids.len())
                });
                self.append_in(txn, event).await?;
                Ok(ids)
            })
            .await?;
        Ok(FollowUpQueued {
            patient_id: patient.id.to_string(),
            due,
            notification_ids: ids,
        })
    }
}
