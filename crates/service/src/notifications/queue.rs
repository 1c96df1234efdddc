//! Queueing notifications inside the caller's transaction: appointments, requests,
//! break-the-glass alerts.

use super::*;

impl Services {
    /// Queues `out` on the channels its recipient accepts, in the caller's transaction;
    /// returns the ids written (none when the recipient turned reminders off, or the alert
    /// was queued already under its dedupe key).
    pub(crate) async fn queue_in(
        &self,
        conn: &impl Conn,
        out: Outgoing<'_>,
    ) -> Result<Vec<String>, ServiceError> {
        let prefs = store::find_preferences(conn, out.recipient)
            .await?
            .unwrap_or_else(|| default_preferences(out.recipient));
        if is_reminder(out.kind) && !prefs.reminders_enabled {
            return Ok(Vec::new());
        }
        let own_patient = out
            .about
            .filter(|(patient, _)| patient.account_id == Some(out.recipient));
        // Consents (service/consents.rs): a withdrawn `appointment_reminders` stops reminders
        // on every channel, a withdrawn `email_notifications` stops e-mail; the in-app inbox
        // otherwise always gets the row. No consent recorded: the preferences decide.
        if let Some((patient, _)) = own_patient
            && is_reminder(out.kind)
            && self
                .consent_in_force(conn, patient.id, ConsentPurpose::AppointmentReminders)
                .await?
                == ConsentStatus::Withdrawn
        {
            return Ok(Vec::new());
        }
        let has_address = match own_patient {
            Some((patient, dek))
                if prefs.email_enabled
                    && self
                        .consent_in_force(conn, patient.id, ConsentPurpose::EmailNotifications)
                        .await?
                        == ConsentStatus::Granted =>
            {
                Self::patient_email(patient, dek)?.is_some()
            }
            _ => false,
        };
        let about = out.about.map(|(patient, _)| patient.id);
        let now = self.now();
        let mut ids = Vec::new();
        for channel in rules::channels(self.email_configured(), has_address) {
            let dedupe_key = out
                .dedupe_key
                .as_ref()
                .map(|key| format!("{key}:{}", channel.as_str()));
            if let Some(key) = &dedupe_key
                && store::dedupe_key_exists(conn, key).await?
            {
                continue;
            }
            let id = NotificationId::generate();
            let id_text = id.to_string();
            let (subject, body) = match out.about {
                Some((patient, dek)) => {
                    let patient_id = patient.id.to_string();
                    let at = place(&id_text, &patient_id);
                    (
                        at.seal(dek, "subject", Some(&out.text.subject))?
                            .unwrap_or_default(),
                        at.seal(dek, "body", Some(&out.text.body))?
                            .unwrap_or_default(),
                    )
                }
                None => (
                    out.text.subject.clone().into_bytes(),
                    out.text.body.clone().into_bytes(),
                ),
            };
            let delivered_now = *channel == Channel::InApp && out.deliver_at <= now;
            let row = NotificationRecord {
                id,
                recipient_user_id: out.recipient,
                patient_id: about,
                kind: out.kind,
                channel: *channel,
                subject,
                body,
                status: if delivered_now {
                    DeliveryStatus::Sent
                } else {
                    DeliveryStatus::Pending
                },
                attempts: 0,
                next_attempt_at: out.deliver_at,
                last_error: None,
                related_id: out.related_id.clone(),
                dedupe_key,
                created_at: now,
                sent_at: delivered_now.then_some(now),
                read_at: None,
            };
            store::insert(conn, &row).await?;
            ids.push(id_text);
        }
        Ok(ids)
    }

    /// Queues a notification to the patient of `patient` (their portal account); nothing if
    /// they have none.
    pub(super) async fn queue_to_patient(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
        notice: PatientNotice,
    ) -> Result<Vec<String>, ServiceError> {
        let Some(account) = patient.account_id else {
            return Ok(Vec::new());
        };
        self.queue_in(
            conn,
            Outgoing {
                kind: notice.kind,
                recipient: account,
                text: notice.text,
                related_id: notice.related_id,
                deliver_at: notice.deliver_at,
                dedupe_key: None,
                about: Some((patient, dek)),
            },
        )
        .await
    }

    /// The clinician's display name, for texts.
    async fn clinician_name(
        &self,
        conn: &impl Conn,
        clinician: Option<UserId>,
    ) -> Result<String, ServiceError> {
        let Some(id) = clinician else {
            return Ok("the hospital".to_owned());
        };
        Ok(users::find_by_id(conn, id).await?.map_or_else(
            || "your clinician".to_owned(),
            |u| u.display_name.to_string(),
        ))
    }

