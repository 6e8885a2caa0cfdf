//! Server-rendered pages (minijinja, autoescaped). The templates are compiled into the binary.

use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State};
use sspr_core::Locale;

use crate::i18n::Catalogue;

pub struct Templates {
    env: Environment<'static>,
    catalogue: Arc<Catalogue>,
}

const PAGES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    ("me.html", include_str!("../templates/me.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "security_info.html",
        include_str!("../templates/security_info.html"),
    ),
    ("register.html", include_str!("../templates/register.html")),
    (
        "questions.html",
        include_str!("../templates/questions.html"),
    ),
    (
        "reset_help.html",
        include_str!("../templates/reset_help.html"),
    ),
    (
        "reset_start.html",
        include_str!("../templates/reset_start.html"),
    ),
    (
        "reset_verify.html",
        include_str!("../templates/reset_verify.html"),
    ),
    (
        "reset_code.html",
        include_str!("../templates/reset_code.html"),
    ),
    (
        "reset_questions.html",
        include_str!("../templates/reset_questions.html"),
    ),
    (
        "reset_passkey.html",
        include_str!("../templates/reset_passkey.html"),
    ),
    (
        "reset_password.html",
        include_str!("../templates/reset_password.html"),
    ),
    (
        "reset_message.html",
        include_str!("../templates/reset_message.html"),
    ),
    (
        "admin_base.html",
        include_str!("../templates/admin_base.html"),
    ),
    (
        "admin_macros.html",
        include_str!("../templates/admin_macros.html"),
    ),
    (
        "admin_properties.html",
        include_str!("../templates/admin_properties.html"),
    ),
    (
        "admin_methods.html",
        include_str!("../templates/admin_methods.html"),
    ),
    (
        "admin_registration.html",
        include_str!("../templates/admin_registration.html"),
    ),
    (
        "admin_notifications.html",
        include_str!("../templates/admin_notifications.html"),
    ),
    (
        "admin_customisation.html",
        include_str!("../templates/admin_customisation.html"),
    ),
    (
        "admin_onprem.html",
        include_str!("../templates/admin_onprem.html"),
    ),
    (
        "admin_protection.html",
        include_str!("../templates/admin_protection.html"),
    ),
    (
        "admin_errors.html",
        include_str!("../templates/admin_errors.html"),
    ),
    (
        "admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    (
        "admin_user.html",
        include_str!("../templates/admin_user.html"),
    ),
    (
        "admin_groups.html",
        include_str!("../templates/admin_groups.html"),
    ),
    (
        "admin_group.html",
        include_str!("../templates/admin_group.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../templates/admin_audit.html"),
    ),
    (
        "admin_insights.html",
        include_str!("../templates/admin_insights.html"),
    ),
    (
        "admin_tokens.html",
        include_str!("../templates/admin_tokens.html"),
    ),
];

