//! The pure rules of billing: invoice line items and their amounts, invoice totals,
//! the invoice status graph, payments and their methods, which lines may still be edited,
//! and the price-list rule for drugs. Amounts are [`Money`](crate::money::Money) (exact
//! decimals); no I/O, no clock.
//!
//! Decisions recorded here:
//!
//! - **Line amounts are rounded per line, then summed.** For each line, in this order:
//!   `gross = round(quantity × unit price)`; `discount = round(gross × percent)` or the fixed
//!   discount amount; `net = gross − discount`; `tax = round(net × tax rate)`;
//!   `total = net + tax`. `round` is half away from zero to the cent
//!   ([`crate::money::round_money`]). The invoice's subtotal, discount total, tax total and
//!   grand total are the exact sums of those per-line cents, so the printed lines always add
//!   up to the printed totals (tax is computed on each line's discounted amount, because
//!   lines may carry different tax rates). Example: 3 × 0.10 with 10 % tax is a gross of
//!   0.30, tax 0.03, total 0.33.
//! - **Statuses.** `draft → issued | void`; `issued → partially_paid | paid | void`;
//!   `partially_paid → paid | void`; `paid` and `void` are final. Payments move the status
//!   ([`status_after_payment`]); voiding needs a [`VoidReason`] ([`void`]). Only admins may
//!   void: that is the service's rule (the permission matrix), not checked here. Voiding a
//!   partially paid invoice does not refund anything: the payments stay recorded, and a
//!   refund is a separate act (not modelled yet).
//! - **Money corrections are new lines, never edits of issued lines.** Lines are edited or
//!   removed only while the invoice is a draft ([`check_line_edit`]). An issued or partially
//!   paid invoice only takes new [`LineKind::Correction`] lines ([`check_line_addition`]),
//!   whose unit price may be negative (a credit); a paid or void invoice takes nothing (a
//!   correction of a paid invoice is a refund, not modelled yet). A correction carries no
//!   discount (its amount is already the net correction) but does carry tax, so that
//!   reversing a taxed charge reverses its tax too. A correction may not bring the grand
//!   total below what was already paid, nor below zero ([`check_totals`]).
//! - **Automatic charges** (completed appointments, dispensing) go on the patient's draft
//!   invoice; choosing or opening that draft is the service's job.
//! - **Payments** are positive, never more than the balance, and only on an issued or
//!   partially paid invoice ([`check_payment`]).
//! - **Drug prices** ([`PriceRule`]): a fixed price, or the unit cost × (1 + markup %),
//!   rounded half away from zero to the cent. Markups go up to 1000 %.
//!
//! Line descriptions may name a drug, so [`LineDescription`] does not print its text in
//! `Debug` output (a drug on a patient's bill is health data).
//!
//! One file per concept, everything re-exported here (`billing::LineItem`): `status.rs` (the
//! invoice status graph and voiding), `lines.rs` (line items, their amounts, and when lines
//! may change), `totals.rs` (the totals, and the checks before issuing and after a
//! correction), `payment.rs` and `price.rs` (the drug price rule). The tests are in
//! `tests.rs`.

mod lines;
mod payment;
mod price;
mod status;
mod totals;

pub use lines::*;
pub use payment::*;
pub use price::*;
pub use status::*;
pub use totals::*;

use crate::text::{clean_text, given};

#[cfg(test)]
mod tests {
    //! The tests of the billing rules, in the order of the files (statuses, lines, corrections,
    //! issuing and paying, the price list). They share the fixtures at the top.

    use rust_decimal::Decimal;

    use super::InvoiceStatus::{Draft, Issued, Paid, PartiallyPaid, Void};
    use super::*;
    use crate::money::{Money, MoneyError, Percent};

    fn money(raw: &str) -> Money {
        Money::parse_signed(raw).unwrap()
    }

    fn input<'a>(quantity: &'a str, unit_price: &'a str) -> LineItemInput<'a> {
        LineItemInput {
            description: "Consultation",
            quantity,
            unit_price,
            discount_percent: None,
            discount_amount: None,
            tax_rate: None,
        }
    }

