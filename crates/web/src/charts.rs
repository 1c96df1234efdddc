//! Bar charts as inline SVG, rendered on the server (no JavaScript, no chart library).
//!
//! Every chart is an `<svg role="img">` with a `<title>` (and `aria-labelledby` pointing at
//! it) and a fixed `viewBox`, so it scales with the page. Every bar is a `<rect>` carrying
//! machine-readable `data-label` and `data-value` attributes and its own `<title>` ("40-44
//! female: 3"), which screen readers and tooltips use and tests parse. All text is escaped
//! here (the templates embed the result with `|safe`). Colours are the stylesheet's
//! palette, given as presentation attributes: the CSP allows no inline style, and SVG
//! markup is not script.

use std::fmt::Write as _;

/// The stylesheet's palette (`assets/app.css`), for series colours.
pub const PALETTE: [&str; 5] = ["#0b5c7a", "#f2a900", "#1d6b36", "#4a5866", "#a4161a"];
const INK: &str = "#1b2630";
const MUTED: &str = "#4a5866";

/// One bar: its label and count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u64,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: u64) -> Self {
        Self {
            label: label.into(),
            value,
        }
    }
}

/// A group of bars, one per series (an age band split by sex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn open_svg(out: &mut String, id: &str, title: &str, width: u32, height: u32) {
    let id = escape(id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"{id}-title\" \
         viewBox=\"0 0 {width} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" \
         class=\"dashboard-chart\" data-chart=\"{id}\"><title id=\"{id}-title\">{}</title>",
        escape(title)
    );
}

fn rect(out: &mut String, label: &str, value: u64, geometry: (f64, f64, f64, f64), fill: &str) {
    let (x, y, w, h) = geometry;
    let label = escape(label);
    let _ = write!(
        out,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" \
         data-label=\"{label}\" data-value=\"{value}\"><title>{label}: {value}</title></rect>"
    );
}

