//! Prescriptions: the form ([`PrescriptionInput`] read into [`PrescriptionDetails`]), the
//! routes, and the `active → completed | cancelled` status graph.

use std::fmt;

use super::prescribing_checks::allergy_matches;
use super::{clean_text, given};
use crate::ValidationErrors;

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

sensitive_text!(
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

sensitive_text!(
    /// A dose as written (`500 mg`, `2 puffs`, `a thin layer`): 1–50 characters, one line.
    Dose
);

impl Dose {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, 1, DOSE_MAX, false).map(Self)
    }
}

sensitive_text!(
    /// How often (`twice daily`, `every 8 hours`, `at night`): 1–50 characters, one line.
    Frequency
);

impl Frequency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean_text(raw, 1, FREQUENCY_MAX, false).map(Self)
    }
}

sensitive_text!(
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
        // A field without a value has an error above, so each is here; the fallback is
        // never reached.
        let missing = || ValidationErrors::single("drug_name", "is required");
        Ok(PrescriptionDetails {
            drug_name: drug_name.ok_or_else(missing)?,
            generic_name: generic_name.ok_or_else(missing)?,
            dose: dose.ok_or_else(missing)?,
            route: route.ok_or_else(missing)?,
            frequency: frequency.ok_or_else(missing)?,
            duration_days: duration_days.ok_or_else(missing)?,
            quantity: quantity.ok_or_else(missing)?,
            instructions: instructions.ok_or_else(missing)?,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn prescription_choices_round_trip_their_text() {
        for r in Route::ALL {
            assert_eq!(Route::parse(r.as_str()).unwrap(), *r);
        }
        for s in PrescriptionStatus::ALL {
            assert_eq!(PrescriptionStatus::parse(s.as_str()).unwrap(), *s);
        }
    }

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
}
