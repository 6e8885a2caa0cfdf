//! A form body as the browser sent it: repeated names (checkbox groups) kept, nothing dropped.
//! `axum::Form` cannot read repeated names into a list, and the portal's forms have several.

pub(crate) struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// The first value of `name`, trimmed, or "" when the field was not sent.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every value of `name`, in the order sent.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: present (with any value) means ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Non-empty trimmed lines of a textarea.
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        self.text(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A whole number; `Err` carries the field's name for the error list.
    pub(crate) fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T, String> {
        self.text(name).parse().map_err(|_| name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_and_textareas_survive() {
        let f = FormFields::parse(b"method=email&method=passkey&n=%2012%20&q=a%0D%0A%0D%0Ab+c&on=");
        assert_eq!(f.all("method").collect::<Vec<_>>(), ["email", "passkey"]);
        assert_eq!(f.number::<u8>("n"), Ok(12));
        assert_eq!(f.number::<u8>("method"), Err("method".to_owned()));
        assert_eq!(f.lines("q"), ["a", "b c"]);
        assert!(f.checked("on"));
        assert!(!f.checked("off"));
        assert_eq!(f.text("missing"), "");
    }
}
