//! `sspr import users.csv`: bulk creation of cloud-only users.
//!
//! Columns (header row required, any order): `username`, `display_name` (both required),
//! `first_name`, `last_name`, `email`, `alternate_email`, `mobile_phone`, `office_phone`,
//! `roles` and `groups` (separated by `;`), `enabled` (true/false, default true), `password`.
//! Every row is checked before anything is written; one bad row means nothing is imported.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use clap::Args;
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{Member, PasswordHasher, Store};
use sspr_core::{
    AdminRole, DisplayName, EmailAddress, GroupId, GroupName, NewUser, PhoneNumber, Username,
};

use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, comma-separated, with a header row).
    pub file: PathBuf,
    /// Check every row and report, but import nothing.
    #[arg(long)]
    pub dry_run: bool,
}

const COLUMNS: &[&str] = &[
    "username",
    "display_name",
    "first_name",
    "last_name",
    "email",
    "alternate_email",
    "mobile_phone",
    "office_phone",
    "roles",
    "groups",
    "enabled",
    "password",
];

struct Row {
    user: NewUser,
    groups: Vec<GroupId>,
    password: Option<String>,
}

/// Parses one data row into a user, or says everything wrong with it.
fn parse_row(
    get: &dyn Fn(&str) -> Option<String>,
    groups: &HashMap<String, GroupId>,
    rules: &sspr_core::service::passwords::PasswordRules<'_>,
) -> Result<Row, Vec<String>> {
    let mut errors = Vec::new();
    let field = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let username = match field("username") {
        None => {
            errors.push("username is empty".to_owned());
            None
        }
        Some(v) => Username::parse(&v)
            .map_err(|e| errors.push(format!("username: {e}")))
            .ok(),
    };
    let display_name = match field("display_name") {
        None => {
            errors.push("display_name is empty".to_owned());
            None
        }
        Some(v) => DisplayName::parse(&v)
            .map_err(|e| errors.push(format!("display_name: {e}")))
            .ok(),
    };
    let mut opt = |name: &str, parse: &dyn Fn(&str) -> Result<(), String>| -> Option<String> {
        let v = field(name)?;
        match parse(&v) {
            Ok(()) => Some(v),
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                None
            }
        }
    };
    let names = |v: &str| {
        if v.chars().count() > 64 || v.chars().any(char::is_control) {
            Err("at most 64 characters, no control characters".to_owned())
        } else {
            Ok(())
        }
    };
    let first_name = opt("first_name", &names);
    let last_name = opt("last_name", &names);
    let email = opt("email", &|v| {
        EmailAddress::parse(v)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let alternate_email = opt("alternate_email", &|v| {
        EmailAddress::parse(v)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mobile = opt("mobile_phone", &|v| {
        PhoneNumber::parse(v).map(|_| ()).map_err(|e| e.to_string())
    });
    let office = opt("office_phone", &|v| {
        PhoneNumber::parse(v).map(|_| ()).map_err(|e| e.to_string())
    });
    let mut roles = std::collections::BTreeSet::new();
    for r in field("roles")
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        match AdminRole::parse(r) {
            Ok(role) => {
                roles.insert(role);
            }
            Err(e) => errors.push(format!("roles: {e}")),
        }
    }
    let mut member_of = Vec::new();
    for g in field("groups")
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        match GroupName::parse(g)
            .ok()
            .and_then(|n| groups.get(&n.as_str().to_lowercase()))
        {
            Some(id) => member_of.push(*id),
            None => errors.push(format!("groups: no group named {g:?}")),
        }
    }
    let enabled = match field("enabled")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("true") | Some("yes") | Some("1") => true,
        Some("false") | Some("no") | Some("0") => false,
        Some(other) => {
            errors.push(format!("enabled: expected true or false, got {other:?}"));
            true
        }
    };
    // Passwords are taken exactly as written (no trimming): spaces may be part of them.
    let password = get("password").filter(|p| !p.is_empty());
    if let Some(pw) = &password {
        // The row's own names count against the password, as they will for the user.
        let local = username
            .as_ref()
            .map(|u| u.as_str().split('@').next().unwrap_or("").to_owned());
        let names: Vec<&str> = [&first_name, &last_name, &local]
            .into_iter()
            .filter_map(|n| n.as_deref())
            .collect();
        let problems = rules.check_with_names(pw, &names);
        if !problems.is_empty() {
            errors.push(format!(
                "password: {}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    match (username, display_name) {
        (Some(username), Some(display_name)) if errors.is_empty() => {
            let mut user = NewUser::cloud(username, display_name);
            user.first_name = first_name;
            user.last_name = last_name;
            user.email = email.and_then(|v| EmailAddress::parse(&v).ok());
            user.alternate_email = alternate_email.and_then(|v| EmailAddress::parse(&v).ok());
            user.mobile_phone = mobile.and_then(|v| PhoneNumber::parse(&v).ok());
            user.office_phone = office.and_then(|v| PhoneNumber::parse(&v).ok());
            user.roles = roles;
            user.enabled = enabled;
            Ok(Row {
                user,
                groups: member_of,
                password,
            })
        }
        _ => Err(errors),
    }
}

pub async fn run(loaded: &Loaded, args: ImportArgs) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| fail(format!("{}: {e}", args.file.display())))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            fail(format!(
                "{}: cannot read the header row: {e}",
                args.file.display()
            ))
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            return Err(fail(format!(
                "line 1: unknown column {h:?}; the columns are {}",
                COLUMNS.join(", ")
            )));
        }
    }
    for required in ["username", "display_name"] {
        if !headers.iter().any(|h| h == required) {
            return Err(fail(format!("line 1: the column {required:?} is missing")));
        }
    }
    let groups: HashMap<String, GroupId> = store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| (g.name.as_str().to_lowercase(), g.id))
        .collect();
    let owned_rules = super::rules::Rules::load(loaded, &store).await?;
    let rules = owned_rules.rules();
    let mut rows: Vec<Row> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(str::to_owned)
        };
        match parse_row(&get, &groups, &rules) {
            Ok(row) => {
                let name = row.user.username.to_string();
                if let Some(first) = seen.insert(name.clone(), line) {
                    problems.push(format!(
                        "line {line}: username {name} is already on line {first}"
                    ));
                } else if store.find_user(&row.user.username).await?.is_some() {
                    problems.push(format!("line {line}: a user named {name} already exists"));
                } else {
                    rows.push(row);
                }
            }
            Err(errors) => {
                for e in errors {
                    problems.push(format!("line {line}: {e}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "nothing was imported; fix these rows and try again:\n{}",
            problems.join("\n")
        )));
    }
    if rows.is_empty() {
        return Err(fail("the file has no user rows; nothing was imported"));
    }
    if args.dry_run {
        println!(
            "{} rows are valid; nothing was imported (--dry-run)",
            rows.len()
        );
        return Ok(());
    }
    if rows.iter().any(|r| r.password.is_some()) {
        let pool = crate::app::hash_pool(loaded)?;
        for row in &mut rows {
            if let Some(pw) = row.password.take() {
                // Waits for a free worker rather than failing: this is batch work.
                let hash = loop {
                    match pool.hash(&pw).await {
                        Err(sspr_core::ports::HashError::Busy) => tokio::task::yield_now().await,
                        other => break other?,
                    }
                };
                row.user.password_hash = Some(hash);
            }
        }
    }
    let actor = cli_actor();
    let users: Vec<NewUser> = rows.iter().map(|r| r.user.clone()).collect();
    let audit = AuditEvent::new(events::IMPORT_USERS, Outcome::Success)
        .actor(&actor)
        .target(args.file.display().to_string())
        .details(serde_json::json!({ "users": users.len() }));
    store.create_users(&users, &audit).await?;
    let mut memberships = 0;
    let mut done: HashSet<(GroupId, sspr_core::UserId)> = HashSet::new();
    for row in &rows {
        for g in &row.groups {
            if done.insert((*g, row.user.id)) {
                let audit = AuditEvent::new(events::ADD_MEMBER, Outcome::Success)
                    .actor(&actor)
                    .target(g.to_string())
                    .details(
                        serde_json::json!({ "member": format!("user {}", row.user.username) }),
                    );
                store
                    .add_member(*g, Member::User(row.user.id), &audit)
                    .await?;
                memberships += 1;
            }
        }
    }
    println!(
        "imported {} users ({} group memberships)",
        users.len(),
        memberships
    );
    Ok(())
}
