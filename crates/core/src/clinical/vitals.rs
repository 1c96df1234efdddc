//! A measured set of vital signs ([`Vitals`], read from a [`VitalsInput`] form or from
//! stored fields) and the body-mass index derived from its weight and height ([`Bmi`]).

use std::fmt;

use super::given;
use super::vital_range::{
    DIASTOLIC_MMHG, HEIGHT_CM, PULSE_BPM, RESPIRATORY_RATE, SPO2_PERCENT, SYSTOLIC_MMHG,
    TEMPERATURE_C, VITAL_RANGES, VitalRange, WEIGHT_KG,
};
use crate::ValidationErrors;

/// The error key used when a vitals form has no measurement at all.
pub const VITALS_FIELD: &str = "vitals";

/// The raw text of a vitals form or JSON body. Every field is optional; blank counts as
/// absent. `Debug` does not show the values.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct VitalsInput<'a> {
    pub temperature_c: Option<&'a str>,
    pub pulse_bpm: Option<&'a str>,
    pub systolic_mmhg: Option<&'a str>,
    pub diastolic_mmhg: Option<&'a str>,
    pub respiratory_rate: Option<&'a str>,
    pub spo2_percent: Option<&'a str>,
    pub weight_kg: Option<&'a str>,
    pub height_cm: Option<&'a str>,
}

impl VitalsInput<'_> {
    fn raw(&self, field: &str) -> Option<&str> {
        match field {
            "temperature_c" => self.temperature_c,
            "pulse_bpm" => self.pulse_bpm,
            "systolic_mmhg" => self.systolic_mmhg,
            "diastolic_mmhg" => self.diastolic_mmhg,
            "respiratory_rate" => self.respiratory_rate,
            "spo2_percent" => self.spo2_percent,
            "weight_kg" => self.weight_kg,
            "height_cm" => self.height_cm,
            _ => None,
        }
    }
}

impl fmt::Debug for VitalsInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VitalsInput(…)")
    }
}

/// A validated set of vital signs: at least one measurement, each within its plausible range,
/// blood pressure as a pair with the diastolic below the systolic. `Debug` names the
/// measurements present, never their values.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vitals {
    /// Scaled values in [`VITAL_RANGES`] order.
    values: [Option<u32>; 8],
}

impl Vitals {
    /// Parses a vitals form. Every problem is reported under its field; a form with no
    /// measurement at all gets "enter at least one measurement" under [`VITALS_FIELD`].
    pub fn parse(input: &VitalsInput<'_>) -> Result<Vitals, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut values = [None; 8];
        let mut any_given = false;
        for (slot, range) in values.iter_mut().zip(VITAL_RANGES.iter()) {
            if let Some(raw) = given(input.raw(range.field)) {
                any_given = true;
                *slot = errors.check(range.field, range.parse(raw));
            }
        }
        let systolic_given = given(input.systolic_mmhg).is_some();
        let diastolic_given = given(input.diastolic_mmhg).is_some();
        if systolic_given && !diastolic_given {
            errors.push(
                DIASTOLIC_MMHG.field,
                "is required with the systolic pressure",
            );
        }
        if diastolic_given && !systolic_given {
            errors.push(
                SYSTOLIC_MMHG.field,
                "is required with the diastolic pressure",
            );
        }
        if let (Some(systolic), Some(diastolic)) = (values[2], values[3])
            && diastolic >= systolic
        {
            errors.push(DIASTOLIC_MMHG.field, "must be below the systolic pressure");
        }
        if !any_given {
            errors.push(VITALS_FIELD, "enter at least one measurement");
        }
        errors.into_result()?;
        Ok(Vitals { values })
    }

