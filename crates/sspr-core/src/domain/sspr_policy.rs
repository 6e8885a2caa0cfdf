//! The SSPR policy of SPEC §2: who may reset, with which methods, and what happens around it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{GroupId, MethodType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enablement {
    /// Nobody but administrators (when admin SSPR is on).
    None,
    /// The members of one group, nested groups included.
    Selected,
    All,
}

/// Where a user who is stuck is sent: a URL (opens in a new tab) or an email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum HelpdeskLink {
    Off,
    Url(String),
    Email(String),
}

/// One setting that failed validation, named as in the API and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The policy, with Entra's defaults (`Default`). Field names are the public names used by the
/// JSON API and by `sspr policy set NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsprPolicy {
    pub enablement: Enablement,
    pub target_group: Option<GroupId>,
    pub methods_required: u8,
    pub methods_enabled: BTreeSet<MethodType>,
    pub questions_to_register: u8,
    pub questions_to_reset: u8,
    pub custom_questions: Vec<String>,
    pub require_registration: bool,
    pub reconfirm_days: u16,
    pub skip_registration_days: u8,
    pub notify_user_on_reset: bool,
    pub notify_admins_on_admin_reset: bool,
    pub notify_on_method_change: bool,
    pub helpdesk: HelpdeskLink,
    pub writeback: bool,
    pub allow_unlock: bool,
    pub admin_sspr: bool,
    /// Entra's explicit "your administrator has not enabled you…" messages. Off by default,
    /// because they tell a stranger which user IDs exist (SPEC §5.1).
    pub explicit_messages: bool,
    /// The organisation's name on pages and in messages; none: the configuration's.
    pub organisation_name: Option<String>,
    /// An absolute http(s) URL of the logo; none: the configuration's.
    pub logo_url: Option<String>,
    /// `#RRGGBB`; none: the configuration's.
    pub brand_colour: Option<String>,
}

impl Default for SsprPolicy {
    fn default() -> Self {
        Self {
            enablement: Enablement::None,
            target_group: None,
            methods_required: 1,
            methods_enabled: [
                MethodType::Email,
                MethodType::MobileSms,
                MethodType::AuthenticatorCode,
            ]
            .into(),
            questions_to_register: 3,
            questions_to_reset: 3,
            custom_questions: Vec::new(),
            require_registration: true,
            reconfirm_days: 180,
            skip_registration_days: 7,
            notify_user_on_reset: true,
            notify_admins_on_admin_reset: true,
            notify_on_method_change: true,
            helpdesk: HelpdeskLink::Off,
            writeback: true,
            allow_unlock: false,
            admin_sspr: true,
            explicit_messages: false,
            organisation_name: None,
            logo_url: None,
            brand_colour: None,
        }
    }
}

impl SsprPolicy {
    pub const MAX_CUSTOM_QUESTIONS: usize = 20;

