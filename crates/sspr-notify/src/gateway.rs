//! SMS and voice gateways over HTTP: a generic JSON webhook and the Twilio-compatible REST API.
//!
//! Both share one error mapping: 2xx is delivered; 429, 5xx, timeouts and connection errors
//! are temporary (the outbox retries); any other 4xx is permanent (a rejected number, bad
//! credentials: retrying cannot help).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use sspr_core::ports::OutboxMessage;

use crate::{Channel, DeliveryError};

const USER_AGENT: &str = concat!("sspr/", env!("CARGO_PKG_VERSION"));

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(USER_AGENT)
        // A gateway that redirects is misconfigured; never resend a credential elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    }
    reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    Ok(())
}

/// A request that never got an answer.
fn transport_error(what: &str, e: &reqwest::Error) -> DeliveryError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = format!("{what}: {kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    DeliveryError::Temporary(text)
}

/// An answer: 2xx is success, 429 and 5xx temporary, other statuses permanent. `detail` is
/// what the provider said (already shortened).
fn status_result(what: &str, status: StatusCode, detail: &str) -> Result<(), DeliveryError> {
    if status.is_success() {
        return Ok(());
    }
    let text = if detail.is_empty() {
        format!("{what} answered {status}")
    } else {
        format!("{what} answered {status}: {detail}")
    };
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        Err(DeliveryError::Temporary(text))
    } else {
        Err(DeliveryError::Permanent(text))
    }
}

/// At most 300 characters of a response body, on one line.
fn shorten(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    match trimmed.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Generic webhook
// ---------------------------------------------------------------------------------------------

/// The default webhook body.
pub const DEFAULT_BODY_TEMPLATE: &str =
    r#"{"to": "{{to}}", "body": "{{body}}", "channel": "{{channel}}", "id": "{{id}}"}"#;

const PLACEHOLDERS: &[&str] = &["to", "body", "channel", "id"];

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub url: String,
    /// A header that authenticates sspr, e.g. `("Authorization", "Bearer …")`.
    pub auth_header: Option<(String, SecretString)>,
    /// A JSON document with placeholders `{{to}}`, `{{body}}`, `{{channel}}` and `{{id}}`
    /// inside its strings. Each is replaced by the value, JSON-escaped (without quotes), so
    /// a message with quotes or line breaks keeps the document valid.
    pub body_template: String,
    pub timeout: Duration,
}

