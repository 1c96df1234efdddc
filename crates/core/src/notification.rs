//! The pure rules of notifications: their kinds, channels and delivery statuses,
//! the retry back-off of failed deliveries, when an appointment reminder is due, which
//! channels a notification goes to, and the reminder texts, which carry no clinical detail.
//! No I/O, no clock: "now" is passed in.
//!
//! Decisions recorded here:
//!
//! - **Delivery statuses.** `pending → sent | failed | cancelled`; the other three are final.
//!   A failed attempt that will be retried stays `pending` with its attempt count raised and
//!   its next attempt set ([`next_attempt`]); `failed` means the retries are used up.
//!   `cancelled` is for a reminder whose appointment was cancelled before it went out (the
//!   issue asks for that; it is not a delivery failure).
//! - **Back-off** ([`RETRY_DELAYS`]): after the 1st, 2nd, 3rd, 4th and 5th failed attempt,
//!   wait 1 min, 5 min, 30 min, 2 h, 12 h; after the 6th, give up ([`MAX_ATTEMPTS`] = 6,
//!   about 14.6 hours from the first attempt to the last). The in-app inbox is a row written
//!   in the same transaction and needs no retries; the schedule is for e-mail.
//! - **Reminder time** ([`reminder_at`]): `start − lead`. When the booking is made later
//!   than that (the appointment is closer than the lead time), the reminder goes out at
//!   once, unless the appointment starts within [`REMINDER_MIN_NOTICE_MINUTES`] (1 hour):
//!   then none is sent, since the patient booked moments ago and a reminder would only be
//!   noise. An appointment already started gets none.
//! - **Channels** ([`channels`]): the in-app inbox always; e-mail as well when the hospital
//!   configured SMTP and the recipient has an address and accepts e-mail (the patient's
//!   preferences and consent are the service's to look up, and are passed in).
//! - **No clinical detail.** A reminder's text is built only from what the functions here
//!   take: the date and time, the department, the clinician ([`appointment_reminder_text`]),
//!   or a due date and the clinician ([`follow_up_reminder_text`]) — never the reason for
//!   the visit, the appointment type, a diagnosis or a drug. A department's name can itself
//!   say something (oncology), so it is optional and the service may leave it out of
//!   e-mail. Names are cleaned of control characters so that nothing typed into them can
//!   forge an e-mail header.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

text_choice!(
    /// What a notification is about.
    NotificationKind, "the notification kinds" {
        /// Queued at booking for a set time before the appointment; cancelled with it.
        AppointmentReminder => "appointment_reminder",
        /// Queued by a clinician: the patient should book a follow-up.
        FollowUpReminder => "follow_up_reminder",
        /// To pharmacists and admins: a drug at or below its reorder level.
        LowStock => "low_stock",
        /// To pharmacists and admins: a batch expiring within the alert window.
        ExpiringBatch => "expiring_batch",
        /// To the requester: a consultation request was accepted or declined.
        ConsultationRequestOutcome => "consultation_request_outcome",
        /// To admins: someone used break-the-glass access.
        BreakGlassAlert => "break_glass_alert",
    }
);

text_choice!(
    /// Where a notification is delivered.
    Channel, "the channels" {
        /// The recipient's inbox in Carevault. Always used.
        InApp => "in_app",
        /// E-mail over SMTP, when configured and accepted.
        Email => "email",
    }
);

text_choice!(
    /// Where a delivery stands. See [`DELIVERY_TRANSITIONS`].
    DeliveryStatus, "the delivery statuses" {
        /// Not delivered yet (maybe after failed attempts that will be retried).
        Pending => "pending",
        /// Delivered. Final.
        Sent => "sent",
        /// Every attempt failed; the last error is kept. Final.
        Failed => "failed",
        /// Withdrawn before delivery (the appointment was cancelled). Final.
        Cancelled => "cancelled",
    }
);

use DeliveryStatus::{Cancelled, Failed, Pending, Sent};

/// The allowed transitions of a delivery, in [`DeliveryStatus::ALL`] order.
pub const DELIVERY_TRANSITIONS: [(DeliveryStatus, &[DeliveryStatus]); 4] = [
    (Pending, &[Sent, Failed, Cancelled]),
    (Sent, &[]),
    (Failed, &[]),
    (Cancelled, &[]),
];

status_graph!(DeliveryStatus, "notification", DELIVERY_TRANSITIONS);

/// A refused status change of a delivery. Its message names the current status: "cannot go
/// from sent to cancelled: a sent notification is final".
pub type TransitionError = crate::status::TransitionError<DeliveryStatus>;

// ---------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------

