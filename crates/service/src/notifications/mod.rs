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
use carevault_core::{NotificationId, PatientId, Role, UserId, UserStatus, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::notifications::{
    self as store, NotificationFilter, NotificationRecord, PreferencesRecord,
};
use carevault_store::patients::{self, PatientRow};
use carevault_store::scheduling::AppointmentRow;
use carevault_store::{Conn, StoreError, users};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::sealing::Place;
use crate::tx::Abort;

mod delivery;
mod follow_ups;
mod inbox;
mod outbox;
mod preferences;
mod queue;
mod stock_alerts;

pub use delivery::*;
pub use follow_ups::*;
pub use outbox::*;
pub use preferences::*;

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
        let id = patient.id.to_string();
        Ok(place(&id, &id)
            .open_patient(dek, "email", patient.email.as_deref())?
            .filter(|e| !e.trim().is_empty()))
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
