//! Domain types. Values are parsed at the edge ("parse, don't validate"): once a `Username`,
//! `EmailAddress` or `PhoneNumber` exists, it is valid.

mod branding;
mod contact;
mod group;
mod locale;
mod method;
mod sspr_policy;
mod user;
mod username;

pub use branding::{Brand, BrandHandle, is_hex_colour, is_web_url};
pub use contact::{EmailAddress, PhoneNumber};
pub use group::{Group, GroupId, GroupName, NewGroup};
pub use locale::Locale;
pub use method::{MethodId, MethodType, RegisteredMethod};
pub use sspr_policy::{Enablement, FieldError, HelpdeskLink, SsprPolicy};
pub use user::{
    AdminRole, DisplayName, LockoutState, NewUser, PasswordHash, User, UserId, UserSource,
};
pub use username::Username;

/// A value failed to parse; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
