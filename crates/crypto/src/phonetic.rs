//! Phonetic codes for sound-alike surname search ("Smyth" finds "Smith").
//!
//! The algorithm is American Soundex as specified by the US National Archives (the variant
//! with the H/W rule), implemented here rather than pulled in as a dependency: it is twenty
//! lines, and the code is part of the blind-index format, so it must never change under us.
//!
//! # Format
//! Four ASCII characters: the first letter of the name, uppercased, then three digits
//! (`Smith` → `S530`, `Ashcraft` → `A261`). Rules:
//! 1. Only ASCII letters count; everything else (spaces, hyphens, digits, non-Latin letters) is
//!    skipped, so a multi-part name is coded as one word (`Smith-Jones` = `SmithJones`).
//!    Callers pass the output of [`crate::normalize::normalize_name`], which has already folded
//!    Latin diacritics (`Müller` → `muller` → `M460`).
//! 2. Letters map to digits: B F P V → 1; C G J K Q S X Z → 2; D T → 3; L → 4; M N → 5; R → 6.
//!    A E I O U Y are vowels; H and W are transparent.
//! 3. Adjacent letters with the same digit are coded once, including the first letter with the
//!    one after it (`Pfister` → `P236`); letters with the same digit separated only by H or W are
//!    also coded once (`Ashcraft` → `A261`); a vowel between them makes them count twice
//!    (`Tymczak` → `T522`).
//! 4. The code is cut to four characters or padded with `0` (`Lee` → `L000`).
//!
//! A name without any ASCII letter (for example one written in Cyrillic) has no code:
//! [`soundex`] returns `None` and the phonetic blind index is simply not stored for it.
//! Prefixes such as "van", "de" or "Mc" are not treated specially.

/// Length of a Soundex code.
pub const SOUNDEX_LEN: usize = 4;

/// The American Soundex code of `name` (rules in the module docs), or `None` when `name`
/// contains no ASCII letter.
pub fn soundex(name: &str) -> Option<String> {
    let mut letters = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase());
    let first = letters.next()?;
    let mut code = String::with_capacity(SOUNDEX_LEN);
    code.push(first);
    let mut previous_digit = soundex_digit(first);
    for letter in letters {
        if code.len() == SOUNDEX_LEN {
            break;
        }
        match letter {
            'H' | 'W' => {}
            'A' | 'E' | 'I' | 'O' | 'U' | 'Y' => previous_digit = None,
            _ => {
                let digit = soundex_digit(letter);
                if digit != previous_digit
                    && let Some(d) = digit
                {
                    code.push(d);
                }
                previous_digit = digit;
            }
        }
    }
    while code.len() < SOUNDEX_LEN {
        code.push('0');
    }
    Some(code)
}

/// The Soundex digit of an uppercase ASCII consonant; `None` for vowels, H, W and Y.
fn soundex_digit(letter: char) -> Option<char> {
    match letter {
        'B' | 'F' | 'P' | 'V' => Some('1'),
        'C' | 'G' | 'J' | 'K' | 'Q' | 'S' | 'X' | 'Z' => Some('2'),
        'D' | 'T' => Some('3'),
        'L' => Some('4'),
        'M' | 'N' => Some('5'),
        'R' => Some('6'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_codes() {
        // Examples from the US National Archives' description of Soundex and common test sets.
        for (name, code) in [
            ("Robert", "R163"),
            ("Rupert", "R163"),
            ("Rubin", "R150"),
            ("Ashcraft", "A261"),
            ("Ashcroft", "A261"),
            ("Tymczak", "T522"),
            ("Pfister", "P236"),
            ("Honeyman", "H555"),
            ("Jackson", "J250"),
            ("Gutierrez", "G362"),
            ("Lee", "L000"),
            ("Washington", "W252"),
            ("Lloyd", "L300"),
        ] {
            assert_eq!(soundex(name).as_deref(), Some(code), "{name}");
        }
    }

    #[test]
    fn sound_alikes_share_a_code() {
        assert_eq!(soundex("Smith"), soundex("Smyth"));
        assert_eq!(soundex("Smith"), soundex("Smithe"));
        assert_eq!(soundex("Smith").as_deref(), Some("S530"));
        assert_eq!(
            soundex("Catherine"),
            soundex("Kathryn").map(|k| k.replacen('K', "C", 1))
        );
        assert_ne!(soundex("Smith"), soundex("Jones"));
    }

    #[test]
    fn non_letters_are_skipped() {
        assert_eq!(soundex("o brien"), soundex("OBrien"));
        assert_eq!(soundex("smith jones"), soundex("SmithJones"));
        assert_eq!(soundex("  smith  "), soundex("Smith"));
        assert_eq!(soundex(""), None);
        assert_eq!(soundex("1234 --"), None);
        assert_eq!(soundex("иванов"), None);
    }

    proptest! {
        #[test]
        fn codes_have_the_documented_shape(name in "\\PC{0,30}") {
            if let Some(code) = soundex(&name) {
                let bytes = code.as_bytes();
                prop_assert_eq!(bytes.len(), SOUNDEX_LEN);
                prop_assert!(bytes[0].is_ascii_uppercase());
                prop_assert!(bytes[1..].iter().all(u8::is_ascii_digit));
            } else {
                prop_assert!(!name.chars().any(|c| c.is_ascii_alphabetic()));
            }
        }
    }
}
