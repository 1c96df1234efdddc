//! docs/SCHEMA.md is generated from the migrations: this test applies them to an empty
//! in-memory SQLite database, renders the diagram and compares it with the committed file.

use carevault_store::{ConnectSettings, Store, schema_doc};

#[tokio::test]
async fn schema_document_matches_the_migrations() {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let settings = ConnectSettings {
        max_connections: 1,
        ..ConnectSettings::default()
    };
    let store = Store::connect("sqlite::memory:", &settings)
        .await
        .expect("in-memory SQLite");
    store.migrate().await.expect("migrations apply");
    let rendered = schema_doc::render_markdown(&store).await.expect("render");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SCHEMA.md");
    if std::env::var("CAREVAULT_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &rendered).expect("write docs/SCHEMA.md");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/SCHEMA.md is stale: run `CAREVAULT_BLESS=1 cargo test -p carevault-store --test schema_doc`"
    );
    // The diagram knows the relations that matter most.
    assert!(rendered.contains("appointments }o--|| patients : \"patient_id\""));
    assert!(rendered.contains("erDiagram"));
}
