//! The pure rules of clinical records: vital signs with plausible ranges and the
//! BMI, encounter types and statuses (a draft is edited by its author, a signed encounter is
//! only ever amended), diagnoses (an ICD-10 code or flagged free text), prescriptions (their
//! input, their status graph) and the two checks made when prescribing: recorded allergies
//! and a duplicate active prescription. No I/O, no clock, no database of drugs.
//!
//! Decisions recorded here:
//!
//! - **Vitals** are integers in fixed point (tenths of a °C, grams, millimetres), so they
//!   compare exactly and print back as they were typed. A decimal comma is accepted
//!   (`36,8`); extra decimals beyond what a field keeps must be zeros (`36.80` is fine,
//!   `36.85` is refused rather than silently rounded). Ranges are wide on purpose — they
//!   catch typing errors and wrong units (98.6 °F, 154 lb), not abnormal values, which are
//!   exactly what must be recordable. See the `VitalRange` constants.
//! - **Encounters**: `draft → signed`, and `signed` is final. A draft is edited and signed
//!   only by its author; a signed encounter is never edited, corrections are amendments with
//!   a reason ([`AmendmentReason`], 10–500 characters). Who may amend (the care team's
//!   doctors) is the service's rule; here only the status is checked.
//! - **Diagnoses** are coded from the bundled ICD-10 list (`core::icd10`): a form's code must
//!   have the shape of a code and be in that list. A stored code ([`DiagnosisCode`]) is
//!   checked for shape only, so a code later dropped from the list still reads. Free text is
//!   allowed only with the `free_text` flag, so an uncoded diagnosis is always deliberate.
//! - **Prescriptions**: `active → completed | cancelled`; both are final.
//! - **Allergy matching** is a safety net, not a drug database: it compares the words of
//!   each recorded substance with the drug's name and generic name, and knows a small table
//!   of drug classes ([`DRUG_CLASSES`]) so that "penicillin" catches amoxicillin and
//!   "sulfa drugs" catches co-trimoxazole. A match is a warning the prescriber acknowledges;
//!   no match proves nothing.
//!
//! No type here prints a clinical value in `Debug` output: vitals, diagnoses, drug names and
//! reasons are health data (see the "what never to log" list).

use std::fmt;

use crate::ValidationErrors;

macro_rules! clinical_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(…)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A refused status change of an encounter or a prescription (the one error of
/// [`crate::status`]). Its message names the current status and what it may become: "cannot
/// go from completed to active: a completed prescription is final".
pub use crate::status::TransitionError as StatusTransitionError;

/// `raw` trimmed, or `None` when it is absent or blank (an empty form field).
fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// Trims `raw`, checks its length in characters and refuses control characters (a newline
/// or tab only when `multiline`).
fn clean_text(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let length = value.chars().count();
    if length < min {
        return Err(format!("must be at least {min} characters"));
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// A whole number in `min..=max`; `what` names the unit in messages ("days").
fn parse_whole(raw: &str, min: u32, max: u32, what: &str) -> Result<u32, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let out_of_range = || format!("must be between {min} and {} {what}", thousands(max));
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be a whole number of {what}"));
    }
    let number: u32 = value.parse().map_err(|_| out_of_range())?;
    if !(min..=max).contains(&number) {
        return Err(out_of_range());
    }
    Ok(number)
}

/// `10000` as `10,000`, for messages.
fn thousands(value: u32) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Vital signs
// ---------------------------------------------------------------------------------------

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

/// The error key used when a vitals form has no measurement at all.
pub const VITALS_FIELD: &str = "vitals";

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

    /// The scaled value as text, as [`Vitals::fields`] writes it: `36.8`, `72`, `3.25`,
    /// `70.0`.
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

// ---------------------------------------------------------------------------------------
// Encounters
// ---------------------------------------------------------------------------------------

text_choice!(
    /// What kind of clinical contact an encounter records.
    EncounterType, "the encounter types" {
        Consultation => "consultation",
        FollowUp => "follow_up",
        Emergency => "emergency",
        Procedure => "procedure",
        Admission => "admission",
        Telephone => "telephone",
    }
);

text_choice!(
    /// Where an encounter stands: a `draft` its author edits, or `signed` (final; corrected
    /// only by amendments).
    EncounterStatus, "the encounter statuses" {
        /// Being written; its author may edit and sign it.
        Draft => "draft",
        /// Signed by its author. Never edited again; corrections are amendments.
        Signed => "signed",
    }
);

/// The allowed encounter transitions, one row per status in [`EncounterStatus::ALL`] order.
pub const ENCOUNTER_TRANSITIONS: [(EncounterStatus, &[EncounterStatus]); 2] = [
    (EncounterStatus::Draft, &[EncounterStatus::Signed]),
    (EncounterStatus::Signed, &[]),
];

status_graph!(EncounterStatus, "encounter", ENCOUNTER_TRANSITIONS);

/// Something done to an existing encounter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncounterAction {
    /// Change the text, type, diagnoses or plan of a draft.
    Edit,
    /// Sign the draft: it becomes final.
    Sign,
    /// Add a correction to a signed encounter, keeping the original visible.
    Amend,
}

impl EncounterAction {
    fn verb(self) -> &'static str {
        match self {
            EncounterAction::Edit => "edit",
            EncounterAction::Sign => "sign",
            EncounterAction::Amend => "amend",
        }
    }
}

/// Checks whether `action` may be done to an encounter in `status` by someone who is
/// (`actor_is_author`) or is not its author: a draft is edited and signed by its author only;
/// a signed encounter is never edited or signed again, only amended. Whether the actor may
/// amend at all (the care team's doctors) is decided by the service; the author flag is not
/// consulted for amendments.
pub fn check_encounter_action(
    status: EncounterStatus,
    action: EncounterAction,
    actor_is_author: bool,
) -> Result<(), EncounterRefusal> {
    let refusal = |not_author| EncounterRefusal {
        status,
        action,
        not_author,
    };
    match (status, action) {
        (EncounterStatus::Draft, EncounterAction::Edit | EncounterAction::Sign) => {
            if actor_is_author {
                Ok(())
            } else {
                Err(refusal(true))
            }
        }
        (EncounterStatus::Signed, EncounterAction::Amend) => Ok(()),
        _ => Err(refusal(false)),
    }
}

/// A refused encounter action. [`EncounterRefusal::is_conflict`] tells a status problem (409)
/// from an actor problem (403); the message names the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncounterRefusal {
    status: EncounterStatus,
    action: EncounterAction,
    not_author: bool,
}

impl EncounterRefusal {
    /// The encounter's current status.
    pub fn status(&self) -> EncounterStatus {
        self.status
    }

    /// The refused action.
    pub fn action(&self) -> EncounterAction {
        self.action
    }

    /// True when the status forbids the action (whoever asks); false when only the author
    /// may do it.
    pub fn is_conflict(&self) -> bool {
        !self.not_author
    }
}

impl fmt::Display for EncounterRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not_author {
            return write!(
                f,
                "only its author may {} a {} encounter",
                self.action.verb(),
                self.status
            );
        }
        match (self.status, self.action) {
            (EncounterStatus::Signed, EncounterAction::Edit) => f.write_str(
                "a signed encounter cannot be edited: corrections are added as amendments",
            ),
            (EncounterStatus::Signed, EncounterAction::Sign) => {
                f.write_str("a signed encounter is already signed")
            }
            (EncounterStatus::Draft, EncounterAction::Amend) => f.write_str(
                "a draft encounter cannot be amended: its author edits it until it is signed",
            ),
            (status, action) => write!(f, "cannot {} a {status} encounter", action.verb()),
        }
    }
}

impl std::error::Error for EncounterRefusal {}

/// Shortest accepted amendment reason, in characters.
pub const AMENDMENT_REASON_MIN: usize = 10;
/// Longest accepted amendment reason, in characters.
pub const AMENDMENT_REASON_MAX: usize = 500;

clinical_text!(
    /// Why a signed encounter is being amended: 10–500 characters with at least one letter,
    /// may span lines.
    AmendmentReason
);