    /// Checks every range and rule of SPEC §2; returns one error per offending field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.enablement == Enablement::Selected && self.target_group.is_none() {
            errors.push(FieldError::new(
                "target_group",
                "choose the group whose members may reset when enablement is \"selected\"",
            ));
        }
        if !(1..=2).contains(&self.methods_required) {
            errors.push(FieldError::new("methods_required", "must be 1 or 2"));
        }
        if self.methods_enabled.is_empty() {
            errors.push(FieldError::new(
                "methods_enabled",
                "enable at least one method",
            ));
        } else if self.methods_enabled.len() < usize::from(self.methods_required) {
            errors.push(FieldError::new(
                "methods_enabled",
                format!(
                    "enable at least {} methods, since {} are required",
                    self.methods_required, self.methods_required
                ),
            ));
        }
        if !(3..=5).contains(&self.questions_to_register) {
            errors.push(FieldError::new(
                "questions_to_register",
                "must be between 3 and 5",
            ));
        }
        if !(3..=5).contains(&self.questions_to_reset) {
            errors.push(FieldError::new(
                "questions_to_reset",
                "must be between 3 and 5",
            ));
        } else if (3..=5).contains(&self.questions_to_register)
            && self.questions_to_reset > self.questions_to_register
        {
            errors.push(FieldError::new(
                "questions_to_reset",
                format!(
                    "may not exceed questions_to_register ({})",
                    self.questions_to_register
                ),
            ));
        }
        if self.custom_questions.len() > Self::MAX_CUSTOM_QUESTIONS {
            errors.push(FieldError::new(
                "custom_questions",
                format!("at most {} custom questions", Self::MAX_CUSTOM_QUESTIONS),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, q) in self.custom_questions.iter().enumerate() {
            let len = q.trim().chars().count();
            if !(3..=200).contains(&len) {
                errors.push(FieldError::new(
                    &format!("custom_questions[{i}]"),
                    "a question has 3 to 200 characters",
                ));
            } else if q.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    &format!("custom_questions[{i}]"),
                    "a question may not contain control characters",
                ));
            } else if !seen.insert(q.trim().to_lowercase()) {
                errors.push(FieldError::new(
                    &format!("custom_questions[{i}]"),
                    "this question is already in the list",
                ));
            }
        }
        if self.reconfirm_days > 730 {
            errors.push(FieldError::new(
                "reconfirm_days",
                "must be between 0 (never) and 730",
            ));
        }
        if self.skip_registration_days > 30 {
            errors.push(FieldError::new(
                "skip_registration_days",
                "must be between 0 and 30",
            ));
        }
        match &self.helpdesk {
            HelpdeskLink::Off => {}
            HelpdeskLink::Url(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() <= 2048
                    && url
                        .split("://")
                        .nth(1)
                        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
                    && !url.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    errors.push(FieldError::new(
                        "helpdesk",
                        "the helpdesk link must be an absolute http:// or https:// URL",
                    ));
                }
            }
            HelpdeskLink::Email(addr) => {
                if super::EmailAddress::parse(addr).is_err() {
                    errors.push(FieldError::new(
                        "helpdesk",
                        "the helpdesk email is not a valid email address",
                    ));
                }
            }
        }
        if let Some(name) = &self.organisation_name {
            let n = name.trim().chars().count();
            if n == 0 || n > 100 || name.chars().any(char::is_control) || name.trim() != name {
                errors.push(FieldError::new(
                    "organisation_name",
                    "the organisation name must be 1 to 100 characters, without surrounding spaces",
                ));
            }
        }
        if let Some(url) = &self.logo_url
            && !super::is_web_url(url)
        {
            errors.push(FieldError::new(
                "logo_url",
                "the logo must be an absolute http:// or https:// URL",
            ));
        }
        if let Some(colour) = &self.brand_colour
            && !super::is_hex_colour(colour)
        {
            errors.push(FieldError::new(
                "brand_colour",
                "the colour must be #RRGGBB, such as #0b5cad",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The settings whose values differ between `self` and `other`, as
    /// `(name, old, new)` JSON triples: what the audit log records for a policy change.
    pub fn diff(&self, other: &SsprPolicy) -> Vec<(String, serde_json::Value, serde_json::Value)> {
        let old = serde_json::to_value(self).unwrap_or_default();
        let new = serde_json::to_value(other).unwrap_or_default();
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
            return Vec::new();
        };
        old.iter()
            .filter_map(|(k, v)| {
                let n = new.get(k).cloned().unwrap_or_default();
                (v != &n).then(|| (k.clone(), v.clone(), n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec_and_are_valid() {
        let p = SsprPolicy::default();
        assert_eq!(p.enablement, Enablement::None);
        assert_eq!(p.methods_required, 1);
        assert_eq!(p.questions_to_register, 3);
        assert_eq!(p.questions_to_reset, 3);
        assert_eq!(p.reconfirm_days, 180);
        assert_eq!(p.skip_registration_days, 7);
        assert!(p.require_registration && p.admin_sspr && !p.allow_unlock);
        assert!(!p.explicit_messages);
        assert_eq!(p.validate(), Ok(()));
    }

    fn fields(p: &SsprPolicy) -> Vec<String> {
        p.validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn each_range_is_enforced_with_the_field_named() {
        let base = SsprPolicy::default();
        let cases: Vec<(SsprPolicy, &str)> = vec![
            (
                SsprPolicy {
                    methods_required: 3,
                    ..base.clone()
                },
                "methods_required",
            ),
            (
                SsprPolicy {
                    methods_required: 0,
                    ..base.clone()
                },
                "methods_required",
            ),
            (
                SsprPolicy {
                    questions_to_register: 2,
                    ..base.clone()
                },
                "questions_to_register",
            ),
            (
                SsprPolicy {
                    questions_to_register: 6,
                    ..base.clone()
                },
                "questions_to_register",
            ),
            (
                SsprPolicy {
                    questions_to_reset: 5,
                    questions_to_register: 4,
                    ..base.clone()
                },
                "questions_to_reset",
            ),
            (
                SsprPolicy {
                    reconfirm_days: 731,
                    ..base.clone()
                },
                "reconfirm_days",
            ),
            (
                SsprPolicy {
                    skip_registration_days: 31,
                    ..base.clone()
                },
                "skip_registration_days",
            ),
            (
                SsprPolicy {
                    enablement: Enablement::Selected,
                    ..base.clone()
                },
                "target_group",
            ),
            (
                SsprPolicy {
                    methods_enabled: BTreeSet::new(),
                    ..base.clone()
                },
                "methods_enabled",
            ),
            (
                SsprPolicy {
                    methods_required: 2,
                    methods_enabled: [MethodType::Email].into(),
                    ..base.clone()
                },
                "methods_enabled",
            ),
            (
                SsprPolicy {
                    helpdesk: HelpdeskLink::Url("javascript:alert(1)".into()),
                    ..base.clone()
                },
                "helpdesk",
            ),
            (
                SsprPolicy {
                    helpdesk: HelpdeskLink::Email("nobody".into()),
                    ..base.clone()
                },
                "helpdesk",
            ),
            (
                SsprPolicy {
                    custom_questions: vec!["ab".into()],
                    ..base.clone()
                },
                "custom_questions[0]",
            ),
            (
                SsprPolicy {
                    custom_questions: vec!["Your pet?".into(), "your pet?".into()],
                    ..base.clone()
                },
                "custom_questions[1]",
            ),
            (
                SsprPolicy {
                    custom_questions: (0..21).map(|i| format!("Question {i}?")).collect(),
                    ..base.clone()
                },
                "custom_questions",
            ),
        ];
        for (policy, field) in cases {
            assert_eq!(fields(&policy), vec![field.to_owned()], "{policy:?}");
        }
    }

    #[test]
    fn boundaries_are_accepted() {
        let p = SsprPolicy {
            methods_required: 2,
            questions_to_register: 5,
            questions_to_reset: 5,
            reconfirm_days: 730,
            skip_registration_days: 30,
            custom_questions: (0..20).map(|i| format!("Question {i}?")).collect(),
            helpdesk: HelpdeskLink::Url("https://help.example.org/sspr".into()),
            ..SsprPolicy::default()
        };
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn diff_lists_changed_settings_with_old_and_new_values() {
        let old = SsprPolicy::default();
        let new = SsprPolicy {
            methods_required: 2,
            allow_unlock: true,
            ..old.clone()
        };
        let diff = old.diff(&new);
        let names: Vec<&str> = diff.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(names, vec!["allow_unlock", "methods_required"]);
        assert_eq!(diff[1].1, serde_json::json!(1));
        assert_eq!(diff[1].2, serde_json::json!(2));
    }

    #[test]
    fn unknown_settings_are_refused_when_parsed() {
        let err = serde_json::from_value::<SsprPolicy>(serde_json::json!({"enablment": "all"}))
            .unwrap_err();
        assert!(err.to_string().contains("enablment"));
    }
}
