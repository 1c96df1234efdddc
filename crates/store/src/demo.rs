//! Demo data only: moving a seeded encounter and what hangs off it (diagnoses, notes,
//! vitals, prescriptions) back in time, so that the demo's charts show a history over weeks
//! although everything was written through the ordinary use cases at start-up. The audit
//! events of that seeding keep their true times. Never called outside demo seeding.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::Conn;
use crate::entity::{encounter_diagnoses, encounter_notes, encounters, prescriptions, vitals};
use crate::error::StoreError;

/// Moves encounter `id` and its diagnoses, notes, vitals and prescriptions `by` microseconds
/// into the past.
pub async fn backdate_encounter(conn: &impl Conn, id: &str, by: i64) -> Result<(), StoreError> {
    use encounters::Column as E;
    encounters::Entity::update_many()
        .col_expr(E::StartedAt, Expr::col(E::StartedAt).sub(by))
        .col_expr(E::SignedAt, Expr::col(E::SignedAt).sub(by))
        .col_expr(E::CreatedAt, Expr::col(E::CreatedAt).sub(by))
        .col_expr(E::UpdatedAt, Expr::col(E::UpdatedAt).sub(by))
        .filter(E::Id.eq(id))
        .exec(conn)
        .await?;
    use encounter_diagnoses::Column as D;
    encounter_diagnoses::Entity::update_many()
        .col_expr(D::AddedAt, Expr::col(D::AddedAt).sub(by))
        .filter(D::EncounterId.eq(id))
        .exec(conn)
        .await?;
    use encounter_notes::Column as N;
    encounter_notes::Entity::update_many()
        .col_expr(N::CreatedAt, Expr::col(N::CreatedAt).sub(by))
        .filter(N::EncounterId.eq(id))
        .exec(conn)
        .await?;
    use vitals::Column as V;
    vitals::Entity::update_many()
        .col_expr(V::RecordedAt, Expr::col(V::RecordedAt).sub(by))
        .filter(V::EncounterId.eq(id))
        .exec(conn)
        .await?;
    use prescriptions::Column as P;
    prescriptions::Entity::update_many()
        .col_expr(P::CreatedAt, Expr::col(P::CreatedAt).sub(by))
        .col_expr(P::UpdatedAt, Expr::col(P::UpdatedAt).sub(by))
        .filter(P::EncounterId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
