//! The two checks made when prescribing: recorded allergies that match the drug (by name, or
//! through the drug-class table [`DRUG_CLASSES`]), and a duplicate of an active prescription.
//! Both compare names normalised the same way ([`normalise_word`]).

use std::fmt;

/// A word stem shared by a class's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stem {
    /// Names starting with this (`cef…`).
    Prefix(&'static str),
    /// Names ending with this (`…cillin`).
    Suffix(&'static str),
}

/// A drug class for the allergy safety net: the names a recorded allergy may use for the
/// class, some members, and the naming stems its members share. All entries are in
/// normalised form (lowercase, no spaces or hyphens, British spelling as
/// [`normalise_word`] makes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrugClass {
    /// The class, as shown in a warning ("penicillins").
    pub name: &'static str,
    /// What an allergy record may call the class ("penicillin", "sulfa").
    pub aliases: &'static [&'static str],
    /// Members, generic names.
    pub members: &'static [&'static str],
    /// Naming stems (international nonproprietary name stems) of further members.
    pub stems: &'static [Stem],
}

/// The built-in classes. A safety net that catches the commonest class allergies, not a drug
/// database: brand names and most members are missing, and cross-reactivity between classes
/// (penicillins and cephalosporins) is deliberately not linked.
pub const DRUG_CLASSES: &[DrugClass] = &[
    DrugClass {
        name: "penicillins",
        aliases: &["penicillin", "pcn", "betalactam"],
        members: &[
            "amoxicillin",
            "amoxycillin",
            "ampicillin",
            "flucloxacillin",
            "benzylpenicillin",
            "phenoxymethylpenicillin",
            "piperacillin",
            "coamoxiclav",
            "cloxacillin",
            "dicloxacillin",
            "temocillin",
            "pivmecillinam",
        ],
        stems: &[Stem::Suffix("cillin")],
    },
    DrugClass {
        name: "cephalosporins",
        aliases: &["cefalosporin", "betalactam"],
        members: &[
            "cefalexin",
            "ceftriaxone",
            "cefuroxime",
            "cefazolin",
            "cefadroxil",
            "cefixime",
            "ceftazidime",
            "cefotaxime",
            "cefaclor",
            "cefepime",
        ],
        stems: &[Stem::Prefix("cef")],
    },
    DrugClass {
        name: "sulfonamides",
        aliases: &["sulfa", "sulfonamide", "sulfaantibiotic"],
        members: &[
            "sulfamethoxazole",
            "cotrimoxazole",
            "sulfasalazine",
            "sulfadiazine",
        ],
        stems: &[Stem::Prefix("sulfa")],
    },
    DrugClass {
        name: "NSAIDs",
        aliases: &["nsaid", "nonsteroidalantiinflammatory"],
        members: &[
            "ibuprofen",
            "naproxen",
            "diclofenac",
            "aspirin",
            "acetylsalicylicacid",
            "ketoprofen",
            "indometacin",
            "indomethacin",
            "mefenamicacid",
            "meloxicam",
            "piroxicam",
            "ketorolac",
            "etoricoxib",
            "celecoxib",
        ],
        stems: &[Stem::Suffix("profen"), Stem::Suffix("fenac")],
    },
    DrugClass {
        name: "opioids",
        aliases: &["opioid", "opiate", "narcotic"],
        members: &[
            "morphine",
            "codeine",
            "oxycodone",
            "tramadol",
            "dihydrocodeine",
            "hydrocodone",
            "hydromorphone",
            "fentanyl",
            "methadone",
            "pethidine",
            "diamorphine",
            "buprenorphine",
            "tapentadol",
        ],
        stems: &[],
    },
    DrugClass {
        name: "statins",
        aliases: &["statin"],
        members: &[
            "atorvastatin",
            "simvastatin",
            "rosuvastatin",
            "pravastatin",
            "fluvastatin",
            "pitavastatin",
        ],
        stems: &[Stem::Suffix("vastatin")],
    },
];

