//! Ids that arrive as text (a path segment, a form field) and name a stored record.

use std::fmt::Display;
use std::str::FromStr;

/// The id `raw` names if it is written as the store writes ids (lowercase hyphenated UUID
/// text): any other text, even another spelling of a valid UUID, names no record, as when
/// the lookup compared the text itself.
pub(crate) fn stored_id<T: FromStr + Display>(raw: &str) -> Option<T> {
    raw.parse::<T>().ok().filter(|id| id.to_string() == raw)
}

#[cfg(test)]
mod tests {
    use carevault_core::PatientId;

    use super::*;

    #[test]
    fn only_the_stored_spelling_names_a_record() {
        let id = PatientId::generate();
        let text = id.to_string();
        assert_eq!(stored_id::<PatientId>(&text), Some(id));
        assert_eq!(stored_id::<PatientId>(&text.to_uppercase()), None);
        assert_eq!(stored_id::<PatientId>("not an id"), None);
    }
}
