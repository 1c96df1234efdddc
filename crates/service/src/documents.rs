//! Uploaded documents: PDFs and images of a patient, optionally of one encounter,
//! stored sealed in the database.
//!
//! - **What is accepted** is decided by `carevault_core::document`: the type by magic bytes
//!   only (an HTML page or an executable named `.pdf` is refused, naming the `file` field),
//!   and the size limit ([`crate::ServiceSettings::documents_max_bytes`]).
//! - **Storage**: the file is cut into chunks of [`CHUNK_BYTES`], each sealed separately under
//!   the patient's data key and bound to `document_chunks ‖ bytes ‖ <document id>:<part>:<seq>
//!   ‖ <patient id>`, so a chunk moved to another document, part or position fails to open.
//!   The original name, the title and the SHA-256 of the plaintext are sealed in the
//!   `documents` row; a download reassembles the chunks and checks length and checksum, so a
//!   dropped or swapped chunk is an integrity failure too (500 `integrity`, audited).
//! - **Thumbnails**: images get a PNG thumbnail (longest side [`THUMBNAIL_SIDE`] px), made on
//!   a blocking thread with decoding limits, so a decompression bomb is refused as bad input
//!   instead of exhausting memory. PDFs get the page-count hint, never a rendering.
//! - **Who**: a document is clinical data. Whoever sees the patient's record in the full or
//!   own view (administrators, the care team — including emergency access and shares —, the
//!   patient themselves) may list, read, download and upload; everyone else is refused and
//!   the refusal recorded. Every upload, listing, read, thumbnail and download is an audit
//!   event with the patient's pseudonym; uploads in the upload's own transaction.

use carevault_core::Action;
use std::io::Cursor;

use crate::audit_trail::pseudonym_of;
use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_core::document::{
    DocumentKind, check_size, pdf_page_count_hint, safe_download_name, sniff,
};
use carevault_core::masking::PatientView;
use carevault_core::{DocumentId, EncounterId, PatientId, UserId, ValidationErrors};
use carevault_crypto::data_key::DataKey;
use carevault_store::documents::{self as store, ChunkPart, DocumentChunk, DocumentRecord};
use carevault_store::patients::{self, PatientRow};
use carevault_store::users;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::ids::requested_id;
use crate::sealing::Place;

/// Plaintext bytes per sealed chunk: 1 MiB.
pub const CHUNK_BYTES: usize = 1 << 20;
/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Images wider or higher than this are refused before decoding.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// The most memory an image decoder may allocate.
pub const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Original file names are kept up to this many characters.
const MAX_NAME_CHARS: usize = 255;
/// Most documents listed for one patient.
const LIST_LIMIT: u64 = 500;

const TABLE_DOCUMENTS: &str = "documents";
const TABLE_CHUNKS: &str = "document_chunks";

/// A document to upload, as submitted.
pub struct DocumentUpload {
    pub patient_id: PatientId,
    /// The encounter it belongs to, if any (an id).
    pub encounter_id: Option<String>,
    pub title: String,
    /// The file name the browser sent (kept sealed; downloads use a safe form of it).
    pub original_name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for DocumentUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentUpload")
            .field("patient_id", &self.patient_id)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// A document's description, as an allowed viewer sees it. `Debug` leaves out the name and
/// title.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    pub id: String,
    pub patient_id: PatientId,
    pub encounter_id: Option<String>,
    pub kind: DocumentKind,
    pub size_bytes: u64,
    /// PDFs: the page-count hint (see `pdf_page_count_hint`), when one was found.
    pub page_count: Option<u32>,
    pub title: String,
    /// The name the file was uploaded with.
    pub original_name: String,
    /// A safe name for `Content-Disposition`.
    pub download_name: String,
    pub has_thumbnail: bool,
    pub uploaded_by: UserId,
    pub uploaded_by_name: String,
    pub uploaded_at: DateTime<Utc>,
}

impl std::fmt::Debug for DocumentMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentMeta")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("size_bytes", &self.size_bytes)
            .finish_non_exhaustive()
    }
}

