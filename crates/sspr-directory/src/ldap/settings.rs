//! How sspr reaches an on-premises directory: the `[directory]` section of the configuration
//! (docs/directories.md is the reference for operators).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which kind of server, which decides how passwords are written and locks are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    /// No on-premises directory: every user is cloud-only.
    None,
    /// OpenLDAP and compatible servers (ppolicy, RFC 3062).
    Openldap,
    /// Microsoft Active Directory and Samba AD.
    ActiveDirectory,
}

/// How a new password is written to an OpenLDAP-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenLdapWriteMode {
    /// The Password Modify extended operation (RFC 3062) with the ppolicy request control.
    PasswordModify,
    /// A plain modify that replaces `userPassword` (with the ppolicy control); for servers
    /// without RFC 3062. The server must hash it (OpenLDAP: `olcPPolicyHashCleartext`).
    UserPasswordModify,
}

/// The connection and mapping settings. Defaults suit the kind (`Self::for_kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorySettings {
    pub kind: DirectoryKind,
    /// `ldaps://host:636` (TLS from the start) or `ldap://host:389` (upgraded with StartTLS
    /// unless `starttls = false`, which only a test may want: AD refuses password writes and
    /// simple binds without TLS anyway).
    pub url: String,
    pub starttls: bool,
    /// Extra CA certificates (PEM) to trust, for a directory with a private CA. Without it the
    /// server's certificate must chain to a public root.
    pub ca_file: Option<PathBuf>,
    /// The service account sspr binds as (a DN, or for AD also `user@domain`).
    pub bind_dn: String,
    pub bind_password: Option<String>,
    /// Read the service account's password from this file instead.
    pub bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// Which entries are users, e.g. `(objectClass=inetOrgPerson)`.
    pub user_filter: String,
    /// The attribute holding the sspr username (`uid`, `sAMAccountName`).
    pub username_attribute: String,
    /// Attributes a user ID typed at sign-in or reset may match (exactly one entry must).
    pub login_attributes: Vec<String>,
    pub display_name_attribute: String,
    pub first_name_attribute: String,
    pub last_name_attribute: String,
    pub email_attribute: String,
    pub mobile_attribute: String,
    pub office_phone_attribute: String,
    /// Where groups are searched (subtree); empty: groups are not synced.
    pub group_base: String,
    pub group_filter: String,
    pub group_name_attribute: String,
    /// The attribute listing a group's members by DN.
    pub member_attribute: String,
    pub openldap_write_mode: OpenLdapWriteMode,
    /// Connections to the directory kept open (service account), at most.
    pub pool_size: usize,
    pub connect_timeout_seconds: u64,
    /// Each operation (search, write, bind) must finish within this.
    pub operation_timeout_seconds: u64,
    /// Entries per page in a sync.
    pub page_size: i32,
    /// How often the server syncs (0 = only by `sspr directory sync`).
    pub sync_interval_minutes: u64,
    /// A user the writeback status may use to test the write path without changing anything
    /// that matters (see docs/directories.md); empty: that check is skipped.
    pub status_probe_user: String,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self::for_kind(DirectoryKind::None)
    }
}

impl DirectorySettings {
    /// The defaults of a kind of directory.
    pub fn for_kind(kind: DirectoryKind) -> Self {
        let ad = kind == DirectoryKind::ActiveDirectory;
        let s = |openldap: &str, ad_value: &str| -> String {
            if ad { ad_value } else { openldap }.to_owned()
        };
        Self {
            kind,
            url: String::new(),
            starttls: true,
            ca_file: None,
            bind_dn: String::new(),
            bind_password: None,
            bind_password_file: None,
            user_base: String::new(),
            user_filter: s(
                "(objectClass=inetOrgPerson)",
                "(&(objectCategory=person)(objectClass=user))",
            ),
            username_attribute: s("uid", "sAMAccountName"),
            login_attributes: if ad {
                vec!["sAMAccountName".into(), "userPrincipalName".into()]
            } else {
                vec!["uid".into(), "mail".into()]
            },
            display_name_attribute: s("cn", "displayName"),
            first_name_attribute: "givenName".into(),
            last_name_attribute: "sn".into(),
            email_attribute: "mail".into(),
            mobile_attribute: "mobile".into(),
            office_phone_attribute: "telephoneNumber".into(),
            group_base: String::new(),
            group_filter: s("(objectClass=groupOfNames)", "(objectClass=group)"),
            group_name_attribute: "cn".into(),
            member_attribute: "member".into(),
            openldap_write_mode: OpenLdapWriteMode::PasswordModify,
            pool_size: 4,
            connect_timeout_seconds: 5,
            operation_timeout_seconds: 10,
            page_size: 500,
            sync_interval_minutes: 60,
            status_probe_user: String::new(),
        }
    }

    /// Replaces the attribute and filter values still at the generic (OpenLDAP) defaults by
    /// those of the configured kind, so that `kind = "active_directory"` alone gets
    /// `sAMAccountName`, `(objectClass=group)` and so on.
    pub fn apply_kind_defaults(&mut self) {
        let generic = Self::for_kind(DirectoryKind::Openldap);
        let mine = Self::for_kind(self.kind);
        macro_rules! default_of_kind {
            ($($field:ident),+) => {$(
                if self.$field == generic.$field {
                    self.$field = mine.$field.clone();
                }
            )+};
        }
        default_of_kind!(
            user_filter,
            username_attribute,
            login_attributes,
            display_name_attribute,
            group_filter
        );
    }

    /// What is wrong with the settings, for `sspr config check`; empty when fine.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.kind == DirectoryKind::None {
            return out;
        }
        if !(self.url.starts_with("ldaps://") || self.url.starts_with("ldap://")) {
            out.push("directory.url must start with ldaps:// or ldap://".into());
        }
        if self.url.starts_with("ldap://") && !self.starttls {
            out.push(
                "directory.url is ldap:// with starttls = false: passwords would cross the \
                 network in the clear; use ldaps:// or StartTLS"
                    .into(),
            );
        }
        for (key, value) in [
            ("bind_dn", &self.bind_dn),
            ("user_base", &self.user_base),
            ("username_attribute", &self.username_attribute),
        ] {
            if value.trim().is_empty() {
                out.push(format!("directory.{key} is required"));
            }
        }
        if self.bind_password.is_none() && self.bind_password_file.is_none() {
            out.push("directory.bind_password or directory.bind_password_file is required".into());
        }
        if self.login_attributes.is_empty() {
            out.push("directory.login_attributes needs at least one attribute".into());
        }
        if self.pool_size == 0 {
            out.push("directory.pool_size must be at least 1".into());
        }
        if self.operation_timeout_seconds == 0 || self.connect_timeout_seconds == 0 {
            out.push("directory timeouts must be at least 1 second".into());
        }
        if !(1..=10_000).contains(&self.page_size) {
            out.push("directory.page_size must be between 1 and 10000".into());
        }
        out
    }
}