    fn charge(input: LineItemInput<'_>) -> LineItem {
        LineItem::parse(LineKind::Charge, &input).unwrap()
    }

    fn correction(unit_price: &str, tax_rate: Option<&str>) -> LineItem {
        LineItem::parse(
            LineKind::Correction,
            &LineItemInput {
                description: "Correction: consultation charged twice",
                tax_rate,
                ..input("1", unit_price)
            },
        )
        .unwrap()
    }

    fn totals(lines: &[LineItem], payments: &[&str]) -> InvoiceTotals {
        let payments: Vec<Money> = payments.iter().map(|p| money(p)).collect();
        invoice_totals(lines, &payments).unwrap()
    }

    // ---- statuses ----

    #[test]
    fn the_transition_table_covers_every_status_once() {
        assert_eq!(TRANSITIONS.len(), InvoiceStatus::ALL.len());
        for (row, status) in TRANSITIONS.iter().zip(InvoiceStatus::ALL) {
            assert_eq!(row.0, *status);
        }
    }

    #[test]
    fn the_full_transition_matrix() {
        // Columns in the same order as the rows (InvoiceStatus::ALL); x = allowed.
        assert_status_matrix!(
            InvoiceStatus,
            [
                // dra iss par pai voi
                ".   x   .   .   x", // draft
                ".   .   x   x   x", // issued
                ".   .   .   x   x", // partially_paid
                ".   .   .   .   .", // paid
                ".   .   .   .   .", // void
            ]
        );
    }

    #[test]
    fn the_happy_path_and_the_shortcut_to_paid() {
        assert_eq!(Draft.transition_to(Issued), Ok(Issued));
        assert_eq!(Issued.transition_to(PartiallyPaid), Ok(PartiallyPaid));
        assert_eq!(PartiallyPaid.transition_to(Paid), Ok(Paid));
        assert_eq!(Issued.transition_to(Paid), Ok(Paid));
    }

    #[test]
    fn paid_and_void_are_final_and_everything_else_can_be_voided() {
        assert!(Paid.is_final());
        assert!(Void.is_final());
        for status in InvoiceStatus::ALL {
            assert_eq!(
                status.can_transition_to(Void),
                !status.is_final(),
                "{status}"
            );
        }
    }

    #[test]
    fn refusals_name_the_current_status() {
        let err = Draft.transition_to(Paid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot go from draft to paid: from draft it can go to: issued, void"
        );
        assert_eq!(err.from(), Draft);
        assert_eq!(err.to(), Paid);
        assert_eq!(err.allowed(), &[Issued, Void]);
        assert_eq!(
            Paid.transition_to(Void).unwrap_err().to_string(),
            "cannot go from paid to void: a paid invoice is final"
        );
        assert_eq!(
            PartiallyPaid.transition_to(Issued).unwrap_err().to_string(),
            "cannot go from partially_paid to issued: from partially_paid it can go to: paid, void"
        );
        assert!(!Draft.can_transition_to(Draft));
    }

    #[test]
    fn voiding_needs_a_reason_and_a_non_final_status() {
        let reason = VoidReason::parse("Patient registered twice").unwrap();
        assert_eq!(void(Draft, &reason), Ok(Void));
        assert_eq!(void(PartiallyPaid, &reason), Ok(Void));
        assert_eq!(
            void(Void, &reason).unwrap_err().to_string(),
            "cannot go from void to void: a void invoice is final"
        );
        assert!(void(Paid, &reason).is_err());
        assert_eq!(VoidReason::parse("  ").unwrap_err(), "is required");
        assert_eq!(
            VoidReason::parse("dup").unwrap_err(),
            "must be at least 5 characters"
        );
        assert!(VoidReason::parse("12345").unwrap_err().contains("in words"));
        assert!(VoidReason::parse(&"a".repeat(501)).is_err());
        assert!(VoidReason::parse("Wrong patient.\nRe-billed.").is_ok());
        assert!(VoidReason::parse("Wrong\u{7} patient").is_err());
        assert_eq!(format!("{reason:?}"), "VoidReason(…)");
        assert_eq!(reason.as_str(), "Patient registered twice");
    }

