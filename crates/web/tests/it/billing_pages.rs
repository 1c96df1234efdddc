//! The billing pages: opening an invoice, lines, issuing, payments with errors next to the
//! fields, voiding, the printable invoice and receipt (HTML and a real PDF), the patient's
//! own bills, the price list and the billing report with its CSV — and who may see which.

use axum::http::StatusCode;
use serde_json::json;

use crate::encounters::poppler;
use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{id_of, jane, john_record};

/// Opens John's draft through the page and returns its id.
async fn open_johns_invoice(app: &TestApp) -> String {
    let john = john_record(app).await;
    let mut reception = app.browser("reception").await;
    let opened = reception
        .post_form("/billing", &[("patient_id", &john)])
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
    let location = opened.location().expect("a redirect").to_owned();
    location
        .strip_prefix("/invoices/")
        .expect("to the invoice")
        .to_owned()
}

async fn reception_bills_and_the_patient_sees_it_paid(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = open_johns_invoice(&app).await;
    let mut reception = app.browser("reception").await;
    let page = reception.get(&format!("/invoices/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Add a line"));

    // A bad line: the error sits next to its field, nothing is written.
    let bad = reception
        .post_form(
            &format!("/invoices/{id}/lines"),
            &[
                ("description", "Dressing"),
                ("quantity", "2"),
                ("unit_price", "1.2.3"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(html.contains("id=\"unit_price-error\""), "{html}");
    assert!(html.contains("value=\"1.2.3\""), "the input is kept");
    assert!(html.contains("No lines yet."));

    let added = reception
        .post_form(
            &format!("/invoices/{id}/lines"),
            &[
                ("description", "Dressing"),
                ("quantity", "3"),
                ("unit_price", "0.10"),
                ("tax_rate", "10"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let issued = reception
        .post_form(&format!("/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.text());

    // More than the balance: 422 with the message under the amount.
    let too_much = reception
        .post_form(
            &format!("/invoices/{id}/payments"),
            &[("amount", "0.34"), ("method", "cash")],
        )
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_much.text().contains("id=\"amount-error\""));
    let paid = reception
        .post_form(
            &format!("/invoices/{id}/payments"),
            &[
                ("amount", "0.33"),
                ("method", "card"),
                ("reference", "slip 77"),
            ],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.text());
    let page = reception.get(&format!("/invoices/{id}")).await.text();
    assert!(page.contains("id=\"invoice-status\">Paid<"), "{page}");

    // The patient sees it in their bills, opens it, prints it and downloads the PDFs.
    let mut john = app.browser("john").await;
    let bills = john.get("/my/bills").await;
    assert_eq!(bills.status, StatusCode::OK);
    assert!(
        bills
            .text()
            .contains(&format!("data-invoice=\"{id}\" data-status=\"paid\""))
    );
    let mine = john.get(&format!("/invoices/{id}")).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(
        !mine.text().contains("Record a payment"),
        "patients only read"
    );
    for path in ["print", "receipt"] {
        let print = john.get(&format!("/invoices/{id}/{path}")).await;
        assert_eq!(print.status, StatusCode::OK);
        assert!(print.text().contains("0.33"));
    }
    for (kind, expected) in [("invoice", "Dressing"), ("receipt", "slip 77")] {
        let pdf = john.get(&format!("/invoices/{id}/{kind}.pdf")).await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(pdf.header("content-type"), Some("application/pdf"));
        assert!(pdf.body.starts_with(b"%PDF-"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bill.pdf");
        std::fs::write(&file, &pdf.body).unwrap();
        if let Some(out) = poppler("pdftotext", &[&file.to_string_lossy(), "-"]) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(expected) && text.contains("0.33"), "{text}");
        }
    }
    // A staff-only form posted by the patient: refused.
    let refused = john
        .post_form(
            &format!("/invoices/{id}/payments"),
            &[("amount", "1.00"), ("method", "cash")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn billing_pages_refuse_the_wrong_people(backend: Backend) {
    let app = TestApp::new(backend).await;
    let jane_record = jane(&app).await;
    let id = open_johns_invoice(&app).await;
    // Unauthenticated: to the sign-in page.
    let mut anonymous = app.anonymous();
    for path in [
        "/billing".to_owned(),
        format!("/invoices/{id}"),
        format!("/invoices/{id}/invoice.pdf"),
        "/reports/billing".to_owned(),
        "/my/bills".to_owned(),
    ] {
        let response = anonymous.get(&path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{path}");
        assert!(response.location().is_some_and(|l| l.starts_with("/login")));
    }
    // Wrong roles.
    for user in ["nurse", "drsmith", "auditor"] {
        let mut client = app.browser(user).await;
        for path in [
            "/billing".to_owned(),
            format!("/invoices/{id}"),
            format!("/invoices/{id}/print"),
            "/reports/billing".to_owned(),
        ] {
            assert_eq!(
                client.get(&path).await.status,
                StatusCode::FORBIDDEN,
                "{user} {path}"
            );
        }
        let posted = client
            .post_form("/billing", &[("patient_id", &jane_record)])
            .await;
        assert_eq!(
            posted.status,
            StatusCode::FORBIDDEN,
            "{user} opens an invoice"
        );
    }
    let mut pharmacist = app.browser("pharma").await;
    assert_eq!(pharmacist.get("/billing").await.status, StatusCode::OK);
    assert_eq!(
        pharmacist.get("/reports/billing").await.status,
        StatusCode::FORBIDDEN
    );
    // Another patient's invoice (IDOR): refused for page, print and PDF.
    let mut jane_client = {
        let mut c = app.anonymous();
        let signed = c
            .sign_in_through_form("jane", crate::scheduling_api::PASSWORD)
            .await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER);
        c.refresh_form_token().await;
        c
    };
    for path in [
        format!("/invoices/{id}"),
        format!("/invoices/{id}/print"),
        format!("/invoices/{id}/receipt.pdf"),
    ] {
        assert_eq!(
            jane_client.get(&path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert!(!jane_client.get("/my/bills").await.text().contains(&id));
    // Bad input: an unknown patient, a malformed id.
    let mut reception = app.browser("reception").await;
    let unknown = reception
        .post_form("/billing", &[("patient_id", "not-a-patient")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("id=\"patient_id-error\""));
    assert_eq!(
        reception.get("/invoices/nonsense").await.status,
        StatusCode::NOT_FOUND
    );
    // Voiding is for administrators; the reason is required.
    let voided = reception
        .post_form(
            &format!("/invoices/{id}/void"),
            &[("reason", "duplicate entry")],
        )
        .await;
    assert_eq!(voided.status, StatusCode::FORBIDDEN);
    let mut admin = app.browser("admin").await;
    let no_reason = admin
        .post_form(&format!("/invoices/{id}/void"), &[("reason", "")])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.text().contains("id=\"void-reason-error\""));
    let done = admin
        .post_form(
            &format!("/invoices/{id}/void"),
            &[("reason", "duplicate entry")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
}

async fn the_price_list_and_the_billing_report(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut admin = app.browser("admin").await;
    let bad = admin
        .post_form(
            "/billing/prices",
            &[
                ("code", "CONS"),
                ("kind", "consultation"),
                ("label", "Visit"),
                ("fixed_price", "40"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("id=\"appointment_type-error\""));
    let saved = admin
        .post_form(
            "/billing/prices",
            &[
                ("code", "CONS"),
                ("kind", "consultation"),
                ("label", "Visit"),
                ("appointment_type", "consultation"),
                ("fixed_price", "40"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let list = admin.get("/billing/prices").await.text();
    assert!(list.contains("<code>CONS</code>") && list.contains("40.00"));
    let mut reception = app.browser("reception").await;
    assert!(
        !reception
            .get("/billing/prices")
            .await
            .text()
            .contains("Add the price")
    );
    let refused = reception
        .post_form(
            "/billing/prices",
            &[
                ("code", "X"),
                ("kind", "other"),
                ("label", "X"),
                ("fixed_price", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Two invoices issued today, one partly paid: the report and its CSV agree.
    let mut api = app.api_client("reception").await;
    let john = john_record(&app).await;
    let jane_record = jane(&app).await;
    for (patient, price, paid) in [
        (&john, "30.00", Some("10.00")),
        (&jane_record, "12.50", None),
    ] {
        let draft = api
            .post_json("/api/v1/invoices", &json!({"patient_id": patient}))
            .await
            .json();
        let id = id_of(&draft);
        api.post_json(
            &format!("/api/v1/invoices/{id}/lines"),
            &json!({"description": "Visit", "quantity": "1", "unit_price": price}),
        )
        .await;
        api.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({}))
            .await;
        if let Some(amount) = paid {
            let r = api
                .post_json(
                    &format!("/api/v1/invoices/{id}/payments"),
                    &json!({"amount": amount, "method": "insurance"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
    }
    let page = reception
        .get("/reports/billing?from=2026-03-01&to=2026-03-08")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("2 invoices, 42.50 USD"), "{html}");
    assert!(html.contains("<svg"));
    let csv = reception
        .get("/reports/billing.csv?from=2026-03-01&to=2026-03-08")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    for row in [
        "issued,total,42.50",
        "paid,insurance,10.00",
        "outstanding,total,32.50",
        "issued_on,2026-03-02,42.50",
    ] {
        assert!(text.contains(row), "{row} in {text}");
    }
    let bad = reception.get("/reports/billing?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("id=\"from-error\""));
}

on_all_backends!(
    reception_bills_and_the_patient_sees_it_paid,
    billing_pages_refuse_the_wrong_people,
    the_price_list_and_the_billing_report,
);