/// What the blocking thread prepares: the sealed row and chunks.
struct Prepared {
    row: DocumentRecord,
    chunks: Vec<DocumentChunk>,
}

/// A PNG thumbnail of an image, or the message for the `file` field.
fn make_thumbnail(bytes: &[u8], kind: DocumentKind) -> Result<Vec<u8>, String> {
    let format = match kind {
        DocumentKind::Png => image::ImageFormat::Png,
        DocumentKind::Jpeg => image::ImageFormat::Jpeg,
        DocumentKind::Pdf => return Err("is not an image".into()),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|err| match err {
        image::ImageError::Limits(_) => format!(
            "is too large an image to process (at most {MAX_IMAGE_SIDE} pixels wide and high)"
        ),
        _ => "the image could not be read".to_owned(),
    })?;
    let small = if decoded.width() <= THUMBNAIL_SIDE && decoded.height() <= THUMBNAIL_SIDE {
        decoded
    } else {
        decoded.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    };
    let mut out = Vec::new();
    small
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|_| "the image could not be read".to_owned())?;
    Ok(out)
}

/// What a chunk's sealed bytes are bound to: the chunk's place in the document.
fn chunk_row_id(document: DocumentId, part: ChunkPart, seq: u32) -> String {
    format!("{document}:{}:{seq}", part.as_str())
}

/// Seals `bytes` as the chunks of `part`.
fn seal_chunks(
    dek: &DataKey,
    document: DocumentId,
    patient: PatientId,
    part: ChunkPart,
    bytes: &[u8],
) -> Result<Vec<DocumentChunk>, ServiceError> {
    let patient_id = patient.to_string();
    bytes
        .chunks(CHUNK_BYTES)
        .enumerate()
        .map(|(seq, chunk)| {
            let seq = count(seq)?;
            let row_id = chunk_row_id(document, part, seq);
            let place = Place {
                table: TABLE_CHUNKS,
                row_id: &row_id,
                patient_id: &patient_id,
            };
            Ok(DocumentChunk {
                document_id: document,
                part,
                seq,
                bytes: place.seal_bytes(dek, "bytes", chunk)?,
            })
        })
        .collect()
}

/// A number of chunks (or a chunk's position) as stored; more than the store counts is an
/// internal error.
fn count(n: usize) -> Result<u32, ServiceError> {
    u32::try_from(n)
        .ok()
        .filter(|&n| i32::try_from(n).is_ok())
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("too many chunks")))
}

/// A title as submitted, trimmed and checked.
fn parse_title(raw: &str) -> Result<String, String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err("is required".into());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("must be at most {MAX_TITLE_CHARS} characters"));
    }
    if title.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(title.to_owned())
}

/// The original file name, without control characters, at most [`MAX_NAME_CHARS`].
fn clean_name(raw: &str, kind: DocumentKind) -> String {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.is_empty() {
        format!("document.{}", kind.extension())
    } else {
        name
    }
}

/// Whether a patient's documents are listed for someone shown the record in `view` (the
/// views that include clinical data). Pages ask this before they list.
pub fn may_see_documents(view: PatientView) -> bool {
    matches!(view, PatientView::Full | PatientView::Own)
}

impl Services {
    /// `opened`; or, when the document's sealed data failed its integrity check, that failure
    /// recorded (as `action` on `document`) and the error to give.
    async fn integrity_checked<T>(
        &self,
        opened: Result<T, ServiceError>,
        actor: &Actor,
        patient: &PatientRow,
        document: &str,
        action: AuditAction,
    ) -> Result<T, ServiceError> {
        if !matches!(opened, Err(ServiceError::Integrity)) {
            return opened;
        }
        let mut event = self
            .audit_event(actor, action, ResourceType::Document)
            .resource_id(document)
            .patient(pseudonym_of(patient.pseudonym_number));
        event.outcome = Outcome::Failed;
        event.reason = Some("sealed data failed its integrity check".into());
        tracing::error!(document_id = %document, "a stored document failed its integrity check");
        match self.record(event).await {
            Ok(_) => Err(ServiceError::Integrity),
            Err(err) => Err(err),
        }
    }

