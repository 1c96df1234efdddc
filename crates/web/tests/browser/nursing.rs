//! A nurse triages a checked-in patient with no doctor involved: the administrator lets
//! Dr. Smith work every day around the clock (so that a visit can be booked for today,
//! whenever the test runs), reception registers a patient, books a visit with Dr. Smith a
//! few minutes from now and checks the patient in through the appointment page; the nurse
//! finds the patient under "My patients" (by department, not the care team), opens the
//! triage form, records the acuity, vitals and a note, and sees the abnormal values flagged
//! on the appointment. Dr. Smith never signs in.

use anyhow::{Context, ensure};
use fantoccini::{Client, Locator};
use serde_json::json;
use url::Url;

use super::{
    click_button, click_link, demo_password, fill, sign_in, sign_out, wait_for_path, wait_for_text,
};

/// The start of a 15-minute visit today (UTC, the clinic's zone here) three hours from the
/// server's now, on the 5-minute grid: after the demo's own day for Dr. Smith (which starts
/// three quarters of an hour out), before the encounter workflow's visit. The server's clock
/// starts at 10:00 (`DaytimeClock`), so this is always today.
fn visit_start() -> Option<chrono::NaiveDateTime> {
    use chrono::Timelike;
    let now = super::server_now().naive_utc() + chrono::Duration::minutes(185);
    let minute = now.minute().div_ceil(5) * 5;
    let start =
        now.date().and_hms_opt(now.hour(), 0, 0)? + chrono::Duration::minutes(i64::from(minute));
    let last_start = now.date().and_hms_opt(23, 40, 0)?;
    (start <= last_start && start.date() == now.date()).then_some(start)
}

