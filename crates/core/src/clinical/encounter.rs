//! Encounters: their types, the `draft → signed` status graph, who may edit, sign or amend
//! one ([`check_encounter_action`]), and the reason an amendment gives ([`AmendmentReason`]).

use std::fmt;

use super::clean_text;

text_choice!(
    /// What kind of clinical contact an encounter records.
    EncounterType, "the encounter types" {
        Consultation => "consultation",
        FollowUp => "follow_up",
        Emergency => "emergency",
        Procedure => "procedure",
        Admission => "admission",
        Telephone => "telephone",
    }
);

text_choice!(
    /// Where an encounter stands: a `draft` its author edits, or `signed` (final; corrected
    /// only by amendments).
    EncounterStatus, "the encounter statuses" {
        /// Being written; its author may edit and sign it.
        Draft => "draft",
        /// Signed by its author. Never edited again; corrections are amendments.
        Signed => "signed",
    }
);

/// The allowed encounter transitions, one row per status in [`EncounterStatus::ALL`] order.
pub const ENCOUNTER_TRANSITIONS: [(EncounterStatus, &[EncounterStatus]); 2] = [
    (EncounterStatus::Draft, &[EncounterStatus::Signed]),
    (EncounterStatus::Signed, &[]),
];

status_graph!(EncounterStatus, "encounter", ENCOUNTER_TRANSITIONS);

text_choice!(
    /// What a note appended to an encounter is.
    EncounterNoteKind, "the encounter note kinds" {
        /// A nurse's (or doctor's) treatment note on a draft.
        Treatment => "treatment",
        /// An amendment of a signed encounter (what changed, and why).
        Amendment => "amendment",
        /// Text added to a signed encounter afterwards; the encounter is unchanged.
        Addendum => "addendum",
    }
);

/// Something done to an existing encounter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncounterAction {
    /// Change the text, type, diagnoses or plan of a draft.
    Edit,
    /// Sign the draft: it becomes final.
    Sign,
    /// Add a correction to a signed encounter, keeping the original visible.
    Amend,
}

impl EncounterAction {
    fn verb(self) -> &'static str {
        match self {
            EncounterAction::Edit => "edit",
            EncounterAction::Sign => "sign",
            EncounterAction::Amend => "amend",
        }
    }
}

/// Checks whether `action` may be done to an encounter in `status` by someone who is
/// (`actor_is_author`) or is not its author: a draft is edited and signed by its author only;
/// a signed encounter is never edited or signed again, only amended. Whether the actor may
/// amend at all (the care team's doctors) is decided by the service; the author flag is not
/// consulted for amendments.
pub fn check_encounter_action(
    status: EncounterStatus,
    action: EncounterAction,
    actor_is_author: bool,
) -> Result<(), EncounterRefusal> {
    let refusal = |not_author| EncounterRefusal {
        status,
        action,
        not_author,
    };
    match (status, action) {
        (EncounterStatus::Draft, EncounterAction::Edit | EncounterAction::Sign) => {
            if actor_is_author {
                Ok(())
            } else {
                Err(refusal(true))
            }
        }
        (EncounterStatus::Signed, EncounterAction::Amend) => Ok(()),
        _ => Err(refusal(false)),
    }
}

/// A refused encounter action. [`EncounterRefusal::is_conflict`] tells a status problem (409)
/// from an actor problem (403); the message names the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncounterRefusal {
    status: EncounterStatus,
    action: EncounterAction,
    not_author: bool,
}

impl EncounterRefusal {
    /// The encounter's current status.
    pub fn status(&self) -> EncounterStatus {
        self.status
    }

    /// The refused action.
    pub fn action(&self) -> EncounterAction {
        self.action
    }

    /// True when the status forbids the action (whoever asks); false when only the author
    /// may do it.
    pub fn is_conflict(&self) -> bool {
        !self.not_author
    }
}

impl fmt::Display for EncounterRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not_author {
            return write!(
                f,
                "only its author may {} a {} encounter",
                self.action.verb(),
                self.status
            );
        }
        match (self.status, self.action) {
            (EncounterStatus::Signed, EncounterAction::Edit) => f.write_str(
                "a signed encounter cannot be edited: corrections are added as amendments",
            ),
            (EncounterStatus::Signed, EncounterAction::Sign) => {
                f.write_str("a signed encounter is already signed")
            }
            (EncounterStatus::Draft, EncounterAction::Amend) => f.write_str(
                "a draft encounter cannot be amended: its author edits it until it is signed",
            ),
            (status, action) => write!(f, "cannot {} a {status} encounter", action.verb()),
        }
    }
}

impl std::error::Error for EncounterRefusal {}

/// Shortest accepted amendment reason, in characters.
pub const AMENDMENT_REASON_MIN: usize = 10;
/// Longest accepted amendment reason, in characters.
pub const AMENDMENT_REASON_MAX: usize = 500;

sensitive_text!(
    /// Why a signed encounter is being amended: 10–500 characters with at least one letter,
    /// may span lines.
    AmendmentReason
);

