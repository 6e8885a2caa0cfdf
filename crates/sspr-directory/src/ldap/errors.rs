//! What a directory's answer means for a user: LDAP result codes, the ppolicy response
//! control (OpenLDAP) and the `data NNN` / `0000052D` codes in Active Directory's diagnostic
//! text, mapped to [`DirectoryError`] and [`BindOutcome`].

use ldap3::LdapError;
use ldap3::LdapResult;
use sspr_core::ports::{BindOutcome, DirectoryError, PasswordRejection};

use super::controls::{PpolicyError, ppolicy_error};

pub fn unavailable(why: impl Into<String>) -> DirectoryError {
    DirectoryError::Unavailable(why.into())
}

/// A transport failure (connection refused or lost, TLS, timeout): retryable.
pub fn transport(e: LdapError) -> DirectoryError {
    match e {
        LdapError::LdapResult { result } => unavailable(format!(
            "the directory answered {} {}",
            result.rc,
            result.text.trim()
        )),
        other => unavailable(other.to_string()),
    }
}

/// The AD sub-code in a diagnostic such as `80090308: LdapErr: DSID-0C09041C, comment:
/// AcceptSecurityContext error, data 775, v4563`.
fn ad_data_code(text: &str) -> Option<&str> {
    let i = text.find(", data ")?;
    let rest = &text[i + 7..];
    rest.split(|c: char| c == ',' || c.is_whitespace()).next()
}

fn rejection_from_text(text: &str) -> PasswordRejection {
    let t = text.to_ascii_lowercase();
    if t.contains("too short") {
        PasswordRejection::TooShort
    } else if t.contains("history") || t.contains("already used") {
        PasswordRejection::InHistory
    } else if t.contains("complexity") || t.contains("quality") {
        PasswordRejection::Complexity
    } else if t.contains("too young") || t.contains("minimum password age") {
        PasswordRejection::TooYoung
    } else {
        PasswordRejection::Other
    }
}

/// The outcome of a password write (Password Modify, `userPassword` or `unicodePwd`).
pub fn write_result(res: &LdapResult) -> Result<(), DirectoryError> {
    let text = res.text.trim().to_owned();
    let policy = ppolicy_error(&res.ctrls);
    if res.rc == 0 {
        return Ok(());
    }
    let reason = match policy {
        Some(PpolicyError::TooShort) => Some(PasswordRejection::TooShort),
        Some(PpolicyError::InHistory) => Some(PasswordRejection::InHistory),
        Some(PpolicyError::InsufficientQuality) => Some(PasswordRejection::Complexity),
        Some(PpolicyError::TooYoung) => Some(PasswordRejection::TooYoung),
        Some(PpolicyError::TooLong) => Some(PasswordRejection::Other),
        _ => None,
    };
    if let Some(reason) = reason {
        return Err(DirectoryError::Rejected {
            reason,
            detail: text,
        });
    }
    match res.rc {
        // constraintViolation: AD 0000052D (and OpenLDAP without the control).
        19 => Err(DirectoryError::Rejected {
            reason: rejection_from_text(&text),
            detail: text,
        }),
        32 => Err(DirectoryError::NotFound),
        50 => Err(DirectoryError::Refused(format!(
            "the service account lacks the right to do this: {text}"
        ))),
        // AD: unicodePwd over an unencrypted connection (0000001F … 5003), or AD with
        // the account's state refusing the operation.
        53 => Err(DirectoryError::Refused(format!(
            "the directory is unwilling to perform the write: {text}"
        ))),
        8 => Err(DirectoryError::Refused(format!(
            "the directory requires a TLS connection for this: {text}"
        ))),
        // busy, unavailable, time limit, other, loop detect: try again later.
        3 | 51 | 52 | 80 => Err(unavailable(format!(
            "the directory answered {}: {text}",
            res.rc
        ))),
        rc => Err(DirectoryError::Refused(format!(
            "the directory answered {rc}: {text}"
        ))),
    }
}

/// The outcome of a simple bind as a user.
pub fn bind_outcome(res: &LdapResult) -> Result<BindOutcome, DirectoryError> {
    let policy = ppolicy_error(&res.ctrls);
    if res.rc == 0 {
        return Ok(match policy {
            Some(PpolicyError::ChangeAfterReset) => BindOutcome::MustChange,
            _ => BindOutcome::Success,
        });
    }
    if res.rc == 49 {
        if let Some(code) = ad_data_code(&res.text) {
            return Ok(match code {
                "775" => BindOutcome::Locked,
                "533" | "701" => BindOutcome::Disabled,
                "773" => BindOutcome::MustChange,
                "532" => BindOutcome::Expired,
                // 52e: wrong password; 525: no such user; anything else: the same answer.
                _ => BindOutcome::InvalidCredentials,
            });
        }
        return Ok(match policy {
            Some(PpolicyError::AccountLocked) => BindOutcome::Locked,
            Some(PpolicyError::Expired) => BindOutcome::Expired,
            _ => BindOutcome::InvalidCredentials,
        });
    }
    match res.rc {
        // An empty password is an unauthenticated bind; never a success here.
        53 => Ok(BindOutcome::InvalidCredentials),
        3 | 51 | 52 | 80 => Err(unavailable(format!(
            "the directory answered {}: {}",
            res.rc,
            res.text.trim()
        ))),
        rc => Err(DirectoryError::Refused(format!(
            "the directory answered {rc} to a bind: {}",
            res.text.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    #[test]
    fn ad_password_errors_say_why() {
        let cases = [
            (
                "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 8 characters!",
                PasswordRejection::TooShort,
            ),
            (
                "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!",
                PasswordRejection::Complexity,
            ),
            (
                "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!",
                PasswordRejection::InHistory,
            ),
        ];
        for (text, want) in cases {
            match write_result(&result(19, text)) {
                Err(DirectoryError::Rejected { reason, detail }) => {
                    assert_eq!(reason, want, "{text}");
                    assert_eq!(detail, text);
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn ad_bind_codes_are_mapped() {
        let text = |code: &str| {
            format!(
                "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {code}, v1db1"
            )
        };
        for (code, want) in [
            ("52e", BindOutcome::InvalidCredentials),
            ("775", BindOutcome::Locked),
            ("533", BindOutcome::Disabled),
            ("773", BindOutcome::MustChange),
            ("532", BindOutcome::Expired),
        ] {
            assert_eq!(bind_outcome(&result(49, &text(code))).unwrap(), want);
        }
    }

    #[test]
    fn outages_are_retryable_and_refusals_are_not() {
        assert!(write_result(&result(52, "")).unwrap_err().is_retryable());
        assert!(!write_result(&result(50, "")).unwrap_err().is_retryable());
        assert!(write_result(&result(0, "")).is_ok());
    }
}
