//! The encounter's forms: diagnoses, texts, the prescription and vitals, and what a
//! submission asks for.

use super::*;

/// One row of the diagnosis inputs.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisFormRow {
    pub index: usize,
    pub primary: bool,
    pub code: String,
    /// The code's title, when the code is one of the list.
    pub title: String,
    pub text: String,
    pub free_text: bool,
    pub error: Option<String>,
}

impl DiagnosisFormRow {
    /// Whether nothing was typed in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.code.trim().is_empty() && self.text.trim().is_empty()
    }
}

/// The title of `code`, if it is one of the list.
pub(crate) fn code_title(code: &str) -> String {
    carevault_core::icd10::lookup(code)
        .map(|c| c.title.to_owned())
        .unwrap_or_default()
}

pub(crate) const BLANK_DIAGNOSIS_ROWS: usize = 2;

/// Reads the numbered diagnosis rows `{prefix}{i}_kind|code|text|free`; blank rows are
/// skipped. Returns the rows (for showing the form again) and the inputs with their row.
pub(crate) fn diagnosis_rows(
    pairs: &Pairs,
    prefix: &str,
) -> (Vec<DiagnosisFormRow>, Vec<(usize, DiagnosisInput)>) {
    let mut rows = Vec::new();
    let mut inputs = Vec::new();
    for index in 0..20 {
        let name = |part: &str| format!("{prefix}{index}_{part}");
        if !pairs
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{prefix}{index}_")))
        {
            continue;
        }
        let code = value(pairs, &name("code")).trim().to_owned();
        let row = DiagnosisFormRow {
            index,
            primary: value(pairs, &name("kind")) == "primary",
            title: code_title(&code),
            code,
            text: value(pairs, &name("text")).trim().to_owned(),
            free_text: !value(pairs, &name("free")).is_empty(),
            error: None,
        };
        if !row.code.is_empty() || !row.text.is_empty() {
            inputs.push((
                index,
                DiagnosisInput {
                    kind: if row.primary { "primary" } else { "secondary" }.to_owned(),
                    code: (!row.free_text && !row.code.is_empty()).then(|| row.code.clone()),
                    text: (!row.text.is_empty()).then(|| row.text.clone()),
                    free_text: row.free_text,
                },
            ));
        }
        rows.push(row);
    }
    (rows, inputs)
}

/// Puts the service's messages about `{list}[k].…` beside row `k`'s inputs.
pub(crate) fn attach_diagnosis_errors(
    rows: &mut [DiagnosisFormRow],
    submitted: &[(usize, DiagnosisInput)],
    list: &str,
    errors: &ValidationErrors,
) {
    for e in &errors.0 {
        let Some(rest) = e.field.strip_prefix(&format!("{list}[")) else {
            continue;
        };
        let Some((k, part)) = rest.split_once("].") else {
            continue;
        };
        let Some(index) = k
            .parse::<usize>()
            .ok()
            .and_then(|k| submitted.get(k))
            .map(|s| s.0)
        else {
            continue;
        };
        if let Some(row) = rows.iter_mut().find(|r| r.index == index) {
            let label = match part {
                "code" => "Code",
                "text" => "Text",
                _ => "Diagnosis",
            };
            row.error = Some(format!("{label} {}.", e.message));
        }
    }
}

pub(crate) fn blank_rows(rows: &mut Vec<DiagnosisFormRow>) {
    let next = rows.iter().map(|r| r.index + 1).max().unwrap_or(0);
    for index in next..next + BLANK_DIAGNOSIS_ROWS {
        rows.push(DiagnosisFormRow {
            index,
            ..DiagnosisFormRow::default()
        });
    }
}

/// A text input of a form, with its message.
#[derive(Debug, Clone)]
pub struct TextInput {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

pub(crate) fn text_inputs(
    values: &HashMap<String, String>,
    errors: &ValidationErrors,
) -> Vec<TextInput> {
    TEXT_FIELDS
        .iter()
        .map(|name| TextInput {
            name,
            label: text_label(name),
            value: values.get(*name).cloned().unwrap_or_default(),
            error: errors.message_for(name).map(str::to_owned),
        })
        .collect()
}

pub(crate) fn texts_from(
    pairs: &Pairs,
    only_changed_from: Option<&EncounterView>,
) -> HashMap<String, String> {
    TEXT_FIELDS
        .iter()
        .filter_map(|name| {
            let v = value(pairs, name).to_owned();
            match only_changed_from {
                // An amendment: only the texts that differ from the current ones.
                Some(current) => (v.trim() != current.text(name).unwrap_or("").trim())
                    .then(|| ((*name).to_owned(), v)),
                None => Some(((*name).to_owned(), v)),
            }
        })
        .collect()
}

/// The ICD-10 lookup's results (the GET search of the form, also its `<datalist>`).
#[derive(Debug, Clone, Default)]
pub struct Icd10Lookup {
    pub query: String,
    pub results: Vec<(String, String)>,
    pub searched: bool,
}

impl Icd10Lookup {
    pub(crate) fn search(query: &str) -> Self {
        let query = query.trim();
        if query.is_empty() {
            return Self::default();
        }
        Self {
            query: query.to_owned(),
            results: carevault_core::icd10::search(query, 25)
                .into_iter()
                .map(|c| (c.code.to_owned(), c.title.to_owned()))
                .collect(),
            searched: true,
        }
    }
}

/// The prescription form's values (named as here in the prescription form of a signed
/// encounter, and with an `rx_` prefix in the encounter form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrescriptionForm {
    /// A formulary drug's id, or empty for free text.
    #[serde(default)]
    pub drug_id: String,
    #[serde(default)]
    pub drug_name: String,
    #[serde(default)]
    pub generic_name: String,
    #[serde(default)]
    pub dose: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub duration_days: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub acknowledgement: String,
}

