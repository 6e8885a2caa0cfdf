//! `sspr demo`: one command to try sspr. SQLite in a local folder, a seeded organisation,
//! development delivery, and the accounts printed with their passwords.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{AdjustableClock, Member, PasswordHasher, Store, StoreError};
use sspr_core::service::policy_admin::update_policy;
use sspr_core::{
    AdminRole, DisplayName, EmailAddress, Enablement, GroupId, GroupName, MethodType, NewGroup,
    NewUser, PhoneNumber, SsprPolicy, Username,
};

use super::{Failure, fail};
use crate::config::{Config, from_config};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Folder for the demo's database, key and outbox (created or reused).
    #[arg(long, default_value = "sspr-demo")]
    pub data_dir: PathBuf,
}

/// The demo accounts: username, display name, password, what they show.
pub const ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    (
        "ada",
        "Ada Lovelace",
        "Demo-Reset-2026!",
        "in SSPR-Pilot, nested in SSPR-Users: may reset",
    ),
    (
        "grace",
        "Grace Hopper",
        "Demo-Grace-2026!",
        "outside SSPR-Users: may not reset",
    ),
    (
        "admin",
        "Demo Admin",
        "Demo-Admin-2026!",
        "global admin: two methods always required",
    ),
    (
        "katherine",
        "Katherine Johnson",
        "Demo-Orbit-2026!",
        "in SSPR-Users with nothing registered: sign-in asks her to register",
    ),
];

pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let mut config = Config {
        data_dir: args.data_dir.clone(),
        ..Config::default()
    };
    config.server.listen = args.listen.clone();
    config.server.public_base_url = public_base_url(&args.listen);
    config.organisation.name = "Contoso (demo)".into();
    let loaded = from_config(config).map_err(|e| fail(e.to_string()))?;
    crate::logging::init(loaded.config.log.format, "info");

    let store = crate::app::open_store(&loaded).await?;
    let pool = crate::app::hash_pool(&loaded)?;
    let seeded = seed(&store, &pool).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let app = crate::app::Application::build_with(
        &loaded,
        store,
        pool,
        crate::app::system_clock(),
        // A clock /dev/clock can move forward, to see a re-confirmation fall due.
        Some(Arc::new(AdjustableClock::default())),
    )
    .await?;
    let url = format!("{}/", public_base_url(&app.local_addr().to_string()));

    println!();
    println!(
        "sspr demo ({} data in {}) is ready in {} ms: {url}",
        if seeded { "new" } else { "existing" },
        args.data_dir.display(),
        started.elapsed().as_millis()
    );
    println!();
    println!("  Demo accounts (organisation \"Contoso (demo)\"):");
    for (user, name, password, note) in ACCOUNTS {
        println!("    {user:<7} {password:<18} {name} — {note}");
    }
    println!();
    println!(
        "  Messages sspr sends: {url}dev/outbox and {}",
        loaded.outbox_file.display()
    );
    println!("  Development delivery mode: nothing is really sent. Not for production.");
    println!("  Stop with Ctrl-C.");
    println!();
    app.run_until(crate::app::shutdown_signal()).await?;
    Ok(())
}

/// The demo's address as a browser should use it. A loopback listener is named `localhost`:
/// passkeys refuse an IP address as the relying party's ID, so `http://127.0.0.1:…` could
/// never register one.
fn public_base_url(listen: &str) -> String {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => format!("http://localhost:{}", addr.port()),
        _ => format!("http://{listen}"),
    }
}

/// Creates whatever part of the demo organisation is missing (so an interrupted first run
/// heals on the next). Returns whether anything was created.
async fn seed(store: &dyn Store, hasher: &dyn PasswordHasher) -> Result<bool, Failure> {
    let actor = "demo";
    let audit = |event: &str, target: &str| {
        AuditEvent::new(event, Outcome::Success)
            .actor(actor)
            .target(target)
    };
    let mut created_any = false;
    let group = async |name: &str, description: &str| -> Result<GroupId, Failure> {
        let parsed = GroupName::parse(name)?;
        if let Some(g) = store.find_group(&parsed).await? {
            return Ok(g.id);
        }
        let g = NewGroup {
            id: GroupId::new(),
            name: parsed,
            description: description.into(),
        };
        Ok(store
            .create_group(&g, &audit(events::ADD_GROUP, name))
            .await?
            .id)
    };
    let users = group("SSPR-Users", "People who may reset their own password").await?;
    let pilot = group("SSPR-Pilot", "Pilot users (nested in SSPR-Users)").await?;
    let join = async |g: GroupId, m: Member, target: &str| -> Result<(), Failure> {
        match store
            .add_member(g, m, &audit(events::ADD_MEMBER, target))
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    join(users, Member::Group(pilot), "SSPR-Users").await?;

    let people = [
        (
            "ada",
            "Ada",
            "Lovelace",
            Some("ada@example.org"),
            Some("+44 7911 123456"),
            vec![],
        ),
        (
            "grace",
            "Grace",
            "Hopper",
            Some("grace@example.org"),
            Some("+44 7911 123457"),
            vec![],
        ),
        (
            "admin",
            "Demo",
            "Admin",
            Some("admin@example.org"),
            Some("+44 7911 123458"),
            vec![AdminRole::GlobalAdmin],
        ),
        ("katherine", "Katherine", "Johnson", None, None, vec![]),
    ];
    for ((username, first, last, email, mobile, roles), (_, display, password, _)) in
        people.into_iter().zip(ACCOUNTS)
    {
        let name = Username::parse(username)?;
        let id = match store.find_user(&name).await? {
            Some(u) => u.id,
            None => {
                let mut u = NewUser::cloud(name, DisplayName::parse(display)?);
                u.first_name = Some(first.into());
                u.last_name = Some(last.into());
                u.email = email.map(EmailAddress::parse).transpose()?;
                u.mobile_phone = mobile.map(PhoneNumber::parse).transpose()?;
                u.roles = roles.into_iter().collect();
                u.password_hash = Some(hasher.hash(password).await?);
                created_any = true;
                let id = store
                    .create_user(&u, &audit(events::ADD_USER, username))
                    .await?
                    .id;
                // Ada and the admin have confirmed their (prepopulated) contact data, so
                // sign-in lets them through; Katherine shows the registration interrupt.
                if username != "katherine" {
                    store
                        .set_registration_confirmed(id, Some(time::OffsetDateTime::now_utc()))
                        .await?;
                }
                id
            }
        };
        match username {
            "ada" => join(pilot, Member::User(id), "SSPR-Pilot").await?,
            "katherine" => join(users, Member::User(id), "SSPR-Users").await?,
            _ => {}
        }
    }
    let policy = SsprPolicy {
        enablement: Enablement::Selected,
        target_group: Some(users),
        // Every method, so the demo shows each of them.
        methods_enabled: MethodType::ALL.into_iter().collect(),
        ..store.policy().await?
    };
    if !update_policy(store, &policy, actor).await?.is_empty() {
        created_any = true;
    }
    Ok(created_any)
}
