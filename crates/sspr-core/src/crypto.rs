//! Secrets at rest (DESIGN rule 2).
//!
//! * Keyed hashing for tokens and codes: the database holds HMAC-SHA-256(server key, token),
//!   so a leaked table yields nothing that can be replayed.
//! * Sealing for secrets that must be read back (TOTP seeds, security.md R24 "seed encrypted
//!   with a key held outside the DB"): XChaCha20-Poly1305 under a key derived from the server
//!   key, with associated data that binds the sealed value to its row, so a sealed secret
//!   copied to another row does not open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// 32 bytes of server key material (created at first start, see the server's key file).
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key for one purpose, so that a hash made for sessions is never valid as, say, a
    /// reset-code hash.
    pub fn derive(&self, purpose: &str) -> ServerKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        ServerKey(mac.finalize().into_bytes().into())
    }

    /// The raw key material, for constructions inside this crate (e.g. [`Sealer`]).
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hex HMAC-SHA-256 of `data` under this key.
    pub fn keyed_hash(&self, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey([REDACTED])")
    }
}

impl Drop for ServerKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The version prefix of the sealed text form; a future format gets `v2.`.
const SEAL_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Seals and opens small secrets with XChaCha20-Poly1305 under `key.derive("seal")`.
///
/// The 24-byte nonce is random per seal (large enough that random nonces never collide in
/// practice), so sealing the same secret twice gives different text. The output is
/// `v1.` + base64url(nonce ‖ ciphertext ‖ tag), safe for a TEXT column.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

/// A sealed value did not open: wrong key, wrong associated data, tampered or malformed.
/// Deliberately one variant: the reason must not help an attacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value could not be opened")]
pub struct SealError;

impl Sealer {
    pub fn new(key: &ServerKey) -> Self {
        let derived = key.derive("seal");
        let cipher = XChaCha20Poly1305::new(&(*derived.as_bytes()).into());
        Self { cipher }
    }

    /// Encrypts `plaintext`, authenticating `aad` (e.g. the method id the secret belongs to).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message below 256 GiB");
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ciphertext);
        format!("{SEAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// Decrypts what [`Sealer::seal`] produced with the same key and the same `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let body = sealed.strip_prefix(SEAL_PREFIX).ok_or(SealError)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_are_deterministic_and_separated_by_purpose() {
        let key = ServerKey::from_bytes([7; 32]);
        assert_eq!(key.keyed_hash(b"abc"), key.keyed_hash(b"abc"));
        assert_ne!(key.keyed_hash(b"abc"), key.keyed_hash(b"abd"));
        assert_ne!(
            key.derive("session").keyed_hash(b"abc"),
            key.derive("code").keyed_hash(b"abc")
        );
        assert_eq!(key.keyed_hash(b"abc").len(), 64);
        assert!(!format!("{key:?}").contains('7'));
    }

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&ServerKey::from_bytes([byte; 32]))
    }

    #[test]
    fn seal_round_trips() {
        let s = sealer(1);
        let sealed = s.seal(b"totp seed bytes", b"method-42");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("totp"));
        let opened = s.open(&sealed, b"method-42").unwrap();
        assert_eq!(opened.as_slice(), b"totp seed bytes");
        // The empty secret is a secret too.
        assert!(s.open(&s.seal(b"", b""), b"").unwrap().is_empty());
    }

    #[test]
    fn wrong_aad_does_not_open() {
        let s = sealer(1);
        let sealed = s.seal(b"secret", b"method-42");
        assert_eq!(s.open(&sealed, b"method-43"), Err(SealError));
        assert_eq!(s.open(&sealed, b""), Err(SealError));
    }

    #[test]
    fn wrong_key_does_not_open() {
        let sealed = sealer(1).seal(b"secret", b"m");
        assert_eq!(sealer(2).open(&sealed, b"m"), Err(SealError));
        // The seal key is derived: the hash key and the seal key differ.
        let key = ServerKey::from_bytes([1; 32]);
        assert_ne!(key.derive("seal").as_bytes(), key.as_bytes());
    }

    #[test]
    fn tampering_is_detected() {
        let s = sealer(1);
        let sealed = s.seal(b"secret", b"m");
        let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        for i in 0..raw.len() {
            let mut t = raw.clone();
            t[i] ^= 0x01;
            let text = format!("v1.{}", URL_SAFE_NO_PAD.encode(&t));
            assert_eq!(s.open(&text, b"m"), Err(SealError), "byte {i}");
        }
        let truncated = format!("v1.{}", URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]));
        assert_eq!(s.open(&truncated, b"m"), Err(SealError));
        for bad in ["", "v1.", "v2.AAAA", "v1.!!!", &sealed[3..], "v1.AAAA"] {
            assert_eq!(s.open(bad, b"m"), Err(SealError), "{bad:?}");
        }
    }

    #[test]
    fn two_seals_differ() {
        let s = sealer(1);
        let a = s.seal(b"same", b"m");
        let b = s.seal(b"same", b"m");
        assert_ne!(a, b);
        assert_eq!(s.open(&a, b"m").unwrap().as_slice(), b"same");
        assert_eq!(s.open(&b, b"m").unwrap().as_slice(), b"same");
        assert_eq!(format!("{s:?}"), "Sealer([REDACTED])");
    }
}
