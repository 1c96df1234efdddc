//! The diagnoses of an encounter: an ICD-10 code ([`DiagnosisCode`]) or words flagged as free
//! text, primary or secondary, and the checks on an encounter's list of them.

use std::fmt;

use super::clean_text;
use crate::ValidationErrors;

text_choice!(
    /// Whether a diagnosis is the main reason for the encounter or an additional one.
    DiagnosisKind, "the diagnosis kinds" {
        Primary => "primary",
        Secondary => "secondary",
    }
);

/// An ICD-10 code in its written shape: a letter, two characters (a digit, then a digit or
/// letter), and optionally a dot and 1–4 digits or letters (`J45.9`, `C4A.0`, `S72.001A`).
/// Parsing uppercases it, drops spaces and puts in a missing dot (`j459` is `J45.9`).
/// Whether the code exists is not checked by [`DiagnosisCode::parse`];
/// [`DiagnosisEntry::parse`] also looks it up in the bundled list (`core::icd10`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiagnosisCode(String);

impl DiagnosisCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err("is required".into());
        }
        let invalid = || "must be an ICD-10 code like J45.9".to_owned();
        let bytes = compact.as_bytes();
        // An ICD-10-CM category is a letter, a digit and a digit or letter (`J45`, `C4A`), or
        // since FY2026 a letter, a letter and a digit (`QA0`, in the bundled list).
        let head_ok = bytes.len() >= 3
            && bytes[0].is_ascii_uppercase()
            && ((bytes[1].is_ascii_digit()
                && (bytes[2].is_ascii_digit() || bytes[2].is_ascii_uppercase()))
                || (bytes[1].is_ascii_uppercase() && bytes[2].is_ascii_digit()));
        if !head_ok || !compact.is_ascii() {
            return Err(invalid());
        }
        let tail = &compact[3..];
        let tail = tail.strip_prefix('.').unwrap_or(tail);
        if compact.len() > 3 && tail.is_empty() {
            return Err(invalid());
        }
        if tail.len() > 4
            || !tail
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(invalid());
        }
        if tail.is_empty() {
            Ok(Self(compact))
        } else {
            Ok(Self(format!("{}.{tail}", &compact[..3])))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-character category (`J45` for `J45.9`), for reports by code.
    pub fn category(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Debug for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DiagnosisCode(…)")
    }
}

impl fmt::Display for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest accepted free-text diagnosis, in characters.
pub const DIAGNOSIS_TEXT_MAX: usize = 500;

sensitive_text!(
    /// A diagnosis in words, when no ICD-10 code fits: 2–500 characters on one line.
    DiagnosisText
);

impl DiagnosisText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, 2, DIAGNOSIS_TEXT_MAX, false)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must contain a word".into());
        }
        Ok(Self(value))
    }
}

/// What was diagnosed: a code, or words flagged as free text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Diagnosis {
    Coded(DiagnosisCode),
    FreeText(DiagnosisText),
}

impl fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnosis::Coded(_) => f.write_str("Diagnosis::Coded(…)"),
            Diagnosis::FreeText(_) => f.write_str("Diagnosis::FreeText(…)"),
        }
    }
}

/// One diagnosis of an encounter: its kind and either an ICD-10 code or free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiagnosisEntry {
    kind: DiagnosisKind,
    diagnosis: Diagnosis,
}