/// International spellings and names reduced to one form, so "acetaminophen" meets
/// "paracetamol". Keys and values normalised.
const SYNONYMS: &[(&str, &str)] = &[
    ("acetaminophen", "paracetamol"),
    ("albuterol", "salbutamol"),
    ("epinephrine", "adrenaline"),
    ("norepinephrine", "noradrenaline"),
    ("meperidine", "pethidine"),
    ("lidocaine", "lignocaine"),
    ("furosemide", "frusemide"),
    ("amoxycillin", "amoxicillin"),
    ("trimethoprimsulfamethoxazole", "cotrimoxazole"),
    ("sulfamethoxazoletrimethoprim", "cotrimoxazole"),
    ("amoxicillinclavulanicacid", "coamoxiclav"),
    ("amoxicillinclavulanate", "coamoxiclav"),
    ("amoxicillinclavulanic", "coamoxiclav"),
    ("acetylsalicylic", "aspirin"),
    ("asa", "aspirin"),
    ("acetylsalicylicacid", "aspirin"),
    ("sulfonamideantibiotic", "sulfaantibiotic"),
];

/// Words in an allergy record that are not the substance ("allergic to", "sulfa drugs",
/// "severe").
const ALLERGY_FILLER: &[&str] = &[
    "allergy",
    "allergic",
    "to",
    "drug",
    "medication",
    "medicine",
    "class",
    "family",
    "group",
    "type",
    "severe",
    "mild",
    "moderate",
    "intolerance",
    "intolerant",
    "sensitivity",
    "sensitive",
    "reaction",
    "history",
    "of",
    "antibiotic",
    "hx",
];

/// Words of a drug name that say nothing about which drug it is: units, forms, salts,
/// release modifiers. Ignored for duplicates and never matched alone.
#[rustfmt::skip]
const NON_IDENTIFYING: &[&str] = &[
    // units and counts
    "mg", "mcg", "ug", "g", "kg", "ml", "l", "iu", "unit", "mmol", "microgram", "milligram",
    "gram", "ng", "meq", "per", "dose", "x", "in",
    // forms
    "tablet", "tab", "capsule", "cap", "caplet", "syrup", "suspension", "solution",
    "injection", "inj", "infusion", "cream", "ointment", "gel", "lotion", "drop", "eye",
    "ear", "spray", "inhaler", "patch", "suppository", "pessary", "powder", "sachet",
    "liquid", "elixir", "oral", "film", "coated", "chewable", "dispersible", "effervescent",
    "vial", "ampoule", "pen", "prefilled", "syringe",
    // release
    "modified", "release", "prolonged", "extended", "mr", "sr", "xr", "xl", "er", "cr",
    "gastro", "resistant", "ec",
    // salts and hydrates
    "hydrochloride", "hcl", "hydrobromide", "sulfate", "phosphate", "maleate", "mesylate",
    "mesilate", "tartrate", "citrate", "succinate", "fumarate", "besylate", "besilate",
    "acetate", "trihydrate", "monohydrate", "dihydrate", "anhydrous",
    // words too general to name a substance alone
    "acid", "vitamin", "compound", "plain", "generic",
];

/// Normalises one word for comparison: lowercase; British `sulf`/`cef` spellings
/// (`sulphasalazine` → `sulfasalazine`, `cephalexin` → `cefalexin`); a simple plural
/// dropped (`penicillins`, `allergies` → `allergy`, but not `…ss`, `…us`, `…is`).
pub fn normalise_word(word: &str) -> String {
    let mut w = word.to_lowercase();
    if let Some(rest) = w.strip_prefix("sulph") {
        w = format!("sulf{rest}");
    }
    if let Some(rest) = w.strip_prefix("ceph") {
        w = format!("cef{rest}");
    }
    let length = w.chars().count();
    if length > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if length > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    w
}

fn synonym(key: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|(from, _)| *from == key)
        .map_or(key, |(_, to)| to)
}

/// The normalised words of `text`, split at anything that is not a letter or digit.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(normalise_word)
        .collect()
}

/// Whether a word is a number or a number with a unit (`500`, `500mg`, `5ml`).
fn is_quantity(word: &str) -> bool {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    digits_end > 0 && (digits_end == word.len() || NON_IDENTIFYING.contains(&&word[digits_end..]))
}

/// Whether a word says nothing about which substance it is (`500mg`, `tablet`, `sulfate`).
fn is_non_identifying(word: &str) -> bool {
    is_quantity(word) || NON_IDENTIFYING.contains(&word)
}

