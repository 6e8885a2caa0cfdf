//! On-premises directories (SPEC §7): OpenLDAP-compatible servers and Active Directory.
//!
//! * [`settings`]: the `[directory]` configuration;
//! * [`pool`]: TLS, the service account and a bounded connection pool with timeouts;
//! * [`entry`]: user entries and the (RFC 4515-escaped) filters that find exactly one;
//! * [`controls`]: the ppolicy and LDAP_SERVER_POLICY_HINTS controls;
//! * [`errors`]: ppolicy codes and AD's `0000052D` / `data 775` mapped to clear messages;
//! * [`connector`]: password writeback, lock state, unlock, bind and writeback status;
//! * [`sync`]: paged import of users and groups, full or incremental.

pub mod connector;
pub mod controls;
pub mod entry;
pub mod errors;
pub mod pool;
pub mod settings;
pub mod sync;

pub use connector::{LdapDirectory, PasswordWrite, unicode_pwd};
pub use entry::DirectoryEntry;
pub use settings::{DirectoryKind, DirectorySettings, OpenLdapWriteMode};
pub use sync::{SyncError, SyncMode, SyncReport};
