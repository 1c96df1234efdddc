//! The problem list: a patient's conditions over time (an ICD-10-CM code or free text
//! flagged as such), each with its onset and whether it is still active.
//!
//! A problem's code is checked like a diagnosis's: ICD-10 shape and present in the bundled
//! list (`core::icd10`); free text only with the `free_text` flag. The onset is optional,
//! a date not in the future (nor before 1880, which catches typing errors). A problem is
//! resolved and reactivated; nothing else changes its status.

use std::fmt;

use chrono::NaiveDate;

use crate::ValidationErrors;
use crate::clinical::{DiagnosisCode, DiagnosisText};

text_choice!(
    /// Whether a problem is current.
    ProblemStatus, "the problem statuses" {
        Active => "active",
        Resolved => "resolved",
    }
);

/// The allowed changes of a problem, one row per status in [`ProblemStatus::ALL`] order: it
/// is resolved and reactivated, nothing else.
pub const PROBLEM_TRANSITIONS: [(ProblemStatus, &[ProblemStatus]); 2] = [
    (ProblemStatus::Active, &[ProblemStatus::Resolved]),
    (ProblemStatus::Resolved, &[ProblemStatus::Active]),
];

status_graph!(ProblemStatus, "problem", PROBLEM_TRANSITIONS);

impl ProblemStatus {
    /// `Ok` when a problem in this status may move to `to`; otherwise why not (the only
    /// refused change is to the status it already has).
    pub fn check_change(self, to: ProblemStatus) -> Result<(), String> {
        if self.can_transition_to(to) {
            Ok(())
        } else {
            Err(format!("the problem is already {self}"))
        }
    }
}

/// The earliest onset accepted.
const EARLIEST_ONSET_YEAR: i32 = 1880;

/// What the problem is: a code from the bundled ICD-10-CM list, or words flagged as free
/// text.
#[derive(Clone, PartialEq, Eq)]
pub enum Condition {
    Coded(DiagnosisCode),
    FreeText(DiagnosisText),
}

impl Condition {
    /// The ICD-10 code, for a coded problem.
    pub fn code(&self) -> Option<&DiagnosisCode> {
        match self {
            Condition::Coded(code) => Some(code),
            Condition::FreeText(_) => None,
        }
    }

    /// The code's title from the bundled list, or the free text.
    pub fn text(&self) -> String {
        match self {
            Condition::Coded(code) => crate::icd10::lookup(code.as_str())
                .map(|c| c.title.to_owned())
                .unwrap_or_default(),
            Condition::FreeText(text) => text.as_str().to_owned(),
        }
    }

    pub fn is_free_text(&self) -> bool {
        matches!(self, Condition::FreeText(_))
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Coded(_) => f.write_str("Condition::Coded(…)"),
            Condition::FreeText(_) => f.write_str("Condition::FreeText(…)"),
        }
    }
}

/// A problem as submitted, before validation. Its `Debug` output shows no value.
#[derive(Clone, Copy, Default)]
pub struct ProblemFields<'a> {
    pub code: Option<&'a str>,
    pub text: Option<&'a str>,
    pub free_text: bool,
    /// `YYYY-MM-DD`; blank: not known.
    pub onset: Option<&'a str>,
    /// Blank: `active`.
    pub status: &'a str,
}

impl fmt::Debug for ProblemFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemFields")
            .field("free_text", &self.free_text)
            .finish_non_exhaustive()
    }
}

/// A validated problem. Errors name the fields `code`, `text`, `onset` and `status`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProblemInput {
    condition: Condition,
    onset: Option<NaiveDate>,
    status: ProblemStatus,
}

/// Parses an onset date against `today`.
pub fn parse_onset(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| "must be a date written YYYY-MM-DD".to_owned())?;
    if date > today {
        return Err("must not be in the future".into());
    }
    if date < NaiveDate::from_ymd_opt(EARLIEST_ONSET_YEAR, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err(format!("must not be before {EARLIEST_ONSET_YEAR}"));
    }
    Ok(date)
}

impl ProblemInput {
    /// Parses a problem; `today` is the hospital's current date (the onset may not be
    /// later).
    pub fn parse(
        fields: &ProblemFields<'_>,
        today: NaiveDate,
    ) -> Result<ProblemInput, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let condition = if fields.free_text {
            errors
                .check(
                    "text",
                    DiagnosisText::parse(fields.text.unwrap_or("")).map_err(|m| {
                        if m == "is required" {
                            "is required for a free-text problem".to_owned()
                        } else {
                            m
                        }
                    }),
                )
                .map(Condition::FreeText)
        } else {
            errors
                .check(
                    "code",
                    DiagnosisCode::parse(fields.code.unwrap_or(""))
                        .map_err(|m| {
                            if m == "is required" {
                                "is required (or mark the problem as free text)".to_owned()
                            } else {
                                m
                            }
                        })
                        .and_then(|code| crate::icd10::parse_code(code.as_str()))
                        .and_then(DiagnosisCode::parse),
                )
                .map(Condition::Coded)
        };
        let onset = match fields.onset.map(str::trim).filter(|o| !o.is_empty()) {
            None => None,
            Some(raw) => errors.check("onset", parse_onset(raw, today)),
        };
        let status = match fields.status.trim() {
            "" => Some(ProblemStatus::Active),
            raw => errors.check("status", ProblemStatus::parse(raw)),
        };
        errors.into_result()?;
        match (condition, status) {
            (Some(condition), Some(status)) => Ok(ProblemInput {
                condition,
                onset,
                status,
            }),
            _ => Err(ValidationErrors::single("code", "is required")),
        }
    }

    /// A problem from values already validated (an encounter's diagnosis): active.
    pub fn from_condition(condition: Condition, onset: Option<NaiveDate>) -> ProblemInput {
        ProblemInput {
            condition,
            onset,
            status: ProblemStatus::Active,
        }
    }

    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    pub fn onset(&self) -> Option<NaiveDate> {
        self.onset
    }

    pub fn status(&self) -> ProblemStatus {
        self.status
    }
}