pub(super) async fn nursing_workflow(client: &Client, base: &Url) -> anyhow::Result<()> {
    const GIVEN: &str = "Tomasz";
    const FAMILY: &str = "Triageton";
    let full_name = format!("{GIVEN} {FAMILY}");
    let Some(start) = visit_start() else {
        anyhow::bail!("no slot left today on the server's clock: DaytimeClock should prevent this");
    };

    // The administrator: Dr. Smith works every day, all day.
    sign_in(client, base, "admin", demo_password("admin")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Staff").await?;
    wait_for_path(client, "/staff").await?;
    click_link(client, "//main", "Edit Dr. Sarah Smith").await?;
    fill(client, "working_hours", "mon-sun 00:00-23:55").await?;
    click_button(client, "Save").await?;
    wait_for_text(client, "main .notice", "The staff profile has been saved.").await?;
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // Reception: register, book for today, check in.
    sign_in(client, base, "reception", demo_password("reception")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "Patients").await?;
    wait_for_path(client, "/patients").await?;
    click_link(client, "//main", "Register a patient").await?;
    wait_for_path(client, "/patients/new").await?;
    fill(client, "given_name", GIVEN).await?;
    fill(client, "family_name", FAMILY).await?;
    client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!("date_of_birth"), json!("1969-11-23")],
        )
        .await
        .context("cannot set the date of birth")?;
    client
        .find(Locator::Id("sex"))
        .await
        .context("no #sex select")?
        .select_by_value("male")
        .await
        .context("cannot choose the sex")?;
    click_button(client, "Register").await?;
    wait_for_text(client, "main .notice", "The patient has been registered.").await?;
    let record_path = client.current_url().await?.path().to_owned();
    click_link(client, "//main", "Book appointment").await?;
    wait_for_path(client, "/appointments/new").await?;
    client
        .execute(
            "const select = document.getElementById('clinician_id');
             const option = Array.from(select.options).find(o => o.text.includes(arguments[0]));
             select.value = option.value;
             document.getElementById('start').value = arguments[1];
             document.getElementById('duration_minutes').value = '15';",
            vec![
                json!("Dr. Sarah Smith"),
                json!(start.format("%Y-%m-%dT%H:%M").to_string()),
            ],
        )
        .await
        .context("cannot choose the clinician and the time")?;
    fill(client, "reason", "Ankle pain after a fall").await?;
    click_button(client, "Book appointment").await?;
    wait_for_text(client, "main .notice", "The appointment has been booked.")
        .await
        .context("booking a visit for today")?;
    let appointment_path = client.current_url().await?.path().to_owned();
    client
        .find(Locator::Css("main button[data-action='checked_in']"))
        .await
        .context("no \"Check in\" button on the appointment")?
        .click()
        .await
        .context("cannot click \"Check in\"")?;
    wait_for_text(
        client,
        "main .notice",
        "The appointment's status has been changed.",
    )
    .await?;
    wait_for_text(client, "main .toolbar .badge", "Checked in").await?;
    println!("browser test: reception booked and checked in {record_path} at {start}");
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;

    // The nurse: "My patients", triage, flags.
    sign_in(client, base, "nurse", demo_password("nurse")?).await?;
    wait_for_path(client, "/dashboard").await?;
    click_link(client, "//nav", "My patients").await?;
    wait_for_path(client, "/my/patients").await?;
    wait_for_text(client, "main table.my-patients tbody", &full_name)
        .await
        .context("the checked-in patient is on the nurse's list")?;
    wait_for_text(
        client,
        "main table.my-patients tbody",
        "checked in to your department",
    )
    .await?;
    let patient_id = record_path.trim_start_matches("/patients/");
    client
        .find(Locator::Css(&format!(
            "tr[data-patient='{patient_id}'] a[data-action='triage']"
        )))
        .await
        .context("no \"Triage\" action for the checked-in patient")?
        .click()
        .await
        .context("cannot click \"Triage\"")?;
    wait_for_path(client, &format!("{appointment_path}/triage")).await?;
    wait_for_text(client, "main [data-field='patient'] dd", &full_name).await?;
    client
        .find(Locator::Css("input[name='acuity'][value='3']"))
        .await
        .context("no acuity choice 3")?
        .click()
        .await
        .context("cannot choose acuity 3")?;
    fill(client, "vital-temperature_c", "38.6").await?;
    fill(client, "vital-pulse_bpm", "104").await?;
    fill(client, "vital-systolic_mmhg", "128").await?;
    fill(client, "vital-diastolic_mmhg", "82").await?;
    fill(client, "vital-spo2_percent", "94").await?;
    fill(
        client,
        "note",
        "Twisted ankle on the stairs; feels hot and shivery.",
    )
    .await?;
    click_button(client, "Record triage").await?;
    wait_for_text(client, "main .notice", "The triage has been recorded.")
        .await
        .context("the triage was not recorded")?;
    wait_for_path(client, &appointment_path).await?;
    wait_for_text(client, "#triage", "ESI 3 · Urgent").await?;
    wait_for_text(
        client,
        "#triage td[data-field='temperature_c'][data-flag='high']",
        "38.6",
    )
    .await
    .context("the high temperature is flagged")?;
    wait_for_text(
        client,
        "#triage td[data-field='spo2_percent'][data-flag='low']",
        "94",
    )
    .await
    .context("the low oxygen saturation is flagged")?;
    let marker = client
        .find(Locator::Css(
            "#triage td[data-field='temperature_c'] .flag-marker",
        ))
        .await
        .context("no visible marker beside the high temperature")?
        .text()
        .await?;
    ensure!(marker == "H", "the marker reads {marker:?}, not \"H\"");
    let normal = client
        .find(Locator::Css("#triage td[data-field='systolic_mmhg']"))
        .await?
        .attr("data-flag")
        .await?;
    ensure!(normal.is_none(), "a normal value is flagged: {normal:?}");
    super::save_screenshot(client, "nurse-triage.png").await?;
    println!("browser test: the nurse triaged {full_name}, the abnormal values flagged");

    // Back on the list, the row shows the acuity and no "Triage" action any more.
    click_link(client, "//nav", "My patients").await?;
    wait_for_path(client, "/my/patients").await?;
    wait_for_text(
        client,
        &format!("tr[data-patient='{patient_id}']"),
        "ESI 3 · Urgent",
    )
    .await?;
    let left = client
        .find_all(Locator::Css(&format!(
            "tr[data-patient='{patient_id}'] a[data-action='triage']"
        )))
        .await?;
    ensure!(
        left.is_empty(),
        "the triaged patient still offers \"Triage\""
    );
    sign_out(client).await?;
    wait_for_path(client, "/login").await?;
    Ok(())
}