impl WebhookSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            auth_header: None,
            body_template: DEFAULT_BODY_TEMPLATE.into(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Checks the URL, the header and the template (which must give valid JSON). Worded for
    /// `sspr config check`.
    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.url).map_err(|e| format!("url: {e}"))?;
        if let Some((name, value)) = &self.auth_header {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("auth_header_name: {name:?} is not a valid header name"))?;
            reqwest::header::HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                "auth_header_value: not a valid header value (line breaks or control characters)"
                    .to_owned()
            })?;
        }
        let sample = render_template(
            &self.body_template,
            &[
                ("to", "+441234567890"),
                ("body", "a \"quoted\"\nline \\ with ünïcode"),
                ("channel", "sms"),
                ("id", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        .map_err(|e| format!("body_template: {e}"))?;
        serde_json::from_str::<serde_json::Value>(&sample).map_err(|e| {
            format!(
                "body_template: not valid JSON once filled in ({e}); put each placeholder \
                 inside a JSON string, e.g. \"text\": \"{{{{body}}}}\""
            )
        })?;
        if self.timeout.is_zero() {
            return Err("timeout must be at least one second".into());
        }
        Ok(())
    }
}

/// Replaces `{{name}}` (spaces inside the braces allowed) by the JSON-escaped value.
/// Unknown placeholders are an error, so a typo does not go out verbatim.
pub fn render_template(template: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a `{{` without a closing `}}`".to_owned())?;
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                format!(
                    "unknown placeholder {{{{{name}}}}}; the placeholders are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let quoted = serde_json::to_string(value).map_err(|e| e.to_string())?;
        out.push_str(&quoted[1..quoted.len() - 1]);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// POSTs each message as JSON to one URL (SMS and voice through any HTTP gateway).
pub struct WebhookGateway {
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl std::fmt::Debug for WebhookGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookGateway")
            .field("url", &self.settings.url)
            .finish_non_exhaustive()
    }
}

impl WebhookGateway {
    pub fn new(settings: WebhookSettings) -> Result<Self, String> {
        settings.validate()?;
        Ok(Self {
            client: client(settings.timeout)?,
            settings,
        })
    }
}

#[async_trait]
impl Channel for WebhookGateway {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let id = m.id.to_string();
        let body = render_template(
            &self.settings.body_template,
            &[
                ("to", &m.recipient),
                ("body", &m.body),
                ("channel", &m.channel),
                ("id", &id),
            ],
        )
        .map_err(DeliveryError::Permanent)?;
        let mut request = self
            .client
            .post(&self.settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &id)
            .body(body);
        if let Some((name, value)) = &self.settings.auth_header {
            let mut value = reqwest::header::HeaderValue::from_str(value.expose_secret())
                .map_err(|_| DeliveryError::Permanent("invalid auth header value".into()))?;
            value.set_sensitive(true);
            request = request.header(name.as_str(), value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error("webhook", &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        status_result("webhook", status, &shorten(&text))
    }
}

// ---------------------------------------------------------------------------------------------
// Twilio-compatible REST API
// ---------------------------------------------------------------------------------------------

pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// `https://api.twilio.com`, or a compatible provider's base URL.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sending number (E.164) or messaging sender id.
    pub from_number: String,
    /// The language the text-to-speech voice speaks, e.g. `en-GB`.
    pub voice_language: String,
    pub timeout: Duration,
}

impl TwilioSettings {
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: SecretString,
        from_number: impl Into<String>,
    ) -> Self {
        Self {
            base_url: TWILIO_BASE_URL.into(),
            account_sid: account_sid.into(),
            auth_token,
            from_number: from_number.into(),
            voice_language: "en-GB".into(),
            timeout: Duration::from_secs(10),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.base_url).map_err(|e| format!("base_url: {e}"))?;
        if self.account_sid.is_empty()
            || !self.account_sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err("account_sid must be letters and digits (e.g. AC0123…)".into());
        }
        if self.auth_token.expose_secret().is_empty() {
            return Err("auth_token is empty".into());
        }
        if self.from_number.trim().is_empty() {
            return Err("from_number is empty".into());
        }
        let lang_ok = !self.voice_language.is_empty()
            && self
                .voice_language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !lang_ok {
            return Err(format!(
                "voice_language {:?} is not a language tag such as en-GB",
                self.voice_language
            ));
        }
        if self.timeout.is_zero() {
            return Err("timeout must be at least one second".into());
        }
        Ok(())
    }
}

/// Sends SMS (`Messages.json`) and voice calls (`Calls.json` with inline TwiML).
pub struct TwilioGateway {
    client: reqwest::Client,
    settings: TwilioSettings,
}

impl std::fmt::Debug for TwilioGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioGateway")
            .field("base_url", &self.settings.base_url)
            .field("account_sid", &self.settings.account_sid)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioGateway {
    pub fn new(settings: TwilioSettings) -> Result<Self, String> {
        settings.validate()?;
        Ok(Self {
            client: client(settings.timeout)?,
            settings,
        })
    }

    fn url(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.settings.base_url.trim_end_matches('/'),
            self.settings.account_sid
        )
    }

    /// The TwiML of a call: the message twice, with a pause between, digits spoken singly.
    pub fn twiml(&self, text: &str) -> String {
        let said = xml_escape(&space_digits(text));
        let lang = xml_escape(&self.settings.voice_language);
        format!(
            "<Response><Say language=\"{lang}\">{said}</Say><Pause length=\"1\"/>\
             <Say language=\"{lang}\">{said}</Say></Response>"
        )
    }
}

