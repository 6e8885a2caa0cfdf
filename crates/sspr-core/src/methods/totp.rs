//! Authenticator-app codes: RFC 6238 TOTP with SHA-1, 6 digits and 30-second steps — the
//! parameters every authenticator app supports (security.md R24, G10).
//!
//! * The seed is 160 random bits (RFC 4226 §4 recommends 160; R24 asks ≥ 112), zeroized on
//!   drop and never printed; at rest it is sealed ([`crate::crypto::Sealer`]).
//! * A code is accepted for the current step and one step either side (RFC 6238 §5.2: ±1
//!   step, 90 s in all), never wider.
//! * Each time step is accepted at most once per user: [`verify`] refuses every step at or
//!   before the last one used, so neither a replayed code nor a clock jumping backwards can
//!   reopen a used step (R24, G10, attack row 36). The caller stores the returned step.
//!
//! The HMAC/truncation arithmetic is totp-rs's; this module only fixes the parameters and adds
//! the replay rule.

use std::fmt;

use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroize;

use crate::ParseError;

/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Seconds in a time step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted on either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Bytes in a generated seed (160 bits).
pub const SECRET_LEN: usize = 20;
/// Accepted seed sizes for [`TotpSecret::from_bytes`]: RFC 4226 requires ≥ 128 bits.
pub const MIN_SECRET_LEN: usize = 16;
pub const MAX_SECRET_LEN: usize = 64;

/// A TOTP seed. Zeroized on drop (totp-rs's `zeroize` feature); `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Secret);

impl TotpSecret {
    /// 20 bytes from a CSPRNG.
    pub fn generate() -> Self {
        let secret = Secret::generate();
        debug_assert_eq!(secret.as_bytes().len(), SECRET_LEN);
        Self(secret)
    }

    /// A seed read back from storage (after opening its seal). 16–64 bytes.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Self, ParseError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            bytes.zeroize();
            return Err(ParseError::new(format!(
                "a TOTP secret has {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes"
            )));
        }
        Ok(Self(Secret::from(bytes)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// RFC 4648 base32 without padding: what a user types into an authenticator app.
    pub fn base32(&self) -> String {
        self.0.to_base32()
    }

    /// The totp-rs engine for this seed with sspr's fixed parameters and no skew: the window
    /// is walked step by step in [`verify`], so replay can be checked per step.
    fn engine(&self) -> Totp {
        // Parameters are fixed and the seed length checked, so this cannot fail; the
        // non-compliant builder is used only to avoid an unreachable error path.
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_step_duration(STEP_SECONDS)
            .with_skew(0)
            .with_secret(self.0.clone())
            .build_noncompliant()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// The `otpauth://totp/…` URI for enrolment (Key URI Format): the label is
/// `issuer:account` with both parts percent-encoded, plus an `issuer=` parameter.
///
/// A `:` cannot appear inside either part (it separates them), so it is replaced by a space;
/// an empty account becomes `account` and an empty issuer is left out.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let clean = |s: &str| s.replace(':', " ").trim().to_owned();
    let issuer = clean(issuer);
    let mut account = clean(account);
    if account.is_empty() {
        account = "account".to_owned();
    }
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.0.clone())
        .with_issuer((!issuer.is_empty()).then_some(issuer))
        .with_account_name(account)
        .build_noncompliant();
    // to_url fails only for an empty account name or a ':' in it, both excluded above.
    totp.to_url().unwrap_or_else(|_| {
        format!(
            "otpauth://totp/account?secret={}&issuer=sspr",
            secret.base32()
        )
    })
}

/// The RFC 6238 time step containing `now` (0 before the Unix epoch).
pub fn step_at(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp()).unwrap_or(0) / STEP_SECONDS
}

/// The code for time step `step` (for tests, demos and the enrolment preview).
pub fn code_at(secret: &TotpSecret, step: u64) -> String {
    secret
        .engine()
        .generate(step.saturating_mul(STEP_SECONDS))
        .to_string()
}

