//! The schema, as embedded migrations. `carevault migrate` and `carevault serve` apply them;
//! the same migrations create the same schema on SQLite, PostgreSQL and MariaDB.
//!
//! Conventions: ids are UUID text (`varchar(36)`); instants are `bigint` microseconds since
//! the Unix epoch, UTC (see `carevault_core::time`); enumerations are short lowercase text.

use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_audit;
mod m20261122_000003_patients;
mod m20261123_000004_scheduling;
mod m20261123_000005_emergency_access;
mod m20261123_000006_record_shares;
mod m20261123_000007_encounters;
mod m20261123_000008_documents;
mod m20261123_000009_prescriptions;
mod m20261123_000010_pharmacy;
mod m20261123_000011_billing;
mod m20261123_000012_notifications;
mod m20261123_000013_prescription_drug;
mod m20261123_000014_privacy;
mod m20261123_000015_consents;
mod m20261206_000016_allergies_problems;
mod m20261206_000017_nursing;
mod m20261206_000018_appointment_charges;
mod m20261207_000019_patient_tallies;
mod schema;

pub use m20261122_000002_audit::APPEND_ONLY_TABLES;

/// Every migration this binary knows, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_audit::Migration),
            Box::new(m20261122_000003_patients::Migration),
            Box::new(m20261123_000004_scheduling::Migration),
            Box::new(m20261123_000005_emergency_access::Migration),
            Box::new(m20261123_000006_record_shares::Migration),
            Box::new(m20261123_000007_encounters::Migration),
            Box::new(m20261123_000008_documents::Migration),
            Box::new(m20261123_000009_prescriptions::Migration),
            Box::new(m20261123_000010_pharmacy::Migration),
            Box::new(m20261123_000011_billing::Migration),
            Box::new(m20261123_000012_notifications::Migration),
            Box::new(m20261123_000013_prescription_drug::Migration),
            Box::new(m20261123_000014_privacy::Migration),
            Box::new(m20261123_000015_consents::Migration),
            Box::new(m20261206_000016_allergies_problems::Migration),
            Box::new(m20261206_000017_nursing::Migration),
            Box::new(m20261206_000018_appointment_charges::Migration),
            Box::new(m20261207_000019_patient_tallies::Migration),
        ]
    }
}
