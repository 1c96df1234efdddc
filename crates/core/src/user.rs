//! Value types for user accounts. Each has a `parse` constructor, so an invalid value cannot
//! exist past the edge of the system.

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Longest accepted username, in characters.
pub const USERNAME_MAX: usize = 64;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest accepted password, in characters (Argon2 would take more; nobody types more).
pub const PASSWORD_MAX: usize = 256;
/// Longest accepted display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 100;

/// A login name: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit, stored
/// in lowercase so `DrSmith` and `drsmith` are the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        let length = value.chars().count();
        if length < 3 {
            return Err("must be at least 3 characters".into());
        }
        if length > USERNAME_MAX {
            return Err(format!("must be at most {USERNAME_MAX} characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            return Err("may contain only letters, digits, '.', '_' and '-'".into());
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err("must start with a letter or a digit".into());
        }
        Ok(Self(value))
    }

    /// The lenient form used at sign-in: only the length is checked (a too-long value is a
    /// caller error worth a message); anything else simply matches no account.
    pub fn for_sign_in(raw: &str) -> Result<String, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("is required".into());
        }
        if value.chars().count() > USERNAME_MAX {
            return Err(format!("must be at most {USERNAME_MAX} characters"));
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

/// The name shown for a user in the interface and in the audit trail of who did what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("is required".into());
        }
        if value.chars().count() > DISPLAY_NAME_MAX {
            return Err(format!("must be at most {DISPLAY_NAME_MAX} characters"));
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DisplayName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// A new password, held as a secret: its `Debug` output is redacted and its memory is zeroed
/// on drop.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: SecretString) -> Result<Self, String> {
        let length = raw.expose_secret().chars().count();
        if length < PASSWORD_MIN {
            return Err(format!("must be at least {PASSWORD_MIN} characters"));
        }
        if length > PASSWORD_MAX {
            return Err(format!("must be at most {PASSWORD_MAX} characters"));
        }
        Ok(Self(raw))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

impl FromStr for UserStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            _ => Err("must be active or disabled".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" DrSmith ").unwrap().as_str(), "drsmith");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse(".dot").is_err());
        assert!(Username::for_sign_in(&"a".repeat(300)).is_err());
        assert_eq!(Username::for_sign_in("Any Thing").unwrap(), "any thing");
        assert!(Username::for_sign_in("nul\0byte").is_err());
    }

    #[test]
    fn passwords() {
        assert!(Password::parse(SecretString::from("short")).is_err());
        assert!(Password::parse(SecretString::from("admin123")).is_ok());
        assert!(Password::parse(SecretString::from("x".repeat(300))).is_err());
    }

    #[test]
    fn display_names() {
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse("Dr\u{7}Smith").is_err());
        assert_eq!(
            DisplayName::parse(" Dr Smith ").unwrap().as_str(),
            "Dr Smith"
        );
    }
}
