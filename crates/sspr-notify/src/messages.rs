//! Localised, brandable message templates (SPEC §8).
//!
//! The texts live in one catalogue per language, `templates/locales/<lang>.toml`, whose values
//! are minijinja templates; the HTML email layout is `templates/email.html`. Both are
//! embedded at build time, and kept as plain files so an operator can later override them.
//! Languages: en (the reference), de, fr, es; anything else falls back to English.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};

/// The languages with a catalogue, the first being the fallback.
pub const LANGUAGES: &[&str] = &["en", "de", "fr", "es"];

const CATALOGUES: &[(&str, &str)] = &[
    ("en", include_str!("../templates/locales/en.toml")),
    ("de", include_str!("../templates/locales/de.toml")),
    ("fr", include_str!("../templates/locales/fr.toml")),
    ("es", include_str!("../templates/locales/es.toml")),
];

const EMAIL_LAYOUT: &str = include_str!("../templates/email.html");

/// The method types a user can register (the keys of a catalogue's `[methods]`).
pub const METHOD_TYPES: &[&str] = &[
    "email",
    "alternate_email",
    "mobile_sms",
    "mobile_voice",
    "office_voice",
    "authenticator_code",
    "authenticator_notification",
    "security_questions",
    "passkey",
];

/// Why a verification code was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Proving a new contact while registering security info.
    Registration,
    /// A password reset or account unlock.
    Reset,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Registration => "registration",
            CodePurpose::Reset => "reset",
        }
    }
}

/// A message to a user or an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    VerificationCode {
        code: String,
        minutes: u32,
        purpose: CodePurpose,
    },
    /// `method` is a method type (`email`, `mobile_sms`, `authenticator_code`, …, see
    /// [`METHOD_TYPES`]); the template names it in the user's language.
    MethodAdded {
        method: String,
    },
    MethodRemoved {
        method: String,
    },
    /// To the user's primary and alternate addresses. `at` is already formatted.
    PasswordReset {
        at: String,
        username: String,
    },
    /// To the other administrators: `admin`'s password was reset.
    AdminPasswordReset {
        admin: String,
        at: String,
    },
    Unlocked {
        at: String,
    },
    /// A user asks the helpdesk for help; `message` is their own text.
    ContactAdministrator {
        username: String,
        support_code: String,
        message: String,
    },
}

impl Message {
    /// The catalogue section of this message.
    pub fn key(&self) -> &'static str {
        match self {
            Message::VerificationCode { .. } => "verification_code",
            Message::MethodAdded { .. } => "method_added",
            Message::MethodRemoved { .. } => "method_removed",
            Message::PasswordReset { .. } => "password_reset",
            Message::AdminPasswordReset { .. } => "admin_password_reset",
            Message::Unlocked { .. } => "unlocked",
            Message::ContactAdministrator { .. } => "contact_administrator",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChannel {
    Email,
    Sms,
    Voice,
}

/// The organisation's look, applied to every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub organisation: String,
    /// An absolute https:// (or http://) URL of a logo image for HTML email.
    pub logo_url: Option<String>,
    /// `#RRGGBB`.
    pub primary_colour: String,
    /// How to reach the helpdesk (an address, a phone number or a URL), shown in email.
    pub helpdesk: Option<String>,
}

/// The colour used when a brand's colour is not valid.
pub const DEFAULT_COLOUR: &str = "#1f4e79";

impl Brand {
    pub fn new(organisation: impl Into<String>) -> Self {
        Self {
            organisation: organisation.into(),
            logo_url: None,
            primary_colour: DEFAULT_COLOUR.into(),
            helpdesk: None,
        }
    }

