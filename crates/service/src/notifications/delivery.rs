//! The delivery job: e-mail over SMTP, with retries and back-off.

use super::*;

/// Where e-mail goes out: an SMTP URL (`smtp://user:pass@host:587?tls=required`,
/// `smtps://user:pass@host:465`, or plain `smtp://host:25` on a trusted network) and the
/// sender address.
#[derive(Clone)]
pub struct SmtpSettings {
    url: SecretString,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &"(redacted)")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpSettings {
    /// Checks the URL (it must build a transport) and the sender address. The error names
    /// the option and never repeats the URL (it may hold a password).
    pub fn parse(url: &str, from: &str) -> Result<Self, String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| {
            "--smtp-url: not a valid SMTP URL (smtp://, smtps://, user:password@host:port)"
                .to_owned()
        })?;
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|_| "--smtp-from: not a valid e-mail address".to_owned())?;
        Ok(Self {
            url: SecretString::from(url.to_owned()),
            from,
        })
    }
}

/// Sends one e-mail at a time over SMTP (one connection per message; no pool).
struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub(super) fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose_secret())
                .map_err(|_| "the SMTP URL is not valid".to_owned())?
                .timeout(Some(SMTP_TIMEOUT))
                .build();
        Ok(Self {
            transport,
            from: settings.from.clone(),
        })
    }

    async fn send(
        &self,
        to: &str,
        text: &NotificationText,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let to: Mailbox = to
            .trim()
            .parse()
            .map_err(|_| "the recipient's e-mail address is not valid".to_owned())?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(text.subject.clone())
            .date(now.into())
            .header(ContentType::TEXT_PLAIN)
            .body(text.body.clone())
            .map_err(|_| "the message could not be built".to_owned())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| describe_smtp_error(&err))
    }
}

/// A fixed description of an SMTP failure: the reply code, never the server's text.
fn describe_smtp_error(err: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = err.status() {
        let kind = if err.is_transient() {
            "transient"
        } else {
            "permanent"
        };
        format!("the SMTP server refused the message ({kind} error, reply code {code})")
    } else if err.is_timeout() {
        "timed out talking to the SMTP server".to_owned()
    } else if err.is_tls() {
        "TLS error with the SMTP server".to_owned()
    } else {
        "could not talk to the SMTP server".to_owned()
    }
}

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRun {
    pub in_app_delivered: u64,
    pub emails_sent: u64,
    pub emails_retrying: u64,
    pub emails_failed: u64,
}

/// A notification to queue.
pub(crate) struct Outgoing<'a> {
    pub kind: NotificationKind,
    pub recipient: UserId,
    pub text: NotificationText,
    pub related_id: Option<String>,
    pub deliver_at: DateTime<Utc>,
    /// Without the channel: `:{channel}` is appended.
    pub dedupe_key: Option<String>,
    /// The patient it is about, and their data key (the texts are sealed with it).
    pub about: Option<(&'a PatientRow, &'a DataKey)>,
}
impl Services {
    /// Delivers what is due: in-app notifications become visible, e-mail goes out over
    /// SMTP (retried on the back-off schedule, then failed). Used by the delivery job and
    /// by tests; acts as the system.
    pub async fn deliver_due_notifications(&self) -> Result<DeliveryRun, ServiceError> {
        let mut run = DeliveryRun::default();
        let now = self.now();
        let conn = self.store().conn();
        for row in store::due(conn, Channel::InApp, now, DELIVERY_BATCH).await? {
            if store::mark_sent(conn, row.id, row.attempts, now).await? {
                run.in_app_delivered += 1;
            }
        }
        let due = store::due(conn, Channel::Email, now, DELIVERY_BATCH).await?;
        if due.is_empty() {
            return Ok(run);
        }
        let mailer = match &self.notification_settings().smtp {
            Some(settings) => SmtpMailer::new(settings),
            None => Err("e-mail is not configured".to_owned()),
        };
        for row in due {
            let outcome = match &mailer {
                Ok(mailer) => self.send_email(mailer, &row).await,
                Err(message) => Err(message.clone()),
            };
            match self.record_attempt(&row, outcome).await? {
                Some(DeliveryStatus::Sent) => run.emails_sent += 1,
                Some(DeliveryStatus::Failed) => run.emails_failed += 1,
                Some(_) => run.emails_retrying += 1,
                None => {}
            }
        }
        if run != DeliveryRun::default() {
            tracing::info!(
                in_app = run.in_app_delivered,
                sent = run.emails_sent,
                retrying = run.emails_retrying,
                failed = run.emails_failed,
                "notifications delivered"
            );
        }
        Ok(run)
    }

