//! Charts rendered as SVG on the server (no script): columns for a series over days,
//! horizontal bars for a ranking. Text is escaped; sizes are fixed viewBox units so the
//! chart scales with the page.

/// Width of a chart's viewBox, in SVG units.
pub const CHART_WIDTH_UNITS: i64 = 600;
/// Height of a bar of a ranking, in SVG units.
pub const BAR_HEIGHT_UNITS: i64 = 26;
/// Height of a column chart's plot, in SVG units.
pub const COLUMN_PLOT_HEIGHT_UNITS: i64 = 160;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Columns, one per item (label under it, value above it). `title` names the chart for
/// assistive technology.
pub fn columns(title: &str, items: &[(String, i64)], fmt: &dyn Fn(i64) -> String) -> String {
    let n = i64::try_from(items.len()).unwrap_or(1).max(1);
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let slot = CHART_WIDTH_UNITS / n;
    let bar = (slot * 2 / 3).max(2);
    let top = 20;
    let h = top + COLUMN_PLOT_HEIGHT_UNITS + 30;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {CHART_WIDTH_UNITS} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for (k, (label, v)) in items.iter().enumerate() {
        let k = i64::try_from(k).unwrap_or(0);
        let bh = (*v).max(0) * COLUMN_PLOT_HEIGHT_UNITS / max;
        let x = k * slot + (slot - bar) / 2;
        let y = top + COLUMN_PLOT_HEIGHT_UNITS - bh;
        let cx = k * slot + slot / 2;
        out.push_str(&format!(
            r#"<rect class="bar" x="{x}" y="{y}" width="{bar}" height="{bh}"><title>{}: {}</title></rect><text class="val" x="{cx}" y="{}" text-anchor="middle">{}</text><text class="lbl" x="{cx}" y="{}" text-anchor="middle">{}</text>"#,
            esc(label),
            esc(&fmt(*v)),
            y - 4,
            esc(&fmt(*v)),
            top + COLUMN_PLOT_HEIGHT_UNITS + 18,
            esc(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per item, longest = largest value.
pub fn bars(title: &str, items: &[(String, i64)], fmt: &dyn Fn(i64) -> String) -> String {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let label_w = 170;
    let value_w = 110;
    let plot = CHART_WIDTH_UNITS - label_w - value_w;
    let h = i64::try_from(items.len()).unwrap_or(0) * BAR_HEIGHT_UNITS + 8;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {CHART_WIDTH_UNITS} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for (k, (label, v)) in items.iter().enumerate() {
        let y = i64::try_from(k).unwrap_or(0) * BAR_HEIGHT_UNITS + 4;
        let w = ((*v).max(0) * plot / max).max(1);
        let short: String = label.chars().take(18).collect();
        out.push_str(&format!(
            r#"<text class="lbl" x="{}" y="{}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{y}" width="{w}" height="{}"><title>{}: {}</title></rect><text class="val" x="{}" y="{}">{}</text>"#,
            label_w - 6,
            y + 16,
            esc(&short),
            BAR_HEIGHT_UNITS - 8,
            esc(label),
            esc(&fmt(*v)),
            label_w + w + 6,
            y + 16,
            esc(&fmt(*v))
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_and_scale() {
        let items = vec![("a<b".to_owned(), 10), ("c".to_owned(), 5)];
        let s = bars("t&t", &items, &|v| v.to_string());
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("a&lt;b") && s.contains("t&amp;t"));
        assert!(!s.contains("a<b"));
        let c = columns("days", &items, &|v| v.to_string());
        assert_eq!(c.matches("<rect").count(), 2);
        assert!(columns("empty", &[], &|v| v.to_string()).ends_with("</svg>"));
    }
}
