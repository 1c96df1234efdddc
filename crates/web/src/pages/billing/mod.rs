//! Billing pages: the invoice list (`/billing`), one invoice with its forms
//! (`/invoices/{id}`: add a line, remove a draft line, issue, record a payment, void), the
//! printable invoice and receipt as HTML and PDF, the patient's own bills (`/my/bills`), the
//! price list (`/billing/prices`) and the billing report with its chart and CSV
//! (`/reports/billing`). Every decision is the service's; these handlers translate forms.

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use carevault_core::Action;
use carevault_core::ValidationErrors;
use carevault_core::appointment::{AppointmentStatus, AppointmentType};
use carevault_core::billing::{InvoiceStatus, PaymentMethod};
use carevault_core::money::{Currency, Money};
use carevault_service::billing::{
    BillingReport, InvoiceSummary, InvoiceView, LineRequest, PaymentRequest, PriceInput, PriceKind,
    PriceView,
};
use carevault_service::visit_charges::VisitToCharge;
use carevault_service::{Actor, ServiceError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::query_params;
use crate::pages::{
    Layout, PageRequest, QueryNotice, csv_download, input_status, month_start, not_found, render,
    report_range, staff_screen, with_status,
};
use crate::pdf::{self, Section};
use crate::routes::{Access, RouteTable};

mod invoice;
mod list;
mod prices;
mod print;
mod report;

pub use invoice::*;
pub use list::*;
pub use prices::*;
pub use print::*;
pub use report::*;

/// The file name browsers save the billing report as.
pub const REPORT_CSV_FILE_NAME: &str = "billing-report.csv";

/// Adds the billing pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    use Access::Page;
    table
        .add(
            &[("GET", Action::SeeBills), ("POST", Action::ManageBilling)],
            "/billing",
            Page,
            get(list).post(open_invoice),
        )
        .add(
            &[
                ("GET", Action::ManageBilling),
                ("POST", Action::AdministerBilling),
            ],
            "/billing/prices",
            Page,
            get(prices).post(add_price),
        )
        .page(Action::UsePortal, "/my/bills", my_bills)
        .page(Action::SeeBills, "/billing.csv", list_csv)
        .page(Action::SeeBills, "/invoices/{id}", invoice_page)
        .form_post(Action::ManageBilling, "/invoices/{id}/lines", add_line)
        .form_post(
            Action::ManageBilling,
            "/invoices/{id}/lines/{line_id}/remove",
            remove_line,
        )
        .form_post(Action::ManageBilling, "/invoices/{id}/issue", issue)
        .form_post(Action::ManageBilling, "/invoices/{id}/payments", pay)
        .form_post(Action::AdministerBilling, "/invoices/{id}/void", void)
        .page(Action::SeeBills, "/invoices/{id}/print", print_invoice)
        .page(Action::SeeBills, "/invoices/{id}/invoice.pdf", invoice_pdf)
        .page(Action::SeeBills, "/invoices/{id}/receipt", print_receipt)
        .page(Action::SeeBills, "/invoices/{id}/receipt.pdf", receipt_pdf)
        .page(Action::OfficeReports, "/reports/billing", report)
        .page(Action::OfficeReports, "/reports/billing.csv", report_csv)
}

fn status_label(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "Draft",
        InvoiceStatus::Issued => "Issued",
        InvoiceStatus::PartiallyPaid => "Partially paid",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Void => "Void",
    }
}

fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Card => "Card",
        PaymentMethod::Insurance => "Insurance",
        PaymentMethod::Transfer => "Bank transfer",
    }
}

fn invoice_id(raw: &str) -> Result<String, PageError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| not_found("invoice"))
}
