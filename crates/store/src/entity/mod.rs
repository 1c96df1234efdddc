//! SeaORM entities, one module per table. Column meanings are documented on the migration
//! that creates them.

pub mod appointment_slot_claims;
pub mod appointments;
pub mod audit_checkpoints;
pub mod audit_events;
pub mod audit_state;
pub mod care_team_members;
pub mod counters;
pub mod departments;
pub mod diagnosis_stats;
pub mod document_chunks;
pub mod documents;
pub mod drugs;
pub mod emergency_access;
pub mod encounter_diagnoses;
pub mod encounter_notes;
pub mod encounters;
pub mod invoice_lines;
pub mod invoices;
pub mod login_failures;
pub mod notification_preferences;
pub mod notifications;
pub mod patient_search_index;
pub mod patients;
pub mod payments;
pub mod prescriptions;
pub mod price_list;
pub mod record_shares;
pub mod sessions;
pub mod settings;
pub mod staff_profiles;
pub mod stock_batches;
pub mod stock_movements;
pub mod users;
pub mod vitals;
