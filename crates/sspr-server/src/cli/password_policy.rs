//! `sspr password-policy show|set` and `sspr banned-terms list|add|remove`: the password
//! protection settings of SPEC §3, stored in the database and audited on change.

use clap::Subcommand;
use serde_json::Value;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::ports::Store;
use sspr_core::service::passwords::{PasswordPolicyUpdateError, update_password_policy};

use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum PasswordPolicyCommand {
    /// Show the password policy (the custom banned terms are listed by `sspr banned-terms list`).
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Change settings, e.g. `sspr password-policy set min_length=12 history=5
    /// require_three_classes=true check_breached=true enforce_custom_list=true`.
    Set {
        #[arg(required = true, value_name = "NAME=VALUE")]
        settings: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BannedTermsCommand {
    /// List the custom banned terms.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add terms (4–16 characters each, at most 1000 in all; case-insensitive duplicates are
    /// dropped). Common substitutions such as 0 for o and @ for a are matched automatically.
    Add {
        #[arg(required = true)]
        terms: Vec<String>,
    },
    /// Remove terms (case-insensitive).
    Remove {
        #[arg(required = true)]
        terms: Vec<String>,
    },
}

async fn store_policy(store: &dyn Store, policy: &PasswordPolicy) -> Result<Vec<String>, Failure> {
    match update_password_policy(store, policy, &cli_actor()).await {
        Ok(changes) => Ok(changes),
        Err(PasswordPolicyUpdateError::Invalid(errors)) => Err(fail(format!(
            "the password policy was not changed:\n{}",
            errors
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn run_policy(loaded: &Loaded, command: PasswordPolicyCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let current = store.password_policy().await?;
    match command {
        PasswordPolicyCommand::Show { json } => {
            let mut v = serde_json::to_value(&current)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let terms = current.custom_banned_terms.len();
                v["custom_banned_terms"] = Value::String(format!("{terms} terms"));
                for (k, val) in v.as_object().into_iter().flatten() {
                    let text = val.as_str().map_or_else(|| val.to_string(), str::to_owned);
                    println!("{k:<24} {text}");
                }
            }
            Ok(())
        }
        PasswordPolicyCommand::Set { settings } => {
            let mut v = serde_json::to_value(&current)?;
            let obj = v.as_object_mut().expect("the policy is an object");
            for pair in &settings {
                let (name, raw) = pair
                    .split_once('=')
                    .ok_or_else(|| fail(format!("{pair:?}: expected NAME=VALUE")))?;
                let (name, raw) = (name.trim(), raw.trim());
                if name == "custom_banned_terms" {
                    return Err(fail(
                        "use `sspr banned-terms add|remove` for the custom banned terms",
                    ));
                }
                let Some(old) = obj.get(name) else {
                    return Err(fail(format!(
                        "unknown setting {name:?}; the settings are: {}",
                        obj.keys()
                            .filter(|k| *k != "custom_banned_terms")
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                let new = match old {
                    Value::Bool(_) => match raw {
                        "true" | "yes" | "on" => Value::Bool(true),
                        "false" | "no" | "off" => Value::Bool(false),
                        _ => {
                            return Err(fail(format!(
                                "{name}: expected true or false, got {raw:?}"
                            )));
                        }
                    },
                    _ => Value::Number(
                        raw.parse::<u64>()
                            .map_err(|_| {
                                fail(format!("{name}: expected a whole number, got {raw:?}"))
                            })?
                            .into(),
                    ),
                };
                obj.insert(name.to_owned(), new);
            }
            let new: PasswordPolicy =
                serde_json::from_value(v).map_err(|e| fail(format!("invalid value: {e}")))?;
            let changes = store_policy(&store, &new).await?;
            if changes.is_empty() {
                println!("no change");
            }
            for c in changes {
                println!("changed {c}");
            }
            Ok(())
        }
    }
}

pub async fn run_terms(loaded: &Loaded, command: BannedTermsCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let mut policy = store.password_policy().await?;
    match command {
        BannedTermsCommand::List { json } => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&policy.custom_banned_terms)?
                );
            } else {
                for t in &policy.custom_banned_terms {
                    println!("{t}");
                }
                eprintln!(
                    "{} custom banned terms (enforced: {})",
                    policy.custom_banned_terms.len(),
                    policy.enforce_custom_list
                );
            }
            Ok(())
        }
        BannedTermsCommand::Add { terms } => {
            let before = policy.custom_banned_terms.len();
            policy.custom_banned_terms.extend(terms);
            store_policy(&store, &policy).await?;
            let after = store.password_policy().await?.custom_banned_terms.len();
            println!(
                "{} terms added; {after} custom banned terms in all",
                after - before
            );
            Ok(())
        }
        BannedTermsCommand::Remove { terms } => {
            let remove: Vec<String> = terms.iter().map(|t| t.trim().to_lowercase()).collect();
            let before = policy.custom_banned_terms.len();
            policy
                .custom_banned_terms
                .retain(|t| !remove.contains(&t.to_lowercase()));
            let removed = before - policy.custom_banned_terms.len();
            if removed == 0 {
                return Err(fail("none of these terms is on the list"));
            }
            store_policy(&store, &policy).await?;
            println!(
                "{removed} terms removed; {} custom banned terms in all",
                policy.custom_banned_terms.len()
            );
            Ok(())
        }
    }
}
