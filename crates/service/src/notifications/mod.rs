//! Notifications: the outbox and the in-app inbox, the users' preferences, the
//! delivery job (e-mail over SMTP with retries and back-off) and the alerts other use cases
//! queue (appointment reminders, follow-up reminders, consultation request outcomes,
//! break-the-glass alerts, low stock and expiring batches).
//!
//! Rules (the pure ones are in `carevault_core::notification`):
//!
//! - **Queued inside the use case's transaction.** A booking and its reminder, a
//!   cancellation and the withdrawal of the reminder, a break-the-glass grant and its alerts
//!   commit together or not at all. The `queue_*` functions take the open transaction.
//! - **One row per recipient and channel.** The in-app row always; an e-mail row as well when
//!   SMTP is configured and the recipient accepts e-mail: only a patient, about their own
//!   record, who has an e-mail address in it and consented in their preferences (staff
//!   accounts carry no address). An in-app row becomes `sent` when it is due (at once, or at
//!   the reminder time); the inbox shows only sent rows.
//! - **Preferences.** `reminders_enabled = false` means no appointment or follow-up
//!   reminder at all (alerts to staff still arrive); `email_enabled = false` (the default)
//!   means in-app only. A user without a portal account (a patient never linked to one) gets
//!   nothing.
//! - **Texts.** Built by the core's text builders, which carry no clinical detail; the
//!   department is left out of reminders (its name can say something). Texts about a
//!   patient are sealed under the patient's data key; stock alerts are plain text.
//! - **Delivery.** [`Services::deliver_due_notifications`] (the job, and tests) marks due
//!   in-app rows sent and sends due e-mail rows through SMTP; a failure keeps the row
//!   pending with the next attempt on the back-off schedule (1 min, 5 min, 30 min, 2 h,
//!   12 h), then marks it failed. Every state change is a conditional update, so two runs
//!   never send one row twice, and a reminder cancelled meanwhile is not sent. The error
//!   kept for administrators is a fixed description with the SMTP reply code, never the
//!   server's text (which may echo the address).
//! - **Audit.** Queueing is part of the use case that queues (its event); a follow-up, a
//!   change of preferences, each e-mail delivery or failure about a patient (the system
//!   read the patient's address) and each inbox or outbox view are events of their own.

use carevault_core::Action;
use carevault_core::policy::roles_granted;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use crate::audit_trail::pseudonym_of;
use carevault_core::appointment::AppointmentStatus;
use carevault_core::audit::{AuditAction, AuditEvent, Outcome, ResourceType};
use carevault_core::consent::{ConsentPurpose, ConsentStatus};
use carevault_core::notification::{
    self as rules, Channel, DeliveryStatus, MAX_ATTEMPTS, NotificationKind, NotificationText,
};
use carevault_core::pharmacy::{Batch, expiring_within, reorder_needed, usable_stock};
use carevault_core::time::{from_micros, to_micros};
use carevault_core::{PatientId, Role, UserId, UserStatus, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::notifications::{
    self as store, NotificationFilter, NotificationRow, PreferencesRow,
};
use carevault_store::patients::{self, PatientRow};
use carevault_store::scheduling::AppointmentRow;
use carevault_store::{Conn, StoreError, users};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;

const TABLE: &str = "notifications";
/// The most rows one list returns.
const LIST_LIMIT: u64 = 500;
/// The most rows one delivery run handles per channel.
const DELIVERY_BATCH: u64 = 200;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(20);

// ---- settings ----

/// Tunables of notifications.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// How long before an appointment its reminder goes out (`--reminder-lead`, hours).
    pub reminder_lead: Duration,
    /// The SMTP server for e-mail (`--smtp-url`, `--smtp-from`); `None`: in-app only.
    pub smtp: Option<SmtpSettings>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            reminder_lead: Duration::hours(24),
            smtp: None,
        }
    }
}

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
    fn new(settings: &SmtpSettings) -> Result<Self, String> {
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

// ---- views ----

/// One notification as its recipient or an administrator sees it.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub id: String,
    pub recipient_user_id: String,
    /// The patient it is about, if any (an opaque id).
    pub patient_id: Option<String>,
    pub kind: NotificationKind,
    pub channel: Channel,
    pub status: DeliveryStatus,
    /// `None` in the outbox for texts about a patient (sealed; administrators manage
    /// delivery, they do not read patients' messages).
    pub subject: Option<String>,
    pub body: Option<String>,
    pub attempts: u32,
    /// When a pending notification goes out (or is tried again).
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub related_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

/// What the outbox list is narrowed to (raw values, validated by the service).
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    pub recipient_user_id: Option<String>,
}