/// Whether a single word may identify a substance on its own.
fn identifies(word: &str) -> bool {
    word.chars().count() >= 3 && !is_non_identifying(word)
}

/// The keys a list of words can be known by: each identifying word, and every run of two to
/// four adjacent words joined (`mefenamic acid` → `mefenamicacid`, `co-trimoxazole` →
/// `cotrimoxazole`), after synonyms.
fn keys(words: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for n in 1..=words.len().min(4) {
        for window in words.windows(n) {
            if n == 1 && !identifies(&window[0]) {
                continue;
            }
            if n > 1 && window.iter().all(|w| is_non_identifying(w)) {
                continue;
            }
            let key = synonym(&window.concat()).to_owned();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

fn stem_matches(stem: &Stem, word: &str) -> bool {
    let (affix, found) = match stem {
        Stem::Prefix(p) => (p, word.starts_with(p)),
        Stem::Suffix(s) => (s, word.ends_with(s)),
    };
    // The stem alone is not a drug, and `sulfate` is a salt, not a sulfonamide.
    found && word.len() >= affix.len() + 3 && identifies(word)
}

/// The classes a key names or belongs to, by alias or member.
fn classes_by_name(key: &str) -> impl Iterator<Item = &'static DrugClass> + '_ {
    DRUG_CLASSES
        .iter()
        .filter(move |class| class.aliases.contains(&key) || class.members.contains(&key))
}

/// The classes a single word belongs to by its naming stem. Only whole words are tried, so
/// a run like `sulfate ferrous` cannot pass for a `sulfa…` drug.
fn classes_by_stem(word: &str) -> impl Iterator<Item = &'static DrugClass> + '_ {
    DRUG_CLASSES
        .iter()
        .filter(move |class| class.stems.iter().any(|stem| stem_matches(stem, word)))
}

/// The names of the classes that `words` (and their keys) belong to.
fn classes_of(words: &[String], keys: &[String]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = keys
        .iter()
        .flat_map(|key| classes_by_name(key))
        .chain(words.iter().flat_map(|word| classes_by_stem(word)))
        .map(|class| class.name)
        .collect();
    names.dedup();
    names
}

/// One recorded allergy that matches a drug, and how.
#[derive(Clone, PartialEq, Eq)]
pub struct AllergyMatch {
    /// The substance as recorded ("Penicillin (anaphylaxis)").
    pub substance: String,
    /// The class that links them, when the match is through a class rather than the name
    /// ("penicillins" for a penicillin allergy and amoxicillin).
    pub class: Option<&'static str>,
}

impl fmt::Debug for AllergyMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AllergyMatch(…)")
    }
}

/// Splits free-text allergies into the substances as written: at `;`, `,`, `/`, `|`, `+`,
/// `&`, line breaks and the word "and", but not inside parentheses or brackets
/// ("Penicillin (rash, hives); latex" is two substances).
pub fn split_allergies(allergies_text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let bytes = allergies_text.as_bytes();
    let mut i = 0usize;
    let mut push = |from: usize, to: usize| {
        let part = allergies_text[from..to].trim();
        if !part.is_empty() {
            parts.push(part);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' | b',' | b'/' | b'|' | b'+' | b'&' | b'\n' | b'\r' if depth == 0 => {
                push(start, i);
                start = i + 1;
            }
            b'a' | b'A' if depth == 0 => {
                // The word "and" between spaces.
                let word_start = i == 0 || bytes[i - 1].is_ascii_whitespace();
                let is_and = bytes
                    .get(i..i + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"and"));
                let word_end = bytes.get(i + 3).is_none_or(|c| c.is_ascii_whitespace());
                if word_start && is_and && word_end {
                    push(start, i);
                    start = i + 3;
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    push(start, allergies_text.len());
    parts
}

/// The part of a recorded allergy that names the substance: without parenthesised notes and,
/// when `cut_reaction`, without a reaction after `:`, ` - `, `->`, `=` or a dash
/// (`Penicillin - rash` → `Penicillin`).
fn substance_part(recorded: &str, cut_reaction: bool) -> String {
    let mut out = String::with_capacity(recorded.len());
    let mut depth = 0usize;
    for c in recorded.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if !cut_reaction {
        return out;
    }
    let cut = [":", " - ", "->", "=", "–", "—"]
        .iter()
        .filter_map(|sep| out.find(sep))
        .min()
        .unwrap_or(out.len());
    out.truncate(cut);
    out
}

/// The allergies recorded in `allergies_text` that match the drug, with how they match.
/// See [`allergy_matches`].
pub fn allergy_match_details(
    allergies_text: &str,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Vec<AllergyMatch> {
    let mut drug_keys: Vec<String> = Vec::new();
    let mut drug_classes: Vec<&'static str> = Vec::new();
    for name in std::iter::once(drug_name).chain(generic_name) {
        let name_words = words(name);
        let name_keys = keys(&name_words);
        drug_classes.extend(classes_of(&name_words, &name_keys));
        drug_keys.extend(name_keys);
    }

    let mut found: Vec<AllergyMatch> = Vec::new();
    for recorded in split_allergies(allergies_text) {
        let substance_words = |text: &str| -> Vec<String> {
            words(text)
                .into_iter()
                .filter(|w| !ALLERGY_FILLER.contains(&w.as_str()))
                .collect()
        };
        let mut names = substance_words(&substance_part(recorded, true));
        if names.is_empty() {
            // "Severe: morphine": what came before the colon was not the substance.
            names = substance_words(&substance_part(recorded, false));
        }
        let substance_keys = keys(&names);
        let class = if substance_keys.iter().any(|k| drug_keys.contains(k)) {
            Some(None)
        } else {
            classes_of(&names, &substance_keys)
                .into_iter()
                .find(|class| drug_classes.contains(class))
                .map(Some)
        };
        if let Some(class) = class
            && !found.iter().any(|m| m.substance == recorded)
        {
            found.push(AllergyMatch {
                substance: recorded.to_owned(),
                class,
            });
        }
    }
    found
}

/// The recorded allergies that match a drug about to be prescribed, as written in the record
/// ("Penicillin (anaphylaxis)"), in the record's order.
///
/// `allergies_text` is the patient's free-text allergy field ("Penicillin; latex",
/// "penicillin, sulfa drugs"). It is split into substances ([`split_allergies`]); each is
/// reduced to its name (notes in parentheses and a reaction after `:` or ` - ` dropped, words
/// like "allergic to", "drugs", "severe" ignored) and normalised (case, punctuation, hyphens,
/// simple plurals, `sulph`/`ceph` spellings, a few international synonyms). A substance
/// matches when one of its words or word runs equals one of the drug name's or generic
/// name's, or when both belong to the same class of [`DRUG_CLASSES`] (by class name, member
/// or naming stem).
///
/// This is a safety net that raises a warning for the prescriber to acknowledge, not a drug
/// database: an empty result does not mean the drug is safe.
pub fn allergy_matches(
    allergies_text: &str,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Vec<String> {
    allergy_match_details(allergies_text, drug_name, generic_name)
        .into_iter()
        .map(|m| m.substance)
        .collect()
}

/// What identifies a drug in its name: the normalised words without strengths, units, forms,
/// release modifiers and salts, after synonyms, joined in their order and joined sorted
/// (`Amoxicillin 500 mg capsules` → `amoxicillin`; `co-amoxiclav` → `coamoxiclav`;
/// `sodium valproate` and `valproate sodium` meet in the sorted form).
fn drug_identity(drug: &str) -> (String, String) {
    let mut parts: Vec<String> = words(drug)
        .into_iter()
        .filter(|w| !is_non_identifying(w))
        .map(|w| synonym(&w).to_owned())
        .collect();
    let in_order = synonym(&parts.concat()).to_owned();
    parts.sort();
    parts.dedup();
    let sorted = synonym(&parts.concat()).to_owned();
    (in_order, sorted)
}

/// Whether `drug` is already among the patient's `active` prescriptions, comparing names
/// normalised as for the allergy check and ignoring strength, form and salt (`Amoxicillin
/// 250 mg` duplicates an active `amoxicillin 500mg capsules`). Same drug only: two members
/// of one class are not duplicates. A name with nothing identifying (`500 mg`) never
/// matches.
pub fn duplicate_active(drug: &str, active: &[&str]) -> bool {
    let (in_order, sorted) = drug_identity(drug);
    !in_order.is_empty()
        && active.iter().any(|other| {
            let (other_in_order, other_sorted) = drug_identity(other);
            other_in_order == in_order || other_sorted == sorted
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_recorded_allergies() {
        assert_eq!(
            split_allergies("Penicillin; latex"),
            ["Penicillin", "latex"]
        );
        assert_eq!(
            split_allergies("penicillin, sulfa drugs\nEggs / nuts | shellfish + dust & pollen"),
            [
                "penicillin",
                "sulfa drugs",
                "Eggs",
                "nuts",
                "shellfish",
                "dust",
                "pollen"
            ]
        );
        assert_eq!(
            split_allergies("Penicillin (rash, hives); codeine and morphine"),
            ["Penicillin (rash, hives)", "codeine", "morphine"]
        );
        assert_eq!(
            split_allergies("Sandalwood, Andrographis"),
            ["Sandalwood", "Andrographis"]
        );
        assert!(split_allergies("  ;; , ").is_empty());
        assert!(split_allergies("").is_empty());
    }

    #[test]
    fn direct_matches_by_name_and_generic_name() {
        assert_eq!(
            allergy_matches("Penicillin; latex", "Penicillin V 250 mg tablets", None),
            ["Penicillin"]
        );
        assert_eq!(
            allergy_matches("Ibuprofen", "Nurofen 200mg", Some("ibuprofen")),
            ["Ibuprofen"]
        );
        assert_eq!(
            allergy_matches("CODEINE (vomiting)", "Codeine phosphate 30 mg", None),
            ["CODEINE (vomiting)"]
        );
        assert_eq!(
            allergy_matches("allergic to co-trimoxazole", "Cotrimoxazole 960mg", None),
            ["allergic to co-trimoxazole"]
        );
        assert_eq!(
            allergy_matches("mefenamic acid", "Mefenamic Acid 500 mg", None),
            ["mefenamic acid"]
        );
        assert_eq!(
            allergy_matches("Acetaminophen - hives", "Paracetamol 1 g", None),
            ["Acetaminophen - hives"]
        );
        assert_eq!(
            allergy_matches("sulphasalazine", "Sulfasalazine EC", None),
            ["sulphasalazine"]
        );
        assert_eq!(
            allergy_matches("Cephalexin", "cefalexin 500mg", None),
            ["Cephalexin"]
        );
    }

    #[test]
    fn class_matches() {
        let cases: [(&str, &str); 16] = [
            ("penicillins", "Amoxicillin 500 mg capsules"),
            ("PCN", "Flucloxacillin"),
            ("penicillin", "Phenoxymethylpenicillin"),
            ("Penicillin allergy", "piperacillin/tazobactam 4.5 g"),
            ("Penicillin", "Co-amoxiclav 625mg"),
            ("amoxicillin", "ampicillin"),
            ("penicillin", "ticarcillin"),
            ("sulfa drugs", "Co-trimoxazole"),
            ("Sulpha", "trimethoprim-sulfamethoxazole"),
            ("sulfonamides", "sulfadiazine"),
            ("NSAIDs", "Naproxen 250mg"),
            ("aspirin", "Ibuprofen"),
            ("nsaid", "ketoprofen gel"),
            ("Opiates", "Morphine sulfate 10 mg/5 ml"),
            ("statins", "Atorvastatin 20mg"),
            ("cephalosporins", "Cefuroxime"),
        ];
        for (allergy, drug) in cases {
            assert_eq!(
                allergy_matches(allergy, drug, None),
                [allergy],
                "{allergy} / {drug}"
            );
        }
        let details =
            allergy_match_details("penicillin, sulfa drugs", "Amoxil", Some("amoxicillin"));
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].substance, "penicillin");
        assert_eq!(details[0].class, Some("penicillins"));
        let direct = allergy_match_details("amoxicillin", "Amoxicillin", None);
        assert_eq!(direct[0].class, None);
        assert!(!format!("{:?}", details[0]).contains("penicillin"));
    }

    #[test]
    fn no_false_alarms_from_salts_units_and_unrelated_classes() {
        let quiet: [(&str, &str); 14] = [
            ("sulfa drugs", "Morphine sulfate 10 mg"),
            ("sulfonamides", "Ferrous sulphate 200 mg"),
            ("Penicillin", "Cefalexin 500 mg"),
            ("cephalosporins", "Amoxicillin"),
            ("latex", "Amoxicillin"),
            ("statins", "Nystatin oral suspension"),
            ("NKDA", "Paracetamol 500 mg tablets"),
            ("No known drug allergies", "Ibuprofen 400 mg"),
            ("vitamin K", "Vitamin B12 injection"),
            ("iron", "Spironolactone 25 mg"),
            ("eggs", "Paracetamol"),
            ("codeine", "Paracetamol 500 mg"),
            ("aspirin", "Paracetamol"),
            ("penicillin", "Penicillamine 250 mg"),
        ];
        for (allergy, drug) in quiet {
            assert!(
                allergy_matches(allergy, drug, None).is_empty(),
                "{allergy} / {drug}"
            );
        }
        assert!(allergy_matches("", "Amoxicillin", None).is_empty());
        assert!(allergy_matches("Penicillin", "500 mg", None).is_empty());
    }

    #[test]
    fn several_matches_keep_the_record_order_and_are_not_repeated() {
        assert_eq!(
            allergy_matches(
                "Latex; Amoxicillin (rash); penicillin - anaphylaxis; Amoxicillin (rash)",
                "Amoxicillin 250 mg",
                None
            ),
            ["Amoxicillin (rash)", "penicillin - anaphylaxis"]
        );
        assert_eq!(
            allergy_matches("Severe: morphine, codeine", "Oxycodone 5 mg", None),
            ["Severe: morphine", "codeine"]
        );
    }

    #[test]
    fn the_class_table_is_normalised() {
        let normalised = |entry: &str| {
            let w = words(entry).concat();
            assert_eq!(w, entry, "{entry} is not in normalised form");
        };
        for class in DRUG_CLASSES {
            class.aliases.iter().for_each(|a| normalised(a));
            class.members.iter().for_each(|m| normalised(m));
            for member in class.members {
                assert!(
                    classes_by_name(synonym(member)).any(|c| c.name == class.name),
                    "{member} is not found in {}",
                    class.name
                );
            }
        }
        for (from, to) in SYNONYMS {
            normalised(from);
            normalised(to);
        }
    }

    #[test]
    fn normalising_words() {
        assert_eq!(normalise_word("Penicillins"), "penicillin");
        assert_eq!(normalise_word("Allergies"), "allergy");
        assert_eq!(normalise_word("NSAIDs"), "nsaid");
        assert_eq!(normalise_word("Sulphonamides"), "sulfonamide");
        assert_eq!(normalise_word("Cephalosporins"), "cefalosporin");
        assert_eq!(normalise_word("glass"), "glass");
        assert_eq!(normalise_word("tetanus"), "tetanus");
        assert_eq!(normalise_word("gas"), "gas");
    }

    // ---- duplicates ----

    #[test]
    fn duplicate_active_prescriptions() {
        let active = ["Amoxicillin 500mg capsules", "Sodium valproate 200 mg MR"];
        assert!(duplicate_active("amoxicillin", &active));
        assert!(duplicate_active(
            "AMOXICILLIN 250 mg oral suspension",
            &active
        ));
        assert!(duplicate_active("Valproate sodium", &active));
        assert!(!duplicate_active("Ampicillin", &active));
        assert!(!duplicate_active("Co-amoxiclav", &active));
        assert!(duplicate_active("Co-amoxiclav 625 mg", &["coamoxiclav"]));
        assert!(duplicate_active(
            "co-amoxiclav",
            &["Amoxicillin/clavulanic acid"]
        ));
        assert!(!duplicate_active("Amoxicillin", &[]));
        assert!(!duplicate_active("500 mg", &["500 mg"]));
        assert!(duplicate_active(
            "Paracetamol 1 g",
            &["acetaminophen 500 mg"]
        ));
        assert!(duplicate_active("co-trimoxazole", &["Cotrimoxazole 480mg"]));
        assert!(!duplicate_active("Vitamin B12", &["Vitamin D3"]));
        assert!(!duplicate_active(
            "Sodium chloride 0.9%",
            &["Potassium chloride"]
        ));
        assert!(duplicate_active(
            "Morphine sulfate 10 mg",
            &["morphine sulphate 5mg/5ml oral solution"]
        ));
    }
}
