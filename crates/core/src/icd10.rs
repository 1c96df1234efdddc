//! ICD-10 diagnosis codes: the bundled code list and its search.
//!
//! The list is a subset of ICD-10-CM (FY2026, April 1, 2026 update), published by the CDC's
//! National Center for Health Statistics and CMS, in the public domain: every 3-character
//! category, plus every 4-character code outside chapters 19 (injuries, S00-T88) and 20
//! (external causes, V00-Y99). It lives in `crates/core/data/icd10cm.tsv` (one
//! `code<TAB>title` line per code, `#` lines are comments), is embedded in the binary and
//! parsed once, on first use. `docs/ICD10.md` names the source and says how to regenerate it.
//!
//! Codes are held in their dotted form (`E11.9`). Input is accepted in any case, with or
//! without the dot, with surrounding spaces (`e119`, ` E11.9 `).
//!
//! [`search`] serves a search box. A query shaped like a code (`E11`, `e11.9`, `QA0`) lists the
//! codes that start with it, in code order; if none does, or the query is not shaped like a
//! code, every word of the query must occur in the title (case and accents ignored). Titles
//! are then ranked: those where every query word is a whole word of the title first, then
//! those where every query word starts a word of the title, then the rest; within a rank,
//! shorter titles first. A linear scan of the table is fast enough for that.
//!
//! Nothing here panics: a malformed line of the embedded table is skipped (a test asserts
//! there is none).

use std::cmp::Ordering;
use std::sync::LazyLock;

use serde::Serialize;

/// Where the bundled list comes from, for an attribution line next to a code picker.
pub const SOURCE: &str = "ICD-10-CM FY2026 (April 1, 2026 update), CDC NCHS / CMS, public domain";

/// An example of a well-formed code, named in error messages.
const EXAMPLE_CODE: &str = "E11.9";

/// Longest ICD-10-CM code, without its dot.
const MAX_CODE_LEN: usize = 7;

/// The embedded table.
static TABLE_TSV: &str = include_str!("../data/icd10cm.tsv");

/// The entries, sorted by their compact code.
static TABLE: LazyLock<Vec<Entry>> = LazyLock::new(|| parse_table(TABLE_TSV).0);

/// One code of the bundled list and its official title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Icd10Code {
    /// The code in dotted form, upper case: `E11.9`, `I10`.
    pub code: &'static str,
    /// The ICD-10-CM title: `Type 2 diabetes mellitus without complications`.
    pub title: &'static str,
}

/// Looks a code up. Accepts `E11.9`, `e11.9`, `E119` and ` E11.9 `; `None` when the input is
/// not shaped like a code or the code is not in the bundled list.
pub fn lookup(raw: &str) -> Option<Icd10Code> {
    let key = compact_code(raw)?;
    if !is_full_code(&key) {
        return None;
    }
    let entries = &*TABLE;
    let index = entries
        .binary_search_by(|entry| entry.key.as_str().cmp(key.as_str()))
        .ok()?;
    entries.get(index).map(Entry::code)
}

/// Validates a diagnosis code for a form or an API body: the canonical dotted code when it is
/// in the bundled list. The error is a message for the field; it does not repeat the input
/// (diagnoses are not to be logged).
pub fn parse_code(raw: &str) -> Result<&'static str, String> {
    let well_formed = compact_code(raw).is_some_and(|key| is_full_code(&key));
    if !well_formed {
        return Err(format!(
            "must be an ICD-10 code, a letter and digits such as {EXAMPLE_CODE}"
        ));
    }
    lookup(raw).map(|found| found.code).ok_or_else(|| {
        format!(
            "is not in Carevault's ICD-10 code list; search it by code or words \
             (for example {EXAMPLE_CODE}) or record the diagnosis as free text"
        )
    })
}

/// Searches the list by code prefix or by words, best matches first, at most `limit` of
/// them. An empty query finds nothing. See the module documentation for the ranking.
pub fn search(query: &str, limit: usize) -> Vec<Icd10Code> {
    let query = query.trim();
    if limit == 0 || query.is_empty() {
        return Vec::new();
    }
    if let Some(prefix) = compact_code(query) {
        let found = search_by_code(&prefix, limit);
        if !found.is_empty() {
            return found;
        }
    }
    search_by_words(query, limit)
}

/// Every code of the bundled list, in code order.
pub fn all() -> impl ExactSizeIterator<Item = Icd10Code> {
    TABLE.iter().map(Entry::code)
}

#[derive(Debug)]
struct Entry {
    code: &'static str,
    title: &'static str,
    /// The code without its dot: `E119`. Sorting by it sorts by code.
    key: String,
    /// The title lower-cased and without accents, for word search.
    folded_title: String,
}

impl Entry {
    fn code(&self) -> Icd10Code {
        Icd10Code {
            code: self.code,
            title: self.title,
        }
    }
}

