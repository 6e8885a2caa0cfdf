//! `sspr token …`: API tokens for scripts (SPEC §9.1). The CLI runs with the operator's
//! access to the database and configuration, so it may create a token of any role — as the
//! first global-admin token is made before anyone can call the API.

use clap::Subcommand;
use sspr_core::AdminRole;
use sspr_core::ports::Store;
use sspr_core::service::api_tokens::{self, TokenError};

use super::output::{print_json, print_table};
use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and cannot be shown again.
    Create {
        #[arg(long)]
        name: String,
        /// The one admin role the token acts with: global_admin, password_admin,
        /// helpdesk_admin, user_admin or reports_reader.
        #[arg(long)]
        role: String,
        /// Days until it expires (1–3650); without it, it lives until revoked.
        #[arg(long)]
        expires_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
}

fn when(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_else(|| "-".into())
}

pub async fn run(loaded: &Loaded, command: TokenCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let now = time::OffsetDateTime::now_utc();
    match command {
        TokenCommand::Create {
            name,
            role,
            expires_days,
            json,
        } => {
            let role = AdminRole::parse(&role).map_err(|e| fail(format!("--role: {e}")))?;
            let issued = api_tokens::issue(&store, &name, role, expires_days, &cli_actor(), now)
                .await
                .map_err(|e| match e {
                    TokenError::Invalid(m) => fail(m),
                    TokenError::Store(s) => Failure::from(s),
                })?;
            if json {
                print_json(&serde_json::json!({
                    "token": issued.secret,
                    "id": issued.token.id,
                    "name": issued.token.name,
                    "role": issued.token.role,
                    "expires_at": when(issued.token.expires_at),
                }));
            } else {
                println!("{}", issued.secret);
                eprintln!(
                    "token {} ({}, {}) created; it is shown only this once",
                    issued.token.id, issued.token.name, issued.token.role
                );
            }
            Ok(())
        }
        TokenCommand::List { json } => {
            let tokens = store.list_api_tokens().await?;
            if json {
                print_json(&tokens);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.role.to_string(),
                        if t.is_live(now) { "live" } else { "dead" }.into(),
                        when(Some(t.created_at)),
                        when(t.expires_at),
                        when(t.revoked_at),
                        when(t.last_used_at),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "NAME",
                    "ROLE",
                    "STATE",
                    "CREATED",
                    "EXPIRES",
                    "REVOKED",
                    "LAST USED",
                ],
                &rows,
            );
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            if api_tokens::revoke(&store, id.trim(), &cli_actor(), now).await? {
                println!("token {id} revoked");
                Ok(())
            } else {
                Err(fail(format!("no live token with id {id}")))
            }
        }
    }
}
