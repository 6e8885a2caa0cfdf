use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// An email address, checked by the `email_address` crate (RFC 5321/5322 syntax) and kept as
/// typed, except that the domain part is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.len() > 254 {
            return Err(ParseError::new(
                "an email address has at most 254 characters",
            ));
        }
        let parsed = email_address::EmailAddress::from_str(raw)
            .map_err(|e| ParseError::new(format!("not a valid email address: {e}")))?;
        // Display names ("Ada <ada@x>") are not addresses a user would type in a field.
        if parsed.display_part() != "" || !parsed.domain().contains('.') {
            return Err(ParseError::new(
                "not a valid email address: expected name@domain.tld",
            ));
        }
        Ok(Self(format!(
            "{}@{}",
            parsed.local_part(),
            parsed.domain().to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as shown to someone who must not learn it: `a•••@example.org`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A telephone number in E.164 form (`+4915112345678`), parsed and validated with the
/// libphonenumber metadata of the `phonenumber` crate. A number must carry its country code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.len() > 32 {
            return Err(ParseError::new("a phone number has at most 32 characters"));
        }
        if !raw.starts_with('+') {
            return Err(ParseError::new(
                "a phone number must start with + and its country code, e.g. +44 20 7946 0000",
            ));
        }
        let number = phonenumber::parse(None, raw)
            .map_err(|e| ParseError::new(format!("not a valid phone number: {e}")))?;
        if !phonenumber::is_valid(&number) {
            return Err(ParseError::new(
                "not a valid phone number for its country code",
            ));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO 3166 region the number belongs to (`GB`, `DE`), for the country allow-list of
    /// SPEC §4; `None` for non-geographic numbers.
    pub fn region(&self) -> Option<String> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        number.country().id().map(|id| {
            let id: &str = id.as_ref();
            id.to_owned()
        })
    }

    /// The number as shown to someone who must not learn it: `+•••••••••78`.
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().collect();
        let keep = 2.min(digits.len());
        let tail: String = digits[digits.len() - keep..].iter().collect();
        format!(
            "+{}{tail}",
            "•".repeat(digits.len().saturating_sub(keep + 1))
        )
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domain_is_lowercased_and_masked() {
        let e = EmailAddress::parse(" Ada@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "Ada@example.org");
        assert_eq!(e.masked(), "A•••@example.org");
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "Ada <ada@example.org>",
            "ada@localhost",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones_become_e164() {
        let p = PhoneNumber::parse("+44 20 7946 0958").unwrap();
        assert_eq!(p.as_str(), "+442079460958");
        assert_eq!(
            p.masked(),
            "+•••••••••••58".replace("•••••••••••", &"•".repeat(10))
        );
    }

    #[test]
    fn bad_phones_are_refused() {
        for bad in ["", "020 7946 0958", "+1", "+44 12", "+999 1234567", "phone"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }
}
