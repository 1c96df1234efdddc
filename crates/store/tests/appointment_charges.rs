#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

//! Migration 018 on a database that already holds invoice lines (SQLite in memory): the
//! automatic consultation lines written before it get the appointment they charge, other
//! lines none; afterwards a second line charging the same appointment is refused by the
//! database and reported as `LineInsert::AlreadyCharged`, not as an error.

use carevault_store::backup::{known_migrations, migrate_by};
use carevault_store::billing::{self, LineInsert, LineRow};
use carevault_store::{Conn, ConnectSettings, Store};
use sea_orm::Statement;

const MIGRATION: &str = "m20261206_000018_appointment_charges";
const INVOICE: &str = "00000000-0000-7000-8000-000000000001";
const APPOINTMENT: &str = "00000000-0000-7000-8000-0000000000a1";

fn line(id: &str, source: &str, source_id: Option<&str>, appointment: Option<&str>) -> LineRow {
    LineRow {
        id: id.to_owned(),
        invoice_id: INVOICE.to_owned(),
        position: 9,
        kind: "charge".into(),
        source: source.into(),
        source_id: source_id.map(str::to_owned),
        description: b"sealed".to_vec(),
        quantity: "1".into(),
        unit_price_minor: 100,
        discount_percent: None,
        tax_rate: "0".into(),
        gross_minor: 100,
        discount_minor: 0,
        net_minor: 100,
        tax_minor: 0,
        total_minor: 100,
        created_by: "someone".into(),
        created_at: 1,
        appointment_id: appointment.map(str::to_owned),
    }
}

async fn execute(store: &Store, sql: &str) {
    store
        .conn()
        .execute_raw(Statement::from_string(
            store.conn().get_database_backend(),
            sql,
        ))
        .await
        .expect(sql);
}

#[tokio::test]
async fn existing_consultation_lines_name_their_appointment_and_it_is_charged_once() {
    let store = Store::connect(
        "sqlite::memory:",
        &ConnectSettings {
            max_connections: 1,
            ..ConnectSettings::default()
        },
    )
    .await
    .expect("in-memory SQLite");
    let before = known_migrations()
        .iter()
        .position(|name| name == MIGRATION)
        .expect("the migration is known");
    migrate_by(&store, u32::try_from(before).expect("a count"))
        .await
        .expect("the migrations before it");
    execute(
        &store,
        &format!(
            "INSERT INTO invoices (id, number, patient_id, open_for, status, currency, \
             subtotal_minor, discount_minor, tax_minor, total_minor, paid_minor, version, \
             created_by, created_at, updated_at) VALUES ('{INVOICE}', 'INV-000001', 'p', 'p', \
             'draft', 'USD', 300, 0, 0, 300, 0, 3, 'someone', 1, 1)"
        ),
    )
    .await;
    for (id, source, source_id) in [
        ("l1", "appointment", format!("'{APPOINTMENT}'")),
        ("l2", "manual", "NULL".to_owned()),
        ("l3", "dispensing", "'a-dispensing'".to_owned()),
    ] {
        execute(
            &store,
            &format!(
                "INSERT INTO invoice_lines (id, invoice_id, position, kind, source, source_id, \
                 description, quantity, unit_price_minor, tax_rate, gross_minor, \
                 discount_minor, net_minor, tax_minor, total_minor, created_by, created_at) \
                 VALUES ('{id}', '{INVOICE}', 1, 'charge', '{source}', {source_id}, x'00', '1', \
                 100, '0', 100, 0, 100, 0, 100, 'someone', 1)"
            ),
        )
        .await;
    }
    store.migrate().await.expect("migration 018 and the rest");

    let lines = billing::lines_of(store.conn(), INVOICE)
        .await
        .expect("lines");
    let named: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|l| (l.id.as_str(), l.appointment_id.as_deref()))
        .collect();
    assert_eq!(
        named,
        [("l1", Some(APPOINTMENT)), ("l2", None), ("l3", None)]
    );
    assert_eq!(
        billing::line_of_appointment(store.conn(), APPOINTMENT)
            .await
            .expect("found")
            .map(|l| l.id),
        Some("l1".to_owned())
    );

    // A manual line for the same visit is refused by the index, as "already charged".
    assert_eq!(
        billing::insert_line(store.conn(), line("l4", "manual", None, Some(APPOINTMENT)))
            .await
            .expect("classified"),
        LineInsert::AlreadyCharged
    );
    // Lines that name no visit never collide with each other (NULLs are distinct).
    for id in ["l5", "l6"] {
        assert_eq!(
            billing::insert_line(store.conn(), line(id, "manual", None, None))
                .await
                .expect("inserted"),
            LineInsert::Inserted
        );
    }
    assert_eq!(
        billing::charged_appointments(
            store.conn(),
            &[APPOINTMENT.to_owned(), "another".to_owned()]
        )
        .await
        .expect("charged"),
        [APPOINTMENT.to_owned()]
    );
}
