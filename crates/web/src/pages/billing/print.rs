//! The printable invoice and receipt, as HTML and PDF.

use super::*;

#[derive(Template)]
#[template(path = "invoice_print.html")]
struct PrintPage {
    layout: Layout,
    i: Shown,
    receipt: bool,
    pdf_href: String,
}

/// The invoice whose id is the path's `raw` id, as the actor may see it: its id and what
/// the printout shows.
async fn shown_by_path(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<(String, Shown), PageError> {
    let id = invoice_id(raw)?;
    let view = state.services.get_invoice(actor, &id).await?;
    Ok((id, shown(state, &view)))
}

pub(super) async fn print(
    state: AppState,
    actor: Actor,
    csrf: String,
    id: String,
    receipt: bool,
) -> Result<Response, PageError> {
    let (id, i) = shown_by_path(&state, &actor, &id).await?;
    let kind = if receipt { "receipt" } else { "invoice" };
    render(&PrintPage {
        layout: Layout::new(
            &state,
            &actor,
            &format!(
                "{} {}",
                if receipt { "Receipt for" } else { "Invoice" },
                i.number
            ),
            "/billing",
            csrf,
        ),
        pdf_href: format!("/invoices/{id}/{kind}.pdf"),
        i,
        receipt,
    })
}

/// `GET /invoices/{id}/print`.
pub async fn print_invoice(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    print(state, actor, csrf, id, false).await
}

/// `GET /invoices/{id}/receipt`.
pub async fn print_receipt(
    PageRequest { state, actor, csrf }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    print(state, actor, csrf, id, true).await
}

/// The invoice (or the receipt: its payments) as PDF sections.
fn pdf_sections(i: &Shown, receipt: bool) -> Vec<Section> {
    let mut sections = vec![Section {
        heading: "Patient".into(),
        lines: vec![format!("{} (MRN {})", i.patient, i.mrn)],
    }];
    if !receipt {
        sections.push(Section {
            heading: "Lines".into(),
            lines: i
                .lines
                .iter()
                .map(|l| {
                    let discount = if l.discount.is_empty() {
                        String::new()
                    } else {
                        format!(", discount {}", l.discount)
                    };
                    format!(
                        "{} x {} at {}{discount}, tax {}: {}{}",
                        l.quantity,
                        l.description,
                        l.unit_price,
                        l.tax_rate,
                        l.total,
                        if l.kind == "correction" {
                            " (correction)"
                        } else {
                            ""
                        }
                    )
                })
                .collect(),
        });
    }
    sections.push(Section {
        heading: "Totals".into(),
        lines: vec![
            format!("Subtotal: {}", i.subtotal),
            format!("Discounts: {}", i.discount_total),
            format!("Tax: {}", i.tax_total),
            format!("Total: {}", i.grand_total),
            format!("Paid: {}", i.paid),
            format!("Balance due: {}", i.balance),
        ],
    });
    sections.push(Section {
        heading: "Payments".into(),
        lines: i
            .payments
            .iter()
            .map(|p| {
                let reference = if p.reference.is_empty() {
                    String::new()
                } else {
                    format!(" (ref. {})", p.reference)
                };
                format!("{} {}: {}{reference}", p.date, p.method, p.amount)
            })
            .collect(),
    });
    if let Some(reason) = &i.void_reason {
        sections.push(Section {
            heading: "Void".into(),
            lines: vec![format!("This invoice is void: {reason}")],
        });
    }
    sections
}

async fn pdf_file(
    state: AppState,
    actor: Actor,
    id: String,
    receipt: bool,
) -> Result<Response, PageError> {
    let (_, i) = shown_by_path(&state, &actor, &id).await?;
    let title = if receipt {
        format!("Receipt for invoice {}", i.number)
    } else {
        format!("Invoice {}", i.number)
    };
    let subtitle = format!(
        "Status: {}. Dated {}{}.",
        i.status,
        if i.issued.is_empty() {
            &i.created
        } else {
            &i.issued
        },
        if i.draft {
            " (draft, not yet issued)"
        } else {
            ""
        }
    );
    let bytes = pdf::render(&title, &subtitle, &pdf_sections(&i, receipt));
    let name = format!(
        "attachment; filename=\"{}-{}.pdf\"",
        if receipt { "receipt" } else { "invoice" },
        i.number
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /invoices/{id}/invoice.pdf`.
pub async fn invoice_pdf(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    pdf_file(state, actor, id, false).await
}

/// `GET /invoices/{id}/receipt.pdf`.
pub async fn receipt_pdf(
    PageRequest { state, actor, .. }: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    pdf_file(state, actor, id, true).await
}
