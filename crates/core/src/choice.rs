//! `text_choice!`: an enumeration of fixed choices with a stable snake_case text form (as
//! stored and as sent in JSON), `ALL`, `as_str`, a lenient `parse` and `Display`. Used by the
//! scheduling, clinical, billing, pharmacy and notification vocabularies.

/// Declares a choice enum. `parse` ignores case and surrounding space and accepts `-` or a
/// space for `_` (`Follow-up` is `follow_up`); a variant may list extra accepted spellings
/// after `|`. The refusal names every choice: "must be one of <what>: a, b, c".
macro_rules! text_choice {
    ($(#[$doc:meta])* $name:ident, $what:literal {
        $($(#[$vdoc:meta])* $variant:ident => $text:literal $(| $alias:literal)*),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The text form (snake_case), as stored and as sent in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the text form, ignoring case and surrounding space and accepting `-`
            /// or a space for `_`.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let value = raw.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                $(if value == $text $(|| value == $alias)* { return Ok($name::$variant); })*
                Err(format!(
                    concat!("must be one of ", $what, ": {}"),
                    [$($text),*].join(", ")
                ))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
