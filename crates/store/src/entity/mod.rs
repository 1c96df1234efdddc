//! SeaORM entities, one module per table. Column meanings are documented on the migration
//! that creates them.

pub mod audit_checkpoints;
pub mod audit_events;
pub mod audit_state;
pub mod care_team_members;
pub mod counters;
pub mod login_failures;
pub mod patient_search_index;
pub mod patients;
pub mod sessions;
pub mod settings;
pub mod users;
