//! One entry of a patient's allergy list: its kind (an allergy, or "no known allergies"),
//! the substance (coded or flagged free text), the reaction, the severity, and the status
//! with its graph ([`ALLERGY_TRANSITIONS`]); [`AllergyInput`] validates an entry as typed.

use std::fmt;

use super::{CodedSubstance, coded_substance};
use crate::ValidationErrors;
use crate::text::{CONTROL_CHARACTERS, clean_text};

text_choice!(
    /// How severe the reaction is.
    AllergySeverity, "the allergy severities" {
        Mild => "mild",
        Moderate => "moderate",
        Severe => "severe",
        /// Not known (a reaction reported without detail).
        Unknown => "unknown",
    }
);

text_choice!(
    /// Whether an allergy entry is in force.
    AllergyStatus, "the allergy statuses" {
        /// In force: shown in the banner and checked when prescribing.
        Active => "active",
        /// No longer applies (outgrown, disproved by a challenge test).
        Inactive => "inactive",
        /// Recorded by mistake (wrong patient, typing error); kept for the record.
        EnteredInError => "entered_in_error",
    }
);

text_choice!(
    /// What an entry of a patient's allergy list states.
    AllergyEntryKind, "the allergy entry kinds" {
        /// An allergy or intolerance to a substance.
        Allergy => "allergy",
        /// "No known allergies": asked, and none reported.
        NoKnownAllergies => "no_known_allergies",
    }
);

impl AllergySeverity {
    /// How the severity reads in a sentence ("severe", "severity unknown").
    pub fn phrase(self) -> &'static str {
        match self {
            AllergySeverity::Mild => "mild",
            AllergySeverity::Moderate => "moderate",
            AllergySeverity::Severe => "severe",
            AllergySeverity::Unknown => "severity unknown",
        }
    }
}

/// The allowed changes of an allergy entry, one row per status in [`AllergyStatus::ALL`]
/// order. `entered_in_error` is final.
pub const ALLERGY_TRANSITIONS: [(AllergyStatus, &[AllergyStatus]); 3] = [
    (
        AllergyStatus::Active,
        &[AllergyStatus::Inactive, AllergyStatus::EnteredInError],
    ),
    (
        AllergyStatus::Inactive,
        &[AllergyStatus::Active, AllergyStatus::EnteredInError],
    ),
    (AllergyStatus::EnteredInError, &[]),
];

status_graph!(AllergyStatus, "allergy entry", ALLERGY_TRANSITIONS);

impl AllergyStatus {
    /// `Ok` when the change is allowed; otherwise a sentence naming the current status (the
    /// allergy list's own wording, kept rather than [`AllergyStatus::transition_to`]'s).
    pub fn check_change(self, to: AllergyStatus) -> Result<(), String> {
        if self.can_transition_to(to) {
            return Ok(());
        }
        Err(match self {
            AllergyStatus::EnteredInError => {
                "the entry was marked entered in error; that is final: record a new entry instead"
                    .to_owned()
            }
            from if from == to => format!("the entry is already {}", from.label()),
            from => format!(
                "an entry that is {} cannot become {}",
                from.label(),
                to.label()
            ),
        })
    }

    /// How the status reads ("entered in error").
    pub fn label(self) -> &'static str {
        match self {
            AllergyStatus::Active => "active",
            AllergyStatus::Inactive => "inactive",
            AllergyStatus::EnteredInError => "entered in error",
        }
    }
}

/// Longest free-text substance typed into a form, in characters.
pub const SUBSTANCE_TEXT_MAX: usize = 200;
/// Longest reaction, in characters.
pub const REACTION_MAX: usize = 200;
/// Longest transcribed substance (the old free-text field held up to this).
pub const TRANSCRIBED_TEXT_MAX: usize = crate::patient::CLINICAL_TEXT_MAX;

/// A substance named in words, when the coded list has nothing that fits.
#[derive(Clone, PartialEq, Eq)]
pub struct SubstanceText(String);

