//! A user entry as sspr reads it, and the search filters that find one.

use ldap3::{SearchEntry, ldap_escape};
use time::OffsetDateTime;

use super::settings::{DirectoryKind, DirectorySettings};

/// AD userAccountControl: ACCOUNTDISABLE.
const UF_ACCOUNTDISABLE: i64 = 0x2;
/// AD msDS-User-Account-Control-Computed: LOCKOUT.
const UF_LOCKOUT: i64 = 0x10;
/// OpenLDAP: `pwdAccountLockedTime` of `000001010000Z` means locked by an administrator until
/// unlocked (draft-behera); sspr reads it as "disabled".
const PPOLICY_ADMIN_LOCK: &str = "000001010000Z";

/// A user entry with the attributes sspr uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub dn: String,
    /// entryUUID (OpenLDAP) or objectGUID (AD) as text: stable across renames.
    pub id: String,
    pub username: String,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub office_phone: Option<String>,
    pub enabled: bool,
    pub locked: bool,
    pub locked_since: Option<OffsetDateTime>,
    /// modifyTimestamp (OpenLDAP) or uSNChanged (AD): the incremental-sync watermark.
    pub change_mark: Option<String>,
}

/// The attributes to ask for.
pub fn user_attributes(s: &DirectorySettings) -> Vec<String> {
    let mut attrs: Vec<String> = vec![
        s.username_attribute.clone(),
        s.display_name_attribute.clone(),
        s.first_name_attribute.clone(),
        s.last_name_attribute.clone(),
        s.email_attribute.clone(),
        s.mobile_attribute.clone(),
        s.office_phone_attribute.clone(),
    ];
    match s.kind {
        DirectoryKind::ActiveDirectory => attrs.extend(
            [
                "objectGUID",
                "userAccountControl",
                "lockoutTime",
                "msDS-User-Account-Control-Computed",
                "uSNChanged",
            ]
            .map(String::from),
        ),
        // Operational attributes are returned only when named.
        _ => {
            attrs.extend(["entryUUID", "pwdAccountLockedTime", "modifyTimestamp"].map(String::from))
        }
    }
    attrs.retain(|a| !a.is_empty());
    attrs.sort();
    attrs.dedup();
    attrs
}

/// `(&<user filter>(|(uid=<escaped>)(mail=<escaped>)))`: the typed value is escaped by
/// RFC 4515 (ldap3's `ldap_escape`: `*`, `(`, `)`, `\` and NUL become `\2a` …), so it can only
/// ever be compared as a literal value.
pub fn login_filter(s: &DirectorySettings, login: &str) -> String {
    let value = ldap_escape(login);
    let mut alternatives = String::new();
    for attr in &s.login_attributes {
        alternatives.push_str(&format!("({attr}={value})"));
    }
    format!("(&{}(|{alternatives}))", s.user_filter)
}

/// The filter that finds the entry of an sspr username (the username attribute only).
pub fn username_filter(s: &DirectorySettings, username: &str) -> String {
    format!(
        "(&{}({}={}))",
        s.user_filter,
        s.username_attribute,
        ldap_escape(username)
    )
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    // Attribute names come back in the server's spelling; match them case-insensitively.
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A binary value: ldap3 files a value under `attrs` when its bytes happen to be UTF-8.
fn first_bin(entry: &SearchEntry, attr: &str) -> Option<Vec<u8>> {
    entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.first())
                .map(|v| v.as_bytes().to_vec())
        })
}

/// AD's objectGUID in its usual text form (the first three groups are little-endian).
fn guid_text(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// `20261125103000Z` (GeneralizedTime, as ppolicy writes it).
pub fn parse_generalized_time(raw: &str) -> Option<OffsetDateTime> {
    let digits = raw.trim_end_matches('Z');
    let digits = digits.split('.').next()?;
    if digits.len() < 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        n(0..4)? as i32,
        time::Month::try_from(n(4..6)? as u8).ok()?,
        n(6..8)? as u8,
    )
    .ok()?;
    let t = time::Time::from_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8).ok()?;
    Some(date.with_time(t).assume_utc())
}

/// AD FILETIME (100 ns since 1601) to a time; 0 is "never".
fn filetime(raw: &str) -> Option<OffsetDateTime> {
    let v: i64 = raw.parse().ok()?;
    if v <= 0 {
        return None;
    }
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    OffsetDateTime::from_unix_timestamp(v / 10_000_000 - EPOCH_DIFF_SECS).ok()
}

impl DirectoryEntry {
    pub fn from_search(s: &DirectorySettings, e: SearchEntry) -> Option<Self> {
        let username = first(&e, &s.username_attribute)?;
        let ad = s.kind == DirectoryKind::ActiveDirectory;
        let (id, enabled, locked, locked_since) = if ad {
            let uac: i64 = first(&e, "userAccountControl")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let computed: i64 = first(&e, "msDS-User-Account-Control-Computed")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let since = first(&e, "lockoutTime").and_then(|v| filetime(&v));
            (
                first_bin(&e, "objectGUID")
                    .and_then(|b| guid_text(&b))
                    .unwrap_or_else(|| e.dn.to_lowercase()),
                uac & UF_ACCOUNTDISABLE == 0,
                computed & UF_LOCKOUT != 0,
                since,
            )
        } else {
            let lock = first(&e, "pwdAccountLockedTime");
            let admin_locked = lock.as_deref() == Some(PPOLICY_ADMIN_LOCK);
            (
                first(&e, "entryUUID").unwrap_or_else(|| e.dn.to_lowercase()),
                !admin_locked,
                lock.is_some(),
                lock.as_deref().and_then(parse_generalized_time),
            )
        };
        Some(Self {
            id,
            username,
            display_name: first(&e, &s.display_name_attribute),
            first_name: first(&e, &s.first_name_attribute),
            last_name: first(&e, &s.last_name_attribute),
            email: first(&e, &s.email_attribute),
            mobile: first(&e, &s.mobile_attribute),
            office_phone: first(&e, &s.office_phone_attribute),
            enabled,
            locked,
            locked_since,
            change_mark: first(&e, if ad { "uSNChanged" } else { "modifyTimestamp" }),
            dn: e.dn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_cannot_change_the_filter() {
        let s = DirectorySettings::for_kind(DirectoryKind::Openldap);
        let f = login_filter(&s, "*)(uid=*))(|(uid=*");
        assert_eq!(
            f,
            "(&(objectClass=inetOrgPerson)(|(uid=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)\
             (mail=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)))"
        );
        // The result still parses as one filter: the value stayed a value.
        assert!(ldap3::parse_filter(&f).is_ok());
        assert!(username_filter(&s, "a\\b\0c").contains("a\\5cb\\00c"));
    }

    #[test]
    fn times_parse() {
        let t = parse_generalized_time("20261125103000Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_602_600);
        assert!(parse_generalized_time("000001010000Z").is_none());
        assert_eq!(filetime("134089632000000000").map(|t| t.year()), Some(2025));
        assert_eq!(filetime("0"), None);
    }

    #[test]
    fn guids_print_like_windows() {
        let b = [
            0x0d, 0x87, 0xf4, 0xab, 0xd8, 0x7f, 0x65, 0x42, 0xb7, 0x6e, 0x34, 0x73, 0x2f, 0x34,
            0x8a, 0x04,
        ];
        assert_eq!(
            guid_text(&b).unwrap(),
            "abf4870d-7fd8-4265-b76e-34732f348a04"
        );
    }
}
