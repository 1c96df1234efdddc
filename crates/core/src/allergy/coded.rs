//! The coded substances ([`CODED_SUBSTANCES`]): a short list of drug classes, drugs, foods
//! and environmental substances, with their stable codes and the labels clinicians read.

text_choice!(
    /// What kind of substance a coded substance is.
    SubstanceKind, "the substance kinds" {
        /// A class of drugs (penicillins): matches every drug of the class.
        DrugClass => "drug_class",
        Drug => "drug",
        Food => "food",
        /// Latex, contrast media, stings, pollen…
        Environmental => "environmental",
    }
);

/// One substance of the coded list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodedSubstance {
    /// Stable code, stored and sent in JSON (`penicillins`).
    pub code: &'static str,
    /// What a clinician reads (`Penicillins`).
    pub label: &'static str,
    pub kind: SubstanceKind,
    /// The drug class of `clinical::DRUG_CLASSES` it is or belongs to (by its `name`).
    pub drug_class: Option<&'static str>,
}

const fn coded(
    code: &'static str,
    label: &'static str,
    kind: SubstanceKind,
    drug_class: Option<&'static str>,
) -> CodedSubstance {
    CodedSubstance {
        code,
        label,
        kind,
        drug_class,
    }
}

/// The coded substances, in the order a form offers them (drug classes, drugs, foods,
/// environmental). Every class of `clinical::DRUG_CLASSES` is here (a test checks it).
pub const CODED_SUBSTANCES: &[CodedSubstance] = {
    use SubstanceKind::{Drug, DrugClass, Environmental, Food};
    &[
        coded("penicillins", "Penicillins", DrugClass, Some("penicillins")),
        coded(
            "cephalosporins",
            "Cephalosporins",
            DrugClass,
            Some("cephalosporins"),
        ),
        coded(
            "sulfonamides",
            "Sulfonamides (sulfa drugs)",
            DrugClass,
            Some("sulfonamides"),
        ),
        coded("nsaids", "NSAIDs", DrugClass, Some("NSAIDs")),
        coded("opioids", "Opioids", DrugClass, Some("opioids")),
        coded("statins", "Statins", DrugClass, Some("statins")),
        coded("macrolides", "Macrolide antibiotics", DrugClass, None),
        coded("tetracyclines", "Tetracyclines", DrugClass, None),
        coded("fluoroquinolones", "Fluoroquinolones", DrugClass, None),
        coded("ace_inhibitors", "ACE inhibitors", DrugClass, None),
        coded("local_anaesthetics", "Local anaesthetics", DrugClass, None),
        coded("amoxicillin", "Amoxicillin", Drug, Some("penicillins")),
        coded("aspirin", "Aspirin", Drug, Some("NSAIDs")),
        coded("ibuprofen", "Ibuprofen", Drug, Some("NSAIDs")),
        coded("codeine", "Codeine", Drug, Some("opioids")),
        coded("morphine", "Morphine", Drug, Some("opioids")),
        coded(
            "co_trimoxazole",
            "Co-trimoxazole",
            Drug,
            Some("sulfonamides"),
        ),
        coded("paracetamol", "Paracetamol", Drug, None),
        coded("heparin", "Heparin", Drug, None),
        coded("peanut", "Peanut", Food, None),
        coded("tree_nuts", "Tree nuts", Food, None),
        coded("egg", "Egg", Food, None),
        coded("milk", "Cow's milk", Food, None),
        coded("fish", "Fish", Food, None),
        coded("shellfish", "Shellfish", Food, None),
        coded("wheat", "Wheat", Food, None),
        coded("soy", "Soy", Food, None),
        coded("sesame", "Sesame", Food, None),
        coded("latex", "Latex", Environmental, None),
        coded(
            "iodinated_contrast",
            "Iodinated contrast media",
            Environmental,
            None,
        ),
        coded(
            "gadolinium_contrast",
            "Gadolinium contrast media",
            Environmental,
            None,
        ),
        coded("bee_venom", "Bee stings", Environmental, None),
        coded("wasp_venom", "Wasp stings", Environmental, None),
        coded(
            "adhesive_tape",
            "Adhesive tape (plasters)",
            Environmental,
            None,
        ),
        coded("nickel", "Nickel", Environmental, None),
        coded("pollen", "Pollen", Environmental, None),
        coded("house_dust_mite", "House dust mite", Environmental, None),
        coded("animal_dander", "Animal dander", Environmental, None),
    ]
};

/// The coded substance with this code (exactly as stored: lowercase).
pub fn coded_substance(code: &str) -> Option<&'static CodedSubstance> {
    CODED_SUBSTANCES.iter().find(|s| s.code == code)
}

/// Text compared for "exactly a label": lowercase, spacing collapsed.
fn label_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The coded substance whose label is exactly `text` (ignoring case and spacing).
pub fn coded_by_label(text: &str) -> Option<&'static CodedSubstance> {
    let key = label_key(text);
    CODED_SUBSTANCES.iter().find(|s| label_key(s.label) == key)
}

/// How one member of a drug class of `clinical::DRUG_CLASSES` is named in a sentence ("a
/// penicillin", "an NSAID").
pub fn class_member_phrase(class: &str) -> Option<&'static str> {
    Some(match class {
        "penicillins" => "a penicillin",
        "cephalosporins" => "a cephalosporin",
        "sulfonamides" => "a sulfonamide",
        "NSAIDs" => "an NSAID",
        "opioids" => "an opioid",
        "statins" => "a statin",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::DRUG_CLASSES;

    #[test]
    fn every_drug_class_the_check_knows_is_coded() {
        for class in DRUG_CLASSES {
            assert!(
                CODED_SUBSTANCES
                    .iter()
                    .any(|s| s.kind == SubstanceKind::DrugClass && s.drug_class == Some(class.name)),
                "{} is not coded",
                class.name
            );
            assert!(class_member_phrase(class.name).is_some(), "{}", class.name);
        }
        for s in CODED_SUBSTANCES {
            if let Some(class) = s.drug_class {
                assert!(DRUG_CLASSES.iter().any(|c| c.name == class), "{}", s.code);
            }
        }
    }

    #[test]
    fn codes_and_labels_are_unique_and_codes_are_plain() {
        for (i, a) in CODED_SUBSTANCES.iter().enumerate() {
            assert!(
                a.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                a.code
            );
            for b in &CODED_SUBSTANCES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(label_key(a.label), label_key(b.label));
            }
        }
        assert!(
            CODED_SUBSTANCES
                .iter()
                .any(|s| s.kind == SubstanceKind::Food)
        );
        assert!(coded_substance("latex").is_some());
        assert!(coded_substance("iodinated_contrast").is_some());
    }
}
