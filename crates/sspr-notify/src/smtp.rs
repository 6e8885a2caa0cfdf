//! Email through SMTP (lettre): plain, STARTTLS or implicit TLS, optional authentication, a
//! pool of connections, and an extra CA certificate for a private mail relay. TLS is rustls
//! with ring; there is deliberately no switch to accept invalid certificates.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sspr_core::ports::OutboxMessage;

use crate::{Channel, DeliveryError};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (only for a relay on the same host or a trusted network).
    None,
    /// Connect in plain text, then require STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender: an address (`sspr@example.org`) or a mailbox (`Contoso <sspr@example.org>`).
    pub from: String,
    /// The display name used when `from` is a bare address (the organisation's name).
    pub from_name: Option<String>,
    /// Connect/command timeout.
    pub timeout: Duration,
    /// A PEM file with extra CA certificates to trust (a private CA), besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// Connections kept open in the pool.
    pub pool_size: u32,
}

impl SmtpSettings {
    /// Defaults for a relay at `host`: STARTTLS on 587, 30 s timeout.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: None,
            password: None,
            from: from.into(),
            from_name: None,
            timeout: Duration::from_secs(30),
            ca_file: None,
            pool_size: 4,
        }
    }

    /// The sender mailbox, with the display name applied.
    pub fn from_mailbox(&self) -> Result<Mailbox, String> {
        let mut mailbox: Mailbox = self
            .from
            .trim()
            .parse()
            .map_err(|e| format!("{:?} is not an email address or mailbox: {e}", self.from))?;
        if mailbox.name.is_none() {
            mailbox.name = self
                .from_name
                .as_ref()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty());
        }
        Ok(mailbox)
    }

    /// Reads the extra CA certificates, if any.
    fn ca_certificate(&self) -> Result<Option<Certificate>, String> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        Certificate::from_pem(&pem)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks everything that can be checked without connecting: the host, the sender, the
    /// credentials' shape and the CA file. Worded for `sspr config check`.
    pub fn validate(&self) -> Result<(), String> {
        if self.host.trim().is_empty() || self.host.contains(char::is_whitespace) {
            return Err("host must be a host name or IP address".into());
        }
        if self.port == 0 {
            return Err("port must be between 1 and 65535".into());
        }
        self.from_mailbox().map_err(|e| format!("from: {e}"))?;
        match (&self.username, &self.password) {
            (Some(_), None) => return Err("username is set but password is not".into()),
            (None, Some(_)) => return Err("password is set but username is not".into()),
            _ => {}
        }
        if self.timeout.is_zero() {
            return Err("timeout must be at least one second".into());
        }
        if self.pool_size == 0 {
            return Err("pool size must be at least 1".into());
        }
        self.ca_certificate().map_err(|e| format!("ca_file: {e}"))?;
        Ok(())
    }
}

/// Delivers `email` messages through one pooled SMTP transport.
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of Message-IDs (the sender's domain).
    id_domain: String,
}

impl std::fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpChannel {
    /// Builds the transport (nothing connects until the first message). Must run inside a
    /// tokio runtime: the pool starts a background task.
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        settings.validate()?;
        crate::install_crypto_provider();
        let from = settings.from_mailbox()?;
        let tls_params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(settings.host.clone());
            if let Some(cert) = settings.ca_certificate()? {
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("TLS setup: {e}"))
        };
        let tls = match settings.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_params()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(settings.pool_size));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let id_domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            id_domain,
        })
    }

    fn build(&self, m: &OutboxMessage) -> Result<Message, DeliveryError> {
        let to: Mailbox = m.recipient.trim().parse().map_err(|e| {
            DeliveryError::Permanent(format!("invalid recipient address {:?}: {e}", m.recipient))
        })?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{}@{}>", m.id, self.id_domain)));
        let built = match &m.html_body {
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(m.body.clone()),
            ),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                m.body.clone(),
                html.clone(),
            )),
        };
        built.map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))
    }
}

/// 5xx answers are final; everything else (4xx, connection refused, timeouts, TLS trouble
/// that an operator may fix) is worth another try.
pub fn classify(e: &SmtpError) -> DeliveryError {
    let text = describe(e);
    if e.is_permanent() {
        DeliveryError::Permanent(text)
    } else {
        DeliveryError::Temporary(text)
    }
}

/// The error with its causes, on one line ("Connection refused" hides in the source chain).
fn describe(e: &SmtpError) -> String {
    let mut text = format!("smtp: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[async_trait]
impl Channel for SmtpChannel {
    async fn deliver(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let email = self.build(message)?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_gets_the_organisation_as_display_name() {
        let mut s = SmtpSettings::new("mail.example.org", "sspr@example.org");
        s.from_name = Some("Contoso Ltd".into());
        assert_eq!(
            s.from_mailbox().unwrap().to_string(),
            "Contoso Ltd <sspr@example.org>"
        );
        s.from = "IT Desk <it@example.org>".into();
        assert_eq!(s.from_mailbox().unwrap().name.as_deref(), Some("IT Desk"));
    }

    #[test]
    fn settings_are_checked() {
        let ok = SmtpSettings::new("mail.example.org", "sspr@example.org");
        assert!(ok.validate().is_ok());
        let bad_from = SmtpSettings::new("mail.example.org", "not an address");
        assert!(bad_from.validate().unwrap_err().starts_with("from:"));
        let mut half_auth = ok.clone();
        half_auth.username = Some("u".into());
        assert!(half_auth.validate().unwrap_err().contains("password"));
        let mut no_ca = ok.clone();
        no_ca.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(no_ca.validate().unwrap_err().starts_with("ca_file:"));
    }
}
