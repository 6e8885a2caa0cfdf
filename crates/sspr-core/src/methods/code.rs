//! One-time codes sent by email, SMS or voice (SPEC §4; security.md R8–R14, attack row 4).
//!
//! * Codes are uniform random digits from a CSPRNG: 8 for email, 6 for SMS/voice (≥ 6 digits,
//!   security.md item 4), living 5 minutes by default and never more than 10.
//! * A code is never stored: the store keeps [`code_hash`], a keyed hash under a
//!   purpose-derived server key, over the challenge it was issued for *and* the code. A code
//!   is therefore worthless for any other challenge (token swapping, attack row 21), and a
//!   leaked table cannot be replayed.
//! * A code's `Debug` output never shows the digits (R16: no secrets in logs).

use std::fmt;

use time::Duration;
use zeroize::Zeroize;

use crate::ParseError;
use crate::crypto::ServerKey;

/// Digits in a code sent by email (SPEC §4: 8).
pub const EMAIL_CODE_LEN: usize = 8;
/// Digits in a code sent by SMS or voice (SPEC §4: 6–8; 6 is what people can read aloud).
pub const PHONE_CODE_LEN: usize = 6;
/// Default lifetime of a code (SPEC §4).
pub const CODE_LIFETIME: Duration = Duration::minutes(5);
/// The longest lifetime an administrator may configure (SPEC §4).
pub const MAX_CODE_LIFETIME: Duration = Duration::minutes(10);
/// Shortest and longest code accepted anywhere.
pub const MIN_CODE_LEN: usize = 6;
pub const MAX_CODE_LEN: usize = 8;

/// A one-time code: 6–8 ASCII digits. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    /// A fresh code of `len` uniform random digits from the thread CSPRNG (ChaCha, seeded by
    /// the OS).
    ///
    /// # Panics
    /// When `len` is outside 6..=8: a programming error, not user input.
    pub fn generate(len: usize) -> Self {
        assert!(
            (MIN_CODE_LEN..=MAX_CODE_LEN).contains(&len),
            "a one-time code has 6 to 8 digits, not {len}"
        );
        let digits = (0..len)
            .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
            .collect();
        Self(digits)
    }

    /// Reads a code as a person typed it: surrounding whitespace, inner spaces and hyphens
    /// ("123 456", "1234-5678") are ignored; what remains must be 6–8 ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let mut digits: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let ok = (MIN_CODE_LEN..=MAX_CODE_LEN).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            digits.zeroize();
            return Err(ParseError::new("enter the 6 to 8 digit code you received"));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a code has at least 6 digits (here for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OneTimeCode([REDACTED; {} digits])", self.0.len())
    }
}

impl Drop for OneTimeCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The keyed hash stored for `code` issued for the challenge `binding`: hex
/// HMAC-SHA-256 under `key.derive("one-time-code")` over the length-prefixed binding and the
/// code (the prefix keeps `("ab", "123456")` and `("a", "b123456")` apart). Compare stored and
/// computed hashes, never codes.
pub fn code_hash(key: &ServerKey, binding: &str, code: &OneTimeCode) -> String {
    let mut data = Vec::with_capacity(binding.len() + code.len() + 24);
    data.extend_from_slice(binding.len().to_string().as_bytes());
    data.push(b':');
    data.extend_from_slice(binding.as_bytes());
    data.push(b':');
    data.extend_from_slice(code.as_str().as_bytes());
    let hash = key.derive("one-time-code").keyed_hash(&data);
    data.zeroize();
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_codes_have_the_requested_length_and_only_digits() {
        for len in 6..=8 {
            for _ in 0..50 {
                let c = OneTimeCode::generate(len);
                assert_eq!(c.len(), len);
                assert!(c.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        }
        assert_eq!(OneTimeCode::generate(EMAIL_CODE_LEN).len(), 8);
        assert_eq!(OneTimeCode::generate(PHONE_CODE_LEN).len(), 6);
    }

    #[test]
    #[should_panic(expected = "6 to 8 digits")]
    fn too_short_codes_are_a_programming_error() {
        let _ = OneTimeCode::generate(5);
    }

    #[test]
    #[should_panic(expected = "6 to 8 digits")]
    fn too_long_codes_are_a_programming_error() {
        let _ = OneTimeCode::generate(9);
    }

    #[test]
    fn generated_digits_look_uniform() {
        // 20,000 digits: each count has mean 2,000 and sd ≈ 42; ±300 is > 7 sd.
        let mut counts = [0u32; 10];
        let mut seen = HashSet::new();
        for _ in 0..2_500 {
            let c = OneTimeCode::generate(8);
            for b in c.as_str().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
            seen.insert(c.as_str().to_owned());
        }
        for (digit, n) in counts.iter().enumerate() {
            assert!((1_700..=2_300).contains(n), "digit {digit}: {n}");
        }
        // 2,500 draws from 10^8: a duplicate has probability ≈ 3 %; allow a couple.
        assert!(seen.len() >= 2_497);
    }

    #[test]
    fn parse_accepts_what_people_type() {
        assert_eq!(OneTimeCode::parse("123456").unwrap().as_str(), "123456");
        assert_eq!(OneTimeCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(
            OneTimeCode::parse("1234-5678").unwrap().as_str(),
            "12345678"
        );
        assert_eq!(OneTimeCode::parse("0000000").unwrap().as_str(), "0000000");
    }

    #[test]
    fn parse_refuses_everything_else() {
        for bad in [
            "",
            "12345",
            "123456789",
            "12345a",
            "１２３４５６", // full-width digits are not ASCII digits
            "١٢٣٤٥٦",       // nor are Arabic-Indic digits
            "+123456",
            "123\t456",
            "123_456",
        ] {
            let err = OneTimeCode::parse(bad).unwrap_err();
            assert!(!err.to_string().contains(bad) || bad.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_code() {
        let c = OneTimeCode::parse("987654").unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("987654"), "{dbg}");
        assert!(!dbg.contains("98"), "{dbg}");
    }

    #[test]
    fn hash_is_bound_to_challenge_key_and_code() {
        let key = ServerKey::from_bytes([3; 32]);
        let code = OneTimeCode::parse("12345678").unwrap();
        let h = code_hash(&key, "challenge-1", &code);
        assert_eq!(h.len(), 64);
        assert_eq!(h, code_hash(&key, "challenge-1", &code));
        assert_ne!(h, code_hash(&key, "challenge-2", &code));
        assert_ne!(
            h,
            code_hash(
                &key,
                "challenge-1",
                &OneTimeCode::parse("12345679").unwrap()
            )
        );
        assert_ne!(
            h,
            code_hash(&ServerKey::from_bytes([4; 32]), "challenge-1", &code)
        );
        // Purpose separation: not the plain keyed hash of the same bytes.
        assert_ne!(h, key.keyed_hash(b"11:challenge-1:12345678"));
        assert!(!h.contains("12345678"));
    }

    #[test]
    fn lifetimes_follow_the_spec() {
        assert_eq!(CODE_LIFETIME, Duration::minutes(5));
        assert_eq!(MAX_CODE_LIFETIME, Duration::minutes(10));
        const { assert!(CODE_LIFETIME.whole_seconds() <= MAX_CODE_LIFETIME.whole_seconds()) };
    }
}
