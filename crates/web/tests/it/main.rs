#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

//! Integration tests of the whole router, in one binary. Every test that touches the
//! database runs on SQLite, and on PostgreSQL and MariaDB when their URLs are set
//! (`on_all_backends!`).

mod harness;

mod addenda;
mod admin;
mod allergies;
mod allergy_migration;
mod api_input;
mod api_snapshots;
mod audit_trail;
mod audit_web;
mod backup;
mod banner;
mod billing;
mod billing_pages;
mod chart;
mod chart_list_pages;
mod clinical_api;
mod clinical_pages;
mod csrf;
mod csv_exports;
mod dashboards;
mod db_down;
mod documents;
mod emergency_access;
mod encounter_form;
mod encounters;
mod erasure;
mod fixtures;
mod hardening;
mod headers;
mod logs;
mod notifications;
mod nursing;
mod patient_pages;
mod patient_storage;
mod patients_api;
mod pharmacist_view;
mod pharmacy;
mod pharmacy_pages;
mod problems;
mod record_shares;
mod route_policy;
mod routes;
mod scheduling_api;
mod scheduling_pages;
mod scheduling_storage;
mod session_cache;
mod sessions;
mod sign_in;
mod statement_budget;
mod subject_access;
mod throttle;
mod visit_charges;
mod vitals_flags;
