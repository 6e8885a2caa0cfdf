//! The `sspr` command line, run as a user would run it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::helpers::sspr_bin;

/// A data directory with a config file that uses cheap hashing.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sspr.toml"),
            format!(
                "data_dir = {:?}\n[hashing]\nmemory_kib = 64\niterations = 1\n",
                dir.path().join("data")
            ),
        )
        .unwrap();
        Self { dir }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("sspr.toml")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(sspr_bin())
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn err(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("data/sspr.db")
    }
}

#[test]
fn config_check_prints_redacted_effective_values() {
    let env = Env::new();
    let secret = env.dir.path().join("db-url");
    std::fs::write(&secret, "postgres://sspr:hunter2@127.0.0.1:1/sspr\n").unwrap();
    let out = Command::new(sspr_bin())
        .args(["config", "check", "--config"])
        .arg(env.config())
        .env("SSPR_DATABASE__URL_FILE", &secret)
        .env("SSPR_SERVER__LISTEN", "127.0.0.1:9999")
        .env("SSPR_TEST_UNRELATED", "ignored")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:9999\""),
        "env overrides the file: {text}"
    );
    assert!(
        text.contains("memory_kib = 64"),
        "the file overrides defaults"
    );
    assert!(text.contains("[REDACTED]"), "{text}");
    assert!(!text.contains("hunter2"), "secrets never printed: {text}");
    let warnings = String::from_utf8(out.stderr).unwrap();
    assert!(
        warnings.contains("warning")
            && warnings.contains("OWASP")
            && warnings.contains("sspr.toml"),
        "the test file's cheap hashing is called out: {warnings}"
    );
}

#[test]
fn config_check_names_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    let run = |body: &str| {
        std::fs::write(&file, body).unwrap();
        let out = Command::new(sspr_bin())
            .args(["config", "check", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{body}");
        String::from_utf8(out.stderr).unwrap()
    };
    let e = run("[server]\nlisten = \"not an address\"\n");
    assert!(
        e.contains("server.listen") && e.contains("bad.toml") && e.contains("127.0.0.1:8080"),
        "{e}"
    );
    let e = run("[server]\nmax_body_bytes = \"lots\"\n");
    assert!(
        e.contains("max_body_bytes") && e.contains("bad.toml"),
        "{e}"
    );
    let e = run("[server]\nlisten_on = \"x\"\n");
    assert!(e.contains("listen_on"), "unknown keys are refused: {e}");
    let e = run("[hashing]\nqueue = 0\n");
    assert!(
        e.contains("hashing.queue") && e.contains("between 1 and 10000"),
        "{e}"
    );
    let e = run("[server]\npublic_base_url = \"sspr.example.org\"\n");
    assert!(
        e.contains("server.public_base_url") && e.contains("https://"),
        "{e}"
    );
    let e = run("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n");
    assert!(
        e.contains("trusted_proxies") && e.contains("proxy.local"),
        "{e}"
    );
    // The environment is named as the source when it is the culprit.
    let out = Command::new(sspr_bin())
        .args(["config", "check"])
        .env("SSPR_SERVER__LISTEN", "nowhere")
        .output()
        .unwrap();
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        e.contains("server.listen") && e.contains("SSPR_SERVER__LISTEN"),
        "{e}"
    );
}