impl SubstanceText {
    /// A substance typed into a form: 2–200 characters on one line, with a letter.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean(raw, 2, SUBSTANCE_TEXT_MAX, false)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must contain a word".into());
        }
        Ok(Self(value))
    }

    /// A substance transcribed from an earlier free-text record (up to 2000 characters,
    /// several lines): kept as written, so no word is lost.
    pub fn parse_transcribed(raw: &str) -> Result<Self, String> {
        clean(raw, 1, TRANSCRIBED_TEXT_MAX, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubstanceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubstanceText(…)")
    }
}

/// What the patient reacts to: a coded substance, or words flagged as free text.
#[derive(Clone, PartialEq, Eq)]
pub enum Substance {
    Coded(&'static CodedSubstance),
    FreeText(SubstanceText),
}

impl Substance {
    /// The substance as shown: the coded label, or the free text.
    pub fn display(&self) -> &str {
        match self {
            Substance::Coded(c) => c.label,
            Substance::FreeText(t) => t.as_str(),
        }
    }

    /// The code, for a coded substance.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Substance::Coded(c) => Some(c.code),
            Substance::FreeText(_) => None,
        }
    }

    pub fn is_free_text(&self) -> bool {
        matches!(self, Substance::FreeText(_))
    }
}

impl fmt::Debug for Substance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Substance::Coded(_) => f.write_str("Substance::Coded(…)"),
            Substance::FreeText(_) => f.write_str("Substance::FreeText(…)"),
        }
    }
}

/// The reaction, in words (`hives`, `anaphylaxis`): 2–200 characters on one line.
#[derive(Clone, PartialEq, Eq)]
pub struct Reaction(String);

impl Reaction {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean(raw, 2, REACTION_MAX, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Reaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reaction(…)")
    }
}

/// [`clean_text`], saying of a one-line value with a control character that it must stay on
/// one line (the allergy list's wording).
fn clean(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    clean_text(raw, min, max, multiline).map_err(|message| {
        if !multiline && message == CONTROL_CHARACTERS {
            "must be on one line, without control characters".into()
        } else {
            message
        }
    })
}

/// An allergy as submitted (a form, a JSON body), before validation. Its `Debug` output
/// shows no value.
#[derive(Clone, Copy, Default)]
pub struct AllergyFields<'a> {
    /// A code of [`CODED_SUBSTANCES`](super::CODED_SUBSTANCES), or (with `free_text`) the
    /// substance in words.
    pub substance: &'a str,
    pub free_text: bool,
    pub reaction: Option<&'a str>,
    /// Blank: `unknown`.
    pub severity: &'a str,
    /// Blank: `active`.
    pub status: &'a str,
}

impl fmt::Debug for AllergyFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllergyFields")
            .field("free_text", &self.free_text)
            .finish_non_exhaustive()
    }
}

/// A validated allergy entry: substance, reaction, severity and status. Errors name the
/// fields `substance`, `reaction`, `severity` and `status`.
#[derive(Clone, PartialEq, Eq)]
pub struct AllergyInput {
    substance: Substance,
    reaction: Option<Reaction>,
    severity: AllergySeverity,
    status: AllergyStatus,
}

