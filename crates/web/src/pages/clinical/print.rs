//! The printable prescription.

use super::*;

#[derive(Template)]
#[template(path = "prescription_print.html")]
struct PrintPage {
    layout: Layout,
    p: PrescriptionRow,
}

/// `GET /prescriptions/{id}/print`.
pub async fn print_prescription(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = id
        .trim()
        .parse::<uuid::Uuid>()
        .map_err(|_| not_found("prescription"))?
        .to_string();
    let view = state.services.get_prescription(&actor, &id).await?;
    let layout = Layout::new(&state, &actor, "Prescription", "/patients", csrf);
    render(&PrintPage {
        layout: crate::pages::banner::with_banner(&state, &actor, layout, view.patient_id).await?,
        p: (&view).into(),
    })
}