    /// Refuses roles that never see clinical documents (reception, pharmacy, auditors)
    /// before anything is looked up.
    async fn require_document_role(
        &self,
        actor: &Actor,
        resource: Option<String>,
    ) -> Result<(), ServiceError> {
        match actor.may(Action::SeeClinical) {
            true => Ok(()),
            false => Err(self
                .deny(
                    actor,
                    ResourceType::Document,
                    resource,
                    "documents are shown with clinical data only",
                )
                .await),
        }
    }

    /// The patient's row if the actor sees the patient's clinical data (full or own view);
    /// otherwise the refusal, recorded.
    async fn patient_for_documents(
        &self,
        actor: &Actor,
        patient: PatientId,
        document: Option<&str>,
    ) -> Result<PatientRow, ServiceError> {
        self.require_document_role(actor, document.map(str::to_owned))
            .await?;
        let (row, _, view) = self.load_for(actor, patient).await?;
        if may_see_documents(view) {
            return Ok(row);
        }
        let mut event = self
            .audit_event(actor, AuditAction::AccessDenied, ResourceType::Document)
            .patient(pseudonym_of(row.pseudonym_number));
        event.resource_id = document.map(str::to_owned);
        event.outcome = Outcome::Denied;
        event.reason = Some("documents are shown to the care team only".into());
        self.record(event).await?;
        Err(ServiceError::Forbidden)
    }

    /// A document the actor may see, with its patient's row and data key. A patient asking
    /// for a document that is not theirs is refused whether or not it exists.
    async fn document_for(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(DocumentRecord, PatientRow, DataKey), ServiceError> {
        self.require_document_role(actor, Some(id.to_owned()))
            .await?;
        let found = match id.trim().parse::<DocumentId>() {
            Ok(id) => store::find(self.store().conn(), id).await?,
            Err(_) => None,
        };
        let Some(document) = found else {
            return Err(self
                .missing(actor, ResourceType::Document, None, "document")
                .await);
        };
        let patient_id = document.patient_id;
        let document_id = document.id.to_string();
        // A doctor the patient shared this one document with reads it, and only it.
        let shared = self
            .holds_item_share(
                actor,
                patient_id,
                carevault_store::record_shares::SCOPE_DOCUMENT,
                &document_id,
            )
            .await?;
        let patient = if shared {
            carevault_store::patients::find(self.store().conn(), patient_id)
                .await?
                .ok_or(ServiceError::Integrity)?
        } else {
            self.patient_for_documents(actor, patient_id, Some(&document_id))
                .await?
        };
        let dek = self.patient_key(&patient).await;
        let dek = self
            .integrity_checked(dek, actor, &patient, &document_id, AuditAction::Read)
            .await?;
        Ok((document, patient, dek))
    }

    /// Opens the sealed columns of `row` into its description.
    pub(crate) async fn present_document(
        &self,
        row: &DocumentRecord,
        dek: &DataKey,
    ) -> Result<DocumentMeta, ServiceError> {
        let (row_id, patient_id) = (row.id.to_string(), row.patient_id.to_string());
        let place = Place {
            table: TABLE_DOCUMENTS,
            row_id: &row_id,
            patient_id: &patient_id,
        };
        let kind = row.kind;
        let title = place
            .open(dek, "title", Some(&row.title))?
            .unwrap_or_default();
        let original_name = place
            .open(dek, "name", Some(&row.name))?
            .unwrap_or_default();
        let uploaded_by = row.uploaded_by;
        let uploaded_by_name = users::find_by_id(self.store().conn(), uploaded_by)
            .await?
            .map(|u| u.display_name.as_str().to_owned())
            .unwrap_or_default();
        Ok(DocumentMeta {
            id: row_id,
            patient_id: row.patient_id,
            encounter_id: row.encounter_id.map(|id| id.to_string()),
            kind,
            size_bytes: row.size_bytes,
            page_count: row.page_count,
            download_name: safe_download_name(&original_name, kind),
            title,
            original_name,
            has_thumbnail: row.thumbnail_chunks > 0,
            uploaded_by,
            uploaded_by_name,
            uploaded_at: row.uploaded_at,
        })
    }

    /// Reads and opens the chunks of one part of a document.
    async fn read_part(
        &self,
        row: &DocumentRecord,
        dek: &DataKey,
        part: ChunkPart,
        chunks: u32,
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            usize::try_from(row.size_bytes).unwrap_or(0),
        ));
        let patient_id = row.patient_id.to_string();
        for seq in 0..chunks {
            let sealed = store::chunk(self.store().conn(), row.id, part, seq)
                .await?
                .ok_or(ServiceError::Integrity)?;
            let row_id = chunk_row_id(row.id, part, seq);
            let place = Place {
                table: TABLE_CHUNKS,
                row_id: &row_id,
                patient_id: &patient_id,
            };
            let plain = place.open_bytes(dek, "bytes", &sealed)?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }

