//! End-to-end test in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver, via fantoccini), against a real Carevault server running in this process on
//! a fresh SQLite database seeded with the demo accounts.
//!
//! Every demo account signs in through the sign-in form, sees its role's dashboard and its
//! name, and signs out again; the administrator also opens the system status page, and a
//! wrong password is refused. Then the receptionist registers a patient through the form,
//! finds them with the search box and opens their page, and the doctor sees patients outside
//! their care team by pseudonym only. Then the receptionist books an appointment for John
//! Patient from his page, Dr. Smith's day view shows it, and John sees it among his
//! appointments and cancels it. Then Dr. Smith drafts an encounter for John with a coded
//! diagnosis and a prescription, the nurse adds a treatment note to it while it is open,
//! Dr. Smith signs it, and John sees it in the portal. Last, the doctor's day
//! (`browser/encounter.rs`): from My day to a signed encounter with a coded diagnosis and a
//! prescription in at most four page loads, the allergy warning in view, the form at phone
//! width, and the ICD-10 lookup in a second session without JavaScript. A screenshot of the administrator's dashboard is
//! written to `target/browser-screenshots/admin-dashboard.png` for people to look at.
//!
//! Without `chromium` and `chromedriver` the test is skipped, unless
//! `CAREVAULT_REQUIRE_BROWSER` is set (to anything but `0`), in which case it fails.
//!
//! Passwords are typed into the browser but never printed.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use carevault_service::demo::{DEMO_ACCOUNTS, DemoSeed};
use carevault_service::{ServiceSettings, Services};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use url::Url;

#[path = "browser/encounter.rs"]
mod encounter;
#[path = "browser/nursing.rs"]
mod nursing;

/// How long one wait for the page (a URL, a text) may take.
const WAIT: Duration = Duration::from_secs(15);
/// How long starting chromedriver and opening a browser session may take.
const STARTUP: Duration = Duration::from_secs(60);
/// How long the whole browser workflow may take.
const WORKFLOW: Duration = Duration::from_secs(300);
/// Pause between two polls.
const POLL: Duration = Duration::from_millis(100);

/// Each demo account and the title of the dashboard it must land on.
const EXPECTED_DASHBOARDS: [(&str, &str); 7] = [
    ("admin", "Administrator dashboard"),
    ("drsmith", "Doctor dashboard"),
    ("nurse", "Nurse dashboard"),
    ("reception", "Receptionist dashboard"),
    ("pharma", "Pharmacist dashboard"),
    ("john", "Patient dashboard"),
    ("auditor", "Auditor dashboard"),
];

const DEMO_BANNER: &str = "Demo data — not for real patients";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_accounts_sign_in_and_out_in_headless_chromium() -> anyhow::Result<()> {
    init_test_log();
    let Some(programs) = browser_programs()? else {
        return Ok(());
    };
    println!(
        "browser test: using {} and {}",
        programs.chromium.display(),
        programs.chromedriver.display()
    );

    let server = Server::start().await?;
    println!("browser test: Carevault is serving at {}", server.url);

    let scratch = TempDir::new("browser")?;
    let profile = scratch.path().join("profile");
    std::fs::create_dir_all(&profile)
        .with_context(|| format!("cannot create {}", profile.display()))?;

    let driver = Chromedriver::start(&programs.chromedriver, scratch.path()).await?;
    println!("browser test: chromedriver answers on port {}", driver.port);

    let client = match open_session(&driver, &programs.chromium, &profile).await {
        Ok(client) => client,
        Err(error) => {
            drop(driver);
            server.stop().await;
            return Err(error);
        }
    };

    let outcome = tokio::time::timeout(WORKFLOW, workflow(&client, &server.url)).await;
    // Capture where the browser was before the session ends, for the failure message.
    let last_page = match &outcome {
        Ok(Ok(())) => String::new(),
        _ => describe_page(&client).await,
    };

    // Always end the session (Chromium quits with it), then chromedriver, then the server.
    match tokio::time::timeout(Duration::from_secs(10), client.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("browser test: warning: closing the session failed: {error}"),
        Err(_) => eprintln!("browser test: warning: closing the session timed out"),
    }
    drop(driver);
    server.stop().await;
    drop(scratch);

    match outcome {
        Ok(Ok(())) => {
            println!("browser test: all demo accounts passed");
            Ok(())
        }
        Ok(Err(error)) => Err(error.context(format!("browser workflow failed; {last_page}"))),
        Err(_) => bail!(
            "browser workflow did not finish within {}s; {last_page}",
            WORKFLOW.as_secs()
        ),
    }
}