impl PrescriptionForm {
    /// The fields named `{prefix}drug_name` … of a submitted form.
    pub(crate) fn from_pairs(pairs: &Pairs, prefix: &str) -> Self {
        let get = |name: &str| value(pairs, &format!("{prefix}{name}")).to_owned();
        Self {
            drug_id: get("drug_id"),
            drug_name: get("drug_name"),
            generic_name: get("generic_name"),
            dose: get("dose"),
            route: get("route"),
            frequency: get("frequency"),
            duration_days: get("duration_days"),
            quantity: get("quantity"),
            instructions: get("instructions"),
            acknowledgement: get("acknowledgement"),
        }
    }

    /// Whether no prescription was typed (the acknowledgement alone is not one).
    pub(crate) fn is_blank(&self) -> bool {
        [
            &self.drug_id,
            &self.drug_name,
            &self.generic_name,
            &self.dose,
            &self.route,
            &self.frequency,
            &self.duration_days,
            &self.quantity,
            &self.instructions,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    /// The request for the service.
    pub(crate) fn request(&self, encounter_id: &str) -> PrescriptionRequest {
        PrescriptionRequest {
            encounter_id: encounter_id.to_owned(),
            drug_id: blank(&self.drug_id),
            drug_name: self.drug_name.clone(),
            generic_name: blank(&self.generic_name),
            dose: self.dose.clone(),
            route: self.route.clone(),
            frequency: self.frequency.clone(),
            duration_days: self.duration_days.clone(),
            quantity: self.quantity.clone(),
            instructions: blank(&self.instructions),
            acknowledgement: blank(&self.acknowledgement),
        }
    }
}

/// A prescription fieldset as shown: the values and the messages beside them.
#[derive(Debug, Clone, Default)]
pub struct RxFields {
    pub values: PrescriptionForm,
    /// (field, message), the fields named as in a prescription request (`drug_name`).
    pub errors: Vec<(String, String)>,
}

impl RxFields {
    /// The fields with the messages of `errors` whose field starts with `prefix`.
    pub(crate) fn with_errors(
        values: PrescriptionForm,
        errors: &ValidationErrors,
        prefix: &str,
    ) -> Self {
        Self {
            values,
            errors: errors
                .0
                .iter()
                .filter_map(|e| {
                    e.field
                        .strip_prefix(prefix)
                        .map(|f| (f.to_owned(), e.message.clone()))
                })
                .collect(),
        }
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The active formulary drugs a doctor may prescribe from: `(id, label)`.
pub(crate) async fn formulary(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(state
        .services
        .formulary_for_prescribing(actor)
        .await?
        .into_iter()
        .map(|d| {
            let label = format!("{} ({}) {} {}", d.name, d.generic_name, d.strength, d.form);
            (d.id, label)
        })
        .collect())
}

pub(crate) fn blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A vitals input with its value and message.
#[derive(Debug, Clone)]
pub struct VitalInput {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// The vitals inputs of a submitted form (fields named as in [`VITAL_FIELDS`]), with the
/// messages of `errors` under `prefix` (`vitals.` in the encounter form).
pub(crate) fn vital_inputs(
    pairs: &Pairs,
    errors: &ValidationErrors,
    prefix: &str,
) -> Vec<VitalInput> {
    VITAL_FIELDS
        .iter()
        .map(|(name, label)| VitalInput {
            name,
            label,
            value: value(pairs, name).trim().to_owned(),
            error: errors
                .message_for(&format!("{prefix}{name}"))
                .map(str::to_owned),
        })
        .collect()
}

/// The raw vitals of a submitted form, for the service.
pub(crate) fn vitals_submission(pairs: &Pairs) -> VitalsSubmission {
    let get = |name: &str| blank(value(pairs, name));
    VitalsSubmission {
        temperature_c: get("temperature_c"),
        pulse_bpm: get("pulse_bpm"),
        systolic_mmhg: get("systolic_mmhg"),
        diastolic_mmhg: get("diastolic_mmhg"),
        respiratory_rate: get("respiratory_rate"),
        spo2_percent: get("spo2_percent"),
        weight_kg: get("weight_kg"),
        height_cm: get("height_cm"),
    }
}

/// What a submit button of a form with a lookup asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormAction {
    Save,
    Sign,
    /// Search the ICD-10 list; nothing is saved.
    Lookup,
    /// Put this code into the first empty diagnosis row; nothing is saved.
    Use(String),
}

pub(crate) fn form_action(pairs: &Pairs) -> FormAction {
    match value(pairs, "action").trim() {
        "sign" => FormAction::Sign,
        "lookup" => FormAction::Lookup,
        other => match other.strip_prefix("use:") {
            Some(code) => FormAction::Use(code.trim().to_owned()),
            None => FormAction::Save,
        },
    }
}

/// Puts `code` into the first empty row (a new row if none is empty).
pub(crate) fn use_code(rows: &mut Vec<DiagnosisFormRow>, code: &str) {
    let title = code_title(code);
    let code =
        carevault_core::icd10::lookup(code).map_or_else(|| code.to_owned(), |c| c.code.to_owned());
    match rows.iter_mut().find(|r| r.is_empty()) {
        Some(row) => {
            row.code = code;
            row.title = title;
            row.free_text = false;
        }
        None => {
            let index = rows.iter().map(|r| r.index + 1).max().unwrap_or(0);
            rows.push(DiagnosisFormRow {
                index,
                primary: rows.is_empty(),
                code,
                title,
                ..DiagnosisFormRow::default()
            });
        }
    }
}
