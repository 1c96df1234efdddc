//! User accounts.

use carevault_core::time::to_micros;
use carevault_core::{DisplayName, Role, UserId, UserStatus, Username};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::Conn;
use crate::entity::users::{self, Column, Entity};
use crate::error::StoreError;
use crate::record::{self, Row};

/// A stored account, turned back into domain types. Its `Debug` output leaves out the
/// password hash and the name.
#[derive(Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub role: Role,
    pub status: UserStatus,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TryFrom<users::Model> for UserRecord {
    type Error = StoreError;

    fn try_from(m: users::Model) -> Result<Self, StoreError> {
        let row = Row("users");
        Ok(UserRecord {
            id: row.parse("id", &m.id)?,
            username: row.convert("username", m.username.as_str(), Username::parse)?,
            display_name: row.convert(
                "display_name",
                m.display_name.as_str(),
                DisplayName::parse,
            )?,
            role: row.parse("role", &m.role)?,
            status: row.parse("status", &m.status)?,
            password_hash: m.password_hash,
            created_at: row.time(m.created_at),
            updated_at: row.time(m.updated_at),
            last_login_at: row.time_opt(m.last_login_at),
        })
    }
}

/// What is needed to create an account.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a Username,
    pub display_name: &'a DisplayName,
    pub role: Role,
    pub password_hash: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &impl Conn, new: &NewUser<'_>) -> Result<(), StoreError> {
    let now = to_micros(new.now);
    let row = users::ActiveModel {
        id: Set(new.id.to_string()),
        username: Set(new.username.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        role: Set(new.role.as_str().to_owned()),
        status: Set(UserStatus::Active.as_str().to_owned()),
        password_hash: Set(new.password_hash.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
    };
    Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find_by_username(
    conn: &impl Conn,
    username: &str,
) -> Result<Option<UserRecord>, StoreError> {
    record::one(conn, Entity::find().filter(Column::Username.eq(username))).await
}

pub async fn find_by_id(conn: &impl Conn, id: UserId) -> Result<Option<UserRecord>, StoreError> {
    record::one(conn, Entity::find_by_id(id.to_string())).await
}

/// Every account, by username.
pub async fn list(conn: &impl Conn) -> Result<Vec<UserRecord>, StoreError> {
    record::all(conn, Entity::find().order_by_asc(Column::Username)).await
}

pub async fn count(conn: &impl Conn) -> Result<u64, StoreError> {
    Ok(Entity::find().count(conn).await?)
}

async fn update(conn: &impl Conn, id: UserId, row: users::ActiveModel) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .set(row)
        .filter(Column::Id.eq(id.to_string()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces the password hash. Returns whether the account existed.
pub async fn set_password_hash(
    conn: &impl Conn,
    id: UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    update(
        conn,
        id,
        users::ActiveModel {
            password_hash: Set(password_hash.to_owned()),
            updated_at: Set(to_micros(now)),
            ..Default::default()
        },
    )
    .await
}

/// Changes the status. Returns whether the account existed.
pub async fn set_status(
    conn: &impl Conn,
    id: UserId,
    status: UserStatus,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    update(
        conn,
        id,
        users::ActiveModel {
            status: Set(status.as_str().to_owned()),
            updated_at: Set(to_micros(now)),
            ..Default::default()
        },
    )
    .await
}

/// Records a successful sign-in.
pub async fn set_last_login(
    conn: &impl Conn,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    update(
        conn,
        id,
        users::ActiveModel {
            last_login_at: Set(Some(to_micros(now))),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