    /// Checks the colour and the logo URL. Worded for configuration errors.
    pub fn validate(&self) -> Result<(), String> {
        if !is_hex_colour(&self.primary_colour) {
            return Err(format!(
                "primary colour {:?} is not a #RRGGBB colour such as #1f4e79",
                self.primary_colour
            ));
        }
        if let Some(url) = &self.logo_url
            && !is_web_url(url)
        {
            return Err(format!("logo URL {url:?} is not an absolute https:// URL"));
        }
        if self.organisation.trim().is_empty() {
            return Err("the organisation name is empty".into());
        }
        Ok(())
    }
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn is_web_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > "https://".len()
        && !s.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// A rendered message. `subject` and `html` are for email only (empty / `None` otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Texts {
    subject: String,
    email: String,
    sms: String,
    voice: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    duration: String,
    footer: String,
    helpdesk: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    common: Common,
    methods: BTreeMap<String, String>,
    verification_code: Texts,
    method_added: Texts,
    method_removed: Texts,
    password_reset: Texts,
    admin_password_reset: Texts,
    unlocked: Texts,
    contact_administrator: Texts,
}

impl Catalogue {
    fn texts(&self, key: &str) -> &Texts {
        match key {
            "verification_code" => &self.verification_code,
            "method_added" => &self.method_added,
            "method_removed" => &self.method_removed,
            "password_reset" => &self.password_reset,
            "admin_password_reset" => &self.admin_password_reset,
            "unlocked" => &self.unlocked,
            _ => &self.contact_administrator,
        }
    }
}

struct Templates {
    env: Environment<'static>,
    catalogues: BTreeMap<&'static str, Catalogue>,
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable is an error (caught by the tests), not an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("email.html", EMAIL_LAYOUT)
        .expect("templates/email.html is a valid template");
    let catalogues = CATALOGUES
        .iter()
        .map(|(lang, source)| {
            let c: Catalogue = toml::from_str(source)
                .unwrap_or_else(|e| panic!("templates/locales/{lang}.toml: {e}"));
            (*lang, c)
        })
        .collect();
    Templates { env, catalogues }
});

/// The catalogue language for a requested language tag: `de-CH` → `de`, unknown → `en`.
pub fn language(requested: &str) -> &'static str {
    let primary = requested
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == primary)
        .unwrap_or(LANGUAGES[0])
}

/// Renders `message` for `channel` in `lang` with the organisation's `brand`.
///
/// Panics only if the embedded catalogues are broken, which the tests rule out.
pub fn render(message: &Message, channel: MessageChannel, lang: &str, brand: &Brand) -> Rendered {
    try_render(message, channel, lang, brand).unwrap_or_else(|e| {
        panic!(
            "message template {}/{} is broken: {e:#}",
            language(lang),
            message.key()
        )
    })
}

/// [`render`], reporting a template error instead of panicking.
pub fn try_render(
    message: &Message,
    channel: MessageChannel,
    lang: &str,
    brand: &Brand,
) -> Result<Rendered, minijinja::Error> {
    let t = &*TEMPLATES;
    let lang = language(lang);
    let cat = &t.catalogues[lang];
    let texts = cat.texts(message.key());
    let helpdesk = brand
        .helpdesk
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty());
    let base = context! {
        organisation => brand.organisation.trim(),
        helpdesk => helpdesk,
    };
    let vars = match message {
        Message::VerificationCode {
            code,
            minutes,
            purpose,
        } => {
            let duration = t
                .env
                .render_str(&cat.common.duration, context! { minutes => *minutes })?;
            let code = match channel {
                MessageChannel::Voice => spell_out(code),
                _ => code.clone(),
            };
            context! { code, duration, minutes => *minutes, purpose => purpose.as_str(), ..base }
        }
        Message::MethodAdded { method } | Message::MethodRemoved { method } => {
            let method = cat.methods.get(method).cloned().unwrap_or(method.clone());
            context! { method, ..base }
        }
        Message::PasswordReset { at, username } => context! { at, username, ..base },
        Message::AdminPasswordReset { admin, at } => context! { admin, at, ..base },
        Message::Unlocked { at } => context! { at, ..base },
        Message::ContactAdministrator {
            username,
            support_code,
            message,
        } => context! { username, support_code, message, ..base },
    };
    let render = |source: &str| -> Result<String, minijinja::Error> {
        Ok(t.env.render_str(source, vars.clone())?.trim().to_owned())
    };
    match channel {
        MessageChannel::Sms => Ok(Rendered {
            subject: String::new(),
            text: one_line(&render(&texts.sms)?),
            html: None,
        }),
        MessageChannel::Voice => Ok(Rendered {
            subject: String::new(),
            text: one_line(&render(&texts.voice)?),
            html: None,
        }),
        MessageChannel::Email => {
            let subject = one_line(&render(&texts.subject)?);
            let body = render(&texts.email)?;
            let footer = render(&cat.common.footer)?;
            let helpdesk_line = match helpdesk {
                Some(_) => Some(render(&cat.common.helpdesk)?),
                None => None,
            };
            let mut text = body.clone();
            text.push_str("\n\n-- \n");
            if let Some(h) = &helpdesk_line {
                text.push_str(h);
                text.push('\n');
            }
            text.push_str(&footer);
            text.push('\n');
            let code = match message {
                Message::VerificationCode { code, .. } => Some(code.as_str()),
                _ => None,
            };
            let html = t.env.get_template("email.html")?.render(context! {
                lang,
                subject => &subject,
                organisation => brand.organisation.trim(),
                logo_url => brand.logo_url.as_deref().filter(|u| is_web_url(u)),
                colour => if is_hex_colour(&brand.primary_colour) {
                    brand.primary_colour.as_str()
                } else {
                    DEFAULT_COLOUR
                },
                paragraphs => Value::from(Serde(paragraphs(&body, code))),
                footer,
                helpdesk_line,
            })?;
            Ok(Rendered {
                subject,
                text,
                html: Some(html),
            })
        }
    }
}

