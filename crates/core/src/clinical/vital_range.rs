//! The rules of each vital sign as [`VitalRange`] constants: its field name, unit, decimals
//! and plausible range, and how one typed value is read into fixed point and printed back.

/// The rules of one vital sign: its field name, its unit, how many decimals it keeps and its
/// plausible range. Values are integers in units of 10^-`places` of `unit`: a temperature
/// of 36.8 °C is `368`, a weight of 3.25 kg is `3250`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VitalRange {
    /// The input field, and the key under which errors are reported.
    pub field: &'static str,
    /// What it is called, as a table heading or a form label shows it ("Pulse").
    pub label: &'static str,
    /// The unit, as shown in messages.
    pub unit: &'static str,
    /// The unit as a column heading shows it ("/min" for "beats per minute").
    pub short_unit: &'static str,
    /// Decimal places kept.
    pub places: u32,
    /// The lowest accepted value, scaled.
    pub min: u32,
    /// The highest accepted value, scaled.
    pub max: u32,
    /// A typical value, as shown in "must be a number like …".
    pub example: &'static str,
}

/// Body temperature: 25.0–45.0 °C, one decimal (deep hypothermia to lethal hyperthermia).
pub const TEMPERATURE_C: VitalRange = VitalRange {
    field: "temperature_c",
    label: "Temperature",
    unit: "°C",
    short_unit: "°C",
    places: 1,
    min: 250,
    max: 450,
    example: "36.8",
};
/// Pulse: 20–300 beats per minute, whole.
pub const PULSE_BPM: VitalRange = VitalRange {
    field: "pulse_bpm",
    label: "Pulse",
    unit: "beats per minute",
    short_unit: "/min",
    places: 0,
    min: 20,
    max: 300,
    example: "72",
};
/// Systolic blood pressure: 40–300 mmHg, whole.
pub const SYSTOLIC_MMHG: VitalRange = VitalRange {
    field: "systolic_mmhg",
    label: "Systolic BP",
    unit: "mmHg",
    short_unit: "mmHg",
    places: 0,
    min: 40,
    max: 300,
    example: "120",
};
/// Diastolic blood pressure: 20–200 mmHg, whole, and below the systolic.
pub const DIASTOLIC_MMHG: VitalRange = VitalRange {
    field: "diastolic_mmhg",
    label: "Diastolic BP",
    unit: "mmHg",
    short_unit: "mmHg",
    places: 0,
    min: 20,
    max: 200,
    example: "80",
};
/// Respiratory rate: 2–80 breaths per minute, whole (80 covers a distressed newborn).
pub const RESPIRATORY_RATE: VitalRange = VitalRange {
    field: "respiratory_rate",
    label: "Respiratory rate",
    unit: "breaths per minute",
    short_unit: "/min",
    places: 0,
    min: 2,
    max: 80,
    example: "16",
};
/// Oxygen saturation: 50–100 %, whole (pulse oximeters show whole percent and are
/// unreliable below about 70 %).
pub const SPO2_PERCENT: VitalRange = VitalRange {
    field: "spo2_percent",
    label: "SpO₂",
    unit: "%",
    short_unit: "%",
    places: 0,
    min: 50,
    max: 100,
    example: "98",
};
/// Weight: 0.3–500 kg, to the gram (a premature newborn to bariatric care).
pub const WEIGHT_KG: VitalRange = VitalRange {
    field: "weight_kg",
    label: "Weight",
    unit: "kg",
    short_unit: "kg",
    places: 3,
    min: 300,
    max: 500_000,
    example: "70.5",
};
/// Height (or length): 20–260 cm, to the millimetre.
pub const HEIGHT_CM: VitalRange = VitalRange {
    field: "height_cm",
    label: "Height",
    unit: "cm",
    short_unit: "cm",
    places: 1,
    min: 200,
    max: 2600,
    example: "172.5",
};

/// Every vital sign, in the order fields are checked and listed.
pub const VITAL_RANGES: [VitalRange; 8] = [
    TEMPERATURE_C,
    PULSE_BPM,
    SYSTOLIC_MMHG,
    DIASTOLIC_MMHG,
    RESPIRATORY_RATE,
    SPO2_PERCENT,
    WEIGHT_KG,
    HEIGHT_CM,
];