/// The whole user journey.
/// The in-process server's log lines go to `$CAREVAULT_TEST_LOG_DIR/browser-<pid>.log`, so
/// CI's secret check covers the real sign-in form too.
fn init_test_log() {
    let Some(dir) = std::env::var_os("CAREVAULT_TEST_LOG_DIR") else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = std::path::Path::new(&dir).join(format!("browser-{}.log", std::process::id()));
    if let Ok(file) = std::fs::File::create(path) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                "debug,sqlx=info,sea_orm=info,hyper=info,h2=info,tower=info,fantoccini=info",
            )
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    }
}

async fn workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    ensure!(
        DEMO_ACCOUNTS.len() == EXPECTED_DASHBOARDS.len(),
        "the test expects {} demo accounts, the code defines {}",
        EXPECTED_DASHBOARDS.len(),
        DEMO_ACCOUNTS.len()
    );
    for (username, title) in EXPECTED_DASHBOARDS {
        let (_, password, _, display_name) = DEMO_ACCOUNTS
            .iter()
            .find(|account| account.0 == username)
            .copied()
            .with_context(|| format!("no demo account named {username:?}"))?;

        sign_in(client, base, username, password)
            .await
            .with_context(|| format!("signing in as {username}"))?;
        wait_for_path(client, "/dashboard")
            .await
            .with_context(|| format!("{username} should land on the dashboard after signing in"))?;
        wait_for_text(client, "main h1", title)
            .await
            .with_context(|| format!("{username}'s dashboard title"))?;
        wait_for_text(client, "header .account .name", display_name)
            .await
            .with_context(|| format!("{username}'s name in the page header"))?;
        wait_for_text(client, "main .lead", &format!("Welcome, {display_name}"))
            .await
            .with_context(|| format!("{username}'s greeting"))?;
        wait_for_text(client, ".demo-banner", DEMO_BANNER)
            .await
            .with_context(|| format!("demo banner on {username}'s dashboard"))?;

        if username == "admin" {
            save_screenshot(client, "admin-dashboard.png").await?;
            let link = client
                .find(Locator::XPath(
                    "//nav//a[normalize-space(.)='System status']",
                ))
                .await
                .context("the administrator's menu has no \"System status\" link")?;
            link.click()
                .await
                .context("cannot click \"System status\"")?;
            wait_for_path(client, "/admin/status").await?;
            wait_for_text(client, "main h1", "System status").await?;
            wait_for_text(client, "#backend", "SQLite")
                .await
                .context("the status page should name the SQLite backend")?;
        }

        sign_out(client)
            .await
            .with_context(|| format!("signing out {username}"))?;
        wait_for_path(client, "/login")
            .await
            .with_context(|| format!("{username} should land on /login after signing out"))?;
        wait_for_text(client, "main .notice", "You have signed out.")
            .await
            .with_context(|| format!("sign-out notice for {username}"))?;
        println!("browser test: {username}: signed in, saw \"{title}\", signed out");
    }

    // A wrong password is refused with a message, and no session is opened.
    sign_in(client, base, "admin", "not-the-password")
        .await
        .context("signing in with a wrong password")?;
    wait_for_text(client, "#login-error", "Invalid username or password.")
        .await
        .context("a wrong password should be refused on the sign-in page")?;
    let path = client.current_url().await?.path().to_owned();
    ensure!(
        path == "/login",
        "after a wrong password the browser is at {path}, not /login"
    );
    println!("browser test: wrong password refused");

    patient_workflow(client, base)
        .await
        .context("the patient registry workflow")?;
    scheduling_workflow(client, base)
        .await
        .context("the scheduling workflow")?;
    clinical_workflow(client, base)
        .await
        .context("the clinical workflow")?;
    pharmacy_and_billing_workflow(client, base)
        .await
        .context("the pharmacy and billing workflow")?;
    operations_workflow(client, base)
        .await
        .context("the administrator's operations workflow")?;
    nursing::nursing_workflow(client, base)
        .await
        .context("the nurse's triage workflow")?;
    encounter::encounter_workflow(client, base)
        .await
        .context("the doctor's day to a signed encounter")?;
    Ok(())
}

/// The first weekday at least two days ahead (so that the patient's 24-hour cancel cut-off
/// still allows a cancellation), in the clinic's time zone (UTC, the default).
fn booking_day() -> chrono::NaiveDate {
    use chrono::Datelike;
    let mut day = server_now().date_naive() + chrono::Duration::days(2);
    while matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        day += chrono::Duration::days(1);
    }
    day
}