    #[test]
    fn choices_parse_their_text_forms() {
        assert_eq!(InvoiceStatus::parse("Partially paid"), Ok(PartiallyPaid));
        assert_eq!(InvoiceStatus::parse("partially-paid"), Ok(PartiallyPaid));
        assert_eq!(
            InvoiceStatus::parse("open").unwrap_err(),
            "must be one of the invoice statuses: draft, issued, partially_paid, paid, void"
        );
        for method in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(method.as_str()), Ok(*method));
        }
        assert_eq!(PaymentMethod::parse(" CARD "), Ok(PaymentMethod::Card));
        assert!(PaymentMethod::parse("cheque").is_err());
        assert_eq!(LineKind::parse("correction"), Ok(LineKind::Correction));
        assert_eq!(InvoiceStatus::Void.to_string(), "void");
    }

    // ---- lines ----

    #[test]
    fn three_times_ten_cents_plus_tax_is_exact_to_the_cent() {
        let line = charge(LineItemInput {
            tax_rate: Some("10"),
            ..input("3", "0.10")
        });
        let amounts = line.amounts();
        assert_eq!(amounts.gross, money("0.30"));
        assert_eq!(amounts.discount, Money::ZERO);
        assert_eq!(amounts.net, money("0.30"));
        assert_eq!(amounts.tax, money("0.03"));
        assert_eq!(amounts.total, money("0.33"));
        let t = totals(&[line], &[]);
        assert_eq!(t.grand_total.to_string(), "0.33");
    }

    #[test]
    fn each_line_is_rounded_half_away_from_zero_then_summed() {
        // 0.05 at 10 % tax: 0.005 of tax rounds up to 0.01 on each line (banker's rounding
        // would give 0.00), so three lines carry 0.03 of tax, not round(0.015) = 0.02.
        let line = charge(LineItemInput {
            tax_rate: Some("10"),
            ..input("1", "0.05")
        });
        assert_eq!(line.amounts().tax, money("0.01"));
        let t = totals(&[line.clone(), line.clone(), line], &[]);
        assert_eq!(t.subtotal, money("0.15"));
        assert_eq!(t.tax_total, money("0.03"));
        assert_eq!(t.grand_total, money("0.18"));

        // A fractional quantity: 2.5 × 1.99 = 4.975 → 4.98.
        let line = charge(input("2.5", "1.99"));
        assert_eq!(line.amounts().gross, money("4.98"));
        // 1/3 of a unit: 0.333 × 10.00 = 3.33.
        let line = charge(input("0.333", "10"));
        assert_eq!(line.amounts().gross, money("3.33"));
    }

    #[test]
    fn discounts_by_percent_or_amount_come_before_tax() {
        let line = charge(LineItemInput {
            discount_percent: Some("15"),
            tax_rate: Some("8.875"),
            ..input("3", "33.33")
        });
        let a = line.amounts();
        assert_eq!(a.gross, money("99.99"));
        assert_eq!(a.discount, money("15.00")); // 14.9985 → 15.00
        assert_eq!(a.net, money("84.99"));
        assert_eq!(a.tax, money("7.54")); // 7.5428625 → 7.54
        assert_eq!(a.total, money("92.53"));
        assert_eq!(
            line.discount(),
            Discount::Percent(Percent::parse("15").unwrap())
        );

        let line = charge(LineItemInput {
            discount_amount: Some("5"),
            tax_rate: Some("20"),
            ..input("1", "50")
        });
        let a = line.amounts();
        assert_eq!(
            (a.gross, a.discount, a.net),
            (money("50"), money("5"), money("45"))
        );
        assert_eq!((a.tax, a.total), (money("9"), money("54")));

        // A full discount is allowed: the line is free.
        let line = charge(LineItemInput {
            discount_percent: Some("100"),
            ..input("2", "12.50")
        });
        assert_eq!(line.amounts().total, Money::ZERO);
    }

    #[test]
    fn invoice_totals_add_up() {
        let lines = [
            charge(LineItemInput {
                tax_rate: Some("10"),
                ..input("1", "40.00")
            }),
            charge(LineItemInput {
                discount_percent: Some("10"),
                tax_rate: Some("10"),
                ..input("21", "0.35")
            }),
        ];
        let t = totals(&lines, &["20", "5.50"]);
        // Line 1: 40.00 + 4.00 = 44.00. Line 2: 7.35 − 0.74 (0.735) = 6.61, tax 0.66 (0.661).
        assert_eq!(t.subtotal, money("47.35"));
        assert_eq!(t.discount_total, money("0.74"));
        assert_eq!(t.tax_total, money("4.66"));
        assert_eq!(t.grand_total, money("51.27"));
        assert_eq!(
            t.grand_total,
            t.subtotal
                .checked_sub(t.discount_total)
                .unwrap()
                .checked_add(t.tax_total)
                .unwrap()
        );
        assert_eq!(t.paid, money("25.50"));
        assert_eq!(t.balance, money("25.77"));

        let empty = totals(&[], &[]);
        assert_eq!(empty.grand_total, Money::ZERO);
        assert_eq!(empty.balance, Money::ZERO);
    }

    #[test]
    fn bad_lines_are_refused_per_field() {
        let err = LineItem::parse(
            LineKind::Charge,
            &LineItemInput {
                description: " ",
                quantity: "-1",
                unit_price: "12.345",
                discount_percent: Some("120"),
                discount_amount: None,
                tax_rate: Some("abc"),
            },
        )
        .unwrap_err();
        assert_eq!(err.message_for("description"), Some("is required"));
        assert_eq!(err.message_for("quantity"), Some("must not be negative"));
        assert_eq!(
            err.message_for("unit_price"),
            Some("must have at most 2 decimal places")
        );
        assert_eq!(
            err.message_for("discount_percent"),
            Some("must be at most 100 %")
        );
        assert!(err.message_for("tax_rate").is_some());

        let parse = |input: LineItemInput<'_>| LineItem::parse(LineKind::Charge, &input);
        let err = parse(input("0", "1")).unwrap_err();
        assert_eq!(err.message_for("quantity"), Some("must be more than zero"));
        let err = parse(input("100001", "1")).unwrap_err();
        assert_eq!(err.message_for("quantity"), Some("must be at most 100000"));
        let err = parse(input("1.2345", "1")).unwrap_err();
        assert_eq!(
            err.message_for("quantity"),
            Some("must have at most 3 decimal places")
        );
        let err = parse(input("1", "-5")).unwrap_err();
        assert_eq!(err.message_for("unit_price"), Some("must not be negative"));
        let err = parse(LineItemInput {
            discount_percent: Some("10"),
            discount_amount: Some("1"),
            ..input("1", "10")
        })
        .unwrap_err();
        assert!(
            err.message_for("discount_amount")
                .unwrap()
                .contains("not both")
        );
        let err = parse(LineItemInput {
            discount_amount: Some("10.01"),
            ..input("1", "10")
        })
        .unwrap_err();
        assert_eq!(
            err.message_for("discount_amount"),
            Some("must be at most the line's amount of 10.00")
        );
        let err = parse(input("100000", "999999999999")).unwrap_err();
        assert_eq!(
            err.message_for("quantity"),
            Some("makes the line's amount too large")
        );
        let err = parse(LineItemInput {
            description: "Line\u{1b}[31m",
            ..input("1", "1")
        })
        .unwrap_err();
        assert_eq!(
            err.message_for("description"),
            Some("must not contain control characters")
        );
        assert!(
            parse(LineItemInput {
                description: &"x".repeat(201),
                ..input("1", "1")
            })
            .is_err()
        );
        // Blank optional fields count as not given.
        let line = parse(LineItemInput {
            discount_percent: Some(" "),
            discount_amount: Some(""),
            tax_rate: Some(""),
            ..input("1", "10")
        })
        .unwrap();
        assert_eq!(line.discount(), Discount::None);
        assert_eq!(line.tax_rate(), Percent::ZERO);
    }

    #[test]
    fn charges_from_validated_parts() {
        let line = LineItem::new(
            LineKind::Charge,
            LineDescription::parse("Amoxicillin 500 mg capsules").unwrap(),
            Quantity::whole(21).unwrap(),
            money("0.35"),
            Discount::None,
            Percent::ZERO,
        )
        .unwrap();
        assert_eq!(line.amounts().total, money("7.35"));
        assert_eq!(line.quantity().to_string(), "21");
        assert_eq!(line.unit_price(), money("0.35"));
        assert_eq!(line.kind(), LineKind::Charge);
        assert_eq!(line.description().as_str(), "Amoxicillin 500 mg capsules");
        // The drug name is not in Debug output.
        assert!(!format!("{line:?}").contains("Amoxicillin"));
        assert!(Quantity::whole(0).is_err());
        let err = LineItem::new(
            LineKind::Charge,
            LineDescription::parse("Refund").unwrap(),
            Quantity::whole(1).unwrap(),
            money("-1"),
            Discount::None,
            Percent::ZERO,
        )
        .unwrap_err();
        assert!(
            err.message_for("unit_price")
                .unwrap()
                .contains("correction line")
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(Quantity::parse("2,5").unwrap().to_string(), "2.5");
        assert_eq!(Quantity::parse("3.000").unwrap().to_string(), "3");
        assert_eq!(
            Quantity::parse("0.125").unwrap().value(),
            Decimal::new(125, 3)
        );
        assert_eq!(Quantity::parse("1 000").unwrap().to_string(), "1000");
        assert_eq!(Quantity::parse("").unwrap_err(), "is required");
        assert_eq!(Quantity::parse("1000000").unwrap_err(), "is too large");
    }

    // ---- corrections ----

    #[test]
    fn corrections_credit_with_their_tax_and_carry_no_discount() {
        let original = charge(LineItemInput {
            tax_rate: Some("10"),
            ..input("1", "40")
        });
        let credit = correction("-40", Some("10"));
        assert_eq!(credit.amounts().tax, money("-4.00"));
        assert_eq!(credit.amounts().total, money("-44.00"));
        let t = totals(&[original, credit], &[]);
        assert_eq!(t.grand_total, Money::ZERO);
        assert_eq!(t.tax_total, Money::ZERO);
        assert!(check_totals(&t).is_ok());

        // Half a cent of tax on a credit rounds away from zero too.
        assert_eq!(
            correction("-0.05", Some("10")).amounts().tax,
            money("-0.01")
        );
        // An undercharge is corrected with a positive line.
        assert_eq!(correction("2.50", None).amounts().total, money("2.50"));

        let err = LineItem::parse(LineKind::Correction, &input("1", "0")).unwrap_err();
        assert_eq!(
            err.message_for("unit_price"),
            Some("must not be zero on a correction")
        );
        let err = LineItem::parse(
            LineKind::Correction,
            &LineItemInput {
                discount_percent: Some("5"),
                ..input("1", "-3")
            },
        )
        .unwrap_err();
        assert!(
            err.message_for("discount_amount")
                .unwrap()
                .contains("no discount")
        );
    }

    #[test]
    fn a_correction_may_not_go_below_zero_or_below_what_was_paid() {
        let original = charge(input("1", "40"));
        let t = totals(&[original.clone(), correction("-50", None)], &[]);
        assert_eq!(
            check_totals(&t).unwrap_err().message_for("unit_price"),
            Some("would make the invoice's total negative")
        );
        let t = totals(&[original, correction("-30", None)], &["20"]);
        assert_eq!(
            check_totals(&t).unwrap_err().message_for("unit_price"),
            Some(
                "would bring the total below the 20.00 already paid; a refund is not a correction"
            )
        );
    }

    #[test]
    fn only_drafts_have_editable_lines() {
        assert_eq!(check_line_edit(Draft), Ok(()));
        for status in [Issued, PartiallyPaid, Paid, Void] {
            assert_eq!(check_line_edit(status), Err(LineRefusal::Edit { status }));
        }
        assert_eq!(
            check_line_edit(Issued).unwrap_err().to_string(),
            "the lines of an issued invoice cannot be changed: money corrections are new lines"
        );
    }

    #[test]
    fn which_lines_may_be_added_in_which_status() {
        assert_eq!(check_line_addition(Draft, LineKind::Charge), Ok(()));
        assert_eq!(check_line_addition(Draft, LineKind::Correction), Ok(()));
        assert_eq!(check_line_addition(Issued, LineKind::Correction), Ok(()));
        assert_eq!(
            check_line_addition(PartiallyPaid, LineKind::Correction),
            Ok(())
        );
        assert_eq!(
            check_line_addition(Issued, LineKind::Charge)
                .unwrap_err()
                .to_string(),
            "an issued invoice takes only correction lines; new charges go on a draft invoice"
        );
        assert_eq!(
            check_line_addition(Paid, LineKind::Correction)
                .unwrap_err()
                .to_string(),
            "a paid invoice is closed and takes no new lines"
        );
        assert!(check_line_addition(Void, LineKind::Charge).is_err());
    }

    // ---- issuing and paying ----

    #[test]
    fn issuing_needs_lines_and_a_total() {
        let lines = [charge(input("1", "10"))];
        assert_eq!(check_issue(Draft, 1, &totals(&lines, &[])), Ok(Issued));
        assert_eq!(
            check_issue(Draft, 0, &totals(&[], &[])),
            Err(IssueRefusal::NoLines)
        );
        let free = [charge(LineItemInput {
            discount_percent: Some("100"),
            ..input("1", "10")
        })];
        assert_eq!(
            check_issue(Draft, 1, &totals(&free, &[])),
            Err(IssueRefusal::NothingToCharge)
        );
        assert_eq!(
            check_issue(Paid, 1, &totals(&lines, &[]))
                .unwrap_err()
                .to_string(),
            "cannot go from paid to issued: a paid invoice is final"
        );
    }

    #[test]
    fn payments_parse() {
        let payment = Payment::parse(&PaymentInput {
            amount: "12,50",
            method: "Card",
            reference: Some(" slip 0042 "),
        })
        .unwrap();
        assert_eq!(payment.amount(), money("12.50"));
        assert_eq!(payment.method(), PaymentMethod::Card);
        assert_eq!(payment.reference(), Some("slip 0042"));
        assert!(!format!("{payment:?}").contains("0042"));
        let payment = Payment::parse(&PaymentInput {
            amount: "5",
            method: "cash",
            reference: Some(""),
        })
        .unwrap();
        assert_eq!(payment.reference(), None);

        let err = Payment::parse(&PaymentInput {
            amount: "0",
            method: "bitcoin",
            reference: Some(&"r".repeat(101)),
        })
        .unwrap_err();
        assert_eq!(err.message_for("amount"), Some("must be more than zero"));
        assert!(
            err.message_for("method")
                .unwrap()
                .contains("cash, card, insurance, transfer")
        );
        assert_eq!(
            err.message_for("reference"),
            Some("must be at most 100 characters")
        );
        let err = Payment::parse(&PaymentInput {
            amount: "12.5x",
            method: "cash",
            reference: None,
        })
        .unwrap_err();
        assert!(err.message_for("amount").is_some());
    }

    #[test]
    fn a_payment_cannot_exceed_the_balance() {
        assert_eq!(
            check_payment(Issued, money("25.77"), money("10")),
            Ok(PartiallyPaid)
        );
        assert_eq!(
            check_payment(PartiallyPaid, money("15.77"), money("15.77")),
            Ok(Paid)
        );
        let err = check_payment(Issued, money("25.77"), money("25.78")).unwrap_err();
        assert_eq!(
            err,
            PaymentRefusal::ExceedsBalance {
                balance: money("25.77")
            }
        );
        assert_eq!(
            err.to_string(),
            "the payment is more than the balance of 25.77"
        );
        assert_eq!(
            check_payment(Issued, money("1"), Money::ZERO),
            Err(PaymentRefusal::NotPositive)
        );
        assert_eq!(
            check_payment(Issued, money("1"), money("-1")),
            Err(PaymentRefusal::NotPositive)
        );
    }

    #[test]
    fn only_issued_invoices_take_payments() {
        assert_eq!(
            check_payment(Draft, money("10"), money("1"))
                .unwrap_err()
                .to_string(),
            "a draft invoice cannot take payments: issue it first"
        );
        assert_eq!(
            check_payment(Paid, Money::ZERO, money("1"))
                .unwrap_err()
                .to_string(),
            "a paid invoice cannot take payments: nothing is left to pay"
        );
        assert_eq!(
            check_payment(Void, money("10"), money("1"))
                .unwrap_err()
                .to_string(),
            "a void invoice cannot take payments"
        );
    }

    #[test]
    fn the_status_follows_the_balance() {
        let lines = [charge(input("1", "40"))];
        assert_eq!(status_after_payment(Issued, &totals(&lines, &[])), Issued);
        assert_eq!(
            status_after_payment(Issued, &totals(&lines, &["10"])),
            PartiallyPaid
        );
        assert_eq!(
            status_after_payment(PartiallyPaid, &totals(&lines, &["10", "30"])),
            Paid
        );
        // A correction that settles the rest marks it paid.
        let corrected = [lines[0].clone(), correction("-30", None)];
        assert_eq!(
            status_after_payment(PartiallyPaid, &totals(&corrected, &["10"])),
            Paid
        );
        assert_eq!(status_after_payment(Draft, &totals(&lines, &[])), Draft);
        assert_eq!(status_after_payment(Void, &totals(&lines, &["10"])), Void);
    }

    // ---- price list ----

    #[test]
    fn drug_prices_by_markup_or_fixed() {
        let markup = PriceRule::parse(None, Some("25")).unwrap();
        assert_eq!(markup, PriceRule::Markup(Percent::parse("25").unwrap()));
        assert_eq!(markup.unit_price(Some(money("0.28"))), Ok(money("0.35")));
        // 0.13 × 1.25 = 0.1625 → 0.16; 0.14 × 1.25 = 0.175 → 0.18 (half away from zero).
        assert_eq!(markup.unit_price(Some(money("0.13"))), Ok(money("0.16")));
        assert_eq!(markup.unit_price(Some(money("0.14"))), Ok(money("0.18")));
        assert_eq!(markup.unit_price(None), Err(PriceError::NoCost));
        assert_eq!(
            PriceRule::parse(None, Some("0"))
                .unwrap()
                .unit_price(Some(money("1.23"))),
            Ok(money("1.23"))
        );
        let high = PriceRule::parse(None, Some("1000 %")).unwrap();
        assert_eq!(high.unit_price(Some(money("1.00"))), Ok(money("11.00")));
        assert_eq!(
            high.unit_price(Some(Money::MAX)),
            Err(PriceError::Money(MoneyError::OutOfRange))
        );

        let fixed = PriceRule::parse(Some("4,20"), Some(" ")).unwrap();
        assert_eq!(fixed, PriceRule::Fixed(money("4.20")));
        assert_eq!(fixed.unit_price(None), Ok(money("4.20")));
        assert_eq!(fixed.unit_price(Some(money("100"))), Ok(money("4.20")));
    }

    #[test]
    fn bad_price_rules() {
        let err = PriceRule::parse(Some("1"), Some("10")).unwrap_err();
        assert!(
            err.message_for("markup_percent")
                .unwrap()
                .contains("not both")
        );
        let err = PriceRule::parse(None, None).unwrap_err();
        assert!(err.message_for("fixed_price").is_some());
        let err = PriceRule::parse(None, Some("1001")).unwrap_err();
        assert_eq!(
            err.message_for("markup_percent"),
            Some("must be at most 1000 %")
        );
        let err = PriceRule::parse(Some("-1"), None).unwrap_err();
        assert_eq!(err.message_for("fixed_price"), Some("must not be negative"));
    }
}
