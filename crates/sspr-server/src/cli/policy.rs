//! `sspr policy show|set`: the SSPR policy of SPEC §2.

use clap::Subcommand;
use serde_json::Value;
use sspr_core::SsprPolicy;
use sspr_core::ports::Store;
use sspr_core::service::policy_admin::{PolicyUpdateError, update_policy};

use super::{Failure, cli_actor, fail, groups};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show the policy.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Change settings, e.g. `sspr policy set enablement=selected target_group=SSPR-Users
    /// methods_required=2 methods_enabled=email,authenticator_code helpdesk=https://help.example.org`.
    /// All settings are checked before anything is stored; the change is audited.
    Set {
        /// NAME=VALUE pairs. Lists are comma-separated; `target_group` takes a group name;
        /// `helpdesk` takes off, a URL or an email address.
        #[arg(required = true, value_name = "NAME=VALUE")]
        settings: Vec<String>,
    },
}

/// The policy as shown: the target group by name rather than by id.
async fn shown(store: &dyn Store, policy: &SsprPolicy) -> Result<Value, Failure> {
    let mut v = serde_json::to_value(policy)?;
    if let Some(id) = policy.target_group {
        let name = store
            .get_group(id)
            .await?
            .map(|g| g.name.to_string())
            .unwrap_or_else(|| format!("(deleted group {id})"));
        v["target_group"] = Value::String(name);
    }
    v["helpdesk"] = Value::String(match &policy.helpdesk {
        sspr_core::HelpdeskLink::Off => "off".into(),
        sspr_core::HelpdeskLink::Url(u) => u.clone(),
        sspr_core::HelpdeskLink::Email(e) => e.clone(),
    });
    Ok(v)
}

/// Applies NAME=VALUE pairs to the policy's JSON form, so that every field keeps its type
/// checks and its public name.
async fn apply(
    store: &dyn Store,
    current: &SsprPolicy,
    pairs: &[String],
) -> Result<SsprPolicy, Failure> {
    let mut v = serde_json::to_value(current)?;
    let obj = v.as_object_mut().expect("the policy is an object");
    for pair in pairs {
        let (name, raw) = pair
            .split_once('=')
            .ok_or_else(|| fail(format!("{pair:?}: expected NAME=VALUE")))?;
        let name = name.trim();
        let raw = raw.trim();
        let Some(old) = obj.get(name).cloned() else {
            let known: Vec<&String> = obj.keys().collect();
            return Err(fail(format!(
                "unknown setting {name:?}; the settings are: {}",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let new = match name {
            "target_group" => {
                if raw.is_empty() || raw == "none" {
                    Value::Null
                } else {
                    Value::String(groups::find(store, raw).await?.id.to_string())
                }
            }
            // Branding: empty or `none` falls back to the configuration's value.
            "organisation_name" | "logo_url" | "brand_colour"
                if raw.is_empty() || raw == "none" =>
            {
                Value::Null
            }
            "helpdesk" => {
                if raw == "off" || raw.is_empty() {
                    serde_json::json!({"kind": "off"})
                } else if raw.starts_with("http://") || raw.starts_with("https://") {
                    serde_json::json!({"kind": "url", "value": raw})
                } else {
                    serde_json::json!({"kind": "email", "value": raw.trim_start_matches("mailto:")})
                }
            }
            _ => match old {
                Value::Array(_) => Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                ),
                Value::Bool(_) => match raw {
                    "true" | "yes" | "on" => Value::Bool(true),
                    "false" | "no" | "off" => Value::Bool(false),
                    _ => return Err(fail(format!("{name}: expected true or false, got {raw:?}"))),
                },
                Value::Number(_) => Value::Number(
                    raw.parse::<u64>()
                        .map_err(|_| fail(format!("{name}: expected a whole number, got {raw:?}")))?
                        .into(),
                ),
                _ => Value::String(raw.to_owned()),
            },
        };
        obj.insert(name.to_owned(), new);
    }
    serde_json::from_value(v).map_err(|e| fail(format!("invalid value: {e}")))
}

pub async fn run(loaded: &Loaded, command: PolicyCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    match command {
        PolicyCommand::Show { json } => {
            let policy = store.policy().await?;
            let v = shown(&store, &policy).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for (k, val) in v.as_object().into_iter().flatten() {
                    let text = match val {
                        Value::Null => "-".to_owned(),
                        Value::String(s) => s.clone(),
                        Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", "),
                        other => other.to_string(),
                    };
                    println!("{k:<30} {text}");
                }
            }
            Ok(())
        }
        PolicyCommand::Set { settings } => {
            let current = store.policy().await?;
            let new = apply(&store, &current, &settings).await?;
            match update_policy(&store, &new, &cli_actor()).await {
                Ok(changes) if changes.is_empty() => {
                    println!("no change");
                    Ok(())
                }
                Ok(changes) => {
                    for (k, _, _) in &changes {
                        println!("changed {k}");
                    }
                    Ok(())
                }
                Err(PolicyUpdateError::Invalid(errors)) => Err(fail(format!(
                    "the policy was not changed:\n{}",
                    errors
                        .iter()
                        .map(|e| format!("  {}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("\n")
                ))),
                Err(e) => Err(e.into()),
            }
        }
    }
}
