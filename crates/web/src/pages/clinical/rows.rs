//! The rows the clinical pages show: encounters, diagnoses, amendments, notes, prescriptions.

use super::*;

/// One of the five texts, as shown.
#[derive(Debug, Clone)]
pub struct TextRow {
    pub name: &'static str,
    pub label: &'static str,
    pub value: Option<String>,
}

/// A diagnosis as shown.
#[derive(Debug, Clone)]
pub struct DiagnosisRow {
    pub id: String,
    pub primary: bool,
    pub code: Option<String>,
    pub text: String,
    pub free_text: bool,
    pub retracted_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone)]
pub struct AmendmentRow {
    pub author: String,
    pub at: String,
    pub reason: String,
    pub changes: Vec<ChangeRow>,
}

#[derive(Debug, Clone)]
pub struct NoteRow {
    pub author: String,
    pub at: String,
    pub text: String,
}

/// The appointment an encounter belongs to, as its page shows it.
#[derive(Debug, Clone)]
pub struct AppointmentFacts {
    pub href: String,
    pub when: String,
    pub department: String,
    pub kind: &'static str,
    pub status: String,
    pub may_complete: bool,
}

/// An encounter as listed or shown.
#[derive(Debug, Clone)]
pub struct EncounterRow {
    pub id: String,
    pub patient_id: String,
    pub patient: String,
    pub clinician: String,
    pub kind: String,
    pub signed: bool,
    pub started_at: String,
    pub signed_at: Option<String>,
    pub texts: Vec<TextRow>,
    pub diagnoses: Vec<DiagnosisRow>,
    pub amendments: Vec<AmendmentRow>,
    pub notes: Vec<NoteRow>,
    /// The encounter's vitals, flagged (`None`: none recorded).
    pub vitals_table: Option<crate::vitals_table::VitalsTable>,
    pub appointment: Option<AppointmentFacts>,
    /// The version the draft form was drawn from (`updated_at` in microseconds).
    pub version: i64,
}

impl EncounterRow {
    pub(crate) fn from_view(e: &EncounterView) -> Self {
        Self {
            id: e.id.clone(),
            patient_id: e.patient_id.to_string(),
            patient: e.patient_label.clone(),
            clinician: e.clinician_name.clone(),
            kind: e.kind.as_str().replace('_', " "),
            signed: e.signed_at.is_some(),
            started_at: time(e.started_at),
            signed_at: e.signed_at.map(time),
            version: carevault_core::time::to_micros(e.updated_at),
            // Hidden texts are absent; empty ones say so.
            texts: e
                .texts
                .iter()
                .filter_map(|(name, shown)| {
                    shown.as_ref().map(|v| TextRow {
                        name,
                        label: text_label(name),
                        value: v.clone(),
                    })
                })
                .collect(),
            diagnoses: e
                .diagnoses
                .iter()
                .map(|d| DiagnosisRow {
                    id: d.id.clone(),
                    primary: d.kind.as_str() == "primary",
                    code: d.code.clone(),
                    text: d.text.clone(),
                    free_text: d.free_text,
                    retracted_at: d.retracted_at.map(time),
                })
                .collect(),
            amendments: e
                .amendments
                .iter()
                .map(|a| AmendmentRow {
                    author: a.author.clone(),
                    at: time(a.at),
                    reason: a.reason.clone(),
                    changes: a
                        .changes
                        .iter()
                        .map(|c| ChangeRow {
                            label: text_label(&c.field),
                            before: c.before.clone(),
                            after: c.after.clone(),
                        })
                        .collect(),
                })
                .collect(),
            notes: e
                .notes
                .iter()
                .map(|n| NoteRow {
                    author: n.author.clone(),
                    at: time(n.at),
                    text: n.text.clone(),
                })
                .collect(),
            vitals_table: (!e.vitals.is_empty()).then(|| {
                crate::vitals_table::VitalsTable::new(
                    &format!("encounter-vitals-{}", e.id),
                    "Vitals recorded on this encounter",
                    &e.vitals,
                    chrono_tz::UTC,
                )
            }),
            appointment: e.appointment.as_ref().map(|a| AppointmentFacts {
                href: format!("/appointments/{}", a.id),
                when: format!(
                    "{}–{} UTC",
                    a.start.format("%Y-%m-%d %H:%M"),
                    a.end.format("%H:%M")
                ),
                department: a.department.clone(),
                kind: match a.kind.as_str() {
                    "follow_up" => "Follow-up",
                    "procedure" => "Procedure",
                    _ => "Consultation",
                },
                status: a.status.as_str().replace('_', " "),
                may_complete: a.may_complete,
            }),
        }
    }
}

/// A prescription as listed or printed.
#[derive(Debug, Clone)]
pub struct PrescriptionRow {
    pub id: String,
    pub patient: String,
    pub encounter_id: String,
    pub prescriber: String,
    pub status: String,
    pub drug: String,
    pub generic_name: Option<String>,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    pub instructions: Option<String>,
    /// The warnings overridden when it was written: (kind, what matched).
    pub warnings: Vec<(String, String)>,
    /// The prescriber's reason for overriding them.
    pub override_reason: Option<String>,
    pub created_at: String,
}

impl From<&PrescriptionView> for PrescriptionRow {
    fn from(p: &PrescriptionView) -> Self {
        Self {
            id: p.id.clone(),
            patient: p.patient_label.clone(),
            encounter_id: p.encounter_id.clone(),
            prescriber: p.prescriber_name.clone(),
            status: p.status.as_str().to_owned(),
            drug: p.drug_name.clone(),
            generic_name: p.generic_name.clone(),
            dose: p.dose.clone(),
            route: p.route.clone(),
            frequency: p.frequency.clone(),
            duration_days: p.duration_days,
            quantity: p.quantity,
            instructions: p.instructions.clone(),
            warnings: p
                .warnings
                .iter()
                .map(|w| (warning_label(&w.kind).to_owned(), w.detail.clone()))
                .collect(),
            override_reason: p.acknowledgement.clone(),
            created_at: time(p.created_at),
        }
    }
}

/// A warning's kind in words.
pub(crate) fn warning_label(kind: &str) -> &'static str {
    match kind {
        "allergy" => "Allergy",
        "duplicate" => "Already prescribed",
        _ => "Warning",
    }
}
