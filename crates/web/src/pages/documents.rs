//! Documents on the pages: the "Documents" section of the patient page (list with inline
//! thumbnails for images, page counts for PDFs, download links, and the upload form), the
//! patient's own `/my/documents`, and the upload, download and thumbnail routes behind them.
//!
//! The upload form is `multipart/form-data`. The CSRF layer does not buffer multipart bodies
//! (they may be tens of MiB), so the form's action URL carries the form token as
//! `?csrf_token=` (see `csrf.rs`); the origin checks apply as to every form.

use askama::Template;
use axum::extract::Path;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use carevault_core::Action;
use carevault_core::PatientId;
use carevault_core::document::human_size;
use carevault_service::documents::DocumentMeta;
use carevault_service::patients::PatientDetails;
use carevault_service::{Actor, ServiceError};

use crate::AppState;
use crate::api::documents::{
    UploadError, attachment, read_upload, thumbnail_response, upload_body_limit, upload_input,
};
use crate::errors::PageError;
use crate::pages::{Layout, PageRequest, render};
use crate::routes::{Access, RouteTable};

/// Adds the document pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    let limit = upload_body_limit(table.state());
    table
        .add(
            &[("POST", Action::UploadDocuments)],
            "/patients/{id}/documents",
            Access::Page,
            post(upload).layer(limit),
        )
        .page(Action::UsePortal, "/my/documents", my_documents)
        .page(Action::SeeClinical, "/documents/{id}/download", download)
        .page(Action::SeeClinical, "/documents/{id}/thumbnail", thumbnail)
}

/// One document as listed on a page.
#[derive(Debug, Clone)]
pub struct DocumentItem {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub size: String,
    /// "3 pages" for a PDF whose pages could be counted.
    pub pages: Option<String>,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub has_thumbnail: bool,
}

impl From<DocumentMeta> for DocumentItem {
    fn from(meta: DocumentMeta) -> Self {
        Self {
            kind: match meta.kind.as_str() {
                "pdf" => "PDF",
                "png" => "PNG image",
                _ => "JPEG image",
            },
            size: human_size(meta.size_bytes),
            pages: meta.page_count.map(|n| {
                if n == 1 {
                    "1 page".to_owned()
                } else {
                    format!("{n} pages")
                }
            }),
            uploaded_at: meta.uploaded_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            uploaded_by: meta.uploaded_by_name,
            has_thumbnail: meta.has_thumbnail,
            title: meta.title,
            id: meta.id,
        }
    }
}

/// The "Documents" section of a patient's page.
#[derive(Debug, Clone, Default)]
pub struct DocumentsSection {
    /// The viewer sees clinical data, so the list and the form are shown.
    pub shown: bool,
    pub items: Vec<DocumentItem>,
    pub patient_id: String,
    /// The largest upload, e.g. "20 MiB".
    pub max_size: String,
}

impl DocumentsSection {
    /// The section for `actor` viewing `details`: listed only for the views that include
    /// clinical data (the service checks again and records the listing).
    pub async fn for_page(
        state: &AppState,
        actor: &Actor,
        details: &PatientDetails,
    ) -> Result<Self, PageError> {
        if !carevault_service::documents::may_see_documents(details.view) {
            return Ok(Self::default());
        }
        let items = state.services.list_documents(actor, details.id).await?;
        Ok(Self::listing(state, details.id, items))
    }

    pub(crate) fn listing(state: &AppState, patient: PatientId, items: Vec<DocumentMeta>) -> Self {
        Self {
            shown: true,
            items: items.into_iter().map(Into::into).collect(),
            patient_id: patient.to_string(),
            max_size: human_size(state.services.settings().documents_max_bytes),
        }
    }
}

#[derive(Template)]
#[template(path = "my_documents.html")]
struct MyDocumentsPage {
    layout: Layout,
    linked: bool,
    documents: DocumentsSection,
}

/// `GET /my/documents`: the patient's own documents and the upload form.
pub async fn my_documents(
    PageRequest { state, actor, csrf }: PageRequest,
) -> Result<Response, PageError> {
    let layout = crate::pages::banner::with_own_banner(
        &state,
        &actor,
        Layout::new(&state, &actor, "My documents", "/my/documents", csrf),
    )
    .await?;
    let Some((patient, items)) = state.services.my_documents(&actor).await? else {
        return render(&MyDocumentsPage {
            layout,
            linked: false,
            documents: DocumentsSection::default(),
        });
    };
    render(&MyDocumentsPage {
        layout,
        linked: true,
        documents: DocumentsSection::listing(&state, patient, items),
    })
}

/// A refused upload: the message for the field, as a 422 page.
fn refused(field: &str, message: &str) -> PageError {
    let label = match field {
        "file" => "The file",
        "title" => "The title",
        "encounter_id" => "The encounter",
        _ => "The patient",
    };
    PageError::invalid(format!("The document was not uploaded. {label} {message}."))
}

/// `POST /patients/{id}/documents`: uploads a document from the page's form.
pub async fn upload(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let page_error = |err: UploadError| match err {
        UploadError::Status(status) => PageError::Status(status, None),
        UploadError::Field(field, message) => refused(field, &message),
    };
    let multipart = multipart.map_err(|r| page_error(r.into()))?;
    let max = state.services.settings().documents_max_bytes;
    let mut form = read_upload(multipart, max).await.map_err(page_error)?;
    form.patient_id = id;
    let input = upload_input(form).map_err(page_error)?;
    let patient = input.patient_id;
    match state.services.upload_document(&actor, input).await {
        Ok(_) => {}
        Err(ServiceError::Validation(errors)) => {
            let (field, message) = errors
                .0
                .first()
                .map(|e| (e.field.clone(), e.message.clone()))
                .unwrap_or_default();
            return Err(refused(&field, &message));
        }
        Err(other) => return Err(other.into()),
    }
    let back = if actor.reaches_own_record_only() {
        "/my/documents".to_owned()
    } else {
        format!("/patients/{patient}#documents")
    };
    Ok(Redirect::to(&back).into_response())
}

/// `GET /documents/{id}/download`: the file, as an attachment (audited).
pub async fn download(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (meta, bytes) = state.services.download_document(&actor, &id).await?;
    Ok(attachment(&meta, bytes))
}

/// `GET /documents/{id}/thumbnail`: an image's thumbnail, shown inline on the pages.
pub async fn thumbnail(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let bytes = state.services.document_thumbnail(&actor, &id).await?;
    Ok(thumbnail_response(bytes))
}
