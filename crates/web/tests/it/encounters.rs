//! Clinical records through the service: a doctor in the care team writes and signs an
//! encounter with coded and free-text diagnoses; a nurse adds treatment notes and vitals but
//! cannot touch diagnoses; a signed encounter is never edited, only amended, keeping the
//! original; who else may read what; the de-identified diagnoses report; and the texts sealed
//! at rest.

use std::collections::HashMap;

use carevault_core::clinical::{EncounterStatus, VitalsInput};
use carevault_service::ServiceError;
use carevault_service::emergency::EmergencyAccessInput;
use carevault_service::encounters::{AmendmentInput, DiagnosisInput, EncounterInput};

use crate::harness::{Backend, TestApp};
use crate::on_all_backends;
use crate::patient_storage::{contains, database_contents};
use crate::scheduling_api::{create_account, john_record};

fn texts(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn coded(kind: &str, code: &str) -> DiagnosisInput {
    DiagnosisInput {
        kind: kind.into(),
        code: Some(code.into()),
        ..DiagnosisInput::default()
    }
}

fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, ServiceError>, what: &str) {
    assert!(
        matches!(result, Err(ServiceError::Forbidden)),
        "{what}: {result:?}"
    );
}

async fn encounters_are_written_signed_and_amended(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doctor = app.actor("drsmith").await;
    let nurse = app.actor("nurse").await;
    let john = john_record(&app).await;
    let john_id = john.parse().unwrap();

    let draft = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                kind: Some("consultation".into()),
                texts: texts(&[
                    ("chief_complaint", "Thirst Qzencountermarker"),
                    ("history", "Two weeks of polyuria"),
                    ("examination", "Dry mucosa"),
                    ("assessment", "Hyperglycaemia"),
                    ("plan", "Start metformin"),
                ]),
                diagnoses: vec![
                    coded("primary", "e11.9"),
                    DiagnosisInput {
                        kind: "secondary".into(),
                        text: Some("Worried about driving".into()),
                        free_text: true,
                        ..DiagnosisInput::default()
                    },
                ],
                ..EncounterInput::default()
            },
        )
        .await
        .expect("a draft");
    assert_eq!(draft.status, EncounterStatus::Draft);
    assert_eq!(draft.diagnoses.len(), 2);
    assert_eq!(draft.diagnoses[0].code.as_deref(), Some("E11.9"));
    assert!(draft.diagnoses[0].text.contains("Type 2 diabetes"));
    assert!(draft.diagnoses[1].free_text);
    assert!(draft.may_edit && draft.may_sign && !draft.may_amend);

    // Two primaries, or an unknown code, are refused and name the field.
    let bad = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                diagnoses: vec![
                    coded("primary", "E11.9"),
                    coded("primary", "I10"),
                    coded("secondary", "Q99.999"),
                ],
                ..EncounterInput::default()
            },
        )
        .await;
    match bad {
        Err(ServiceError::Validation(errors)) => {
            let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
            assert!(fields.contains(&"diagnoses[2].code"), "{fields:?}");
        }
        other => panic!("{other:?}"),
    }

    // The nurse adds a treatment note and vitals, and may not write the encounter itself.
    let noted = app
        .services
        .add_treatment_note(&nurse, &draft.id, "Gave water, patient comfortable")
        .await
        .expect("a note");
    assert_eq!(noted.notes.len(), 1);
    let vitals = app
        .services
        .record_vitals(
            &nurse,
            john_id,
            Some(&draft.id),
            &VitalsInput {
                pulse_bpm: Some("88"),
                weight_kg: Some("82,5"),
                height_cm: Some("178"),
                ..VitalsInput::default()
            },
        )
        .await
        .expect("vitals");
    assert_eq!(vitals.bmi.as_ref().map(|b| b.value.as_str()), Some("26.0"));
    let bad_vitals = app
        .services
        .record_vitals(
            &nurse,
            john_id,
            None,
            &VitalsInput {
                pulse_bpm: Some("400"),
                ..VitalsInput::default()
            },
        )
        .await;
    assert!(
        matches!(bad_vitals, Err(ServiceError::Validation(_))),
        "{bad_vitals:?}"
    );
    assert_forbidden(
        app.services
            .update_draft_encounter(&nurse, &draft.id, EncounterInput::default(), None)
            .await,
        "nurse edits a draft",
    );
    assert_forbidden(
        app.services.sign_encounter(&nurse, &draft.id).await,
        "nurse signs",
    );

    let signed = app
        .services
        .sign_encounter(&doctor, &draft.id)
        .await
        .expect("signed");
    assert_eq!(signed.status, EncounterStatus::Signed);
    assert!(!signed.may_edit && signed.may_amend);
    // Never edited once signed; no more treatment notes either.
    match app
        .services
        .update_draft_encounter(&doctor, &draft.id, EncounterInput::default(), None)
        .await
    {
        Err(ServiceError::Conflict { message, .. }) => {
            assert!(message.contains("signed"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        app.services
            .add_treatment_note(&nurse, &draft.id, "late note")
            .await,
        Err(ServiceError::Conflict { .. })
    ));
    assert_forbidden(
        app.services
            .amend_encounter(
                &nurse,
                &draft.id,
                AmendmentInput {
                    reason: "Nurse wants to change the plan".into(),
                    texts: texts(&[("plan", "Something else")]),
                    ..AmendmentInput::default()
                },
            )
            .await,
        "nurse amends",
    );

    // The amendment: a new plan, the free-text diagnosis retracted, hypertension added.
    let free_text_id = signed.diagnoses[1].id.clone();
    let short = app
        .services
        .amend_encounter(
            &doctor,
            &draft.id,
            AmendmentInput {
                reason: "short".into(),
                texts: texts(&[("plan", "x")]),
                ..AmendmentInput::default()
            },
        )
        .await;
    assert!(
        matches!(short, Err(ServiceError::Validation(_))),
        "{short:?}"
    );
    let amended = app
        .services
        .amend_encounter(
            &doctor,
            &draft.id,
            AmendmentInput {
                reason: "Plan corrected after the lab results".into(),
                texts: texts(&[("plan", "Diet first, metformin if HbA1c stays high")]),
                add_diagnoses: vec![coded("secondary", "I10")],
                retract_diagnoses: vec![free_text_id.clone()],
            },
        )
        .await
        .expect("amended");
    assert_eq!(
        amended.text("plan"),
        Some("Diet first, metformin if HbA1c stays high")
    );
    assert_eq!(amended.amendments.len(), 1);
    let amendment = &amended.amendments[0];
    assert_eq!(amendment.author, "Dr. Sarah Smith");
    assert_eq!(amendment.reason, "Plan corrected after the lab results");
    let plan = amendment
        .changes
        .iter()
        .find(|c| c.field == "plan")
        .unwrap();
    assert_eq!(plan.before, "Start metformin");
    assert!(
        amended
            .diagnoses
            .iter()
            .any(|d| d.id == free_text_id && d.retracted_at.is_some())
    );
    assert!(
        amended
            .diagnoses
            .iter()
            .any(|d| d.code.as_deref() == Some("I10"))
    );

    // The patient sees the signed encounter as a summary: no history, examination or notes.
    let patient = app.actor("john").await;
    let mine = app
        .services
        .list_encounters(&patient, john_id)
        .await
        .expect("own encounters");
    assert_eq!(mine.len(), 1);
    let own = app
        .services
        .get_encounter(&patient, &draft.id)
        .await
        .expect("own encounter");
    assert!(own.text("chief_complaint").is_some());
    assert!(
        own.texts
            .iter()
            .any(|(f, v)| *f == "history" && v.is_none())
    );
    assert!(own.notes.is_empty());
    assert_eq!(own.amendments.len(), 1);

    // The diagnoses report counts the signed, current coded diagnoses only.
    let admin = app.actor("admin").await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let report = app
        .services
        .diagnosis_report(&admin, day, day)
        .await
        .expect("a report");
    let codes: Vec<&str> = report.by_code.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(codes, ["E11.9", "I10"], "{report:?}");
    assert_eq!(report.by_department[0].0, "General Medicine");
    assert_forbidden(
        app.services.diagnosis_report(&nurse, day, day).await,
        "nurse report",
    );

    // Nothing clinical in clear at rest.
    let contents = database_contents(&app);
    assert!(!contains(&contents, "Qzencountermarker"));
    assert!(!contains(&contents, "Worried about driving"));
}

on_all_backends!(encounters_are_written_signed_and_amended);

async fn only_the_care_team_reads_clinical_records(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doctor = app.actor("drsmith").await;
    let john = john_record(&app).await;
    let john_id = john.parse().unwrap();
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                texts: texts(&[("chief_complaint", "Cough")]),
                ..EncounterInput::default()
            },
        )
        .await
        .expect("a draft");

    for username in ["reception", "pharma", "auditor"] {
        let actor = app.actor(username).await;
        assert_forbidden(
            app.services.get_encounter(&actor, &encounter.id).await,
            username,
        );
        assert_forbidden(
            app.services.list_encounters(&actor, john_id).await,
            username,
        );
    }
    // A patient does not see a draft, nor anybody else's record.
    let patient = app.actor("john").await;
    assert!(matches!(
        app.services.get_encounter(&patient, &encounter.id).await,
        Err(ServiceError::NotFound(_))
    ));
    // Administrators read, but do not write clinical records.
    let admin = app.actor("admin").await;
    app.services
        .get_encounter(&admin, &encounter.id)
        .await
        .expect("admin reads");
    assert_forbidden(
        app.services
            .create_encounter(
                &admin,
                EncounterInput {
                    patient_id: john.clone(),
                    ..EncounterInput::default()
                },
            )
            .await,
        "admin writes",
    );

    // A doctor outside the care team is refused, until they break the glass.
    create_account(&app, &admin, "drjones", "doctor").await;
    let jones = app
        .actor_with_password("drjones", crate::scheduling_api::PASSWORD)
        .await;
    assert_forbidden(
        app.services.get_encounter(&jones, &encounter.id).await,
        "outside the care team",
    );
    app.services
        .request_emergency_access(
            &jones,
            EmergencyAccessInput {
                patient_id: john.clone(),
                reason: "Unconscious in the emergency department".into(),
                duration_minutes: Some("60".into()),
            },
        )
        .await
        .expect("emergency access");
    let seen = app
        .services
        .get_encounter(&jones, &encounter.id)
        .await
        .expect("with emergency access");
    assert_eq!(seen.text("chief_complaint"), Some("Cough"));
}

