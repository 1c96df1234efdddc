//! Allergies and intolerances as structured data: what the patient reacts to (a substance
//! from a coded list, or free text flagged as such), the reaction, its severity and whether
//! the entry is still in force. "No known allergies" is a recorded statement of its own, so
//! "nobody asked" and "asked: none" never look alike.
//!
//! Decisions recorded here:
//!
//! - **Coded substances** ([`CODED_SUBSTANCES`]) are a short list, not a terminology: every
//!   drug class the prescribing check knows (`clinical::DRUG_CLASSES`), a few common drugs,
//!   foods and environmental substances (latex, contrast media, stings). Codes are stable
//!   lowercase words; labels are what a clinician reads.
//! - **Free text** is allowed only with the `free_text` flag, so an uncoded entry is always
//!   deliberate (as for diagnoses).
//! - **Matching a drug** ([`drug_link`]): a coded drug class matches a drug of that class; a
//!   coded drug matches the same drug, or a drug of its class; any other entry (and free
//!   text) goes through `clinical::allergy_match_details`, the word and class safety net.
//!   [`warning_sentence`] says in one sentence which allergy and which drug, and how they
//!   match.
//! - **Transcribed text** (the old free-text field, a paper record typed in at registration)
//!   becomes entries through [`transcribed_substances`]: split with
//!   `clinical::split_allergies`, unless splitting would lose a word (the word "and" is a
//!   separator there), in which case the whole text stays one entry. A part that is exactly
//!   a coded substance's label (ignoring case and spacing) is coded; every other part is
//!   free text. A whole text that only says "no known allergies" in a common way (`NKDA`,
//!   `None known`, `nil`; [`states_no_known_allergies`]) becomes that statement instead of
//!   an allergy named "None", with the text kept in it.
//!
//! No type here prints a substance, reaction or other clinical value in `Debug` output.

use std::fmt;

use crate::ValidationErrors;
use crate::clinical::{DRUG_CLASSES, allergy_match_details, normalise_word, split_allergies};
use crate::masking::PatientView;
use crate::role::Role;

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

fn clean(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let length = value.chars().count();
    if length < min {
        return Err(format!("must be at least {min} characters"));
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(if multiline {
            "must not contain control characters".into()
        } else {
            "must be on one line, without control characters".into()
        });
    }
    Ok(value.to_owned())
}

/// An allergy as submitted (a form, a JSON body), before validation. Its `Debug` output
/// shows no value.
#[derive(Clone, Copy, Default)]
pub struct AllergyFields<'a> {
    /// A code of [`CODED_SUBSTANCES`], or (with `free_text`) the substance in words.
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

/// The words of `text` as written (maximal runs of letters and digits).
fn written_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

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

/// Who may do what with a patient's allergy list and problem list. The one place the rule
/// lives; the service asks it with the actor's role, the view the masking policy gave them
/// and whether they are in the patient's care now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartListAction {
    /// Read the allergy list or the problem list.
    Read,
    /// Record an allergy or "no known allergies", change an entry's status.
    WriteAllergies,
    /// Add a problem, resolve or reactivate one.
    WriteProblems,
}

/// Whether `role`, seeing the patient in `view` and `in_care` (on the care team, by
/// emergency access or by a share of the whole record), may do `action`. Reading is for
/// whoever gets the full or own view (administrators, the care team, the patient); writing
/// allergies is for doctors and nurses in the patient's care; the problem list for doctors in
/// the patient's care. Administrators do not write clinical data; reception, pharmacists and
/// auditors have no access.
pub fn chart_list_allowed(
    role: Role,
    view: PatientView,
    in_care: bool,
    action: ChartListAction,
) -> bool {
    match action {
        ChartListAction::Read => matches!(view, PatientView::Full | PatientView::Own),
        ChartListAction::WriteAllergies => {
            in_care && view == PatientView::Full && matches!(role, Role::Doctor | Role::Nurse)
        }
        ChartListAction::WriteProblems => {
            in_care && view == PatientView::Full && role == Role::Doctor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_chart_list_rule() {
        use ChartListAction::*;
        use PatientView::*;
        for role in Role::ALL {
            assert!(chart_list_allowed(role, Full, false, Read));
            assert!(!chart_list_allowed(role, Masked, true, Read));
            assert!(!chart_list_allowed(role, Registration, false, Read));
            assert!(!chart_list_allowed(role, Dispensing, false, Read));
            assert!(!chart_list_allowed(role, Pseudonymous, false, Read));
        }
        assert!(chart_list_allowed(Role::Patient, Own, false, Read));
        assert!(chart_list_allowed(Role::Nurse, Full, true, WriteAllergies));
        assert!(chart_list_allowed(Role::Doctor, Full, true, WriteAllergies));
        assert!(!chart_list_allowed(Role::Nurse, Full, true, WriteProblems));
        assert!(chart_list_allowed(Role::Doctor, Full, true, WriteProblems));
        // A shared item gives a masked view; a full view without care (an administrator).
        assert!(!chart_list_allowed(
            Role::Doctor,
            Full,
            false,
            WriteProblems
        ));
        assert!(!chart_list_allowed(
            Role::Admin,
            Full,
            false,
            WriteAllergies
        ));
        assert!(!chart_list_allowed(Role::Admin, Full, true, WriteAllergies));
        assert!(!chart_list_allowed(
            Role::Patient,
            Own,
            true,
            WriteAllergies
        ));
    }
}
