//! Audit events: who did what to which resource, when, and with what outcome. Never personal
//! data: actors are ids and roles, resources are opaque ids, patients appear only as their
//! pseudonym.
//!
//! # Canonical encoding (payload format 1)
//!
//! Each event is a leaf of the audit Merkle tree; its bytes are the `carevault-audit` leaf
//! envelope (`0x01 ‖ seq u64 BE ‖ payload`) around this payload:
//!
//! ```text
//! 0x01                          payload format version
//! i64 big-endian                time, microseconds since the Unix epoch (UTC)
//! 10 × field, in this order:    actor_kind, actor_id, actor_role, action, resource_type,
//!                               resource_id, patient_pseudonym, outcome, reason, request_id
//! field = 0x00                  absent
//!       | 0x01 ‖ u32 BE n ‖ n bytes of UTF-8   present
//! ```
//!
//! The encoding works on the stored text of each field ([`AuditFields`]), so a verifier can
//! rebuild it from a database row without interpreting (or trusting) any value.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::UserId;
use crate::role::Role;
use crate::time::to_micros;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What happened.
    AuditAction {
        SignIn => "sign_in",
        SignInFailed => "sign_in_failed",
        SignInThrottled => "sign_in_throttled",
        SignOut => "sign_out",
        SessionExpired => "session_expired",
        AccountCreated => "account_created",
        AccountChanged => "account_changed",
        AccountDisabled => "account_disabled",
        RoleChanged => "role_changed",
        PasswordChanged => "password_changed",
        PasswordReset => "password_reset",
        Read => "read",
        Search => "search",
        Listed => "listed",
        Create => "create",
        Update => "update",
        StatusChanged => "status_changed",
        BreakGlass => "break_glass",
        Delete => "delete",
        Erase => "erase",
        Export => "export",
        Download => "download",
        Print => "print",
        AccessDenied => "access_denied",
        AuditViewed => "audit_viewed",
        AuditExported => "audit_exported",
        AuditProofServed => "audit_proof_served",
    }
);

text_enum!(
    /// The kind of thing acted on.
    ResourceType {
        Session => "session",
        Account => "account",
        Patient => "patient",
        Appointment => "appointment",
        Department => "department",
        StaffProfile => "staff_profile",
        EmergencyAccess => "emergency_access",
        RecordShare => "record_share",
        Encounter => "encounter",
        Vitals => "vitals",
        Allergy => "allergy",
        Problem => "problem",
        Prescription => "prescription",
        Drug => "drug",
        Stock => "stock",
        PriceList => "price_list",
        Invoice => "invoice",
        Payment => "payment",
        Notification => "notification",
        Document => "document",
        NursingNote => "nursing_note",
        LegalHold => "legal_hold",
        Keys => "keys",
        AuditLog => "audit_log",
        System => "system",
    }
);

text_enum!(
    /// How it ended.
    Outcome {
        Allowed => "allowed",
        Denied => "denied",
        Failed => "failed",
    }
);

text_enum!(
    /// Who acted.
    ActorKind {
        User => "user",
        Operator => "operator",
        System => "system",
        Anonymous => "anonymous",
    }
);

/// One audit event, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub time: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub action: AuditAction,
    pub resource_type: ResourceType,
    /// Opaque id of the resource (a UUID, a sequence number); never a name.
    pub resource_id: Option<String>,
    /// The patient's pseudonym (`ANON_…`) when the resource belongs to a patient.
    pub patient_pseudonym: Option<String>,
    pub outcome: Outcome,
    /// Why: a short fixed phrase chosen by the code ("invalid credentials", "idle timeout"),
    /// or a reason a user stated on purpose (break-the-glass). Never typed personal data.
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

