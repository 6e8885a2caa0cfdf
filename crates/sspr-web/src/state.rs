use std::sync::Arc;

use ipnet::IpNet;
use sspr_core::crypto::{Sealer, ServerKey};
use sspr_core::methods::passkey::RelyingParty;
use sspr_core::policy::banned::BannedList;
use sspr_core::policy::lockout::LockoutPolicy;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::policy::throttle::Limits;
use sspr_core::ports::{
    AdjustableClock, BreachedPasswords, Clock, Delivery, DirectoryAccounts, DirectorySyncJob,
    PasswordHasher, Store,
};

use crate::templates::Templates;

/// Settings of the HTTP layer, taken from the server configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The only origin links and redirects are built from (never the Host header: R6).
    pub public_base_url: String,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    /// Serve `/dev/outbox` (development delivery mode only).
    pub dev_outbox: bool,
    pub session_hours: i64,
    /// ISO regions phone numbers may belong to (SPEC §4 country allow-list); empty = any.
    pub phone_regions: Vec<String>,
    /// How long a reset flow lives.
    pub flow_lifetime: time::Duration,
    /// Proof-of-work difficulty (ALTCHA `maxnumber`); 0 = no proof of work.
    pub pow_max_number: u64,
    /// The least time a reset start or send answer takes.
    pub response_floor: std::time::Duration,
}

impl WebSettings {
    /// Served over https: cookies are `Secure`, and HSTS is sent.
    pub fn https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of the public base URL (for the CSRF origin check).
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_base_url)
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_owned(),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<WebSettings>,
    pub session_key: ServerKey,
    pub lockout: LockoutPolicy,
    pub templates: Arc<Templates>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub breached: Arc<dyn BreachedPasswords>,
    pub custom_banned: Arc<CustomListCache>,
    /// Where messages go (the outbox, rendered and branded).
    pub delivery: Arc<dyn Delivery>,
    /// Keys the hashes of one-time codes.
    pub code_key: ServerKey,
    /// Derives the decoys of the reset start.
    pub decoy_key: ServerKey,
    /// Signs proof-of-work challenges (hex).
    pub pow_key: String,
    /// Seals authenticator secrets.
    pub sealer: Arc<Sealer>,
    pub limits: Arc<Limits>,
    /// This server as a WebAuthn relying party; `None` when the public base URL has no host
    /// name (passkeys are then not offered).
    pub passkeys: Option<Arc<RelyingParty>>,
    /// Development mode's movable clock (the same one as `clock`), for `/dev/clock`.
    pub dev_clock: Option<Arc<AdjustableClock>>,
    /// The on-premises directory (LDAP / AD), when one is connected: sign-in of
    /// directory-sourced users binds through it, and password writes go to it.
    pub directory: Option<Arc<dyn DirectoryAccounts>>,
    /// A directory sync on demand (`POST /api/v1/admin/directory/sync`).
    pub directory_sync: Option<Arc<dyn DirectorySyncJob>>,
    /// The organisation's name, logo and colour in force: the configuration's, overridden by
    /// the SSPR policy (refreshed when it changes).
    pub brand: sspr_core::BrandHandle,
}

/// The administrator's custom banned terms, indexed once per change of the list rather than
/// on every password check.
#[derive(Default)]
pub struct CustomListCache(std::sync::Mutex<Option<(Vec<String>, Arc<BannedList>)>>);

impl CustomListCache {
    pub fn get(&self, policy: &PasswordPolicy) -> Arc<BannedList> {
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((terms, list)) if *terms == policy.custom_banned_terms => Arc::clone(list),
            _ => {
                let list = Arc::new(BannedList::new(&policy.custom_banned_terms));
                *cached = Some((policy.custom_banned_terms.clone(), Arc::clone(&list)));
                list
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_drops_the_path() {
        let s = WebSettings {
            public_base_url: "https://sspr.example.org/base/".into(),
            trusted_proxies: vec![],
            max_body_bytes: 1,
            dev_outbox: false,
            session_hours: 8,
            phone_regions: vec![],
            flow_lifetime: time::Duration::minutes(15),
            pow_max_number: 0,
            response_floor: std::time::Duration::ZERO,
        };
        assert_eq!(s.public_origin(), "https://sspr.example.org");
        assert!(s.https());
    }
}
