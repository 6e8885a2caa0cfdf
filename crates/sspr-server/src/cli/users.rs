//! `sspr user …`

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand};
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::Store;
use sspr_core::service::passwords::{SetBy, SetPasswordError, set_password};
use sspr_core::{AdminRole, DisplayName, EmailAddress, NewUser, PhoneNumber, User, Username};

use super::output::{UserView, print_json, print_table};
use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a cloud-only user. The password is asked for (or read from standard input with
    /// --password-stdin); without --set-password the user has none until one is set.
    Add(AddArgs),
    /// List users, optionally filtered by a search over username and display name.
    List {
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one user (never their password hash).
    Show {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password. The password policy and history apply.
    SetPassword {
        username: String,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lock an account until an administrator unlocks it.
    Lock { username: String },
    /// Unlock an account (clears an administrator lock and smart lockout).
    Unlock { username: String },
    /// Delete a user with their sessions and group memberships.
    Delete {
        username: String,
        /// Required: deleting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub username: String,
    #[arg(long)]
    pub display_name: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub alternate_email: Option<String>,
    /// Mobile phone in international form, e.g. +44 7700 900123.
    #[arg(long)]
    pub mobile_phone: Option<String>,
    #[arg(long)]
    pub office_phone: Option<String>,
    /// An admin role (repeatable): global_admin, password_admin, helpdesk_admin, user_admin,
    /// reports_reader.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Create the account disabled.
    #[arg(long)]
    pub disabled: bool,
    /// Also set a password (asked for, or read from standard input with --password-stdin).
    #[arg(long)]
    pub set_password: bool,
    #[arg(long)]
    pub password_stdin: bool,
}

fn optional<T>(
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, sspr_core::ParseError>,
) -> Result<Option<T>, Failure> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .map_err(|e| fail(format!("--{field}: {e}"))),
    }
}

fn short_name(field: &str, raw: Option<&str>) -> Result<Option<String>, Failure> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > 64 || v.chars().any(char::is_control) => Err(fail(format!(
            "--{field}: at most 64 characters, no control characters"
        ))),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Reads a password: from stdin when asked to or when stdin is not a terminal, else by a
/// no-echo prompt (asked twice).
pub fn read_password(from_stdin: bool) -> Result<String, Failure> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\n', '\r']).to_owned();
        if pw.is_empty() {
            return Err(fail("no password was given on standard input"));
        }
        return Ok(pw);
    }
    let first = rpassword::prompt_password("New password: ")?;
    let second = rpassword::prompt_password("Repeat it: ")?;
    if first != second {
        return Err(fail("the two passwords differ"));
    }
    Ok(first)
}

pub async fn find(store: &dyn Store, raw: &str) -> Result<User, Failure> {
    let name = Username::parse(raw).map_err(|e| fail(format!("{raw:?}: {e}")))?;
    store
        .find_user(&name)
        .await?
        .ok_or_else(|| fail(format!("no user named {name}")))
}

pub fn roles(raw: &[String]) -> Result<BTreeSet<AdminRole>, Failure> {
    raw.iter()
        .flat_map(|r| r.split(','))
        .filter(|r| !r.trim().is_empty())
        .map(|r| AdminRole::parse(r).map_err(|e| fail(format!("--role: {e}"))))
        .collect()
}