#[test]
fn users_groups_and_nested_membership() {
    let env = Env::new();
    env.ok(&["migrate"]);
    env.ok(&[
        "user",
        "add",
        "ada",
        "--display-name",
        "Ada Lovelace",
        "--email",
        "ada@example.org",
        "--mobile-phone",
        "+44 7911 123456",
        "--role",
        "password_admin",
    ]);
    let e = env.err(&["user", "add", "Ada", "--display-name", "Another Ada"]);
    assert!(e.contains("already exists"), "{e}");
    let e = env.err(&[
        "user",
        "add",
        "bob",
        "--display-name",
        "Bob",
        "--mobile-phone",
        "12345",
    ]);
    assert!(e.contains("--mobile-phone"), "{e}");

    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(list[0]["username"], "ada");
    assert_eq!(list[0]["mobile_phone"], "+447911123456");
    assert_eq!(list[0]["roles"][0], "password_admin");
    assert!(list[0].get("password_hash").is_none());

    env.ok(&["group", "add", "SSPR-Users"]);
    env.ok(&["group", "add", "Pilot"]);
    env.ok(&["group", "add-member", "SSPR-Users", "--group", "Pilot"]);
    env.ok(&["group", "add-member", "Pilot", "--user", "ada"]);
    // A cycle is tolerated.
    env.ok(&["group", "add-member", "Pilot", "--group", "SSPR-Users"]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["group", "show", "Pilot", "--json"])).unwrap();
    assert_eq!(show["member_users"][0], "ada");
    assert_eq!(show["member_groups"][0], "SSPR-Users");
    env.ok(&["group", "remove-member", "Pilot", "--group", "SSPR-Users"]);
    let e = env.err(&["group", "remove-member", "Pilot", "--group", "SSPR-Users"]);
    assert!(e.contains("not a direct member"), "{e}");

    // Passwords: the policy applies, and the CLI reads from stdin.
    let out = env.run_stdin(
        &["user", "set-password", "ada", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    let out = env.run_stdin(
        &["user", "set-password", "ada", "--password-stdin"],
        "Correct-Horse-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run_stdin(
        &["user", "set-password", "ada", "--password-stdin"],
        "Correct-Horse-1\n",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not used recently"),
        "history applies"
    );

    env.ok(&["user", "lock", "ada"]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["user", "show", "ada", "--json"])).unwrap();
    assert_eq!(show["locked"], true);
    env.ok(&["user", "unlock", "ada"]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["user", "show", "ada", "--json"])).unwrap();
    assert_eq!(show["locked"], false);
    assert_eq!(show["has_password"], true);

    let e = env.err(&["user", "delete", "ada"]);
    assert!(e.contains("--yes"), "{e}");
    env.ok(&["user", "delete", "ada", "--yes"]);
    assert!(
        env.err(&["user", "show", "ada"])
            .contains("no user named ada")
    );
    env.ok(&["audit", "verify"]);
}

#[test]
fn policy_set_validates_and_audits() {
    let env = Env::new();
    env.ok(&["group", "add", "SSPR-Users"]);
    let e = env.err(&["policy", "set", "enablement=selected"]);
    assert!(
        e.contains("target_group") && e.contains("not changed"),
        "{e}"
    );
    let e = env.err(&["policy", "set", "methods_required=3", "reconfirm_days=999"]);
    assert!(e.contains("methods_required: must be 1 or 2"), "{e}");
    assert!(
        e.contains("reconfirm_days"),
        "every bad field is named: {e}"
    );
    let e = env.err(&["policy", "set", "colour=blue"]);
    assert!(e.contains("unknown setting"), "{e}");
    let e = env.err(&["policy", "set", "target_group=Nope"]);
    assert!(e.contains("no group named Nope"), "{e}");

    let out = env.ok(&[
        "policy",
        "set",
        "enablement=selected",
        "target_group=SSPR-Users",
        "methods_required=2",
        "methods_enabled=email,mobile_sms,authenticator_code",
        "helpdesk=https://help.example.org",
    ]);
    assert!(out.contains("changed enablement"), "{out}");
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["policy", "show", "--json"])).unwrap();
    assert_eq!(shown["enablement"], "selected");
    assert_eq!(shown["target_group"], "SSPR-Users");
    assert_eq!(shown["methods_required"], 2);
    assert_eq!(shown["helpdesk"], "https://help.example.org");
    assert_eq!(
        env.ok(&["policy", "set", "methods_required=2"]).trim(),
        "no change"
    );
    env.ok(&["audit", "verify"]);
}

fn raw_sql(db: &Path, sql: &'static str) {
    let url = format!("sqlite://{}", db.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    });
}

#[test]
fn audit_verify_finds_the_altered_row() {
    let env = Env::new();
    env.ok(&["group", "add", "A"]);
    env.ok(&["group", "add", "B"]);
    env.ok(&["group", "add", "C"]);
    let ok = env.ok(&["audit", "verify"]);
    assert!(ok.contains("3 records verified"), "{ok}");
    raw_sql(
        &env.db(),
        "UPDATE audit_events SET target = 'Z' WHERE seq = 2",
    );
    let e = env.err(&["audit", "verify"]);
    assert!(e.contains("BROKEN at record 2"), "{e}");
}

#[test]
fn audit_verify_finds_removed_newest_records() {
    let env = Env::new();
    env.ok(&["group", "add", "A"]);
    env.ok(&["group", "add", "B"]);
    env.ok(&["group", "add", "C"]);
    raw_sql(&env.db(), "DELETE FROM audit_events WHERE seq = 3");
    let e = env.err(&["audit", "verify"]);
    assert!(
        e.contains("BROKEN at record 3") && e.contains("removed"),
        "{e}"
    );
}