    /// Parses `field = value` pairs, as written by [`Vitals::fields`] (for a stored set).
    /// An unknown field is an error under its own name.
    pub fn from_fields(pairs: &[(&str, &str)]) -> Result<Vitals, ValidationErrors> {
        let mut input = VitalsInput::default();
        let mut unknown = ValidationErrors::new();
        for &(field, value) in pairs {
            let slot = match field {
                "temperature_c" => &mut input.temperature_c,
                "pulse_bpm" => &mut input.pulse_bpm,
                "systolic_mmhg" => &mut input.systolic_mmhg,
                "diastolic_mmhg" => &mut input.diastolic_mmhg,
                "respiratory_rate" => &mut input.respiratory_rate,
                "spo2_percent" => &mut input.spo2_percent,
                "weight_kg" => &mut input.weight_kg,
                "height_cm" => &mut input.height_cm,
                _ => {
                    unknown.push(field, "is not a vital sign");
                    continue;
                }
            };
            *slot = Some(value);
        }
        unknown.into_result()?;
        Vitals::parse(&input)
    }

    /// The measurements present, as `(field, canonical text)` in [`VITAL_RANGES`] order:
    /// `[("temperature_c", "36.8"), ("pulse_bpm", "72")]`. [`Vitals::from_fields`] reads
    /// them back to the same value.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        VITAL_RANGES
            .iter()
            .zip(self.values.iter())
            .filter_map(|(range, value)| value.map(|v| (range.field, range.format(v))))
            .collect()
    }

    /// The scaled value stored under `field` (`temperature_c` → tenths of a °C), if measured.
    pub fn scaled_value(&self, field: &str) -> Option<u32> {
        VITAL_RANGES
            .iter()
            .position(|r| r.field == field)
            .and_then(|i| self.values[i])
    }

    /// The measurement under `field` against its adult reference range
    /// ([`crate::reference_range`]); `None` when not measured or not flagged (weight, height).
    pub fn flag(&self, field: &str) -> Option<crate::reference_range::VitalFlag> {
        let range = crate::reference_range::reference_range(field)?;
        self.scaled_value(field).map(|v| range.flag(v))
    }

    fn scaled(&self, range: &VitalRange) -> Option<u32> {
        VITAL_RANGES
            .iter()
            .position(|r| r.field == range.field)
            .and_then(|i| self.values[i])
    }

    fn decimal(&self, range: &VitalRange) -> Option<f64> {
        self.scaled(range)
            .map(|v| f64::from(v) / f64::from(10u32.pow(range.places)))
    }

    /// Temperature in °C.
    pub fn temperature_c(&self) -> Option<f64> {
        self.decimal(&TEMPERATURE_C)
    }

    /// Temperature in tenths of a °C (368 for 36.8 °C).
    pub fn temperature_decidegrees(&self) -> Option<u32> {
        self.scaled(&TEMPERATURE_C)
    }

    /// Pulse in beats per minute.
    pub fn pulse_bpm(&self) -> Option<u32> {
        self.scaled(&PULSE_BPM)
    }

    /// Systolic blood pressure in mmHg (present exactly when the diastolic is).
    pub fn systolic_mmhg(&self) -> Option<u32> {
        self.scaled(&SYSTOLIC_MMHG)
    }

    /// Diastolic blood pressure in mmHg (present exactly when the systolic is).
    pub fn diastolic_mmhg(&self) -> Option<u32> {
        self.scaled(&DIASTOLIC_MMHG)
    }

    /// Blood pressure as (systolic, diastolic) in mmHg.
    pub fn blood_pressure(&self) -> Option<(u32, u32)> {
        self.systolic_mmhg().zip(self.diastolic_mmhg())
    }

    /// Respiratory rate in breaths per minute.
    pub fn respiratory_rate(&self) -> Option<u32> {
        self.scaled(&RESPIRATORY_RATE)
    }

    /// Oxygen saturation in percent.
    pub fn spo2_percent(&self) -> Option<u32> {
        self.scaled(&SPO2_PERCENT)
    }

    /// Weight in kg.
    pub fn weight_kg(&self) -> Option<f64> {
        self.decimal(&WEIGHT_KG)
    }

    /// Weight in grams.
    pub fn weight_g(&self) -> Option<u32> {
        self.scaled(&WEIGHT_KG)
    }

    /// Height in cm.
    pub fn height_cm(&self) -> Option<f64> {
        self.decimal(&HEIGHT_CM)
    }

    /// Height in millimetres.
    pub fn height_mm(&self) -> Option<u32> {
        self.scaled(&HEIGHT_CM)
    }

    /// The body-mass index, when both weight and height were measured.
    pub fn bmi(&self) -> Option<Bmi> {
        Bmi::from_metric(self.weight_g()?, self.height_mm()?)
    }
}

