//! Reading the id of a record a caller asks for. Ids are stored in one spelling (lowercase,
//! hyphenated: `carevault_core::ids`), and a record is found only by that spelling, so a
//! request naming it otherwise finds nothing, as it did when ids were compared as text.

use std::fmt::Display;
use std::str::FromStr;

/// The id `raw` names, if it is a valid id in its stored spelling; `None` otherwise (no
/// record has it).
pub(crate) fn requested_id<T: FromStr + Display>(raw: &str) -> Option<T> {
    raw.parse::<T>().ok().filter(|id| id.to_string() == raw)
}

#[cfg(test)]
mod tests {
    use carevault_core::ProblemId;

    use super::*;

    #[test]
    fn only_the_stored_spelling_names_a_record() {
        let id = ProblemId::generate();
        let stored = id.to_string();
        assert_eq!(requested_id::<ProblemId>(&stored), Some(id));
        assert_eq!(requested_id::<ProblemId>(&stored.to_uppercase()), None);
        assert_eq!(requested_id::<ProblemId>(&format!(" {stored}")), None);
        assert_eq!(requested_id::<ProblemId>("not-an-id"), None);
    }
}