impl fmt::Debug for ProblemInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemInput")
            .field("condition", &self.condition)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (ProblemStatus::ALL); x = allowed.
        assert_status_matrix!(
            ProblemStatus,
            [
                // act res
                ".   x", // active
                "x   .", // resolved
            ]
        );
        assert_eq!(
            ProblemStatus::Resolved.check_change(ProblemStatus::Active),
            Ok(())
        );
        assert_eq!(
            ProblemStatus::Active
                .check_change(ProblemStatus::Active)
                .unwrap_err(),
            "the problem is already active"
        );
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    fn coded(code: &str) -> ProblemFields<'_> {
        ProblemFields {
            code: Some(code),
            ..ProblemFields::default()
        }
    }

    fn fields_in_error(result: Result<ProblemInput, ValidationErrors>) -> Vec<(String, String)> {
        result
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn a_code_from_the_bundled_list() {
        let parsed = ProblemInput::parse(&coded(" e119 "), today()).unwrap();
        assert_eq!(
            parsed.condition().code().map(DiagnosisCode::as_str),
            Some("E11.9")
        );
        assert!(parsed.condition().text().contains("diabetes"));
        assert_eq!(parsed.status(), ProblemStatus::Active);
        assert_eq!(parsed.onset(), None);
        let unknown = fields_in_error(ProblemInput::parse(&coded("Z99.99"), today()));
        assert_eq!(unknown[0].0, "code");
        let shapeless = fields_in_error(ProblemInput::parse(&coded("diabetes"), today()));
        assert_eq!(shapeless[0].1, "must be an ICD-10 code like J45.9");
        let missing = fields_in_error(ProblemInput::parse(&coded(""), today()));
        assert_eq!(
            missing[0].1,
            "is required (or mark the problem as free text)"
        );
    }

    #[test]
    fn free_text_must_be_flagged() {
        let parsed = ProblemInput::parse(
            &ProblemFields {
                text: Some("Chronic lower back pain"),
                free_text: true,
                ..ProblemFields::default()
            },
            today(),
        )
        .unwrap();
        assert!(parsed.condition().is_free_text());
        assert_eq!(parsed.condition().text(), "Chronic lower back pain");
        let unflagged = fields_in_error(ProblemInput::parse(
            &ProblemFields {
                text: Some("Chronic lower back pain"),
                ..ProblemFields::default()
            },
            today(),
        ));
        assert_eq!(unflagged[0].0, "code");
        let empty = fields_in_error(ProblemInput::parse(
            &ProblemFields {
                free_text: true,
                ..ProblemFields::default()
            },
            today(),
        ));
        assert_eq!(
            empty,
            [(
                "text".to_owned(),
                "is required for a free-text problem".to_owned()
            )]
        );
    }

    #[test]
    fn the_onset_is_a_past_date() {
        let on = |onset: &'static str| {
            ProblemInput::parse(
                &ProblemFields {
                    onset: Some(onset),
                    ..coded("I10")
                },
                today(),
            )
        };
        assert_eq!(
            on("2026-03-02").unwrap().onset(),
            NaiveDate::from_ymd_opt(2026, 3, 2)
        );
        assert_eq!(on("  ").unwrap().onset(), None);
        assert_eq!(
            fields_in_error(on("2026-03-03")),
            [("onset".to_owned(), "must not be in the future".to_owned())]
        );
        assert_eq!(
            fields_in_error(on("03/02/2026"))[0].1,
            "must be a date written YYYY-MM-DD"
        );
        assert_eq!(
            fields_in_error(on("1879-12-31"))[0].1,
            "must not be before 1880"
        );
    }

    #[test]
    fn status_and_several_errors_at_once() {
        let all = fields_in_error(ProblemInput::parse(
            &ProblemFields {
                code: Some("nope"),
                onset: Some("tomorrow"),
                status: "cured",
                ..ProblemFields::default()
            },
            today(),
        ));
        let names: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["code", "onset", "status"]);
        let resolved = ProblemInput::parse(
            &ProblemFields {
                status: "Resolved",
                ..coded("I10")
            },
            today(),
        )
        .unwrap();
        assert_eq!(resolved.status(), ProblemStatus::Resolved);
        assert!(
            ProblemStatus::Active
                .check_change(ProblemStatus::Resolved)
                .is_ok()
        );
        assert_eq!(
            ProblemStatus::Resolved
                .check_change(ProblemStatus::Resolved)
                .unwrap_err(),
            "the problem is already resolved"
        );
    }

    #[test]
    fn debug_prints_no_clinical_value() {
        let parsed = ProblemInput::parse(
            &ProblemFields {
                text: Some("Qzcondition"),
                free_text: true,
                onset: Some("2020-01-01"),
                ..ProblemFields::default()
            },
            today(),
        )
        .unwrap();
        let printed = format!(
            "{parsed:?} {:?}",
            ProblemFields {
                text: Some("Qzcondition"),
                ..ProblemFields::default()
            }
        );
        assert!(
            !printed.contains("Qz") && !printed.contains("2020"),
            "{printed}"
        );
    }
}