/// The entries sorted by code, and the number of lines skipped as malformed: neither blank,
/// nor a `#` comment, nor `code<TAB>title` with a canonical code.
fn parse_table(text: &'static str) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut malformed = 0;
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(entry) => entries.push(entry),
            None => malformed += 1,
        }
    }
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    (entries, malformed)
}

fn parse_line(line: &'static str) -> Option<Entry> {
    let (code, title) = line.split_once('\t')?;
    let title = title.trim();
    if title.is_empty() || title.contains('\t') {
        return None;
    }
    let key = compact_code(code)?;
    // The table holds codes in their canonical form only.
    if !is_full_code(&key) || dotted(&key).as_deref() != Some(code) {
        return None;
    }
    Some(Entry {
        code,
        title,
        key,
        folded_title: fold(title),
    })
}

/// The code without its dot, upper case, or `None` when the input is not letters and digits
/// with at most one dot after the third character. Says nothing about the code's length.
fn compact_code(raw: &str) -> Option<String> {
    let mut key = String::with_capacity(MAX_CODE_LEN);
    for (position, c) in raw.trim().chars().enumerate() {
        if c == '.' {
            if position != 3 {
                return None;
            }
        } else if c.is_ascii_alphanumeric() && key.len() < MAX_CODE_LEN {
            key.push(c.to_ascii_uppercase());
        } else {
            return None;
        }
    }
    let mut chars = key.chars();
    let first = chars.next()?;
    let second = chars.next()?;
    let third = chars.next();
    // A letter, then a digit second (E11) or third (QA0).
    let digit_early = second.is_ascii_digit() || third.is_some_and(|c| c.is_ascii_digit());
    (first.is_ascii_alphabetic() && digit_early).then_some(key)
}

/// Whether a compact code is long enough to be a code rather than a prefix of one.
fn is_full_code(key: &str) -> bool {
    (3..=MAX_CODE_LEN).contains(&key.len())
}

/// The dotted form of a compact code: `E119` → `E11.9`, `I10` → `I10`.
fn dotted(key: &str) -> Option<String> {
    let (category, rest) = key.split_at_checked(3)?;
    if rest.is_empty() {
        Some(category.to_owned())
    } else {
        Some(format!("{category}.{rest}"))
    }
}

fn search_by_code(prefix: &str, limit: usize) -> Vec<Icd10Code> {
    let entries = &*TABLE;
    let start = entries.partition_point(|entry| entry.key.as_str() < prefix);
    entries
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|entry| entry.key.starts_with(prefix))
        .take(limit)
        .map(Entry::code)
        .collect()
}

/// How well a query word occurs in a title; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum MatchKind {
    /// The word is a whole word of the title.
    WholeWord,
    /// The word starts a word of the title.
    WordStart,
    /// The word occurs inside a word of the title.
    Inside,
}

fn search_by_words(query: &str, limit: usize) -> Vec<Icd10Code> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(|word| fold(word.trim_matches(|c: char| !c.is_alphanumeric())))
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(MatchKind, &Entry)> = TABLE
        .iter()
        .filter_map(|entry| title_match(&entry.folded_title, &words).map(|kind| (kind, entry)))
        .collect();
    found.sort_by(|(kind_a, a), (kind_b, b)| rank(*kind_a, a, *kind_b, b));
    found
        .into_iter()
        .take(limit)
        .map(|(_, entry)| entry.code())
        .collect()
}

fn rank(kind_a: MatchKind, a: &Entry, kind_b: MatchKind, b: &Entry) -> Ordering {
    kind_a
        .cmp(&kind_b)
        .then_with(|| a.title.len().cmp(&b.title.len()))
        .then_with(|| a.key.cmp(&b.key))
}

/// The worst match of any query word in the title, or `None` when a word does not occur.
fn title_match(title: &str, words: &[String]) -> Option<MatchKind> {
    words
        .iter()
        .map(|word| word_match(title, word))
        .try_fold(MatchKind::WholeWord, |worst, kind| Some(worst.max(kind?)))
}

/// The best occurrence of `word` in `title`, both folded.
fn word_match(title: &str, word: &str) -> Option<MatchKind> {
    let step = word.chars().next()?.len_utf8();
    let mut best: Option<MatchKind> = None;
    let mut from = 0;
    while let Some(offset) = title.get(from..).and_then(|rest| rest.find(word)) {
        let at = from + offset;
        let end = at + word.len();
        let starts_word = !title
            .get(..at)
            .and_then(|before| before.chars().next_back())
            .is_some_and(char::is_alphanumeric);
        let ends_word = !title
            .get(end..)
            .and_then(|after| after.chars().next())
            .is_some_and(char::is_alphanumeric);
        let kind = match (starts_word, ends_word) {
            (true, true) => MatchKind::WholeWord,
            (true, false) => MatchKind::WordStart,
            (false, _) => MatchKind::Inside,
        };
        best = Some(best.map_or(kind, |b| b.min(kind)));
        if kind == MatchKind::WholeWord {
            break;
        }
        from = at + step;
    }
    best
}

