//! `sspr demo`: one command to try sspr. SQLite in a local folder, a seeded organisation,
//! development delivery, and the accounts printed with their passwords.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::crypto::Sealer;
use sspr_core::methods::questions::normalise_answer;
use sspr_core::methods::totp::TotpSecret;
use sspr_core::ports::{AdjustableClock, Member, PasswordHasher, Store, StoreError};
use sspr_core::service::policy_admin::update_policy;
use sspr_core::{
    AdminRole, DisplayName, EmailAddress, Enablement, GroupId, GroupName, LockoutState, MethodId,
    MethodType, NewGroup, NewUser, PhoneNumber, RegisteredMethod, SsprPolicy, UserId, Username,
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
    (
        "mary",
        "Mary Jackson",
        "Demo-Wind-2026!",
        "email + authenticator app (the demo TOTP key below): reset",
    ),
    (
        "dorothy",
        "Dorothy Vaughan",
        "Demo-Fortran-2026!",
        "text message + security questions (answers: teddy, katherine, elm street): reset",
    ),
    (
        "margaret",
        "Margaret Hamilton",
        "Demo-Apollo-2026!",
        "password admin, email + authenticator app: a reset needs both",
    ),
    (
        "hedy",
        "Hedy Lamarr",
        "Demo-Signal-2026!",
        "locked out by smart lockout: reset offers \"unlock only\"",
    ),
];

/// The demo's authenticator-app key (RFC 4648 base32 of these bytes, printed in the banner),
/// registered for mary and margaret so that anyone can compute their codes. A demo
/// convenience: a real key is random and shown once.
pub const DEMO_TOTP_SEED: &[u8; 20] = b"sspr-demo-totp-seed!";

/// Dorothy's security questions and answers (predefined question ids).
pub const DEMO_ANSWERS: [(&str, &str); 3] = [
    ("p01", "Teddy"),
    ("p02", "Katherine"),
    ("p03", "Elm Street"),
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
    // A light proof of work: the widget solves it in a blink.
    config.reset.pow_max_number = 5_000;
    let loaded = from_config(config).map_err(|e| fail(e.to_string()))?;
    crate::logging::init(loaded.config.log.format, "info");

    let store = crate::app::open_store(&loaded).await?;
    let pool = crate::app::hash_pool(&loaded)?;
    // The server's key seals the demo's authenticator secrets (the application loads the
    // same key file).
    let key = crate::keys::load_or_create(&loaded.key_file).map_err(|e| fail(e.to_string()))?;
    let seeded = seed(&store, &pool, &Sealer::new(&key)).await?;
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
        println!("    {user:<9} {password:<19} {name} — {note}");
    }
    println!(
        "  Demo authenticator-app key (mary, margaret): {}",
        demo_totp().base32()
    );
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
fn demo_totp() -> TotpSecret {
    TotpSecret::from_bytes(DEMO_TOTP_SEED.to_vec()).expect("the demo seed has 20 bytes")
}

async fn seed(
    store: &dyn Store,
    hasher: &dyn PasswordHasher,
    sealer: &Sealer,
) -> Result<bool, Failure> {
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
        (
            "mary",
            "Mary",
            "Jackson",
            Some("mary@example.org"),
            None,
            vec![],
        ),
        (
            "dorothy",
            "Dorothy",
            "Vaughan",
            None,
            Some("+44 7911 123459"),
            vec![],
        ),
        (
            "margaret",
            "Margaret",
            "Hamilton",
            Some("margaret@example.org"),
            None,
            vec![AdminRole::PasswordAdmin],
        ),
        (
            "hedy",
            "Hedy",
            "Lamarr",
            Some("hedy@example.org"),
            None,
            vec![],
        ),
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
                seed_methods(store, hasher, sealer, username, id).await?;
                id
            }
        };
        match username {
            "ada" => join(pilot, Member::User(id), "SSPR-Pilot").await?,
            "katherine" | "mary" | "dorothy" | "hedy" => {
                join(users, Member::User(id), "SSPR-Users").await?
            }
            _ => {}
        }
    }
    let policy = SsprPolicy {
        enablement: Enablement::Selected,
        target_group: Some(users),
        // Every method, so the demo shows each of them.
        methods_enabled: MethodType::ALL.into_iter().collect(),
        // A locked-out user may just unlock (hedy shows it).
        allow_unlock: true,
        ..store.policy().await?
    };
    if !update_policy(store, &policy, actor).await?.is_empty() {
        created_any = true;
    }
    Ok(created_any)
}

/// The registered methods (and lockout) of a demo account, made when the account is.
async fn seed_methods(
    store: &dyn Store,
    hasher: &dyn PasswordHasher,
    sealer: &Sealer,
    username: &str,
    user: UserId,
) -> Result<(), Failure> {
    let now = time::OffsetDateTime::now_utc();
    let method = |kind: MethodType, secret: String| {
        let id = MethodId::new();
        RegisteredMethod {
            id,
            user_id: user,
            kind,
            label: String::new(),
            // A TOTP secret is sealed with its method id as associated data.
            secret: Some(if kind == MethodType::AuthenticatorCode {
                sealer.seal(secret.as_bytes(), id.to_string().as_bytes())
            } else {
                secret
            }),
            counter: 0,
            verified_at: Some(now),
            created_at: now,
            last_used_at: None,
        }
    };
    match username {
        "mary" | "margaret" => {
            let seed = String::from_utf8_lossy(DEMO_TOTP_SEED).into_owned();
            store
                .add_method(&method(MethodType::AuthenticatorCode, seed), None)
                .await?;
        }
        "dorothy" => {
            let mut stored = Vec::new();
            for (q, a) in DEMO_ANSWERS {
                let hash = hasher.hash(&normalise_answer(a)).await?;
                stored.push(serde_json::json!({ "q": q, "h": hash.as_phc() }));
            }
            let answers = serde_json::Value::Array(stored).to_string();
            store
                .add_method(&method(MethodType::SecurityQuestions, answers), None)
                .await?;
        }
        "hedy" => {
            // Locked by smart lockout for years (the demo's clock can be moved forward).
            let locked = LockoutState {
                failed_count: 0,
                lockout_count: 1,
                locked_until: Some(now + time::Duration::days(3650)),
            };
            store
                .update_lockout(user, &LockoutState::default(), &locked, None)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