impl AllergyInput {
    pub fn parse(fields: &AllergyFields<'_>) -> Result<AllergyInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let substance = if fields.free_text {
            errors
                .check(
                    "substance",
                    SubstanceText::parse(fields.substance).map_err(|m| {
                        if m == "is required" {
                            "is required: type the substance, or choose one from the list".into()
                        } else {
                            m
                        }
                    }),
                )
                .map(Substance::FreeText)
        } else {
            let code = fields.substance.trim().to_ascii_lowercase();
            if code.is_empty() {
                errors.push(
                    "substance",
                    "is required: choose one from the list, or type it as free text",
                );
                None
            } else if let Some(found) = coded_substance(&code) {
                Some(Substance::Coded(found))
            } else {
                errors.push(
                    "substance",
                    "is not in the list of coded substances: choose one from the list, or mark it as free text",
                );
                None
            }
        };
        let reaction = match fields.reaction.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(raw) => errors.check("reaction", Reaction::parse(raw)),
        };
        let severity = match fields.severity.trim() {
            "" => Some(AllergySeverity::Unknown),
            raw => errors.check("severity", AllergySeverity::parse(raw)),
        };
        let status = match fields.status.trim() {
            "" => Some(AllergyStatus::Active),
            raw => match AllergyStatus::parse(raw) {
                Ok(AllergyStatus::EnteredInError) => {
                    errors.push(
                        "status",
                        "must be active or inactive for a new entry (entered in error marks an existing one)",
                    );
                    None
                }
                other => errors.check("status", other),
            },
        };
        errors.into_result()?;
        match (substance, severity, status) {
            (Some(substance), Some(severity), Some(status)) => Ok(AllergyInput {
                substance,
                reaction,
                severity,
                status,
            }),
            _ => Err(ValidationErrors::single("substance", "is required")),
        }
    }

    /// An entry transcribed from an earlier record: active, severity unknown, no reaction.
    pub fn transcribed(substance: Substance) -> AllergyInput {
        AllergyInput {
            substance,
            reaction: None,
            severity: AllergySeverity::Unknown,
            status: AllergyStatus::Active,
        }
    }

    pub fn substance(&self) -> &Substance {
        &self.substance
    }

    pub fn reaction(&self) -> Option<&Reaction> {
        self.reaction.as_ref()
    }

    pub fn severity(&self) -> AllergySeverity {
        self.severity
    }

    pub fn status(&self) -> AllergyStatus {
        self.status
    }
}