/// Lower case without the accents of Latin letters, so `sezary` finds `Sézary`.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(strip_accent)
        .collect()
}

fn strip_accent(c: char) -> char {
    match c {
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(found: &[Icd10Code]) -> Vec<&'static str> {
        found.iter().map(|c| c.code).collect()
    }

    #[test]
    fn the_embedded_table_has_no_malformed_line() {
        let (entries, malformed) = parse_table(TABLE_TSV);
        assert_eq!(malformed, 0);
        let data_lines = TABLE_TSV
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .count();
        assert_eq!(entries.len(), data_lines);
    }

    #[test]
    fn the_table_names_its_source_and_licence() {
        let header: Vec<&str> = TABLE_TSV
            .lines()
            .take_while(|line| line.starts_with('#'))
            .collect();
        let header = header.join("\n");
        assert!(header.contains("ICD-10-CM"));
        assert!(header.contains("public domain"));
        assert!(header.contains("simple_icd_10_cm 1.5.0"));
    }

    #[test]
    fn the_table_holds_a_few_thousand_codes() {
        let count = all().len();
        assert!((8_000..=11_000).contains(&count), "{count} codes");
        let categories = all().filter(|c| c.code.len() == 3).count();
        assert!(categories >= 1_900, "{categories} categories");
    }

    #[test]
    fn codes_are_unique_sorted_and_canonical() {
        let entries = &*TABLE;
        for pair in entries.windows(2) {
            if let [a, b] = pair {
                assert!(a.key < b.key, "{} then {}", a.code, b.code);
                assert!(a.code < b.code, "{} then {}", a.code, b.code);
            }
        }
        for entry in entries {
            assert_eq!(dotted(&entry.key).as_deref(), Some(entry.code));
            assert!(!entry.title.is_empty());
        }
    }

    #[test]
    fn lookup_accepts_case_dot_and_spaces() {
        for raw in ["E11.9", "e11.9", "E119", "e119", " E11.9 ", "\tE11.9\n"] {
            let found = lookup(raw);
            assert_eq!(
                found,
                Some(Icd10Code {
                    code: "E11.9",
                    title: "Type 2 diabetes mellitus without complications",
                }),
                "{raw:?}"
            );
        }
        assert_eq!(lookup("i10").map(|c| c.code), Some("I10"));
        assert_eq!(lookup("E11").map(|c| c.code), Some("E11"));
        assert_eq!(lookup("E11.").map(|c| c.code), Some("E11"));
        assert_eq!(lookup("f32a").map(|c| c.code), Some("F32.A"));
        assert_eq!(lookup("QA0").map(|c| c.code), Some("QA0"));
    }

    #[test]
    fn lookup_refuses_what_is_not_a_bundled_code() {
        for raw in [
            "",
            " ",
            "E",
            "E1",
            "E1.19",
            "E11..9",
            "E 11.9",
            "E11-9",
            "11.9",
            "E11.9.1",
            "E11.99999",
            "diabetes",
            "E11.65",
            "S72.0",
            "ZZ9",
        ] {
            assert_eq!(lookup(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn parse_code_returns_the_canonical_code_or_a_message_with_an_example() {
        assert_eq!(parse_code(" e119 "), Ok("E11.9"));
        assert_eq!(parse_code("I10"), Ok("I10"));
        for raw in ["", "diabetes", "E1.19", "E11.65"] {
            let message = parse_code(raw).err().unwrap_or_default();
            assert!(message.contains("E11.9"), "{raw:?}: {message}");
            assert!(!message.contains("diabetes"), "{raw:?}: {message}");
        }
        assert_ne!(parse_code("diabetes"), parse_code("E11.65"));
    }

    #[test]
    fn a_code_shaped_query_lists_codes_starting_with_it_in_code_order() {
        let found = codes(&search("E11", 100));
        assert_eq!(found.first(), Some(&"E11"));
        assert!(found.contains(&"E11.9"));
        assert!(found.iter().all(|code| code.starts_with("E11")));
        let mut sorted = found.clone();
        sorted.sort_unstable();
        assert_eq!(found, sorted);

        assert_eq!(codes(&search("e11.", 100)), found);
        assert_eq!(codes(&search(" e11 ", 100)), found);
        assert_eq!(codes(&search("e11.9", 10)), ["E11.9"]);
        assert_eq!(codes(&search("E119", 10)), ["E11.9"]);
        assert_eq!(codes(&search("i10", 10)), ["I10"]);
        assert_eq!(codes(&search("QA0", 10)).first(), Some(&"QA0"));

        let e1 = codes(&search("e1", 1_000));
        assert_eq!(e1.first(), Some(&"E10"));
        assert!(e1.iter().all(|code| code.starts_with("E1")));
        assert!(e1.contains(&"E16.2"));
    }

    #[test]
    fn a_code_shaped_query_without_codes_falls_back_to_words() {
        let found = search("b12", 20);
        assert!(found.iter().any(|c| c.code == "D51"), "{found:?}");
        assert!(found.iter().all(|c| c.title.to_lowercase().contains("b12")));
    }

    #[test]
    fn words_find_titles_containing_all_of_them() {
        let found = search("type 2 diabetes", 20);
        assert_eq!(found.first().map(|c| c.code), Some("E11"));
        assert!(found.iter().any(|c| c.code == "E11.9"), "{found:?}");
        for code in &found {
            let title = code.title.to_lowercase();
            assert!(title.contains("type 2") && title.contains("diabetes"));
        }

        let found = search("hypertension", 20);
        assert!(found.iter().any(|c| c.code == "I10"), "{found:?}");

        let found = search("Diabetes kidney", 50);
        assert!(!found.is_empty());
        for code in &found {
            let title = code.title.to_lowercase();
            assert!(
                title.contains("diabetes") && title.contains("kidney"),
                "{code:?}"
            );
        }

        assert_eq!(codes(&search("low back pain", 5)).first(), Some(&"M54.5"));
        assert_eq!(codes(&search("ASTHMA", 5)).first(), Some(&"J45"));
        assert_eq!(codes(&search("diabetes, type 2", 5)).first(), Some(&"E11"));
    }

    #[test]
    fn accents_are_ignored() {
        for query in ["sezary", "Sézary", "SÉZARY DISEASE"] {
            assert_eq!(codes(&search(query, 5)).first(), Some(&"C84.1"), "{query}");
        }
        assert!(search("sjogren", 5).iter().any(|c| c.code == "M35.0"));
    }

    #[test]
    fn whole_words_rank_before_word_starts_and_word_starts_before_the_rest() {
        for query in ["pneumonia", "diab", "cyst", "heart failure", "fever"] {
            let words: Vec<String> = fold(query).split_whitespace().map(str::to_owned).collect();
            let found = search(query, usize::MAX);
            assert!(!found.is_empty(), "{query}");
            let keyed: Vec<(MatchKind, usize)> = found
                .iter()
                .map(|c| {
                    let kind = title_match(&fold(c.title), &words);
                    (kind.unwrap_or(MatchKind::Inside), c.title.len())
                })
                .collect();
            assert!(keyed.windows(2).all(|w| w[0] <= w[1]), "{query}");
        }
        // "pneumonia" as a whole word comes before "pneumonia" starting "pneumoniae".
        let found = search("pneumonia", usize::MAX);
        let last_whole = found
            .iter()
            .rposition(|c| has_word(c.title, |w| w == "pneumonia"));
        let first_other = found
            .iter()
            .position(|c| !has_word(c.title, |w| w == "pneumonia"));
        assert!(last_whole.is_some() && first_other.is_some());
        assert!(last_whole < first_other);
        // "cyst" starts "cysticercosis" but sits inside "polycystic": word starts come first.
        let found = search("cyst", usize::MAX);
        let last_start = found
            .iter()
            .rposition(|c| has_word(c.title, |w| w.starts_with("cyst")));
        let first_inside = found
            .iter()
            .position(|c| !has_word(c.title, |w| w.starts_with("cyst")));
        assert!(last_start.is_some() && first_inside.is_some());
        assert!(last_start < first_inside);
    }

    fn has_word(title: &str, wanted: impl Fn(&str) -> bool) -> bool {
        title
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(wanted)
    }

    #[test]
    fn the_limit_is_respected() {
        assert_eq!(search("a", 5).len(), 5);
        assert_eq!(search("E11", 3).len(), 3);
        assert_eq!(search("disease", 7).len(), 7);
        assert!(search("diabetes", 0).is_empty());
        assert!(search("E11", 0).is_empty());
    }

    #[test]
    fn nothing_is_found_for_nothing_or_nonsense() {
        for query in [
            "",
            "   ",
            "\t",
            "---",
            "xyzzy",
            "qwertyuiop",
            "diabetes xyzzy",
            "Z99.99.9",
            "E11.9999999",
        ] {
            assert!(search(query, 10).is_empty(), "{query:?}");
        }
    }

    #[test]
    fn a_search_over_the_whole_table_returns_every_match() {
        // A one-letter query matches most titles: the whole table is scanned and sorted.
        let found = search("e", usize::MAX);
        assert!(found.len() > all().len() / 2);
    }
}
