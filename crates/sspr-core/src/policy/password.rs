//! The password policy of SPEC §3: the base rules for cloud-only users (length, allowed
//! characters, character classes, history) and the switches of password protection (the
//! custom banned list, the breached corpus). The checks themselves are in
//! `service::passwords`, which combines these rules with `policy::banned` and the corpus.

use serde::{Deserialize, Serialize};

use crate::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: u16,
    /// Allow any Unicode letter or symbol instead of printable ASCII and space.
    pub allow_unicode: bool,
    /// At least 3 of 4 classes: upper case, lower case, digit, symbol.
    pub require_three_classes: bool,
    /// How many previous passwords may not be reused (0–24).
    pub history: u8,
    /// Reject passwords that score too low against the administrator's custom terms.
    pub enforce_custom_list: bool,
    /// The administrator's banned terms: ≤ 1000, each 4–16 characters.
    pub custom_banned_terms: Vec<String>,
    /// Reject passwords found in the imported breached-password corpus.
    pub check_breached: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            allow_unicode: false,
            require_three_classes: true,
            history: 1,
            enforce_custom_list: true,
            custom_banned_terms: Vec::new(),
            check_breached: true,
        }
    }
}

/// One rule a password failed, in words a user understands. Never echoes the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum PasswordProblem {
    TooShort {
        min: u16,
    },
    TooLong {
        max: u16,
    },
    DisallowedCharacter,
    TooFewClasses,
    Reused,
    /// Equal to the password being replaced (a change).
    SameAsCurrent,
    /// Too close to a commonly used password or to the user's or organisation's names.
    EasilyGuessed,
    /// Contains terms the administrator has blocked.
    BlockedByAdministrator,
    /// Found in a known data breach.
    Breached,
}

impl std::fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordProblem::TooShort { min } => write!(f, "use at least {min} characters"),
            PasswordProblem::TooLong { max } => write!(f, "use at most {max} characters"),
            PasswordProblem::DisallowedCharacter => f.write_str(
                "use only letters, digits, spaces and the symbols on a standard keyboard",
            ),
            PasswordProblem::TooFewClasses => f.write_str(
                "mix at least three of: upper-case letters, lower-case letters, digits, symbols",
            ),
            PasswordProblem::Reused => f.write_str("choose a password you have not used recently"),
            PasswordProblem::SameAsCurrent => {
                f.write_str("choose a password different from your current one")
            }
            PasswordProblem::EasilyGuessed => f.write_str(
                "your password contains a word, phrase or pattern that makes it easy to guess",
            ),
            PasswordProblem::BlockedByAdministrator => f.write_str(
                "your password contains words or characters your administrator has blocked",
            ),
            PasswordProblem::Breached => f.write_str(
                "this password has appeared in a data breach; choose one nobody else uses",
            ),
        }
    }
}

impl PasswordPolicy {
    pub const MAX_LENGTH: u16 = 256;

    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(8..=Self::MAX_LENGTH).contains(&self.min_length) {
            errors.push(FieldError {
                field: "min_length".into(),
                message: format!("must be between 8 and {}", Self::MAX_LENGTH),
            });
        }
        if self.history > 24 {
            errors.push(FieldError {
                field: "history".into(),
                message: "must be between 0 and 24".into(),
            });
        }
        if let Err(bad) = crate::policy::banned::validate_custom_terms(&self.custom_banned_terms) {
            errors.extend(bad);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The base rules a candidate password breaks (empty when it passes). Banned terms, the
    /// breached corpus and the history are checked by `service::passwords`.
    pub fn check(&self, password: &str) -> Vec<PasswordProblem> {
        let mut problems = Vec::new();
        let len = password.chars().count();
        if len < usize::from(self.min_length) {
            problems.push(PasswordProblem::TooShort {
                min: self.min_length,
            });
        }
        if len > usize::from(Self::MAX_LENGTH) {
            problems.push(PasswordProblem::TooLong {
                max: Self::MAX_LENGTH,
            });
        }
        let allowed = |c: char| {
            if self.allow_unicode {
                !c.is_control()
            } else {
                c == ' ' || c.is_ascii_graphic()
            }
        };
        if !password.chars().all(allowed) {
            problems.push(PasswordProblem::DisallowedCharacter);
        }
        if self.require_three_classes {
            let classes = [
                password.chars().any(char::is_uppercase),
                password.chars().any(char::is_lowercase),
                password.chars().any(|c| c.is_ascii_digit()),
                password.chars().any(|c| !c.is_alphanumeric()),
            ];
            if classes.iter().filter(|x| **x).count() < 3 {
                problems.push(PasswordProblem::TooFewClasses);
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_rules() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("Abcdef1!"), vec![]);
        assert_eq!(
            p.check("Abcde1!"),
            vec![PasswordProblem::TooShort { min: 8 }]
        );
        assert_eq!(p.check("abcdefgh"), vec![PasswordProblem::TooFewClasses]);
        assert_eq!(p.check("abcdefg1"), vec![PasswordProblem::TooFewClasses]);
        assert_eq!(p.check("abcdefG1"), vec![]);
        assert_eq!(
            p.check("Ünïcödé-1x"),
            vec![PasswordProblem::DisallowedCharacter]
        );
        assert_eq!(
            p.check(&"Aa1!".repeat(65)),
            vec![PasswordProblem::TooLong { max: 256 }]
        );
        assert_eq!(p.check("pass word A1"), vec![]);
    }

    #[test]
    fn unicode_and_classes_are_switchable() {
        let p = PasswordPolicy {
            allow_unicode: true,
            require_three_classes: false,
            ..Default::default()
        };
        assert_eq!(p.check("ünïcödéßß"), vec![]);
        assert_eq!(
            p.check("tab\there1"),
            vec![PasswordProblem::DisallowedCharacter]
        );
    }

    #[test]
    fn settings_are_range_checked() {
        assert!(
            PasswordPolicy {
                min_length: 7,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            PasswordPolicy {
                history: 25,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            PasswordPolicy {
                min_length: 256,
                history: 24,
                ..Default::default()
            }
            .validate()
            .is_ok()
        );
    }
}
