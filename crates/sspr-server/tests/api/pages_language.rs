//! The pages in the user's language (SPEC §9: en, de, fr, es) and in the organisation's
//! colours: the browser's Accept-Language decides, `?lng=` overrides and is remembered.

use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE};

use crate::helpers::{Options, client, spawn_app, spawn_app_with};

async fn page(
    c: &reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
) -> (String, reqwest::header::HeaderMap) {
    let mut req = c.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    (r.text().await.unwrap(), h)
}

#[tokio::test]
async fn the_browser_language_decides_and_lng_overrides() {
    let app = spawn_app().await;
    let c = client();
    let (fr, _) = page(
        &c,
        app.url("/signin"),
        &[(ACCEPT_LANGUAGE.as_str(), "fr-CH, fr;q=0.9, en;q=0.5")],
    )
    .await;
    assert!(fr.contains(r#"<html lang="fr">"#), "{fr}");
    assert!(fr.contains("Se connecter"), "{fr}");

    let (de, headers) = page(
        &c,
        app.url("/signin?lng=de"),
        &[(ACCEPT_LANGUAGE.as_str(), "fr")],
    )
    .await;
    assert!(de.contains(r#"<html lang="de">"#), "{de}");
    assert!(de.contains("Anmelden"), "{de}");
    let cookie = headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("sspr_lang=de;"), "{cookie}");

    // The remembered choice beats the browser's language.
    let (still_de, _) = page(
        &c,
        app.url("/"),
        &[
            (ACCEPT_LANGUAGE.as_str(), "es"),
            (COOKIE.as_str(), "sspr_lang=de"),
        ],
    )
    .await;
    assert!(still_de.contains(r#"<html lang="de">"#));

    // Unknown languages fall back to English; the switcher offers all four.
    let (en, _) = page(
        &client(),
        app.url("/?lng=xx"),
        &[(ACCEPT_LANGUAGE.as_str(), "ja")],
    )
    .await;
    assert!(en.contains(r#"<html lang="en">"#));
    for name in ["Deutsch", "Français", "Español"] {
        assert!(en.contains(name), "switcher lacks {name}");
    }
}

#[tokio::test]
async fn signed_in_pages_and_their_messages_are_translated() {
    let app = spawn_app().await;
    app.add_user("lena", "Walrus-Lantern-Quiver-82").await;
    let r = client()
        .post(app.url("/signin?lng=es"))
        .form(&[("username", "lena"), ("password", "wrong-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("El nombre de usuario o la contraseña no son correctos"),
        "{body}"
    );

    let c = client();
    let r = c
        .post(app.url("/signin"))
        .form(&[
            ("username", "lena"),
            ("password", "Walrus-Lantern-Quiver-82"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let (info, _) = page(
        &c,
        app.url("/me/security-info"),
        &[(ACCEPT_LANGUAGE.as_str(), "de")],
    )
    .await;
    assert!(info.contains("Sicherheitsinformationen"), "{info}");
    // A wrong field: the German page says so in German.
    let r = c
        .post(app.url("/me/security-info/email"))
        .header(ACCEPT_LANGUAGE, "de")
        .form(&[("address", "not an address")])
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Geben Sie eine gültige E-Mail-Adresse ein"),
        "{body}"
    );
}

#[tokio::test]
async fn the_organisations_logo_and_colour_are_shown() {
    let app = spawn_app_with(Options {
        tweak: Some(|c| {
            c.organisation.logo_url = Some("https://cdn.example.org/logo.svg".into());
            c.organisation.colour = Some("#7a1f5c".into());
        }),
        ..Options::default()
    })
    .await;
    let c = client();
    let (home, headers) = page(&c, app.url("/"), &[]).await;
    // Attribute values are HTML-escaped ("/" as &#x2f;), which browsers read back as "/".
    assert!(
        home.contains(r#"<img src="https:&#x2f;&#x2f;cdn.example.org&#x2f;logo.svg""#),
        "{home}"
    );
    assert!(home.contains("/static/brand.css"));
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.example.org;"),
        "{csp}"
    );
    let css = c
        .get(app.url("/static/brand.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(css.contains("--brand: #7a1f5c"), "{css}");
}

#[test]
fn a_bad_colour_or_logo_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (logo, colour, field) in [
        (None, Some("red"), "organisation.colour"),
        (Some("javascript:alert(1)"), None, "organisation.logo_url"),
        (
            Some("https://x.example/a\" onerror=\"x"),
            None,
            "organisation.logo_url",
        ),
    ] {
        let mut c = crate::helpers::config_in(dir.path(), &Options::default());
        c.organisation.logo_url = logo.map(str::to_owned);
        c.organisation.colour = colour.map(str::to_owned);
        let Err(e) = sspr_server::config::from_config(c) else {
            panic!("{field} was accepted");
        };
        let e = e.to_string();
        assert!(e.contains(field), "{e}");
    }
}

#[tokio::test]
async fn live_password_feedback_speaks_the_page_language() {
    let app = spawn_app().await;
    let check = |lang: &'static str| {
        let c = client();
        let url = app.url("/api/v1/password/check");
        async move {
            let r = c
                .post(url)
                .header(ACCEPT_LANGUAGE, lang)
                .json(&serde_json::json!({ "password": "abc" }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let fr = check("fr").await;
    let length = &fr["rules"][0];
    assert_eq!(length["rule"], "length");
    assert_eq!(length["passed"], false);
    assert!(
        length["message"]
            .as_str()
            .unwrap()
            .starts_with("Utilisez au moins"),
        "{fr}"
    );
    assert_eq!(
        fr["rules"][1]["message"],
        "Uniquement des caractères autorisés"
    );
    let en = check("en").await;
    assert!(
        en["rules"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at least"),
        "{en}"
    );
}
