//! The view-model of `templates/vitals_table.html`, the one way vitals are shown as a table:
//! one row per reading (when, who), a column per vital sign measured in any of them with its
//! unit and adult reference range in the heading, every abnormal value marked `H` or `L`
//! (with words for screen readers and `data-flag="high|low"`), and the BMI with its
//! category. A template includes the partial with a `vitals_table` value in scope:
//!
//! ```text
//! {% let vitals_table = page.vitals_table %}{% include "vitals_table.html" %}
//! ```
//!
//! At phone width the stylesheet turns each reading into a block of labelled values
//! (`data-label`), so no column scrolls out of sight.

use carevault_core::clinical::VITAL_RANGES;
use carevault_core::reference_range::{VitalFlag, reference_range};
use carevault_service::encounters::VitalsView;
use chrono_tz::Tz;

/// A column: one vital sign.
#[derive(Debug, Clone)]
pub struct VitalColumn {
    pub field: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    /// The adult reference range as numbers under the heading ("36.1–37.9", "≥ 95"), when
    /// the sign has one; the unit is in the heading.
    pub reference: Option<String>,
    /// The same in words with its unit ("36.1–37.9 °C"), for the heading's title.
    pub reference_text: Option<String>,
}

/// One value of a reading.
#[derive(Debug, Clone)]
pub struct VitalCell {
    pub field: &'static str,
    /// "Temperature (°C) 36.1–37.9", for the phone layout's label.
    pub heading: String,
    /// `None`: not measured in this reading.
    pub value: Option<String>,
    /// `high`, `low` or `normal`.
    pub flag: &'static str,
    /// `H`, `L` or empty.
    pub marker: &'static str,
    /// For screen readers: "high, normal range 36.1–37.9 °C" (empty when normal).
    pub spoken: String,
}

impl VitalCell {
    pub fn abnormal(&self) -> bool {
        self.flag != "normal"
    }
}

/// One reading.
#[derive(Debug, Clone)]
pub struct VitalsTableRow {
    pub id: String,
    pub at: String,
    pub by: String,
    pub cells: Vec<VitalCell>,
    /// "24.2 (normal)".
    pub bmi: Option<String>,
    pub abnormal: bool,
}

/// A table of readings.
#[derive(Debug, Clone)]
pub struct VitalsTable {
    /// Unique on the page (ids of the caption and footnote).
    pub id: String,
    pub caption: String,
    pub columns: Vec<VitalColumn>,
    pub rows: Vec<VitalsTableRow>,
    pub show_bmi: bool,
    /// What the table says when there is no reading.
    pub empty_text: String,
}

impl VitalsTable {
    /// A table of `readings` (in the order given), times in `zone`.
    pub fn new(id: &str, caption: &str, readings: &[VitalsView], zone: Tz) -> Self {
        let columns: Vec<VitalColumn> = VITAL_RANGES
            .iter()
            .filter(|range| {
                readings
                    .iter()
                    .any(|r| r.measurement(range.field).is_some())
            })
            .map(|range| VitalColumn {
                field: range.field,
                label: range.label,
                unit: range.short_unit,
                reference: reference_range(range.field).map(|r| {
                    if r.high == u32::MAX {
                        format!("≥ {}", range.format(r.low))
                    } else {
                        format!("{}–{}", range.format(r.low), range.format(r.high))
                    }
                }),
                reference_text: reference_range(range.field).map(|r| r.describe()),
            })
            .collect();
        let rows = readings
            .iter()
            .map(|r| {
                let cells: Vec<VitalCell> = columns
                    .iter()
                    .map(|c| {
                        // The phone layout shows this instead of the column heading.
                        let heading = match &c.reference {
                            Some(range) => format!("{} ({}) {range}", c.label, c.unit),
                            None => format!("{} ({})", c.label, c.unit),
                        };
                        match r.measurement(c.field) {
                            None => VitalCell {
                                field: c.field,
                                heading,
                                value: None,
                                flag: "normal",
                                marker: "",
                                spoken: String::new(),
                            },
                            Some(m) => VitalCell {
                                field: c.field,
                                heading,
                                value: Some(m.value.clone()),
                                flag: m.flag.as_str(),
                                marker: marker(m.flag),
                                spoken: match (&m.reference, m.flag) {
                                    (_, VitalFlag::Normal) => String::new(),
                                    (Some(range), flag) => {
                                        format!("{}, normal range {range}", flag.as_str())
                                    }
                                    (None, flag) => flag.as_str().to_owned(),
                                },
                            },
                        }
                    })
                    .collect();
                VitalsTableRow {
                    id: r.id.clone(),
                    at: r
                        .at
                        .with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    by: r.recorded_by.clone(),
                    abnormal: cells.iter().any(VitalCell::abnormal),
                    cells,
                    bmi: r
                        .bmi
                        .as_ref()
                        .map(|b| format!("{} ({})", b.value, b.category.as_str())),
                }
            })
            .collect();
        Self {
            id: id.to_owned(),
            caption: caption.to_owned(),
            show_bmi: readings.iter().any(|r| r.bmi.is_some()),
            columns,
            rows,
            empty_text: "No vitals recorded.".to_owned(),
        }
    }

