//! Whether a recorded allergy matches a drug about to be prescribed, and how
//! ([`drug_link`]), and the warning that says so in sentences ([`warning_sentence`]).

use std::fmt;

use super::{AllergySeverity, Substance, SubstanceKind, class_member_phrase, written_words};
use crate::clinical::{DRUG_CLASSES, allergy_match_details, normalise_word};

/// How a recorded allergy and a drug are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllergyLink {
    /// The drug's name names the recorded substance.
    SameSubstance,
    /// Both belong to this class of `clinical::DRUG_CLASSES` (its `name`).
    Class(&'static str),
}

/// Whether the words of `text` name the class itself (an alias or the class name), rather
/// than one of its members.
fn names_class(text: &str, class: &str) -> bool {
    let Some(found) = DRUG_CLASSES.iter().find(|c| c.name == class) else {
        return false;
    };
    let words: Vec<String> = written_words(text)
        .into_iter()
        .map(normalise_word)
        .collect();
    let joined = words.concat();
    let class_key = normalise_word(&class.to_lowercase());
    words
        .iter()
        .chain(std::iter::once(&joined))
        .any(|w| *w == class_key || found.aliases.contains(&w.as_str()))
}

/// Whether a recorded allergy to `substance` matches the drug about to be prescribed, and
/// how. A coded drug class matches a drug of that class; a coded drug the same drug or a
/// drug of its class; anything else goes through `clinical::allergy_match_details`.
pub fn drug_link(
    substance: &Substance,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Option<AllergyLink> {
    match substance {
        Substance::Coded(coded) => {
            // The class by its name: "penicillins" is an alias of its own class once
            // normalised, so this is exactly "is the drug a member of the class".
            if let Some(class) = coded.drug_class {
                let by_class = allergy_match_details(class, drug_name, generic_name)
                    .into_iter()
                    .any(|m| m.class.is_none_or(|c| c == class));
                if coded.kind == SubstanceKind::DrugClass {
                    return by_class.then_some(AllergyLink::Class(class));
                }
                let same = allergy_match_details(coded.label, drug_name, generic_name)
                    .into_iter()
                    .any(|m| m.class.is_none());
                if same {
                    return Some(AllergyLink::SameSubstance);
                }
                return by_class.then_some(AllergyLink::Class(class));
            }
            free_text_link(coded.label, drug_name, generic_name)
        }
        Substance::FreeText(text) => free_text_link(text.as_str(), drug_name, generic_name),
    }
}

fn free_text_link(text: &str, drug_name: &str, generic_name: Option<&str>) -> Option<AllergyLink> {
    allergy_match_details(text, drug_name, generic_name)
        .into_iter()
        .next()
        .map(|m| match m.class {
            Some(class) => AllergyLink::Class(class),
            None => AllergyLink::SameSubstance,
        })
}

/// What a warning says about the recorded allergy.
#[derive(Clone, Copy)]
pub struct RecordedAllergy<'a> {
    pub substance: &'a Substance,
    pub reaction: Option<&'a str>,
    pub severity: AllergySeverity,
}

