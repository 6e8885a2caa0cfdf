//! Passkeys (WebAuthn) through webauthn-rs.
//!
//! A ceremony has two requests: the server makes a challenge, the browser's authenticator
//! signs it, the server checks the answer. Between the two, webauthn-rs's state is kept in the
//! database (serialised to JSON), never in a cookie, so any instance can finish a ceremony
//! another one started, and each state can be used once.
//!
//! The relying party ID is the host of the public base URL: passkeys need a host name
//! (`localhost` counts; an IP address does not), and the browser must use exactly that origin.

use serde_json::Value;
use url::Url;
use webauthn_rs::prelude::{
    CredentialID, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take, in the browser and in the database.
pub const CEREMONY_SECONDS: i64 = 300;
/// Ceremony kinds as stored.
pub const REGISTRATION: &str = "passkey_registration";
pub const AUTHENTICATION: &str = "passkey_authentication";

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The answer did not verify: wrong origin, wrong challenge, bad signature, a credential
    /// already known, user verification missing.
    #[error("the passkey could not be verified")]
    Rejected,
    /// Stored state or a stored credential does not parse.
    #[error("stored passkey data is damaged: {0}")]
    Corrupt(String),
}

/// This server as a WebAuthn relying party.
pub struct RelyingParty {
    webauthn: Webauthn,
    id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .finish()
    }
}

impl RelyingParty {
    /// The relying party for pages served at `origin` (the public base URL). Fails, with a
    /// reason for the operator, when the origin has no host name.
    pub fn new(origin: &str, name: &str) -> Result<Self, String> {
        let url = Url::parse(origin).map_err(|e| format!("{origin:?} is not a URL: {e}"))?;
        let Some(host) = url.domain().map(str::to_owned) else {
            return Err(format!(
                "passkeys need a host name in the public base URL, not {:?}",
                url.host_str().unwrap_or_default()
            ));
        };
        let mut origin_only = url.clone();
        origin_only.set_path("");
        origin_only.set_query(None);
        let webauthn = WebauthnBuilder::new(&host, &origin_only)
            .and_then(|b| {
                b.rp_name(name)
                    .timeout(std::time::Duration::from_secs(CEREMONY_SECONDS as u64))
                    .build()
            })
            .map_err(|e| format!("passkeys cannot be set up for {origin:?}: {e}"))?;
        Ok(Self { webauthn, id: host })
    }

    /// The relying party ID (the host name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A registration challenge for this user, excluding the passkeys they already have.
    /// Returns the options for the browser (`{"publicKey": …}`) and the state to keep.
    pub fn start_registration(
        &self,
        user_handle: uuid::Uuid,
        username: &str,
        display_name: &str,
        existing: &[Passkey],
    ) -> Result<(Value, String), PasskeyError> {
        let exclude: Vec<CredentialID> = existing.iter().map(|p| p.cred_id().clone()).collect();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(
                user_handle,
                username,
                display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| PasskeyError::Corrupt(e.to_string()))?;
        Ok((to_value(&options)?, to_string(&state)?))
    }

    /// Checks the browser's answer to a registration challenge.
    pub fn finish_registration(
        &self,
        response: &RegisterPublicKeyCredential,
        state: &str,
    ) -> Result<Passkey, PasskeyError> {
        let state: PasskeyRegistration =
            serde_json::from_str(state).map_err(|e| PasskeyError::Corrupt(e.to_string()))?;
        self.webauthn
            .finish_passkey_registration(response, &state)
            .map_err(|_| PasskeyError::Rejected)
    }