impl fmt::Debug for Vitals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = VITAL_RANGES
            .iter()
            .zip(self.values.iter())
            .filter(|(_, v)| v.is_some())
            .map(|(r, _)| r.field)
            .collect();
        write!(f, "Vitals({}: …)", present.join(", "))
    }
}

/// A body-mass index (kg/m²) rounded to one decimal, with its adult category.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bmi {
    tenths: u32,
}

impl Bmi {
    /// The BMI of `weight_g` grams at `height_mm` millimetres, rounded half up to one
    /// decimal. `None` for a zero height.
    pub fn from_metric(weight_g: u32, height_mm: u32) -> Option<Bmi> {
        // kg / m² = (g / 1000) / (mm / 1000)² = g · 1000 / mm²; in tenths, g · 10⁴ / mm².
        let height_sq = u64::from(height_mm).checked_pow(2).filter(|h| *h > 0)?;
        let numerator = u64::from(weight_g) * 10_000;
        let tenths = (numerator * 2 + height_sq) / (height_sq * 2);
        u32::try_from(tenths).ok().map(|tenths| Bmi { tenths })
    }

    /// The BMI in tenths (229 for 22.9).
    pub fn tenths(self) -> u32 {
        self.tenths
    }

    /// The BMI as a number (22.9).
    pub fn value(self) -> f64 {
        f64::from(self.tenths) / 10.0
    }

    /// The WHO adult category of the rounded value. It does not apply to children and
    /// adolescents (who need centile charts) nor in pregnancy: the caller decides whether to
    /// show it.
    pub fn category(self) -> BmiCategory {
        match self.tenths {
            0..185 => BmiCategory::Underweight,
            185..250 => BmiCategory::Normal,
            250..300 => BmiCategory::Overweight,
            _ => BmiCategory::Obese,
        }
    }
}

impl fmt::Display for Bmi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.tenths / 10, self.tenths % 10)
    }
}

impl fmt::Debug for Bmi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bmi(…)")
    }
}

