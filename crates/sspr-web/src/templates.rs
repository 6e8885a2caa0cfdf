//! Server-rendered pages (minijinja, autoescaped). The templates are compiled into the binary.

use minijinja::Environment;

pub struct Templates {
    env: Environment<'static>,
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
];

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in PAGES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        Self { env }
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
    }
}
