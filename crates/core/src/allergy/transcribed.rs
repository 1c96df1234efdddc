//! Entries from a transcribed free-text record (the old `allergies` field, or a paper record
//! typed in at registration): split into substances losing no word
//! ([`transcribed_substances`]), or recognised as saying "no known allergies".

use super::{Substance, SubstanceText, coded_by_label, written_words};
use crate::clinical::split_allergies;

/// The substances of a transcribed free-text allergy record (the old `allergies` field, or
/// a paper record typed in at registration), in order, losing no word: the parts of
/// `clinical::split_allergies`, or the whole text as one entry when splitting would drop a
/// word (`Penicillin and latex`: "and" is a separator there). A part that is exactly a coded
/// substance's label is coded; other parts are free text. Empty text gives nothing.
pub fn transcribed_substances(text: &str) -> Result<Vec<Substance>, String> {
    let whole = text.trim();
    if whole.is_empty() {
        return Ok(Vec::new());
    }
    let parts = split_allergies(whole);
    let kept: Vec<&str> = parts.iter().flat_map(|p| written_words(p)).collect();
    let parts = if parts.is_empty() || kept != written_words(whole) {
        vec![whole]
    } else {
        parts
    };
    parts
        .into_iter()
        .map(|part| match coded_by_label(part) {
            Some(found) => Ok(Substance::Coded(found)),
            None => SubstanceText::parse_transcribed(part).map(Substance::FreeText),
        })
        .collect()
}

/// The usual ways a record says "no known allergies", lowercase, without punctuation.
const NO_KNOWN_ALLERGIES_PHRASES: &[&str] = &[
    "nka",
    "nkda",
    "nkma",
    "no known allergies",
    "no known allergy",
    "no known drug allergies",
    "no known drug allergy",
    "no allergies",
    "no allergies known",
    "none",
    "none known",
    "nil",
    "nil known",
];

/// Whether a transcribed allergy text says nothing but "no known allergies" (`NKDA`,
/// `None known.`, `no known drug allergies`), ignoring case, spacing and punctuation. Text
/// naming anything else ("none known except latex") does not.
pub fn states_no_known_allergies(text: &str) -> bool {
    let words: Vec<String> = written_words(text)
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    let spaced = words.join(" ");
    // "N.K.A." is "nka" once its letters are joined.
    let joined = words.concat();
    NO_KNOWN_ALLERGIES_PHRASES
        .iter()
        .any(|phrase| *phrase == spaced || *phrase == joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(found: &[Substance]) -> Vec<(&str, bool)> {
        found
            .iter()
            .map(|s| (s.display(), s.is_free_text()))
            .collect()
    }

    #[test]
    fn transcribed_text_is_split_without_losing_a_word() {
        assert_eq!(
            texts(&transcribed_substances("Penicillin (rash, hives); latex\nshellfish").unwrap()),
            [
                ("Penicillin (rash, hives)", true),
                ("Latex", false),
                ("Shellfish", false)
            ]
        );
        // "and" would be dropped by the split: the whole text stays one entry.
        assert_eq!(
            texts(&transcribed_substances("Penicillin and latex").unwrap()),
            [("Penicillin and latex", true)]
        );
        // Exactly a label (any case, any spacing) is coded; near misses stay free text.
        assert_eq!(
            texts(&transcribed_substances("  iodinated   CONTRAST media ").unwrap()),
            [("Iodinated contrast media", false)]
        );
        assert_eq!(
            texts(&transcribed_substances("Penicillin").unwrap()),
            [("Penicillin", true)]
        );
        assert!(transcribed_substances("   ").unwrap().is_empty());
        // Separators only: kept, not silently dropped.
        assert_eq!(
            texts(&transcribed_substances(";;").unwrap()),
            [(";;", true)]
        );
        // Long legacy text (up to the old field's limit) stays whole.
        let long = format!("{} reaction", "word ".repeat(390));
        assert_eq!(transcribed_substances(&long).unwrap().len(), 1);
    }

    #[test]
    fn every_word_of_transcribed_text_is_kept() {
        for text in [
            "penicillin, sulfa drugs",
            "Amoxicillin/clavulanate & NSAIDs + codeine | morphine",
            "Severe: morphine",
            "nuts and eggs, (peanut and sesame)",
            "Co-trimoxazole - rash\r\nLatex",
            "=HYPERLINK(\"http://x\",\"y\")",
        ] {
            let found = transcribed_substances(text).unwrap();
            let joined: Vec<String> = found.iter().map(|s| s.display().to_lowercase()).collect();
            for word in written_words(text) {
                assert!(
                    joined.iter().any(|p| p.contains(&word.to_lowercase())),
                    "{word} of {text} lost: {joined:?}"
                );
            }
        }
    }

    #[test]
    fn only_plain_no_known_allergies_texts_are_that_statement() {
        for text in [
            "NKDA",
            "None known.",
            " no known drug allergies ",
            "Nil",
            "N.K.A.",
        ] {
            assert!(states_no_known_allergies(text), "{text}");
        }
        for text in ["None known except latex", "Penicillin", "no", ""] {
            assert!(!states_no_known_allergies(text), "{text}");
        }
    }
}