/// Scheduling: the receptionist books a slot for John Patient from his page; Dr. Smith's
/// day view shows it; John, signed in, sees it among his appointments and cancels it.
async fn scheduling_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    const REASON: &str = "Browser blood pressure check";
    let day = booking_day();
    let start = format!("{day}T10:00");

    sign_in(client, base, "reception", demo_password("reception")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    fill(client, "q", "John Patient").await?;
    client
        .find(Locator::Css("form[role='search'] button[type='submit']"))
        .await
        .context("the search form has no submit button")?
        .click()
        .await
        .context("cannot search")?;
    click_link(client, "//main//table", "John Patient").await?;
    wait_for_text(client, "main h1", "John Patient").await?;
    click_link(client, "//main", "Book appointment").await?;
    wait_for_path(client, "/appointments/new").await?;
    // Choose Dr. Smith, and set the datetime-local value directly (typing follows the
    // browser's locale).
    client
        .execute(
            "const select = document.getElementById('clinician_id');
             const option = Array.from(select.options).find(o => o.text.includes(arguments[0]));
             select.value = option.value;
             document.getElementById('start').value = arguments[1];",
            vec![json!("Dr. Sarah Smith"), json!(start)],
        )
        .await
        .context("cannot choose the clinician and the time")?;
    fill(client, "reason", REASON).await?;
    client
        .find(Locator::XPath(
            "//main//form//button[normalize-space(.)='Book appointment']",
        ))
        .await
        .context("the form has no \"Book appointment\" button")?
        .click()
        .await
        .context("cannot click \"Book appointment\"")?;
    wait_for_text(client, "main .notice", "The appointment has been booked.")
        .await
        .context("the booked appointment's page")?;
    let appointment_path = client.current_url().await?.path().to_owned();
    ensure!(
        appointment_path.starts_with("/appointments/"),
        "after booking, the browser is at {appointment_path}"
    );
    wait_for_text(client, "[data-field='when'] dd", &format!("{day} 10:00")).await?;
    println!("browser test: reception booked {appointment_path} on {day} at 10:00");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Schedule").await?;
    wait_for_path(client, "/schedule").await?;
    let day_view = base.join(&format!("/schedule?date={day}&view=day"))?;
    client.goto(day_view.as_str()).await?;
    wait_for_text(client, "main .schedule-heading", "Dr. Sarah Smith").await?;
    wait_for_text(client, "main .calendar", "10:00–10:15")
        .await
        .context("the doctor's day view shows the appointment")?;
    wait_for_text(client, "main .calendar", "John Patient")
        .await
        .context("the doctor's own patient is shown by name")?;
    println!("browser test: drsmith's day view shows the appointment");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "john", demo_password("john")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "My appointments").await?;
    wait_for_path(client, "/my/appointments").await?;
    wait_for_text(client, "table.upcoming tbody", &format!("{day} 10:00"))
        .await
        .context("the patient sees the appointment")?;
    let id = appointment_path.trim_start_matches("/appointments/");
    fill(client, &format!("reason-{id}"), "Cannot make it").await?;
    client
        .find(Locator::Css(&format!(
            "tr[data-appointment='{id}'] button[data-action='cancelled']"
        )))
        .await
        .context("no cancel button for the appointment")?
        .click()
        .await
        .context("cannot click \"Cancel\"")?;
    wait_for_text(
        client,
        "main .notice",
        "The appointment's status has been changed.",
    )
    .await?;
    wait_for_text(client, "table.past tbody", "Cancelled")
        .await
        .context("the cancelled appointment is listed as cancelled")?;
    wait_for_text(client, "table.past tbody", "Cannot make it").await?;
    println!("browser test: john saw the appointment and cancelled it");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// Clicks the button reading `text` inside `main`.
async fn click_button(client: &Client, text: &str) -> anyhow::Result<()> {
    let xpath = format!("//main//button[normalize-space(.)='{text}']");
    client
        .find(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("no \"{text}\" button"))?
        .click()
        .await
        .with_context(|| format!("cannot click \"{text}\""))?;
    Ok(())
}