    /// The same, saying `text` when there is no reading.
    pub fn empty_text(mut self, text: &str) -> Self {
        self.empty_text = text.to_owned();
        self
    }

    /// Whether any value is flagged.
    pub fn any_abnormal(&self) -> bool {
        self.rows.iter().any(|r| r.abnormal)
    }
}

fn marker(flag: VitalFlag) -> &'static str {
    match flag {
        VitalFlag::High => "H",
        VitalFlag::Low => "L",
        VitalFlag::Normal => "",
    }
}

/// A sign's trend beside the table: its sparkline and latest value.
#[derive(Debug, Clone)]
pub struct TrendItem {
    pub field: &'static str,
    /// "Temperature (°C)".
    pub label: String,
    /// The inline SVG (escaped when built).
    pub svg: String,
    pub latest: String,
    /// `high`, `low` or `normal`.
    pub flag: &'static str,
    pub marker: &'static str,
}

/// The trends of every sign measured more than once in `readings` (any order), over the
/// last `n` readings each.
pub fn trend_items(readings: &[VitalsView], n: usize, zone: Tz) -> Vec<TrendItem> {
    VITAL_RANGES
        .iter()
        .filter_map(|r| carevault_service::vitals::trend_of(readings, r.field, n))
        .filter(|t| t.points.len() > 1)
        .filter_map(|t| {
            let latest = t.latest()?.clone();
            Some(TrendItem {
                field: t.field,
                label: format!("{} ({})", t.label, t.short_unit),
                svg: crate::charts::sparkline(&format!("trend-{}", t.field), &t, zone),
                latest: latest.value,
                flag: latest.flag.as_str(),
                marker: marker(latest.flag),
            })
        })
        .collect()
}

/// A reading as one line of text, each abnormal value followed by "(high)" or "(low)" and
/// its range: for the PDF summary and plain-text views.
pub fn reading_as_text(reading: &VitalsView, zone: Tz) -> String {
    let mut parts: Vec<String> = reading
        .measurements
        .iter()
        .map(|m| {
            let mut part = format!("{} {} {}", m.label, m.value, m.short_unit);
            if m.flag.is_abnormal() {
                part.push_str(&format!(" ({})", m.flag.as_str()));
                if let Some(range) = &m.reference {
                    part.push_str(&format!(" [normal {range}]"));
                }
            }
            part
        })
        .collect();
    if let Some(b) = &reading.bmi {
        parts.push(format!("BMI {} ({})", b.value, b.category.as_str()));
    }
    format!(
        "{} · {} · {}",
        reading.at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
        reading.recorded_by,
        parts.join("; ")
    )
}
