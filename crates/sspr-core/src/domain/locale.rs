//! The languages sspr speaks (SPEC §9: pages, e-mails, SMS and the predefined security
//! questions come in English, German, French and Spanish).
//!
//! A page's language is *negotiated*, never trusted: `?lng=` wins when it names a supported
//! language, then the browser's `Accept-Language` header by q-value, then English. Both inputs
//! are attacker-controlled, so parsing is bounded and never fails: garbage means "no
//! preference".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ParseError;

/// A supported language. Serialised as its short code (`"en"`, `"de"`, `"fr"`, `"es"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    De,
    Fr,
    Es,
}

/// At most this many entries of an `Accept-Language` header are looked at.
const MAX_ACCEPT_ENTRIES: usize = 32;
/// A language tag longer than this is not a language tag (RFC 5646 tags in practice ≤ 35).
const MAX_TAG_LEN: usize = 35;

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::En, Locale::De, Locale::Fr, Locale::Es];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Es => "es",
        }
    }

    /// The language's name in itself, for a language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::De => "Deutsch",
            Locale::Fr => "Français",
            Locale::Es => "Español",
        }
    }

    /// Reads a language tag by its primary subtag, case-insensitively, with `-` or `_` before
    /// any region: `de`, `de-AT`, `DE_ch` are all German. Unsupported or malformed → `None`.
    pub fn parse(raw: &str) -> Option<Locale> {
        let tag = raw.trim();
        if tag.is_empty() || tag.len() > MAX_TAG_LEN {
            return None;
        }
        if !tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        Self::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.as_str()))
    }

    /// The language to answer in: a supported `?lng=` value, else the best supported entry of
    /// `Accept-Language` (highest q first; equal q in header order; q=0 means "not this"),
    /// else English.
    pub fn negotiate(lng_param: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(locale) = lng_param.and_then(Locale::parse) {
            return locale;
        }
        accept_language.and_then(best_accepted).unwrap_or_default()
    }
}

/// The best supported language of an `Accept-Language` header value, if any.
fn best_accepted(header: &str) -> Option<Locale> {
    // (q in thousandths, position, locale); integer q keeps the ordering total.
    let mut candidates: Vec<(u16, usize, Locale)> = header
        .split(',')
        .take(MAX_ACCEPT_ENTRIES)
        .enumerate()
        .filter_map(|(pos, entry)| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let mut q = 1000;
            for param in parts {
                let (name, value) = param.split_once('=')?;
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(value.trim())?;
                }
            }
            if q == 0 {
                return None;
            }
            Some((q, pos, Locale::parse(tag)?))
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    candidates.first().map(|c| c.2)
}

/// RFC 9110 §12.4.2 qvalue: `0`, `0.d{0,3}`, `1`, `1.0{0,3}`, as thousandths.
fn parse_qvalue(raw: &str) -> Option<u16> {
    let (int, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::parse(s).ok_or_else(|| {
            ParseError::new(format!(
                "unsupported language {s:?}; expected one of {}",
                Self::ALL.map(|l| l.as_str()).join(", ")
            ))
        })
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_primary_subtags_case_insensitively() {
        assert_eq!(Locale::parse("de"), Some(Locale::De));
        assert_eq!(Locale::parse("de-AT"), Some(Locale::De));
        assert_eq!(Locale::parse("DE_ch"), Some(Locale::De));
        assert_eq!(Locale::parse(" fr-CA "), Some(Locale::Fr));
        assert_eq!(Locale::parse("es-419"), Some(Locale::Es));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        for bad in [
            "", "d", "deu", "deutsch", "it", "*", "de AT", "de;q=1", "dé",
        ] {
            assert_eq!(Locale::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Locale::parse(&format!("de-{}", "x".repeat(40))), None);
    }

    #[test]
    fn as_str_round_trips_for_all() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.as_str()), Some(l));
            assert_eq!(l.to_string().parse::<Locale>(), Ok(l));
        }
        assert_eq!(Locale::default(), Locale::En);
        assert!("xx".parse::<Locale>().is_err());
    }

    #[test]
    fn serde_uses_the_short_code() {
        assert_eq!(serde_json::to_string(&Locale::Fr).unwrap(), "\"fr\"");
        assert_eq!(
            serde_json::from_str::<Locale>("\"es\"").unwrap(),
            Locale::Es
        );
        assert_eq!(
            serde_json::from_str::<Locale>("\"de-AT\"").unwrap(),
            Locale::De
        );
        assert!(serde_json::from_str::<Locale>("\"it\"").is_err());
    }

    #[test]
    fn lng_parameter_wins_when_supported() {
        assert_eq!(Locale::negotiate(Some("fr"), Some("de")), Locale::Fr);
        assert_eq!(Locale::negotiate(Some("it"), Some("de")), Locale::De);
        assert_eq!(Locale::negotiate(Some("<script>"), None), Locale::En);
        assert_eq!(Locale::negotiate(Some(""), Some("es")), Locale::Es);
    }

    #[test]
    fn accept_language_by_q_then_position() {
        let n = |h| Locale::negotiate(None, Some(h));
        assert_eq!(n("de-DE,de;q=0.9,en;q=0.8"), Locale::De);
        assert_eq!(n("en;q=0.5, fr;q=0.9"), Locale::Fr);
        assert_eq!(n("it, es;q=0.3, fr;q=0.2"), Locale::Es);
        assert_eq!(n("fr;q=0.7, de;q=0.7"), Locale::Fr, "tie: first wins");
        assert_eq!(n("de;q=0, fr;q=0.1"), Locale::Fr, "q=0 means not wanted");
        assert_eq!(n("de;q=0"), Locale::En);
        assert_eq!(n("es;Q=1.000, de"), Locale::Es);
        assert_eq!(n("*"), Locale::En);
        assert_eq!(n("it-IT, ja"), Locale::En);
        assert_eq!(Locale::negotiate(None, None), Locale::En);
    }

    #[test]
    fn accept_language_garbage_is_no_preference() {
        let n = |h: &str| Locale::negotiate(None, Some(h));
        for garbage in [
            "",
            ",,,;;;===",
            "de;q=2",
            "de;q=-1",
            "de;q=0.12345",
            "de;q=abc",
            "de;q",
            "de;q=1.5",
            "\u{0}\u{ffff}",
            "🦀;q=1",
        ] {
            assert_eq!(n(garbage), Locale::En, "{garbage:?}");
        }
        // An invalid entry does not spoil the valid ones.
        assert_eq!(n("de;q=2, fr;q=0.5"), Locale::Fr);
        // Only the first entries are looked at.
        let long = format!("{}de", "it,".repeat(100));
        assert_eq!(n(&long), Locale::En);
    }
}
