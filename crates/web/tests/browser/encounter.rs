//! The doctor's day in the browser: reception books John Patient with Dr. Smith for today
//! and checks him in (the administrator first opens Dr. Smith's hours to every day, as the
//! demo may start on a weekend); Dr. Smith goes from My day to a signed encounter — every
//! text typed, a diagnosis picked from the ICD-10 type-ahead with the keyboard, vitals, and
//! amoxicillin despite John's penicillin allergy, whose warning is in the viewport and
//! focused right after submitting — in at most four page loads, and every word typed is on
//! the signed encounter; the form is usable at phone width (no horizontal scroll). Then, in
//! a second browser session with JavaScript disabled, the ICD-10 lookup and "Use …" keep
//! every field typed.

use anyhow::{Context, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use url::Url;

use super::{
    Chromedriver, STARTUP, TempDir, browser_programs, click_button, demo_password, fill, poll,
    sign_in, sign_out, wait_for_path, wait_for_text,
};

const ARROW_DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";

/// What the doctor types into the texts: (field id, text). Every word must come back.
const TEXTS: [(&str, &str); 5] = [
    ("chief_complaint", "Vomiting since Friday Brzcomplaint"),
    ("history", "Three days of loose stools Brzhistory"),
    ("examination", "Dry mucosa tachycardic Brzexamination"),
    ("assessment", "Infectious gastroenteritis Brzassessment"),
    ("plan", "Oral fluids review tomorrow Brzplan"),
];
const INSTRUCTIONS: &str = "After food Brzinstructions";
const REASON: &str = "Childhood rash only Brzreason";

pub(super) async fn encounter_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    // Today on the server's clock (`DaytimeClock`: the run starts at 10:00), on the 5-minute
    // grid, three and a half hours ahead: after the demo's day for Dr. Smith and the nursing
    // workflow's visit.
    let now = super::server_now();
    let minutes = now.timestamp().div_euclid(60) + 210;
    let slot =
        chrono::DateTime::from_timestamp((minutes + (5 - minutes.rem_euclid(5)) % 5) * 60, 0)
            .context("a time")?;
    if slot.date_naive() != now.date_naive() || slot.format("%H:%M").to_string().as_str() > "23:30"
    {
        bail!("no slot left today on the server's clock: DaytimeClock should prevent this");
    }
    let start = slot.format("%Y-%m-%dT%H:%M").to_string();

    // The administrator: Dr. Smith works every day, whatever day the test runs.
    sign_in(client, base, "admin", demo_password("admin")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client.goto(base.join("/staff")?.as_str()).await?;
    client
        .find(Locator::XPath(
            "//tr[.//code[normalize-space(.)='drsmith']]//a[contains(@href, '/edit')]",
        ))
        .await
        .context("no edit link for Dr. Smith")?
        .click()
        .await?;
    fill(client, "working_hours", "mon-sun 00:00-23:55").await?;
    click_button(client, "Save").await?;
    wait_for_path(client, "/staff").await?;
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // Reception books John with Dr. Smith for today and checks him in at the desk.
    sign_in(client, base, "reception", demo_password("reception")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client
        .goto(base.join("/patients?q=John+Patient")?.as_str())
        .await?;
    super::click_link(client, "//main//table", "John Patient").await?;
    wait_for_text(client, "main h1", "John Patient").await?;
    let john = client
        .current_url()
        .await?
        .path()
        .trim_start_matches("/patients/")
        .to_owned();
    super::click_link(client, "//main", "Book appointment").await?;
    wait_for_path(client, "/appointments/new").await?;
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
    fill(client, "reason", "Vomiting").await?;
    client
        .find(Locator::XPath(
            "//main//form//button[normalize-space(.)='Book appointment']",
        ))
        .await?
        .click()
        .await?;
    wait_for_text(client, "main .notice", "The appointment has been booked.").await?;
    let appointment = client
        .current_url()
        .await?
        .path()
        .trim_start_matches("/appointments/")
        .to_owned();
    client.goto(base.join("/desk")?.as_str()).await?;
    client
        .find(Locator::Css(&format!(
            "tr[data-appointment='{appointment}'] button[data-action='checked_in']"
        )))
        .await
        .context("no check-in button on the desk")?
        .click()
        .await?;
    wait_for_text(client, "main .notice", "status has been changed").await?;
    println!("browser test: reception booked and checked in John for {start}");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // Dr. Smith: from My day to a signed encounter.
    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    // A fresh tab, so that its history counts this path's page loads alone.
    let first = client.window().await?;
    let tab = client.new_window(true).await?;
    client.switch_to_window(tab.handle).await?;
    client.goto(base.join("/my/day")?.as_str()).await?;
    wait_for_path(client, "/my/day").await?;
    let mut loads = PageLoads::start(client).await?; // 1: My day
    let row = format!("tr[data-appointment='{appointment}']");
    let chart = client
        .find(Locator::Css(&format!("{row} a[data-chart]")))
        .await
        .context("the row does not link to the chart")?
        .attr("href")
        .await?;
    ensure!(
        chart.as_deref() == Some(format!("/patients/{john}").as_str()),
        "chart link {chart:?}"
    );
    client
        .find(Locator::Css(&format!(
            "{row} button[data-action='start-encounter']"
        )))
        .await
        .context("no Start button on My day")?
        .click()
        .await?;
    wait_for_text(client, "main h1", "Encounter: John Patient").await?;
    loads.next(client).await?; // 2: the encounter's form
    let encounter = client.current_url().await?.path().to_owned();
    wait_for_text(client, "[data-appointment]", "General Medicine").await?;
    for (id, text) in TEXTS {
        fill(client, id, text).await?;
    }
    pick_from_type_ahead(client).await?;
    fill(client, "vital-temperature_c", "38.6").await?;
    fill(client, "vital-pulse_bpm", "104").await?;
    for (id, value) in [
        ("rx-drug", "Amoxicillin"),
        ("rx-dose", "500 mg"),
        ("rx-route", "oral"),
        ("rx-frequency", "three times daily"),
        ("rx-duration", "7"),
        ("rx-quantity", "21"),
        ("rx-instructions", INSTRUCTIONS),
    ] {
        fill(client, id, value).await?;
    }
    let complete = client
        .find(Locator::Css("input[name='complete_appointment']"))
        .await
        .context("completing the appointment is not offered")?;
    ensure!(
        complete.prop("checked").await?.as_deref() == Some("true"),
        "completing the appointment is not ticked"
    );
    click_button(client, "Sign").await?;

    // 3: the allergy warning, in the viewport and focused, naming the allergy and the drug.
    let warning = poll("the prescription warning", async || {
        client
            .find(Locator::Id("prescription-warnings"))
            .await
            .map_err(|e| format!("no warning yet ({e})"))
    })
    .await?;
    loads.next(client).await?;
    let seen = client
        .execute(
            "const box = document.getElementById('prescription-warnings');
             const rect = box.getBoundingClientRect();
             return { top: rect.top, bottom: rect.bottom, height: window.innerHeight,
                      focused: document.activeElement === box };",
            vec![],
        )
        .await?;
    let top = seen["top"].as_f64().unwrap_or(-1.0);
    let bottom = seen["bottom"].as_f64().unwrap_or(f64::MAX);
    let height = seen["height"].as_f64().unwrap_or(0.0);
    ensure!(
        top >= 0.0 && bottom <= height,
        "the warning is not inside the viewport: {seen}"
    );
    ensure!(
        seen["focused"] == json!(true),
        "the warning is not focused: {seen}"
    );
    let text = warning.text().await?;
    ensure!(
        text.contains("Amoxicillin") && text.contains("Penicillin"),
        "the warning does not name the drug and the allergy: {text:?}"
    );
    fill(client, "rx-acknowledgement", REASON).await?;
    click_button(client, "Prescribe anyway and sign").await?;

    // 4: the signed encounter, with every word typed.
    wait_for_text(
        client,
        "main .notice",
        "signed and the appointment completed",
    )
    .await?;
    loads.next(client).await?;
    loads.at_most(4)?;
    wait_for_text(client, "main .toolbar", "Signed").await?;
    let main = client.find(Locator::Css("main")).await?.text().await?;
    for (id, text) in TEXTS {
        for word in text.split_whitespace() {
            ensure!(
                main.contains(word),
                "{id}: {word:?} is not on the signed encounter"
            );
        }
    }
    for needle in ["A09", "Amoxicillin", INSTRUCTIONS, REASON, "38.6", "104"] {
        ensure!(
            main.contains(needle),
            "{needle:?} is not on the signed encounter"
        );
    }
    println!(
        "browser test: drsmith went from My day to a signed encounter in {} page loads",
        loads.count
    );
    client.close_window().await?;
    client.switch_to_window(first).await?;

    // At phone width the form is usable: nothing wider than the screen.
    client.set_window_size(390, 844).await?;
    for path in [format!("/encounters/new?patient={john}"), encounter.clone()] {
        client.goto(base.join(&path)?.as_str()).await?;
        wait_for_text(client, "main h1", "ncounter").await?;
        let widths = client
            .execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                vec![],
            )
            .await?;
        ensure!(
            widths[0].as_f64() <= widths[1].as_f64(),
            "{path} scrolls sideways at 390 px: {widths}"
        );
    }
    client.set_window_size(1280, 900).await?;
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    pharmacist_sees_the_allergy_and_the_override(client, base).await?;

    // Without JavaScript: the lookup keeps every field.
    without_scripts(base, &john).await
}

/// The pharmacist's queue: the amoxicillin just prescribed to John shows his penicillin
/// allergy and the prescriber's reason for going ahead, before the dispensing form.
async fn pharmacist_sees_the_allergy_and_the_override(
    client: &Client,
    base: &Url,
) -> anyhow::Result<()> {
    sign_in(client, base, "pharma", demo_password("pharma")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client
        .goto(base.join("/pharmacy/dispensing?q=Amoxicillin")?.as_str())
        .await?;
    wait_for_text(client, "main", "John Patient").await?;
    let item = client
        .find(Locator::XPath(
            "//section[contains(@class, 'dispense-item')][.//*[contains(., 'John Patient')]]\
             [.//*[@data-field='override_reason']]",
        ))
        .await
        .context("no queued prescription of John's with an override")?;
    let allergies = item
        .find(Locator::Css("[data-field='allergies']"))
        .await?
        .text()
        .await?;
    ensure!(
        allergies.contains("Penicillin"),
        "the queue does not show John's allergy: {allergies:?}"
    );
    let reason = item
        .find(Locator::Css("[data-field='override_reason']"))
        .await?
        .text()
        .await?;
    ensure!(
        reason.contains(REASON),
        "the queue does not show the override reason: {reason:?}"
    );
    let text = item.text().await?;
    ensure!(
        text.contains("Amoxicillin") && text.contains("Dr. Sarah Smith"),
        "the drug and the prescriber: {text:?}"
    );
    println!("browser test: the pharmacist saw John's allergy and the override reason");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}

/// Types words into the first diagnosis row's code field and picks A09 from the list with
/// the keyboard (arrows, Enter).
async fn pick_from_type_ahead(client: &Client) -> anyhow::Result<()> {
    let code = client.find(Locator::Id("dx0-code")).await?;
    code.send_keys("gastroenteritis").await?;
    poll("the type-ahead's A09", async || {
        client
            .find(Locator::Css(
                "#dx0-code-listbox [role='option'][data-code='A09']",
            ))
            .await
            .map_err(|e| format!("not listed yet ({e})"))
    })
    .await?;
    ensure!(
        code.attr("aria-expanded").await?.as_deref() == Some("true"),
        "the list is open but the field does not say so"
    );
    for _ in 0..10 {
        code.send_keys(ARROW_DOWN).await?;
        let active = code
            .attr("aria-activedescendant")
            .await?
            .unwrap_or_default();
        let option = client.find(Locator::Id(&active)).await?;
        if option.attr("data-code").await?.as_deref() == Some("A09") {
            code.send_keys(ENTER).await?;
            let value = code.prop("value").await?.unwrap_or_default();
            ensure!(value == "A09", "the code field reads {value:?}");
            wait_for_text(client, "#dx0-title", "Infectious gastroenteritis").await?;
            return Ok(());
        }
    }
    bail!("A09 could not be reached with the arrow keys")
}

/// Counts page loads: each new document has a new time origin, and adds one history entry.
struct PageLoads {
    count: u32,
    origin: f64,
    history: i64,
}

impl PageLoads {
    async fn start(client: &Client) -> anyhow::Result<Self> {
        let (origin, history) = Self::read(client).await?;
        Ok(Self {
            count: 1,
            origin,
            history,
        })
    }

    async fn read(client: &Client) -> anyhow::Result<(f64, i64)> {
        let seen = client
            .execute("return [performance.timeOrigin, history.length];", vec![])
            .await?;
        Ok((
            seen[0].as_f64().context("no time origin")?,
            seen[1].as_i64().context("no history length")?,
        ))
    }

    /// One more page load (and only one) since the last.
    async fn next(&mut self, client: &Client) -> anyhow::Result<()> {
        let (origin, history) = Self::read(client).await?;
        ensure!(origin != self.origin, "no new page was loaded");
        ensure!(
            history == self.history + 1,
            "{} page loads instead of one (history {} → {history})",
            history - self.history,
            self.history
        );
        self.count += 1;
        self.origin = origin;
        self.history = history;
        Ok(())
    }

    fn at_most(&self, limit: u32) -> anyhow::Result<()> {
        ensure!(
            self.count <= limit,
            "{} page loads, more than {limit}",
            self.count
        );
        Ok(())
    }
}

/// A second session, with JavaScript disabled by the browser's content setting: the
/// lookup and "Use …" are buttons of the form, and every field comes back.
async fn without_scripts(base: &Url, john: &str) -> anyhow::Result<()> {
    let Some(programs) = browser_programs()? else {
        bail!("the browser programs disappeared");
    };
    let scratch = TempDir::new("browser-noscript")?;
    let profile = scratch.path().join("profile");
    std::fs::create_dir_all(&profile)?;
    let driver = Chromedriver::start(&programs.chromedriver, scratch.path()).await?;
    let client = open_without_scripts(&driver, &programs.chromium, &profile).await?;
    let outcome = lookup_without_scripts(&client, base, john).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.close()).await;
    drop(driver);
    drop(scratch);
    outcome
}

async fn open_without_scripts(
    driver: &Chromedriver,
    chromium: &std::path::Path,
    profile: &std::path::Path,
) -> anyhow::Result<Client> {
    let mut capabilities = fantoccini::wd::Capabilities::new();
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
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "profile.managed_default_content_settings.javascript": 2 },
        }),
    );
    tokio::time::timeout(
        STARTUP,
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url()),
    )
    .await
    .context("chromedriver did not open the second session in time")?
    .context("chromedriver could not start the second session")
}