/// Clinical records: Dr. Smith opens an encounter for John Patient from his page, with a
/// coded diagnosis, and prescribes from it; the nurse adds a treatment note to the open
/// encounter (notes go to open encounters, so this comes before signing); Dr. Smith signs
/// it; John sees it, with its diagnosis, among his encounters.
async fn clinical_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    const NOTE: &str = "Browser note: dressing changed, patient comfortable";

    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    fill(client, "q", "John Patient").await?;
    client
        .find(Locator::Css("form[role='search'] button[type='submit']"))
        .await
        .context("the search form has no submit button")?
        .click()
        .await
        .context("cannot search")?;
    click_link(client, "//main//table", "John Patient").await?;
    wait_for_text(client, "main h1", "John Patient").await?;
    click_link(client, "//main", "New encounter").await?;
    wait_for_path(client, "/encounters/new").await?;
    fill(client, "chief_complaint", "Thirst and tiredness").await?;
    fill(client, "assessment", "Type 2 diabetes").await?;
    fill(client, "plan", "Start metformin; review in four weeks").await?;
    let code = client
        .find(Locator::Css("input[name='dx0_code']"))
        .await
        .context("no code field in the first diagnosis row")?;
    code.send_keys("E11.9")
        .await
        .context("cannot type the code")?;
    click_button(client, "Save draft").await?;
    wait_for_text(
        client,
        "main .notice",
        "The encounter has been saved as a draft.",
    )
    .await
    .with_context(|| "the new draft's page".to_owned())?;
    let encounter_path = client.current_url().await?.path().to_owned();
    ensure!(
        encounter_path.starts_with("/encounters/"),
        "after saving, the browser is at {encounter_path}"
    );
    // The draft is the form again: the coded row shows the code's title.
    wait_for_text(client, "#dx-diagnoses", "Type 2 diabetes mellitus").await?;
    fill(client, "rx-drug", "Paracetamol").await?;
    fill(client, "rx-dose", "1 g").await?;
    fill(client, "rx-route", "oral").await?;
    fill(client, "rx-frequency", "four times daily").await?;
    fill(client, "rx-duration", "3").await?;
    fill(client, "rx-quantity", "12").await?;
    click_button(client, "Save draft").await?;
    wait_for_text(
        client,
        "main .notice",
        "The encounter has been saved as a draft and the prescription written.",
    )
    .await
    .context("the prescription was not written")?;
    wait_for_text(client, "ul.prescriptions", "Paracetamol").await?;
    println!("browser test: drsmith drafted {encounter_path} with E11.9 and a prescription");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "nurse", demo_password("nurse")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client
        .goto(base.join(&encounter_path)?.as_str())
        .await
        .context("cannot open the encounter")?;
    fill(client, "note-text", NOTE).await?;
    click_button(client, "Add note").await?;
    wait_for_text(client, "main .notice", "The treatment note has been added.").await?;
    wait_for_text(client, "ul.notes", NOTE).await?;
    println!("browser test: the nurse added a treatment note");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client
        .goto(base.join(&encounter_path)?.as_str())
        .await
        .context("cannot open the encounter")?;
    click_button(client, "Sign").await?;
    wait_for_text(client, "main .notice", "The encounter has been signed.").await?;
    wait_for_text(client, "main .toolbar", "Signed").await?;
    println!("browser test: drsmith signed the encounter");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "john", demo_password("john")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "My encounters").await?;
    wait_for_path(client, "/my/encounters").await?;
    wait_for_text(client, "table.encounters tbody", "E11.9")
        .await
        .context("the patient sees the signed encounter's diagnosis")?;
    wait_for_text(client, "table.encounters tbody", "Start metformin").await?;
    wait_for_text(client, "table.encounters tbody", "Dr. Sarah Smith").await?;
    println!("browser test: john sees the encounter in the portal");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// Pharmacy and billing: the pharmacist receives a batch of paracetamol and dispenses the
