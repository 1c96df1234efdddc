//! How a set of vitals is shown: every measurement with its label, value, unit, its flag
//! against the adult reference range of `carevault_core::reference_range` and that range in
//! words; the BMI with its category; and the trend of one vital sign over the last readings
//! (for the chart's sparkline). Pure presentation of values already opened: no I/O.
//!
//! `Debug` of these types never shows a value (vitals are health data).

use carevault_core::clinical::{BmiCategory, VITAL_RANGES, Vitals, vital_range};
use carevault_core::reference_range::{VitalFlag, reference_range};
use chrono::{DateTime, Utc};

use crate::encounters::VitalsView;

/// One measurement of a set of vitals, as shown.
#[derive(Clone, PartialEq)]
pub struct VitalMeasurement {
    /// The stored field (`pulse_bpm`).
    pub field: &'static str,
    /// Its name ("Pulse").
    pub label: &'static str,
    /// The value as recorded (`38.6`, `104`).
    pub value: String,
    /// The value as a number, for charts (`38.6`).
    pub number: f64,
    /// The unit in words ("beats per minute").
    pub unit: &'static str,
    /// The unit as a column heading shows it ("/min").
    pub short_unit: &'static str,
    /// Against the adult reference range; `Normal` for what has no range (weight, height).
    pub flag: VitalFlag,
    /// The reference range in words ("60–100 beats per minute"); `None` for weight and
    /// height.
    pub reference: Option<String>,
}

impl Eq for VitalMeasurement {}

impl std::fmt::Debug for VitalMeasurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VitalMeasurement({}: …)", self.field)
    }
}

/// A body-mass index as shown.
#[derive(Clone, PartialEq, Eq)]
pub struct BmiView {
    /// One decimal (`24.2`).
    pub value: String,
    pub category: BmiCategory,
}

impl std::fmt::Debug for BmiView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BmiView(…)")
    }
}

/// Every measurement of `vitals`, in the canonical order (temperature, pulse, blood
/// pressure, respiratory rate, SpO₂, weight, height).
pub fn measurements(vitals: &Vitals) -> Vec<VitalMeasurement> {
    VITAL_RANGES
        .iter()
        .filter_map(|range| {
            let scaled = vitals.scaled_value(range.field)?;
            let reference = reference_range(range.field);
            Some(VitalMeasurement {
                field: range.field,
                label: range.label,
                value: range.format(scaled),
                number: f64::from(scaled) / f64::from(10u32.pow(range.places)),
                unit: range.unit,
                short_unit: range.short_unit,
                flag: reference.map_or(VitalFlag::Normal, |r| r.flag(scaled)),
                reference: reference.map(|r| r.describe()),
            })
        })
        .collect()
}

/// The BMI of `vitals`, when weight and height were measured.
pub fn bmi(vitals: &Vitals) -> Option<BmiView> {
    vitals.bmi().map(|b| BmiView {
        value: b.to_string(),
        category: b.category(),
    })
}

/// One reading of a trend.
#[derive(Clone, PartialEq)]
pub struct TrendPoint {
    pub at: DateTime<Utc>,
    pub value: String,
    pub number: f64,
    pub flag: VitalFlag,
}

impl std::fmt::Debug for TrendPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrendPoint")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// The last readings of one vital sign, oldest first, with flags: what the chart draws as a
/// sparkline beside the latest value.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalsTrend {
    pub field: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub short_unit: &'static str,
    /// The reference range in words, when the sign has one.
    pub reference: Option<String>,
    /// The reference range's bounds as numbers (`None` where it has none: no upper bound
    /// for SpO₂, no range for weight), for drawing the normal band.
    pub normal_low: Option<f64>,
    pub normal_high: Option<f64>,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}

impl VitalsTrend {
    /// The most recent reading.
    pub fn latest(&self) -> Option<&TrendPoint> {
        self.points.last()
    }

    /// Whether any reading is outside the reference range.
    pub fn any_abnormal(&self) -> bool {
        self.points.iter().any(|p| p.flag.is_abnormal())
    }
}