/// A user's notification preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// Consent to e-mail (default off).
    pub email_enabled: bool,
    /// Appointment and follow-up reminders at all (default on).
    pub reminders_enabled: bool,
    /// Whether e-mail could reach this user now: SMTP configured and an address on file
    /// (patients only).
    pub email_available: bool,
}

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
    pub recipient: String,
    pub text: NotificationText,
    pub related_id: Option<String>,
    pub deliver_at: DateTime<Utc>,
    /// Without the channel: `:{channel}` is appended.
    pub dedupe_key: Option<String>,
    /// The patient it is about, and their data key (the texts are sealed with it).
    pub about: Option<(&'a PatientRow, &'a DataKey)>,
}

/// A notification to a patient about themselves.
struct PatientNotice {
    kind: NotificationKind,
    text: NotificationText,
    related_id: Option<String>,
    deliver_at: DateTime<Utc>,
}

fn place<'a>(row_id: &'a str, patient_id: &'a str) -> Place<'a> {
    Place {
        table: TABLE,
        row_id,
        patient_id,
    }
}

fn is_reminder(kind: NotificationKind) -> bool {
    matches!(
        kind,
        NotificationKind::AppointmentReminder | NotificationKind::FollowUpReminder
    )
}

/// `raw` on one line (control characters and runs of white space become one space).
fn one_line(raw: &str) -> String {
    raw.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn default_preferences(user_id: &str) -> PreferencesRow {
    PreferencesRow {
        user_id: user_id.to_owned(),
        email_enabled: false,
        reminders_enabled: true,
        updated_at: 0,
    }
}

fn integrity<E>(_: E) -> ServiceError {
    ServiceError::Integrity
}

impl Services {
    fn notification_settings(&self) -> &NotificationSettings {
        &self.settings().notifications
    }

    fn email_configured(&self) -> bool {
        self.notification_settings().smtp.is_some()
    }

    /// The patient's e-mail address, opened from their record.
    fn patient_email(patient: &PatientRow, dek: &DataKey) -> Result<Option<String>, ServiceError> {
        Ok(place(&patient.id, &patient.id)
            .open_patient(dek, "email", patient.email.as_deref())?
            .filter(|e| !e.trim().is_empty()))
    }

    // ---- queueing (inside the caller's transaction) ----

    /// Queues `out` on the channels its recipient accepts, in the caller's transaction;
    /// returns the ids written (none when the recipient turned reminders off, or the alert
    /// was queued already under its dedupe key).
    pub(crate) async fn queue_in(
        &self,
        conn: &impl Conn,
        out: Outgoing<'_>,
    ) -> Result<Vec<String>, ServiceError> {
        let prefs = store::find_preferences(conn, &out.recipient)
            .await?
            .unwrap_or_else(|| default_preferences(&out.recipient));
        if is_reminder(out.kind) && !prefs.reminders_enabled {
            return Ok(Vec::new());
        }
        let own_patient = out
            .about
            .filter(|(patient, _)| patient.account_id.as_deref() == Some(out.recipient.as_str()));
        // Consents (service/consents.rs): a withdrawn `appointment_reminders` stops reminders
        // on every channel, a withdrawn `email_notifications` stops e-mail; the in-app inbox
        // otherwise always gets the row. No consent recorded: the preferences decide.
        if let Some((patient, _)) = own_patient
            && is_reminder(out.kind)
            && self
                .consent_in_force(conn, &patient.id, ConsentPurpose::AppointmentReminders)
                .await?
                == ConsentStatus::Withdrawn
        {
            return Ok(Vec::new());
        }
        let has_address = match own_patient {
            Some((patient, dek))
                if prefs.email_enabled
                    && self
                        .consent_in_force(conn, &patient.id, ConsentPurpose::EmailNotifications)
                        .await?
                        == ConsentStatus::Granted =>
            {
                Self::patient_email(patient, dek)?.is_some()
            }
            _ => false,
        };
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
            let id = Uuid::now_v7().to_string();
            let (subject, body) = match out.about {
                Some((patient, dek)) => {
                    let at = place(&id, &patient.id);
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
            let row = NotificationRow {
                id: id.clone(),
                recipient_user_id: out.recipient.clone(),
                patient_id: out.about.map(|(patient, _)| patient.id.clone()),
                kind: out.kind.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                subject,
                body,
                status: if delivered_now {
                    DeliveryStatus::Sent
                } else {
                    DeliveryStatus::Pending
                }
                .as_str()
                .to_owned(),
                attempts: 0,
                next_attempt_at: to_micros(out.deliver_at),
                last_error: None,
                related_id: out.related_id.clone(),
                dedupe_key,
                created_at: to_micros(now),
                sent_at: delivered_now.then(|| to_micros(now)),
                read_at: None,
            };
            store::insert(conn, row).await?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// Queues a notification to the patient of `patient` (their portal account); nothing if
    /// they have none.
    async fn queue_to_patient(
        &self,
        conn: &impl Conn,
        patient: &PatientRow,
        dek: &DataKey,
        notice: PatientNotice,
    ) -> Result<Vec<String>, ServiceError> {
        let Some(account) = patient.account_id.clone() else {
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
        clinician: Option<&str>,
    ) -> Result<String, ServiceError> {
        let Some(id) = clinician.and_then(|c| c.parse::<UserId>().ok()) else {
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
        store::cancel_pending(
            conn,
            &row.id,
            NotificationKind::AppointmentReminder.as_str(),
        )
        .await?;
        if row.status != AppointmentStatus::Scheduled.as_str() || patient.account_id.is_none() {
            return Ok(());
        }
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        let start = from_micros(row.start_at);
        let local = start.with_timezone(&self.settings().scheduling.offset_at(start));
        let clinician = self
            .clinician_name(conn, row.clinician_id.as_deref())
            .await?;
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
                    related_id: Some(row.id.clone()),
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
            self.queue_to_patient(
                conn,
                patient,
                &dek,
                PatientNotice {
                    kind: NotificationKind::ConsultationRequestOutcome,
                    text,
                    related_id: Some(row.id.clone()),
                    deliver_at: now,
                },
            )
            .await?;
        }
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
        store::cancel_pending(
            conn,
            &row.id,
            NotificationKind::AppointmentReminder.as_str(),
        )
        .await?;
        if request_declined && patient.account_id.is_some() {
            let dek = self
                .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                .await?;
            let text = NotificationText {
                subject: "Your appointment request was declined".to_owned(),
                body: "The hospital could not accept your appointment request.\n\
                       The answer is in Carevault under your appointments; you may send a new \
                       request or contact the hospital."
                    .to_owned(),
            };
            self.queue_to_patient(
                conn,
                patient,
                &dek,
                PatientNotice {
                    kind: NotificationKind::ConsultationRequestOutcome,
                    text,
                    related_id: Some(row.id.clone()),
                    deliver_at: self.now(),
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Every active account with one of `roles`.
    async fn active_users_with(
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
                    recipient: user.id.to_string(),
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

    // ---- follow-ups ----

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
        let patient = match patient_id {
            Some(id) => {
                let row = patients::find(self.store().conn(), id)
                    .await?
                    .filter(|row| row.status != patients::ERASED_STATUS);
                if row.is_none() {
                    errors.push("patient_id", "is not a known patient");
                }
                row
            }
            None => None,
        };
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
                    Some(patient.id.clone()),
                    "follow-ups are for patients in the doctor's care",
                )
                .await);
        }
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
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
            patient_id: patient.id,
            due,
            notification_ids: ids,
        })
    }

    // ---- the inbox ----

    /// Opens the texts of `rows` (those about a patient with that patient's key) and records
    /// one `read` event per patient whose notifications were shown, by `actor`.
    async fn present(
        &self,
        actor: &Actor,
        rows: Vec<NotificationRow>,
        open_patient_texts: bool,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        let conn = self.store().conn();
        let mut keys: BTreeMap<String, (PatientRow, DataKey)> = BTreeMap::new();
        let mut shown_patients = BTreeSet::new();
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let (subject, body) = match &row.patient_id {
                Some(patient_id) if open_patient_texts => {
                    if !keys.contains_key(patient_id) {
                        let id: PatientId = patient_id.parse().map_err(integrity)?;
                        let patient = patients::find(conn, id)
                            .await?
                            .ok_or(ServiceError::Integrity)?;
                        let dek = self
                            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                            .await?;
                        keys.insert(patient_id.clone(), (patient, dek));
                    }
                    let (_, dek) = keys.get(patient_id).ok_or(ServiceError::Integrity)?;
                    let at = place(&row.id, patient_id);
                    shown_patients.insert(patient_id.clone());
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
                kind: NotificationKind::parse(&row.kind).map_err(integrity)?,
                channel: Channel::parse(&row.channel).map_err(integrity)?,
                status: DeliveryStatus::parse(&row.status).map_err(integrity)?,
                attempts: u32::try_from(row.attempts).unwrap_or(0),
                next_attempt_at: from_micros(row.next_attempt_at),
                created_at: from_micros(row.created_at),
                sent_at: row.sent_at.map(from_micros),
                read_at: row.read_at.map(from_micros),
                id: row.id,
                recipient_user_id: row.recipient_user_id,
                patient_id: row.patient_id,
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
                recipient_user_id: Some(me.to_string()),
                status: Some(DeliveryStatus::Sent.as_str().to_owned()),
                kind: None,
                channel: Some(Channel::InApp.as_str().to_owned()),
            },
            LIST_LIMIT,
        )
        .await?;
        self.present(actor, rows, true).await
    }

    /// Every notification addressed to the patient's portal account about their record, on
    /// every channel and in every status, newest first (texts opened; one `read` event), for
    /// the access export (`service/subject_access.rs`), which has authorised the actor.
    pub(crate) async fn notifications_for_access_export(
        &self,
        actor: &Actor,
        patient: &PatientRow,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        let Some(account) = patient.account_id.clone() else {
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
        .filter(|row| row.patient_id.as_deref() == Some(patient.id.as_str()))
        .collect();
        self.present(actor, rows, true).await
    }

    /// How many of the user's delivered in-app notifications are unread.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<u64, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        Ok(store::unread_count(self.store().conn(), &me.to_string()).await?)
    }

    /// Marks one of the user's own notifications read. Anyone else's, or an unknown id, is
    /// refused (and recorded) alike: no existence oracle.
    pub async fn mark_notification_read(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(), ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let row = match id.parse::<Uuid>() {
            Ok(_) => store::find(self.store().conn(), id).await?,
            Err(_) => None,
        };
        let Some(row) = row.filter(|row| row.recipient_user_id == me.to_string()) else {
            return Err(self
                .deny(
                    actor,
                    ResourceType::Notification,
                    id.parse::<Uuid>().ok().map(|u| u.to_string()),
                    "not the user's own notification",
                )
                .await);
        };
        if row.read_at.is_none() {
            store::mark_read(
                self.store().conn(),
                &row.id,
                &me.to_string(),
                to_micros(self.now()),
            )
            .await?;
        }
        Ok(())
    }

    // ---- the outbox ----

    /// Every notification matching `filter`, newest first, with its delivery status and
    /// last error. Administrators. Texts about a patient stay sealed here.
    pub async fn notification_outbox(
        &self,
        actor: &Actor,
        filter: OutboxFilter,
    ) -> Result<Vec<NotificationView>, ServiceError> {
        self.authorize(
            actor,
            carevault_core::Action::AdministerSystem,
            ResourceType::Notification,
        )
        .await?;
        let mut errors = ValidationErrors::new();
        let given = |raw: &Option<String>| {
            raw.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = given(&filter.status).and_then(|raw| match DeliveryStatus::parse(&raw) {
            Ok(s) => Some(s.as_str().to_owned()),
            Err(message) => {
                errors.push("status", message);
                None
            }
        });
        let kind = given(&filter.kind).and_then(|raw| match NotificationKind::parse(&raw) {
            Ok(k) => Some(k.as_str().to_owned()),
            Err(message) => {
                errors.push("kind", message);
                None
            }
        });
        let channel = given(&filter.channel).and_then(|raw| match Channel::parse(&raw) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(message) => {
                errors.push("channel", message);
                None
            }
        });
        let recipient =
            given(&filter.recipient_user_id).and_then(|raw| match raw.parse::<UserId>() {
                Ok(id) => Some(id.to_string()),
                Err(_) => {
                    errors.push("recipient", "is not a valid user id");
                    None
                }
            });
        errors.into_result()?;
        let rows = store::list(
            self.store().conn(),
            &NotificationFilter {
                recipient_user_id: recipient,
                status,
                kind,
                channel,
            },
            LIST_LIMIT,
        )
        .await?;
        let mut event = self.audit_event(actor, AuditAction::Listed, ResourceType::Notification);
        event.reason = Some("notification outbox viewed".into());
        self.record(event).await?;
        self.present(actor, rows, false).await
    }

    // ---- preferences ----

    async fn email_on_file(&self, me: UserId) -> Result<bool, ServiceError> {
        if !self.email_configured() {
            return Ok(false);
        }
        let Some(patient) = patients::find_by_account(self.store().conn(), me).await? else {
            return Ok(false);
        };
        let dek = self
            .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
            .await?;
        Ok(Self::patient_email(&patient, &dek)?.is_some())
    }

    /// The signed-in user's preferences (the defaults until they save some).
    pub async fn notification_preferences(
        &self,
        actor: &Actor,
    ) -> Result<Preferences, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let row = store::find_preferences(self.store().conn(), &me.to_string())
            .await?
            .unwrap_or_else(|| default_preferences(&me.to_string()));
        Ok(Preferences {
            email_enabled: row.email_enabled,
            reminders_enabled: row.reminders_enabled,
            email_available: self.email_on_file(me).await?,
        })
    }

    /// Saves the signed-in user's preferences (audited: e-mail is a consent).
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        email_enabled: bool,
        reminders_enabled: bool,
    ) -> Result<Preferences, ServiceError> {
        let me = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let mut event = self.audit_event(actor, AuditAction::Update, ResourceType::Notification);
        event.resource_id = Some(me.to_string());
        event.reason = Some(format!(
            "notification preferences: e-mail {}, reminders {}",
            if email_enabled { "on" } else { "off" },
            if reminders_enabled { "on" } else { "off" }
        ));
        self.transaction(async |txn| {
            store::save_preferences(
                txn,
                PreferencesRow {
                    user_id: me.to_string(),
                    email_enabled,
                    reminders_enabled,
                    updated_at: to_micros(self.now()),
                },
            )
            .await?;
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.notification_preferences(actor).await
    }

    // ---- delivery ----

    /// Delivers what is due: in-app notifications become visible, e-mail goes out over
    /// SMTP (retried on the back-off schedule, then failed). Used by the delivery job and
    /// by tests; acts as the system.
    pub async fn deliver_due_notifications(&self) -> Result<DeliveryRun, ServiceError> {
        let mut run = DeliveryRun::default();
        let now = to_micros(self.now());
        let conn = self.store().conn();
        for row in store::due(conn, Channel::InApp.as_str(), now, DELIVERY_BATCH).await? {
            if store::mark_sent(conn, &row.id, row.attempts, now).await? {
                run.in_app_delivered += 1;
            }
        }
        let due = store::due(conn, Channel::Email.as_str(), now, DELIVERY_BATCH).await?;
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
    async fn send_email(&self, mailer: &SmtpMailer, row: &NotificationRow) -> Result<(), String> {
        let opened = async {
            let patient_id: PatientId = row
                .patient_id
                .as_deref()
                .ok_or(ServiceError::Integrity)?
                .parse()
                .map_err(integrity)?;
            let patient = patients::find(self.store().conn(), patient_id)
                .await?
                .ok_or(ServiceError::Integrity)?;
            let dek = self
                .unwrap_patient_key(&patient.id, &patient.wrapped_data_key)
                .await?;
            let at = place(&row.id, &patient.id);
            let text = NotificationText {
                subject: at
                    .open(&dek, "subject", Some(&row.subject))?
                    .ok_or(ServiceError::Integrity)?,
                body: at
                    .open(&dek, "body", Some(&row.body))?
                    .ok_or(ServiceError::Integrity)?,
            };
            let address = if patient.account_id.as_deref() == Some(row.recipient_user_id.as_str()) {
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
        row: &NotificationRow,
        outcome: Result<(), String>,
    ) -> Result<Option<DeliveryStatus>, ServiceError> {
        let actor = Actor::system();
        let now = self.now();
        let attempt = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
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
        let patient = match row.patient_id.as_deref().and_then(|id| id.parse().ok()) {
            Some(id) => patients::find(self.store().conn(), id).await?,
            None => None,
        };
        let recorded = self
            .transaction_or_stop(async |txn| {
                let changed = match &outcome {
                    Ok(()) => store::mark_sent(txn, &row.id, row.attempts, to_micros(now)).await?,
                    Err(message) => {
                        store::record_failure(
                            txn,
                            &row.id,
                            row.attempts,
                            status.as_str(),
                            next.map_or(row.next_attempt_at, to_micros),
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
                        .resource_id(&row.id)
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

    // ---- stock alerts ----

    /// Queues low-stock and expiring-batch alerts to every active pharmacist and
    /// administrator, at most one per drug, kind, recipient and channel a day (dedupe
    /// keys). A job; returns how many notifications were written.
    pub async fn run_stock_alert_job(&self) -> Result<u64, ServiceError> {
        let conn = self.store().conn();
        let today = self.clinic_today();
        let window = self.settings().pharmacy.expiry_window_days;
        let recipients = self
            .active_users_with(conn, &roles_granted(Action::ManageStock))
            .await?;
        if recipients.is_empty() {
            return Ok(0);
        }
        let mut written = 0;
        for drug in carevault_store::pharmacy::list_drugs(conn, false).await? {
            let rows = carevault_store::pharmacy::batches_of_drug(conn, &drug.id).await?;
            let batches = rows
                .iter()
                .map(|row| {
                    Ok(Batch {
                        id: row,
                        expiry: NaiveDate::parse_from_str(&row.expiry_date, "%Y-%m-%d")
                            .map_err(integrity)?,
                        quantity: u32::try_from(row.quantity_on_hand).map_err(integrity)?,
                    })
                })
                .collect::<Result<Vec<_>, ServiceError>>()?;
            let name = one_line(&format!("{} {}", drug.name, drug.strength));
            let usable = usable_stock(&batches, today);
            let mut alerts = Vec::new();
            if reorder_needed(usable, u64::try_from(drug.reorder_level).unwrap_or(0)) {
                alerts.push((
                    NotificationKind::LowStock,
                    NotificationText {
                        subject: format!("Low stock: {name}"),
                        body: format!(
                            "{name}: {usable} {} usable, at or below the reorder level of {}.\n\
                             Suggested reorder quantity: {}.",
                            one_line(&drug.unit),
                            drug.reorder_level,
                            drug.reorder_quantity
                        ),
                    },
                ));
            }
            let expiring = expiring_within(&batches, today, window);
            if !expiring.is_empty() {
                let lines: Vec<String> = expiring
                    .iter()
                    .map(|b| {
                        format!(
                            "batch {}: {} {} expiring on {}",
                            one_line(&b.id.batch_number),
                            b.quantity,
                            one_line(&drug.unit),
                            b.expiry
                        )
                    })
                    .collect();
                alerts.push((
                    NotificationKind::ExpiringBatch,
                    NotificationText {
                        subject: format!("Batches expiring soon: {name}"),
                        body: format!(
                            "{name} has batches expiring within {window} days:\n{}",
                            lines.join("\n")
                        ),
                    },
                ));
            }
            for (kind, text) in alerts {
                for user in &recipients {
                    let key = format!("{}:{}:{today}:{}", kind.as_str(), drug.id, user.id);
                    written += self
                        .queue_alert_once(Outgoing {
                            kind,
                            recipient: user.id.to_string(),
                            text: text.clone(),
                            related_id: Some(drug.id.clone()),
                            deliver_at: self.now(),
                            dedupe_key: Some(key),
                            about: None,
                        })
                        .await?;
                }
            }
        }
        if written > 0 {
            tracing::info!(notifications = written, "stock alerts queued");
        }
        Ok(written)
    }

    /// Queues an alert in its own transaction; a concurrent run that queued it first (the
    /// dedupe key's unique index) is not an error.
    async fn queue_alert_once(&self, out: Outgoing<'_>) -> Result<u64, ServiceError> {
        let queued = self
            .transaction_once(async |txn| match self.queue_in(txn, out).await {
                Ok(ids) => Ok(ids.len() as u64),
                Err(ServiceError::Internal(err))
                    if matches!(
                        err.downcast_ref::<StoreError>(),
                        Some(StoreError::UniqueViolation(_))
                    ) =>
                {
                    Err(Abort::Stop(()))
                }
                Err(err) => Err(Abort::Fail(err)),
            })
            .await;
        match queued {
            Ok(written) => Ok(written),
            Err(Abort::Stop(())) => Ok(0),
            Err(Abort::Fail(err)) => Err(err),
        }
    }
}

impl Place<'_> {
    /// Opens a column of the `patients` row itself (its place is the patient's own row).
    fn open_patient(
        &self,
        dek: &DataKey,
        column: &str,
        sealed: Option<&[u8]>,
    ) -> Result<Option<String>, ServiceError> {
        Place {
            table: "patients",
            row_id: self.row_id,
            patient_id: self.patient_id,
        }
        .open(dek, column, sealed)
    }
}
