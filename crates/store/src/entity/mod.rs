//! SeaORM entities, one module per table. Column meanings are documented on the migration
//! that creates them.

pub mod login_failures;
pub mod sessions;
pub mod settings;
pub mod users;