    /// Opens one e-mail notification and sends it.
    async fn send_email(
        &self,
        mailer: &SmtpMailer,
        row: &NotificationRecord,
    ) -> Result<(), String> {
        let opened = async {
            let patient_id = row.patient_id.ok_or(ServiceError::Integrity)?;
            let patient = patients::find(self.store().conn(), patient_id)
                .await?
                .ok_or(ServiceError::Integrity)?;
            let dek = self.patient_key(&patient).await?;
            let (row_id, patient_id) = (row.id.to_string(), patient.id.to_string());
            let at = place(&row_id, &patient_id);
            let text = NotificationText {
                subject: at
                    .open(&dek, "subject", Some(&row.subject))?
                    .ok_or(ServiceError::Integrity)?,
                body: at
                    .open(&dek, "body", Some(&row.body))?
                    .ok_or(ServiceError::Integrity)?,
            };
            let address = if patient.account_id == Some(row.recipient_user_id) {
                Self::patient_email(&patient, &dek)?
            } else {
                None
            };
            Ok::<_, ServiceError>((text, address))
        }
        .await;
        match opened {
            Ok((text, Some(address))) => mailer.send(&address, &text, self.now()).await,
            Ok((_, None)) => Err("the recipient has no e-mail address".to_owned()),
            Err(ServiceError::Integrity) => {
                Err("stored data failed its integrity check".to_owned())
            }
            Err(_) => Err("the notification could not be prepared".to_owned()),
        }
    }

    /// Records the outcome of an attempt (with its audit event, as the system): `None` if
    /// the row changed meanwhile (cancelled, or another run got there first).
    async fn record_attempt(
        &self,
        row: &NotificationRecord,
        outcome: Result<(), String>,
    ) -> Result<Option<DeliveryStatus>, ServiceError> {
        let actor = Actor::system();
        let now = self.now();
        let attempt = row.attempts.saturating_add(1);
        let (status, next, note) = match &outcome {
            Ok(()) => (DeliveryStatus::Sent, None, "e-mail sent".to_owned()),
            Err(_) => {
                let (status, next) = rules::after_failure(attempt, now);
                let note = match status {
                    DeliveryStatus::Failed => {
                        format!("e-mail failed after {attempt} attempts")
                    }
                    _ => format!(
                        "e-mail attempt {attempt} of {MAX_ATTEMPTS} failed; retry scheduled"
                    ),
                };
                (status, next, note)
            }
        };
        let patient = match row.patient_id {
            Some(id) => patients::find(self.store().conn(), id).await?,
            None => None,
        };
        let recorded = self
            .transaction_or_stop(async |txn| {
                let changed = match &outcome {
                    Ok(()) => store::mark_sent(txn, row.id, row.attempts, now).await?,
                    Err(message) => {
                        store::record_failure(
                            txn,
                            row.id,
                            row.attempts,
                            status,
                            next.unwrap_or(row.next_attempt_at),
                            message,
                        )
                        .await?
                    }
                };
                if !changed {
                    return Err(Abort::Stop(()));
                }
                if let Some(patient) = &patient {
                    let mut event = self
                        .audit_event(
                            &actor,
                            AuditAction::StatusChanged,
                            ResourceType::Notification,
                        )
                        .resource_id(row.id.to_string())
                        .patient(pseudonym_of(patient.pseudonym_number));
                    event.outcome = if outcome.is_ok() {
                        Outcome::Allowed
                    } else {
                        Outcome::Failed
                    };
                    event.reason = Some(note.clone());
                    self.append_in(txn, event).await?;
                }
                Ok(())
            })
            .await?;
        Ok(recorded.ok().map(|()| status))
    }
}
