//! Free text as forms send it: the checks every validated text type starts from, and
//! `sensitive_text!`, which declares a text type whose `Debug` output never shows the text
//! (names, addresses, clinical notes and drug names are personal or health data).

/// `raw` trimmed, or `None` when it is absent or blank (an empty form field).
pub(crate) fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// [`clean_text`]'s message for a value with a control character.
pub(crate) const CONTROL_CHARACTERS: &str = "must not contain control characters";

/// Trims `raw`, checks its length in characters (`min..=max`) and refuses control
/// characters (a newline or tab only when `multiline`).
pub(crate) fn clean_text(
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, String> {
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
        return Err(CONTROL_CHARACTERS.into());
    }
    Ok(value.to_owned())
}

/// `Debug` for types holding personal or clinical data: it prints the type's name only
/// (`Name(…)`), so such a value can never reach a log. For any crate:
/// `carevault_core::opaque_debug!(TypeA, TypeB);`.
#[macro_export]
macro_rules! opaque_debug {
    ($($name:ident),* $(,)?) => {
        $(impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(…)"))
            }
        })*
    };
}

/// Declares a validated text type: `as_str`, `into_string`, `Display`, and a `Debug` that
/// prints only the type's name. Its `parse` is written next to it.
macro_rules! sensitive_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        $crate::opaque_debug!($name);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_measured_in_characters_and_free_of_control_characters() {
        assert_eq!(clean_text("  Ça va ", 1, 5, false).unwrap(), "Ça va");
        assert_eq!(clean_text("   ", 1, 5, false).unwrap_err(), "is required");
        assert_eq!(
            clean_text("ab", 3, 5, false).unwrap_err(),
            "must be at least 3 characters"
        );
        assert_eq!(
            clean_text("abcdef", 1, 5, false).unwrap_err(),
            "must be at most 5 characters"
        );
        assert!(clean_text("a\nb", 1, 5, false).is_err());
        assert_eq!(clean_text("a\nb", 1, 5, true).unwrap(), "a\nb");
        assert!(clean_text("a\u{7}b", 1, 5, true).is_err());
        assert_eq!(given(Some("  x ")), Some("x"));
        assert_eq!(given(Some("  ")), None);
    }
}