impl DiagnosisEntry {
    /// Parses one diagnosis from its fields `kind`, `code` and `text`. With `free_text`
    /// false the code is read: it must have ICD-10 shape and be in the bundled list
    /// ([`crate::icd10::parse_code`]), and is kept in its canonical form. With `free_text`
    /// true the text is read. The other field is ignored (a form sends both, whichever the
    /// toggle shows).
    pub fn parse(
        kind_raw: &str,
        code_raw: Option<&str>,
        text_raw: Option<&str>,
        free_text: bool,
    ) -> Result<DiagnosisEntry, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = errors.check("kind", DiagnosisKind::parse(kind_raw));
        let diagnosis = if free_text {
            errors
                .check(
                    "text",
                    DiagnosisText::parse(text_raw.unwrap_or("")).map_err(|m| {
                        if m == "is required" {
                            "is required for a free-text diagnosis".to_owned()
                        } else {
                            m
                        }
                    }),
                )
                .map(Diagnosis::FreeText)
        } else {
            errors
                .check(
                    "code",
                    DiagnosisCode::parse(code_raw.unwrap_or(""))
                        .map_err(|m| {
                            if m == "is required" {
                                "is required (or mark the diagnosis as free text)".to_owned()
                            } else {
                                m
                            }
                        })
                        .and_then(|code| crate::icd10::parse_code(code.as_str()))
                        .and_then(DiagnosisCode::parse),
                )
                .map(Diagnosis::Coded)
        };
        errors.into_result()?;
        match (kind, diagnosis) {
            (Some(kind), Some(diagnosis)) => Ok(DiagnosisEntry { kind, diagnosis }),
            _ => Err(ValidationErrors::single("kind", "is required")),
        }
    }

    /// An entry from values already validated (a stored row).
    pub fn new(kind: DiagnosisKind, diagnosis: Diagnosis) -> DiagnosisEntry {
        DiagnosisEntry { kind, diagnosis }
    }

    pub fn kind(&self) -> DiagnosisKind {
        self.kind
    }

    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }

    /// Whether this diagnosis is uncoded free text.
    pub fn is_free_text(&self) -> bool {
        matches!(self.diagnosis, Diagnosis::FreeText(_))
    }

    /// The ICD-10 code, for a coded diagnosis.
    pub fn code(&self) -> Option<&DiagnosisCode> {
        match &self.diagnosis {
            Diagnosis::Coded(code) => Some(code),
            Diagnosis::FreeText(_) => None,
        }
    }

    /// The words, for a free-text diagnosis.
    pub fn text(&self) -> Option<&DiagnosisText> {
        match &self.diagnosis {
            Diagnosis::FreeText(text) => Some(text),
            Diagnosis::Coded(_) => None,
        }
    }
}