    /// After an appointment was booked, accepted or moved (in that transaction): withdraws
    /// its pending reminders and queues the one for its new time, and for an accepted
    /// request tells the patient.
    pub(crate) async fn queue_appointment_notifications(
        &self,
        conn: &impl Conn,
        row: &AppointmentRow,
        patient: &PatientRow,
        request_accepted: bool,
    ) -> Result<(), ServiceError> {
        Self::withdraw_reminders(conn, row).await?;
        if row.status != AppointmentStatus::Scheduled || patient.account_id.is_none() {
            return Ok(());
        }
        let dek = self.patient_key(patient).await?;
        let start = row.start_at;
        let local = start.with_timezone(&self.settings().scheduling.offset_at(start));
        let clinician = self.clinician_name(conn, row.clinician_id).await?;
        let now = self.now();
        if let Some(at) = rules::reminder_at(start, self.notification_settings().reminder_lead, now)
        {
            self.queue_to_patient(
                conn,
                patient,
                &dek,
                PatientNotice {
                    kind: NotificationKind::AppointmentReminder,
                    text: rules::appointment_reminder_text(local, None, &clinician),
                    related_id: Some(row.id.to_string()),
                    deliver_at: at,
                },
            )
            .await?;
        }
        if request_accepted {
            let text = NotificationText {
                subject: "Your appointment request was accepted".to_owned(),
                body: format!(
                    "Your appointment is booked for {} with {}.\n\
                     If you cannot come, please cancel or move it in Carevault.",
                    local.format("%A %-d %B %Y at %H:%M"),
                    one_line(&clinician)
                ),
            };
            self.queue_request_outcome(conn, patient, &dek, row, text, now)
                .await?;
        }
        Ok(())
    }

    /// Tells the patient how their appointment request `row` ended.
    async fn queue_request_outcome(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
        row: &AppointmentRow,
        text: NotificationText,
        deliver_at: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.queue_to_patient(
            conn,
            patient,
            dek,
            PatientNotice {
                kind: NotificationKind::ConsultationRequestOutcome,
                text,
                related_id: Some(row.id.to_string()),
                deliver_at,
            },
        )
        .await?;
        Ok(())
    }

    /// After an appointment stopped being scheduled (cancelled, no-show, …; in that
    /// transaction): withdraws its pending reminders, and for a declined request tells the
    /// patient.
    pub(crate) async fn appointment_ended_notifications(
        &self,
        conn: &impl Conn,
        row: &AppointmentRow,
        patient: &PatientRow,
        request_declined: bool,
    ) -> Result<(), ServiceError> {
        Self::withdraw_reminders(conn, row).await?;
        if request_declined && patient.account_id.is_some() {
            let dek = self.patient_key(patient).await?;
            let text = NotificationText {
                subject: "Your appointment request was declined".to_owned(),
                body: "The hospital could not accept your appointment request.\n\
                       The answer is in Carevault under your appointments; you may send a new \
                       request or contact the hospital."
                    .to_owned(),
            };
            self.queue_request_outcome(conn, patient, &dek, row, text, self.now())
                .await?;
        }
        Ok(())
    }

    /// Withdraws the appointment's pending reminders.
    async fn withdraw_reminders(
        conn: &impl Conn,
        row: &AppointmentRow,
    ) -> Result<(), ServiceError> {
        store::cancel_pending(
            conn,
            &row.id.to_string(),
            NotificationKind::AppointmentReminder,
        )
        .await?;
        Ok(())
    }

    /// Every active account with one of `roles`.
    pub(super) async fn active_users_with(
        &self,
        conn: &impl Conn,
        roles: &[Role],
    ) -> Result<Vec<users::UserRecord>, ServiceError> {
        Ok(users::list(conn)
            .await?
            .into_iter()
            .filter(|u| u.status == UserStatus::Active && roles.contains(&u.role))
            .collect())
    }

    /// Tells every active administrator and auditor that `actor` broke the glass on
    /// `patient` (in the grant's transaction). The text names the pseudonym, not the
    /// patient, and not the stated reason.
    pub(crate) async fn queue_break_glass_alerts(
        &self,
        conn: &impl Conn,
        actor: &Actor,
        patient: &PatientRow,
        dek: &DataKey,
        minutes: i64,
        grant_id: &str,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let local = now.with_timezone(&self.settings().scheduling.offset_at(now));
        let who = match actor.role() {
            Some(role) => format!("{} ({})", one_line(actor.display_name()), role.as_str()),
            None => one_line(actor.display_name()),
        };
        let text = NotificationText {
            subject: "Emergency access used (break the glass)".to_owned(),
            body: format!(
                "{who} used emergency access to the record of {} for {minutes} minutes, \
                 on {}.\nThe grant waits for review in the emergency access queue.",
                pseudonym_of(patient.pseudonym_number),
                local.format("%A %-d %B %Y at %H:%M")
            ),
        };
        for user in self
            .active_users_with(conn, &roles_granted(Action::ReadAuditLog))
            .await?
        {
            self.queue_in(
                conn,
                Outgoing {
                    kind: NotificationKind::BreakGlassAlert,
                    recipient: user.id,
                    text: text.clone(),
                    related_id: Some(grant_id.to_owned()),
                    deliver_at: now,
                    dedupe_key: None,
                    about: Some((patient, dek)),
                },
            )
            .await?;
        }
        Ok(())
    }
}