impl AmendmentReason {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, AMENDMENT_REASON_MIN, AMENDMENT_REASON_MAX, true)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must say in words why the record is corrected".into());
        }
        Ok(Self(value))
    }
}

// ---------------------------------------------------------------------------------------
// Diagnoses
// ---------------------------------------------------------------------------------------

text_choice!(
    /// Whether a diagnosis is the main reason for the encounter or an additional one.
    DiagnosisKind, "the diagnosis kinds" {
        Primary => "primary",
        Secondary => "secondary",
    }
);

/// An ICD-10 code in its written shape: a letter, two characters (a digit, then a digit or
/// letter), and optionally a dot and 1–4 digits or letters (`J45.9`, `C4A.0`, `S72.001A`).
/// Parsing uppercases it, drops spaces and puts in a missing dot (`j459` is `J45.9`).
/// Whether the code exists is not checked by [`DiagnosisCode::parse`];
/// [`DiagnosisEntry::parse`] also looks it up in the bundled list (`core::icd10`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiagnosisCode(String);

impl DiagnosisCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err("is required".into());
        }
        let invalid = || "must be an ICD-10 code like J45.9".to_owned();
        let bytes = compact.as_bytes();
        // An ICD-10-CM category is a letter, a digit and a digit or letter (`J45`, `C4A`), or
        // since FY2026 a letter, a letter and a digit (`QA0`, in the bundled list).
        let head_ok = bytes.len() >= 3
            && bytes[0].is_ascii_uppercase()
            && ((bytes[1].is_ascii_digit()
                && (bytes[2].is_ascii_digit() || bytes[2].is_ascii_uppercase()))
                || (bytes[1].is_ascii_uppercase() && bytes[2].is_ascii_digit()));
        if !head_ok || !compact.is_ascii() {
            return Err(invalid());
        }
        let tail = &compact[3..];
        let tail = tail.strip_prefix('.').unwrap_or(tail);
        if compact.len() > 3 && tail.is_empty() {
            return Err(invalid());
        }
        if tail.len() > 4
            || !tail
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(invalid());
        }
        if tail.is_empty() {
            Ok(Self(compact))
        } else {
            Ok(Self(format!("{}.{tail}", &compact[..3])))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-character category (`J45` for `J45.9`), for reports by code.
    pub fn category(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Debug for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DiagnosisCode(…)")
    }
}

impl fmt::Display for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest accepted free-text diagnosis, in characters.
pub const DIAGNOSIS_TEXT_MAX: usize = 500;

clinical_text!(
    /// A diagnosis in words, when no ICD-10 code fits: 2–500 characters on one line.
    DiagnosisText
);

impl DiagnosisText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, 2, DIAGNOSIS_TEXT_MAX, false)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must contain a word".into());
        }
        Ok(Self(value))
    }
}

/// What was diagnosed: a code, or words flagged as free text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Diagnosis {
    Coded(DiagnosisCode),
    FreeText(DiagnosisText),
}

impl fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnosis::Coded(_) => f.write_str("Diagnosis::Coded(…)"),
            Diagnosis::FreeText(_) => f.write_str("Diagnosis::FreeText(…)"),
        }
    }
}

/// One diagnosis of an encounter: its kind and either an ICD-10 code or free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiagnosisEntry {
    kind: DiagnosisKind,
    diagnosis: Diagnosis,
}

impl DiagnosisEntry {
    /// Parses one diagnosis from its fields `kind`, `code` and `text`. With `free_text`
    /// false the code is read: it must have ICD-10 shape and be in the bundled list
    /// ([`crate::icd10::parse_code`]), and is kept in its canonical form. With `free_text`
    /// true the text is read. The other field is ignored (a form sends both, whichever the
    /// toggle shows).
    pub fn parse(
        kind_raw: &str,
        code_raw: Option<&str>,
        text_raw: Option<&str>,
        free_text: bool,
    ) -> Result<DiagnosisEntry, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = errors.check("kind", DiagnosisKind::parse(kind_raw));
        let diagnosis = if free_text {
            errors
                .check(
                    "text",
                    DiagnosisText::parse(text_raw.unwrap_or("")).map_err(|m| {
                        if m == "is required" {
                            "is required for a free-text diagnosis".to_owned()
                        } else {
                            m
                        }
                    }),
                )
                .map(Diagnosis::FreeText)
        } else {
            errors
                .check(
                    "code",
                    DiagnosisCode::parse(code_raw.unwrap_or(""))
                        .map_err(|m| {
                            if m == "is required" {
                                "is required (or mark the diagnosis as free text)".to_owned()
                            } else {
                                m
                            }
                        })
                        .and_then(|code| crate::icd10::parse_code(code.as_str()))
                        .and_then(DiagnosisCode::parse),
                )
                .map(Diagnosis::Coded)
        };
        errors.into_result()?;
        match (kind, diagnosis) {
            (Some(kind), Some(diagnosis)) => Ok(DiagnosisEntry { kind, diagnosis }),
            _ => Err(ValidationErrors::single("kind", "is required")),
        }
    }

    /// An entry from values already validated (a stored row).
    pub fn new(kind: DiagnosisKind, diagnosis: Diagnosis) -> DiagnosisEntry {
        DiagnosisEntry { kind, diagnosis }
    }

    pub fn kind(&self) -> DiagnosisKind {
        self.kind
    }

    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }

    /// Whether this diagnosis is uncoded free text.
    pub fn is_free_text(&self) -> bool {
        matches!(self.diagnosis, Diagnosis::FreeText(_))
    }

    /// The ICD-10 code, for a coded diagnosis.
    pub fn code(&self) -> Option<&DiagnosisCode> {
        match &self.diagnosis {
            Diagnosis::Coded(code) => Some(code),
            Diagnosis::FreeText(_) => None,
        }
    }

    /// The words, for a free-text diagnosis.
    pub fn text(&self) -> Option<&DiagnosisText> {
        match &self.diagnosis {
            Diagnosis::FreeText(text) => Some(text),
            Diagnosis::Coded(_) => None,
        }
    }
}

/// Checks an encounter's diagnoses together: at most one primary, and no code or free text
/// listed twice (text compared ignoring case and spacing). The messages never repeat the
/// diagnosis itself.
pub fn check_diagnosis_list(entries: &[DiagnosisEntry]) -> Result<(), String> {
    let primaries = entries
        .iter()
        .filter(|e| e.kind == DiagnosisKind::Primary)
        .count();
    if primaries > 1 {
        return Err("may have only one primary diagnosis".into());
    }
    let mut seen: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = match &entry.diagnosis {
            Diagnosis::Coded(code) => format!("code:{}", code.as_str()),
            Diagnosis::FreeText(text) => format!(
                "text:{}",
                text.as_str()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            ),
        };
        if seen.contains(&key) {
            return Err("lists the same diagnosis twice".into());
        }
        seen.push(key);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Prescriptions
// ---------------------------------------------------------------------------------------

text_choice!(
    /// How a drug is given. Parsing also takes the usual abbreviations (PO, SL, IV, IM, SC,
    /// PR, INH, TD).
    Route, "the routes" {
        Oral => "oral" | "po" | "by_mouth",
        Sublingual => "sublingual" | "sl",
        Topical => "topical",
        Inhaled => "inhaled" | "inh" | "inhalation",
        Intravenous => "intravenous" | "iv",
        Intramuscular => "intramuscular" | "im",
        Subcutaneous => "subcutaneous" | "sc" | "sq" | "subcut",
        Rectal => "rectal" | "pr",
        Ophthalmic => "ophthalmic",
        Otic => "otic",
        Nasal => "nasal" | "intranasal",
        Transdermal => "transdermal" | "td",
        Other => "other",
    }
);

text_choice!(
    /// Where a prescription stands. See [`PRESCRIPTION_TRANSITIONS`].
    PrescriptionStatus, "the prescription statuses" {
        /// Being taken. The only status that changes.
        Active => "active",
        /// The course is finished. Final.
        Completed => "completed",
        /// Stopped or withdrawn (with a reason, kept elsewhere). Final.
        Cancelled => "cancelled",
    }
);

/// The allowed prescription transitions, one row per status in [`PrescriptionStatus::ALL`]
/// order.
pub const PRESCRIPTION_TRANSITIONS: [(PrescriptionStatus, &[PrescriptionStatus]); 3] = [
    (
        PrescriptionStatus::Active,
        &[PrescriptionStatus::Completed, PrescriptionStatus::Cancelled],
    ),
    (PrescriptionStatus::Completed, &[]),
    (PrescriptionStatus::Cancelled, &[]),
];

status_graph!(PrescriptionStatus, "prescription", PRESCRIPTION_TRANSITIONS);

/// Longest drug name, in characters.
pub const DRUG_NAME_MAX: usize = 200;
/// Longest dose, in characters.
pub const DOSE_MAX: usize = 50;
/// Longest frequency, in characters.
pub const FREQUENCY_MAX: usize = 50;
/// Longest course, in days.
pub const DURATION_DAYS_MAX: u32 = 365;
/// Largest quantity, in whole units (tablets, ampoules, packs).
pub const QUANTITY_MAX: u32 = 10_000;
/// Longest instructions, in characters.
pub const INSTRUCTIONS_MAX: usize = 1000;

clinical_text!(
    /// A drug's name as prescribed (`Amoxicillin 500 mg capsules`): 2–200 characters, one
    /// line, at least one letter.
    DrugName
);

impl DrugName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = clean_text(raw, 2, DRUG_NAME_MAX, false)?;
        if !value.chars().any(char::is_alphabetic) {
            return Err("must contain a letter".into());
        }
        Ok(Self(value))
    }
}