/// Checks an encounter's diagnoses together: at most one primary, and no code or free text
/// listed twice (text compared ignoring case and spacing). The messages never repeat the
/// diagnosis itself.
pub fn check_diagnosis_list(entries: &[DiagnosisEntry]) -> Result<(), String> {
    let primaries = entries
        .iter()
        .filter(|e| e.kind == DiagnosisKind::Primary)
        .count();
    if primaries > 1 {
        return Err("may have only one primary diagnosis".into());
    }
    let mut seen: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = match &entry.diagnosis {
            Diagnosis::Coded(code) => format!("code:{}", code.as_str()),
            Diagnosis::FreeText(text) => format!(
                "text:{}",
                text.as_str()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            ),
        };
        if seen.contains(&key) {
            return Err("lists the same diagnosis twice".into());
        }
        seen.push(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnosis_kinds_round_trip_their_text() {
        for k in DiagnosisKind::ALL {
            assert_eq!(DiagnosisKind::parse(k.as_str()).unwrap(), *k);
        }
    }

    #[test]
    fn icd10_code_shapes() {
        for (raw, code) in [
            ("J45.9", "J45.9"),
            ("j45.9", "J45.9"),
            (" J45 .9 ", "J45.9"),
            ("J459", "J45.9"),
            ("I10", "I10"),
            ("C4A.0", "C4A.0"),
            ("S72.001A", "S72.001A"),
            ("S72001A", "S72.001A"),
            ("U07.1", "U07.1"),
        ] {
            assert_eq!(DiagnosisCode::parse(raw).unwrap().as_str(), code, "{raw}");
        }
        for bad in [
            "",
            "J4",
            "45.9",
            "JJA.9", // (a letter second is well-formed since FY2026: `QA0.0`)
            "J4.59",
            "J45.",
            "J45.12345",
            "J45-9",
            "J45.9.1",
            "Ü45.9",
            "asthma",
        ] {
            assert!(DiagnosisCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(DiagnosisCode::parse("").unwrap_err(), "is required");
        assert_eq!(
            DiagnosisCode::parse("asthma").unwrap_err(),
            "must be an ICD-10 code like J45.9"
        );
        assert_eq!(DiagnosisCode::parse("S72.001A").unwrap().category(), "S72");
        assert_eq!(DiagnosisCode::parse("qa00").unwrap().as_str(), "QA0.0");
        assert_eq!(DiagnosisCode::parse("C4A.9").unwrap().category(), "C4A");
        assert!(DiagnosisCode::parse("QAB.0").is_err());
        assert!(!format!("{:?}", DiagnosisCode::parse("J45.9").unwrap()).contains("J45"));
    }

    #[test]
    fn coded_and_free_text_diagnoses() {
        let coded = DiagnosisEntry::parse("primary", Some("j459"), Some("Asthma"), false).unwrap();
        assert_eq!(coded.kind(), DiagnosisKind::Primary);
        assert!(!coded.is_free_text());
        assert_eq!(coded.code().unwrap().as_str(), "J45.9");
        assert!(coded.text().is_none());

        let free =
            DiagnosisEntry::parse("secondary", Some(""), Some(" Viral rash "), true).unwrap();
        assert!(free.is_free_text());
        assert_eq!(free.text().unwrap().as_str(), "Viral rash");
        assert!(free.code().is_none());

        let errors = DiagnosisEntry::parse("main", None, Some("Asthma"), false).unwrap_err();
        assert!(errors.message_for("kind").is_some());
        assert_eq!(
            errors.message_for("code"),
            Some("is required (or mark the diagnosis as free text)")
        );
        // Shaped like a code but not in the bundled list.
        let errors = DiagnosisEntry::parse("primary", Some("Z99.Z"), None, false).unwrap_err();
        assert!(
            errors.message_for("code").unwrap().contains("code list"),
            "{errors:?}"
        );
        let errors = DiagnosisEntry::parse("primary", Some("asthma"), None, false).unwrap_err();
        assert_eq!(
            errors.message_for("code"),
            Some("must be an ICD-10 code like J45.9")
        );
        let errors = DiagnosisEntry::parse("primary", Some("J45.9"), None, true).unwrap_err();
        assert_eq!(
            errors.message_for("text"),
            Some("is required for a free-text diagnosis")
        );
        let errors =
            DiagnosisEntry::parse("primary", Some("J45.9"), Some("a\u{0}b"), true).unwrap_err();
        assert!(errors.message_for("text").is_some());
        assert!(DiagnosisText::parse(&"x".repeat(501)).is_err());
        assert!(DiagnosisText::parse("42").is_err());

        let debug = format!("{coded:?} {free:?}");
        assert!(!debug.contains("J45") && !debug.contains("rash"), "{debug}");
    }

    #[test]
    fn diagnosis_lists() {
        let entry =
            |kind: &str, code: &str| DiagnosisEntry::parse(kind, Some(code), None, false).unwrap();
        let text = |kind: &str, t: &str| DiagnosisEntry::parse(kind, None, Some(t), true).unwrap();
        assert!(check_diagnosis_list(&[]).is_ok());
        assert!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("secondary", "I10")]).is_ok()
        );
        assert_eq!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("primary", "I10")])
                .unwrap_err(),
            "may have only one primary diagnosis"
        );
        assert_eq!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("secondary", "j459")])
                .unwrap_err(),
            "lists the same diagnosis twice"
        );
        assert!(
            check_diagnosis_list(&[
                text("secondary", "Viral  rash"),
                text("secondary", "viral rash")
            ])
            .is_err()
        );
        assert!(
            check_diagnosis_list(&[entry("secondary", "I10"), text("secondary", "I10 like")])
                .is_ok()
        );
    }
}