/// Checks `code` against the steps t−1, t and t+1 around `now`, skipping any step at or
/// before `last_used_step`. Returns the matched step, which the caller must store as the new
/// last used step (atomically, DESIGN rule 5). Spaces in the code are ignored ("123 456").
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: OffsetDateTime,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let code: String = code.trim().chars().filter(|c| *c != ' ').collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let engine = secret.engine();
    let t = step_at(now);
    let first = t.saturating_sub(SKEW_STEPS);
    let last = t.saturating_add(SKEW_STEPS);
    // Evaluate every candidate (constant-time token comparison inside totp-rs), then choose.
    let matches: Vec<u64> = (first..=last)
        .filter(|&step| engine.check(&code, step.saturating_mul(STEP_SECONDS)) == Some(step))
        .collect();
    matches
        .into_iter()
        .find(|&step| last_used_step.is_none_or(|used| step > used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1 rows.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_sha1_vectors_8_digits_through_totp_rs() {
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(rfc_secret().as_bytes().to_vec())
            .build()
            .unwrap();
        for (t, expected) in RFC_VECTORS {
            assert_eq!(totp.generate(t as u64).to_string(), expected, "t={t}");
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_6_digits() {
        let s = rfc_secret();
        for (t, expected8) in RFC_VECTORS {
            let expected = &expected8[2..];
            let step = step_at(at(t));
            assert_eq!(step, t as u64 / 30);
            assert_eq!(code_at(&s, step), expected, "t={t}");
            assert_eq!(verify(&s, expected, at(t), None), Some(step), "t={t}");
        }
    }

    #[test]
    fn window_is_one_step_either_side() {
        let s = rfc_secret();
        let now = at(1_234_567_890);
        let t = step_at(now);
        assert_eq!(verify(&s, &code_at(&s, t - 2), now, None), None);
        assert_eq!(verify(&s, &code_at(&s, t - 1), now, None), Some(t - 1));
        assert_eq!(verify(&s, &code_at(&s, t), now, None), Some(t));
        assert_eq!(verify(&s, &code_at(&s, t + 1), now, None), Some(t + 1));
        assert_eq!(verify(&s, &code_at(&s, t + 2), now, None), None);
    }

    #[test]
    fn window_edges_follow_step_boundaries() {
        let s = rfc_secret();
        let k = 41_152_263; // an arbitrary step
        let first_second = at((k * 30) as i64);
        let last_second = at((k * 30 + 29) as i64);
        for now in [first_second, last_second] {
            assert_eq!(step_at(now), k);
            assert_eq!(verify(&s, &code_at(&s, k - 1), now, None), Some(k - 1));
            assert_eq!(verify(&s, &code_at(&s, k + 1), now, None), Some(k + 1));
            assert_eq!(verify(&s, &code_at(&s, k + 2), now, None), None);
        }
        // One second later the old t−1 has dropped out.
        let next = at((k * 30 + 30) as i64);
        assert_eq!(verify(&s, &code_at(&s, k - 1), next, None), None);
        assert_eq!(verify(&s, &code_at(&s, k), next, None), Some(k));
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let s = rfc_secret();
        let now = at(1_700_000_000);
        let t = step_at(now);
        let code = code_at(&s, t);
        let used = verify(&s, &code, now, None).unwrap();
        assert_eq!(used, t);
        // Same code, same step: replay.
        assert_eq!(verify(&s, &code, now, Some(used)), None);
        // Still refused 30 s later, when the step is t−1 of the window.
        assert_eq!(verify(&s, &code, at(1_700_000_030), Some(used)), None);
        // A clock jumping back an hour does not reopen earlier steps.
        let back = at(1_700_000_000 - 3_600);
        let tb = step_at(back);
        assert_eq!(verify(&s, &code_at(&s, tb), back, Some(used)), None);
        // An older code inside the window is refused once a later step was used.
        assert_eq!(verify(&s, &code_at(&s, t - 1), now, Some(t)), None);
        // The next step is fine.
        assert_eq!(verify(&s, &code_at(&s, t + 1), now, Some(t)), Some(t + 1));
        assert_eq!(verify(&s, &code, now, Some(t - 1)), Some(t));
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = rfc_secret();
        let now = at(59);
        assert_eq!(
            verify(&s, "287 082", now, None),
            Some(1),
            "spaces are ignored"
        );
        for bad in [
            "",
            "28708",
            "2870820",
            "287O82",
            "+87082",
            "２８７０８２",
            "94287082",
        ] {
            assert_eq!(verify(&s, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn before_the_epoch_is_step_zero() {
        assert_eq!(step_at(at(-100)), 0);
        let s = rfc_secret();
        assert_eq!(verify(&s, &code_at(&s, 0), at(-100), None), Some(0));
    }

    #[test]
    fn secrets_are_random_redacted_and_round_trip() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), SECRET_LEN);
        assert_ne!(a, b);
        assert_eq!(a.base32().len(), 32);
        assert!(!a.base32().contains('='));
        let again = TotpSecret::from_bytes(a.as_bytes().to_vec()).unwrap();
        assert_eq!(again, a);
        let dbg = format!("{a:?}");
        assert_eq!(dbg, "TotpSecret([REDACTED])");
        assert!(TotpSecret::from_bytes(vec![1; 15]).is_err());
        assert!(TotpSecret::from_bytes(vec![1; 65]).is_err());
        assert!(TotpSecret::from_bytes(vec![1; 16]).is_ok());
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn otpauth_uri_is_percent_encoded_with_issuer() {
        let s = rfc_secret();
        let uri = otpauth_uri(&s, "Acme SSPR", "ada@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20SSPR:ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20SSPR"
        );
        let odd = otpauth_uri(&s, "A&B=C?", "jörg/x#y");
        assert!(
            odd.starts_with("otpauth://totp/A%26B%3DC%3F:j%C3%B6rg%2Fx%23y?"),
            "{odd}"
        );
        assert!(odd.ends_with("&issuer=A%26B%3DC%3F"), "{odd}");
        // A ':' would split the label wrongly; an empty account still gives a valid URI.
        let colon = otpauth_uri(&s, "a:b", ":");
        assert!(
            colon.starts_with("otpauth://totp/a%20b:account?"),
            "{colon}"
        );
        let no_issuer = otpauth_uri(&s, "", "ada");
        assert!(
            no_issuer.starts_with("otpauth://totp/ada?secret="),
            "{no_issuer}"
        );
        assert!(!no_issuer.contains("issuer="));
    }

    /// Interop with an independent implementation: the `oathtool` binary from the Debian
    /// package `oathtool` (DESIGN "Tests": TOTP codes checked against oathtool). A missing
    /// binary is a failure, never a skip.
    #[test]
    fn codes_match_oathtool() {
        let secret = TotpSecret::generate();
        let b32 = secret.base32();
        let times: [i64; 6] = [
            59,
            1_111_111_109,
            1_234_567_890,
            1_700_000_029,
            1_700_000_030,
            2_000_000_000,
        ];
        for t in times {
            let out = std::process::Command::new("oathtool")
                .args(["--totp", "-b", &b32, "-N", &format!("@{t}")])
                .output()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run `oathtool` ({e}): install the Debian package `oathtool` \
                         (apt-get install -y oathtool)"
                    )
                });
            assert!(
                out.status.success(),
                "oathtool failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let step = step_at(at(t));
            assert_eq!(code_at(&secret, step), theirs, "t={t}");
            assert_eq!(verify(&secret, &theirs, at(t), None), Some(step), "t={t}");
        }
    }
}