    /// An authentication challenge that any of these passkeys can answer.
    pub fn start_authentication(
        &self,
        passkeys: &[Passkey],
    ) -> Result<(Value, String), PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(passkeys)
            .map_err(|_| PasskeyError::Rejected)?;
        Ok((to_value(&options)?, to_string(&state)?))
    }

    /// Checks the browser's answer to an authentication challenge. Returns the credential
    /// that answered, updated with its new signature counter (to be stored).
    pub fn finish_authentication(
        &self,
        response: &PublicKeyCredential,
        state: &str,
        passkeys: &[Passkey],
    ) -> Result<Passkey, PasskeyError> {
        let state: PasskeyAuthentication =
            serde_json::from_str(state).map_err(|e| PasskeyError::Corrupt(e.to_string()))?;
        let result = self
            .webauthn
            .finish_passkey_authentication(response, &state)
            .map_err(|_| PasskeyError::Rejected)?;
        let mut used = passkeys
            .iter()
            .find(|p| p.cred_id() == result.cred_id())
            .cloned()
            .ok_or(PasskeyError::Rejected)?;
        used.update_credential(&result);
        Ok(used)
    }
}

/// A stored credential (the method's `secret` column holds it as JSON: a public key and a
/// counter, nothing secret, but it must not be altered).
pub fn decode(stored: &str) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(stored).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

pub fn encode(passkey: &Passkey) -> Result<String, PasskeyError> {
    to_string(passkey)
}

/// The credential ID as base64url, for finding duplicates.
pub fn credential_id(passkey: &Passkey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, PasskeyError> {
    serde_json::to_value(v).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

fn to_string<T: serde::Serialize>(v: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(v).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

/// Parses the browser's answers; a malformed one is an ordinary rejection.
pub fn parse_registration(v: &Value) -> Result<RegisterPublicKeyCredential, PasskeyError> {
    serde_json::from_value(v.clone()).map_err(|_| PasskeyError::Rejected)
}

pub fn parse_assertion(v: &Value) -> Result<PublicKeyCredential, PasskeyError> {
    serde_json::from_value(v.clone()).map_err(|_| PasskeyError::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_is_required() {
        assert!(RelyingParty::new("http://127.0.0.1:8080", "Org").is_err());
        assert!(RelyingParty::new("not a url", "Org").is_err());
        let rp = RelyingParty::new("https://reset.example.org/sspr", "Org").unwrap();
        assert_eq!(rp.id(), "reset.example.org");
        assert_eq!(
            RelyingParty::new("http://localhost:3000", "Org")
                .unwrap()
                .id(),
            "localhost"
        );
    }

    #[test]
    fn a_registration_challenge_is_fresh_and_its_state_round_trips() {
        let rp = RelyingParty::new("https://reset.example.org", "Example").unwrap();
        let user = uuid::Uuid::new_v4();
        let (a, state) = rp.start_registration(user, "ada", "Ada", &[]).unwrap();
        let (b, _) = rp.start_registration(user, "ada", "Ada", &[]).unwrap();
        let challenge = |v: &Value| v["publicKey"]["challenge"].as_str().unwrap().to_owned();
        // ≥ 64 bits (R28): webauthn-rs draws 32 bytes, 43 base64url characters.
        assert!(challenge(&a).len() >= 43);
        assert_ne!(challenge(&a), challenge(&b));
        assert_eq!(a["publicKey"]["rp"]["id"], "reset.example.org");
        assert_eq!(
            a["publicKey"]["authenticatorSelection"]["userVerification"],
            "required"
        );
        let _: PasskeyRegistration = serde_json::from_str(&state).unwrap();
    }

    #[test]
    fn a_forged_answer_is_rejected() {
        let rp = RelyingParty::new("https://reset.example.org", "Example").unwrap();
        let (_, state) = rp
            .start_registration(uuid::Uuid::new_v4(), "ada", "Ada", &[])
            .unwrap();
        let forged = serde_json::json!({
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" }
        });
        let parsed = parse_registration(&forged).unwrap();
        assert!(matches!(
            rp.finish_registration(&parsed, &state),
            Err(PasskeyError::Rejected)
        ));
        assert!(parse_registration(&serde_json::json!({"id": 1})).is_err());
    }
}