impl AmendmentReason {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, AMENDMENT_REASON_MIN, AMENDMENT_REASON_MAX, true)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must say in words why the record is corrected".into());
        }
        Ok(Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_their_text() {
        for t in EncounterType::ALL {
            assert_eq!(EncounterType::parse(t.as_str()).unwrap(), *t);
        }
        for s in EncounterStatus::ALL {
            assert_eq!(EncounterStatus::parse(s.as_str()).unwrap(), *s);
        }
        assert_eq!(
            EncounterType::parse("Follow-up").unwrap(),
            EncounterType::FollowUp
        );
        assert_eq!(
            EncounterType::parse("visit").unwrap_err(),
            "must be one of the encounter types: consultation, follow_up, emergency, \
             procedure, admission, telephone"
        );
    }

    #[test]
    fn the_full_encounter_transition_matrix() {
        // Columns in the same order as the rows (EncounterStatus::ALL); x = allowed.
        assert_status_matrix!(
            EncounterStatus,
            [
                // dra sig
                ".   x", // draft
                ".   .", // signed
            ]
        );
    }

    #[test]
    fn the_encounter_graph() {
        use EncounterStatus as S;
        for (i, status) in S::ALL.iter().enumerate() {
            assert_eq!(ENCOUNTER_TRANSITIONS[i].0, *status);
        }
        assert!(S::Draft.can_transition_to(S::Signed));
        assert!(!S::Signed.can_transition_to(S::Draft));
        assert!(!S::Draft.can_transition_to(S::Draft));
        assert!(S::Signed.is_final() && !S::Draft.is_final());
        assert_eq!(S::Draft.transition_to(S::Signed), Ok(S::Signed));
        let error = S::Signed.transition_to(S::Draft).unwrap_err();
        assert_eq!(error.from(), S::Signed);
        assert_eq!(error.to(), S::Draft);
        assert!(error.allowed().is_empty());
        assert_eq!(
            error.to_string(),
            "cannot go from signed to draft: a signed encounter is final"
        );
    }

    #[test]
    fn drafts_are_edited_and_signed_by_their_author_only() {
        use EncounterAction as A;
        use EncounterStatus as S;
        assert_eq!(check_encounter_action(S::Draft, A::Edit, true), Ok(()));
        assert_eq!(check_encounter_action(S::Draft, A::Sign, true), Ok(()));
        for action in [A::Edit, A::Sign] {
            let refusal = check_encounter_action(S::Draft, action, false).unwrap_err();
            assert!(!refusal.is_conflict());
            assert_eq!(refusal.status(), S::Draft);
            assert_eq!(refusal.action(), action);
        }
        assert_eq!(
            check_encounter_action(S::Draft, A::Edit, false)
                .unwrap_err()
                .to_string(),
            "only its author may edit a draft encounter"
        );
        assert_eq!(
            check_encounter_action(S::Draft, A::Sign, false)
                .unwrap_err()
                .to_string(),
            "only its author may sign a draft encounter"
        );
    }

    #[test]
    fn signed_encounters_are_amended_never_edited() {
        use EncounterAction as A;
        use EncounterStatus as S;
        for author in [true, false] {
            let refusal = check_encounter_action(S::Signed, A::Edit, author).unwrap_err();
            assert!(refusal.is_conflict());
            assert_eq!(
                refusal.to_string(),
                "a signed encounter cannot be edited: corrections are added as amendments"
            );
            assert_eq!(
                check_encounter_action(S::Signed, A::Sign, author)
                    .unwrap_err()
                    .to_string(),
                "a signed encounter is already signed"
            );
            assert_eq!(check_encounter_action(S::Signed, A::Amend, author), Ok(()));
            let refusal = check_encounter_action(S::Draft, A::Amend, author).unwrap_err();
            assert!(refusal.is_conflict());
            assert!(refusal.to_string().starts_with("a draft encounter"));
        }
    }

    #[test]
    fn amendment_reasons() {
        let reason =
            AmendmentReason::parse("  Wrong side recorded: left knee, not right. ").unwrap();
        assert_eq!(
            reason.as_str(),
            "Wrong side recorded: left knee, not right."
        );
        assert_eq!(
            AmendmentReason::parse("typo").unwrap_err(),
            "must be at least 10 characters"
        );
        assert_eq!(AmendmentReason::parse(" ").unwrap_err(), "is required");
        assert!(AmendmentReason::parse(&"a".repeat(500)).is_ok());
        assert_eq!(
            AmendmentReason::parse(&"a".repeat(501)).unwrap_err(),
            "must be at most 500 characters"
        );
        assert!(AmendmentReason::parse("1234567890!").is_err());
        assert!(AmendmentReason::parse("Dose corrected.\nSee lab report.").is_ok());
        assert!(AmendmentReason::parse("Dose corrected\u{7}bell").is_err());
        // Characters, not bytes.
        assert!(AmendmentReason::parse("éééééééééé").is_ok());
        assert!(!format!("{reason:?}").contains("knee"));
    }
}