#[test]
fn import_is_all_or_nothing_and_names_bad_rows() {
    let env = Env::new();
    env.ok(&["group", "add", "Staff"]);
    let csv = env.dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "username,display_name,email,mobile_phone,roles,groups,password\n\
         ada,Ada Lovelace,ada@example.org,+44 7911 123456,,Staff,Correct-Horse-1\n\
         bob,Bob,not-an-email,,,,\n\
         carol,Carol,,,root,Nope,\n\
         ada,Ada Again,,,,,\n",
    )
    .unwrap();
    let e = env.err(&["import", csv.to_str().unwrap()]);
    assert!(e.contains("nothing was imported"), "{e}");
    assert!(e.contains("line 3: email"), "{e}");
    assert!(
        e.contains("line 4: roles") && e.contains("line 4: groups"),
        "{e}"
    );
    assert!(
        e.contains("line 5: username ada is already on line 2"),
        "{e}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing imported");

    std::fs::write(
        &csv,
        "username,display_name,email,mobile_phone,roles,groups,password\n\
         ada,Ada Lovelace,ada@example.org,+44 7911 123456,,Staff,Correct-Horse-1\n\
         bob,Bob Builder,bob@example.org,,helpdesk_admin;reports_reader,,\n",
    )
    .unwrap();
    let out = env.ok(&["import", csv.to_str().unwrap(), "--dry-run"]);
    assert!(out.contains("2 rows are valid"), "{out}");
    assert_eq!(env.ok(&["user", "list", "--json"]).trim(), "[]");
    let out = env.ok(&["import", csv.to_str().unwrap()]);
    assert!(
        out.contains("imported 2 users (1 group memberships)"),
        "{out}"
    );
    let bob: serde_json::Value =
        serde_json::from_str(&env.ok(&["user", "show", "bob", "--json"])).unwrap();
    assert_eq!(
        bob["roles"],
        serde_json::json!(["helpdesk_admin", "reports_reader"])
    );
    let staff: serde_json::Value =
        serde_json::from_str(&env.ok(&["group", "show", "Staff", "--json"])).unwrap();
    assert_eq!(staff["member_users"][0], "ada");
    // Importing the same file again names the existing users and changes nothing.
    let e = env.err(&["import", csv.to_str().unwrap()]);
    assert!(e.contains("line 2: a user named ada already exists"), "{e}");
    env.ok(&["audit", "verify"]);
}

#[test]
fn help_explains_each_command() {
    let out = Command::new(sspr_bin()).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "serve", "demo", "migrate", "config", "user", "group", "policy", "audit", "import",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from help");
    }
    let out = Command::new(sspr_bin())
        .args(["user", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "add",
        "list",
        "show",
        "set-password",
        "lock",
        "unlock",
        "delete",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from user help");
    }
}

#[test]
fn password_protection_from_the_command_line() {
    let env = Env::new();
    env.ok(&["user", "add", "ada", "--display-name", "Ada Lovelace"]);

    let e = env.err(&["banned-terms", "add", "contoso", "abc"]);
    assert!(e.contains("not changed") && e.contains("abc"), "{e}");
    assert_eq!(
        env.ok(&["banned-terms", "list", "--json"]).trim(),
        "[]",
        "nothing stored"
    );
    let out = env.ok(&["banned-terms", "add", "contoso", "london", "CONTOSO"]);
    assert!(out.contains("2 terms added"), "duplicates dropped: {out}");

    let set = |pw: &str| {
        env.run_stdin(
            &["user", "set-password", "ada", "--password-stdin"],
            &format!("{pw}\n"),
        )
    };
    let out = set("C0ntos0@London");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("blocked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = set("Lovelace!2024");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("easy to guess"),
        "the user's own name"
    );

    env.ok(&["banned-terms", "remove", "london"]);
    let terms: serde_json::Value =
        serde_json::from_str(&env.ok(&["banned-terms", "list", "--json"])).unwrap();
    assert_eq!(terms, serde_json::json!(["contoso"]));

    let e = env.err(&["password-policy", "set", "min_length=4"]);
    assert!(e.contains("min_length"), "{e}");
    env.ok(&["password-policy", "set", "min_length=16", "history=3"]);
    let out = set("Short-Phrase-41");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least 16"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["password-policy", "show", "--json"])).unwrap();
    assert_eq!(shown["min_length"], 16);
    assert_eq!(shown["history"], 3);
    env.ok(&["audit", "verify"]);
}

