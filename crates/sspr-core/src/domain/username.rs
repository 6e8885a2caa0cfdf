use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// A user's sign-in name: a plain name (`ada`) or a UPN-style name (`ada@example.org`).
///
/// Stored and compared in lower case: `Ada` and `ada` are the same account, as in Entra and
/// Active Directory. Allowed characters follow Entra's UPN rules (letters, digits and
/// `' . - _ ! # ^ ~`, plus `@` and `+`), at most 113 characters, which also keeps every
/// value safe to place in a log line or an LDAP filter after escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 113;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(ParseError::new("a username is required"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(ParseError::new(format!(
                "a username has at most {} characters",
                Self::MAX_LEN
            )));
        }
        if let Some(bad) = value.chars().find(|c| !Self::allowed(*c)) {
            return Err(ParseError::new(format!(
                "a username may not contain {bad:?}; use letters, digits and ' . - _ ! # ^ ~ @ +"
            )));
        }
        if value.starts_with(['-', '.', '@']) || value.ends_with(['.', '@']) {
            return Err(ParseError::new(
                "a username may not start with '-', '.' or '@', nor end with '.' or '@'",
            ));
        }
        if value.matches('@').count() > 1 || value.contains(".@") {
            return Err(ParseError::new(
                "a username has at most one '@', with no '.' right before it",
            ));
        }
        Ok(Self(value))
    }

    fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || "'.-_!#^~@+".contains(c)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_case_insensitive_and_trimmed() {
        assert_eq!(Username::parse("  Ada ").unwrap().as_str(), "ada");
        assert_eq!(
            Username::parse("Ada.Lovelace@Example.org")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.org"
        );
    }

    #[test]
    fn filter_and_dn_metacharacters_are_refused() {
        for bad in [
            "*)(uid=*))(|(uid=*",
            "a,b",
            "a=b",
            "a b",
            "a\\b",
            "a\u{0}b",
            "",
            "-rf",
            "a..@b",
            "a@b@c",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn length_is_bounded() {
        assert!(Username::parse(&"a".repeat(113)).is_ok());
        assert!(Username::parse(&"a".repeat(114)).is_err());
    }
}
