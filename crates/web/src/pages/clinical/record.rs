//! A patient's clinical record, linked from the patient page.

use super::*;

#[derive(Template)]
#[template(path = "clinical_list.html")]
pub(super) struct ClinicalListPage {
    pub(super) layout: Layout,
    pub(super) patient_href: Option<String>,
    pub(super) new_encounter_href: Option<String>,
    pub(super) encounters: Vec<EncounterRow>,
    pub(super) prescriptions: Option<Vec<PrescriptionRow>>,
    pub(super) portal: bool,
    /// The patient's vitals as a flagged table (not for pharmacists).
    pub(super) vitals_table: Option<crate::vitals_table::VitalsTable>,
    /// Sparklines of the signs measured more than once.
    pub(super) trends: Vec<crate::vitals_table::TrendItem>,
}

/// The vitals table and trend sparklines of a patient's readings (newest first).
pub(super) fn vitals_section(
    state: &AppState,
    readings: &[carevault_service::encounters::VitalsView],
    caption: &str,
) -> (
    Option<crate::vitals_table::VitalsTable>,
    Vec<crate::vitals_table::TrendItem>,
) {
    let zone = state.services.clinic_time_zone();
    let table = crate::vitals_table::VitalsTable::new("patient-vitals", caption, readings, zone);
    (
        Some(table),
        crate::vitals_table::trend_items(readings, 10, zone),
    )
}

/// `GET /patients/{id}/clinical`: the patient's encounters and prescriptions, for those
/// who may read them (pharmacists: prescriptions only).
pub async fn patient_clinical(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = path_patient_id(&id)?;
    let encounters = if !actor.may(Action::SeeClinical) {
        Vec::new()
    } else {
        state.services.list_encounters(&actor, id).await?
    };
    let prescriptions = state.services.list_prescriptions(&actor, id).await?;
    let (vitals_table, trends) = if !actor.may(Action::SeeClinical) {
        (None, Vec::new())
    } else {
        let readings = state.services.list_vitals(&actor, id).await?;
        vitals_section(&state, &readings, "Vitals, newest first")
    };
    let title = prescriptions
        .first()
        .map(|p| p.patient_label.clone())
        .or_else(|| encounters.first().map(|e| e.patient_label.clone()))
        .map_or_else(
            || "Clinical record".to_owned(),
            |n| format!("Clinical record: {n}"),
        );
    let layout = crate::pages::banner::with_banner(
        &state,
        &actor,
        Layout::new(&state, &actor, &title, "/patients", csrf),
        id,
    )
    .await?;
    render(&ClinicalListPage {
        layout,
        patient_href: Some(format!("/patients/{id}")),
        new_encounter_href: actor
            .may(Action::WriteEncounters)
            .then(|| format!("/encounters/new?patient={id}")),
        encounters: encounters.iter().map(EncounterRow::from_view).collect(),
        prescriptions: Some(prescriptions.iter().map(Into::into).collect()),
        portal: false,
        vitals_table,
        trends,
    })
}