#[test]
fn breached_import_reports_bad_lines_and_is_enforced() {
    let env = Env::new();
    env.ok(&["user", "add", "ada", "--display-name", "Ada Lovelace"]);
    let out = env.ok(&["breached", "status"]);
    assert!(out.contains("no breached-password corpus"), "{out}");
    // SHA-1("Zebra-Quantum-Harbour-19") in HIBP form, a damaged line, and a plain password.
    let sha1 = hex::encode_upper(sspr_directory::breached::password_sha1(
        "Zebra-Quantum-Harbour-19",
    ));
    let other = hex::encode(sspr_directory::breached::password_sha1(
        "Marmalade-Sky-Piano-88",
    ));
    let file = env.dir.path().join("pwned.txt");
    std::fs::write(&file, format!("{sha1}:42\nnot-a-hash:12\n{other}:3\n")).unwrap();
    let out = env.run(&[
        "breached",
        "import",
        file.to_str().unwrap(),
        "--format",
        "hibp",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 bad"), "{text}");
    assert!(text.contains("line 2"), "the bad line is named: {text}");
    let status = env.ok(&["breached", "status"]);
    assert!(status.contains("2 distinct entries"), "{status}");

    for pw in ["Zebra-Quantum-Harbour-19", "Marmalade-Sky-Piano-88"] {
        let out = env.run_stdin(
            &["user", "set-password", "ada", "--password-stdin"],
            &format!("{pw}\n"),
        );
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("data breach"),
            "{pw}"
        );
    }
    let out = env.run_stdin(
        &["user", "set-password", "ada", "--password-stdin"],
        "Velvet-Canyon-Lantern-63\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_killed_import_leaves_the_previous_corpus_in_service() {
    let env = Env::new();
    let first = env.dir.path().join("first.txt");
    std::fs::write(&first, "Marmalade-Sky-Piano-88\n").unwrap();
    env.ok(&[
        "breached",
        "import",
        first.to_str().unwrap(),
        "--format",
        "plain",
    ]);
    let before = env.ok(&["breached", "status"]);
    assert!(before.contains("1 distinct entries"), "{before}");

    // An import reading from a pipe that we kill -9 halfway through.
    let mut child = Command::new(sspr_bin())
        .arg("--config")
        .arg(env.config())
        .args(["breached", "import", "-", "--format", "plain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..200_000 {
        writeln!(stdin, "leaked-password-{i}").unwrap();
    }
    stdin.flush().unwrap();
    // Wait until it reports reading progress, then kill it without warning.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    use std::io::BufRead;
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("reading") {
        line.clear();
    }
    assert!(line.contains("reading"), "progress is shown: {line}");
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(!child.wait().unwrap().success());
    drop(stdin);

    assert_eq!(
        env.ok(&["breached", "status"]),
        before,
        "the previous corpus is still in service"
    );
    let out = env.run_stdin(
        &[
            "user",
            "add",
            "ada",
            "--display-name",
            "Ada",
            "--password-stdin",
        ],
        "Marmalade-Sky-Piano-88\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("data breach"));

    // The next import works and replaces it.
    let second = env.dir.path().join("second.txt");
    std::fs::write(&second, "Velvet-Canyon-Lantern-63\nanother-leak\n").unwrap();
    env.ok(&[
        "breached",
        "import",
        second.to_str().unwrap(),
        "--format",
        "plain",
    ]);
    assert!(
        env.ok(&["breached", "status"])
            .contains("2 distinct entries")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_commands_make_list_and_revoke_tokens_a_server_accepts() {
    let env = Env::new();
    let bad = env.err(&["token", "create", "--name", "x", "--role", "root"]);
    assert!(bad.contains("unknown admin role"), "{bad}");
    let plain = env.ok(&[
        "token",
        "create",
        "--name",
        "ci",
        "--role",
        "reports_reader",
    ]);
    let secret = plain.trim().to_owned();
    assert!(secret.starts_with("sspr_"), "{plain}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&[
        "token",
        "create",
        "--name",
        "ops",
        "--role",
        "global_admin",
        "--expires-days",
        "7",
        "--json",
    ]))
    .unwrap();
    assert!(json["token"].as_str().unwrap().starts_with("sspr_"));
    let list = env.ok(&["token", "list", "--json"]);
    let tokens: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    assert!(
        !list.contains(&secret[38..]),
        "the list never shows a secret"
    );

    // A server on the same data accepts the token the CLI made …
    let app = crate::helpers::spawn_app_in(
        &env.dir.path().join("data"),
        crate::helpers::Options::default(),
    )
    .await;
    let users = app.url("/api/v1/admin/users");
    let status = |r: reqwest::Response| r.status();
    let r = crate::helpers::client()
        .get(&users)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), reqwest::StatusCode::OK);
    // … until it is revoked.
    let id = secret[5..37].to_owned();
    assert!(env.ok(&["token", "revoke", &id]).contains("revoked"));
    assert!(env.err(&["token", "revoke", &id]).contains("no live token"));
    let r = crate::helpers::client()
        .get(&users)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), reqwest::StatusCode::UNAUTHORIZED);
}