/// prescription Dr. Smith wrote in the clinical workflow; the dispensing is charged on John's
/// draft invoice, which John sees; reception issues it and records the payment; John then
/// sees it paid.
async fn pharmacy_and_billing_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    sign_in(client, base, "pharma", demo_password("pharma")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Pharmacy").await?;
    wait_for_path(client, "/pharmacy").await?;
    client
        .goto(base.join("/pharmacy/receipts/new")?.as_str())
        .await
        .context("cannot open the receipt form")?;
    client
        .find(Locator::XPath(
            "//select[@id='drug_id']/option[starts-with(normalize-space(.), 'Paracetamol')]",
        ))
        .await
        .context("the receipt form offers no Paracetamol")?
        .click()
        .await
        .context("cannot choose Paracetamol")?;
    fill(client, "supplier", "Browser Wholesale").await?;
    fill(client, "batch_number", "BR-0001").await?;
    let expiry = (server_now().date_naive() + chrono::Days::new(400))
        .format("%Y-%m-%d")
        .to_string();
    // A date input takes keystrokes in the browser's locale order; set the value instead.
    client
        .execute(
            "document.getElementById('expiry').value = arguments[0];",
            vec![serde_json::json!(expiry)],
        )
        .await
        .context("cannot set the expiry date")?;
    fill(client, "quantity", "200").await?;
    fill(client, "unit_cost", "0.05").await?;
    click_button(client, "Receive").await?;
    wait_for_text(client, "main .notice", "The stock has been received.").await?;
    wait_for_text(client, "main", "BR-0001").await?;
    println!("browser test: the pharmacist received batch BR-0001");

    client
        .goto(base.join("/pharmacy/dispensing")?.as_str())
        .await
        .context("cannot open the dispensing queue")?;
    let section = client
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(
            "//section[contains(@class,'dispense-item')]\
             [.//h2[contains(., 'Paracetamol') and contains(., 'John Patient')]]",
        ))
        .await
        .context("the queue has no Paracetamol prescription of John's")?;
    let prescription = section
        .attr("id")
        .await?
        .and_then(|id| id.strip_prefix("prescription-").map(str::to_owned))
        .context("the queue item has no prescription id")?;
    fill(client, &format!("quantity-{prescription}"), "12").await?;
    client
        .find(Locator::Id(&format!("dispense-submit-{prescription}")))
        .await
        .context("no Dispense button")?
        .click()
        .await
        .context("cannot click Dispense")?;
    wait_for_text(client, "main .notice", "Dispensed").await?;
    println!("browser test: the pharmacist dispensed 12 units of {prescription}");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // John sees the new draft bill.
    sign_in(client, base, "john", demo_password("john")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "My bills").await?;
    wait_for_path(client, "/my/bills").await?;
    let draft = client
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::Css("table.invoices tr[data-status='draft']"))
        .await
        .context("John has no draft bill after the dispensing")?;
    let invoice = draft
        .attr("data-invoice")
        .await?
        .context("the row names no invoice")?;
    client
        .goto(base.join(&format!("/invoices/{invoice}"))?.as_str())
        .await?;
    wait_for_text(client, "table.invoice-lines", "Paracetamol").await?;
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // Reception issues it and records the whole balance.
    sign_in(client, base, "reception", demo_password("reception")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Billing").await?;
    wait_for_path(client, "/billing").await?;
    client
        .goto(base.join(&format!("/invoices/{invoice}"))?.as_str())
        .await?;
    click_button(client, "Issue the invoice").await?;
    wait_for_text(client, "main .notice", "The invoice has been issued.").await?;
    let balance = client
        .find(Locator::Id("invoice-balance"))
        .await?
        .text()
        .await?;
    let amount = balance
        .split_whitespace()
        .next()
        .context("no balance shown")?
        .to_owned();
    fill(client, "amount", &amount).await?;
    fill(client, "reference", "browser till 1").await?;
    click_button(client, "Record the payment").await?;
    wait_for_text(client, "main .notice", "The payment has been recorded.").await?;
    wait_for_text(client, "#invoice-status", "Paid").await?;
    println!("browser test: reception issued {invoice} and recorded {amount}");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // John sees it paid.
    sign_in(client, base, "john", demo_password("john")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "My bills").await?;
    wait_for_path(client, "/my/bills").await?;
    wait_for_text(
        client,
        &format!("table.invoices tr[data-invoice='{invoice}']"),
        "Paid",
    )
    .await
    .context("John's bill shows as paid")?;
    println!("browser test: john sees the bill paid");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// The patient registry: the receptionist registers a patient through the form, finds them
/// with the search box and opens their page; Dr. Smith, not on that patient's care team,
/// sees a pseudonym (`ANON_…`) in the list instead of the name.
async fn patient_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    const GIVEN: &str = "Wilhelmina";
    const FAMILY: &str = "Browserfield";
    const PHONE: &str = "+44 7700 900888";
    let full_name = format!("{GIVEN} {FAMILY}");

    sign_in(client, base, "reception", demo_password("reception")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    click_link(client, "//main", "Register a patient").await?;
    wait_for_path(client, "/patients/new").await?;
    fill(client, "given_name", GIVEN).await?;
    fill(client, "family_name", FAMILY).await?;
    // A date input's typing order follows the browser's locale; set the value directly.
    client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!("date_of_birth"), json!("1984-05-06")],
        )
        .await
        .context("cannot set the date of birth")?;
    client
        .find(Locator::Id("sex"))
        .await
        .context("no #sex select")?
        .select_by_value("female")
        .await
        .context("cannot choose the sex")?;
    fill(client, "phone", PHONE).await?;
    client
        .find(Locator::XPath(
            "//main//form//button[normalize-space(.)='Register']",
        ))
        .await
        .context("the form has no \"Register\" button")?
        .click()
        .await
        .context("cannot click \"Register\"")?;
    wait_for_text(client, "main h1", &full_name)
        .await
        .context("the new patient's page")?;
    wait_for_text(client, "main .notice", "The patient has been registered.").await?;
    let record_path = client.current_url().await?.path().to_owned();
    ensure!(
        record_path.starts_with("/patients/"),
        "after registering, the browser is at {record_path}"
    );
    println!("browser test: reception registered a patient at {record_path}");

    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    fill(client, "q", FAMILY).await?;
    client
        .find(Locator::Css("form[role='search'] button[type='submit']"))
        .await
        .context("the search form has no submit button")?
        .click()
        .await
        .context("cannot search")?;
    wait_for_text(
        client,
        "main table caption",
        "Patients matching your search",
    )
    .await?;
    click_link(client, "//main//table", &full_name).await?;
    wait_for_path(client, &record_path).await?;
    wait_for_text(client, "main h1", &full_name).await?;
    wait_for_text(client, "[data-field='phone'] dd", PHONE)
        .await
        .context("the receptionist sees the phone number")?;
    println!("browser test: reception found the patient by name and opened the record");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    wait_for_text(client, "main table tbody", "ANON_")
        .await
        .context("the doctor sees pseudonyms for patients outside the care team")?;
    let listed = client
        .find(Locator::Css("main table tbody"))
        .await?
        .text()
        .await?;
    ensure!(
        !listed.contains(FAMILY),
        "the doctor's list shows the name of a patient outside the care team"
    );
    println!("browser test: drsmith sees ANON_ pseudonyms in the patient list");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// The administrator's operations: the dashboard draws its charts, and "Back up now" writes a
