//! Reference ranges of vital signs, and the high / low flag of a measurement.
//!
//! These are the *usual adult resting* ranges a clinician expects next to a value, not the
//! plausible ranges of [`crate::clinical::VitalRange`] (which only catch typing errors and
//! wrong units). A value outside its reference range is recorded like any other, and shown
//! flagged `high` or `low` with the range beside it, wherever vitals are shown.
//!
//! Decisions recorded here:
//!
//! - The bounds are inclusive and in the same fixed point as the stored value (tenths of a
//!   °C), so a flag is an exact integer comparison: 37.9 °C is normal, 38.0 °C is high.
//! - Adult values only. Children, pregnancy and athletes have other normals; the flag is a
//!   prompt to look, not a diagnosis, and a hospital that needs paediatric ranges adds them
//!   here by age band.
//! - Weight and height have no reference range (the BMI category speaks for them), so they
//!   are never flagged.
//!
//! | vital sign | low below | high above |
//! |---|---|---|
//! | temperature | 36.1 °C | 37.9 °C (38.0 °C is a fever) |
//! | pulse | 60 /min | 100 /min |
//! | systolic pressure | 90 mmHg | 139 mmHg |
//! | diastolic pressure | 60 mmHg | 89 mmHg |
//! | respiratory rate | 12 /min | 20 /min |
//! | oxygen saturation | 95 % | — |

use std::fmt;

use crate::clinical::{
    DIASTOLIC_MMHG, PULSE_BPM, RESPIRATORY_RATE, SPO2_PERCENT, SYSTOLIC_MMHG, TEMPERATURE_C,
    VitalRange,
};

/// Where a measurement stands against its reference range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VitalFlag {
    Low,
    Normal,
    High,
}

impl VitalFlag {
    /// `low`, `normal`, `high`: for `data-flag` attributes and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VitalFlag::Low => "low",
            VitalFlag::Normal => "normal",
            VitalFlag::High => "high",
        }
    }

    /// Whether the value is outside its range.
    pub fn is_abnormal(self) -> bool {
        self != VitalFlag::Normal
    }
}

impl fmt::Display for VitalFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The usual adult range of one vital sign, inclusive, in the fixed point of its
/// [`VitalRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceRange {
    /// The vital sign this range belongs to.
    pub vital: VitalRange,
    /// The lowest normal value, scaled.
    pub low: u32,
    /// The highest normal value, scaled (`u32::MAX`: no upper bound).
    pub high: u32,
}

impl ReferenceRange {
    /// The flag of a scaled value.
    pub fn flag(&self, scaled: u32) -> VitalFlag {
        if scaled < self.low {
            VitalFlag::Low
        } else if scaled > self.high {
            VitalFlag::High
        } else {
            VitalFlag::Normal
        }
    }

    /// The range as shown beside a value: `36.1–37.9 °C`, `≥ 95 %`.
    pub fn describe(&self) -> String {
        let low = self.vital.format(self.low);
        if self.high == u32::MAX {
            format!("≥ {low} {}", self.vital.unit)
        } else {
            format!("{low}–{} {}", self.vital.format(self.high), self.vital.unit)
        }
    }
}

/// Temperature 36.1–37.9 °C.
pub const TEMPERATURE_REFERENCE: ReferenceRange = ReferenceRange {
    vital: TEMPERATURE_C,
    low: 361,
    high: 379,
};
/// Pulse 60–100 per minute.
pub const PULSE_REFERENCE: ReferenceRange = ReferenceRange {
    vital: PULSE_BPM,
    low: 60,
    high: 100,
};
/// Systolic pressure 90–139 mmHg.
pub const SYSTOLIC_REFERENCE: ReferenceRange = ReferenceRange {
    vital: SYSTOLIC_MMHG,
    low: 90,
    high: 139,
};
/// Diastolic pressure 60–89 mmHg.
pub const DIASTOLIC_REFERENCE: ReferenceRange = ReferenceRange {
    vital: DIASTOLIC_MMHG,
    low: 60,
    high: 89,
};
/// Respiratory rate 12–20 per minute.
pub const RESPIRATORY_REFERENCE: ReferenceRange = ReferenceRange {
    vital: RESPIRATORY_RATE,
    low: 12,
    high: 20,
};
/// Oxygen saturation 95 % and above.
pub const SPO2_REFERENCE: ReferenceRange = ReferenceRange {
    vital: SPO2_PERCENT,
    low: 95,
    high: u32::MAX,
};

