//! Connections to the directory: TLS (LDAPS or StartTLS, with a private CA), the service
//! account's bind, and a bounded pool with timeouts.
//!
//! ldap3 multiplexes operations over one connection, but a bind changes who the connection
//! is, so the pool hands out whole connections: at most `pool_size` are open, idle ones are
//! reused, and one that failed is dropped rather than returned. A user's bind (sign-in) gets a
//! fresh connection of its own, counted against the same limit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sspr_core::ports::DirectoryError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::{transport, unavailable};
use super::settings::DirectorySettings;

/// The service account's password, kept out of `Debug`.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

pub struct Pool {
    settings: Arc<DirectorySettings>,
    bind_password: Secret,
    tls: Arc<rustls::ClientConfig>,
    idle: Mutex<Vec<Ldap>>,
    permits: Arc<Semaphore>,
}

/// A connection borrowed from the pool; back into it on drop unless marked broken.
pub struct Conn<'a> {
    pub ldap: Ldap,
    pool: &'a Pool,
    broken: bool,
    _permit: OwnedSemaphorePermit,
}

impl Conn<'_> {
    /// Do not reuse this connection (an operation failed or timed out on it).
    pub fn discard(&mut self) {
        self.broken = true;
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if !self.broken && !self.ldap.is_closed() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(self.ldap.clone());
        }
    }
}

/// The rustls configuration: ring, the system roots plus the configured CA file.
pub fn tls_config(settings: &DirectorySettings) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &settings.ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read directory.ca_file {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("directory.ca_file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "directory.ca_file {} holds no certificate",
                path.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("directory.ca_file {}: {e}", path.display()))?;
        }
    } else {
        // No private CA: the public roots the system trusts (Debian's ca-certificates).
        for cert in CertificateDer::pem_file_iter("/etc/ssl/certs/ca-certificates.crt")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = roots.add(cert);
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

impl Pool {
    pub fn new(settings: Arc<DirectorySettings>, bind_password: Secret) -> Result<Self, String> {
        let tls = Arc::new(tls_config(&settings)?);
        let permits = Arc::new(Semaphore::new(settings.pool_size.max(1)));
        Ok(Self {
            settings,
            bind_password,
            tls,
            idle: Mutex::new(Vec::new()),
            permits,
        })
    }

    pub fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    pub fn op_timeout(&self) -> Duration {
        Duration::from_secs(self.settings.operation_timeout_seconds)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, DirectoryError> {
        // Waiting for a free connection counts against the operation's time.
        tokio::time::timeout(self.op_timeout(), Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| unavailable("every directory connection stayed busy"))?
            .map_err(|_| unavailable("the directory pool is closed"))
    }

    /// Opens a TLS connection (not yet bound). Its driver task ends with the connection.
    pub async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let s = &self.settings;
        let conn_settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(s.connect_timeout_seconds))
            .set_config(Arc::clone(&self.tls))
            .set_starttls(s.starttls && s.url.starts_with("ldap://"));
        let (conn, ldap) = tokio::time::timeout(
            Duration::from_secs(s.connect_timeout_seconds + 1),
            LdapConnAsync::with_settings(conn_settings, &s.url),
        )
        .await
        .map_err(|_| unavailable("no connection within the connect timeout"))?
        .map_err(transport)?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        Ok(ldap)
    }

    /// A connection bound as the service account.
    pub async fn get(&self) -> Result<Conn<'_>, DirectoryError> {
        let permit = self.permit().await?;
        loop {
            let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match reused {
                Some(mut ldap) => {
                    if ldap.is_closed() {
                        continue;
                    }
                    return Ok(Conn {
                        ldap,
                        pool: self,
                        broken: false,
                        _permit: permit,
                    });
                }
                None => break,
            }
        }
        let mut ldap = self.connect().await?;
        let res = tokio::time::timeout(
            self.op_timeout(),
            ldap.simple_bind(&self.settings.bind_dn, &self.bind_password.0),
        )
        .await
        .map_err(|_| unavailable("the service account's bind timed out"))?
        .map_err(transport)?;
        if res.rc != 0 {
            return Err(DirectoryError::Refused(format!(
                "the service account {} cannot bind: {} (result {})",
                self.settings.bind_dn,
                res.text.trim(),
                res.rc
            )));
        }
        Ok(Conn {
            ldap,
            pool: self,
            broken: false,
            _permit: permit,
        })
    }

    /// A fresh, unbound connection for a user's bind, counted against the pool's limit.
    pub async fn fresh(&self) -> Result<(Ldap, OwnedSemaphorePermit), DirectoryError> {
        let permit = self.permit().await?;
        Ok((self.connect().await?, permit))
    }
}
