//! The words of the pages in English, German, French and Spanish (SPEC §9).
//!
//! One TOML catalogue per language (`locales/*.toml`, compiled in): sections and keys make
//! dotted names (`[signin] title` is `signin.title`); `{name}` in a text is replaced by the
//! argument of that name. English is complete by construction and is the fallback for a text a
//! translation lacks; a test keeps the translations complete, so the fallback is a safety net,
//! not a habit.
//!
//! The language of a request: `?lng=` (which also sets the `sspr_lang` cookie, so the choice
//! sticks), then that cookie, then `Accept-Language`, then English.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use sspr_core::Locale;

pub const LANG_COOKIE: &str = "sspr_lang";

const SOURCES: [(Locale, &str); 4] = [
    (Locale::En, include_str!("../locales/en.toml")),
    (Locale::De, include_str!("../locales/de.toml")),
    (Locale::Fr, include_str!("../locales/fr.toml")),
    (Locale::Es, include_str!("../locales/es.toml")),
];

pub struct Catalogue {
    texts: HashMap<Locale, HashMap<String, String>>,
}

impl Catalogue {
    /// Parses the compiled-in catalogues. A catalogue that does not parse is a build mistake
    /// that the tests catch; it panics at start rather than showing keys to users.
    pub fn new() -> Self {
        let texts = SOURCES
            .iter()
            .map(|(locale, source)| {
                let table: toml::Table = source.parse().unwrap_or_else(|e| {
                    panic!("locales/{}.toml does not parse: {e}", locale.as_str())
                });
                let mut flat = HashMap::new();
                flatten("", &table, &mut flat);
                (*locale, flat)
            })
            .collect();
        Self { texts }
    }

    /// The text for `key` in `locale` (English when the translation lacks it; the key itself
    /// when even English does, so a missing text is visible rather than blank).
    pub fn text<'a>(&'a self, locale: Locale, key: &'a str) -> &'a str {
        self.lookup(locale, key)
            .or_else(|| self.lookup(Locale::En, key))
            .unwrap_or(key)
    }

    /// The key of the form that suits `count` when `key` has plural forms (`key_one` and
    /// `key_other`), else `key` itself. "One" is CLDR's: exactly 1 in English, German and
    /// Spanish; 0 and 1 in French ("0 utilisateur").
    pub fn plural_key(&self, locale: Locale, key: &str, count: i64) -> String {
        if !self.has(Locale::En, &format!("{key}_one")) {
            return key.to_owned();
        }
        let one = match locale {
            Locale::Fr => count == 0 || count == 1,
            _ => count == 1,
        };
        format!("{key}_{}", if one { "one" } else { "other" })
    }

    /// Whether `key` exists in `locale` itself (no fallback).
    pub fn has(&self, locale: Locale, key: &str) -> bool {
        self.lookup(locale, key).is_some()
    }

    /// The text with `{name}` placeholders filled in.
    pub fn format(&self, locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.text(locale, key), args)
    }

    fn lookup(&self, locale: Locale, key: &str) -> Option<&str> {
        self.texts
            .get(&locale)
            .and_then(|t| t.get(key))
            .map(String::as_str)
    }

    /// Every key of a catalogue (for the completeness test).
    pub fn keys(&self, locale: Locale) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .texts
            .get(&locale)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::new()
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// Replaces `{name}` with its argument; unknown placeholders stay as written.
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language a request asked for with `?lng=`, if it names one we have.
pub fn query_locale(query: Option<&str>) -> Option<Locale> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "lng")
        .and_then(|(_, v)| Locale::parse(v))
}

/// The language of a request: `?lng=`, the cookie, `Accept-Language`, English.
pub fn request_locale(query: Option<&str>, headers: &HeaderMap) -> Locale {
    if let Some(l) = query_locale(query) {
        return l;
    }
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| Locale::parse(v));
    if let Some(l) = cookie {
        return l;
    }
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(None, accept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_translation_has_every_english_text_and_no_other() {
        let c = Catalogue::new();
        let english = c.keys(Locale::En);
        assert!(english.len() > 100, "{} texts", english.len());
        for locale in [Locale::De, Locale::Fr, Locale::Es] {
            let keys = c.keys(locale);
            let missing: Vec<_> = english.iter().filter(|k| !keys.contains(k)).collect();
            let extra: Vec<_> = keys.iter().filter(|k| !english.contains(k)).collect();
            assert!(missing.is_empty(), "{locale:?} lacks {missing:?}");
            assert!(extra.is_empty(), "{locale:?} has unknown {extra:?}");
        }
    }

    #[test]
    fn translations_keep_the_placeholders_of_english() {
        let c = Catalogue::new();
        let names = |t: &str| {
            let mut v: Vec<String> = t
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                .collect();
            v.sort();
            v
        };
        for key in c.keys(Locale::En) {
            let english = names(c.text(Locale::En, key));
            for locale in [Locale::De, Locale::Fr, Locale::Es] {
                assert_eq!(names(c.text(locale, key)), english, "{key} in {locale:?}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("Hi {name}, {x}!", &[("name", "Ada")]), "Hi Ada, {x}!");
        assert_eq!(fill("a { b", &[]), "a { b");
    }

    #[test]
    fn the_query_then_the_cookie_then_the_browser_decide() {
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT_LANGUAGE,
            "fr-CH, fr;q=0.9, en;q=0.8".parse().unwrap(),
        );
        assert_eq!(request_locale(None, &h), Locale::Fr);
        h.insert(COOKIE, "a=b; sspr_lang=es".parse().unwrap());
        assert_eq!(request_locale(None, &h), Locale::Es);
        assert_eq!(request_locale(Some("x=1&lng=de"), &h), Locale::De);
        assert_eq!(request_locale(Some("lng=xx"), &h), Locale::Es);
        assert_eq!(request_locale(None, &HeaderMap::new()), Locale::En);
    }
}
