//! Normalisation of identifying values before they are blind-indexed.
//!
//! A blind index only finds a record when the search input normalises to exactly the same
//! string as the stored value did, so these rules are part of the on-disk format: changing one
//! means recomputing every blind index. The output strings are what gets HMACed (see
//! [`crate::blind_index`]); they are PHI and never leave memory.
//!
//! # Names ([`normalize_name`])
//! 1. Unicode lowercase (`char::to_lowercase`, so `İ` becomes `i` + a combining dot), with the
//!    Greek final sigma `ς` written `σ`, since lowercasing `Σ` character by character cannot
//!    know which one a word ends in.
//! 2. Combining marks are dropped (U+0300–U+036F, U+1AB0–U+1AFF, U+1DC0–U+1DFF,
//!    U+20D0–U+20FF, U+FE20–U+FE2F), so decomposed input (`e` + U+0301) equals precomposed
//!    (`é`).
//! 3. Precomposed Latin letters are folded to ASCII by a built-in table covering Latin-1
//!    Supplement, Latin Extended-A, Latin Extended-B and Latin Extended Additional (Vietnamese):
//!    `é`→`e`, `ß`→`ss`, `æ`→`ae`, `œ`→`oe`, `ø`→`o`, `ł`→`l`, `đ`/`ð`→`d`, `þ`→`th`, `ı`→`i`.
//!    Letters of other scripts (Greek, Cyrillic, CJK, …) are kept as they are (lowercased); no
//!    transliteration is attempted, so `Иванов` and `Ivanov` do not match. This avoids a
//!    Unicode-normalisation dependency; NFKD could replace the table later (a format change).
//! 4. Apostrophes and the middle dot (`'` `’` `‘` `ʼ` `ʻ` `` ` `` `´` `·`) are deleted, joining
//!    the parts of one word: `O'Brien` = `OBrien` = `o’brien` → `obrien`.
//! 5. Every other character that is not alphanumeric (spaces, hyphens, dots, commas, …) is a
//!    separator; runs of separators become one space and leading/trailing ones are dropped:
//!    `  Smith-Jones ` → `smith jones` (= `Smith Jones`, ≠ `SmithJones`).
//!
//! # Phone numbers ([`normalize_phone`])
//! ASCII digits only; everything else (`+`, spaces, brackets, dashes, dots) is dropped, and only
//! the last [`PHONE_DIGITS_KEPT`] (10) digits are kept. Ten digits is the national significant
//! number in most numbering plans (UK, US/Canada) plus at most a trunk `0`, so the international
//! and national spellings of one number match: `+44 20 7946 0958`, `0044 20 7946 0958` and
//! `020 7946 0958` all become `2079460958`; `+1 (555) 123-4567` and `555.123.4567` both become
//! `5551234567`. Costs, accepted because a blind index only selects candidates that the service
//! then decrypts and checks: two numbers from different countries with the same last ten digits
//! collide, and an extension written after the number (`… ext 12`) changes the result (callers
//! store extensions separately).
//!
//! # Identifiers: MRN and national id ([`normalize_identifier`])
//! Alphanumeric characters only, uppercased: `ab 12-34-56 c` → `AB123456C`,
//! ` mrn-0042 ` → `MRN0042`. Leading zeros are significant.

/// How many trailing digits of a phone number are kept by [`normalize_phone`].
pub const PHONE_DIGITS_KEPT: usize = 10;

/// The normalised form of a personal or family name (rules in the module docs). Empty when the
/// input has no letters or digits.
pub fn normalize_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut separator_pending = false;
    for lower in raw.chars().flat_map(char::to_lowercase) {
        let lower = if lower == 'ς' { 'σ' } else { lower };
        if is_combining_mark(lower) || is_joining_punctuation(lower) {
            continue;
        }
        let folded = fold_latin_letter(lower);
        if folded.is_none() && !lower.is_alphanumeric() {
            separator_pending = true;
            continue;
        }
        if separator_pending && !out.is_empty() {
            out.push(' ');
        }
        separator_pending = false;
        match folded {
            Some(ascii) => out.push_str(ascii),
            None => out.push(lower),
        }
    }
    out
}

/// The normalised form of a phone number: its last [`PHONE_DIGITS_KEPT`] ASCII digits (fewer
/// if it has fewer). Empty when the input has no digits.
pub fn normalize_phone(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    let skip = digits.len().saturating_sub(PHONE_DIGITS_KEPT);
    digits.into_iter().skip(skip).collect()
}