async fn lookup_without_scripts(client: &Client, base: &Url, john: &str) -> anyhow::Result<()> {
    sign_in(client, base, "drsmith", demo_password("drsmith")?).await?;
    wait_for_path(client, "/dashboard").await?;
    client
        .goto(
            base.join(&format!("/encounters/new?patient={john}"))?
                .as_str(),
        )
        .await?;
    wait_for_text(client, "main h1", "New encounter").await?;
    // The script did not run: the code fields are plain inputs.
    let code = client.find(Locator::Id("dx0-code")).await?;
    ensure!(
        code.attr("role").await?.is_none(),
        "the script ran although JavaScript is disabled"
    );
    let typed = [
        ("chief_complaint", "Headache Nsxcomplaint"),
        ("plan", "Rest Nsxplan"),
        ("vital-pulse_bpm", "88"),
        ("rx-drug", "Paracetamol"),
        ("dx0-text", "Tension Nsxdiagnosis"),
    ];
    for (id, value) in typed {
        fill(client, id, value).await?;
    }
    client
        .find(Locator::Css("input[name='dx0_free']"))
        .await?
        .click()
        .await?;
    fill(client, "dx-icd10", "infectious gastroenteritis").await?;
    click_button(client, "Look up").await?;
    wait_for_text(client, "#dx-lookup", "Use A09").await?;
    for (id, value) in typed {
        let kept = client.find(Locator::Id(id)).await?.prop("value").await?;
        ensure!(
            kept.as_deref() == Some(value),
            "#{id} reads {kept:?} after the lookup"
        );
    }
    client
        .find(Locator::Css("button[value='use:A09']"))
        .await
        .context("the result cannot be used")?
        .click()
        .await?;
    poll("A09 in the first empty row", async || {
        let value = client
            .find(Locator::Id("dx1-code"))
            .await
            .map_err(|e| e.to_string())?
            .prop("value")
            .await
            .map_err(|e| e.to_string())?;
        if value.as_deref() == Some("A09") {
            Ok(())
        } else {
            Err(format!("the second row reads {value:?}"))
        }
    })
    .await?;
    for (id, value) in typed {
        let kept = client.find(Locator::Id(id)).await?.prop("value").await?;
        ensure!(
            kept.as_deref() == Some(value),
            "#{id} reads {kept:?} after using a code"
        );
    }
    println!("browser test: without JavaScript, the lookup kept every field");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}
