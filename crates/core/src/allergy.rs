//! Allergies and intolerances as structured data: what the patient reacts to (a substance
//! from a coded list, or free text flagged as such), the reaction, its severity and whether
//! the entry is still in force. "No known allergies" is a recorded statement of its own, so
//! "nobody asked" and "asked: none" never look alike.

text_choice!(
    /// How severe the reaction is.
    AllergySeverity, "the allergy severities" {
        Mild => "mild",
        Moderate => "moderate",
        Severe => "severe",
        /// Not known (a reaction reported without detail).
        Unknown => "unknown",
    }
);

text_choice!(
    /// Whether an allergy entry is in force.
    AllergyStatus, "the allergy statuses" {
        /// In force: shown in the banner and checked when prescribing.
        Active => "active",
        /// No longer applies (outgrown, disproved by a challenge test).
        Inactive => "inactive",
        /// Recorded by mistake (wrong patient, typing error); kept for the record.
        EnteredInError => "entered_in_error",
    }
);
