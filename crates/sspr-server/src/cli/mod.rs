//! The `sspr` command line.

mod audit;
mod breached;
mod demo;
mod directory;
mod groups;
mod import;
mod output;
mod password_policy;
mod policy;
mod rules;
mod tokens;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Loaded};

#[derive(Debug, Parser)]
#[command(
    name = "sspr",
    version,
    about = "Self-service password reset and account unlock",
    long_about = "sspr lets people who forgot their password, or are locked out, prove who they are \
                  and set a new password or unlock their account, without a helpdesk ticket.\n\n\
                  Configuration comes from a TOML file (--config or SSPR_CONFIG) and SSPR_* \
                  environment variables; run `sspr config check` to see the effective values."
)]
pub struct Cli {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', env = "SSPR_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (pages, JSON API, health and metrics endpoints).
    Serve,
    /// Try sspr at once: SQLite in a local folder, a seeded demo organisation, development
    /// delivery (messages at /dev/outbox). Nothing to set up.
    Demo(demo::DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage users of the built-in directory.
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Manage groups (groups may contain users and other groups).
    Group {
        #[command(subcommand)]
        command: groups::GroupCommand,
    },
    /// Show or change the self-service password reset policy.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Show or change the password policy (length, classes, history, password protection).
    PasswordPolicy {
        #[command(subcommand)]
        command: password_policy::PasswordPolicyCommand,
    },
    /// Manage the custom banned-password terms.
    BannedTerms {
        #[command(subcommand)]
        command: password_policy::BannedTermsCommand,
    },
    /// Import or inspect the breached-password corpus (e.g. Have I Been Pwned's SHA-1 list).
    Breached {
        #[command(subcommand)]
        command: breached::BreachedCommand,
    },
    /// Work with the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// The on-premises directory (LDAP / Active Directory): sync users and groups, check
    /// writeback.
    Directory {
        #[command(subcommand)]
        command: directory::DirectoryCommand,
    },
    /// Import users from a CSV file. Every row is checked first; if any row is bad, nothing
    /// is imported and each bad row is reported with its line number.
    Import(import::ImportArgs),
    /// API tokens for scripts calling the admin API (`Authorization: Bearer …`).
    Token {
        #[command(subcommand)]
        command: tokens::TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted), or say precisely what is wrong.
    Check,
}

/// What a command failed with: printed to stderr, exit code 1 (2 for bad configuration).
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
        }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 1,
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn load(cli_config: Option<&std::path::Path>) -> Result<Loaded, Failure> {
    config::load(cli_config).map_err(|e| Failure {
        message: e.to_string(),
        code: 2,
    })
}

/// Who the CLI acts as, for the audit log: the operating-system user.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

async fn dispatch(cli: Cli) -> Result<(), Failure> {
    if let Command::Demo(args) = cli.command {
        return demo::run(args).await;
    }
    let loaded = load(cli.config.as_deref())?;
    let quiet = !matches!(cli.command, Command::Serve);
    crate::logging::init(
        loaded.config.log.format,
        if quiet {
            "warn"
        } else {
            &loaded.config.log.level
        },
    );
    if matches!(cli.command, Command::Serve) {
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
    }
    match cli.command {
        Command::Demo(_) => unreachable!("handled above"),
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            print!("{}", loaded.redacted_toml());
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Serve => serve(&loaded).await,
        Command::Migrate => {
            crate::app::open_store(&loaded).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::User { command } => users::run(&loaded, command).await,
        Command::Group { command } => groups::run(&loaded, command).await,
        Command::Policy { command } => policy::run(&loaded, command).await,
        Command::Audit { command } => audit::run(&loaded, command).await,
        Command::Breached { command } => breached::run(&loaded, command).await,
        Command::PasswordPolicy { command } => password_policy::run_policy(&loaded, command).await,
        Command::BannedTerms { command } => password_policy::run_terms(&loaded, command).await,
        Command::Import(args) => import::run(&loaded, args).await,
        Command::Directory { command } => directory::run(&loaded, command).await,
        Command::Token { command } => tokens::run(&loaded, command).await,
    }
}

async fn serve(loaded: &Loaded) -> Result<(), Failure> {
    use std::sync::Arc;
    let store = crate::app::open_store(loaded).await?;
    let pool = crate::app::hash_pool(loaded)?;
    let app =
        crate::app::Application::build(loaded, Arc::new(store), pool, crate::app::system_clock())
            .await?;
    tracing::info!(address = %app.local_addr(), public_base_url = %loaded.config.server.public_base_url, "sspr is serving");
    app.run_until(crate::app::shutdown_signal()).await?;
    Ok(())
}
