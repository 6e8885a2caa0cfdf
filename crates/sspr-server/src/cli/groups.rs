//! `sspr group …`

use clap::{Args, Subcommand};
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{Member, Store};
use sspr_core::{Group, GroupId, GroupName, NewGroup};

use super::output::{GroupView, print_json, print_table};
use super::{Failure, cli_actor, fail, users};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List all groups.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a group and its direct members.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a user or a group to a group (nested groups count for SSPR scope).
    AddMember(MemberArgs),
    /// Remove a user or a group from a group.
    RemoveMember(MemberArgs),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "member")]
pub struct MemberSelector {
    /// The user to add or remove.
    #[arg(long, group = "member")]
    pub user: Option<String>,
    /// The group to add or remove.
    #[arg(long, group = "member")]
    pub group: Option<String>,
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    /// The group whose membership changes.
    pub name: String,
    #[command(flatten)]
    pub member: MemberSelector,
}

pub async fn find(store: &dyn Store, raw: &str) -> Result<Group, Failure> {
    let name = GroupName::parse(raw).map_err(|e| fail(format!("{raw:?}: {e}")))?;
    store
        .find_group(&name)
        .await?
        .ok_or_else(|| fail(format!("no group named {name}")))
}

async fn member(store: &dyn Store, sel: &MemberSelector) -> Result<(Member, String), Failure> {
    match (&sel.user, &sel.group) {
        (Some(u), None) => {
            let user = users::find(store, u).await?;
            Ok((Member::User(user.id), format!("user {}", user.username)))
        }
        (None, Some(g)) => {
            let group = find(store, g).await?;
            Ok((Member::Group(group.id), format!("group {}", group.name)))
        }
        _ => Err(fail("name exactly one of --user or --group")),
    }
}

pub async fn run(loaded: &Loaded, command: GroupCommand) -> Result<(), Failure> {
    let store = crate::app::open_store(loaded).await?;
    let actor = cli_actor();
    match command {
        GroupCommand::Add { name, description } => {
            let name = GroupName::parse(&name).map_err(|e| fail(format!("name: {e}")))?;
            if description.chars().count() > 1024 {
                return Err(fail("--description: at most 1024 characters"));
            }
            let audit = AuditEvent::new(events::ADD_GROUP, Outcome::Success)
                .actor(&actor)
                .target(name.as_str());
            let g = store
                .create_group(
                    &NewGroup {
                        id: GroupId::new(),
                        name,
                        description,
                    },
                    &audit,
                )
                .await?;
            println!("created group {} ({})", g.name, g.id);
            Ok(())
        }
        GroupCommand::List { json } => {
            let groups = store.list_groups().await?;
            if json {
                print_json(&groups.iter().map(GroupView::of).collect::<Vec<_>>());
            } else {
                let rows: Vec<Vec<String>> = groups
                    .iter()
                    .map(|g| vec![g.name.to_string(), g.description.clone()])
                    .collect();
                print_table(&["NAME", "DESCRIPTION"], &rows);
            }
            Ok(())
        }
        GroupCommand::Show { name, json } => {
            let g = find(&store, &name).await?;
            let mut users = Vec::new();
            let mut groups = Vec::new();
            for m in store.members(g.id).await? {
                match m {
                    Member::User(id) => {
                        if let Some(u) = store.get_user(id).await? {
                            users.push(u.username.to_string());
                        }
                    }
                    Member::Group(id) => {
                        if let Some(sub) = store.get_group(id).await? {
                            groups.push(sub.name.to_string());
                        }
                    }
                }
            }
            users.sort();
            groups.sort();
            if json {
                print_json(&serde_json::json!({
                    "group": GroupView::of(&g),
                    "member_users": users,
                    "member_groups": groups,
                }));
            } else {
                println!("name          {}", g.name);
                println!("id            {}", g.id);
                println!("description   {}", g.description);
                println!(
                    "member users  {}",
                    if users.is_empty() {
                        "-".into()
                    } else {
                        users.join(", ")
                    }
                );
                println!(
                    "member groups {}",
                    if groups.is_empty() {
                        "-".into()
                    } else {
                        groups.join(", ")
                    }
                );
            }
            Ok(())
        }
        GroupCommand::AddMember(args) => {
            let g = find(&store, &args.name).await?;
            let (m, label) = member(&store, &args.member).await?;
            let audit = AuditEvent::new(events::ADD_MEMBER, Outcome::Success)
                .actor(&actor)
                .target(g.name.as_str())
                .details(serde_json::json!({ "member": label }));
            store.add_member(g.id, m, &audit).await?;
            println!("added {label} to {}", g.name);
            Ok(())
        }
        GroupCommand::RemoveMember(args) => {
            let g = find(&store, &args.name).await?;
            let (m, label) = member(&store, &args.member).await?;
            let audit = AuditEvent::new(events::REMOVE_MEMBER, Outcome::Success)
                .actor(&actor)
                .target(g.name.as_str())
                .details(serde_json::json!({ "member": label }));
            if store.remove_member(g.id, m, &audit).await? {
                println!("removed {label} from {}", g.name);
                Ok(())
            } else {
                Err(fail(format!(
                    "{label} is not a direct member of {}",
                    g.name
                )))
            }
        }
    }
}