/// The normalised form of an MRN or national id: alphanumerics only, uppercased.
pub fn normalize_identifier(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Combining diacritical marks (the blocks listed in the module docs).
fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Punctuation that joins the parts of one name rather than separating words.
fn is_joining_punctuation(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{02BB}' | '`' | '\u{00B4}' | '\u{00B7}'
    )
}

/// The ASCII spelling of a lowercase Latin letter with a diacritic (or a ligature / special
/// letter), or `None` for anything else, including plain ASCII. Generated from Unicode NFKD
/// decompositions of the lowercase letters of U+00C0–U+024F and U+1E00–U+1EFF, plus hand-picked
/// letters that do not decompose (`ß æ œ ø ł đ ð þ ı ħ ŧ ŋ ſ` …).
fn fold_latin_letter(c: char) -> Option<&'static str> {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' | 'ǟ' | 'ǡ' | 'ǻ' | 'ȁ' | 'ȃ'
        | 'ȧ' | 'ḁ' | 'ẚ' | 'ạ' | 'ả' | 'ấ' | 'ầ' | 'ẩ' | 'ẫ' | 'ậ' | 'ắ' | 'ằ' | 'ẳ' | 'ẵ'
        | 'ặ' => Some("a"),
        'æ' | 'ǣ' | 'ǽ' => Some("ae"),
        'ƀ' | 'ḃ' | 'ḅ' | 'ḇ' => Some("b"),
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'ƈ' | 'ȼ' | 'ḉ' => Some("c"),
        'ð' | 'ď' | 'đ' | 'ƌ' | 'ȡ' | 'ḋ' | 'ḍ' | 'ḏ' | 'ḑ' | 'ḓ' => Some("d"),
        'ȸ' => Some("db"),
        'ǆ' | 'ǳ' => Some("dz"),
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ǝ' | 'ȅ' | 'ȇ' | 'ȩ' | 'ɇ' | 'ḕ'
        | 'ḗ' | 'ḙ' | 'ḛ' | 'ḝ' | 'ẹ' | 'ẻ' | 'ẽ' | 'ế' | 'ề' | 'ể' | 'ễ' | 'ệ' => {
            Some("e")
        }
        'ƒ' | 'ḟ' => Some("f"),
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'ǥ' | 'ǧ' | 'ǵ' | 'ḡ' => Some("g"),
        'ĥ' | 'ħ' | 'ȟ' | 'ḣ' | 'ḥ' | 'ḧ' | 'ḩ' | 'ḫ' | 'ẖ' => Some("h"),
        'ƕ' => Some("hv"),
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' | 'ȉ' | 'ȋ' | 'ḭ' | 'ḯ' | 'ỉ'
        | 'ị' => Some("i"),
        'ĳ' => Some("ij"),
        'ĵ' | 'ǰ' | 'ȷ' | 'ɉ' => Some("j"),
        'ķ' | 'ĸ' | 'ƙ' | 'ǩ' | 'ḱ' | 'ḳ' | 'ḵ' => Some("k"),
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'ƚ' | 'ȴ' | 'ḷ' | 'ḹ' | 'ḻ' | 'ḽ' => Some("l"),
        'ǉ' => Some("lj"),
        'ḿ' | 'ṁ' | 'ṃ' => Some("m"),
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' | 'ǹ' | 'ȵ' | 'ṅ' | 'ṇ' | 'ṉ' | 'ṋ' => {
            Some("n")
        }
        'ǌ' => Some("nj"),
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ơ' | 'ǒ' | 'ǫ' | 'ǭ' | 'ǿ' | 'ȍ'
        | 'ȏ' | 'ȫ' | 'ȭ' | 'ȯ' | 'ȱ' | 'ṍ' | 'ṏ' | 'ṑ' | 'ṓ' | 'ọ' | 'ỏ' | 'ố' | 'ồ' | 'ổ'
        | 'ỗ' | 'ộ' | 'ớ' | 'ờ' | 'ở' | 'ỡ' | 'ợ' => Some("o"),
        'œ' => Some("oe"),
        'ƣ' => Some("oi"),
        'ƥ' | 'ṕ' | 'ṗ' => Some("p"),
        'ɋ' => Some("q"),
        'ȹ' => Some("qp"),
        'ŕ' | 'ŗ' | 'ř' | 'ȑ' | 'ȓ' | 'ɍ' | 'ṙ' | 'ṛ' | 'ṝ' | 'ṟ' => Some("r"),
        'ś' | 'ŝ' | 'ş' | 'š' | 'ſ' | 'ș' | 'ȿ' | 'ṡ' | 'ṣ' | 'ṥ' | 'ṧ' | 'ṩ' | 'ẛ' => {
            Some("s")
        }
        'ß' => Some("ss"),
        'ţ' | 'ť' | 'ŧ' | 'ƫ' | 'ƭ' | 'ț' | 'ȶ' | 'ṫ' | 'ṭ' | 'ṯ' | 'ṱ' | 'ẗ' => {
            Some("t")
        }
        'þ' => Some("th"),
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ư' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ'
        | 'ǜ' | 'ȕ' | 'ȗ' | 'ṳ' | 'ṵ' | 'ṷ' | 'ṹ' | 'ṻ' | 'ụ' | 'ủ' | 'ứ' | 'ừ' | 'ử' | 'ữ'
        | 'ự' => Some("u"),
        'ṽ' | 'ṿ' => Some("v"),
        'ŵ' | 'ẁ' | 'ẃ' | 'ẅ' | 'ẇ' | 'ẉ' | 'ẘ' => Some("w"),
        'ẋ' | 'ẍ' => Some("x"),
        'ý' | 'ÿ' | 'ŷ' | 'ƴ' | 'ȳ' | 'ɏ' | 'ẏ' | 'ẙ' | 'ỳ' | 'ỵ' | 'ỷ' | 'ỹ' => {
            Some("y")
        }
        'ź' | 'ż' | 'ž' | 'ƶ' | 'ȥ' | 'ɀ' | 'ẑ' | 'ẓ' | 'ẕ' => Some("z"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_ignore_case_spacing_and_accents() {
        assert_eq!(normalize_name("Smith"), "smith");
        assert_eq!(normalize_name("  SMITH \t"), "smith");
        assert_eq!(normalize_name("José  María"), "jose maria");
        assert_eq!(normalize_name("Jose\u{301} Mari\u{301}a"), "jose maria");
        assert_eq!(normalize_name("Müller-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(normalize_name("Strauß"), "strauss");
        assert_eq!(normalize_name("Ærøskøbing"), "aeroskobing");
        assert_eq!(normalize_name("Łukasz Wałęsa"), "lukasz walesa");
        assert_eq!(normalize_name("Đorđević"), "dordevic");
        assert_eq!(
            normalize_name("Nguyễn Thị Minh Khai"),
            "nguyen thi minh khai"
        );
        assert_eq!(normalize_name("Çelik, Ayşe"), "celik ayse");
        assert_eq!(normalize_name("İSTANBUL"), "istanbul");
    }

    #[test]
    fn apostrophes_join_and_hyphens_separate() {
        assert_eq!(normalize_name("O'Brien"), "obrien");
        assert_eq!(normalize_name("O’Brien"), normalize_name("obrien"));
        assert_eq!(normalize_name("Smith-Jones"), normalize_name("Smith Jones"));
        assert_eq!(normalize_name("Paral·lel"), "parallel");
        assert_eq!(normalize_name("...--"), "");
        assert_eq!(normalize_name(""), "");
    }

    #[test]
    fn other_scripts_are_kept_lowercased() {
        assert_eq!(normalize_name("ИВАНОВ"), "иванов");
        // Precomposed Greek accents are kept; decomposed ones are combining marks.
        assert_eq!(normalize_name("Παπαδόπουλος"), "παπαδόπουλοσ");
        assert_eq!(
            normalize_name("ΠΑΠΑΔΌΠΟΥΛΟΣ"),
            normalize_name("Παπαδόπουλος")
        );
        assert_eq!(normalize_name("Παπαδο\u{301}πουλος"), "παπαδοπουλοσ");
    }

    #[test]
    fn phones_keep_the_last_ten_digits() {
        assert_eq!(normalize_phone("+44 20 7946 0958"), "2079460958");
        assert_eq!(normalize_phone("020 7946 0958"), "2079460958");
        assert_eq!(normalize_phone("0044 (20) 7946-0958"), "2079460958");
        assert_eq!(normalize_phone("+1 (555) 123-4567"), "5551234567");
        assert_eq!(normalize_phone("555.123.4567"), "5551234567");
        assert_eq!(normalize_phone("4592"), "4592");
        assert_eq!(normalize_phone("n/a"), "");
    }

    #[test]
    fn identifiers_are_uppercase_alphanumerics() {
        assert_eq!(normalize_identifier("ab 12-34-56 c"), "AB123456C");
        assert_eq!(normalize_identifier(" mrn-0042 "), "MRN0042");
        assert_eq!(normalize_identifier("--"), "");
    }

    #[test]
    fn every_folded_letter_is_ascii_alphanumeric() {
        for code in 0x00C0..=0x1EFF_u32 {
            if let Some(folded) = char::from_u32(code).and_then(fold_latin_letter) {
                assert!(!folded.is_empty());
                assert!(folded.bytes().all(|b| b.is_ascii_lowercase()), "{code:x}");
            }
        }
    }

    proptest! {
        #[test]
        fn name_normalisation_is_idempotent_and_tidy(raw in "\\PC{0,40}") {
            let once = normalize_name(&raw);
            prop_assert_eq!(normalize_name(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
            prop_assert!(!once.contains("  "));
        }

        #[test]
        fn latin_names_ignore_case(raw in "[a-zA-Z\u{C0}-\u{17F}' .\\-]{0,40}") {
            prop_assert_eq!(normalize_name(&raw.to_uppercase()), normalize_name(&raw.to_lowercase()));
        }

        #[test]
        fn phone_normalisation_keeps_at_most_ten_digits(raw in "[0-9 +()\\-.]{0,30}") {
            let normalised = normalize_phone(&raw);
            prop_assert!(normalised.len() <= PHONE_DIGITS_KEPT);
            prop_assert!(normalised.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
