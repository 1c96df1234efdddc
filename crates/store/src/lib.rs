//! Persistence: SeaORM entities, the embedded migrations, and repository functions that
//! speak in domain terms.
//!
//! This is the only crate that knows SQL. It never sees plaintext personal data (only sealed
//! bytes and blind indexes) and never decides who may do what: the service layer does that
//! before it calls in here. Repository functions take any
//! [`Conn`] (a pool or an open transaction), so a use case can run several of them in one
//! transaction.

pub mod allergies;
pub mod audit;
pub mod backup;
pub mod billing;
pub mod care_team;
pub mod chart;
pub mod connect;
pub mod consents;
pub mod dashboard;
pub mod demo;
pub mod documents;
pub mod emergency_access;
pub mod encounters;
pub mod entity;
pub mod error;
mod grant_window;
pub mod migration;
pub mod notifications;
pub mod nursing;
pub mod patients;
pub mod pharmacy;
pub mod prescriptions;
pub mod privacy;
pub mod problems;
pub mod record;
pub mod record_shares;
pub mod scheduling;
pub mod schema_doc;
pub mod sessions;
pub mod settings;
pub mod throttle;
pub mod users;

pub use connect::{Backend, ConnectSettings, StatementCounter, Store};
pub use error::StoreError;
pub use sea_orm::{ConnectionTrait as Conn, DatabaseTransaction as Transaction, TransactionTrait};
