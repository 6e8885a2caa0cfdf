//! The organisation's look — name, logo, colour — as pages, messages and password checks use
//! it: the configuration's values (`[organisation]`), overridden by what an administrator set
//! in the SSPR policy (portal "Customization", `PUT /api/v1/admin/policy`). One shared handle
//! holds the brand in force; the server refreshes it when the policy changes.

use std::sync::{Arc, RwLock};

use crate::SsprPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub organisation_name: String,
    /// An absolute http(s) URL of a logo image.
    pub logo_url: Option<String>,
    /// `#RRGGBB`.
    pub colour: Option<String>,
}

/// The brand in force, shared (cheap to clone).
#[derive(Debug, Clone)]
pub struct BrandHandle {
    defaults: Arc<Brand>,
    current: Arc<RwLock<Arc<Brand>>>,
}

impl BrandHandle {
    /// Starts with the configuration's brand.
    pub fn new(defaults: Brand) -> Self {
        let defaults = Arc::new(defaults);
        Self {
            current: Arc::new(RwLock::new(Arc::clone(&defaults))),
            defaults,
        }
    }

    pub fn current(&self) -> Arc<Brand> {
        // A poisoned lock still holds a whole brand: writers only swap an Arc.
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The configuration's brand (what an empty policy field falls back to).
    pub fn defaults(&self) -> &Brand {
        &self.defaults
    }

    /// Applies the policy's overrides over the configuration's values.
    pub fn apply(&self, policy: &SsprPolicy) {
        let d = &self.defaults;
        let brand = Arc::new(Brand {
            organisation_name: policy
                .organisation_name
                .clone()
                .unwrap_or_else(|| d.organisation_name.clone()),
            logo_url: policy.logo_url.clone().or_else(|| d.logo_url.clone()),
            colour: policy.brand_colour.clone().or_else(|| d.colour.clone()),
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = brand;
    }
}

/// `#RRGGBB`.
pub fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// An absolute http(s) URL with a host, and nothing an HTML attribute or a CSP header would
/// choke on.
pub fn is_web_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 2048
        && s.split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !s.contains(|c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | ';')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_overrides_the_configuration_field_by_field() {
        let handle = BrandHandle::new(Brand {
            organisation_name: "Contoso".into(),
            logo_url: Some("https://cdn.contoso.com/logo.svg".into()),
            colour: None,
        });
        let mut policy = SsprPolicy::default();
        handle.apply(&policy);
        assert_eq!(*handle.current(), *handle.defaults());
        policy.organisation_name = Some("Fabrikam".into());
        policy.brand_colour = Some("#aa3300".into());
        handle.apply(&policy);
        let b = handle.current();
        assert_eq!(b.organisation_name, "Fabrikam");
        assert_eq!(b.colour.as_deref(), Some("#aa3300"));
        assert_eq!(
            b.logo_url.as_deref(),
            Some("https://cdn.contoso.com/logo.svg")
        );
        policy.organisation_name = None;
        handle.apply(&policy);
        assert_eq!(
            handle.current().organisation_name,
            "Contoso",
            "back to the default"
        );
    }

    #[test]
    fn colours_and_urls() {
        assert!(is_hex_colour("#0b5cad"));
        for bad in ["0b5cad", "#0b5ca", "#0b5cag", "red"] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
        assert!(is_web_url("https://cdn.example.org/logo.png"));
        for bad in [
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b",
            "https://x/\"onerror=",
            "https://x/;script-src *",
            "ftp://x/logo.png",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