/// backup whose restore drill passes; then a patient withdraws a consent in the portal.
async fn operations_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    sign_in(client, base, "admin", demo_password("admin")?).await?;
    wait_for_path(client, "/dashboard").await?;
    let charts = client
        .find_all(Locator::Css("main svg[role='img'] rect[data-value]"))
        .await
        .context("cannot look for chart bars")?;
    ensure!(
        !charts.is_empty(),
        "the admin dashboard draws no chart bars"
    );
    println!(
        "browser test: admin dashboard draws {} chart bars",
        charts.len()
    );
    client.goto(base.join("/admin/backups")?.as_str()).await?;
    wait_for_path(client, "/admin/backups").await?;
    click_button(client, "Back up now").await?;
    wait_for_text(client, "#restore-drill", "passed")
        .await
        .context("the backup's restore drill")?;
    wait_for_text(client, "#backup-files", ".cvbak").await?;
    println!("browser test: admin backed up now and the restore drill passed");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // John withdraws his consent to appointment reminders in the portal.
    sign_in(client, base, "john", demo_password("john")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Consents and my data").await?;
    wait_for_path(client, "/my/consents").await?;
    client
        .find(Locator::Css(
            "tr[data-purpose='appointment_reminders'] button[type='submit']",
        ))
        .await
        .context("no button for the reminders consent")?
        .click()
        .await
        .context("cannot withdraw the reminders consent")?;
    wait_for_text(client, "main .notice", "The consent has been recorded.").await?;
    wait_for_text(
        client,
        "tr[data-purpose='appointment_reminders']",
        "withdrawn",
    )
    .await?;
    wait_for_text(client, "table.consent-history tbody", "withdrawn").await?;
    println!("browser test: john withdrew his consent to reminders");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// The demo password of `username`.
fn demo_password(username: &str) -> anyhow::Result<&'static str> {
    DEMO_ACCOUNTS
        .iter()
        .find(|account| account.0 == username)
        .map(|account| account.1)
        .with_context(|| format!("no demo account named {username:?}"))
}

/// Clicks the link reading `text` inside the element at XPath `within`.
async fn click_link(client: &Client, within: &str, text: &str) -> anyhow::Result<()> {
    let xpath = format!("{within}//a[normalize-space(.)='{text}']");
    client
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("no \"{text}\" link in {within}"))?
        .click()
        .await
        .with_context(|| format!("cannot click \"{text}\""))?;
    Ok(())
}

/// Opens the sign-in page, checks the demo banner, fills in the form and submits it.
async fn sign_in(
    client: &Client,
    base: &Url,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    let login = base.join("/login")?;
    client
        .goto(login.as_str())
        .await
        .with_context(|| format!("cannot open {login}"))?;
    wait_for_path(client, "/login").await?;
    wait_for_text(client, ".demo-banner", DEMO_BANNER)
        .await
        .context("the sign-in page should show the demo banner")?;
    fill(client, "username", username).await?;
    fill(client, "password", password).await?;
    client
        .find(Locator::Css("main form button[type='submit']"))
        .await
        .context("the sign-in page has no submit button")?
        .click()
        .await
        .context("cannot click \"Sign in\"")?;
    Ok(())
}

/// Types `value` into the input with id `id`, replacing what it held.
async fn fill(client: &Client, id: &str, value: &str) -> anyhow::Result<()> {
    let input = client
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::Id(id))
        .await
        .with_context(|| format!("no #{id} field on the page"))?;
    input
        .clear()
        .await
        .with_context(|| format!("cannot clear #{id}"))?;
    input
        .send_keys(value)
        .await
        .with_context(|| format!("cannot type into #{id}"))?;
    Ok(())
}

/// Clicks the "Sign out" button in the page header.
async fn sign_out(client: &Client) -> anyhow::Result<()> {
    client
        .find(Locator::XPath(
            "//header//form[@action='/logout']//button[normalize-space(.)='Sign out']",
        ))
        .await
        .context("the page has no \"Sign out\" button")?
        .click()
        .await
        .context("cannot click \"Sign out\"")?;
    Ok(())
}