/// The trend of `field` over the last `n` readings that measured it, from `readings` in any
/// order; `None` when `field` is not a vital sign or none measured it.
pub fn trend_of(readings: &[VitalsView], field: &str, n: usize) -> Option<VitalsTrend> {
    let range = vital_range(field)?;
    let mut points: Vec<TrendPoint> = readings
        .iter()
        .filter_map(|r| {
            r.measurement(field).map(|m| TrendPoint {
                at: r.at,
                value: m.value.clone(),
                number: m.number,
                flag: m.flag,
            })
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    points.sort_by_key(|p| p.at);
    let skip = points.len().saturating_sub(n);
    points.drain(..skip);
    let reference = reference_range(field);
    let scale = f64::from(10u32.pow(range.places));
    Some(VitalsTrend {
        field: range.field,
        label: range.label,
        unit: range.unit,
        short_unit: range.short_unit,
        reference: reference.map(|r| r.describe()),
        normal_low: reference.map(|r| f64::from(r.low) / scale),
        normal_high: reference
            .filter(|r| r.high != u32::MAX)
            .map(|r| f64::from(r.high) / scale),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use carevault_core::clinical::VitalsInput;
    use chrono::TimeZone;

    fn vitals(temperature: &str, pulse: &str) -> Vitals {
        Vitals::parse(&VitalsInput {
            temperature_c: Some(temperature),
            pulse_bpm: Some(pulse),
            weight_kg: Some("80"),
            height_cm: Some("180"),
            ..VitalsInput::default()
        })
        .unwrap()
    }

    fn reading(hour: u32, temperature: &str, pulse: &str) -> VitalsView {
        let v = vitals(temperature, pulse);
        VitalsView {
            id: format!("v{hour}"),
            encounter_id: None,
            appointment_id: None,
            recorded_by: "Nadia Nurse".into(),
            at: Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap(),
            measurements: measurements(&v),
            bmi: bmi(&v),
        }
    }

    #[test]
    fn measurements_carry_flags_units_and_ranges() {
        let m = measurements(&vitals("38.6", "104"));
        let temperature = &m[0];
        assert_eq!(temperature.field, "temperature_c");
        assert_eq!(temperature.label, "Temperature");
        assert_eq!(temperature.value, "38.6");
        assert_eq!(temperature.short_unit, "°C");
        assert_eq!(temperature.flag, VitalFlag::High);
        assert_eq!(temperature.reference.as_deref(), Some("36.1–37.9 °C"));
        assert_eq!(m[1].flag, VitalFlag::High);
        let weight = m.iter().find(|m| m.field == "weight_kg").unwrap();
        assert_eq!(weight.flag, VitalFlag::Normal);
        assert!(weight.reference.is_none());
        assert_eq!(
            format!("{temperature:?}"),
            "VitalMeasurement(temperature_c: …)"
        );
        let b = bmi(&vitals("36.8", "70")).unwrap();
        assert_eq!(b.value, "24.7");
        assert_eq!(b.category, BmiCategory::Normal);
    }

    #[test]
    fn a_trend_keeps_the_last_readings_oldest_first() {
        let readings = vec![
            reading(12, "38.6", "104"),
            reading(9, "36.8", "72"),
            reading(10, "37.2", "80"),
            reading(11, "35.9", "58"),
        ];
        let trend = trend_of(&readings, "temperature_c", 3).unwrap();
        let values: Vec<&str> = trend.points.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(values, ["37.2", "35.9", "38.6"]);
        let flags: Vec<VitalFlag> = trend.points.iter().map(|p| p.flag).collect();
        assert_eq!(flags, [VitalFlag::Normal, VitalFlag::Low, VitalFlag::High]);
        assert_eq!(trend.latest().unwrap().value, "38.6");
        assert_eq!(trend.normal_low, Some(36.1));
        assert_eq!(trend.normal_high, Some(37.9));
        assert!(trend.any_abnormal());
        assert!(trend_of(&readings, "spo2_percent", 3).is_none());
        assert!(trend_of(&readings, "nonsense", 3).is_none());
    }
}