impl fmt::Debug for AllergyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllergyInput")
            .field("substance", &self.substance)
            .field("severity", &self.severity)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allergy::transcribed_substances;

    fn fields(substance: &str, free_text: bool) -> AllergyFields<'_> {
        AllergyFields {
            substance,
            free_text,
            ..AllergyFields::default()
        }
    }

    fn errors_of(result: Result<AllergyInput, ValidationErrors>) -> Vec<(String, String)> {
        result
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn a_coded_substance_is_parsed_by_code() {
        let parsed = AllergyInput::parse(&AllergyFields {
            substance: " Penicillins ",
            free_text: false,
            reaction: Some(" anaphylaxis "),
            severity: "Severe",
            status: "",
        })
        .unwrap();
        assert_eq!(parsed.substance().code(), Some("penicillins"));
        assert_eq!(parsed.substance().display(), "Penicillins");
        assert_eq!(parsed.reaction().map(Reaction::as_str), Some("anaphylaxis"));
        assert_eq!(parsed.severity(), AllergySeverity::Severe);
        assert_eq!(parsed.status(), AllergyStatus::Active);
    }

    #[test]
    fn free_text_must_be_flagged() {
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("kiwi fruit", false))),
            [(
                "substance".to_owned(),
                "is not in the list of coded substances: choose one from the list, or mark it as free text".to_owned()
            )]
        );
        let parsed = AllergyInput::parse(&fields("kiwi fruit", true)).unwrap();
        assert!(parsed.substance().is_free_text());
        assert_eq!(parsed.substance().code(), None);
        assert_eq!(parsed.substance().display(), "kiwi fruit");
        // A flagged entry stays free text even when it names a coded substance.
        let flagged = AllergyInput::parse(&fields("latex", true)).unwrap();
        assert!(flagged.substance().is_free_text());
    }

    #[test]
    fn the_parser_refuses_what_it_must_with_field_messages() {
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("  ", false)))[0].0,
            "substance"
        );
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("", true)))[0].1,
            "is required: type the substance, or choose one from the list"
        );
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("x", true)))[0].1,
            "must be at least 2 characters"
        );
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("123", true)))[0].1,
            "must contain a word"
        );
        let long = "a".repeat(SUBSTANCE_TEXT_MAX + 1);
        assert_eq!(
            errors_of(AllergyInput::parse(&fields(&long, true)))[0].1,
            "must be at most 200 characters"
        );
        assert!(AllergyInput::parse(&fields(&"a".repeat(SUBSTANCE_TEXT_MAX), true)).is_ok());
        assert_eq!(
            errors_of(AllergyInput::parse(&fields("two\nlines", true)))[0].1,
            "must be on one line, without control characters"
        );
        let all_bad = errors_of(AllergyInput::parse(&AllergyFields {
            substance: "",
            free_text: false,
            reaction: Some(&"r".repeat(REACTION_MAX + 1)),
            severity: "deadly",
            status: "entered_in_error",
        }));
        let named: Vec<&str> = all_bad.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(named, ["substance", "reaction", "severity", "status"]);
        assert_eq!(
            all_bad[2].1,
            "must be one of the allergy severities: mild, moderate, severe, unknown"
        );
        // Blank reaction, severity and status are "none", "unknown" and "active".
        let defaults = AllergyInput::parse(&AllergyFields {
            substance: "egg",
            reaction: Some("   "),
            ..AllergyFields::default()
        })
        .unwrap();
        assert!(defaults.reaction().is_none());
        assert_eq!(defaults.severity(), AllergySeverity::Unknown);
        assert_eq!(defaults.status(), AllergyStatus::Active);
        let inactive = AllergyInput::parse(&AllergyFields {
            substance: "egg",
            status: "inactive",
            ..AllergyFields::default()
        })
        .unwrap();
        assert_eq!(inactive.status(), AllergyStatus::Inactive);
    }

    #[test]
    fn debug_prints_no_clinical_value() {
        let parsed = AllergyInput::parse(&AllergyFields {
            substance: "Qzsubstance",
            free_text: true,
            reaction: Some("Qzreaction"),
            severity: "mild",
            status: "",
        })
        .unwrap();
        let printed = format!(
            "{parsed:?} {:?} {:?} {:?}",
            parsed.substance(),
            parsed.reaction(),
            AllergyFields {
                substance: "Qzsubstance",
                reaction: Some("Qzreaction"),
                ..AllergyFields::default()
            }
        );
        assert!(!printed.contains("Qz"), "{printed}");
        let subs = transcribed_substances("Qzlegacy; Qzother").unwrap();
        assert!(!format!("{subs:?}").contains("Qz"));
    }

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (AllergyStatus::ALL); x = allowed.
        assert_status_matrix!(
            AllergyStatus,
            [
                // act ina eie
                ".   x   x", // active
                "x   .   x", // inactive
                ".   .   .", // entered_in_error
            ]
        );
        // check_change allows exactly what the graph allows, and words its refusals as before.
        use AllergyStatus::*;
        for &from in AllergyStatus::ALL {
            for &to in AllergyStatus::ALL {
                let expected = if from.can_transition_to(to) {
                    Ok(())
                } else if from == EnteredInError {
                    Err(
                        "the entry was marked entered in error; that is final: record a new \
                         entry instead"
                            .to_owned(),
                    )
                } else if from == to {
                    Err(format!("the entry is already {}", from.label()))
                } else {
                    unreachable!("{from} -> {to}: only final and same-status moves are refused")
                };
                assert_eq!(from.check_change(to), expected, "{from} -> {to}");
            }
        }
        assert_eq!(
            Inactive.check_change(Inactive).unwrap_err(),
            "the entry is already inactive"
        );
    }

    #[test]
    fn status_changes_follow_the_graph() {
        use AllergyStatus::*;
        assert!(Active.check_change(Inactive).is_ok());
        assert!(Active.check_change(EnteredInError).is_ok());
        assert!(Inactive.check_change(Active).is_ok());
        assert_eq!(
            Active.check_change(Active).unwrap_err(),
            "the entry is already active"
        );
        assert!(
            EnteredInError
                .check_change(Active)
                .unwrap_err()
                .contains("final")
        );
    }
}