/// The waits after the 1st, 2nd, … failed attempt, in minutes: 1 min, 5 min, 30 min, 2 h,
/// 12 h.
pub const RETRY_DELAYS_MINUTES: [i64; 5] = [1, 5, 30, 120, 720];

/// The waits after each failed attempt, as durations.
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::minutes(RETRY_DELAYS_MINUTES[0]),
    Duration::minutes(RETRY_DELAYS_MINUTES[1]),
    Duration::minutes(RETRY_DELAYS_MINUTES[2]),
    Duration::minutes(RETRY_DELAYS_MINUTES[3]),
    Duration::minutes(RETRY_DELAYS_MINUTES[4]),
];

/// The most attempts a delivery gets: the first and one per retry delay.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;

/// When to try again after `attempts` failed attempts, the last at `last`; `None` when the
/// retries are used up and the delivery is `failed`. With no attempt yet, the answer is
/// `last` itself (due now).
pub fn next_attempt(attempts: u32, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempts == 0 {
        return Some(last);
    }
    let index = usize::try_from(attempts - 1).ok()?;
    let delay = RETRY_DELAYS.get(index)?;
    last.checked_add_signed(*delay)
}

/// The status after a failed attempt, the `attempts`-th (counting this one; 0 is taken as
/// 1): still `pending` with the time of the next attempt, or `failed` with none.
pub fn after_failure(
    attempts: u32,
    failed_at: DateTime<Utc>,
) -> (DeliveryStatus, Option<DateTime<Utc>>) {
    match next_attempt(attempts.max(1), failed_at) {
        Some(at) => (Pending, Some(at)),
        None => (Failed, None),
    }
}

// ---------------------------------------------------------------------------------------
// When and where
// ---------------------------------------------------------------------------------------

/// An appointment that starts within this many minutes of its booking gets no reminder.
pub const REMINDER_MIN_NOTICE_MINUTES: i64 = 60;
/// The shortest reminder lead time the hospital may configure, in hours.
pub const REMINDER_LEAD_MIN_HOURS: i64 = 1;
/// The longest reminder lead time, in hours (a week).
pub const REMINDER_LEAD_MAX_HOURS: i64 = 168;

/// Parses the configured reminder lead time, a whole number of hours from
/// [`REMINDER_LEAD_MIN_HOURS`] to [`REMINDER_LEAD_MAX_HOURS`] (`24`).
pub fn parse_reminder_lead(raw: &str) -> Result<Duration, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let out_of_range =
        || format!("must be between {REMINDER_LEAD_MIN_HOURS} and {REMINDER_LEAD_MAX_HOURS} hours");
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a whole number of hours".into());
    }
    let hours: i64 = value.parse().map_err(|_| out_of_range())?;
    if !(REMINDER_LEAD_MIN_HOURS..=REMINDER_LEAD_MAX_HOURS).contains(&hours) {
        return Err(out_of_range());
    }
    Ok(Duration::hours(hours))
}

/// When the reminder of an appointment starting at `start` should go out, given the lead
/// time and `now` (the booking time): `start − lead`; or `now` when that is already past
/// and the appointment is at least [`REMINDER_MIN_NOTICE_MINUTES`] away; otherwise `None`.
pub fn reminder_at(
    start: DateTime<Utc>,
    lead: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = start.checked_sub_signed(lead)?;
    if at >= now {
        Some(at)
    } else if start - now >= Duration::minutes(REMINDER_MIN_NOTICE_MINUTES) {
        Some(now)
    } else {
        None
    }
}

/// The channels a notification goes to: the in-app inbox always, e-mail too when SMTP is
/// configured and the recipient accepts e-mail (has an address, and for a patient has
/// consented).
pub fn channels(email_configured: bool, recipient_accepts_email: bool) -> &'static [Channel] {
    if email_configured && recipient_accepts_email {
        &[Channel::InApp, Channel::Email]
    } else {
        &[Channel::InApp]
    }
}

// ---------------------------------------------------------------------------------------
// Texts
// ---------------------------------------------------------------------------------------

/// A notification's text: a one-line subject and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationText {
    pub subject: String,
    pub body: String,
}

/// The text of an appointment reminder, from the start in the clinic's local time, the
/// department (optional, see the module's notes) and the clinician's display name only.
pub fn appointment_reminder_text(
    start: DateTime<FixedOffset>,
    department: Option<&str>,
    clinician: &str,
) -> NotificationText {
    let when = start.format("%A %-d %B %Y at %H:%M");
    let with = match department.map(one_line).filter(|d| !d.is_empty()) {
        Some(department) => format!("{} ({department})", one_line(clinician)),
        None => one_line(clinician),
    };
    NotificationText {
        subject: "Appointment reminder".to_owned(),
        body: format!(
            "You have an appointment on {when} with {with}.\n\
             If you cannot come, please contact the hospital to cancel or move it."
        ),
    }
}