/// Vertical bars over a time axis (days, weeks): every bar is drawn (zero too), and every
/// `label_every`-th label (counting back from the last) is written under the axis.
pub fn vertical_bars(id: &str, title: &str, bars: &[Bar], label_every: usize) -> String {
    const HEIGHT: f64 = 180.0;
    const TOP: f64 = 16.0;
    const LEFT: f64 = 36.0;
    // At least 24 units a bar, and about 600 in all, so short series do not grow tall.
    let slot = (600.0 / bars.len().max(1) as f64).max(24.0);
    let width = LEFT + slot * bars.len().max(1) as f64 + 60.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let mut out = String::new();
    open_svg(&mut out, id, title, width as u32, (HEIGHT + 56.0) as u32);
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{HEIGHT}\" x2=\"{width:.1}\" y2=\"{HEIGHT}\" stroke=\"{MUTED}\" stroke-width=\"1\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\" fill=\"{MUTED}\">{max}</text>\
         <text x=\"{}\" y=\"{HEIGHT}\" text-anchor=\"end\" font-size=\"10\" fill=\"{MUTED}\">0</text>",
        LEFT - 4.0,
        TOP + 4.0,
        LEFT - 4.0,
    );
    let every = label_every.max(1);
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + 3.0;
        let h = (HEIGHT - TOP) * bar.value as f64 / max as f64;
        rect(
            &mut out,
            &bar.label,
            bar.value,
            (x, HEIGHT - h, (slot - 6.0).min(40.0), h),
            PALETTE[0],
        );
        // The latest bar is always labelled, and every `every`-th before it.
        if (bars.len() - 1 - i).is_multiple_of(every) {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"9\" fill=\"{MUTED}\" \
                 transform=\"rotate(35 {x:.1} {})\">{}</text>",
                HEIGHT + 12.0,
                HEIGHT + 12.0,
                escape(&bar.label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars with their labels and counts written beside them (departments,
/// statuses).
pub fn horizontal_bars(id: &str, title: &str, bars: &[Bar]) -> String {
    const LABEL: f64 = 170.0;
    const PLOT: f64 = 300.0;
    const ROW: f64 = 22.0;
    let height = ROW * bars.len().max(1) as f64 + 10.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let mut out = String::new();
    open_svg(
        &mut out,
        id,
        title,
        (LABEL + PLOT + 50.0) as u32,
        height as u32,
    );
    if bars.is_empty() {
        let _ = write!(
            out,
            "<text x=\"4\" y=\"18\" font-size=\"12\" fill=\"{MUTED}\">Nothing to show.</text>"
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 5.0 + ROW * i as f64;
        let w = PLOT * bar.value as f64 / max as f64;
        let label = escape(&bar.label);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"{INK}\">{label}</text>",
            LABEL - 6.0,
            y + 13.0
        );
        rect(
            &mut out,
            &bar.label,
            bar.value,
            (LABEL, y, w, ROW - 6.0),
            PALETTE[0],
        );
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{INK}\">{}</text>",
            LABEL + w + 4.0,
            y + 13.0,
            bar.value
        );
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars grouped by `groups` (age bands), one bar per series (sexes) in each,
/// with a legend. Each bar's `data-label` is "<group> <series>" ("40-44 female").
pub fn grouped_bars(id: &str, title: &str, series: &[&str], groups: &[Group]) -> String {
    const LABEL: f64 = 60.0;
    const PLOT: f64 = 360.0;
    const BAR: f64 = 7.0;
    const LEGEND: f64 = 22.0;
    let group_height = BAR * series.len().max(1) as f64 + 8.0;
    let height = LEGEND + group_height * groups.len().max(1) as f64 + 6.0;
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.value))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = String::new();
    open_svg(
        &mut out,
        id,
        title,
        (LABEL + PLOT + 40.0) as u32,
        height as u32,
    );
    for (i, name) in series.iter().enumerate() {
        let x = LABEL + 90.0 * i as f64;
        let _ = write!(
            out,
            "<g class=\"legend\"><rect x=\"{x:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"13\" font-size=\"11\" fill=\"{INK}\">{}</text></g>",
            PALETTE[i % PALETTE.len()],
            x + 14.0,
            escape(name)
        );
    }
    if groups.is_empty() {
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\" fill=\"{MUTED}\">Nothing to show.</text>",
            LEGEND + 14.0
        );
    }
    for (g, group) in groups.iter().enumerate() {
        let top = LEGEND + group_height * g as f64;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"{INK}\">{}</text>",
            LABEL - 6.0,
            top + (group_height - 8.0) / 2.0 + 4.0,
            escape(&group.label)
        );
        for (i, bar) in group.bars.iter().enumerate() {
            let w = PLOT * bar.value as f64 / max as f64;
            let series_name = series.get(i).copied().unwrap_or(bar.label.as_str());
            let y = top + BAR * i as f64;
            rect(
                &mut out,
                &format!("{} {}", group.label, series_name),
                bar.value,
                (LABEL, y, w, BAR - 1.0),
                PALETTE[i % PALETTE.len()],
            );
            if bar.value > 0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" fill=\"{INK}\">{}</text>",
                    LABEL + w + 3.0,
                    y + BAR - 1.0,
                    bar.value
                );
            }
        }
        let _ = write!(
            out,
            "<line x1=\"{LABEL}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d5dde4\" stroke-width=\"1\"/>",
            top + group_height - 4.0,
            LABEL + PLOT,
            top + group_height - 4.0
        );
    }
    out.push_str("</svg>");
    out
}

