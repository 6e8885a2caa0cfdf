//! The QR code shown at TOTP enrolment (SPEC §6: "rendered server-side as SVG").
//!
//! Rendered on the server so that the page needs no script and the otpauth URI — which holds
//! the seed — never reaches a third-party service or a client-side library. The SVG is inline
//! markup: it carries `role="img"`, an `aria-label` and a `<title>` so that screen readers
//! announce it, with the label XML-escaped (it may hold an account name).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Rendered size: at least this many pixels square (a module is then 4–6 px for an otpauth
/// URI, which phones scan reliably from a screen).
const MIN_SIZE_PX: u32 = 200;

/// `data` as a QR code (error correction M, 4-module quiet zone) in an inline `<svg>` element
/// titled `label`. Deterministic: the same input gives the same markup.
///
/// Data beyond a QR code's capacity (≈ 2.3 kB at level M; an otpauth URI is < 200 bytes)
/// yields a blank titled `<svg>` rather than a panic.
pub fn qr_svg(data: &str, label: &str) -> String {
    let label = xml_escape(label);
    let body = match QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(MIN_SIZE_PX, MIN_SIZE_PX)
            .dark_color(svg::Color("#000"))
            .light_color(svg::Color("#fff"))
            .build(),
        Err(_) => format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{MIN_SIZE_PX}" height="{MIN_SIZE_PX}"></svg>"#
        ),
    };
    // Drop the XML declaration (not allowed inside HTML) and add the accessible name.
    let svg = match body.find("<svg") {
        Some(start) => &body[start..],
        None => body.as_str(),
    };
    let Some(open_end) = svg.find('>') else {
        return svg.to_owned();
    };
    let (open, rest) = svg.split_at(open_end);
    let rest = &rest[1..];
    format!(r#"{open} role="img" aria-label="{label}"><title>{label}</title>{rest}"#)
}

/// Escapes text for XML content and double-quoted attributes.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "otpauth://totp/Acme:ada%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme";

    #[test]
    fn renders_an_accessible_inline_svg() {
        let svg = qr_svg(URI, "QR code for your authenticator app");
        assert!(svg.starts_with("<svg "), "{}", &svg[..80]);
        assert!(!svg.contains("<?xml"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="QR code for your authenticator app""#));
        assert!(svg.contains("<title>QR code for your authenticator app</title>"));
        assert!(svg.contains(r##"fill="#000""##));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("</svg>").count(), 1);
    }

    #[test]
    fn size_is_about_200_px() {
        let svg = qr_svg(URI, "x");
        let width: u32 = svg
            .split(r#"width=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!((200..=320).contains(&width), "{width}");
    }

    #[test]
    fn is_deterministic_and_depends_on_data() {
        assert_eq!(qr_svg(URI, "a"), qr_svg(URI, "a"));
        assert_ne!(qr_svg(URI, "a"), qr_svg("otpauth://totp/other", "a"));
    }

    #[test]
    fn label_is_escaped() {
        let svg = qr_svg("x", r#"<script>"&'</script>"#);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("<title>&lt;script&gt;&quot;&amp;&apos;&lt;/script&gt;</title>"));
        assert!(svg.contains(r#"aria-label="&lt;script&gt;&quot;&amp;&apos;&lt;/script&gt;""#));
        assert!(!qr_svg("x", "a\u{0}b").contains('\u{0}'));
    }

    #[test]
    fn oversized_data_gives_a_blank_titled_svg() {
        let svg = qr_svg(&"x".repeat(10_000), "too big");
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("<title>too big</title>"));
        assert!(!svg.contains("<path"));
    }
}
