//! Consent records (GDPR Art. 7): the purposes a patient consents to, and whether a
//! consent stands granted or withdrawn.
//!
//! Decisions recorded here:
//!
//! - **History, not state.** Every change is a new record; the consent in force for a
//!   purpose is the latest record for it ([`current`]). Nothing is ever overwritten, so the
//!   record shows who recorded what and when (a consent is a legal fact).
//! - **Defaults without a record** ([`ConsentPurpose::default_status`]): the purposes that
//!   the existing notification preferences already govern keep their behaviour until the
//!   patient says otherwise — appointment reminders are on (as `reminders_enabled`
//!   defaults to on), e-mail notifications follow the preference (off unless turned on).
//!   Research and data sharing need a positive consent: no record means withdrawn.
//! - **SMS** is recorded for completeness; Carevault sends no SMS today.

use std::fmt;

use chrono::{DateTime, Utc};

text_choice!(
    /// What a consent is for.
    ConsentPurpose, "the consent purposes" {
        /// Notifications by e-mail (the in-app inbox is part of the service and always on).
        EmailNotifications => "email_notifications",
        /// Notifications by SMS (not sent by Carevault today; recorded for the record).
        SmsNotifications => "sms_notifications",
        /// Appointment and follow-up reminders.
        AppointmentReminders => "appointment_reminders",
        /// Use of the de-identified record in research.
        Research => "research",
        /// Sharing the record with other providers.
        DataSharing => "data_sharing",
    }
);

text_choice!(
    /// Whether a consent is given.
    ConsentStatus, "granted or withdrawn" {
        Granted => "granted" | "grant" | "yes",
        Withdrawn => "withdrawn" | "withdraw" | "no",
    }
);

impl ConsentPurpose {
    /// What the purpose means, for pages and the records of processing.
    pub fn description(self) -> &'static str {
        match self {
            ConsentPurpose::EmailNotifications => {
                "Notifications by e-mail (appointment reminders, request outcomes)"
            }
            ConsentPurpose::SmsNotifications => {
                "Notifications by SMS (recorded only; no SMS is sent today)"
            }
            ConsentPurpose::AppointmentReminders => "Appointment and follow-up reminders",
            ConsentPurpose::Research => "Use of de-identified data in research",
            ConsentPurpose::DataSharing => "Sharing the record with other care providers",
        }
    }

    /// The status that applies while no consent has been recorded for the purpose. For
    /// e-mail, `Granted` only means "not withdrawn": the patient's notification preference
    /// must still turn e-mail on.
    pub fn default_status(self) -> ConsentStatus {
        match self {
            ConsentPurpose::EmailNotifications
            | ConsentPurpose::SmsNotifications
            | ConsentPurpose::AppointmentReminders => ConsentStatus::Granted,
            ConsentPurpose::Research | ConsentPurpose::DataSharing => ConsentStatus::Withdrawn,
        }
    }
}

/// One consent record as far as the rules care: its purpose, status and when it was
/// recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConsentEntry {
    pub purpose: ConsentPurpose,
    pub status: ConsentStatus,
    pub recorded_at: DateTime<Utc>,
}

impl fmt::Debug for ConsentEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}@{}",
            self.purpose,
            self.status,
            self.recorded_at.timestamp_micros()
        )
    }
}

/// The status in force for `purpose`: the latest record's (on a tie, the one earlier in
/// `history`, which callers pass newest first), or the purpose's default.
pub fn current(history: &[ConsentEntry], purpose: ConsentPurpose) -> ConsentStatus {
    history
        .iter()
        .filter(|e| e.purpose == purpose)
        .fold(None::<&ConsentEntry>, |best, e| match best {
            Some(b) if b.recorded_at >= e.recorded_at => Some(b),
            _ => Some(e),
        })
        .map_or_else(|| purpose.default_status(), |e| e.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(purpose: ConsentPurpose, status: ConsentStatus, at: i64) -> ConsentEntry {
        ConsentEntry {
            purpose,
            status,
            recorded_at: crate::time::from_micros(at),
        }
    }

    #[test]
    fn the_latest_record_wins_and_defaults_apply_without_one() {
        use ConsentPurpose::*;
        use ConsentStatus::*;
        let history = [
            entry(AppointmentReminders, Withdrawn, 10),
            entry(AppointmentReminders, Granted, 30),
            entry(Research, Granted, 5),
            entry(AppointmentReminders, Withdrawn, 20),
        ];
        assert_eq!(current(&history, AppointmentReminders), Granted);
        assert_eq!(current(&history, Research), Granted);
        assert_eq!(current(&history, EmailNotifications), Granted);
        assert_eq!(current(&history, DataSharing), Withdrawn);
        assert_eq!(current(&[], AppointmentReminders), Granted);
        let tie = [
            entry(DataSharing, Granted, 7),
            entry(DataSharing, Withdrawn, 7),
        ];
        assert_eq!(current(&tie, DataSharing), Granted);
    }

    #[test]
    fn purposes_and_statuses_parse_and_refuse() {
        assert_eq!(
            ConsentPurpose::parse("Appointment-Reminders"),
            Ok(ConsentPurpose::AppointmentReminders)
        );
        assert_eq!(
            ConsentStatus::parse("withdraw"),
            Ok(ConsentStatus::Withdrawn)
        );
        let err = ConsentPurpose::parse("marketing").unwrap_err();
        assert!(err.contains("email_notifications"), "{err}");
        for p in ConsentPurpose::ALL {
            assert!(!p.description().is_empty());
        }
    }
}
