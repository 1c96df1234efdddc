//! The ceiling for the HTTP benchmarks (`scripts/bench-http.sh`): axum on Tokio answering
//! every `GET` with one fixed JSON body (a patient as the API returns it) and every `POST`
//! with `201` and the same body, and nothing else: no session, no database, no encryption,
//! no audit. Carevault's figures are reported as a ratio to this one, measured in the same run.
//!
//! ```text
//! cargo run --release -p carevault --example bare_axum -- 127.0.0.1:8199 body.json
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8199".into())
        .parse()?;
    let body: &'static str = match args.next() {
        Some(path) => String::leak(std::fs::read_to_string(path)?),
        None => r#"{"id":"00000000-0000-0000-0000-000000000000","family_name":"Example"}"#,
    };
    let json = || [(header::CONTENT_TYPE, "application/json")];
    let app = Router::new().fallback(
        get(move || async move { (json(), body) })
            .post(move || async move { (StatusCode::CREATED, json(), body).into_response() }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