text_choice!(
    /// The WHO adult BMI categories: underweight below 18.5, normal 18.5–24.9, overweight
    /// 25.0–29.9, obese from 30.0.
    BmiCategory, "the BMI categories" {
        Underweight => "underweight",
        Normal => "normal",
        Overweight => "overweight",
        Obese => "obese",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn vitals(input: VitalsInput<'_>) -> Vitals {
        Vitals::parse(&input).unwrap()
    }

    fn vitals_err(input: VitalsInput<'_>) -> ValidationErrors {
        Vitals::parse(&input).unwrap_err()
    }

    #[test]
    fn a_full_set_of_vitals() {
        let v = vitals(VitalsInput {
            temperature_c: Some("36.8"),
            pulse_bpm: Some("72"),
            systolic_mmhg: Some("120"),
            diastolic_mmhg: Some("80"),
            respiratory_rate: Some("16"),
            spo2_percent: Some("98"),
            weight_kg: Some("70"),
            height_cm: Some("175"),
        });
        assert_eq!(v.temperature_decidegrees(), Some(368));
        assert_eq!(v.temperature_c(), Some(36.8));
        assert_eq!(v.pulse_bpm(), Some(72));
        assert_eq!(v.blood_pressure(), Some((120, 80)));
        assert_eq!(v.respiratory_rate(), Some(16));
        assert_eq!(v.spo2_percent(), Some(98));
        assert_eq!(v.weight_g(), Some(70_000));
        assert_eq!(v.weight_kg(), Some(70.0));
        assert_eq!(v.height_mm(), Some(1750));
        assert_eq!(v.height_cm(), Some(175.0));
        let bmi = v.bmi().unwrap();
        assert_eq!(bmi.tenths(), 229);
        assert_eq!(bmi.to_string(), "22.9");
        assert_eq!(bmi.category(), BmiCategory::Normal);
    }

    #[test]
    fn one_measurement_is_enough_and_blank_fields_are_absent() {
        let v = vitals(VitalsInput {
            pulse_bpm: Some(" 88 "),
            temperature_c: Some("   "),
            ..Default::default()
        });
        assert_eq!(v.pulse_bpm(), Some(88));
        assert_eq!(v.temperature_c(), None);
        assert_eq!(v.blood_pressure(), None);
        assert_eq!(v.bmi(), None);
    }

    #[test]
    fn at_least_one_measurement_is_required() {
        let errors = vitals_err(VitalsInput::default());
        assert_eq!(
            errors.message_for(VITALS_FIELD),
            Some("enter at least one measurement")
        );
        let errors = vitals_err(VitalsInput {
            weight_kg: Some(""),
            height_cm: Some(" "),
            ..Default::default()
        });
        assert_eq!(errors.0.len(), 1);
        assert!(errors.message_for(VITALS_FIELD).is_some());
    }

    #[test]
    fn decimal_comma_and_trailing_zeros() {
        let v = vitals(VitalsInput {
            temperature_c: Some("37,2"),
            weight_kg: Some("3,250"),
            height_cm: Some("49.50"),
            pulse_bpm: Some("140.0"),
            ..Default::default()
        });
        assert_eq!(v.temperature_decidegrees(), Some(372));
        assert_eq!(v.weight_g(), Some(3250));
        assert_eq!(v.height_mm(), Some(495));
        assert_eq!(v.pulse_bpm(), Some(140));
    }

    #[test]
    fn too_many_decimals_are_refused_not_rounded() {
        let errors = vitals_err(VitalsInput {
            temperature_c: Some("36.85"),
            pulse_bpm: Some("72.5"),
            weight_kg: Some("70.0005"),
            height_cm: Some("170.25"),
            ..Default::default()
        });
        assert_eq!(
            errors.message_for("temperature_c"),
            Some("must have at most 1 decimal place")
        );
        assert_eq!(
            errors.message_for("pulse_bpm"),
            Some("must be a whole number")
        );
        assert_eq!(
            errors.message_for("weight_kg"),
            Some("must have at most 3 decimal places")
        );
        assert_eq!(
            errors.message_for("height_cm"),
            Some("must have at most 1 decimal place")
        );
    }

    #[test]
    fn not_numbers() {
        for bad in [
            "abc", "-5", "+37", "37.", ".5", "3e1", "37.2.1", "37 C", "NaN", "inf", "1,000.5", "٣٧",
        ] {
            let errors = vitals_err(VitalsInput {
                temperature_c: Some(bad),
                ..Default::default()
            });
            assert_eq!(
                errors.message_for("temperature_c"),
                Some("must be a number like 36.8"),
                "{bad}"
            );
        }
        let errors = vitals_err(VitalsInput {
            pulse_bpm: Some("fast"),
            ..Default::default()
        });
        assert_eq!(
            errors.message_for("pulse_bpm"),
            Some("must be a whole number")
        );
    }

    #[test]
    fn blood_pressure_comes_as_a_pair_with_diastolic_below_systolic() {
        let errors = vitals_err(VitalsInput {
            systolic_mmhg: Some("120"),
            ..Default::default()
        });
        assert_eq!(
            errors.message_for("diastolic_mmhg"),
            Some("is required with the systolic pressure")
        );
        assert!(errors.message_for(VITALS_FIELD).is_none());

        let errors = vitals_err(VitalsInput {
            diastolic_mmhg: Some("80"),
            pulse_bpm: Some("60"),
            ..Default::default()
        });
        assert_eq!(
            errors.message_for("systolic_mmhg"),
            Some("is required with the diastolic pressure")
        );

        for (sys, dia) in [("80", "80"), ("90", "120")] {
            let errors = vitals_err(VitalsInput {
                systolic_mmhg: Some(sys),
                diastolic_mmhg: Some(dia),
                ..Default::default()
            });
            assert_eq!(
                errors.message_for("diastolic_mmhg"),
                Some("must be below the systolic pressure")
            );
        }

        // An invalid systolic is reported once, not also as a missing partner.
        let errors = vitals_err(VitalsInput {
            systolic_mmhg: Some("abc"),
            diastolic_mmhg: Some("80"),
            ..Default::default()
        });
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "systolic_mmhg");
    }

    #[test]
    fn every_error_is_under_its_field() {
        let errors = vitals_err(VitalsInput {
            temperature_c: Some("50"),
            pulse_bpm: Some("0"),
            systolic_mmhg: Some("500"),
            diastolic_mmhg: Some("5"),
            respiratory_rate: Some("100"),
            spo2_percent: Some("101"),
            weight_kg: Some("0"),
            height_cm: Some("300"),
        });
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "temperature_c",
                "pulse_bpm",
                "systolic_mmhg",
                "diastolic_mmhg",
                "respiratory_rate",
                "spo2_percent",
                "weight_kg",
                "height_cm"
            ]
        );
    }

    #[test]
    fn fields_round_trip() {
        let v = vitals(VitalsInput {
            temperature_c: Some("37"),
            systolic_mmhg: Some("118"),
            diastolic_mmhg: Some("76"),
            weight_kg: Some("3,25"),
            height_cm: Some("49.5"),
            ..Default::default()
        });
        let fields = v.fields();
        assert_eq!(
            fields,
            [
                ("temperature_c", "37.0".to_owned()),
                ("systolic_mmhg", "118".to_owned()),
                ("diastolic_mmhg", "76".to_owned()),
                ("weight_kg", "3.25".to_owned()),
                ("height_cm", "49.5".to_owned()),
            ]
        );
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(Vitals::from_fields(&pairs).unwrap(), v);
        let errors = Vitals::from_fields(&[("pulse_bpm", "70"), ("glucose", "5")]).unwrap_err();
        assert_eq!(errors.message_for("glucose"), Some("is not a vital sign"));
    }

    #[test]
    fn bmi_rounding_and_categories() {
        // 70 kg at 175 cm is 22.857 → 22.9.
        assert_eq!(Bmi::from_metric(70_000, 1750).unwrap().tenths(), 229);
        // Half rounds up: 18.45 → 18.5 (normal).
        let bmi = Bmi::from_metric(18_450, 1000).unwrap();
        assert_eq!(bmi.tenths(), 185);
        assert_eq!(bmi.category(), BmiCategory::Normal);
        assert_eq!(
            Bmi::from_metric(18_440, 1000).unwrap().category(),
            BmiCategory::Underweight
        );
        assert_eq!(
            Bmi::from_metric(24_900, 1000).unwrap().category(),
            BmiCategory::Normal
        );
        assert_eq!(
            Bmi::from_metric(25_000, 1000).unwrap().category(),
            BmiCategory::Overweight
        );
        assert_eq!(
            Bmi::from_metric(29_949, 1000).unwrap().category(),
            BmiCategory::Overweight
        );
        assert_eq!(
            Bmi::from_metric(30_000, 1000).unwrap().category(),
            BmiCategory::Obese
        );
        assert_eq!(Bmi::from_metric(70_000, 0), None);
        // The extremes of the ranges do not overflow.
        assert!(Bmi::from_metric(WEIGHT_KG.max, HEIGHT_CM.min).is_some());
        assert_eq!(
            Bmi::from_metric(WEIGHT_KG.min, HEIGHT_CM.max)
                .unwrap()
                .tenths(),
            0
        );
        assert_eq!(Bmi::from_metric(100_000, 1800).unwrap().to_string(), "30.9");
        assert!((Bmi::from_metric(100_000, 1800).unwrap().value() - 30.9).abs() < 1e-9);
    }

    #[test]
    fn vitals_debug_names_fields_but_not_values() {
        let v = vitals(VitalsInput {
            temperature_c: Some("39.7"),
            pulse_bpm: Some("131"),
            ..Default::default()
        });
        let debug = format!("{v:?}");
        assert!(
            debug.contains("temperature_c") && debug.contains("pulse_bpm"),
            "{debug}"
        );
        assert!(!debug.contains("39") && !debug.contains("131"), "{debug}");
        let input = VitalsInput {
            pulse_bpm: Some("131"),
            ..Default::default()
        };
        assert!(!format!("{input:?}").contains("131"));
        let bmi = Bmi::from_metric(70_000, 1750).unwrap();
        assert_eq!(format!("{bmi:?}"), "Bmi(…)");
    }
}