impl Templates {
    pub fn new() -> Self {
        let catalogue = Arc::new(Catalogue::new());
        let mut env = Environment::new();
        for (name, source) in PAGES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        // `t("key", name=value, …)`: the text in the page's language (`lang` in the context).
        // With a whole-number `count` argument, a key with plural forms picks its form.
        let texts = Arc::clone(&catalogue);
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let locale = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().and_then(Locale::parse))
                    .unwrap_or_default();
                let mut args: Vec<(String, String)> = Vec::new();
                let mut count = None;
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    if name == "count" {
                        count = i64::try_from(value.clone()).ok();
                    }
                    args.push((name.to_owned(), value.to_string()));
                }
                kwargs.assert_all_used()?;
                let pairs: Vec<(&str, &str)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let key = match count {
                    Some(n) => texts.plural_key(locale, key, n),
                    None => key.to_owned(),
                };
                Ok(texts.format(locale, &key, &pairs))
            },
        );
        Self { env, catalogue }
    }

    /// The words of the pages, for texts made in Rust (notices, errors).
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    /// Every text a page or handler asks for exists: a missing one would show its key.
    #[test]
    fn every_text_used_is_in_the_catalogue() {
        let sources = PAGES.iter().map(|(_, s)| *s).chain([
            include_str!("routes/pages.rs"),
            include_str!("routes/security_pages.rs"),
            include_str!("routes/reset_pages.rs"),
            include_str!("routes/admin_pages/mod.rs"),
            include_str!("routes/admin_pages/signin.rs"),
            include_str!("routes/admin_pages/settings.rs"),
            include_str!("routes/admin_pages/people.rs"),
            include_str!("routes/admin_pages/reports.rs"),
        ]);
        let catalogue = Catalogue::new();
        let mut used = 0;
        for source in sources {
            for marker in ["t(\"", "t('", "&ctx, \"", "ctx, \""] {
                for part in source.split(marker).skip(1) {
                    let key: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                        .collect();
                    // Keys built at run time (`methods.{…}`, `error.{…}`) end in a dot here.
                    if key.contains('.') && !key.ends_with('.') && !key.ends_with('_') {
                        used += 1;
                        // A plural (`plural(…, "me.status_registered", n)`) has `_one`/`_other`.
                        let plural = format!("{key}_one");
                        assert!(
                            catalogue.has(Locale::En, &key) || catalogue.has(Locale::En, &plural),
                            "no text {key:?}"
                        );
                    }
                }
            }
        }
        assert!(
            used > 80,
            "only {used} texts found: is the scan still right?"
        );
    }

    #[test]
    fn counts_take_the_plural_form_of_the_language() {
        let t = Templates::new();
        let say = |lang: &str, n: i64| {
            t.env
                .render_str(
                    "{{ t('admin.users_found', count=n) }}",
                    context! { lang => lang, n => n },
                )
                .unwrap()
        };
        assert_eq!(say("en", 1), "1 user");
        assert_eq!(say("en", 0), "0 users");
        assert_eq!(say("en", 12), "12 users");
        assert_eq!(say("fr", 0), "0 utilisateur");
        assert_eq!(say("fr", 2), "2 utilisateurs");
        assert_eq!(say("de", 1), "1 Benutzer");
        assert_eq!(say("es", 1), "1 usuario");
        // A key without plural forms is used as it is, count or not.
        let plain = t
            .env
            .render_str(
                "{{ t('admin.members_count', shown=1, total=1) }}",
                context! { lang => "en" },
            )
            .unwrap();
        assert!(plain.starts_with("1 of 1 direct members"), "{plain}");
    }

    #[test]
    fn pages_speak_the_language_of_the_request() {
        let t = Templates::new();
        let de = t
            .render("signin.html", context! { org => "Example", lang => "de" })
            .unwrap();
        assert!(de.contains("<html lang=\"de\">"), "{de}");
        assert!(de.contains("Anmelden"), "{de}");
        let en = t
            .render("signin.html", context! { org => "Example" })
            .unwrap();
        assert!(en.contains("Username or email"), "{en}");
    }

    #[test]
    fn every_page_renders_and_escapes() {
        let t = Templates::new();
        let html = t
            .render(
                "error.html",
                context! { org => "Ex<ample>", title => "Oops", message => "<script>x</script>", support_code => "abc" },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>x"));
        for page in [
            "home.html",
            "signin.html",
            "me.html",
            "security_info.html",
            "register.html",
            "questions.html",
        ] {
            t.render(page, context! { org => "Example" }).unwrap();
        }
        // The reset pages always have a flow (or none yet) and a method.
        for page in [
            "reset_start.html",
            "reset_verify.html",
            "reset_code.html",
            "reset_questions.html",
            "reset_passkey.html",
            "reset_password.html",
            "reset_message.html",
        ] {
            let html = t
                .render(
                    page,
                    context! {
                        org => "Example",
                        flow_id => "f<1>",
                        method => context! { id => "m1", type => "email", hint => "a•••@x.org" },
                        helpdesk => context! { href => "https://help.example.org", external => true },
                        help => true,
                    },
                )
                .unwrap();
            assert!(!html.contains("f<1>"), "{page} escapes: {html}");
        }
    }
}