/// Polls `check` until it succeeds or [`WAIT`] has passed; `check` returns `Err` with what it
/// saw instead, which the timeout message repeats.
async fn poll<T>(
    what: &str,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(seen) if Instant::now() >= deadline => {
                bail!(
                    "timed out after {}s waiting for {what}; {seen}",
                    WAIT.as_secs()
                )
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

async fn wait_for_path(client: &Client, path: &str) -> anyhow::Result<()> {
    poll(
        &format!("the browser to reach {path}"),
        async || match client.current_url().await {
            Ok(url) if url.path() == path => Ok(()),
            Ok(url) => Err(format!("the browser is at {url}")),
            Err(error) => Err(format!("cannot read the URL: {error}")),
        },
    )
    .await
}

async fn wait_for_text(client: &Client, css: &str, needle: &str) -> anyhow::Result<()> {
    poll(&format!("{css:?} to contain {needle:?}"), async || {
        let element = client
            .find(Locator::Css(css))
            .await
            .map_err(|error| format!("no {css:?} element ({error})"))?;
        let text = element
            .text()
            .await
            .map_err(|error| format!("cannot read {css:?} ({error})"))?;
        if text.contains(needle) {
            Ok(())
        } else {
            Err(format!("{css:?} reads {text:?}"))
        }
    })
    .await
}

/// Where the browser is and what its main heading says, for failure messages.
async fn describe_page(client: &Client) -> String {
    let url = match client.current_url().await {
        Ok(url) => url.to_string(),
        Err(error) => format!("<unknown: {error}>"),
    };
    let heading = match client.find(Locator::Css("h1")).await {
        Ok(h1) => h1.text().await.unwrap_or_default(),
        Err(_) => "<none>".to_owned(),
    };
    let alert = match client.find(Locator::Css("[role='alert']")).await {
        Ok(alert) => format!(" and message {:?}", alert.text().await.unwrap_or_default()),
        Err(_) => String::new(),
    };
    format!("the browser was at {url} with heading {heading:?}{alert}")
}

/// Writes a PNG of the current page to `target/browser-screenshots/<name>`.
async fn save_screenshot(client: &Client, name: &str) -> anyhow::Result<()> {
    let png = client
        .screenshot()
        .await
        .context("cannot take a screenshot")?;
    ensure!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, &png).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "browser test: screenshot saved to {} ({} bytes)",
        path.display(),
        png.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The browser and its driver.
// ---------------------------------------------------------------------------------------

struct BrowserPrograms {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// Finds Chromium and chromedriver, or says why the test is skipped (or fails, when the
/// browser is required).
fn browser_programs() -> anyhow::Result<Option<BrowserPrograms>> {
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    if let (Some(chromium), Some(chromedriver)) = (&chromium, &chromedriver) {
        return Ok(Some(BrowserPrograms {
            chromium: chromium.clone(),
            chromedriver: chromedriver.clone(),
        }));
    }
    let missing: Vec<&str> = [("chromium", &chromium), ("chromedriver", &chromedriver)]
        .into_iter()
        .filter(|(_, found)| found.is_none())
        .map(|(name, _)| name)
        .collect();
    let missing = missing.join(" and ");
    let required =
        std::env::var("CAREVAULT_REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0");
    if required {
        bail!(
            "CAREVAULT_REQUIRE_BROWSER is set but {missing} cannot be found (looked in /usr/bin and \
             on PATH); install them (Debian: apt-get install chromium chromium-driver)"
        );
    }
    println!(
        "browser test SKIPPED: {missing} not found in /usr/bin or on PATH \
         (set CAREVAULT_REQUIRE_BROWSER=1 to make this a failure)"
    );
    Ok(None)
}

fn find_program(name: &str) -> Option<PathBuf> {
    let usr_bin = Path::new("/usr/bin").join(name);
    if is_executable(&usr_bin) {
        return Some(usr_bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// A chromedriver process this test started; killed (with the browser it started) on drop,
/// also when the test fails or panics.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it answers. Writes its
    /// output to `log_dir` (only its start-up lines: commands are not logged at this level).
    async fn start(program: &Path, log_dir: &Path) -> anyhow::Result<Self> {
        let mut last_error = None;
        // A port found free can be taken before chromedriver binds it: try a few.
        for attempt in 1..=3 {
            let port = free_port()?;
            let log_path = log_dir.join(format!("chromedriver-{attempt}.log"));
            let log = File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let mut command = Command::new(program);
            command
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            #[cfg(unix)]
            {
                // Its own process group, so the browser it starts can be ended with it.
                use std::os::unix::process::CommandExt;
                command.process_group(0);
            }
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {}", program.display()))?;
            let mut driver = Chromedriver { child, port };
            match driver.wait_until_ready(&log_path).await {
                Ok(()) => return Ok(driver),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("chromedriver did not start"))
            .context("cannot start chromedriver"))
    }

    async fn wait_until_ready(&mut self, log_path: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let output = std::fs::read_to_string(log_path).unwrap_or_default();
                bail!(
                    "chromedriver exited ({status}) before answering on port {}; its output:\n{}",
                    self.port,
                    output.trim()
                );
            }
            if chromedriver_ready(self.port).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver did not answer on 127.0.0.1:{} within {}s",
                    self.port,
                    STARTUP.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The group id is chromedriver's pid; chromedriver is not reaped until the end
            // of this function, so the id cannot have been reused by another process.
            let group = format!("-{}", self.child.id());
            let signal = |name: &str| {
                let _ = Command::new("kill")
                    .args([name, "--", group.as_str()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            };
            signal("-TERM");
            std::thread::sleep(Duration::from_millis(300));
            signal("-KILL");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether chromedriver's `/status` says it is ready for a session.
async fn chromedriver_ready(port: u16) -> bool {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(
                format!(
                    "GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await?;
        // chromedriver may keep the connection open: read until the answer is complete
        // enough to judge, or until it closes.
        let mut response = Vec::new();
        let mut chunk = [0_u8; 4096];
        loop {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&response);
            if text.contains("\"ready\":true") || text.contains("\"ready\":false") {
                break;
            }
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&response).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(2), request).await {
        Ok(Ok(response)) => {
            response.starts_with("HTTP/1.1 200") && response.contains("\"ready\":true")
        }
        _ => false,
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Opens a WebDriver session: headless Chromium with a fresh profile.
async fn open_session(
    driver: &Chromedriver,
    chromium: &Path,
    profile: &Path,
) -> anyhow::Result<Client> {
    let mut capabilities = Capabilities::new();
    capabilities.insert("pageLoadStrategy".into(), json!("normal"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = tokio::time::timeout(
        STARTUP,
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url()),
    )
    .await
    .with_context(|| {
        format!(
            "chromedriver did not open a Chromium session within {}s",
            STARTUP.as_secs()
        )
    })?
    .context("chromedriver could not start Chromium")?;
    let timeouts = TimeoutConfiguration::new(
        Some(Duration::from_secs(10)),
        Some(Duration::from_secs(20)),
        Some(Duration::ZERO),
    );
    if let Err(error) = client.update_timeouts(timeouts).await {
        let _ = client.close().await;
        return Err(anyhow::Error::new(error).context("cannot set the WebDriver timeouts"));
    }
    Ok(client)
}

// ---------------------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------------------

/// A Carevault server on a loopback port, on a fresh demo database.
/// The server's clock: the real time moved so that the run starts at 10:00 UTC today,
/// whatever the hour CI starts it. The workflows book visits for today and check them in
/// (a visit is checked in on its own day only), which a run near midnight could not do;
/// with this clock none of them has to skip itself. Cookies carry `Max-Age`, never a date,
/// so the browser's own clock does not matter.
#[derive(Debug)]
struct DaytimeClock;

/// How far [`DaytimeClock`] is from the real time (fixed at the first call).
fn clock_offset() -> chrono::Duration {
    static OFFSET: std::sync::OnceLock<chrono::Duration> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let now = chrono::Utc::now();
        let ten = now
            .date_naive()
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default()
            .and_utc();
        ten - now
    })
}

/// Now, as the server under test sees it (see [`DaytimeClock`]).
fn server_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + clock_offset()
}

impl carevault_service::clock::Clock for DaytimeClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        server_now()
    }
}

struct Server {
    url: Url,
    services: Services,
    task: JoinHandle<()>,
    _data: TempDir,
}

impl Server {
    async fn start() -> anyhow::Result<Self> {
        let data = TempDir::new("data")?;
        let database_url = format!("sqlite://{}/carevault.db", data.path().display());
        let store = Store::connect(&database_url, &ConnectSettings::default()).await?;
        store
            .migrate()
            .await
            .context("cannot apply the migrations")?;
        let services = Services::new(
            store,
            Arc::new(DaytimeClock),
            ServiceSettings {
                backup: carevault_service::backup::BackupSettings {
                    dir: Some(data.path().join("backups")),
                    keep: 3,
                    interval: None,
                },
                data_dir: Some(data.path().to_owned()),
                ..ServiceSettings::default()
            },
            carevault_service::AuditSettings::ephemeral()?,
            carevault_crypto::keyring::KeyRing::from_master_key(
                &carevault_crypto::random_bytes::<32>(),
            )?,
        );
        let seeded = services
            .seed_demo()
            .await
            .context("cannot create the demo accounts")?;
        ensure!(
            seeded == DemoSeed::Created,
            "seeding the demo accounts on a fresh database answered {seeded:?}"
        );

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1")?;
        let address = listener.local_addr()?;
        let url = Url::parse(&format!("http://{address}/"))?;
        let state = AppState::new(
            services.clone(),
            WebSettings {
                insecure_cookies: true,
                demo: true,
                ..WebSettings::new(url.clone())
            },
        );
        let app = carevault_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("browser test: the server stopped: {error}");
            }
        });
        Ok(Self {
            url,
            services,
            task,
            _data: data,
        })
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.services.close().await;
    }
}

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> anyhow::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "carevault-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