/// The rules of the vital sign stored under `field` (`pulse_bpm`), if it is one.
pub fn vital_range(field: &str) -> Option<&'static VitalRange> {
    VITAL_RANGES.iter().find(|r| r.field == field)
}

impl VitalRange {
    /// Parses `raw` (`36.8`, `36,8`, `72`) into the scaled integer, checking the decimals and
    /// the range.
    pub fn parse(&self, raw: &str) -> Result<u32, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("is required".into());
        }
        let not_a_number = || {
            if self.places == 0 {
                "must be a whole number".to_owned()
            } else {
                format!("must be a number like {}", self.example)
            }
        };
        let (whole, fraction) = match value.find(['.', ',']) {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(not_a_number());
        }
        let fraction = fraction.unwrap_or("");
        let places = self.places as usize;
        if fraction.bytes().skip(places).any(|b| b != b'0') {
            return Err(if self.places == 0 {
                "must be a whole number".to_owned()
            } else if self.places == 1 {
                "must have at most 1 decimal place".to_owned()
            } else {
                format!("must have at most {places} decimal places")
            });
        }
        let out_of_range = || {
            format!(
                "must be between {} and {} {}",
                format_bound(self.min, self.places),
                format_bound(self.max, self.places),
                self.unit
            )
        };
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(out_of_range());
        }
        let mut scaled: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| out_of_range())?
        };
        for i in 0..places {
            let digit = fraction.as_bytes().get(i).map_or(0, |b| b - b'0');
            scaled = scaled * 10 + u64::from(digit);
        }
        match u32::try_from(scaled) {
            Ok(scaled) if (self.min..=self.max).contains(&scaled) => Ok(scaled),
            _ => Err(out_of_range()),
        }
    }

    /// The scaled value as text, as [`Vitals::fields`](super::Vitals::fields) writes it:
    /// `36.8`, `72`, `3.25`, `70.0`.
    pub fn format(&self, scaled: u32) -> String {
        format_scaled(scaled, self.places)
    }
}

/// `scaled / 10^places` with trailing zeros trimmed but at least one decimal when `places`
/// is not zero.
fn format_scaled(scaled: u32, places: u32) -> String {
    if places == 0 {
        return scaled.to_string();
    }
    let factor = 10u32.pow(places);
    let fraction = format!("{:0width$}", scaled % factor, width = places as usize);
    let trimmed = fraction.trim_end_matches('0');
    let fraction = if trimmed.is_empty() { "0" } else { trimmed };
    format!("{}.{fraction}", scaled / factor)
}

/// A range bound for messages: `25`, `0.3`, `500`.
fn format_bound(scaled: u32, places: u32) -> String {
    let text = format_scaled(scaled, places);
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_named_in_messages() {
        let cases: [(VitalRange, &str, &str, &str, &str); 8] = [
            (TEMPERATURE_C, "25", "45", "24.9", "45.1"),
            (PULSE_BPM, "20", "300", "19", "301"),
            (SYSTOLIC_MMHG, "40", "300", "39", "301"),
            (DIASTOLIC_MMHG, "20", "200", "19", "201"),
            (RESPIRATORY_RATE, "2", "80", "1", "81"),
            (SPO2_PERCENT, "50", "100", "49", "101"),
            (WEIGHT_KG, "0.3", "500", "0.299", "500.001"),
            (HEIGHT_CM, "20", "260", "19.9", "260.1"),
        ];
        for (range, low, high, below, above) in cases {
            assert!(range.parse(low).is_ok(), "{} {low}", range.field);
            assert!(range.parse(high).is_ok(), "{} {high}", range.field);
            let message = format!("must be between {low} and {high} {}", range.unit);
            assert_eq!(range.parse(below).unwrap_err(), message);
            assert_eq!(range.parse(above).unwrap_err(), message);
        }
        assert_eq!(
            TEMPERATURE_C.parse("98.6").unwrap_err(),
            "must be between 25 and 45 °C"
        );
        assert_eq!(
            WEIGHT_KG.parse("99999999999999999999").unwrap_err(),
            "must be between 0.3 and 500 kg"
        );
        assert_eq!(WEIGHT_KG.parse("000070.5"), Ok(70_500));
        assert_eq!(
            SPO2_PERCENT.parse("0").unwrap_err(),
            "must be between 50 and 100 %"
        );
    }
}
