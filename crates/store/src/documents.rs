//! Uploaded documents: the document row (sealed name, title and checksum) and its sealed
//! chunks. The store sees only sealed bytes; sealing, chunking and checking are the
//! service's.

use carevault_core::document::DocumentKind;
use carevault_core::time::to_micros;
use carevault_core::{DocumentId, EncounterId, PatientId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::document_chunks::{self, Column as ChunkColumn, Entity as Chunks};
use crate::entity::documents::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// A document's description. `name`, `title` and `sha256` are sealed by the service.
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    pub id: DocumentId,
    pub patient_id: PatientId,
    pub encounter_id: Option<EncounterId>,
    pub kind: DocumentKind,
    pub size_bytes: u64,
    /// A hint read from a PDF (a value that does not fit is no hint).
    pub page_count: Option<u32>,
    pub name: Vec<u8>,
    pub title: Vec<u8>,
    pub sha256: Vec<u8>,
    /// How many chunks hold the file, and how many its thumbnail.
    pub chunks: u32,
    pub thumbnail_chunks: u32,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
}

impl TryFrom<documents::Model> for DocumentRecord {
    type Error = StoreError;

    fn try_from(m: documents::Model) -> Result<Self, StoreError> {
        let row = Row("documents");
        Ok(DocumentRecord {
            id: row.parse("id", &m.id)?,
            patient_id: row.parse("patient_id", &m.patient_id)?,
            encounter_id: row.parse_opt("encounter_id", m.encounter_id.as_deref())?,
            kind: row.convert("kind", m.kind.as_str(), DocumentKind::parse)?,
            size_bytes: row.convert("size_bytes", m.size_bytes, u64::try_from)?,
            page_count: m.page_count.and_then(|n| u32::try_from(n).ok()),
            name: m.name,
            title: m.title,
            sha256: m.sha256,
            chunks: row.convert("chunks", m.chunks, u32::try_from)?,
            thumbnail_chunks: row.convert("thumbnail_chunks", m.thumbnail_chunks, u32::try_from)?,
            uploaded_by: row.parse("uploaded_by", &m.uploaded_by)?,
            uploaded_at: row.time(m.uploaded_at),
        })
    }
}

impl From<&DocumentRecord> for documents::ActiveModel {
    fn from(r: &DocumentRecord) -> Self {
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        documents::ActiveModel {
            id: Set(r.id.to_string()),
            patient_id: Set(r.patient_id.to_string()),
            encounter_id: Set(r.encounter_id.map(|id| id.to_string())),
            kind: Set(r.kind.as_str().to_owned()),
            size_bytes: Set(i64::try_from(r.size_bytes).unwrap_or(i64::MAX)),
            page_count: Set(r.page_count.map(int)),
            name: Set(r.name.clone()),
            title: Set(r.title.clone()),
            sha256: Set(r.sha256.clone()),
            chunks: Set(int(r.chunks)),
            thumbnail_chunks: Set(int(r.thumbnail_chunks)),
            uploaded_by: Set(r.uploaded_by.to_string()),
            uploaded_at: Set(to_micros(r.uploaded_at)),
        }
    }
}

/// Which part of a document a chunk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkPart {
    /// The file itself.
    Content,
    /// An image's thumbnail.
    Thumbnail,
}

impl ChunkPart {
    /// The stored text form (`document_chunks.part`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkPart::Content => "content",
            ChunkPart::Thumbnail => "thumbnail",
        }
    }
}

/// One sealed chunk of a document's part.
#[derive(Debug, Clone)]
pub struct DocumentChunk {
    pub document_id: DocumentId,
    pub part: ChunkPart,
    pub seq: u32,
    pub bytes: Vec<u8>,
}

pub async fn insert(conn: &impl Conn, record: &DocumentRecord) -> Result<(), StoreError> {
    record::insert(conn, documents::ActiveModel::from(record)).await
}

/// Inserts one sealed chunk.
pub async fn insert_chunk(conn: &impl Conn, chunk: &DocumentChunk) -> Result<(), StoreError> {
    let row = document_chunks::ActiveModel {
        document_id: Set(chunk.document_id.to_string()),
        part: Set(chunk.part.as_str().to_owned()),
        seq: Set(i32::try_from(chunk.seq).unwrap_or(i32::MAX)),
        bytes: Set(chunk.bytes.clone()),
    };
    Chunks::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: DocumentId) -> Result<Option<DocumentRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// The patient's documents, newest first.
pub async fn for_patient(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<DocumentRecord>, StoreError> {
    record::all(
        conn,
        Entity::find()
            .filter(Column::PatientId.eq(patient.to_string()))
            .order_by_desc(Column::UploadedAt)
            .order_by_desc(Column::Id)
            .limit(limit),
    )
    .await
}

/// The sealed bytes of one chunk (`None`: no such chunk). Chunks are read one at a time so a
/// large document never needs more than one sealed chunk in memory besides the output.
pub async fn chunk(
    conn: &impl Conn,
    document: DocumentId,
    part: ChunkPart,
    seq: u32,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(Chunks::find()
        .select_only()
        .column(ChunkColumn::Bytes)
        .filter(ChunkColumn::DocumentId.eq(document.to_string()))
        .filter(ChunkColumn::Part.eq(part.as_str()))
        .filter(ChunkColumn::Seq.eq(i32::try_from(seq).unwrap_or(i32::MAX)))
        .into_tuple::<Vec<u8>>()
        .one(conn)
        .await?)
}
