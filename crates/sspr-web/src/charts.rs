//! Charts for the portal's usage and insights, drawn on the server as SVG: no JavaScript, no
//! third-party script, nothing for the CSP to allow (colours are presentation attributes, not
//! `style`). Each chart is an image with a title and a description for screen readers, and
//! every bar carries its exact value as a tooltip; the pages also show the numbers as a table.

use std::fmt::Write;

/// A palette that keeps 3:1 contrast against white (WCAG 1.4.11, non-text contrast) and stays
/// distinguishable for the common colour-vision deficiencies (Okabe–Ito, darkened).
pub const PALETTE: [&str; 6] = [
    "#0b5cad", "#b35900", "#1a7f37", "#a4161a", "#6f42c1", "#5a6270",
];

/// One coloured part of each bar.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<u64>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;
const LEGEND: f64 = 28.0;

/// Stacked vertical bars, one per label (a day), one colour per series. `id` must be unique on
/// the page (it names the title and description elements).
pub fn stacked_bars(
    id: &str,
    title: &str,
    description: &str,
    labels: &[String],
    series: &[Series],
) -> String {
    let totals: Vec<u64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().max().unwrap_or(0));
    let plot_h = HEIGHT - TOP - BOTTOM - LEGEND;
    let plot_w = WIDTH - LEFT - 8.0;
    let slot = plot_w / labels.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" class="chart" id="{id}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    // Grid lines and their values: 0, half, max.
    for step in 0..=2u64 {
        let value = max * step / 2;
        let y = TOP + LEGEND + plot_h - plot_h * value as f64 / max as f64;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d7de"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#4a5561">{value}</text>"##,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = TOP + LEGEND + plot_h;
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = plot_h * v as f64 / max as f64;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{}: {} {v}</title></rect>"#,
                PALETTE[k % PALETTE.len()],
                escape(label),
                escape(s.name)
            );
        }
        // Day labels: every one when they fit, else every n-th.
        let every = (labels.len() as f64 / (plot_w / 48.0)).ceil().max(1.0) as usize;
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#4a5561">{}</text>"##,
                x + bar / 2.0,
                HEIGHT - BOTTOM + 16.0,
                escape(short_day(label))
            );
        }
    }
    legend(&mut svg, series.iter().map(|s| s.name));
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per item (e.g. registrations per method).
pub fn horizontal_bars(
    id: &str,
    title: &str,
    description: &str,
    items: &[(String, u64)],
) -> String {
    let row = 26.0;
    let label_w = 200.0;
    let height = TOP + row * items.len().max(1) as f64 + 8.0;
    let max = nice_max(items.iter().map(|(_, v)| *v).max().unwrap_or(0));
    let plot_w = WIDTH - label_w - 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title {id}-desc" class="chart" id="{id}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = TOP + row * i as f64;
        let w = plot_w * *v as f64 / max as f64;
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="#1b1f24">{}</text><rect x="{label_w}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {v}</title></rect><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1f24">{v}</text>"##,
            label_w - 8.0,
            y + row * 0.6,
            escape(name),
            y + 4.0,
            row - 8.0,
            PALETTE[0],
            escape(name),
            label_w + w + 6.0,
            y + row * 0.6
        );
    }
    svg.push_str("</svg>");
    svg
}

fn legend<'a>(svg: &mut String, names: impl Iterator<Item = &'a str>) {
    let mut x = LEFT;
    for (k, name) in names.enumerate() {
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{TOP}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1f24">{}</text>"##,
            PALETTE[k % PALETTE.len()],
            x + 16.0,
            TOP + 10.0,
            escape(name)
        );
        x += 16.0 + 7.0 * name.chars().count() as f64 + 18.0;
    }
}

/// A round axis maximum at or above `max` (1, 2, 5 × 10ⁿ), never 0.
fn nice_max(max: u64) -> u64 {
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            if base * m >= max.max(1) {
                return base * m;
            }
        }
        base = base.saturating_mul(10);
    }
}

/// `2026-11-25` → `11-25` (the axis has little room; the tooltip has the whole date).
fn short_day(label: &str) -> &str {
    if label.len() == 10 && label.as_bytes()[4] == b'-' {
        &label[5..]
    } else {
        label
    }
}

/// Text for SVG/XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(4999), 5000);
    }

    #[test]
    fn bars_are_as_tall_as_their_values_and_text_is_escaped() {
        let labels = vec!["2026-11-24".to_owned(), "2026-11-25".to_owned()];
        let svg = stacked_bars(
            "t",
            "Resets <&>",
            "per day",
            &labels,
            &[
                Series {
                    name: "reset",
                    values: vec![2, 5],
                },
                Series {
                    name: "unlock",
                    values: vec![0, 5],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Resets &lt;&amp;&gt;"));
        assert!(!svg.contains("<&>"));
        // Axis max 10 over a plot of HEIGHT-TOP-BOTTOM-LEGEND = 176 px: 5 → 88 px, 2 → 35.2 px.
        assert!(svg.contains(r#"height="88.0""#));
        assert!(svg.contains(r#"height="35.2""#));
        // A zero draws nothing, the values are in the tooltips.
        assert_eq!(
            svg.matches("<rect x=").count() - 2,
            3,
            "three bars and two legend keys"
        );
        assert!(svg.contains("<title>2026-11-25: unlock 5</title>"));
        assert!(svg.contains(">11-25<"));
    }

    #[test]
    fn horizontal_bars_scale_to_the_largest() {
        let svg = horizontal_bars(
            "m",
            "Methods",
            "registered users per method",
            &[("Email".into(), 10), ("Passkey".into(), 5)],
        );
        let plot = WIDTH - 200.0 - 60.0;
        assert!(svg.contains(&format!(r#"width="{plot:.1}""#)));
        assert!(svg.contains(&format!(r#"width="{:.1}""#, plot / 2.0)));
    }
}