/// Every reference range.
pub const REFERENCE_RANGES: [ReferenceRange; 6] = [
    TEMPERATURE_REFERENCE,
    PULSE_REFERENCE,
    SYSTOLIC_REFERENCE,
    DIASTOLIC_REFERENCE,
    RESPIRATORY_REFERENCE,
    SPO2_REFERENCE,
];

/// The reference range of the vital sign stored under `field` (`temperature_c`, …), if it
/// has one.
pub fn reference_range(field: &str) -> Option<&'static ReferenceRange> {
    REFERENCE_RANGES.iter().find(|r| r.vital.field == field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(field: &str, scaled: u32) -> VitalFlag {
        reference_range(field).unwrap().flag(scaled)
    }

    #[test]
    fn temperature_edges() {
        assert_eq!(flag("temperature_c", 360), VitalFlag::Low);
        assert_eq!(flag("temperature_c", 361), VitalFlag::Normal);
        assert_eq!(flag("temperature_c", 379), VitalFlag::Normal);
        assert_eq!(flag("temperature_c", 380), VitalFlag::High);
        assert_eq!(flag("temperature_c", 386), VitalFlag::High);
    }

    #[test]
    fn pulse_edges() {
        assert_eq!(flag("pulse_bpm", 59), VitalFlag::Low);
        assert_eq!(flag("pulse_bpm", 60), VitalFlag::Normal);
        assert_eq!(flag("pulse_bpm", 100), VitalFlag::Normal);
        assert_eq!(flag("pulse_bpm", 101), VitalFlag::High);
        assert_eq!(flag("pulse_bpm", 104), VitalFlag::High);
    }

    #[test]
    fn blood_pressure_edges() {
        assert_eq!(flag("systolic_mmhg", 89), VitalFlag::Low);
        assert_eq!(flag("systolic_mmhg", 90), VitalFlag::Normal);
        assert_eq!(flag("systolic_mmhg", 139), VitalFlag::Normal);
        assert_eq!(flag("systolic_mmhg", 140), VitalFlag::High);
        assert_eq!(flag("diastolic_mmhg", 59), VitalFlag::Low);
        assert_eq!(flag("diastolic_mmhg", 60), VitalFlag::Normal);
        assert_eq!(flag("diastolic_mmhg", 89), VitalFlag::Normal);
        assert_eq!(flag("diastolic_mmhg", 90), VitalFlag::High);
    }

    #[test]
    fn respiratory_rate_edges() {
        assert_eq!(flag("respiratory_rate", 11), VitalFlag::Low);
        assert_eq!(flag("respiratory_rate", 12), VitalFlag::Normal);
        assert_eq!(flag("respiratory_rate", 20), VitalFlag::Normal);
        assert_eq!(flag("respiratory_rate", 21), VitalFlag::High);
    }

    #[test]
    fn oxygen_saturation_has_no_upper_bound() {
        assert_eq!(flag("spo2_percent", 94), VitalFlag::Low);
        assert_eq!(flag("spo2_percent", 95), VitalFlag::Normal);
        assert_eq!(flag("spo2_percent", 100), VitalFlag::Normal);
    }

    #[test]
    fn weight_and_height_are_never_flagged() {
        assert!(reference_range("weight_kg").is_none());
        assert!(reference_range("height_cm").is_none());
    }

    #[test]
    fn ranges_read_as_a_clinician_writes_them() {
        assert_eq!(TEMPERATURE_REFERENCE.describe(), "36.1–37.9 °C");
        assert_eq!(PULSE_REFERENCE.describe(), "60–100 beats per minute");
        assert_eq!(SPO2_REFERENCE.describe(), "≥ 95 %");
    }

    #[test]
    fn every_range_lies_inside_the_plausible_range() {
        for r in REFERENCE_RANGES {
            assert!(r.low >= r.vital.min, "{}", r.vital.field);
            assert!(
                r.high == u32::MAX || r.high <= r.vital.max,
                "{}",
                r.vital.field
            );
            assert!(r.low < r.high, "{}", r.vital.field);
        }
    }
}