    /// Uploads a document to a patient (and maybe an encounter). Doctors and nurses on the
    /// care team, administrators, and the patient for their own record. Checked by content
    /// and size; stored sealed in chunks; one transaction with its audit event.
    pub async fn upload_document(
        &self,
        actor: &Actor,
        upload: DocumentUpload,
    ) -> Result<DocumentMeta, ServiceError> {
        let patient = self
            .patient_for_documents(actor, upload.patient_id, None)
            .await?;
        let uploader = actor.user_id().ok_or(ServiceError::Forbidden)?;
        let bytes = Zeroizing::new(upload.bytes);
        let mut errors = ValidationErrors::new();
        let title = parse_title(&upload.title)
            .map_err(|message| errors.push("title", message))
            .ok();
        let encounter_id = match upload
            .encounter_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => {
                let found = match requested_id::<EncounterId>(raw) {
                    Some(id) => {
                        carevault_store::encounters::find_encounter(self.store().conn(), id).await?
                    }
                    None => None,
                };
                match found {
                    Some(encounter) if encounter.patient_id == upload.patient_id => {
                        Some(encounter.id)
                    }
                    _ => {
                        errors.push("encounter_id", "is not an encounter of this patient");
                        None
                    }
                }
            }
        };
        let max = self.settings().documents_max_bytes;
        let kind = match check_size(bytes.len() as u64, max).and_then(|()| sniff(&bytes)) {
            Ok(kind) => Some(kind),
            Err(message) => {
                errors.push("file", message);
                None
            }
        };
        errors.into_result()?;
        let (Some(title), Some(kind)) = (title, kind) else {
            return Err(ServiceError::internal(anyhow::anyhow!(
                "validated upload without title or kind"
            )));
        };
        let dek = self.patient_key(&patient).await?;