clinical_text!(
    /// A dose as written (`500 mg`, `2 puffs`, `a thin layer`): 1–50 characters, one line.
    Dose
);

impl Dose {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, 1, DOSE_MAX, false).map(Self)
    }
}

clinical_text!(
    /// How often (`twice daily`, `every 8 hours`, `at night`): 1–50 characters, one line.
    Frequency
);

impl Frequency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, 1, FREQUENCY_MAX, false).map(Self)
    }
}

clinical_text!(
    /// Instructions for the patient or the pharmacist: up to 1000 characters, may span lines.
    Instructions
);

impl Instructions {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, 1, INSTRUCTIONS_MAX, true).map(Self)
    }
}

/// The raw fields of a prescription form or JSON body. `generic_name` is optional (the
/// formulary fills it once it exists); it sharpens the allergy check. `Debug` does not show
/// the values.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct PrescriptionInput<'a> {
    pub drug_name: &'a str,
    pub generic_name: Option<&'a str>,
    pub dose: &'a str,
    pub route: &'a str,
    pub frequency: &'a str,
    pub duration_days: &'a str,
    pub quantity: &'a str,
    pub instructions: Option<&'a str>,
}

impl fmt::Debug for PrescriptionInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrescriptionInput(…)")
    }
}

/// What a validated prescription says. Status, prescriber and times live with the stored
/// row, not here. `Debug` shows only the route.
#[derive(Clone, PartialEq, Eq)]
pub struct PrescriptionDetails {
    drug_name: DrugName,
    generic_name: Option<DrugName>,
    dose: Dose,
    route: Route,
    frequency: Frequency,
    duration_days: u32,
    quantity: u32,
    instructions: Option<Instructions>,
}

impl PrescriptionDetails {
    /// Validates a prescription. Every problem is reported under its field: `drug_name`,
    /// `generic_name`, `dose`, `route`, `frequency`, `duration_days` (1–365), `quantity`
    /// (1–10,000 whole units) and `instructions`. Blank optional fields are absent.
    pub fn parse(input: &PrescriptionInput<'_>) -> Result<PrescriptionDetails, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let drug_name = errors.check("drug_name", DrugName::parse(input.drug_name));
        let generic_name = match given(input.generic_name) {
            Some(raw) => errors.check("generic_name", DrugName::parse(raw)).map(Some),
            None => Some(None),
        };
        let dose = errors.check("dose", Dose::parse(input.dose));
        let route = errors.check(
            "route",
            if input.route.trim().is_empty() {
                Err("is required".to_owned())
            } else {
                Route::parse(input.route)
            },
        );
        let frequency = errors.check("frequency", Frequency::parse(input.frequency));
        let duration_days = errors.check(
            "duration_days",
            parse_whole(input.duration_days, 1, DURATION_DAYS_MAX, "days"),
        );
        let quantity = errors.check(
            "quantity",
            parse_whole(input.quantity, 1, QUANTITY_MAX, "units"),
        );
        let instructions = match given(input.instructions) {
            Some(raw) => errors
                .check("instructions", Instructions::parse(raw))
                .map(Some),
            None => Some(None),
        };
        errors.into_result()?;
        match (
            drug_name,
            generic_name,
            dose,
            route,
            frequency,
            duration_days,
            quantity,
            instructions,
        ) {
            (
                Some(drug_name),
                Some(generic_name),
                Some(dose),
                Some(route),
                Some(frequency),
                Some(duration_days),
                Some(quantity),
                Some(instructions),
            ) => Ok(PrescriptionDetails {
                drug_name,
                generic_name,
                dose,
                route,
                frequency,
                duration_days,
                quantity,
                instructions,
            }),
            _ => Err(ValidationErrors::single("drug_name", "is required")),
        }
    }

    pub fn drug_name(&self) -> &DrugName {
        &self.drug_name
    }

    pub fn generic_name(&self) -> Option<&DrugName> {
        self.generic_name.as_ref()
    }

    pub fn dose(&self) -> &Dose {
        &self.dose
    }

    pub fn route(&self) -> Route {
        self.route
    }

    pub fn frequency(&self) -> &Frequency {
        &self.frequency
    }

    pub fn duration_days(&self) -> u32 {
        self.duration_days
    }

    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    pub fn instructions(&self) -> Option<&Instructions> {
        self.instructions.as_ref()
    }

    /// The recorded allergies that match this drug (see [`allergy_matches`]).
    pub fn allergy_matches(&self, allergies_text: &str) -> Vec<String> {
        allergy_matches(
            allergies_text,
            self.drug_name.as_str(),
            self.generic_name.as_ref().map(DrugName::as_str),
        )
    }
}

impl fmt::Debug for PrescriptionDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrescriptionDetails {{ route: {:?}, .. }}", self.route)
    }
}

// ---------------------------------------------------------------------------------------
// Allergies and duplicates
// ---------------------------------------------------------------------------------------

/// A word stem shared by a class's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stem {
    /// Names starting with this (`cef…`).
    Prefix(&'static str),
    /// Names ending with this (`…cillin`).
    Suffix(&'static str),
}

/// A drug class for the allergy safety net: the names a recorded allergy may use for the
/// class, some members, and the naming stems its members share. All entries are in
/// normalised form (lowercase, no spaces or hyphens, British spelling as
/// [`normalise_word`] makes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrugClass {
    /// The class, as shown in a warning ("penicillins").
    pub name: &'static str,
    /// What an allergy record may call the class ("penicillin", "sulfa").
    pub aliases: &'static [&'static str],
    /// Members, generic names.
    pub members: &'static [&'static str],
    /// Naming stems (international nonproprietary name stems) of further members.
    pub stems: &'static [Stem],
}