#[derive(Serialize)]
struct Paragraph {
    lines: Vec<String>,
    is_code: bool,
}

/// Paragraphs are separated by blank lines; a paragraph that is exactly the code is shown as
/// the code.
fn paragraphs(body: &str, code: Option<&str>) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut flush = |lines: &mut Vec<String>| {
        if !lines.is_empty() {
            let is_code = lines.len() == 1 && code.is_some_and(|c| lines[0].trim() == c);
            out.push(Paragraph {
                lines: std::mem::take(lines),
                is_code,
            });
        }
    };
    for line in body.lines() {
        if line.trim().is_empty() {
            flush(&mut lines);
        } else {
            lines.push(line.trim_end().to_owned());
        }
    }
    flush(&mut lines);
    out
}

/// SMS and voice are one line: line breaks (say, in a user's message) become spaces.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "482913" → "4, 8, 2, 9, 1, 3": text-to-speech then reads each digit.
fn spell_out(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Brand {
        Brand {
            organisation: "Contoso Ltd".into(),
            logo_url: Some("https://contoso.example/logo.png".into()),
            primary_colour: "#0078d4".into(),
            helpdesk: Some("helpdesk@contoso.example".into()),
        }
    }

    fn all_messages() -> Vec<Message> {
        vec![
            Message::VerificationCode {
                code: "48291373".into(),
                minutes: 10,
                purpose: CodePurpose::Reset,
            },
            Message::VerificationCode {
                code: "482913".into(),
                minutes: 1,
                purpose: CodePurpose::Registration,
            },
            Message::MethodAdded {
                method: "authenticator_code".into(),
            },
            Message::MethodRemoved {
                method: "mobile_sms".into(),
            },
            Message::PasswordReset {
                at: "2026-11-25 08:00 UTC".into(),
                username: "alice".into(),
            },
            Message::AdminPasswordReset {
                admin: "bob.admin".into(),
                at: "2026-11-25 08:00 UTC".into(),
            },
            Message::Unlocked {
                at: "2026-11-25 08:00 UTC".into(),
            },
            Message::ContactAdministrator {
                username: "carol".into(),
                support_code: "SUP-1234".into(),
                message: "I lost my phone.\nPlease call me.".into(),
            },
        ]
    }

    #[test]
    fn every_message_renders_in_every_language_and_channel() {
        for lang in LANGUAGES {
            for m in all_messages() {
                for channel in [
                    MessageChannel::Email,
                    MessageChannel::Sms,
                    MessageChannel::Voice,
                ] {
                    let r = try_render(&m, channel, lang, &brand())
                        .unwrap_or_else(|e| panic!("{lang} {} {channel:?}: {e:#}", m.key()));
                    let what = format!("{lang} {} {channel:?}", m.key());
                    assert!(!r.text.trim().is_empty(), "{what}: empty text");
                    for s in [&r.subject, &r.text] {
                        assert!(!s.contains("{{") && !s.contains("{%"), "{what}: {s}");
                    }
                    assert!(r.text.contains("Contoso Ltd") || m.key() == "contact_administrator");
                    if channel == MessageChannel::Email {
                        assert!(!r.subject.is_empty(), "{what}: no subject");
                        let html = r.html.expect("email has HTML");
                        assert!(html.contains(&format!("<html lang=\"{lang}\">")));
                        assert!(html.contains("#0078d4"));
                    } else {
                        assert!(r.html.is_none());
                        assert!(!r.text.contains('\n'), "{what}: one line");
                    }
                    if let Message::VerificationCode { code, .. } = &m {
                        let expected = if channel == MessageChannel::Voice {
                            spell_out(code)
                        } else {
                            code.clone()
                        };
                        assert!(r.text.contains(&expected), "{what}: no code in {}", r.text);
                    }
                    if let Message::MethodAdded { .. } = &m {
                        assert!(
                            !r.text.contains("authenticator_code"),
                            "{what}: untranslated"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_catalogue_has_the_same_method_names() {
        for (lang, cat) in &TEMPLATES.catalogues {
            let keys: Vec<_> = cat.methods.keys().map(String::as_str).collect();
            let mut expected = METHOD_TYPES.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{lang}: [methods]");
        }
    }

    #[test]
    fn the_english_code_sms_fits_one_gsm_segment() {
        for purpose in [CodePurpose::Reset, CodePurpose::Registration] {
            let m = Message::VerificationCode {
                code: "48291373".into(),
                minutes: 10,
                purpose,
            };
            let sms = render(&m, MessageChannel::Sms, "en", &brand()).text;
            assert!(sms.chars().count() <= 160, "{} chars: {sms}", sms.len());
            const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
            assert!(sms.chars().all(|c| GSM.contains(c)), "not GSM 7-bit: {sms}");
            assert!(sms.contains("Expires in 10 minutes"));
            assert!(sms.contains("Never share it"));
            assert!(sms.contains("Ignore this message"));
        }
    }

    #[test]
    fn the_code_message_says_everything_it_must() {
        let m = Message::VerificationCode {
            code: "48291373".into(),
            minutes: 5,
            purpose: CodePurpose::Reset,
        };
        let r = render(&m, MessageChannel::Email, "en", &brand());
        assert_eq!(r.subject, "Your Contoso Ltd password reset code");
        assert!(r.text.contains("\n\n48291373\n\n"));
        assert!(r.text.contains("expires in 5 minutes"));
        assert!(r.text.contains("ignore this email"));
        assert!(r.text.contains("Never tell anyone this code"));
        assert!(
            r.text
                .contains("Need help? Contact helpdesk@contoso.example.")
        );
        let html = r.html.unwrap();
        assert!(
            html.contains("letter-spacing:6px;"),
            "the code is shown large"
        );
        assert!(html.contains("src=\"https:&#x2f;&#x2f;contoso.example&#x2f;logo.png\""));
        let one = Message::VerificationCode {
            code: "1".into(),
            minutes: 1,
            purpose: CodePurpose::Reset,
        };
        assert!(
            render(&one, MessageChannel::Email, "de", &brand())
                .text
                .contains("1 Minute gültig")
        );
        let voice = render(&m, MessageChannel::Voice, "fr", &brand()).text;
        assert!(voice.contains("4, 8, 2, 9, 1, 3, 7, 3"), "{voice}");
    }

    #[test]
    fn interpolated_values_are_escaped_in_html() {
        let evil = Brand {
            organisation: "<script>alert(1)</script> & Co".into(),
            logo_url: None,
            primary_colour: "red;background:url(x)".into(),
            helpdesk: Some("<b>help</b>".into()),
        };
        let m = Message::ContactAdministrator {
            username: "<img src=x onerror=alert(1)>".into(),
            support_code: "S-1".into(),
            message: "\"quoted\" <i>".into(),
        };
        let r = render(&m, MessageChannel::Email, "en", &evil);
        let html = r.html.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; Co"));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<b>help</b>"));
        assert!(!html.contains("<i>"));
        assert!(
            !html.contains("red;background"),
            "an invalid colour is not used"
        );
        assert!(html.contains(DEFAULT_COLOUR));
        // The plain text keeps the values as they are.
        assert!(r.text.contains("<img src=x onerror=alert(1)>"));
        assert!(evil.validate().is_err());
        assert!(brand().validate().is_ok());
    }

    #[test]
    fn languages_fall_back_to_english() {
        assert_eq!(language("de-CH"), "de");
        assert_eq!(language("FR"), "fr");
        assert_eq!(language("es_MX"), "es");
        assert_eq!(language("pt"), "en");
        assert_eq!(language(""), "en");
        let m = Message::Unlocked { at: "now".into() };
        assert_eq!(
            render(&m, MessageChannel::Sms, "pt-BR", &brand()),
            render(&m, MessageChannel::Sms, "en", &brand())
        );
    }

    #[test]
    fn unknown_method_types_are_shown_as_given() {
        let m = Message::MethodAdded {
            method: "carrier_pigeon".into(),
        };
        assert!(
            render(&m, MessageChannel::Sms, "en", &brand())
                .text
                .contains("carrier_pigeon")
        );
    }
}
