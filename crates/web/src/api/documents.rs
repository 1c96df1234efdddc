//! `/api/v1/documents`: upload a PDF or image to a patient (multipart), list a patient's
//! documents, read one's description, download it (as an attachment, never rendered inline)
//! and an image's thumbnail. Who may do what, the type check by content and the size limit
//! are the service's (`carevault_service::documents`); this module parses the multipart body
//! and sets the download headers.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carevault_core::Action;
use carevault_core::PatientId;
use carevault_core::document::check_size;
use carevault_service::documents::{DocumentMeta, DocumentUpload};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ApiQuery, CurrentActor};
use crate::problem::{ApiError, Problem};
use crate::routes::RouteTable;

/// Room in an upload's body for the multipart framing and the other fields.
pub(crate) const UPLOAD_OVERHEAD_BYTES: usize = 1024 * 1024;
/// The longest text field accepted in an upload form.
const MAX_TEXT_FIELD_BYTES: usize = 4096;

/// The request body limit of the upload routes: the configured upload size plus room for
/// the form around the file.
pub(crate) fn upload_body_limit(state: &AppState) -> DefaultBodyLimit {
    let max = usize::try_from(state.services.settings().documents_max_bytes).unwrap_or(usize::MAX);
    DefaultBodyLimit::max(max.saturating_add(UPLOAD_OVERHEAD_BYTES))
}

/// Adds the document routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    let limit = upload_body_limit(table.state());
    table
        .api(Action::SeeClinical, routes!(list))
        .api(
            Action::UploadDocuments,
            routes!(upload).map(|router| router.layer(limit)),
        )
        .api(Action::SeeClinical, routes!(meta))
        .api(Action::SeeClinical, routes!(content))
        .api(Action::SeeClinical, routes!(thumbnail))
}

/// An uploaded document's description.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRecord {
    pub id: String,
    pub patient_id: String,
    pub encounter_id: Option<String>,
    /// `pdf`, `png` or `jpeg`: decided by the file's content, not its name.
    pub kind: String,
    /// The media type the content is served with.
    pub media_type: String,
    pub size_bytes: u64,
    /// PDFs: the number of pages, when it could be counted (a hint).
    pub page_count: Option<u32>,
    pub title: String,
    /// The name the file was uploaded with.
    pub file_name: String,
    /// The name the download is offered under.
    pub download_name: String,
    pub has_thumbnail: bool,
    pub uploaded_by: String,
    pub uploaded_by_name: String,
    pub uploaded_at: DateTime<Utc>,
    pub content_url: String,
    pub thumbnail_url: Option<String>,
}

impl From<DocumentMeta> for DocumentRecord {
    fn from(meta: DocumentMeta) -> Self {
        Self {
            content_url: format!("/api/v1/documents/{}/content", meta.id),
            thumbnail_url: meta
                .has_thumbnail
                .then(|| format!("/api/v1/documents/{}/thumbnail", meta.id)),
            patient_id: meta.patient_id.to_string(),
            encounter_id: meta.encounter_id,
            kind: meta.kind.as_str().to_owned(),
            media_type: meta.kind.mime().to_owned(),
            size_bytes: meta.size_bytes,
            page_count: meta.page_count,
            title: meta.title,
            file_name: meta.original_name,
            download_name: meta.download_name,
            has_thumbnail: meta.has_thumbnail,
            uploaded_by: meta.uploaded_by.to_string(),
            uploaded_by_name: meta.uploaded_by_name,
            uploaded_at: meta.uploaded_at,
            id: meta.id,
        }
    }
}

/// A patient's documents, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentRecord>,
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadDocumentForm {
    /// The patient's id.
    #[schema(format = Uuid)]
    pub patient_id: String,
    /// The encounter the document belongs to, if any.
    pub encounter_id: Option<String>,
    /// What the document is ("Discharge letter", "Chest X-ray"), at most 200 characters.
    pub title: String,
    /// The file: PDF, PNG or JPEG, judged by its content; at most `--max-upload-size`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Which patient's documents to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentListParams {
    /// The patient's id.
    #[param(format = Uuid)]
    pub patient_id: String,
}

