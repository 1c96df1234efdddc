//! Uploaded documents (PDF, PNG, JPEG) of a patient, optionally of one encounter, stored
//! sealed in the database.
//!
//! `documents` holds one row per file: in clear the ids, the kind (`pdf|png|jpeg`), the size,
//! the PDF page-count hint, the number of content and thumbnail chunks, the uploader and the
//! time (what lists and housekeeping need, none of it clinical content); sealed under the
//! patient's data key the original file `name`, the `title` and the `sha256` of the plaintext
//! (checked on every download). `encounter_id` has no foreign key yet: encounters arrive in a
//! migration of their own.
//!
//! `document_chunks` holds the file itself, and for images a PNG thumbnail, in chunks of at
//! most 1 MiB of plaintext, each sealed separately (AAD: `document_chunks ‖ bytes ‖
//! <document id>:<part>:<seq> ‖ <patient id>`), so a chunk moved to another document, part
//! or position fails to open. Chunks keep every row far below MariaDB's default 16 MiB
//! `max_allowed_packet`; on MariaDB/MySQL the column is `mediumblob` (a plain `blob` stops at
//! 64 KiB), elsewhere `blob`/`bytea`, the one backend-specific column type of the schema.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::schema::{Users, foreign_key, index, patient_record_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    PatientId,
    EncounterId,
    Kind,
    SizeBytes,
    PageCount,
    Name,
    Title,
    Sha256,
    Chunks,
    ThumbnailChunks,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden)]
enum DocumentChunks {
    Table,
    DocumentId,
    Part,
    Seq,
    Bytes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                patient_record_table(Documents::Table, Documents::Id, Documents::PatientId)
                    .col(string_len_null(Documents::EncounterId, 36))
                    .col(string_len(Documents::Kind, 10))
                    .col(big_integer(Documents::SizeBytes))
                    .col(integer_null(Documents::PageCount))
                    .col(blob(Documents::Name))
                    .col(blob(Documents::Title))
                    .col(blob(Documents::Sha256))
                    .col(integer(Documents::Chunks))
                    .col(integer(Documents::ThumbnailChunks))
                    .col(string_len(Documents::UploadedBy, 36))
                    .col(big_integer(Documents::UploadedAt))
                    .foreign_key(&mut foreign_key(
                        "fk_documents_uploaded_by",
                        (Documents::Table, Documents::UploadedBy),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_documents_patient",
                Documents::Table,
                [Documents::PatientId, Documents::UploadedAt],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_documents_encounter",
                Documents::Table,
                [Documents::EncounterId],
            ))
            .await?;

        // MariaDB/MySQL: `blob` holds 64 KiB, a sealed 1 MiB chunk needs `mediumblob`.
        let chunk_bytes = match manager.get_database_backend() {
            DbBackend::MySql => ColumnDef::new(DocumentChunks::Bytes)
                .custom(Alias::new("mediumblob"))
                .not_null()
                .to_owned(),
            _ => blob(DocumentChunks::Bytes),
        };
        manager
            .create_table(
                Table::create()
                    .table(DocumentChunks::Table)
                    .col(string_len(DocumentChunks::DocumentId, 36))
                    .col(string_len(DocumentChunks::Part, 10))
                    .col(integer(DocumentChunks::Seq))
                    .col(chunk_bytes)
                    .primary_key(
                        Index::create()
                            .col(DocumentChunks::DocumentId)
                            .col(DocumentChunks::Part)
                            .col(DocumentChunks::Seq),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_document_chunks_document",
                        (DocumentChunks::Table, DocumentChunks::DocumentId),
                        (Documents::Table, Documents::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