impl fmt::Debug for RecordedAllergy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordedAllergy(…)")
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The prescribing warning for a recorded allergy that matches a drug, as full sentences
/// naming the allergy (substance, reaction, severity), the drug and how they match:
/// "Recorded allergy: Penicillins — anaphylaxis (severe). Amoxicillin is a penicillin."
pub fn warning_sentence(
    allergy: &RecordedAllergy<'_>,
    drug_name: &str,
    generic_name: Option<&str>,
    link: AllergyLink,
) -> String {
    let substance = allergy.substance.display();
    let mut out = if allergy.substance.is_free_text() {
        format!("Recorded allergy (free text): {substance}")
    } else {
        format!("Recorded allergy: {substance}")
    };
    if let Some(reaction) = allergy.reaction {
        out.push_str(" — ");
        out.push_str(reaction);
    }
    out.push_str(&format!(" ({}). ", allergy.severity.phrase()));
    let drug_name = drug_name.trim();
    let drug = match generic_name.map(str::trim).filter(|g| !g.is_empty()) {
        Some(generic) if !drug_name.to_lowercase().contains(&generic.to_lowercase()) => {
            format!("{drug_name} ({generic})")
        }
        _ => drug_name.to_owned(),
    };
    let drug = capitalised(&drug);
    let sentence = match link {
        AllergyLink::SameSubstance => {
            format!("{drug} matches the recorded substance by name.")
        }
        AllergyLink::Class(class) => {
            let is_the_class = match allergy.substance {
                Substance::Coded(c) => c.kind == SubstanceKind::DrugClass,
                Substance::FreeText(t) => names_class(t.as_str(), class),
            };
            match class_member_phrase(class) {
                Some(member) if is_the_class => format!("{drug} is {member}."),
                _ => format!("{drug} and {substance} are both {class}."),
            }
        }
    };
    out.push_str(&sentence);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allergy::{SubstanceText, coded_substance};

    #[test]
    fn coded_classes_match_their_members_only() {
        let penicillins = Substance::Coded(coded_substance("penicillins").unwrap());
        assert_eq!(
            drug_link(&penicillins, "Amoxicillin 500 mg capsules", None),
            Some(AllergyLink::Class("penicillins"))
        );
        assert_eq!(
            drug_link(&penicillins, "Augmentin", Some("co-amoxiclav")),
            Some(AllergyLink::Class("penicillins"))
        );
        assert_eq!(drug_link(&penicillins, "Cefalexin", None), None);
        assert_eq!(drug_link(&penicillins, "Paracetamol", None), None);
        let nsaids = Substance::Coded(coded_substance("nsaids").unwrap());
        assert_eq!(
            drug_link(&nsaids, "Ibuprofen 400mg", None),
            Some(AllergyLink::Class("NSAIDs"))
        );
        let sulfa = Substance::Coded(coded_substance("sulfonamides").unwrap());
        assert_eq!(
            drug_link(&sulfa, "Septrin", Some("co-trimoxazole")),
            Some(AllergyLink::Class("sulfonamides"))
        );
        assert_eq!(drug_link(&sulfa, "Ferrous sulfate", None), None);
    }

    #[test]
    fn coded_drugs_match_themselves_and_their_class() {
        let aspirin = Substance::Coded(coded_substance("aspirin").unwrap());
        assert_eq!(
            drug_link(&aspirin, "Aspirin 75 mg", None),
            Some(AllergyLink::SameSubstance)
        );
        assert_eq!(
            drug_link(&aspirin, "Naproxen", None),
            Some(AllergyLink::Class("NSAIDs"))
        );
        assert_eq!(drug_link(&aspirin, "Paracetamol", None), None);
        let latex = Substance::Coded(coded_substance("latex").unwrap());
        assert_eq!(drug_link(&latex, "Amoxicillin", None), None);
        let paracetamol = Substance::Coded(coded_substance("paracetamol").unwrap());
        assert_eq!(
            drug_link(&paracetamol, "Acetaminophen 500mg", None),
            Some(AllergyLink::SameSubstance)
        );
    }

    #[test]
    fn free_text_matches_through_the_safety_net() {
        let text = Substance::FreeText(SubstanceText::parse("penicillin").unwrap());
        assert_eq!(
            drug_link(&text, "Flucloxacillin", None),
            Some(AllergyLink::Class("penicillins"))
        );
        let member = Substance::FreeText(SubstanceText::parse("amoxicillin").unwrap());
        assert_eq!(
            drug_link(&member, "Amoxicillin 250mg", None),
            Some(AllergyLink::SameSubstance)
        );
        assert_eq!(drug_link(&member, "Paracetamol", None), None);
    }

    #[test]
    fn warnings_are_sentences_naming_allergy_drug_and_link() {
        let penicillins = Substance::Coded(coded_substance("penicillins").unwrap());
        let recorded = RecordedAllergy {
            substance: &penicillins,
            reaction: Some("anaphylaxis"),
            severity: AllergySeverity::Severe,
        };
        assert_eq!(
            warning_sentence(
                &recorded,
                "Amoxicillin",
                None,
                AllergyLink::Class("penicillins")
            ),
            "Recorded allergy: Penicillins — anaphylaxis (severe). Amoxicillin is a penicillin."
        );
        let member = Substance::FreeText(SubstanceText::parse("amoxicillin").unwrap());
        let recorded = RecordedAllergy {
            substance: &member,
            reaction: None,
            severity: AllergySeverity::Unknown,
        };
        assert_eq!(
            warning_sentence(
                &recorded,
                "flucloxacillin",
                None,
                AllergyLink::Class("penicillins")
            ),
            "Recorded allergy (free text): amoxicillin (severity unknown). Flucloxacillin and amoxicillin are both penicillins."
        );
        assert_eq!(
            warning_sentence(
                &recorded,
                "Augmentin",
                Some("co-amoxiclav"),
                AllergyLink::SameSubstance
            ),
            "Recorded allergy (free text): amoxicillin (severity unknown). Augmentin (co-amoxiclav) matches the recorded substance by name."
        );
        let class_text = Substance::FreeText(SubstanceText::parse("Penicillin").unwrap());
        let recorded = RecordedAllergy {
            substance: &class_text,
            reaction: Some("rash"),
            severity: AllergySeverity::Mild,
        };
        assert_eq!(
            warning_sentence(
                &recorded,
                "Amoxicillin 500 mg capsules",
                None,
                AllergyLink::Class("penicillins")
            ),
            "Recorded allergy (free text): Penicillin — rash (mild). Amoxicillin 500 mg capsules is a penicillin."
        );
    }
}