        let id = DocumentId::generate();
        let name = clean_name(&upload.original_name, kind);
        let now = self.stored_now();
        let patient_id = upload.patient_id;
        let document_id = id;
        let (prepared, dek) =
            tokio::task::spawn_blocking(move || -> Result<(Prepared, DataKey), ServiceError> {
                let thumbnail = if kind.is_image() {
                    Some(make_thumbnail(&bytes, kind).map_err(|message| {
                        ServiceError::Validation(ValidationErrors::single("file", message))
                    })?)
                } else {
                    None
                };
                let page_count = match kind {
                    DocumentKind::Pdf => pdf_page_count_hint(&bytes),
                    _ => None,
                };
                let digest = hex::encode(Sha256::digest(&bytes[..]));
                let (row_id, patient_text) = (document_id.to_string(), patient_id.to_string());
                let place = Place {
                    table: TABLE_DOCUMENTS,
                    row_id: &row_id,
                    patient_id: &patient_text,
                };
                let sealed = |column: &str, value: &str| -> Result<Vec<u8>, ServiceError> {
                    place
                        .seal(&dek, column, Some(value))?
                        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("nothing sealed")))
                };
                let mut chunks =
                    seal_chunks(&dek, document_id, patient_id, ChunkPart::Content, &bytes)?;
                let content_chunks = count(chunks.len())?;
                if let Some(thumbnail) = &thumbnail {
                    chunks.extend(seal_chunks(
                        &dek,
                        document_id,
                        patient_id,
                        ChunkPart::Thumbnail,
                        thumbnail,
                    )?);
                }
                let row = DocumentRecord {
                    id: document_id,
                    patient_id,
                    encounter_id,
                    kind,
                    size_bytes: u64::try_from(bytes.len()).map_err(ServiceError::internal)?,
                    page_count,
                    name: sealed("name", &name)?,
                    title: sealed("title", &title)?,
                    sha256: sealed("sha256", &digest)?,
                    chunks: content_chunks,
                    thumbnail_chunks: count(chunks.len())? - content_chunks,
                    uploaded_by: uploader,
                    uploaded_at: now,
                };
                Ok((Prepared { row, chunks }, dek))
            })
            .await
            .map_err(ServiceError::internal)??;

        let mut event = self
            .audit_event(actor, AuditAction::Create, ResourceType::Document)
            .resource_id(id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some(format!("{} document uploaded", kind.as_str()));
        self.transaction(async |txn| {
            store::insert(txn, &prepared.row).await?;
            for chunk in &prepared.chunks {
                store::insert_chunk(txn, chunk).await?;
            }
            self.append_in(txn, event.clone()).await?;
            Ok(())
        })
        .await?;
        self.present_document(&prepared.row, &dek).await
    }

    /// The patient's documents, newest first. Each one listed is an audit event (`listed`);
    /// an empty list is one event.
    pub async fn list_documents(
        &self,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<DocumentMeta>, ServiceError> {
        let row = self.patient_for_documents(actor, patient, None).await?;
        let documents = store::for_patient(self.store().conn(), patient, LIST_LIMIT).await?;
        if documents.is_empty() {
            let mut event = self
                .audit_event(actor, AuditAction::Listed, ResourceType::Document)
                .patient(pseudonym_of(row.pseudonym_number));
            event.reason = Some("no documents".into());
            self.record(event).await?;
            return Ok(Vec::new());
        }
        let dek = self.patient_key(&row).await?;
        let mut out = Vec::with_capacity(documents.len());
        let mut events = Vec::with_capacity(documents.len());
        for document in &documents {
            let id = document.id.to_string();
            let meta = self.present_document(document, &dek).await;
            out.push(
                self.integrity_checked(meta, actor, &row, &id, AuditAction::Listed)
                    .await?,
            );
            events.push(
                self.audit_event(actor, AuditAction::Listed, ResourceType::Document)
                    .resource_id(document.id.to_string())
                    .patient(pseudonym_of(row.pseudonym_number)),
            );
        }
        self.record_all(events).await?;
        Ok(out)
    }

    /// A patient's own documents (`None`: the account is not linked to a record). Patients
    /// only.
    pub async fn my_documents(
        &self,
        actor: &Actor,
    ) -> Result<Option<(PatientId, Vec<DocumentMeta>)>, ServiceError> {
        let Some(user) = actor.user_id().filter(|_| actor.reaches_own_record_only()) else {
            return Err(self
                .deny(actor, ResourceType::Document, None, "patients only")
                .await);
        };
        let Some(row) = patients::find_by_account(self.store().conn(), user).await? else {
            return Ok(None);
        };
        let id: PatientId = row.id;
        Ok(Some((id, self.list_documents(actor, id).await?)))
    }

    /// One document's description. Audited (`read`).
    pub async fn document_meta(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<DocumentMeta, ServiceError> {
        let (document, patient, dek) = self.document_for(actor, id).await?;
        let meta = self.present_document(&document, &dek).await;
        let id = document.id.to_string();
        let meta = self
            .integrity_checked(meta, actor, &patient, &id, AuditAction::Read)
            .await?;
        self.record(
            self.audit_event(actor, AuditAction::Read, ResourceType::Document)
                .resource_id(document.id.to_string())
                .patient(pseudonym_of(patient.pseudonym_number)),
        )
        .await?;
        Ok(meta)
    }

    /// A document's bytes, checked against their length and checksum. Every download is an
    /// audit event (`download`), durable before the bytes are returned; a failed check is
    /// one with outcome `failed`.
    pub async fn download_document(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(DocumentMeta, Zeroizing<Vec<u8>>), ServiceError> {
        let (document, patient, dek) = self.document_for(actor, id).await?;
        let (row_id, patient_id) = (document.id.to_string(), document.patient_id.to_string());
        let opened = async {
            let meta = self.present_document(&document, &dek).await?;
            let bytes = self
                .read_part(&document, &dek, ChunkPart::Content, document.chunks)
                .await?;
            let place = Place {
                table: TABLE_DOCUMENTS,
                row_id: &row_id,
                patient_id: &patient_id,
            };
            let expected = place.open(&dek, "sha256", Some(&document.sha256))?;
            let digest = hex::encode(Sha256::digest(&bytes[..]));
            if bytes.len() as u64 != meta.size_bytes || expected.as_deref() != Some(&digest) {
                return Err(ServiceError::Integrity);
            }
            Ok((meta, bytes))
        }
        .await;
        let (meta, bytes) = self
            .integrity_checked(opened, actor, &patient, &row_id, AuditAction::Download)
            .await?;
        self.record(
            self.audit_event(actor, AuditAction::Download, ResourceType::Document)
                .resource_id(row_id)
                .patient(pseudonym_of(patient.pseudonym_number)),
        )
        .await?;
        Ok((meta, bytes))
    }

    /// An image's PNG thumbnail (404 for a PDF). Audited (`read`, reason "thumbnail").
    pub async fn document_thumbnail(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let (document, patient, dek) = self.document_for(actor, id).await?;
        if document.thumbnail_chunks == 0 {
            return Err(ServiceError::NotFound("thumbnail"));
        }
        let bytes = self
            .read_part(
                &document,
                &dek,
                ChunkPart::Thumbnail,
                document.thumbnail_chunks,
            )
            .await;
        let id = document.id.to_string();
        let bytes = self
            .integrity_checked(bytes, actor, &patient, &id, AuditAction::Read)
            .await?;
        let mut event = self
            .audit_event(actor, AuditAction::Read, ResourceType::Document)
            .resource_id(document.id.to_string())
            .patient(pseudonym_of(patient.pseudonym_number));
        event.reason = Some("thumbnail".into());
        self.record(event).await?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 10, 10]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn thumbnails_fit_in_the_box_and_keep_the_aspect() {
        let thumb = make_thumbnail(&png(1024, 512), DocumentKind::Png).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
        let thumb = make_thumbnail(&png(40, 30), DocumentKind::Png).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
    }

    #[test]
    fn undecodable_and_oversized_images_are_bad_input() {
        let mut broken = png(10, 10);
        broken.truncate(40);
        assert_eq!(
            make_thumbnail(&broken, DocumentKind::Png).unwrap_err(),
            "the image could not be read"
        );
        // A PNG header claiming 100,000 × 100,000 pixels: refused by the limits, no
        // allocation attempted.
        let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = !crc32(&bomb[12..]);
        bomb.extend_from_slice(&crc.to_be_bytes());
        let message = make_thumbnail(&bomb, DocumentKind::Png).unwrap_err();
        assert!(message.contains("too large an image"), "{message}");
    }

    /// The CRC-32 register of PNG chunks (the caller inverts it).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn titles_and_names() {
        assert_eq!(parse_title("  Lab results "), Ok("Lab results".into()));
        assert!(parse_title("  ").is_err());
        assert!(parse_title(&"x".repeat(201)).is_err());
        assert!(parse_title("a\u{0}b").is_err());
        assert_eq!(clean_name(" a\r\nb.pdf ", DocumentKind::Pdf), "ab.pdf");
        assert_eq!(clean_name("", DocumentKind::Jpeg), "document.jpg");
    }
}
