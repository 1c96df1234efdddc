//! Turning a stored row into a typed record, once, at the store's edge.
//!
//! Each repository module defines a record with domain types (ids, enums, `DateTime`s) and a
//! `TryFrom<Model>` that reads every column through a [`Row`]. A value that does not convert
//! is a [`StoreError::Corrupt`] naming the table and the column, so the layers above never
//! parse stored text or convert micros themselves. [`one`], [`all`] and [`insert`] run a
//! query or an insert and do that conversion, so repository functions state only the query.

use std::fmt::Display;
use std::str::FromStr;

use carevault_core::time::from_micros;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Select};

use crate::Conn;
use crate::error::StoreError;

/// Runs `query` and converts the row it finds, if any, into its record.
pub(crate) async fn one<E, R>(conn: &impl Conn, query: Select<E>) -> Result<Option<R>, StoreError>
where
    E: EntityTrait,
    R: TryFrom<E::Model, Error = StoreError>,
{
    query.one(conn).await?.map(R::try_from).transpose()
}

/// Runs `query` and converts every row it finds into its record, in the query's order.
pub(crate) async fn all<E, R>(conn: &impl Conn, query: Select<E>) -> Result<Vec<R>, StoreError>
where
    E: EntityTrait,
    R: TryFrom<E::Model, Error = StoreError>,
{
    query
        .all(conn)
        .await?
        .into_iter()
        .map(R::try_from)
        .collect()
}

/// Inserts one row, made from its record (`ActiveModel::from(&record)`).
pub(crate) async fn insert<A>(conn: &impl Conn, row: A) -> Result<(), StoreError>
where
    A: ActiveModelTrait,
{
    A::Entity::insert(row).exec_without_returning(conn).await?;
    Ok(())
}

/// The table a row comes from, to name it when a column does not convert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row(pub &'static str);

impl Row {
    /// The error for `column` of this table holding a value that is not valid.
    pub fn corrupt(self, column: &'static str, why: impl Display) -> StoreError {
        StoreError::Corrupt(format!("{}.{column}: {why}", self.0))
    }

    /// Parses a text column into a domain value (an id, a status, a code).
    pub fn parse<T>(self, column: &'static str, value: &str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        value.parse().map_err(|e| self.corrupt(column, e))
    }

    /// [`Row::parse`] for a nullable column.
    pub fn parse_opt<T>(
        self,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<Option<T>, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        value.map(|v| self.parse(column, v)).transpose()
    }

    /// Converts a column with a fallible conversion of its own (`Money::from_minor`, …).
    pub fn convert<V, T, E: Display>(
        self,
        column: &'static str,
        value: V,
        convert: impl FnOnce(V) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        convert(value).map_err(|e| self.corrupt(column, e))
    }

    /// An instant stored as microseconds since the Unix epoch.
    pub fn time(self, micros: i64) -> DateTime<Utc> {
        from_micros(micros)
    }

    /// [`Row::time`] for a nullable column.
    pub fn time_opt(self, micros: Option<i64>) -> Option<DateTime<Utc>> {
        micros.map(from_micros)
    }
}

#[cfg(test)]
mod tests {
    use carevault_core::PatientId;

    use super::*;

    #[test]
    fn a_value_that_does_not_convert_names_table_and_column() {
        let err = Row("patients")
            .parse::<PatientId>("id", "not-a-uuid")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a stored row is not valid: patients.id: is not a valid id"
        );
        let id = PatientId::generate();
        assert_eq!(
            Row("patients")
                .parse::<PatientId>("id", &id.to_string())
                .unwrap(),
            id
        );
        assert_eq!(
            Row("patients").parse_opt::<PatientId>("id", None).unwrap(),
            None
        );
    }
}
