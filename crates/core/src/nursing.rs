//! Nurses' own records: the triage made at check-in and nursing notes.
//!
//! Decisions recorded here:
//!
//! - **Acuity is the Emergency Severity Index** (ESI, version 4, the five-level triage scale
//!   of the US Agency for Healthcare Research and Quality): level 1 needs an immediate
//!   life-saving intervention, 5 needs no resources at all. Lower is more urgent. It is
//!   stored as its digit (`"1"` … `"5"`), sealed with the note it belongs to: how urgent a
//!   patient is counts as health data.
//! - **The department relation**: a nurse is in a patient's care, as if on the care team,
//!   while the patient has a visit *today* (the clinic's calendar day) in the department of
//!   the nurse's staff profile that is checked in or in progress
//!   ([`brings_into_department_care`]). It ends by itself when the visit is completed or
//!   the day ends; nothing is written to the care team.
//! - A **triage** is one nursing note of kind `triage` holding the acuity, an optional note
//!   and the id of the vitals measured with it; a **nursing note** (kind `nursing`) is free
//!   text about a patient in the nurse's care, written without any encounter. Neither is
//!   ever edited: a later triage of the same visit supersedes the earlier one on screen and
//!   both stay in the record.

use std::fmt;

use crate::appointment::AppointmentStatus;

/// Whether a visit in `status` is one a nurse triages: the patient has arrived (checked in)
/// or is being seen (in progress).
pub fn may_be_triaged(status: AppointmentStatus) -> bool {
    matches!(
        status,
        AppointmentStatus::CheckedIn | AppointmentStatus::InProgress
    )
}

/// Whether a visit in `status` today puts the patient in the care of the nurses of its
/// department ("by department"): from check-in until it is completed (or the day ends).
pub fn brings_into_department_care(status: AppointmentStatus) -> bool {
    may_be_triaged(status)
}

/// The Emergency Severity Index level of a triage: 1 (immediate) … 5 (non-urgent).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Acuity {
    /// ESI 1: needs an immediate life-saving intervention.
    Immediate,
    /// ESI 2: a high-risk situation, new confusion or lethargy, or severe pain or distress.
    Emergent,
    /// ESI 3: stable, expected to need two or more resources (tests, imaging, IV fluids).
    Urgent,
    /// ESI 4: stable, expected to need one resource.
    LessUrgent,
    /// ESI 5: stable, expected to need no resource.
    NonUrgent,
}

impl Acuity {
    /// Every level, most urgent first.
    pub const ALL: [Acuity; 5] = [
        Acuity::Immediate,
        Acuity::Emergent,
        Acuity::Urgent,
        Acuity::LessUrgent,
        Acuity::NonUrgent,
    ];

    /// The ESI level, 1 (most urgent) to 5.
    pub fn level(self) -> u8 {
        match self {
            Acuity::Immediate => 1,
            Acuity::Emergent => 2,
            Acuity::Urgent => 3,
            Acuity::LessUrgent => 4,
            Acuity::NonUrgent => 5,
        }
    }

    /// The stored and JSON form: the level's digit.
    pub fn as_str(self) -> &'static str {
        match self {
            Acuity::Immediate => "1",
            Acuity::Emergent => "2",
            Acuity::Urgent => "3",
            Acuity::LessUrgent => "4",
            Acuity::NonUrgent => "5",
        }
    }

    /// The level's name: "Immediate", "Emergent", "Urgent", "Less urgent", "Non-urgent".
    pub fn name(self) -> &'static str {
        match self {
            Acuity::Immediate => "Immediate",
            Acuity::Emergent => "Emergent",
            Acuity::Urgent => "Urgent",
            Acuity::LessUrgent => "Less urgent",
            Acuity::NonUrgent => "Non-urgent",
        }
    }

    /// What the level means, for the choice on a triage form.
    pub fn meaning(self) -> &'static str {
        match self {
            Acuity::Immediate => "needs an immediate life-saving intervention",
            Acuity::Emergent => "high risk, confused or lethargic, or severe pain or distress",
            Acuity::Urgent => "stable, needs two or more resources",
            Acuity::LessUrgent => "stable, needs one resource",
            Acuity::NonUrgent => "stable, needs no resources",
        }
    }

    /// "ESI 2 · Emergent".
    pub fn label(self) -> String {
        format!("ESI {} · {}", self.level(), self.name())
    }

    /// Whether the level calls for a clinician at once (ESI 1 and 2).
    pub fn is_high(self) -> bool {
        self.level() <= 2
    }

    /// Parses `1`…`5` (also `ESI 2`, `esi-2`), ignoring case and surrounding space.
    pub fn parse(raw: &str) -> Result<Acuity, String> {
        let value = raw.trim().to_ascii_lowercase();
        if value.is_empty() {
            return Err("is required".into());
        }
        let digits = value
            .strip_prefix("esi")
            .map(|rest| rest.trim_start_matches([' ', '-', '_']))
            .unwrap_or(&value);
        Acuity::ALL
            .into_iter()
            .find(|a| a.as_str() == digits)
            .ok_or_else(|| {
                "must be an Emergency Severity Index level from 1 (immediate) to 5 (non-urgent)"
                    .to_owned()
            })
    }
}

impl fmt::Debug for Acuity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A triage level is health data.
        f.write_str("Acuity(…)")
    }
}

text_choice!(
    /// The kind of a nursing note: a triage at check-in, or a nursing note.
    NursingNoteKind, "the nursing note kinds" {
        /// Acuity, note and vitals recorded when the patient arrived.
        Triage => "triage",
        /// A nurse's note about the patient's care, outside any encounter.
        Nursing => "nursing",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acuity_levels_read_both_ways() {
        for acuity in Acuity::ALL {
            assert_eq!(Acuity::parse(acuity.as_str()), Ok(acuity));
            assert_eq!(acuity.as_str(), acuity.level().to_string());
        }
        assert_eq!(Acuity::parse(" ESI 2 "), Ok(Acuity::Emergent));
        assert_eq!(Acuity::parse("esi-5"), Ok(Acuity::NonUrgent));
        assert_eq!(Acuity::Immediate.label(), "ESI 1 · Immediate");
    }

    #[test]
    fn acuity_refuses_what_is_not_a_level() {
        for raw in ["", "0", "6", "two", "1.5", "-1", "esi"] {
            assert!(Acuity::parse(raw).is_err(), "{raw:?}");
        }
        assert_eq!(Acuity::parse(" ").unwrap_err(), "is required");
    }

    #[test]
    fn lower_levels_are_more_urgent() {
        assert!(Acuity::Immediate < Acuity::NonUrgent);
        assert!(Acuity::Emergent.is_high());
        assert!(!Acuity::Urgent.is_high());
    }

    #[test]
    fn debug_does_not_show_the_level() {
        assert_eq!(format!("{:?}", Acuity::Immediate), "Acuity(…)");
    }
}