#[async_trait]
impl Channel for TwilioGateway {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let s = &self.settings;
        let (url, form) = match m.channel.as_str() {
            "sms" => (
                self.url("Messages"),
                vec![
                    ("To", m.recipient.clone()),
                    ("From", s.from_number.clone()),
                    ("Body", m.body.clone()),
                ],
            ),
            "voice" => (
                self.url("Calls"),
                vec![
                    ("To", m.recipient.clone()),
                    ("From", s.from_number.clone()),
                    ("Twiml", self.twiml(&m.body)),
                ],
            ),
            other => {
                return Err(DeliveryError::Permanent(format!(
                    "twilio cannot deliver {other:?} messages"
                )));
            }
        };
        let response = self
            .client
            .post(url)
            .basic_auth(&s.account_sid, Some(s.auth_token.expose_secret()))
            .header("Idempotency-Key", m.id.to_string())
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error("twilio", &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let detail = match serde_json::from_str::<TwilioError>(&text) {
            Ok(TwilioError {
                code: Some(code),
                message: Some(message),
            }) => format!("error {code}: {message}"),
            Ok(TwilioError {
                message: Some(message),
                ..
            }) => message,
            _ => text,
        };
        status_result("twilio", status, &shorten(&detail))
    }
}

/// The settings of one SMS or voice gateway, whichever the provider.
#[derive(Debug, Clone)]
pub enum GatewaySettings {
    Webhook(WebhookSettings),
    Twilio(TwilioSettings),
}

impl GatewaySettings {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            GatewaySettings::Webhook(s) => s.validate(),
            GatewaySettings::Twilio(s) => s.validate(),
        }
    }

    /// Builds the channel (installs the TLS provider; connects to nothing yet).
    pub fn build(&self) -> Result<std::sync::Arc<dyn Channel>, String> {
        Ok(match self {
            GatewaySettings::Webhook(s) => std::sync::Arc::new(WebhookGateway::new(s.clone())?),
            GatewaySettings::Twilio(s) => std::sync::Arc::new(TwilioGateway::new(s.clone())?),
        })
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Spaces out runs of four or more digits ("482913" → "4, 8, 2, 9, 1, 3") so text-to-speech
/// reads a code digit by digit rather than as one large number. Shorter numbers ("5
/// minutes") stay as they are.
pub fn space_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 4 {
            let spaced: Vec<String> = run.chars().map(String::from).collect();
            out.push_str(&spaced.join(", "));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_values_as_json() {
        let t = r#"{"to": "{{to}}", "text": "{{ body }}"}"#;
        let out = render_template(t, &[("to", "+1"), ("body", "say \"hi\"\nnow")]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["text"], "say \"hi\"\nnow");
        assert!(
            render_template("{{nope}}", &[])
                .unwrap_err()
                .contains("unknown placeholder")
        );
    }

    #[test]
    fn a_template_that_is_not_json_is_rejected() {
        let mut s = WebhookSettings::new("https://sms.example.org/send");
        assert!(s.validate().is_ok());
        s.body_template = r#"{"to": {{to}}}"#.into();
        assert!(s.validate().unwrap_err().starts_with("body_template:"));
        s.body_template = DEFAULT_BODY_TEMPLATE.into();
        s.url = "ftp://x".into();
        assert!(s.validate().unwrap_err().starts_with("url:"));
    }

    #[test]
    fn codes_are_spoken_digit_by_digit() {
        assert_eq!(
            space_digits("Your code is 482913. It expires in 10 minutes."),
            "Your code is 4, 8, 2, 9, 1, 3. It expires in 10 minutes."
        );
        assert_eq!(space_digits("1, 2, 3, 4"), "1, 2, 3, 4");
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(xml_escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
