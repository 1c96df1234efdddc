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
//!
//! One file per concept, everything re-exported here (`allergy::AllergyInput`): `coded.rs`
//! (the coded substances), `entry.rs` (an entry as typed and validated: substance, reaction,
//! severity, status and its graph), `transcribed.rs` (entries from an earlier free-text
//! record), `drug_match.rs` (matching a drug, and the warning) and `access.rs` (who may read
//! and write the allergy and problem lists).

mod access;
mod coded;
mod drug_match;
mod entry;
mod transcribed;

pub use access::*;
pub use coded::*;
pub use drug_match::*;
pub use entry::*;
pub use transcribed::*;

/// The words of `text` as written (maximal runs of letters and digits).
fn written_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}
