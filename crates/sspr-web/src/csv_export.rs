//! CSV downloads of admin data (audit log, reports): RFC 4180 quoting by the `csv` crate, and
//! every cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
//! or a tab / carriage return) prefixed with `'` — audit records hold text that anonymous
//! visitors chose (user names typed at the reset start, user agents), and an export must not
//! run it in an administrator's spreadsheet (CSV injection, OWASP).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The cell as written: a leading formula character is neutralised.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes a header row and the rows as CSV text.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| neutralise(c).into_owned()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A CSV download named `filename`.
pub fn response(filename: &str, header: &[&str], rows: &[Vec<String>]) -> Response {
    let mut res = (StatusCode::OK, to_csv(header, rows)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_follows_rfc_4180() {
        let rows = vec![vec![
            "=HYPERLINK(\"http://x\")".to_owned(),
            "+1".to_owned(),
            "-2".to_owned(),
            "@SUM(A1)".to_owned(),
            "a,b".to_owned(),
            "say \"hi\"".to_owned(),
            "line\nbreak".to_owned(),
            "plain".to_owned(),
        ]];
        let csv = to_csv(&["a", "b", "c", "d", "e", "f", "g", "h"], &rows);
        // Records end in CRLF; a line break inside a quoted cell stays as it was.
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some("a,b,c,d,e,f,g,h"));
        assert_eq!(
            lines.next(),
            Some(
                "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",plain"
            )
        );
        assert_eq!(lines.next(), Some(""));
    }
}
