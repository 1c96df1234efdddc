//! The in-app inbox: a user's notifications, reading them, marking them read.

use super::*;

impl Services {
    /// Opens the texts of `rows` (those about a patient with that patient's key) and records
    /// one `read` event per patient whose notifications were shown, by `actor`.
    pub(super) async fn present(
        &self,
        actor: &Actor,
        rows: Vec<NotificationRecord>,
        open_patient_texts: bool,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        let conn = self.store().conn();
        let mut keys: BTreeMap<PatientId, (PatientRow, DataKey)> = BTreeMap::new();
        let mut shown_patients = BTreeSet::new();
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let row_id = row.id.to_string();
            let (subject, body) = match row.patient_id {
                Some(patient_id) if open_patient_texts => {
                    if let std::collections::btree_map::Entry::Vacant(entry) =
                        keys.entry(patient_id)
                    {
                        let patient = patients::find(conn, patient_id)
                            .await?
                            .ok_or(ServiceError::Integrity)?;
                        let dek = self.patient_key(&patient).await?;
                        entry.insert((patient, dek));
                    }
                    let (_, dek) = keys.get(&patient_id).ok_or(ServiceError::Integrity)?;
                    let patient_id_text = patient_id.to_string();
                    let at = place(&row_id, &patient_id_text);
                    shown_patients.insert(patient_id);
                    (
                        at.open(dek, "subject", Some(&row.subject))?,
                        at.open(dek, "body", Some(&row.body))?,
                    )
                }
                Some(_) => (None, None),
                None => (
                    Some(String::from_utf8(row.subject.clone()).map_err(integrity)?),
                    Some(String::from_utf8(row.body.clone()).map_err(integrity)?),
                ),
            };
            views.push(NotificationView {
                kind: row.kind,
                channel: row.channel,
                status: row.status,
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at,
                created_at: row.created_at,
                sent_at: row.sent_at,
                read_at: row.read_at,
                id: row_id,
                recipient_user_id: row.recipient_user_id.to_string(),
                patient_id: row.patient_id.map(|id| id.to_string()),
                subject,
                body,
                last_error: row.last_error,
                related_id: row.related_id,
            });
        }
        let events: Vec<AuditEvent> = shown_patients
            .iter()
            .filter_map(|id| keys.get(id))
            .map(|(patient, _)| {
                let mut event = self
                    .audit_event(actor, AuditAction::Read, ResourceType::Notification)
                    .patient(pseudonym_of(patient.pseudonym_number));
                event.reason = Some("notifications shown in the inbox".into());
                event
            })
            .collect();
        self.record_all(events).await?;
        Ok(views)
    }

    /// The signed-in user's delivered in-app notifications, newest first.
    pub async fn my_notifications(
        &self,
        actor: &Actor,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let rows = store::list(
            self.store().conn(),
            &NotificationFilter {
                recipient_user_id: Some(me),
                status: Some(DeliveryStatus::Sent),
                kind: None,
                channel: Some(Channel::InApp),
            },
            LIST_LIMIT,
        )
        .await?;
        self.present(actor, rows, true).await
    }

    /// Every notification addressed to the patient's portal account about their record, on
    /// every channel and in every status, newest first (texts opened; one `read` event), for
    /// the access export (`service/subject_access/`), which has authorised the actor.
    pub(crate) async fn notifications_for_access_export(
        &self,
        actor: &Actor,
        patient: &PatientRow,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        let Some(account) = patient.account_id else {
            return Ok(Vec::new());
        };
        let rows = store::list(
            self.store().conn(),
            &NotificationFilter {
                recipient_user_id: Some(account),
                ..Default::default()
            },
            LIST_LIMIT,
        )
        .await?
        .into_iter()
        .filter(|row| row.patient_id == Some(patient.id))
        .collect();
        self.present(actor, rows, true).await
    }

    /// How many of the user's delivered in-app notifications are unread.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<u64, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        Ok(store::unread_count(self.store().conn(), me).await?)
    }

    /// Marks one of the user's own notifications read. Anyone else's, or an unknown id, is
    /// refused (and recorded) alike: no existence oracle.
    pub async fn mark_notification_read(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(), ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let row = match crate::ids::requested_id::<NotificationId>(id) {
            Some(id) => store::find(self.store().conn(), id).await?,
            None => None,
        };
        let id = id.parse::<NotificationId>().ok();
        let Some(row) = row.filter(|row| row.recipient_user_id == me) else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Notification,
                    id.map(|id| id.to_string()),
                    "not the user's own notification",
                )
                .await);
        };
        if row.read_at.is_none() {
            store::mark_read(self.store().conn(), row.id, me, self.now()).await?;
        }
        Ok(())
    }
}
