#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing expectation is how a test fails

//! Migration 018 on a database that already holds invoice lines (SQLite in memory): the
//! automatic consultation lines written before it get the appointment they charge, other
//! lines none; afterwards a second line charging the same appointment is refused by the
//! database and reported as `LineInsert::AlreadyCharged`, not as an error.

use carevault_core::billing::{LineAmounts, LineKind, Quantity};
use carevault_core::money::{Money, Percent};
use carevault_core::{AppointmentId, InvoiceId, InvoiceLineId};
use carevault_store::backup::{known_migrations, migrate_by};
use carevault_store::billing::{self, LineInsert, LineRecord};
use carevault_store::{Conn, ConnectSettings, Store};
use sea_orm::Statement;

const MIGRATION: &str = "m20261206_000018_appointment_charges";
const INVOICE: &str = "00000000-0000-7000-8000-000000000001";
const APPOINTMENT: &str = "00000000-0000-7000-8000-0000000000a1";

/// The id of the test's line `n`.
fn line_id(n: u8) -> String {
    format!("00000000-0000-7000-8000-0000000000b{n}")
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("an id")
}

fn line(n: u8, source: &str, source_id: Option<&str>, appointment: Option<&str>) -> LineRecord {
    let price = Money::from_minor_units(100).expect("an amount");
    LineRecord {
        id: id::<InvoiceLineId>(&line_id(n)),
        invoice_id: id::<InvoiceId>(INVOICE),
        position: 9,
        kind: LineKind::Charge,
        source: source.into(),
        source_id: source_id.map(str::to_owned),
        description: b"sealed".to_vec(),
        quantity: Quantity::whole(1).expect("a quantity"),
        unit_price: price,
        discount_percent: None,
        tax_rate: Percent::ZERO,
        amounts: LineAmounts {
            gross: price,
            discount: Money::ZERO,
            net: price,
            tax: Money::ZERO,
            total: price,
        },
        created_by: "someone".into(),
        created_at: carevault_core::time::from_micros(1),
        appointment_id: appointment.map(id::<AppointmentId>),
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
    for (n, source, source_id) in [
        (1, "appointment", format!("'{APPOINTMENT}'")),
        (2, "manual", "NULL".to_owned()),
        (3, "dispensing", "'a-dispensing'".to_owned()),
    ] {
        let id = line_id(n);
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

    let lines = billing::lines_of(store.conn(), id(INVOICE))
        .await
        .expect("lines");
    let named: Vec<(String, Option<String>)> = lines
        .iter()
        .map(|l| (l.id.to_string(), l.appointment_id.map(|a| a.to_string())))
        .collect();
    assert_eq!(
        named,
        [
            (line_id(1), Some(APPOINTMENT.to_owned())),
            (line_id(2), None),
            (line_id(3), None)
        ]
    );
    assert_eq!(
        billing::line_of_appointment(store.conn(), id(APPOINTMENT))
            .await
            .expect("found")
            .map(|l| l.id.to_string()),
        Some(line_id(1))
    );

    // A manual line for the same visit is refused by the index, as "already charged".
    assert_eq!(
        billing::insert_line(store.conn(), &line(4, "manual", None, Some(APPOINTMENT)))
            .await
            .expect("classified"),
        LineInsert::AlreadyCharged
    );
    // Lines that name no visit never collide with each other (NULLs are distinct).
    for n in [5, 6] {
        assert_eq!(
            billing::insert_line(store.conn(), &line(n, "manual", None, None))
                .await
                .expect("inserted"),
            LineInsert::Inserted
        );
    }
    assert_eq!(
        billing::charged_appointments(store.conn(), &[id(APPOINTMENT), AppointmentId::generate()])
            .await
            .expect("charged"),
        [id::<AppointmentId>(APPOINTMENT)]
    );
}
