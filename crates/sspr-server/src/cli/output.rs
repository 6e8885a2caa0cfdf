//! How the CLI shows users and groups: aligned text for people, JSON (`--json`) for scripts.

use serde::Serialize;
use sspr_core::{Group, User};

#[derive(Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub alternate_email: Option<String>,
    pub mobile_phone: Option<String>,
    pub office_phone: Option<String>,
    pub roles: Vec<String>,
    pub enabled: bool,
    pub source: String,
    pub locked: bool,
    pub admin_locked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<time::OffsetDateTime>,
    pub has_password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub password_changed_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl UserView {
    pub fn of(u: &User) -> Self {
        let now = time::OffsetDateTime::now_utc();
        Self {
            id: u.id.to_string(),
            username: u.username.to_string(),
            display_name: u.display_name.to_string(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.as_ref().map(ToString::to_string),
            alternate_email: u.alternate_email.as_ref().map(ToString::to_string),
            mobile_phone: u.mobile_phone.as_ref().map(ToString::to_string),
            office_phone: u.office_phone.as_ref().map(ToString::to_string),
            roles: u.roles.iter().map(|r| r.to_string()).collect(),
            enabled: u.enabled,
            source: u.source.as_str().into(),
            locked: u.is_locked(now),
            admin_locked: u.admin_locked,
            locked_until: u.lockout.locked_until.filter(|t| *t > now),
            has_password: u.password_hash.is_some(),
            password_changed_at: u.password_changed_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl GroupView {
    pub fn of(g: &Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.to_string(),
            description: g.description.clone(),
            created_at: g.created_at,
        }
    }
}

pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("views always serialise")
    );
}

/// Prints rows as left-aligned columns under a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}
