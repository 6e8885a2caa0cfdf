//! Masked hints that tell a user where a code will go — "ad••••@ex•••••.org",
//! "+44 ••••••••45" — without telling an attacker who typed someone else's user ID the
//! address itself (SPEC §5 step 1; security.md R1: the reset start must not reveal contact
//! data). The same shape is used for the decoy hints shown for users sspr will not serve.

use crate::{EmailAddress, PhoneNumber};

const BULLET: char = '•';

/// `ada.lovelace@example.org` → `ad••••••••••@ex•••••.org`: the first two characters of the
/// local part (one when it has at most three), the first two of the domain's first label
/// (one when it has at most three), every other label but the last masked, the top-level
/// domain kept. Lengths are kept so that a user can recognise their address.
pub fn mask_email(email: &EmailAddress) -> String {
    let (local, domain) = email
        .as_str()
        .rsplit_once('@')
        .unwrap_or((email.as_str(), ""));
    let labels: Vec<&str> = domain.split('.').collect();
    let masked_domain = match labels.as_slice() {
        [] | [_] => mask_part(domain),
        [first, middle @ .., tld] => {
            let mut parts = vec![mask_part(first)];
            parts.extend(middle.iter().map(|l| bullets(l.chars().count())));
            parts.push((*tld).to_owned());
            parts.join(".")
        }
    };
    format!("{}@{masked_domain}", mask_part(local))
}

/// `+442079460958` → `+44 ••••••••58`: the country calling code and the last two digits.
pub fn mask_phone(phone: &PhoneNumber) -> String {
    let e164 = phone.as_str();
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let cc_len = phonenumber::parse(None, e164)
        .map(|n| n.code().value().to_string().len())
        .unwrap_or(0);
    if cc_len == 0 || digits.len() < cc_len + 3 {
        return phone.masked();
    }
    let cc: String = digits[..cc_len].iter().collect();
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("+{cc} {}{tail}", bullets(digits.len() - cc_len - 2))
}

/// Keeps the first two characters (one for parts of at most three) and masks the rest, with
/// at least one bullet so that even a one-character part is not shown whole.
fn mask_part(part: &str) -> String {
    let n = part.chars().count();
    let keep = if n <= 3 { 1 } else { 2 };
    let head: String = part.chars().take(keep).collect();
    format!("{head}{}", bullets(n.saturating_sub(keep).max(1)))
}

fn bullets(n: usize) -> String {
    std::iter::repeat_n(BULLET, n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> String {
        mask_email(&EmailAddress::parse(s).unwrap())
    }

    fn phone(s: &str) -> String {
        mask_phone(&PhoneNumber::parse(s).unwrap())
    }

    #[test]
    fn emails_keep_a_prefix_and_the_tld() {
        assert_eq!(email("adam.k@example.org"), "ad••••@ex•••••.org");
        assert_eq!(email("ada@example.org"), "a••@ex•••••.org");
        assert_eq!(email("a@ex.io"), "a•@e•.io");
        assert_eq!(
            email("grace@mail.example.co.uk"),
            "gr•••@ma••.•••••••.••.uk"
        );
        assert_eq!(email("jürgen@bücher.de"), "jü••••@bü••••.de");
    }

    #[test]
    fn masked_emails_do_not_contain_the_address() {
        for s in ["adam.k@example.org", "ab@cd.ef", "x@y.zz"] {
            let m = email(s);
            assert_ne!(m, s);
            let (local, domain) = s.split_once('@').unwrap();
            assert!(!m.contains(local) || local.len() == 1, "{m}");
            assert!(!m.contains(domain), "{m}");
        }
    }

    #[test]
    fn phones_keep_country_code_and_last_two_digits() {
        assert_eq!(phone("+44 20 7946 0958"), "+44 ••••••••58");
        assert_eq!(phone("+4915112345678"), "+49 •••••••••78");
        assert_eq!(phone("+1 212 555 0147"), "+1 ••••••••47");
        assert_eq!(phone("+353 86 123 4567"), "+353 •••••••67");
    }
}