on_all_backends!(only_the_care_team_reads_clinical_records);

fn prescription(
    encounter: &str,
    drug: &str,
) -> carevault_service::prescriptions::PrescriptionRequest {
    carevault_service::prescriptions::PrescriptionRequest {
        encounter_id: encounter.to_owned(),
        drug_name: drug.to_owned(),
        dose: "500 mg".into(),
        route: "oral".into(),
        frequency: "three times daily".into(),
        duration_days: "7".into(),
        quantity: "21".into(),
        ..Default::default()
    }
}

async fn prescriptions_check_allergies_and_duplicates(backend: Backend) {
    use carevault_service::prescriptions::Prescribed;
    let app = TestApp::new(backend).await;
    let doctor = app.actor("drsmith").await;
    let john = john_record(&app).await;
    let john_id = john.parse().unwrap();
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                texts: texts(&[("chief_complaint", "Sore throat")]),
                ..EncounterInput::default()
            },
        )
        .await
        .expect("a draft");

    // John is allergic to penicillin: amoxicillin is a penicillin.
    let warned = app
        .services
        .prescribe(&doctor, prescription(&encounter.id, "Amoxicillin"))
        .await
        .expect("checked");
    let Prescribed::NeedsAcknowledgement(warnings) = warned else {
        panic!("no warning: {warned:?}");
    };
    assert_eq!(warnings[0].kind, "allergy");
    assert!(
        app.services
            .list_prescriptions(&doctor, john_id)
            .await
            .unwrap()
            .is_empty(),
        "nothing written without an acknowledgement"
    );
    let mut short = prescription(&encounter.id, "Amoxicillin");
    short.acknowledgement = Some("ok".into());
    assert!(matches!(
        app.services.prescribe(&doctor, short).await,
        Err(ServiceError::Validation(_))
    ));
    let mut acknowledged = prescription(&encounter.id, "Amoxicillin");
    acknowledged.acknowledgement = Some("Allergy was a childhood rash; tolerated since".into());
    let Prescribed::Written(written) = app
        .services
        .prescribe(&doctor, acknowledged)
        .await
        .expect("written")
    else {
        panic!("not written");
    };
    assert!(written.acknowledgement.is_some());
    assert_eq!(written.warnings[0].kind, "allergy");

    // The same drug again is a duplicate.
    let again = app
        .services
        .prescribe(&doctor, prescription(&encounter.id, "amoxicillin 500 mg"))
        .await
        .expect("checked");
    assert!(
        matches!(&again, Prescribed::NeedsAcknowledgement(w) if w.iter().any(|w| w.kind == "duplicate")),
        "{again:?}"
    );

    // Bad input is named.
    let mut bad = prescription(&encounter.id, "Paracetamol");
    bad.route = "by owl".into();
    bad.quantity = "0".into();
    match app.services.prescribe(&doctor, bad).await {
        Err(ServiceError::Validation(errors)) => {
            let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
            assert!(
                fields.contains(&"route") && fields.contains(&"quantity"),
                "{fields:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Pharmacy sees the prescription with the warning overridden and why (it dispenses
    // against it), reception does not; the nurse may read but not prescribe.
    let pharmacist = app.actor("pharma").await;
    let seen = app
        .services
        .list_prescriptions(&pharmacist, john_id)
        .await
        .expect("pharmacy reads");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].drug_name, "Amoxicillin");
    assert_eq!(seen[0].warnings[0].kind, "allergy");
    assert!(seen[0].acknowledgement.is_some());
    let reception = app.actor("reception").await;
    assert_forbidden(
        app.services.list_prescriptions(&reception, john_id).await,
        "reception",
    );
    let nurse = app.actor("nurse").await;
    app.services
        .list_prescriptions(&nurse, john_id)
        .await
        .expect("nurse reads");
    assert_forbidden(
        app.services
            .prescribe(&nurse, prescription(&encounter.id, "Paracetamol"))
            .await,
        "nurse prescribes",
    );
    let patient = app.actor("john").await;
    assert_eq!(
        app.services
            .list_prescriptions(&patient, john_id)
            .await
            .expect("own")
            .len(),
        1
    );

    // Cancelling needs a reason; a cancelled prescription stays cancelled.
    assert!(matches!(
        app.services
            .change_prescription_status(&doctor, &written.id, "cancelled", None)
            .await,
        Err(ServiceError::Validation(_))
    ));
    let cancelled = app
        .services
        .change_prescription_status(&doctor, &written.id, "cancelled", Some("Rash returned"))
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status_reason.as_deref(), Some("Rash returned"));
    match app
        .services
        .change_prescription_status(&doctor, &written.id, "completed", None)
        .await
    {
        Err(ServiceError::Conflict { message, .. }) => {
            assert!(message.contains("cancelled"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    // The acknowledgement is on record.
    let admin = app.actor("admin").await;
    let page = app
        .services
        .audit_events(
            &admin,
            carevault_store::audit::AuditFilter {
                resource_type: Some("prescription".into()),
                resource_id: Some(written.id.clone()),
                ..Default::default()
            },
            0,
            50,
        )
        .await
        .expect("the audit log");
    let reasons: Vec<String> = page
        .entries
        .iter()
        .filter_map(|e| e.reason.clone())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("warning overridden: allergy")),
        "{reasons:?}"
    );
}

on_all_backends!(prescriptions_check_allergies_and_duplicates);

/// Runs a poppler tool on `pdf`; `None` (with the reason printed) when it is not installed
/// and `CAREVAULT_REQUIRE_PDF_TOOLS` is unset.
pub(crate) fn poppler(tool: &str, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new(tool).args(args).output() {
        Ok(output) => Some(output),
        Err(err) => {
            assert!(
                std::env::var_os("CAREVAULT_REQUIRE_PDF_TOOLS").is_none(),
                "{tool} is required (poppler-utils): {err}"
            );
            eprintln!("skipping the {tool} check: {err} (install poppler-utils)");
            None
        }
    }
}

async fn the_medical_record_summary_prints_and_renders_as_pdf(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doctor = app.actor("drsmith").await;
    let john = john_record(&app).await;
    let encounter = app
        .services
        .create_encounter(
            &doctor,
            EncounterInput {
                patient_id: john.clone(),
                texts: texts(&[("chief_complaint", "Thirst"), ("plan", "Metformin")]),
                diagnoses: vec![coded("primary", "E11.9")],
                ..EncounterInput::default()
            },
        )
        .await
        .expect("a draft");
    app.services
        .sign_encounter(&doctor, &encounter.id)
        .await
        .expect("signed");

    let mut smith = app.browser("drsmith").await;
    let page = smith.get(&format!("/patients/{john}/summary")).await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains("E11.9") && html.contains("Penicillin"),
        "{html}"
    );

    let pdf = smith.get(&format!("/patients/{john}/summary.pdf")).await;
    assert_eq!(pdf.status, axum::http::StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment"))
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.pdf");
    std::fs::write(&file, &pdf.body).unwrap();
    let file = file.to_string_lossy().into_owned();
    let prefix = dir.path().join("page").to_string_lossy().into_owned();
    if let Some(out) = poppler(
        "pdftoppm",
        &["-png", "-r", "50", "-f", "1", "-l", "1", &file, &prefix],
    ) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name().to_string_lossy().ends_with(".png") && e.metadata().unwrap().len() > 0
            });
        assert!(rendered, "pdftoppm rendered no page");
    }
    if let Some(out) = poppler("pdftotext", &[&file, "-"]) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("E11.9") && text.contains("Type 2 diabetes"),
            "{text}"
        );
    }

    // The patient prints their own; reception and pharmacy may not; the print is audited.
    let mut patient = app.browser("john").await;
    assert_eq!(
        patient.get("/my/summary").await.status,
        axum::http::StatusCode::OK
    );
    assert_eq!(
        patient.get("/my/summary.pdf").await.status,
        axum::http::StatusCode::OK
    );
    for username in ["reception", "pharma", "auditor"] {
        let mut other = app.browser(username).await;
        assert_eq!(
            other
                .get(&format!("/patients/{john}/summary.pdf"))
                .await
                .status,
            axum::http::StatusCode::FORBIDDEN,
            "{username}"
        );
    }
    let admin = app.actor("admin").await;
    let printed = app
        .services
        .audit_events(
            &admin,
            carevault_store::audit::AuditFilter {
                action: Some("print".into()),
                ..Default::default()
            },
            0,
            50,
        )
        .await
        .expect("the audit log");
    assert!(printed.total >= 4, "{}", printed.total);
}