/// A sparkline of one vital sign's last readings (`VitalsTrend`, oldest first): the line,
/// the adult reference range as a pale band, and every reading a dot that carries
/// `data-value`, `data-flag` (`high`, `low`, `normal`) and its own `<title>` ("2026-03-02
/// 09:15: 38.6 °C, high"); abnormal readings are drawn larger in the danger colour. Times in
/// `zone`. Small enough for a table cell or a chart's vitals row.
pub fn sparkline(
    id: &str,
    trend: &carevault_service::vitals::VitalsTrend,
    zone: chrono_tz::Tz,
) -> String {
    const WIDTH: f64 = 140.0;
    const HEIGHT: f64 = 36.0;
    const PAD: f64 = 5.0;
    let values: Vec<f64> = trend.points.iter().map(|p| p.number).collect();
    let mut low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if let Some(l) = trend.normal_low {
        low = low.min(l);
        high = high.max(l);
    }
    if let Some(h) = trend.normal_high {
        high = high.max(h);
        low = low.min(h);
    }
    if !low.is_finite() || !high.is_finite() {
        low = 0.0;
        high = 1.0;
    }
    if (high - low).abs() < f64::EPSILON {
        high = low + 1.0;
    }
    let y = |v: f64| HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2.0 * PAD);
    let step = if trend.points.len() > 1 {
        (WIDTH - 2.0 * PAD) / (trend.points.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        if trend.points.len() > 1 {
            PAD + step * i as f64
        } else {
            WIDTH / 2.0
        }
    };
    let title = match (trend.points.first(), trend.latest()) {
        (Some(first), Some(last)) if trend.points.len() > 1 => format!(
            "{}, last {} readings: {} to {} {}",
            trend.label,
            trend.points.len(),
            first.value,
            last.value,
            trend.short_unit
        ),
        (_, Some(last)) => format!("{}: {} {}", trend.label, last.value, trend.short_unit),
        _ => format!("{}: no readings", trend.label),
    };
    let id = escape(id);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"{id}-title\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" class=\"sparkline\" \
         data-sparkline=\"{}\"><title id=\"{id}-title\">{}</title>",
        escape(trend.field),
        escape(&title)
    );
    if let Some(l) = trend.normal_low {
        let top = trend.normal_high.map_or(PAD, y);
        let bottom = y(l);
        let _ = write!(
            out,
            "<rect class=\"normal-band\" x=\"0\" y=\"{top:.1}\" width=\"{WIDTH}\" height=\"{:.1}\" \
             fill=\"#e3f2e8\"/>",
            (bottom - top).max(0.5)
        );
    }
    if trend.points.len() > 1 {
        let points: Vec<String> = trend
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.number)))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
            points.join(" "),
            PALETTE[0]
        );
    }
    for (i, p) in trend.points.iter().enumerate() {
        let abnormal = p.flag.is_abnormal();
        let when = p.at.with_timezone(&zone).format("%Y-%m-%d %H:%M");
        let flag = if abnormal {
            format!(", {}", p.flag.as_str())
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{}\" data-value=\"{}\" data-flag=\"{}\">\
             <title>{when}: {} {}{flag}</title></circle>",
            x(i),
            y(p.number),
            if abnormal { 3.2 } else { 2.2 },
            if abnormal { PALETTE[4] } else { PALETTE[0] },
            escape(&p.value),
            p.flag.as_str(),
            escape(&p.value),
            escape(trend.short_unit),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars_of(svg: &str) -> Vec<(String, u64)> {
        svg.split("<rect ")
            .skip(1)
            .filter_map(|r| {
                let label = r.split("data-label=\"").nth(1)?.split('"').next()?;
                let value = r.split("data-value=\"").nth(1)?.split('"').next()?;
                Some((label.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn labels_are_escaped() {
        let svg = horizontal_bars(
            "x",
            "A <b> & \"c\"",
            &[Bar::new("<script>alert(1)</script>", 2)],
        );
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("A &lt;b&gt; &amp; &quot;c&quot;"));
    }

    #[test]
    fn every_bar_carries_its_count() {
        let svg = vertical_bars(
            "days",
            "Per day",
            &[Bar::new("2026-03-01", 0), Bar::new("2026-03-02", 5)],
            1,
        );
        assert_eq!(
            bars_of(&svg),
            vec![("2026-03-01".into(), 0), ("2026-03-02".into(), 5)]
        );
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"days-title\">Per day</title>"));
        assert!(svg.contains("<title>2026-03-02: 5</title>"));
    }

    #[test]
    fn grouped_bars_name_group_and_series() {
        let svg = grouped_bars(
            "ages",
            "Ages",
            &["female", "male"],
            &[Group {
                label: "40-44".into(),
                bars: vec![Bar::new("female", 3), Bar::new("male", 1)],
            }],
        );
        assert_eq!(
            bars_of(&svg)
                .into_iter()
                .filter(|(l, _)| !l.is_empty())
                .collect::<Vec<_>>(),
            vec![("40-44 female".into(), 3), ("40-44 male".into(), 1)]
        );
    }

    #[test]
    fn a_sparkline_marks_abnormal_readings() {
        use carevault_core::reference_range::VitalFlag;
        use carevault_service::vitals::{TrendPoint, VitalsTrend};
        use chrono::TimeZone;
        let at = |h| chrono::Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap();
        let trend = VitalsTrend {
            field: "temperature_c",
            label: "Temperature",
            unit: "°C",
            short_unit: "°C",
            reference: Some("36.1–37.9 °C".into()),
            normal_low: Some(36.1),
            normal_high: Some(37.9),
            points: vec![
                TrendPoint {
                    at: at(9),
                    value: "36.8".into(),
                    number: 36.8,
                    flag: VitalFlag::Normal,
                },
                TrendPoint {
                    at: at(10),
                    value: "38.6".into(),
                    number: 38.6,
                    flag: VitalFlag::High,
                },
            ],
        };
        let svg = sparkline("t1", &trend, chrono_tz::Tz::UTC);
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("data-sparkline=\"temperature_c\""));
        assert!(svg.contains("data-value=\"38.6\" data-flag=\"high\""));
        assert!(svg.contains("data-value=\"36.8\" data-flag=\"normal\""));
        assert!(svg.contains("<title>2026-03-02 10:00: 38.6 °C, high</title>"));
        assert!(svg.contains("Temperature, last 2 readings: 36.8 to 38.6 °C"));
        assert!(svg.contains("<polyline "));
    }
}
