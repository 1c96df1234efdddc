//! The patient portal: the patient's own encounters and prescriptions.

use super::*;

async fn own_record(state: &AppState, actor: &Actor) -> Result<Option<PatientId>, PageError> {
    if !actor.may(Action::UsePortal) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            Some("These pages are for patients.".into()),
        ));
    }
    Ok(state
        .services
        .my_patient_record(actor)
        .await?
        .map(|details| details.id))
}

/// `GET /my/encounters`: the patient's own signed encounters (summary, diagnoses, plan).
pub async fn my_encounters(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let (encounters, readings) = match own_record(&state, &actor).await? {
        Some(id) => (
            state.services.list_encounters(&actor, id).await?,
            state.services.list_vitals(&actor, id).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let (vitals_table, trends) = vitals_section(&state, &readings, "Your vitals, newest first");
    render(&ClinicalListPage {
        layout: crate::pages::banner::with_own_banner(
            &state,
            &actor,
            Layout::new(&state, &actor, "My encounters", "/my/encounters", csrf),
        )
        .await?,
        patient_href: None,
        new_encounter_href: None,
        encounters: encounters.iter().map(EncounterRow::from_view).collect(),
        prescriptions: None,
        portal: true,
        vitals_table,
        trends,
    })
}

/// `GET /my/prescriptions`: the patient's own prescriptions.
pub async fn my_prescriptions(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let prescriptions = match own_record(&state, &actor).await? {
        Some(id) => state.services.list_prescriptions(&actor, id).await?,
        None => Vec::new(),
    };
    render(&ClinicalListPage {
        layout: crate::pages::banner::with_own_banner(
            &state,
            &actor,
            Layout::new(
                &state,
                &actor,
                "My prescriptions",
                "/my/prescriptions",
                csrf,
            ),
        )
        .await?,
        patient_href: None,
        new_encounter_href: None,
        encounters: Vec::new(),
        prescriptions: Some(prescriptions.iter().map(Into::into).collect()),
        portal: true,
        vitals_table: None,
        trends: Vec::new(),
    })
}
