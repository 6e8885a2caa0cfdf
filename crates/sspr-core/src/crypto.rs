//! Keyed hashing for tokens and codes at rest (DESIGN rule 2): the database holds
//! HMAC-SHA-256(server key, token), so a leaked table yields nothing that can be replayed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

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
}