/// The built-in classes. A safety net that catches the commonest class allergies, not a drug
/// database: brand names and most members are missing, and cross-reactivity between classes
/// (penicillins and cephalosporins) is deliberately not linked.
pub const DRUG_CLASSES: &[DrugClass] = &[
    DrugClass {
        name: "penicillins",
        aliases: &["penicillin", "pcn", "betalactam"],
        members: &[
            "amoxicillin",
            "amoxycillin",
            "ampicillin",
            "flucloxacillin",
            "benzylpenicillin",
            "phenoxymethylpenicillin",
            "piperacillin",
            "coamoxiclav",
            "cloxacillin",
            "dicloxacillin",
            "temocillin",
            "pivmecillinam",
        ],
        stems: &[Stem::Suffix("cillin")],
    },
    DrugClass {
        name: "cephalosporins",
        aliases: &["cefalosporin", "betalactam"],
        members: &[
            "cefalexin",
            "ceftriaxone",
            "cefuroxime",
            "cefazolin",
            "cefadroxil",
            "cefixime",
            "ceftazidime",
            "cefotaxime",
            "cefaclor",
            "cefepime",
        ],
        stems: &[Stem::Prefix("cef")],
    },
    DrugClass {
        name: "sulfonamides",
        aliases: &["sulfa", "sulfonamide", "sulfaantibiotic"],
        members: &[
            "sulfamethoxazole",
            "cotrimoxazole",
            "sulfasalazine",
            "sulfadiazine",
        ],
        stems: &[Stem::Prefix("sulfa")],
    },
    DrugClass {
        name: "NSAIDs",
        aliases: &["nsaid", "nonsteroidalantiinflammatory"],
        members: &[
            "ibuprofen",
            "naproxen",
            "diclofenac",
            "aspirin",
            "acetylsalicylicacid",
            "ketoprofen",
            "indometacin",
            "indomethacin",
            "mefenamicacid",
            "meloxicam",
            "piroxicam",
            "ketorolac",
            "etoricoxib",
            "celecoxib",
        ],
        stems: &[Stem::Suffix("profen"), Stem::Suffix("fenac")],
    },
    DrugClass {
        name: "opioids",
        aliases: &["opioid", "opiate", "narcotic"],
        members: &[
            "morphine",
            "codeine",
            "oxycodone",
            "tramadol",
            "dihydrocodeine",
            "hydrocodone",
            "hydromorphone",
            "fentanyl",
            "methadone",
            "pethidine",
            "diamorphine",
            "buprenorphine",
            "tapentadol",
        ],
        stems: &[],
    },
    DrugClass {
        name: "statins",
        aliases: &["statin"],
        members: &[
            "atorvastatin",
            "simvastatin",
            "rosuvastatin",
            "pravastatin",
            "fluvastatin",
            "pitavastatin",
        ],
        stems: &[Stem::Suffix("vastatin")],
    },
];

/// International spellings and names reduced to one form, so "acetaminophen" meets
/// "paracetamol". Keys and values normalised.
const SYNONYMS: &[(&str, &str)] = &[
    ("acetaminophen", "paracetamol"),
    ("albuterol", "salbutamol"),
    ("epinephrine", "adrenaline"),
    ("norepinephrine", "noradrenaline"),
    ("meperidine", "pethidine"),
    ("lidocaine", "lignocaine"),
    ("furosemide", "frusemide"),
    ("amoxycillin", "amoxicillin"),
    ("trimethoprimsulfamethoxazole", "cotrimoxazole"),
    ("sulfamethoxazoletrimethoprim", "cotrimoxazole"),
    ("amoxicillinclavulanicacid", "coamoxiclav"),
    ("amoxicillinclavulanate", "coamoxiclav"),
    ("amoxicillinclavulanic", "coamoxiclav"),
    ("acetylsalicylic", "aspirin"),
    ("asa", "aspirin"),
    ("acetylsalicylicacid", "aspirin"),
    ("sulfonamideantibiotic", "sulfaantibiotic"),
];

/// Words in an allergy record that are not the substance ("allergic to", "sulfa drugs",
/// "severe").
const ALLERGY_FILLER: &[&str] = &[
    "allergy",
    "allergic",
    "to",
    "drug",
    "medication",
    "medicine",
    "class",
    "family",
    "group",
    "type",
    "severe",
    "mild",
    "moderate",
    "intolerance",
    "intolerant",
    "sensitivity",
    "sensitive",
    "reaction",
    "history",
    "of",
    "antibiotic",
    "hx",
];

/// Words of a drug name that say nothing about which drug it is: units, forms, salts,
/// release modifiers. Ignored for duplicates and never matched alone.
#[rustfmt::skip]
const NON_IDENTIFYING: &[&str] = &[
    // units and counts
    "mg", "mcg", "ug", "g", "kg", "ml", "l", "iu", "unit", "mmol", "microgram", "milligram",
    "gram", "ng", "meq", "per", "dose", "x", "in",
    // forms
    "tablet", "tab", "capsule", "cap", "caplet", "syrup", "suspension", "solution",
    "injection", "inj", "infusion", "cream", "ointment", "gel", "lotion", "drop", "eye",
    "ear", "spray", "inhaler", "patch", "suppository", "pessary", "powder", "sachet",
    "liquid", "elixir", "oral", "film", "coated", "chewable", "dispersible", "effervescent",
    "vial", "ampoule", "pen", "prefilled", "syringe",
    // release
    "modified", "release", "prolonged", "extended", "mr", "sr", "xr", "xl", "er", "cr",
    "gastro", "resistant", "ec",
    // salts and hydrates
    "hydrochloride", "hcl", "hydrobromide", "sulfate", "phosphate", "maleate", "mesylate",
    "mesilate", "tartrate", "citrate", "succinate", "fumarate", "besylate", "besilate",
    "acetate", "trihydrate", "monohydrate", "dihydrate", "anhydrous",
    // words too general to name a substance alone
    "acid", "vitamin", "compound", "plain", "generic",
];

/// Normalises one word for comparison: lowercase; British `sulf`/`cef` spellings
/// (`sulphasalazine` → `sulfasalazine`, `cephalexin` → `cefalexin`); a simple plural
/// dropped (`penicillins`, `allergies` → `allergy`, but not `…ss`, `…us`, `…is`).
pub fn normalise_word(word: &str) -> String {
    let mut w = word.to_lowercase();
    if let Some(rest) = w.strip_prefix("sulph") {
        w = format!("sulf{rest}");
    }
    if let Some(rest) = w.strip_prefix("ceph") {
        w = format!("cef{rest}");
    }
    let length = w.chars().count();
    if length > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if length > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    w
}

fn synonym(key: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|(from, _)| *from == key)
        .map_or(key, |(_, to)| to)
}

/// The normalised words of `text`, split at anything that is not a letter or digit.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(normalise_word)
        .collect()
}

/// Whether a word is a number or a number with a unit (`500`, `500mg`, `5ml`).
fn is_quantity(word: &str) -> bool {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    digits_end > 0 && (digits_end == word.len() || NON_IDENTIFYING.contains(&&word[digits_end..]))
}

/// Whether a word says nothing about which substance it is (`500mg`, `tablet`, `sulfate`).
fn is_non_identifying(word: &str) -> bool {
    is_quantity(word) || NON_IDENTIFYING.contains(&word)
}

/// Whether a single word may identify a substance on its own.
fn identifies(word: &str) -> bool {
    word.chars().count() >= 3 && !is_non_identifying(word)
}

