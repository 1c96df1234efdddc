//! Uploaded documents: the document row (sealed name, title and checksum) and its sealed
//! chunks. The store sees only sealed bytes; sealing, chunking and checking are the
//! service's.

use carevault_core::PatientId;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::Conn;
use crate::entity::document_chunks::{self, Column as ChunkColumn, Entity as Chunks};
use crate::entity::documents::{self, Column, Entity};
use crate::error::StoreError;

pub type DocumentRow = documents::Model;
pub type DocumentChunkRow = document_chunks::Model;

/// The `part` of a chunk holding the file itself.
pub const PART_CONTENT: &str = "content";
/// The `part` of a chunk holding an image's thumbnail.
pub const PART_THUMBNAIL: &str = "thumbnail";

pub async fn insert(conn: &impl Conn, row: DocumentRow) -> Result<(), StoreError> {
    Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Inserts one sealed chunk.
pub async fn insert_chunk(conn: &impl Conn, chunk: DocumentChunkRow) -> Result<(), StoreError> {
    Chunks::insert(chunk.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, id: &str) -> Result<Option<DocumentRow>, StoreError> {
    Ok(Entity::find_by_id(id.to_owned()).one(conn).await?)
}

/// The patient's documents, newest first.
pub async fn for_patient(
    conn: &impl Conn,
    patient: PatientId,
    limit: u64,
) -> Result<Vec<DocumentRow>, StoreError> {
    Ok(Entity::find()
        .filter(Column::PatientId.eq(patient.to_string()))
        .order_by_desc(Column::UploadedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The sealed bytes of one chunk (`None`: no such chunk). Chunks are read one at a time so a
/// large document never needs more than one sealed chunk in memory besides the output.
pub async fn chunk(
    conn: &impl Conn,
    document: &str,
    part: &str,
    seq: i32,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(Chunks::find()
        .select_only()
        .column(ChunkColumn::Bytes)
        .filter(ChunkColumn::DocumentId.eq(document))
        .filter(ChunkColumn::Part.eq(part))
        .filter(ChunkColumn::Seq.eq(seq))
        .into_tuple::<Vec<u8>>()
        .one(conn)
        .await?)
}
