//! Named values the installation keeps about itself (for example whether it holds demo
//! data).

use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};

use crate::Conn;
use crate::entity::settings::{self, Column, Entity};
use crate::error::StoreError;

/// Set when `serve --demo` created the demo accounts.
pub const DEMO_DATA: &str = "demo_data";
/// A random per-installation salt for the throttling keys.
pub const THROTTLE_SALT: &str = "throttle_salt";

pub async fn get(conn: &impl Conn, name: &str) -> Result<Option<String>, StoreError> {
    Ok(Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .map(|m| m.value))
}

pub async fn set(conn: &impl Conn, name: &str, value: &str) -> Result<(), StoreError> {
    insert(conn, name, value, Column::Value).await
}

/// The value of `name`, storing `value` first if there is none. When several processes race,
/// they all end up with the first value stored.
pub async fn get_or_insert(
    conn: &impl Conn,
    name: &str,
    value: &str,
) -> Result<String, StoreError> {
    // A no-op update rather than `DO NOTHING`, which sea-query renders invalidly for
    // MariaDB; the stored value is left as it is on every backend.
    insert(conn, name, value, Column::Name).await?;
    Ok(get(conn, name).await?.unwrap_or_else(|| value.to_owned()))
}

/// Inserts `name = value`; when `name` is stored already, sets its column `on_conflict` from
/// the new row instead (`Value` overwrites the value, `Name` leaves the row as it is).
async fn insert(
    conn: &impl Conn,
    name: &str,
    value: &str,
    on_conflict: Column,
) -> Result<(), StoreError> {
    let row = settings::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value.to_owned()),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Name)
                .update_column(on_conflict)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