/// The text of a follow-up reminder: book a follow-up by `due`, with `clinician`. Nothing
/// about why.
pub fn follow_up_reminder_text(due: NaiveDate, clinician: &str) -> NotificationText {
    NotificationText {
        subject: "Please book a follow-up appointment".to_owned(),
        body: format!(
            "{} asks you to book a follow-up appointment by {}.\n\
             Please contact the hospital or book it in Carevault.",
            one_line(clinician),
            due.format("%A %-d %B %Y")
        ),
    }
}

/// `raw` on one line: control characters (line breaks included) become spaces, runs of
/// white space shrink to one, the ends are trimmed.
fn one_line(raw: &str) -> String {
    raw.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    // ---- statuses ----

    #[test]
    fn the_transition_table_covers_every_status_once() {
        assert_eq!(DELIVERY_TRANSITIONS.len(), DeliveryStatus::ALL.len());
        for (row, status) in DELIVERY_TRANSITIONS.iter().zip(DeliveryStatus::ALL) {
            assert_eq!(row.0, *status);
        }
    }

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (DeliveryStatus::ALL); x = allowed.
        assert_status_matrix!(
            DeliveryStatus,
            [
                // pen sen fai can
                ".   x   x   x", // pending
                ".   .   .   .", // sent
                ".   .   .   .", // failed
                ".   .   .   .", // cancelled
            ]
        );
    }

    #[test]
    fn only_pending_deliveries_change() {
        assert_eq!(Pending.transition_to(Sent), Ok(Sent));
        assert_eq!(Pending.transition_to(Failed), Ok(Failed));
        assert_eq!(Pending.transition_to(Cancelled), Ok(Cancelled));
        assert!(!Pending.is_final());
        for status in [Sent, Failed, Cancelled] {
            assert!(status.is_final());
        }
        let err = Sent.transition_to(Cancelled).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot go from sent to cancelled: a sent notification is final"
        );
        assert_eq!((err.from(), err.to()), (Sent, Cancelled));
        assert_eq!(
            Pending.transition_to(Pending).unwrap_err().to_string(),
            "cannot go from pending to pending: from pending it can go to: sent, failed, cancelled"
        );
    }

    #[test]
    fn choices_parse_their_text_forms() {
        assert_eq!(Channel::parse("In-app"), Ok(Channel::InApp));
        assert_eq!(Channel::parse("EMAIL"), Ok(Channel::Email));
        assert!(Channel::parse("sms").is_err());
        assert_eq!(
            NotificationKind::parse("Break-glass alert"),
            Ok(NotificationKind::BreakGlassAlert)
        );
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(&kind.to_string()), Ok(*kind));
        }
        assert_eq!(
            DeliveryStatus::parse("done").unwrap_err(),
            "must be one of the delivery statuses: pending, sent, failed, cancelled"
        );
    }

    // ---- retries ----

    #[test]
    fn the_back_off_schedule_then_give_up() {
        let last = at("2026-11-23T10:00:00Z");
        assert_eq!(next_attempt(0, last), Some(last));
        assert_eq!(next_attempt(1, last), Some(at("2026-11-23T10:01:00Z")));
        assert_eq!(next_attempt(2, last), Some(at("2026-11-23T10:05:00Z")));
        assert_eq!(next_attempt(3, last), Some(at("2026-11-23T10:30:00Z")));
        assert_eq!(next_attempt(4, last), Some(at("2026-11-23T12:00:00Z")));
        assert_eq!(next_attempt(5, last), Some(at("2026-11-23T22:00:00Z")));
        assert_eq!(next_attempt(6, last), None);
        assert_eq!(next_attempt(u32::MAX, last), None);
        assert_eq!(MAX_ATTEMPTS, 6);
        assert_eq!(next_attempt(1, DateTime::<Utc>::MAX_UTC), None);
    }

    #[test]
    fn a_failure_is_retried_then_marked_failed() {
        let failed_at = at("2026-11-23T10:00:00Z");
        assert_eq!(
            after_failure(1, failed_at),
            (Pending, Some(at("2026-11-23T10:01:00Z")))
        );
        assert_eq!(after_failure(0, failed_at), after_failure(1, failed_at));
        assert_eq!(
            after_failure(5, failed_at),
            (Pending, Some(at("2026-11-23T22:00:00Z")))
        );
        assert_eq!(after_failure(MAX_ATTEMPTS, failed_at), (Failed, None));
        // Walking the whole schedule takes six attempts over about 14.6 hours.
        let mut attempts = 0;
        let mut now = failed_at;
        loop {
            attempts += 1;
            match after_failure(attempts, now) {
                (Pending, Some(next)) => now = next,
                (status, next) => {
                    assert_eq!((status, next), (Failed, None));
                    break;
                }
            }
        }
        assert_eq!(attempts, MAX_ATTEMPTS);
        assert_eq!(now - failed_at, Duration::minutes(1 + 5 + 30 + 120 + 720));
    }

    // ---- when and where ----

    #[test]
    fn reminders_go_out_the_lead_time_before() {
        let lead = parse_reminder_lead("24").unwrap();
        let start = at("2026-11-25T09:00:00Z");
        assert_eq!(
            reminder_at(start, lead, at("2026-11-20T12:00:00Z")),
            Some(at("2026-11-24T09:00:00Z"))
        );
        // Exactly at the lead time: due now.
        let now = at("2026-11-24T09:00:00Z");
        assert_eq!(reminder_at(start, lead, now), Some(now));
    }

    #[test]
    fn a_late_booking_is_reminded_at_once_or_not_at_all() {
        let lead = Duration::hours(24);
        let start = at("2026-11-25T09:00:00Z");
        let now = at("2026-11-24T20:00:00Z");
        assert_eq!(reminder_at(start, lead, now), Some(now));
        let now = at("2026-11-25T08:00:00Z"); // exactly one hour before
        assert_eq!(reminder_at(start, lead, now), Some(now));
        assert_eq!(reminder_at(start, lead, at("2026-11-25T08:01:00Z")), None);
        assert_eq!(reminder_at(start, lead, at("2026-11-25T09:30:00Z")), None);
        assert_eq!(
            reminder_at(DateTime::<Utc>::MIN_UTC, lead, at("2026-11-25T09:30:00Z")),
            None
        );
    }

    #[test]
    fn reminder_lead_times() {
        assert_eq!(parse_reminder_lead(" 1 "), Ok(Duration::hours(1)));
        assert_eq!(parse_reminder_lead("168"), Ok(Duration::hours(168)));
        assert_eq!(parse_reminder_lead("").unwrap_err(), "is required");
        assert_eq!(
            parse_reminder_lead("0").unwrap_err(),
            "must be between 1 and 168 hours"
        );
        assert_eq!(
            parse_reminder_lead("99999999999999999999").unwrap_err(),
            "must be between 1 and 168 hours"
        );
        assert_eq!(
            parse_reminder_lead("1.5").unwrap_err(),
            "must be a whole number of hours"
        );
        assert!(parse_reminder_lead("-3").is_err());
    }

    #[test]
    fn in_app_always_email_when_possible() {
        assert_eq!(channels(true, true), &[Channel::InApp, Channel::Email]);
        assert_eq!(channels(true, false), &[Channel::InApp]);
        assert_eq!(channels(false, true), &[Channel::InApp]);
        assert_eq!(channels(false, false), &[Channel::InApp]);
    }

    // ---- texts ----

    #[test]
    fn the_appointment_reminder_says_when_where_and_with_whom_only() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T10:30:00+01:00").unwrap();
        let text = appointment_reminder_text(start, Some("Cardiology"), "Dr. Smith");
        assert_eq!(text.subject, "Appointment reminder");
        assert_eq!(
            text.body,
            "You have an appointment on Tuesday 24 November 2026 at 10:30 with Dr. Smith \
             (Cardiology).\nIf you cannot come, please contact the hospital to cancel or move it."
        );
        let text = appointment_reminder_text(start, None, "Dr. Smith");
        assert!(text.body.contains("at 10:30 with Dr. Smith.\n"));
        let text = appointment_reminder_text(start, Some("  "), "Dr. Smith");
        assert!(text.body.contains("with Dr. Smith.\n"));
    }

    #[test]
    fn names_cannot_break_out_of_their_line() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T10:30:00+01:00").unwrap();
        let text = appointment_reminder_text(
            start,
            Some("Ward\r\nBcc: someone@example.invalid"),
            "Dr.\tSmith\u{0}",
        );
        assert!(
            text.body
                .contains("with Dr. Smith (Ward Bcc: someone@example.invalid).")
        );
        assert_eq!(text.body.matches('\n').count(), 1);
        assert!(!text.body.contains('\r'));
        assert!(!text.body.contains('\0'));
        assert!(!text.subject.contains(['\r', '\n']));
    }

    #[test]
    fn the_follow_up_reminder_says_by_when_and_who_asks() {
        let text =
            follow_up_reminder_text(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), "Dr. Smith");
        assert_eq!(text.subject, "Please book a follow-up appointment");
        assert_eq!(
            text.body,
            "Dr. Smith asks you to book a follow-up appointment by Monday 7 December 2026.\n\
             Please contact the hospital or book it in Carevault."
        );
    }
}
