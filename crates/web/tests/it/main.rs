//! Integration tests of the whole router, in one binary. Every test that touches the
//! database runs on SQLite, and on PostgreSQL and MariaDB when their URLs are set
//! (`on_all_backends!`).

mod harness;

mod admin;
mod api_input;
mod csrf;
mod headers;
mod logs;
mod routes;
mod sessions;
mod sign_in;
mod throttle;
