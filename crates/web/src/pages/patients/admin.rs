//! The administrator's patient pages: the encryption view and the research export.

use super::*;

#[derive(Template)]
#[template(path = "patient_encryption.html")]
struct EncryptionPage {
    layout: Layout,
    patient_href: String,
    view: EncryptionView,
}

/// `GET /patients/{id}/encryption`: how one patient's fields are stored.
pub async fn encryption(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_patient_id(&id)?;
    let view = state.services.patient_encryption_view(&actor, id).await?;
    let layout = Layout::new(
        &state,
        &actor,
        &format!("Encryption at rest: {}", view.pseudonym),
        "/patients",
        csrf,
    );
    // No banner: this page shows how the record is stored, never what it holds.
    render(&EncryptionPage {
        layout,
        patient_href: patient_href(id),
        view,
    })
}

#[derive(Template)]
#[template(path = "research_export.html")]
struct ResearchExportPage {
    layout: Layout,
    k: String,
    errors: ValidationErrors,
}

#[derive(Debug, Deserialize, Default)]
pub struct ResearchExportForm {
    k: Option<String>,
}

/// `GET /admin/research-export`: what the export does, and its one setting.
pub async fn research_export_form(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let k = state.services.research_export_defaults(&actor).await?;
    render(&ResearchExportPage {
        layout: Layout::new(
            &state,
            &actor,
            "Research export",
            "/admin/research-export",
            csrf,
        ),
        k: k.to_string(),
        errors: ValidationErrors::new(),
    })
}

/// `POST /admin/research-export`: the de-identified CSV, as a download.
pub async fn research_export(
    PageRequest { state, actor, csrf }: PageRequest,
    Form(form): Form<ResearchExportForm>,
) -> Result<Response, PageError> {
    let raw_k = form.k.unwrap_or_default().trim().to_owned();
    let k = if raw_k.is_empty() {
        Ok(None)
    } else {
        raw_k.parse::<usize>().map(Some).map_err(|_| {
            ServiceError::Validation(ValidationErrors::single(
                "k",
                "must be a whole number between 1 and 100",
            ))
        })
    };
    let result = match k {
        Ok(k) => state.services.research_export(&actor, k).await,
        Err(err) => {
            // Refuse a non-administrator (recorded) before telling them about the number.
            state.services.research_export_defaults(&actor).await?;
            Err(err)
        }
    };
    match result {
        Ok(export) => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{RESEARCH_EXPORT_FILE_NAME}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            export.csv,
        )
            .into_response()),
        Err(ServiceError::Validation(errors)) => unprocessable(&ResearchExportPage {
            layout: Layout::new(
                &state,
                &actor,
                "Research export",
                "/admin/research-export",
                csrf,
            ),
            k: raw_k,
            errors,
        }),
        Err(other) => Err(other.into()),
    }
}
