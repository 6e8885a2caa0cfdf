//! The two LDAP controls sspr sends and reads, encoded and parsed with ldap3's BER layer
//! (`ldap3::asn1`, the `lber` crate) rather than by hand:
//!
//! * the password policy control of draft-behera-ldap-password-policy (OpenLDAP ppolicy):
//!   sent empty with a password write or bind, so the server answers *why* it refused;
//! * LDAP_SERVER_POLICY_HINTS (1.2.840.113556.1.4.2239, value SEQUENCE { INTEGER 1 }): sent
//!   with an Active Directory `unicodePwd` reset so that Windows domain controllers apply the
//!   password history to it, as they do to a user's own change.

use ldap3::asn1::{ASNTag, Integer, PL, Sequence, Tag, TagClass, parse_tag, parse_uint, write};
use ldap3::controls::{Control, RawControl};

pub const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";
pub const POLICY_HINTS_OID: &str = "1.2.840.113556.1.4.2239";

/// The ppolicy request control: no value.
pub fn ppolicy_request() -> RawControl {
    RawControl {
        ctype: PPOLICY_OID.into(),
        crit: false,
        val: None,
    }
}

/// LDAP_SERVER_POLICY_HINTS with its flag set. Not critical: a domain controller older than
/// Windows Server 2012 R2 ignores it instead of refusing the reset (docs/directories.md).
pub fn policy_hints() -> RawControl {
    let value = Tag::Sequence(Sequence {
        inner: vec![Tag::Integer(Integer {
            inner: 1,
            ..Default::default()
        })],
        ..Default::default()
    })
    .into_structure();
    let mut buf = bytes::BytesMut::new();
    write::encode_into(&mut buf, value).expect("encoding a fixed structure cannot fail");
    RawControl {
        ctype: POLICY_HINTS_OID.into(),
        crit: false,
        val: Some(buf.to_vec()),
    }
}

/// The `error` of a ppolicy response control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PpolicyError {
    Expired,
    AccountLocked,
    ChangeAfterReset,
    ModNotAllowed,
    MustSupplyOldPassword,
    InsufficientQuality,
    TooShort,
    TooYoung,
    InHistory,
    TooLong,
}

fn ppolicy_error_from(code: u64) -> Option<PpolicyError> {
    use PpolicyError::*;
    Some(match code {
        0 => Expired,
        1 => AccountLocked,
        2 => ChangeAfterReset,
        3 => ModNotAllowed,
        4 => MustSupplyOldPassword,
        5 => InsufficientQuality,
        6 => TooShort,
        7 => TooYoung,
        8 => InHistory,
        9 => TooLong,
        _ => return None,
    })
}

/// The error carried by a ppolicy response control among `ctrls`, if any.
pub fn ppolicy_error(ctrls: &[Control]) -> Option<PpolicyError> {
    let raw = ctrls
        .iter()
        .map(|c| &c.1)
        .find(|c| c.ctype == PPOLICY_OID)?;
    parse_ppolicy_value(raw.val.as_deref()?)
}

/// PasswordPolicyResponseValue ::= SEQUENCE { warning [0] … OPTIONAL,
/// error [1] ENUMERATED … OPTIONAL }
fn parse_ppolicy_value(value: &[u8]) -> Option<PpolicyError> {
    let (_, seq) = parse_tag(value).ok()?;
    let PL::C(fields) = seq.payload else {
        return None;
    };
    let error = fields
        .into_iter()
        .find(|t| t.class == TagClass::Context && t.id == 1)?;
    let PL::P(bytes) = error.payload else {
        return None;
    };
    let (_, code) = parse_uint(&bytes).ok()?;
    ppolicy_error_from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_hints_value_is_sequence_of_integer_one() {
        let c = policy_hints();
        assert_eq!(c.ctype, "1.2.840.113556.1.4.2239");
        // 30 03 02 01 01 — the value Microsoft documents (base64 MAMCAQE=).
        assert_eq!(c.val.as_deref(), Some(&[0x30, 0x03, 0x02, 0x01, 0x01][..]));
    }

    #[test]
    fn ppolicy_errors_parse_from_slapd_answers() {
        // Taken from slapd 2.5: "MAOBAQY=" (too short) and "MAOBAQg=" (in history).
        assert_eq!(
            parse_ppolicy_value(&[0x30, 0x03, 0x81, 0x01, 0x06]),
            Some(PpolicyError::TooShort)
        );
        assert_eq!(
            parse_ppolicy_value(&[0x30, 0x03, 0x81, 0x01, 0x08]),
            Some(PpolicyError::InHistory)
        );
        // A warning only (time before expiration), no error.
        assert_eq!(
            parse_ppolicy_value(&[0x30, 0x05, 0xa0, 0x03, 0x80, 0x01, 0x05]),
            None
        );
        assert_eq!(parse_ppolicy_value(&[0xff]), None);
    }
}