/// Building an event: the service starts one (`Services::audit_event(actor, action,
/// resource)`: actor, time, request id, allowed) and the steps below fill in the rest, e.g.
/// `….resource_id(&row.id).patient(pseudonym).reason("care team")`.
impl AuditEvent {
    /// The opaque id of the resource acted on.
    #[must_use]
    pub fn resource_id(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    /// The pseudonym (`ANON_…`) of the patient the resource belongs to.
    #[must_use]
    pub fn patient(mut self, pseudonym: impl Into<String>) -> Self {
        self.patient_pseudonym = Some(pseudonym.into());
        self
    }

    /// Why (a fixed phrase chosen by the code, or a reason the user stated on purpose).
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// How it ended, where not allowed.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

impl AuditEvent {
    /// The event's fields as stored text.
    pub fn fields(&self) -> AuditFields {
        AuditFields {
            time_micros: to_micros(self.time),
            actor_kind: self.actor_kind.as_str().to_owned(),
            actor_id: self.actor_id.map(|id| id.to_string()),
            actor_role: self.actor_role.map(|r| r.as_str().to_owned()),
            action: self.action.as_str().to_owned(),
            resource_type: self.resource_type.as_str().to_owned(),
            resource_id: self.resource_id.clone(),
            patient_pseudonym: self.patient_pseudonym.clone(),
            outcome: self.outcome.as_str().to_owned(),
            reason: self.reason.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// An audit event as stored: every field as text (or absent). The canonical encoding is
/// defined on this form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFields {
    pub time_micros: i64,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

/// The payload format version written first in every canonical encoding.
pub const PAYLOAD_FORMAT_VERSION: u8 = 1;

fn put_field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&text.as_bytes()[..length as usize]);
        }
    }
}

impl AuditFields {
    /// The canonical bytes (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.push(PAYLOAD_FORMAT_VERSION);
        out.extend_from_slice(&self.time_micros.to_be_bytes());
        put_field(&mut out, Some(&self.actor_kind));
        put_field(&mut out, self.actor_id.as_deref());
        put_field(&mut out, self.actor_role.as_deref());
        put_field(&mut out, Some(&self.action));
        put_field(&mut out, Some(&self.resource_type));
        put_field(&mut out, self.resource_id.as_deref());
        put_field(&mut out, self.patient_pseudonym.as_deref());
        put_field(&mut out, Some(&self.outcome));
        put_field(&mut out, self.reason.as_deref());
        put_field(&mut out, self.request_id.as_deref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event() -> AuditEvent {
        AuditEvent {
            time: Utc.timestamp_micros(1_700_000_000_123_456).unwrap(),
            actor_kind: ActorKind::User,
            actor_id: None,
            actor_role: Some(Role::Doctor),
            action: AuditAction::Read,
            resource_type: ResourceType::Patient,
            resource_id: Some("r1".into()),
            patient_pseudonym: Some("ANON_1021".into()),
            outcome: Outcome::Allowed,
            reason: None,
            request_id: Some("req".into()),
        }
    }

    #[test]
    fn the_builder_steps_set_their_fields_only() {
        let mut expected = event();
        expected.resource_id = Some("r2".into());
        expected.patient_pseudonym = Some("ANON_7".into());
        expected.reason = Some("care team".into());
        expected.outcome = Outcome::Denied;
        let built = event()
            .resource_id("r2")
            .patient("ANON_7")
            .reason("care team")
            .outcome(Outcome::Denied);
        assert_eq!(built, expected);
    }

    #[test]
    fn canonical_bytes_are_the_documented_format() {
        let bytes = event().fields().canonical_bytes();
        let mut expected = vec![1u8];
        expected.extend_from_slice(&1_700_000_000_123_456i64.to_be_bytes());
        for field in [
            Some("user"),
            None,
            Some("doctor"),
            Some("read"),
            Some("patient"),
            Some("r1"),
            Some("ANON_1021"),
            Some("allowed"),
            None,
            Some("req"),
        ] {
            match field {
                None => expected.push(0),
                Some(t) => {
                    expected.push(1);
                    expected.extend_from_slice(&(t.len() as u32).to_be_bytes());
                    expected.extend_from_slice(t.as_bytes());
                }
            }
        }
        assert_eq!(bytes, expected);
    }

    #[test]
    fn absent_and_empty_differ() {
        let mut a = event();
        a.reason = Some(String::new());
        assert_ne!(
            a.fields().canonical_bytes(),
            event().fields().canonical_bytes()
        );
    }

    #[test]
    fn enums_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
        }
    }
}
