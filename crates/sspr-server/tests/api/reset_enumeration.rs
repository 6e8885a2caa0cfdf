//! The start and send steps of a reset must not tell who has an account (security.md R1–R3):
//! an existing user, an unknown ID, a disabled user, a user outside the SSPR group and a user
//! with nothing registered get the same status, the same body shape, the same headers — and
//! answers whose times a two-sample test cannot tell apart, over 200 interleaved requests
//! per class.

use std::collections::BTreeSet;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::{Member, Store};
use sspr_core::{
    EmailAddress, Enablement, GroupId, GroupName, MethodType, NewGroup, PhoneNumber, SsprPolicy,
};
use time::Duration;

use crate::helpers::{Options, TestApp, client, spawn_app_with};

const ROUNDS: usize = 200;
const CLASSES: [&str; 5] = ["existing", "unknown", "disabled", "outside", "unregistered"];

/// The largest distance between two empirical distribution functions (Kolmogorov–Smirnov).
fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// The critical value of the two-sample KS test at α = 0.001.
fn ks_critical(n: usize, m: usize) -> f64 {
    1.949 * (((n + m) as f64) / ((n * m) as f64)).sqrt()
}

#[test]
fn the_ks_statistic_tells_different_samples_apart() {
    let a: Vec<f64> = (0..200).map(f64::from).collect();
    let shifted: Vec<f64> = (0..200).map(|x| f64::from(x) + 60.0).collect();
    assert!(ks_statistic(&a, &a) < 1e-9);
    assert!(ks_statistic(&a, &shifted) > ks_critical(200, 200));
}

async fn setup(app: &TestApp) {
    let group = NewGroup {
        id: GroupId::new(),
        name: GroupName::parse("SSPR-Users").unwrap(),
        description: String::new(),
    };
    let ev = || AuditEvent::new("test", Outcome::Success);
    app.store.create_group(&group, &ev()).await.unwrap();
    let policy = SsprPolicy {
        enablement: Enablement::Selected,
        target_group: Some(group.id),
        methods_enabled: MethodType::ALL.into_iter().collect(),
        ..SsprPolicy::default()
    };
    app.store.put_policy(&policy, &ev()).await.unwrap();
    for name in ["existing", "disabled", "outside", "unregistered"] {
        let u = app.add_user(name, "Walrus-Lantern-Quiver-82").await;
        let mut update = sspr_core::ports::ProfileUpdate {
            display_name: u.display_name.clone(),
            first_name: None,
            last_name: None,
            email: u.email.clone(),
            alternate_email: None,
            mobile_phone: Some(PhoneNumber::parse("+447911123456").unwrap()),
            office_phone: None,
            roles: Default::default(),
            enabled: name != "disabled",
        };
        if name == "unregistered" {
            update.email = None::<EmailAddress>;
            update.mobile_phone = None;
        }
        app.store
            .update_profile(u.id, &update, &ev())
            .await
            .unwrap();
        if name != "outside" {
            app.store
                .add_member(group.id, Member::User(u.id), &ev())
                .await
                .unwrap();
        }
    }
}

/// What must be identical across classes: status, JSON keys (recursively for the methods),
/// header names.
fn shape(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) -> String {
    let mut names: BTreeSet<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
    // Varying by nature, not by account: the date and the content length (hint lengths).
    names.remove("date");
    names.remove("content-length");
    let keys: Vec<String> = body
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let method_keys: BTreeSet<String> = body["methods"]
        .as_array()
        .map(|a| {
            a.iter()
                .flat_map(|m| m.as_object().unwrap().keys().cloned())
                .collect()
        })
        .unwrap_or_default();
    format!("{status} {names:?} {keys:?} {method_keys:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_send_look_the_same_for_every_account_state() {
    let app = spawn_app_with(Options {
        tweak: Some(|c| c.reset.response_floor_ms = 60),
        ..Options::default()
    })
    .await;
    setup(&app).await;
    let mut start_times: Vec<Vec<f64>> = vec![Vec::new(); CLASSES.len()];
    let mut send_times: Vec<Vec<f64>> = vec![Vec::new(); CLASSES.len()];
    let mut start_shapes: Vec<BTreeSet<String>> = vec![BTreeSet::new(); CLASSES.len()];
    let mut send_shapes: Vec<BTreeSet<String>> = vec![BTreeSet::new(); CLASSES.len()];
    for round in 0..ROUNDS {
        // A day later each round: no limit is reached, so every class is answered the same
        // way for the same reason (the limits themselves are tested elsewhere).
        app.clock.advance(Duration::hours(25));
        // The five classes at once, in a rotating order, so load affects them alike.
        let mut tasks = Vec::new();
        for k in 0..CLASSES.len() {
            let class = (k + round) % CLASSES.len();
            let url = app.url("/api/v1/reset");
            let base = app.url("/api/v1/reset/");
            tasks.push(tokio::spawn(async move {
                let c = client();
                let t = Instant::now();
                let r = c
                    .post(url)
                    .json(&json!({ "username": CLASSES[class] }))
                    .send()
                    .await
                    .unwrap();
                let start_ms = t.elapsed().as_secs_f64() * 1e3;
                let (status, headers) = (r.status(), r.headers().clone());
                let body: Value = r.json().await.unwrap();
                let start_shape = shape(status, &headers, &body);
                let first = body["methods"][0]["id"].as_str().unwrap().to_owned();
                let flow = body["flow_id"].as_str().unwrap().to_owned();
                let t = Instant::now();
                let r = c
                    .post(format!("{base}{flow}/methods/{first}/send"))
                    .send()
                    .await
                    .unwrap();
                let send_ms = t.elapsed().as_secs_f64() * 1e3;
                let (status, headers) = (r.status(), r.headers().clone());
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (
                    class,
                    start_ms,
                    start_shape,
                    send_ms,
                    shape(status, &headers, &body),
                )
            }));
        }
        for t in tasks {
            let (class, start_ms, start_shape, send_ms, send_shape) = t.await.unwrap();
            start_times[class].push(start_ms);
            send_times[class].push(send_ms);
            start_shapes[class].insert(start_shape);
            send_shapes[class].insert(send_shape);
        }
    }
    for (step, shapes) in [("start", &start_shapes), ("send", &send_shapes)] {
        for (class, s) in CLASSES.iter().zip(shapes.iter()) {
            assert_eq!(
                s, &shapes[0],
                "{step}: {class} answers differently from existing"
            );
            assert_eq!(s.len(), 1, "{step}: {class} answers vary: {s:?}");
        }
    }
    let critical = ks_critical(ROUNDS, ROUNDS);
    for (step, times) in [("start", &start_times), ("send", &send_times)] {
        for (class, sample) in CLASSES.iter().zip(times.iter()).skip(1) {
            let d = ks_statistic(&times[0], sample);
            let median = |v: &[f64]| {
                let mut v = v.to_vec();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            assert!(
                d < critical,
                "{step}: {class} is distinguishable from an existing user by time: D = {d:.3} ≥ {critical:.3} \
                 (medians {:.1} ms vs {:.1} ms)",
                median(&times[0]),
                median(sample)
            );
        }
    }
}