/// The keys a list of words can be known by: each identifying word, and every run of two to
/// four adjacent words joined (`mefenamic acid` → `mefenamicacid`, `co-trimoxazole` →
/// `cotrimoxazole`), after synonyms.
fn keys(words: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for n in 1..=words.len().min(4) {
        for window in words.windows(n) {
            if n == 1 && !identifies(&window[0]) {
                continue;
            }
            if n > 1 && window.iter().all(|w| is_non_identifying(w)) {
                continue;
            }
            let key = synonym(&window.concat()).to_owned();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

fn stem_matches(stem: &Stem, word: &str) -> bool {
    let (affix, found) = match stem {
        Stem::Prefix(p) => (p, word.starts_with(p)),
        Stem::Suffix(s) => (s, word.ends_with(s)),
    };
    // The stem alone is not a drug, and `sulfate` is a salt, not a sulfonamide.
    found && word.len() >= affix.len() + 3 && identifies(word)
}

/// The classes a key names or belongs to, by alias or member.
fn classes_by_name(key: &str) -> impl Iterator<Item = &'static DrugClass> + '_ {
    DRUG_CLASSES
        .iter()
        .filter(move |class| class.aliases.contains(&key) || class.members.contains(&key))
}

/// The classes a single word belongs to by its naming stem. Only whole words are tried, so
/// a run like `sulfate ferrous` cannot pass for a `sulfa…` drug.
fn classes_by_stem(word: &str) -> impl Iterator<Item = &'static DrugClass> + '_ {
    DRUG_CLASSES
        .iter()
        .filter(move |class| class.stems.iter().any(|stem| stem_matches(stem, word)))
}

/// The names of the classes that `words` (and their keys) belong to.
fn classes_of(words: &[String], keys: &[String]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = keys
        .iter()
        .flat_map(|key| classes_by_name(key))
        .chain(words.iter().flat_map(|word| classes_by_stem(word)))
        .map(|class| class.name)
        .collect();
    names.dedup();
    names
}

/// One recorded allergy that matches a drug, and how.
#[derive(Clone, PartialEq, Eq)]
pub struct AllergyMatch {
    /// The substance as recorded ("Penicillin (anaphylaxis)").
    pub substance: String,
    /// The class that links them, when the match is through a class rather than the name
    /// ("penicillins" for a penicillin allergy and amoxicillin).
    pub class: Option<&'static str>,
}

impl fmt::Debug for AllergyMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AllergyMatch(…)")
    }
}

/// Splits free-text allergies into the substances as written: at `;`, `,`, `/`, `|`, `+`,
/// `&`, line breaks and the word "and", but not inside parentheses or brackets
/// ("Penicillin (rash, hives); latex" is two substances).
pub fn split_allergies(allergies_text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let bytes = allergies_text.as_bytes();
    let mut i = 0usize;
    let mut push = |from: usize, to: usize| {
        let part = allergies_text[from..to].trim();
        if !part.is_empty() {
            parts.push(part);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' | b',' | b'/' | b'|' | b'+' | b'&' | b'\n' | b'\r' if depth == 0 => {
                push(start, i);
                start = i + 1;
            }
            b'a' | b'A' if depth == 0 => {
                // The word "and" between spaces.
                let word_start = i == 0 || bytes[i - 1].is_ascii_whitespace();
                let is_and = bytes
                    .get(i..i + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"and"));
                let word_end = bytes.get(i + 3).is_none_or(|c| c.is_ascii_whitespace());
                if word_start && is_and && word_end {
                    push(start, i);
                    start = i + 3;
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    push(start, allergies_text.len());
    parts
}

/// The part of a recorded allergy that names the substance: without parenthesised notes and,
/// when `cut_reaction`, without a reaction after `:`, ` - `, `->`, `=` or a dash
/// (`Penicillin - rash` → `Penicillin`).
fn substance_part(recorded: &str, cut_reaction: bool) -> String {
    let mut out = String::with_capacity(recorded.len());
    let mut depth = 0usize;
    for c in recorded.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if !cut_reaction {
        return out;
    }
    let cut = [":", " - ", "->", "=", "–", "—"]
        .iter()
        .filter_map(|sep| out.find(sep))
        .min()
        .unwrap_or(out.len());
    out.truncate(cut);
    out
}

/// The allergies recorded in `allergies_text` that match the drug, with how they match.
/// See [`allergy_matches`].
pub fn allergy_match_details(
    allergies_text: &str,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Vec<AllergyMatch> {
    let mut drug_keys: Vec<String> = Vec::new();
    let mut drug_classes: Vec<&'static str> = Vec::new();
    for name in std::iter::once(drug_name).chain(generic_name) {
        let name_words = words(name);
        let name_keys = keys(&name_words);
        drug_classes.extend(classes_of(&name_words, &name_keys));
        drug_keys.extend(name_keys);
    }

    let mut found: Vec<AllergyMatch> = Vec::new();
    for recorded in split_allergies(allergies_text) {
        let substance_words = |text: &str| -> Vec<String> {
            words(text)
                .into_iter()
                .filter(|w| !ALLERGY_FILLER.contains(&w.as_str()))
                .collect()
        };
        let mut names = substance_words(&substance_part(recorded, true));
        if names.is_empty() {
            // "Severe: morphine": what came before the colon was not the substance.
            names = substance_words(&substance_part(recorded, false));
        }
        let substance_keys = keys(&names);
        let class = if substance_keys.iter().any(|k| drug_keys.contains(k)) {
            Some(None)
        } else {
            classes_of(&names, &substance_keys)
                .into_iter()
                .find(|class| drug_classes.contains(class))
                .map(Some)
        };
        if let Some(class) = class
            && !found.iter().any(|m| m.substance == recorded)
        {
            found.push(AllergyMatch {
                substance: recorded.to_owned(),
                class,
            });
        }
    }
    found
}

/// The recorded allergies that match a drug about to be prescribed, as written in the record
/// ("Penicillin (anaphylaxis)"), in the record's order.
///
/// `allergies_text` is the patient's free-text allergy field ("Penicillin; latex",
/// "penicillin, sulfa drugs"). It is split into substances ([`split_allergies`]); each is
/// reduced to its name (notes in parentheses and a reaction after `:` or ` - ` dropped, words
/// like "allergic to", "drugs", "severe" ignored) and normalised (case, punctuation, hyphens,
/// simple plurals, `sulph`/`ceph` spellings, a few international synonyms). A substance
/// matches when one of its words or word runs equals one of the drug name's or generic
/// name's, or when both belong to the same class of [`DRUG_CLASSES`] (by class name, member
/// or naming stem).
///
/// This is a safety net that raises a warning for the prescriber to acknowledge, not a drug
/// database: an empty result does not mean the drug is safe.
pub fn allergy_matches(
    allergies_text: &str,
    drug_name: &str,
    generic_name: Option<&str>,
) -> Vec<String> {
    allergy_match_details(allergies_text, drug_name, generic_name)
        .into_iter()
        .map(|m| m.substance)
        .collect()
}

/// What identifies a drug in its name: the normalised words without strengths, units, forms,
/// release modifiers and salts, after synonyms, joined in their order and joined sorted
/// (`Amoxicillin 500 mg capsules` → `amoxicillin`; `co-amoxiclav` → `coamoxiclav`;
/// `sodium valproate` and `valproate sodium` meet in the sorted form).
fn drug_identity(drug: &str) -> (String, String) {
    let mut parts: Vec<String> = words(drug)
        .into_iter()
        .filter(|w| !is_non_identifying(w))
        .map(|w| synonym(&w).to_owned())
        .collect();
    let in_order = synonym(&parts.concat()).to_owned();
    parts.sort();
    parts.dedup();
    let sorted = synonym(&parts.concat()).to_owned();
    (in_order, sorted)
}

/// Whether `drug` is already among the patient's `active` prescriptions, comparing names
/// normalised as for the allergy check and ignoring strength, form and salt (`Amoxicillin
/// 250 mg` duplicates an active `amoxicillin 500mg capsules`). Same drug only: two members
/// of one class are not duplicates. A name with nothing identifying (`500 mg`) never
/// matches.
pub fn duplicate_active(drug: &str, active: &[&str]) -> bool {
    let (in_order, sorted) = drug_identity(drug);
    !in_order.is_empty()
        && active.iter().any(|other| {
            let (other_in_order, other_sorted) = drug_identity(other);
            other_in_order == in_order || other_sorted == sorted
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vitals(input: VitalsInput<'_>) -> Vitals {
        Vitals::parse(&input).unwrap()
    }

    fn vitals_err(input: VitalsInput<'_>) -> ValidationErrors {
        Vitals::parse(&input).unwrap_err()
    }

    fn prescription() -> PrescriptionInput<'static> {
        PrescriptionInput {
            drug_name: "Amoxicillin 500 mg capsules",
            generic_name: None,
            dose: "500 mg",
            route: "oral",
            frequency: "three times daily",
            duration_days: "7",
            quantity: "21",
            instructions: Some("Take with water."),
        }
    }

    // ---- vitals ----

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

    // ---- encounters ----

    #[test]
    fn choices_round_trip_their_text() {
        for t in EncounterType::ALL {
            assert_eq!(EncounterType::parse(t.as_str()).unwrap(), *t);
        }
        for s in EncounterStatus::ALL {
            assert_eq!(EncounterStatus::parse(s.as_str()).unwrap(), *s);
        }
        for r in Route::ALL {
            assert_eq!(Route::parse(r.as_str()).unwrap(), *r);
        }
        for s in PrescriptionStatus::ALL {
            assert_eq!(PrescriptionStatus::parse(s.as_str()).unwrap(), *s);
        }
        for k in DiagnosisKind::ALL {
            assert_eq!(DiagnosisKind::parse(k.as_str()).unwrap(), *k);
        }
        assert_eq!(
            EncounterType::parse("Follow-up").unwrap(),
            EncounterType::FollowUp
        );
        assert_eq!(
            EncounterType::parse("visit").unwrap_err(),
            "must be one of the encounter types: consultation, follow_up, emergency, \
             procedure, admission, telephone"
        );
    }

    #[test]
    fn the_full_encounter_transition_matrix() {
        // Columns in the same order as the rows (EncounterStatus::ALL); x = allowed.
        assert_status_matrix!(
            EncounterStatus,
            [
                // dra sig
                ".   x", // draft
                ".   .", // signed
            ]
        );
    }

    #[test]
    fn the_encounter_graph() {
        use EncounterStatus as S;
        for (i, status) in S::ALL.iter().enumerate() {
            assert_eq!(ENCOUNTER_TRANSITIONS[i].0, *status);
        }
        assert!(S::Draft.can_transition_to(S::Signed));
        assert!(!S::Signed.can_transition_to(S::Draft));
        assert!(!S::Draft.can_transition_to(S::Draft));
        assert!(S::Signed.is_final() && !S::Draft.is_final());
        assert_eq!(S::Draft.transition_to(S::Signed), Ok(S::Signed));
        let error = S::Signed.transition_to(S::Draft).unwrap_err();
        assert_eq!(error.from(), S::Signed);
        assert_eq!(error.to(), S::Draft);
        assert!(error.allowed().is_empty());
        assert_eq!(
            error.to_string(),
            "cannot go from signed to draft: a signed encounter is final"
        );
    }

    #[test]
    fn drafts_are_edited_and_signed_by_their_author_only() {
        use EncounterAction as A;
        use EncounterStatus as S;
        assert_eq!(check_encounter_action(S::Draft, A::Edit, true), Ok(()));
        assert_eq!(check_encounter_action(S::Draft, A::Sign, true), Ok(()));
        for action in [A::Edit, A::Sign] {
            let refusal = check_encounter_action(S::Draft, action, false).unwrap_err();
            assert!(!refusal.is_conflict());
            assert_eq!(refusal.status(), S::Draft);
            assert_eq!(refusal.action(), action);
        }
        assert_eq!(
            check_encounter_action(S::Draft, A::Edit, false)
                .unwrap_err()
                .to_string(),
            "only its author may edit a draft encounter"
        );
        assert_eq!(
            check_encounter_action(S::Draft, A::Sign, false)
                .unwrap_err()
                .to_string(),
            "only its author may sign a draft encounter"
        );
    }

    #[test]
    fn signed_encounters_are_amended_never_edited() {
        use EncounterAction as A;
        use EncounterStatus as S;
        for author in [true, false] {
            let refusal = check_encounter_action(S::Signed, A::Edit, author).unwrap_err();
            assert!(refusal.is_conflict());
            assert_eq!(
                refusal.to_string(),
                "a signed encounter cannot be edited: corrections are added as amendments"
            );
            assert_eq!(
                check_encounter_action(S::Signed, A::Sign, author)
                    .unwrap_err()
                    .to_string(),
                "a signed encounter is already signed"
            );
            assert_eq!(check_encounter_action(S::Signed, A::Amend, author), Ok(()));
            let refusal = check_encounter_action(S::Draft, A::Amend, author).unwrap_err();
            assert!(refusal.is_conflict());
            assert!(refusal.to_string().starts_with("a draft encounter"));
        }
    }

    #[test]
    fn amendment_reasons() {
        let reason =
            AmendmentReason::parse("  Wrong side recorded: left knee, not right. ").unwrap();
        assert_eq!(
            reason.as_str(),
            "Wrong side recorded: left knee, not right."
        );
        assert_eq!(
            AmendmentReason::parse("typo").unwrap_err(),
            "must be at least 10 characters"
        );
        assert_eq!(AmendmentReason::parse(" ").unwrap_err(), "is required");
        assert!(AmendmentReason::parse(&"a".repeat(500)).is_ok());
        assert_eq!(
            AmendmentReason::parse(&"a".repeat(501)).unwrap_err(),
            "must be at most 500 characters"
        );
        assert!(AmendmentReason::parse("1234567890!").is_err());
        assert!(AmendmentReason::parse("Dose corrected.\nSee lab report.").is_ok());
        assert!(AmendmentReason::parse("Dose corrected\u{7}bell").is_err());
        // Characters, not bytes.
        assert!(AmendmentReason::parse("éééééééééé").is_ok());
        assert!(!format!("{reason:?}").contains("knee"));
    }

    // ---- diagnoses ----

    #[test]
    fn icd10_code_shapes() {
        for (raw, code) in [
            ("J45.9", "J45.9"),
            ("j45.9", "J45.9"),
            (" J45 .9 ", "J45.9"),
            ("J459", "J45.9"),
            ("I10", "I10"),
            ("C4A.0", "C4A.0"),
            ("S72.001A", "S72.001A"),
            ("S72001A", "S72.001A"),
            ("U07.1", "U07.1"),
        ] {
            assert_eq!(DiagnosisCode::parse(raw).unwrap().as_str(), code, "{raw}");
        }
        for bad in [
            "",
            "J4",
            "45.9",
            "JJA.9", // (a letter second is well-formed since FY2026: `QA0.0`)
            "J4.59",
            "J45.",
            "J45.12345",
            "J45-9",
            "J45.9.1",
            "Ü45.9",
            "asthma",
        ] {
            assert!(DiagnosisCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(DiagnosisCode::parse("").unwrap_err(), "is required");
        assert_eq!(
            DiagnosisCode::parse("asthma").unwrap_err(),
            "must be an ICD-10 code like J45.9"
        );
        assert_eq!(DiagnosisCode::parse("S72.001A").unwrap().category(), "S72");
        assert_eq!(DiagnosisCode::parse("qa00").unwrap().as_str(), "QA0.0");
        assert_eq!(DiagnosisCode::parse("C4A.9").unwrap().category(), "C4A");
        assert!(DiagnosisCode::parse("QAB.0").is_err());
        assert!(!format!("{:?}", DiagnosisCode::parse("J45.9").unwrap()).contains("J45"));
    }

    #[test]
    fn coded_and_free_text_diagnoses() {
        let coded = DiagnosisEntry::parse("primary", Some("j459"), Some("Asthma"), false).unwrap();
        assert_eq!(coded.kind(), DiagnosisKind::Primary);
        assert!(!coded.is_free_text());
        assert_eq!(coded.code().unwrap().as_str(), "J45.9");
        assert!(coded.text().is_none());

        let free =
            DiagnosisEntry::parse("secondary", Some(""), Some(" Viral rash "), true).unwrap();
        assert!(free.is_free_text());
        assert_eq!(free.text().unwrap().as_str(), "Viral rash");
        assert!(free.code().is_none());

        let errors = DiagnosisEntry::parse("main", None, Some("Asthma"), false).unwrap_err();
        assert!(errors.message_for("kind").is_some());
        assert_eq!(
            errors.message_for("code"),
            Some("is required (or mark the diagnosis as free text)")
        );
        // Shaped like a code but not in the bundled list.
        let errors = DiagnosisEntry::parse("primary", Some("Z99.Z"), None, false).unwrap_err();
        assert!(
            errors.message_for("code").unwrap().contains("code list"),
            "{errors:?}"
        );
        let errors = DiagnosisEntry::parse("primary", Some("asthma"), None, false).unwrap_err();
        assert_eq!(
            errors.message_for("code"),
            Some("must be an ICD-10 code like J45.9")
        );
        let errors = DiagnosisEntry::parse("primary", Some("J45.9"), None, true).unwrap_err();
        assert_eq!(
            errors.message_for("text"),
            Some("is required for a free-text diagnosis")
        );
        let errors =
            DiagnosisEntry::parse("primary", Some("J45.9"), Some("a\u{0}b"), true).unwrap_err();
        assert!(errors.message_for("text").is_some());
        assert!(DiagnosisText::parse(&"x".repeat(501)).is_err());
        assert!(DiagnosisText::parse("42").is_err());

        let debug = format!("{coded:?} {free:?}");
        assert!(!debug.contains("J45") && !debug.contains("rash"), "{debug}");
    }

    #[test]
    fn diagnosis_lists() {
        let entry =
            |kind: &str, code: &str| DiagnosisEntry::parse(kind, Some(code), None, false).unwrap();
        let text = |kind: &str, t: &str| DiagnosisEntry::parse(kind, None, Some(t), true).unwrap();
        assert!(check_diagnosis_list(&[]).is_ok());
        assert!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("secondary", "I10")]).is_ok()
        );
        assert_eq!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("primary", "I10")])
                .unwrap_err(),
            "may have only one primary diagnosis"
        );
        assert_eq!(
            check_diagnosis_list(&[entry("primary", "J45.9"), entry("secondary", "j459")])
                .unwrap_err(),
            "lists the same diagnosis twice"
        );
        assert!(
            check_diagnosis_list(&[
                text("secondary", "Viral  rash"),
                text("secondary", "viral rash")
            ])
            .is_err()
        );
        assert!(
            check_diagnosis_list(&[entry("secondary", "I10"), text("secondary", "I10 like")])
                .is_ok()
        );
    }

    // ---- prescriptions ----

    #[test]
    fn a_valid_prescription() {
        let p = PrescriptionDetails::parse(&prescription()).unwrap();
        assert_eq!(p.drug_name().as_str(), "Amoxicillin 500 mg capsules");
        assert_eq!(p.generic_name(), None);
        assert_eq!(p.dose().as_str(), "500 mg");
        assert_eq!(p.route(), Route::Oral);
        assert_eq!(p.frequency().as_str(), "three times daily");
        assert_eq!(p.duration_days(), 7);
        assert_eq!(p.quantity(), 21);
        assert_eq!(p.instructions().unwrap().as_str(), "Take with water.");
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("Amoxicillin") && !debug.contains("500"),
            "{debug}"
        );
        assert!(debug.contains("Oral"));
        assert!(!format!("{:?}", prescription()).contains("Amoxicillin"));
        assert_eq!(p.allergy_matches("Penicillin"), ["Penicillin"]);
    }

    #[test]
    fn prescription_optional_fields_and_route_abbreviations() {
        let p = PrescriptionDetails::parse(&PrescriptionInput {
            generic_name: Some("  "),
            instructions: Some(" "),
            route: "IV",
            ..prescription()
        })
        .unwrap();
        assert_eq!(p.generic_name(), None);
        assert_eq!(p.instructions(), None);
        assert_eq!(p.route(), Route::Intravenous);
        for (raw, route) in [
            ("PO", Route::Oral),
            ("by mouth", Route::Oral),
            ("sl", Route::Sublingual),
            ("IM", Route::Intramuscular),
            ("SC", Route::Subcutaneous),
            ("PR", Route::Rectal),
            ("Transdermal", Route::Transdermal),
        ] {
            assert_eq!(Route::parse(raw).unwrap(), route, "{raw}");
        }
        assert!(Route::parse("s.c.").is_err());
        let p = PrescriptionDetails::parse(&PrescriptionInput {
            generic_name: Some("amoxicillin"),
            ..prescription()
        })
        .unwrap();
        assert_eq!(p.generic_name().unwrap().as_str(), "amoxicillin");
    }

    #[test]
    fn prescription_errors_by_field() {
        let errors = PrescriptionDetails::parse(&PrescriptionInput {
            drug_name: "X",
            generic_name: Some("1"),
            dose: "",
            route: "by pigeon",
            frequency: &"x".repeat(51),
            duration_days: "0",
            quantity: "2.5",
            instructions: Some(&"y".repeat(1001)),
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "drug_name",
                "generic_name",
                "dose",
                "route",
                "frequency",
                "duration_days",
                "quantity",
                "instructions"
            ]
        );
        assert_eq!(
            errors.message_for("drug_name"),
            Some("must be at least 2 characters")
        );
        assert_eq!(errors.message_for("dose"), Some("is required"));
        assert!(
            errors
                .message_for("route")
                .unwrap()
                .starts_with("must be one of the routes: oral")
        );
        assert_eq!(
            errors.message_for("duration_days"),
            Some("must be between 1 and 365 days")
        );
        assert_eq!(
            errors.message_for("quantity"),
            Some("must be a whole number of units")
        );
        assert_eq!(
            errors.message_for("instructions"),
            Some("must be at most 1000 characters")
        );

        let errors = PrescriptionDetails::parse(&PrescriptionInput {
            route: " ",
            duration_days: "366",
            quantity: "10001",
            ..prescription()
        })
        .unwrap_err();
        assert_eq!(errors.message_for("route"), Some("is required"));
        assert_eq!(
            errors.message_for("duration_days"),
            Some("must be between 1 and 365 days")
        );
        assert_eq!(
            errors.message_for("quantity"),
            Some("must be between 1 and 10,000 units")
        );
        let errors = PrescriptionDetails::parse(&PrescriptionInput {
            quantity: "99999999999999999999",
            duration_days: "",
            ..prescription()
        })
        .unwrap_err();
        assert_eq!(
            errors.message_for("quantity"),
            Some("must be between 1 and 10,000 units")
        );
        assert_eq!(errors.message_for("duration_days"), Some("is required"));
        assert!(
            PrescriptionDetails::parse(&PrescriptionInput {
                quantity: "10000",
                duration_days: "365",
                ..prescription()
            })
            .is_ok()
        );
        assert!(DrugName::parse("12345").is_err());
        assert!(DrugName::parse("Amoxicillin\n500").is_err());
        assert!(Dose::parse("a thin layer").is_ok());
    }

    #[test]
    fn the_full_prescription_transition_matrix() {
        // Columns in the same order as the rows (PrescriptionStatus::ALL); x = allowed.
        assert_status_matrix!(
            PrescriptionStatus,
            [
                // act com can
                ".   x   x", // active
                ".   .   .", // completed
                ".   .   .", // cancelled
            ]
        );
    }

    #[test]
    fn the_prescription_graph() {
        use PrescriptionStatus as S;
        for (i, status) in S::ALL.iter().enumerate() {
            assert_eq!(PRESCRIPTION_TRANSITIONS[i].0, *status);
        }
        let allowed = [(S::Active, S::Completed), (S::Active, S::Cancelled)];
        for &from in S::ALL {
            for &to in S::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert!(S::Completed.is_final() && S::Cancelled.is_final() && !S::Active.is_final());
        assert_eq!(
            S::Completed
                .transition_to(S::Active)
                .unwrap_err()
                .to_string(),
            "cannot go from completed to active: a completed prescription is final"
        );
        assert_eq!(
            S::Cancelled
                .transition_to(S::Completed)
                .unwrap_err()
                .to_string(),
            "cannot go from cancelled to completed: a cancelled prescription is final"
        );
        assert_eq!(
            S::Active.transition_to(S::Active).unwrap_err().to_string(),
            "cannot go from active to active: from active it can go to: completed, cancelled"
        );
    }

    // ---- allergies ----

    #[test]
    fn splitting_recorded_allergies() {
        assert_eq!(
            split_allergies("Penicillin; latex"),
            ["Penicillin", "latex"]
        );
        assert_eq!(
            split_allergies("penicillin, sulfa drugs\nEggs / nuts | shellfish + dust & pollen"),
            [
                "penicillin",
                "sulfa drugs",
                "Eggs",
                "nuts",
                "shellfish",
                "dust",
                "pollen"
            ]
        );
        assert_eq!(
            split_allergies("Penicillin (rash, hives); codeine and morphine"),
            ["Penicillin (rash, hives)", "codeine", "morphine"]
        );
        assert_eq!(
            split_allergies("Sandalwood, Andrographis"),
            ["Sandalwood", "Andrographis"]
        );
        assert!(split_allergies("  ;; , ").is_empty());
        assert!(split_allergies("").is_empty());
    }

    #[test]
    fn direct_matches_by_name_and_generic_name() {
        assert_eq!(
            allergy_matches("Penicillin; latex", "Penicillin V 250 mg tablets", None),
            ["Penicillin"]
        );
        assert_eq!(
            allergy_matches("Ibuprofen", "Nurofen 200mg", Some("ibuprofen")),
            ["Ibuprofen"]
        );
        assert_eq!(
            allergy_matches("CODEINE (vomiting)", "Codeine phosphate 30 mg", None),
            ["CODEINE (vomiting)"]
        );
        assert_eq!(
            allergy_matches("allergic to co-trimoxazole", "Cotrimoxazole 960mg", None),
            ["allergic to co-trimoxazole"]
        );
        assert_eq!(
            allergy_matches("mefenamic acid", "Mefenamic Acid 500 mg", None),
            ["mefenamic acid"]
        );
        assert_eq!(
            allergy_matches("Acetaminophen - hives", "Paracetamol 1 g", None),
            ["Acetaminophen - hives"]
        );
        assert_eq!(
            allergy_matches("sulphasalazine", "Sulfasalazine EC", None),
            ["sulphasalazine"]
        );
        assert_eq!(
            allergy_matches("Cephalexin", "cefalexin 500mg", None),
            ["Cephalexin"]
        );
    }

    #[test]
    fn class_matches() {
        let cases: [(&str, &str); 16] = [
            ("penicillins", "Amoxicillin 500 mg capsules"),
            ("PCN", "Flucloxacillin"),
            ("penicillin", "Phenoxymethylpenicillin"),
            ("Penicillin allergy", "piperacillin/tazobactam 4.5 g"),
            ("Penicillin", "Co-amoxiclav 625mg"),
            ("amoxicillin", "ampicillin"),
            ("penicillin", "ticarcillin"),
            ("sulfa drugs", "Co-trimoxazole"),
            ("Sulpha", "trimethoprim-sulfamethoxazole"),
            ("sulfonamides", "sulfadiazine"),
            ("NSAIDs", "Naproxen 250mg"),
            ("aspirin", "Ibuprofen"),
            ("nsaid", "ketoprofen gel"),
            ("Opiates", "Morphine sulfate 10 mg/5 ml"),
            ("statins", "Atorvastatin 20mg"),
            ("cephalosporins", "Cefuroxime"),
        ];
        for (allergy, drug) in cases {
            assert_eq!(
                allergy_matches(allergy, drug, None),
                [allergy],
                "{allergy} / {drug}"
            );
        }
        let details =
            allergy_match_details("penicillin, sulfa drugs", "Amoxil", Some("amoxicillin"));
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].substance, "penicillin");
        assert_eq!(details[0].class, Some("penicillins"));
        let direct = allergy_match_details("amoxicillin", "Amoxicillin", None);
        assert_eq!(direct[0].class, None);
        assert!(!format!("{:?}", details[0]).contains("penicillin"));
    }

    #[test]
    fn no_false_alarms_from_salts_units_and_unrelated_classes() {
        let quiet: [(&str, &str); 14] = [
            ("sulfa drugs", "Morphine sulfate 10 mg"),
            ("sulfonamides", "Ferrous sulphate 200 mg"),
            ("Penicillin", "Cefalexin 500 mg"),
            ("cephalosporins", "Amoxicillin"),
            ("latex", "Amoxicillin"),
            ("statins", "Nystatin oral suspension"),
            ("NKDA", "Paracetamol 500 mg tablets"),
            ("No known drug allergies", "Ibuprofen 400 mg"),
            ("vitamin K", "Vitamin B12 injection"),
            ("iron", "Spironolactone 25 mg"),
            ("eggs", "Paracetamol"),
            ("codeine", "Paracetamol 500 mg"),
            ("aspirin", "Paracetamol"),
            ("penicillin", "Penicillamine 250 mg"),
        ];
        for (allergy, drug) in quiet {
            assert!(
                allergy_matches(allergy, drug, None).is_empty(),
                "{allergy} / {drug}"
            );
        }
        assert!(allergy_matches("", "Amoxicillin", None).is_empty());
        assert!(allergy_matches("Penicillin", "500 mg", None).is_empty());
    }

    #[test]
    fn several_matches_keep_the_record_order_and_are_not_repeated() {
        assert_eq!(
            allergy_matches(
                "Latex; Amoxicillin (rash); penicillin - anaphylaxis; Amoxicillin (rash)",
                "Amoxicillin 250 mg",
                None
            ),
            ["Amoxicillin (rash)", "penicillin - anaphylaxis"]
        );
        assert_eq!(
            allergy_matches("Severe: morphine, codeine", "Oxycodone 5 mg", None),
            ["Severe: morphine", "codeine"]
        );
    }

    #[test]
    fn the_class_table_is_normalised() {
        let normalised = |entry: &str| {
            let w = words(entry).concat();
            assert_eq!(w, entry, "{entry} is not in normalised form");
        };
        for class in DRUG_CLASSES {
            class.aliases.iter().for_each(|a| normalised(a));
            class.members.iter().for_each(|m| normalised(m));
            for member in class.members {
                assert!(
                    classes_by_name(synonym(member)).any(|c| c.name == class.name),
                    "{member} is not found in {}",
                    class.name
                );
            }
        }
        for (from, to) in SYNONYMS {
            normalised(from);
            normalised(to);
        }
    }

    #[test]
    fn normalising_words() {
        assert_eq!(normalise_word("Penicillins"), "penicillin");
        assert_eq!(normalise_word("Allergies"), "allergy");
        assert_eq!(normalise_word("NSAIDs"), "nsaid");
        assert_eq!(normalise_word("Sulphonamides"), "sulfonamide");
        assert_eq!(normalise_word("Cephalosporins"), "cefalosporin");
        assert_eq!(normalise_word("glass"), "glass");
        assert_eq!(normalise_word("tetanus"), "tetanus");
        assert_eq!(normalise_word("gas"), "gas");
    }

    // ---- duplicates ----

    #[test]
    fn duplicate_active_prescriptions() {
        let active = ["Amoxicillin 500mg capsules", "Sodium valproate 200 mg MR"];
        assert!(duplicate_active("amoxicillin", &active));
        assert!(duplicate_active(
            "AMOXICILLIN 250 mg oral suspension",
            &active
        ));
        assert!(duplicate_active("Valproate sodium", &active));
        assert!(!duplicate_active("Ampicillin", &active));
        assert!(!duplicate_active("Co-amoxiclav", &active));
        assert!(duplicate_active("Co-amoxiclav 625 mg", &["coamoxiclav"]));
        assert!(duplicate_active(
            "co-amoxiclav",
            &["Amoxicillin/clavulanic acid"]
        ));
        assert!(!duplicate_active("Amoxicillin", &[]));
        assert!(!duplicate_active("500 mg", &["500 mg"]));
        assert!(duplicate_active(
            "Paracetamol 1 g",
            &["acetaminophen 500 mg"]
        ));
        assert!(duplicate_active("co-trimoxazole", &["Cotrimoxazole 480mg"]));
        assert!(!duplicate_active("Vitamin B12", &["Vitamin D3"]));
        assert!(!duplicate_active(
            "Sodium chloride 0.9%",
            &["Potassium chloride"]
        ));
        assert!(duplicate_active(
            "Morphine sulfate 10 mg",
            &["morphine sulphate 5mg/5ml oral solution"]
        ));
    }
}