/// An upload form as read from a multipart body.
#[derive(Default)]
pub(crate) struct UploadForm {
    pub patient_id: String,
    pub encounter_id: Option<String>,
    pub title: String,
    pub file_name: String,
    pub file: Option<Vec<u8>>,
}

impl std::fmt::Debug for UploadForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadForm")
            .field("patient_id", &self.patient_id)
            .field("len", &self.file.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// Why an upload body could not be read.
#[derive(Debug)]
pub(crate) enum UploadError {
    /// The body itself (413 beyond the body limit, 400 malformed multipart, 415 not multipart).
    Status(StatusCode),
    /// One field is unusable; the message is for that field.
    Field(&'static str, String),
}

impl From<UploadError> for ApiError {
    fn from(err: UploadError) -> Self {
        match err {
            UploadError::Status(status) => Problem::for_status(status).into(),
            UploadError::Field(field, message) => {
                Problem::for_status(StatusCode::UNPROCESSABLE_ENTITY)
                    .with_field_error(field, message)
                    .into()
            }
        }
    }
}

impl From<MultipartRejection> for UploadError {
    fn from(rejection: MultipartRejection) -> Self {
        UploadError::Status(rejection.status())
    }
}

/// Reads the upload form. The file is read piece by piece and refused as soon as it passes
/// `max_file` bytes; text fields are limited to 4 KiB; unknown fields are ignored (the page
/// form's token travels in the URL).
pub(crate) async fn read_upload(
    mut multipart: Multipart,
    max_file: u64,
) -> Result<UploadForm, UploadError> {
    let mut form = UploadForm::default();
    let status = |err: axum::extract::multipart::MultipartError| UploadError::Status(err.status());
    while let Some(mut field) = multipart.next_field().await.map_err(status)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                form.file_name = field.file_name().unwrap_or_default().to_owned();
                let mut bytes = Vec::new();
                while let Some(piece) = field.chunk().await.map_err(status)? {
                    bytes.extend_from_slice(&piece);
                    if bytes.len() as u64 > max_file {
                        let message = check_size(bytes.len() as u64, max_file)
                            .err()
                            .unwrap_or_default();
                        return Err(UploadError::Field("file", message));
                    }
                }
                form.file = Some(bytes);
            }
            "patient_id" | "encounter_id" | "title" => {
                let mut text = Vec::new();
                while let Some(piece) = field.chunk().await.map_err(status)? {
                    text.extend_from_slice(&piece);
                    if text.len() > MAX_TEXT_FIELD_BYTES {
                        let field = match name.as_str() {
                            "patient_id" => "patient_id",
                            "encounter_id" => "encounter_id",
                            _ => "title",
                        };
                        return Err(UploadError::Field(field, "is too long".into()));
                    }
                }
                let text = String::from_utf8(text).map_err(|_| {
                    UploadError::Field(
                        match name.as_str() {
                            "patient_id" => "patient_id",
                            "encounter_id" => "encounter_id",
                            _ => "title",
                        },
                        "is not valid UTF-8 text".into(),
                    )
                })?;
                match name.as_str() {
                    "patient_id" => form.patient_id = text,
                    "encounter_id" => form.encounter_id = Some(text),
                    _ => form.title = text,
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

/// Turns a read form into the service's input, or names the missing or bad field.
pub(crate) fn upload_input(form: UploadForm) -> Result<DocumentUpload, UploadError> {
    let patient_id: PatientId = match form.patient_id.trim() {
        "" => return Err(UploadError::Field("patient_id", "is required".into())),
        raw => raw
            .parse()
            .map_err(|_| UploadError::Field("patient_id", "is not a valid id".into()))?,
    };
    let Some(bytes) = form.file else {
        return Err(UploadError::Field("file", "is required".into()));
    };
    Ok(DocumentUpload {
        patient_id,
        encounter_id: form.encounter_id,
        title: form.title,
        original_name: form.file_name,
        bytes,
    })
}

/// The response carrying a document's bytes: the right type, always as an attachment, never
/// sniffed or cached.
pub(crate) fn attachment(meta: &DocumentMeta, mut bytes: zeroize::Zeroizing<Vec<u8>>) -> Response {
    let body = Body::from(std::mem::take(&mut *bytes));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(meta.kind.mime()),
    );
    // `safe_download_name` leaves only ASCII letters, digits, space and `-_()` before the
    // extension, so the quoted value needs no escaping.
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", meta.download_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    } else {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A thumbnail response (PNG, private, not cached).
pub(crate) fn thumbnail_response(mut bytes: zeroize::Zeroizing<Vec<u8>>) -> Response {
    let body = Body::from(std::mem::take(&mut *bytes));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Uploads a document.
///
/// A multipart form with `patient_id`, optional `encounter_id`, `title` and `file`. The file
/// must be a PDF, PNG or JPEG by its content (a `.pdf` that is an HTML page or an executable
/// is refused, naming `file`) and at most `--max-upload-size` (default 20 MiB). Doctors and
/// nurses on the patient's care team, administrators, and the patient for their own record.
/// It is stored sealed under the patient's key; images get a thumbnail.
#[utoipa::path(
    post, path = "/api/v1/documents", tag = "documents",
    request_body(content = UploadDocumentForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The document", body = DocumentRecord),
        (status = 400, description = "Not a well-formed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the patient's care team, not their own record, or a role that does not see clinical data (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid (`file`: wrong type, too large, unreadable image); `errors[].field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let multipart = multipart.map_err(UploadError::from)?;
    let max = state.services.settings().documents_max_bytes;
    let form = read_upload(multipart, max).await?;
    let input = upload_input(form)?;
    let meta = state.services.upload_document(&actor, input).await?;
    let location = format!("/api/v1/documents/{}", meta.id);
    let mut response = (StatusCode::CREATED, Json(DocumentRecord::from(meta))).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Lists a patient's documents.
///
/// Newest first. Whoever sees the patient's clinical data: administrators, the care team,
/// the patient themselves. Each document listed is recorded in the audit trail.
#[utoipa::path(
    get, path = "/api/v1/documents", tag = "documents",
    params(DocumentListParams),
    responses(
        (status = 200, description = "The documents, newest first", body = DocumentList),
        (status = 403, description = "May not see this patient's documents (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`patient_id` missing or not an id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    params: Result<ApiQuery<DocumentListParams>, ApiError>,
) -> Result<Json<DocumentList>, ApiError> {
    let ApiQuery(params) = params?;
    let patient: PatientId = params.patient_id.trim().parse().map_err(|_| {
        ApiError::from(
            Problem::for_status(StatusCode::UNPROCESSABLE_ENTITY)
                .with_field_error("patient_id", "is not a valid id"),
        )
    })?;
    let documents = state.services.list_documents(&actor, patient).await?;
    Ok(Json(DocumentList {
        items: documents.into_iter().map(Into::into).collect(),
    }))
}

/// One document's description.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, format = Uuid, description = "The document's id")),
    responses(
        (status = 200, description = "The document", body = DocumentRecord),
        (status = 403, description = "May not see this patient's documents (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The stored document failed its integrity check (problem type `integrity`; recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn meta(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Json<DocumentRecord>, ApiError> {
    let meta = state.services.document_meta(&actor, &id).await?;
    Ok(Json(meta.into()))
}

/// Downloads a document.
///
/// The exact bytes uploaded, with their media type, as an attachment
/// (`Content-Disposition: attachment; filename="…"`, `X-Content-Type-Options: nosniff`,
/// `Cache-Control: no-store`). Checked against the stored checksum; every download is
/// recorded in the audit trail.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}/content", tag = "documents",
    params(("id" = String, Path, format = Uuid, description = "The document's id")),
    responses(
        (status = 200, description = "The file (application/pdf, image/png or image/jpeg)", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 403, description = "May not see this patient's documents (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The stored document failed its integrity check (problem type `integrity`; recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn content(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (meta, bytes) = state.services.download_document(&actor, &id).await?;
    Ok(attachment(&meta, bytes))
}

/// An image's thumbnail.
///
/// A PNG whose longest side is at most 256 pixels; 404 for a PDF.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}/thumbnail", tag = "documents",
    params(("id" = String, Path, format = Uuid, description = "The document's id")),
    responses(
        (status = 200, description = "The thumbnail", body = Vec<u8>, content_type = "image/png"),
        (status = 403, description = "May not see this patient's documents (the refusal is recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or not an image", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn thumbnail(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state.services.document_thumbnail(&actor, &id).await?;
    Ok(thumbnail_response(bytes))
}