pub fn policy_failure(e: SetPasswordError) -> Failure {
    match e {
        SetPasswordError::Policy(problems) => fail(format!(
            "the password was not accepted: {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => fail(other.to_string()),
    }
}

pub async fn run(loaded: &Loaded, command: UserCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let actor = cli_actor();
    match command {
        UserCommand::Add(a) => {
            let username =
                Username::parse(&a.username).map_err(|e| fail(format!("username: {e}")))?;
            let display_name = DisplayName::parse(&a.display_name)
                .map_err(|e| fail(format!("--display-name: {e}")))?;
            let mut user = NewUser::cloud(username, display_name);
            user.first_name = short_name("first-name", a.first_name.as_deref())?;
            user.last_name = short_name("last-name", a.last_name.as_deref())?;
            user.email = optional("email", a.email.as_deref(), EmailAddress::parse)?;
            user.alternate_email = optional(
                "alternate-email",
                a.alternate_email.as_deref(),
                EmailAddress::parse,
            )?;
            user.mobile_phone = optional(
                "mobile-phone",
                a.mobile_phone.as_deref(),
                PhoneNumber::parse,
            )?;
            user.office_phone = optional(
                "office-phone",
                a.office_phone.as_deref(),
                PhoneNumber::parse,
            )?;
            user.roles = roles(&a.roles)?;
            user.enabled = !a.disabled;
            let password = if a.set_password || a.password_stdin {
                Some(read_password(a.password_stdin)?)
            } else {
                None
            };
            let rules = super::rules::Rules::load(loaded, &store).await?;
            if let Some(pw) = &password {
                // Check before creating the user, so a refused password creates nothing.
                let problems = rules.rules().check(pw, None);
                if !problems.is_empty() {
                    return Err(policy_failure(SetPasswordError::Policy(problems)));
                }
            }
            let audit = AuditEvent::new(events::ADD_USER, Outcome::Success)
                .actor(&actor)
                .target(user.username.as_str())
                .details(serde_json::json!({
                    "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "enabled": user.enabled,
                }));
            let created = store.create_user(&user, &audit).await?;
            if let Some(pw) = password {
                let pool = crate::app::hash_pool(loaded)?;
                let audit = AuditEvent::new(events::ADMIN_RESET_PASSWORD, Outcome::Success)
                    .actor(&actor)
                    .target(created.username.as_str());
                set_password(
                    &store,
                    &pool,
                    &rules.rules(),
                    &created,
                    &pw,
                    SetBy::OnBehalf,
                    &audit,
                )
                .await
                .map_err(policy_failure)?;
            }
            println!("created user {} ({})", created.username, created.id);
            Ok(())
        }
        UserCommand::List {
            search,
            limit,
            offset,
            json,
        } => {
            let users = store
                .list_users(search.as_deref(), offset, limit.clamp(1, 10_000))
                .await?;
            if json {
                print_json(&users.iter().map(UserView::of).collect::<Vec<_>>());
            } else {
                let now = time::OffsetDateTime::now_utc();
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.username.to_string(),
                            u.display_name.to_string(),
                            u.roles
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                            if u.enabled { "enabled" } else { "disabled" }.into(),
                            if u.is_locked(now) { "locked" } else { "" }.into(),
                        ]
                    })
                    .collect();
                print_table(
                    &["USERNAME", "DISPLAY NAME", "ROLES", "STATE", "LOCK"],
                    &rows,
                );
            }
            Ok(())
        }
        UserCommand::Show { username, json } => {
            let user = find(&store, &username).await?;
            let view = UserView::of(&user);
            if json {
                print_json(&view);
            } else {
                let value = serde_json::to_value(&view)?;
                for (k, v) in value.as_object().into_iter().flatten() {
                    let shown = match v {
                        serde_json::Value::Null => "-".to_owned(),
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("{:<20} {shown}", k.replace('_', " "));
                }
            }
            Ok(())
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let user = find(&store, &username).await?;
            let password = read_password(password_stdin)?;
            let pool = crate::app::hash_pool(loaded)?;
            let audit = AuditEvent::new(events::ADMIN_RESET_PASSWORD, Outcome::Success)
                .actor(&actor)
                .target(user.username.as_str());
            let rules = super::rules::Rules::load(loaded, &store).await?;
            set_password(
                &store,
                &pool,
                &rules.rules(),
                &user,
                &password,
                SetBy::OnBehalf,
                &audit,
            )
            .await
            .map_err(policy_failure)?;
            println!("password set for {}", user.username);
            Ok(())
        }
        UserCommand::Lock { username } => {
            let user = find(&store, &username).await?;
            let audit = AuditEvent::new(events::ADMIN_LOCK, Outcome::Success)
                .actor(&actor)
                .target(user.username.as_str());
            store.set_admin_locked(user.id, true, &audit).await?;
            println!("locked {}", user.username);
            Ok(())
        }
        UserCommand::Unlock { username } => {
            let user = find(&store, &username).await?;
            let audit = AuditEvent::new(events::ADMIN_UNLOCK, Outcome::Success)
                .actor(&actor)
                .target(user.username.as_str());
            store.set_admin_locked(user.id, false, &audit).await?;
            println!("unlocked {}", user.username);
            Ok(())
        }
        UserCommand::Delete { username, yes } => {
            let user = find(&store, &username).await?;
            if !yes {
                return Err(fail(format!(
                    "deleting {} cannot be undone; repeat with --yes",
                    user.username
                )));
            }
            let audit = AuditEvent::new(events::DELETE_USER, Outcome::Success)
                .actor(&actor)
                .target(user.username.as_str());
            store.delete_user(user.id, &audit).await?;
            println!("deleted {}", user.username);
            Ok(())
        }
    }
}