on_all_backends!(the_medical_record_summary_prints_and_renders_as_pdf);

async fn a_patient_shares_one_encounter_or_document(backend: Backend) {
    use carevault_service::documents::DocumentUpload;
    use carevault_service::shares::ShareInput;
    let app = TestApp::new(backend).await;
    let smith = app.actor("drsmith").await;
    let admin = app.actor("admin").await;
    let john = john_record(&app).await;
    let john_id: carevault_core::PatientId = john.parse().unwrap();
    let mut signed = Vec::new();
    for complaint in ["Cough", "Back pain"] {
        let draft = app
            .services
            .create_encounter(
                &smith,
                EncounterInput {
                    patient_id: john.clone(),
                    texts: texts(&[("chief_complaint", complaint)]),
                    ..EncounterInput::default()
                },
            )
            .await
            .unwrap();
        signed.push(
            app.services
                .sign_encounter(&smith, &draft.id)
                .await
                .unwrap(),
        );
    }
    let document = app
        .services
        .upload_document(
            &smith,
            DocumentUpload {
                patient_id: john_id,
                encounter_id: None,
                title: "X-ray report".into(),
                original_name: "xray.pdf".into(),
                bytes: crate::documents::tiny_pdf("Qzxraymarker"),
            },
        )
        .await
        .expect("uploaded");

    create_account(&app, &admin, "drjones", "doctor").await;
    let jones = app
        .actor_with_password("drjones", crate::scheduling_api::PASSWORD)
        .await;
    let jones_id = jones.user_id().unwrap().to_string();
    let patient = app.actor("john").await;
    assert_forbidden(
        app.services.get_encounter(&jones, &signed[0].id).await,
        "before any share",
    );

    // Only the first visit.
    let share = app
        .services
        .grant_record_share(
            &patient,
            john_id,
            ShareInput {
                doctor_id: jones_id.clone(),
                days: Some("7".into()),
                scope: Some("encounter".into()),
                scope_id: Some(signed[0].id.clone()),
            },
        )
        .await
        .expect("shared");
    assert_eq!(share.scope, "encounter");
    let seen = app
        .services
        .get_encounter(&jones, &signed[0].id)
        .await
        .expect("the shared visit");
    assert_eq!(seen.text("chief_complaint"), Some("Cough"));
    assert!(!seen.may_amend, "a shared visit is read, not written");
    assert_forbidden(
        app.services.get_encounter(&jones, &signed[1].id).await,
        "the other visit",
    );
    assert_forbidden(
        app.services.list_encounters(&jones, john_id).await,
        "the list",
    );
    assert_forbidden(
        app.services
            .amend_encounter(
                &jones,
                &signed[0].id,
                AmendmentInput {
                    reason: "Second opinion differs here".into(),
                    texts: texts(&[("plan", "Rest")]),
                    ..AmendmentInput::default()
                },
            )
            .await,
        "amending a shared visit",
    );
    let record = app.services.get_patient(&jones, john_id).await.unwrap();
    assert_ne!(
        record.given_name.as_deref(),
        Some("John"),
        "the record stays masked"
    );

    // Only the document; an item of someone else's record cannot be named.
    app.services
        .grant_record_share(
            &patient,
            john_id,
            ShareInput {
                doctor_id: jones_id.clone(),
                scope: Some("document".into()),
                scope_id: Some(document.id.clone()),
                ..ShareInput::default()
            },
        )
        .await
        .expect("shared");
    let (meta, bytes) = app
        .services
        .download_document(&jones, &document.id)
        .await
        .expect("the shared document");
    assert_eq!(meta.title, "X-ray report");
    assert!(bytes.starts_with(b"%PDF-"));
    let bad = app
        .services
        .grant_record_share(
            &patient,
            john_id,
            ShareInput {
                doctor_id: jones_id.clone(),
                scope: Some("encounter".into()),
                scope_id: Some("0199d1a0-0000-7000-8000-000000000000".into()),
                ..ShareInput::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(ServiceError::Validation(_))), "{bad:?}");

    // Revoked: gone at once.
    app.services
        .revoke_record_share(&patient, john_id, &share.id)
        .await
        .unwrap();
    assert_forbidden(
        app.services.get_encounter(&jones, &signed[0].id).await,
        "after revoking",
    );
}

on_all_backends!(a_patient_shares_one_encounter_or_document);
