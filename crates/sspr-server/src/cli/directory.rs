//! `sspr directory sync|status`: the on-premises directory (SPEC §7).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use clap::Subcommand;
use sspr_core::ports::{Check, DirectoryAccounts};
use sspr_directory::ldap::{SyncMode, SyncReport};

use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Import users, groups and contact data from the directory now. Incremental (entries
    /// changed since the last sync) unless --full or there was no sync yet; only a full sync
    /// notices deleted entries and disables their users.
    Sync {
        #[arg(long)]
        full: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check writeback: the directory is reachable, the service account binds, a test write
    /// works (with `directory.status_probe_user`). Exit status 1 when a check failed.
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(loaded: &Loaded, command: DirectoryCommand) -> Result<(), Failure> {
    let Some(directory) = crate::app::directory(loaded)? else {
        return Err(fail(
            "no directory is configured: set [directory] kind, url, bind_dn and user_base \
             (docs/directories.md)",
        ));
    };
    match command {
        DirectoryCommand::Sync { full, json } => {
            let store = crate::app::open_store(loaded).await?;
            let tty = std::io::stderr().is_terminal();
            let started = Instant::now();
            let progress = move |read: u64| {
                if tty {
                    eprint!(
                        "\rread {read} entries ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                    let _ = std::io::stderr().flush();
                }
            };
            let mode = if full {
                SyncMode::Full
            } else {
                SyncMode::Incremental
            };
            let report = directory
                .sync(&store, mode, &cli_actor(), &progress)
                .await
                .map_err(|e| fail(format!("directory sync failed: {e}")))?;
            if tty {
                eprintln!();
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&report, started.elapsed().as_secs_f64());
            }
            Ok(())
        }
        DirectoryCommand::Status { json } => {
            let status = directory.status().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("directory: {}", status.directory);
                for (name, check) in [
                    ("reachable", &status.reachable),
                    ("bind", &status.bind),
                    ("test write", &status.write),
                ] {
                    match check {
                        Check::Ok => println!("  {name:<10}  ok"),
                        Check::Failed { error } => println!("  {name:<10}  FAILED: {error}"),
                        Check::Skipped { why } => println!("  {name:<10}  not checked: {why}"),
                    }
                }
            }
            if status.healthy() {
                Ok(())
            } else {
                Err(fail("writeback does not work (see above)"))
            }
        }
    }
}

fn print_report(r: &SyncReport, seconds: f64) {
    let mode = match r.mode {
        Some(SyncMode::Full) => "full",
        _ => "incremental",
    };
    println!("{mode} sync done in {seconds:.1} s");
    println!("  entries read     {}", r.read);
    println!("  users created    {}", r.created);
    println!("  users updated    {}", r.updated);
    println!("  unchanged        {}", r.unchanged);
    println!("  removed          {}", r.removed);
    println!("  name conflicts   {}", r.conflicts);
    println!("  skipped          {}", r.skipped);
    for example in &r.skipped_examples {
        println!("    {example}");
    }
    println!("  bad contact data {}", r.invalid_contacts);
    println!("  groups           {}", r.groups);
}
