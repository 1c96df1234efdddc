//! Document uploads end to end: a real PDF and a real PNG are accepted and come back byte for
//! byte as attachments; an HTML page or an executable named `.pdf` is refused naming `file`;
//! the content is sealed at rest (a marker inside the PDF is in no database file or dump);
//! a chunk moved to another document fails its integrity check (audited); large files span
//! several chunks; the size limit holds; every download is audited; and only the patient's
//! clinical viewers get anything (IDOR included).

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use carevault_store::documents::ChunkPart;
use carevault_store::entity::document_chunks;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, Database};
use serde_json::Value;

use crate::harness::{Backend, Client, TestApp, TestResponse, hidden_field};
use crate::on_all_backends;
use crate::patient_storage::{contains, database_contents};
use crate::scheduling_api::{create_account, id_of, jane, john_record, sign_in};

const BOUNDARY: &str = "carevault-test-boundary-7MA4YWxkTrZu0gW";
const PDF_MARKER: &str = "Qxdocumentmarker";

/// A small but complete one-page PDF (header, catalog, pages, page, content stream, xref
/// with exact offsets, trailer) whose text contains `text`.
pub(crate) fn tiny_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A real PNG, `width` × `height`, encoded with the `image` crate.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A multipart body with text fields and an optional file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(client: &mut Client<'_>, path: &str, body: Vec<u8>) -> TestResponse {
    let request = client
        .request(Method::POST, path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    client.send(request).await
}

async fn upload(
    client: &mut Client<'_>,
    patient: &str,
    title: &str,
    file_name: &str,
    bytes: &[u8],
) -> TestResponse {
    let body = multipart(
        &[("patient_id", patient), ("title", title)],
        Some((file_name, bytes)),
    );
    post_multipart(client, "/api/v1/documents", body).await
}

/// Uploads and asserts 201; returns the document.
async fn uploaded(
    client: &mut Client<'_>,
    patient: &str,
    title: &str,
    file_name: &str,
    bytes: &[u8],
) -> Value {
    let response = upload(client, patient, title, file_name, bytes).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

/// Asserts a 422 naming `field`, and returns its message.
fn field_error(response: &TestResponse, field: &str) -> String {
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    problem["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .and_then(|e| e["detail"].as_str())
        .unwrap_or_else(|| panic!("expected an error naming {field}: {problem}"))
        .to_owned()
}

async fn events(client: &mut Client<'_>, query: &str) -> Vec<Value> {
    let page = client.get(&format!("/api/v1/audit/events?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page.json()["events"].as_array().expect("events").clone()
}

async fn a_real_pdf_and_png_are_accepted_and_come_back_identical(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;

    let pdf = tiny_pdf("Discharge letter");
    let created = uploaded(&mut doctor, &john, "Discharge letter", "letter.PDF", &pdf).await;
    assert_eq!(created["kind"], "pdf");
    assert_eq!(created["media_type"], "application/pdf");
    assert_eq!(created["page_count"], 1);
    assert_eq!(created["size_bytes"], pdf.len());
    assert_eq!(created["title"], "Discharge letter");
    assert_eq!(created["file_name"], "letter.PDF");
    assert_eq!(created["download_name"], "letter.pdf");
    assert_eq!(created["has_thumbnail"], false);
    let pdf_id = id_of(&created);

    let download = doctor
        .get(&format!("/api/v1/documents/{pdf_id}/content"))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.as_ref(), pdf.as_slice());
    assert_eq!(download.header("content-type"), Some("application/pdf"));
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"letter.pdf\"")
    );
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(download.header("cache-control"), Some("no-store"));

    let image = png(600, 300);
    let created = uploaded(&mut doctor, &john, "Rash, left arm", "photo.png", &image).await;
    assert_eq!(created["kind"], "png");
    assert_eq!(created["has_thumbnail"], true);
    assert!(created["page_count"].is_null());
    let png_id = id_of(&created);
    let download = doctor
        .get(&format!("/api/v1/documents/{png_id}/content"))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.as_ref(), image.as_slice());
    assert_eq!(download.header("content-type"), Some("image/png"));
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"photo.png\"")
    );

    let thumbnail = doctor
        .get(&format!("/api/v1/documents/{png_id}/thumbnail"))
        .await;
    assert_eq!(thumbnail.status, StatusCode::OK);
    assert_eq!(thumbnail.header("content-type"), Some("image/png"));
    let decoded = image::load_from_memory(&thumbnail.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 128));
    doctor
        .get(&format!("/api/v1/documents/{pdf_id}/thumbnail"))
        .await
        .problem(StatusCode::NOT_FOUND);

    let list = doctor
        .get(&format!("/api/v1/documents?patient_id={john}"))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(id_of(&items[0]), png_id, "newest first");
    let meta = doctor.get(&format!("/api/v1/documents/{pdf_id}")).await;
    assert_eq!(meta.status, StatusCode::OK);
    assert_eq!(meta.json()["title"], "Discharge letter");

    // The patient uploads to their own record too.
    let mut patient = app.api_client("john").await;
    uploaded(&mut patient, &john, "My own scan", "scan.pdf", &pdf).await;

    // A JPEG is accepted and gets a thumbnail.
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(40, 20, image::Rgb([1, 2, 3])))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let created = uploaded(&mut doctor, &john, "X-ray", "xray.jpeg", &jpeg).await;
    assert_eq!(created["kind"], "jpeg");
    assert_eq!(created["download_name"], "xray.jpg");
}

on_all_backends!(a_real_pdf_and_png_are_accepted_and_come_back_identical);

async fn disguised_broken_and_oversized_files_are_refused(backend: Backend) {
    let app = TestApp::builder(backend)
        .service_settings(|s| s.documents_max_bytes = 64 * 1024)
        .build()
        .await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;

    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let message = field_error(
        &upload(&mut doctor, &john, "Lab", "report.pdf", html).await,
        "file",
    );
    assert!(message.contains("HTML"), "{message}");
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend_from_slice(&tiny_pdf("inside"));
    let message = field_error(
        &upload(&mut doctor, &john, "Lab", "report.pdf", &elf).await,
        "file",
    );
    assert!(message.contains("executable"), "{message}");
    let polyglot = [b"<script>x</script>\n".as_slice(), &tiny_pdf("p")].concat();
    field_error(
        &upload(&mut doctor, &john, "Lab", "report.pdf", &polyglot).await,
        "file",
    );

    // A PNG signature followed by garbage: the image could not be read.
    let mut broken = png(20, 20);
    broken.truncate(60);
    let message = field_error(
        &upload(&mut doctor, &john, "Photo", "p.png", &broken).await,
        "file",
    );
    assert_eq!(message, "the image could not be read");

    // Over the limit inside the accepted body: 422 naming the file; far beyond it: 413.
    let big = [tiny_pdf("big"), vec![b' '; 70 * 1024]].concat();
    let message = field_error(
        &upload(&mut doctor, &john, "Big", "big.pdf", &big).await,
        "file",
    );
    assert!(
        message.contains("larger than the limit of 64 KiB"),
        "{message}"
    );
    let huge = [tiny_pdf("huge"), vec![b' '; 2 * 1024 * 1024]].concat();
    let response = upload(&mut doctor, &john, "Huge", "huge.pdf", &huge).await;
    assert!(
        matches!(
            response.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY
        ),
        "{}",
        response.status
    );

    // Missing fields are named.
    let no_title = upload(&mut doctor, &john, " ", "a.pdf", &tiny_pdf("t")).await;
    field_error(&no_title, "title");
    let body = multipart(&[("patient_id", &john), ("title", "No file")], None);
    field_error(
        &post_multipart(&mut doctor, "/api/v1/documents", body).await,
        "file",
    );
    let body = multipart(&[("title", "No patient")], Some(("a.pdf", &tiny_pdf("t"))));
    field_error(
        &post_multipart(&mut doctor, "/api/v1/documents", body).await,
        "patient_id",
    );

    // Nothing was stored.
    let list = doctor
        .get(&format!("/api/v1/documents?patient_id={john}"))
        .await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 0);
}

on_all_backends!(disguised_broken_and_oversized_files_are_refused);

async fn documents_are_sealed_at_rest_and_chunked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let pdf = tiny_pdf(PDF_MARKER);
    let created = uploaded(
        &mut doctor,
        &john,
        "Qxtitlemarker",
        "Qxnamemarker.pdf",
        &pdf,
    )
    .await;
    let id = id_of(&created);

    // 3 MiB spans several 1 MiB chunks and round-trips.
    let mut large = tiny_pdf("large");
    large.extend((0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8));
    let created = uploaded(&mut doctor, &john, "Scan", "large.pdf", &large).await;
    let large_id = id_of(&created);
    let download = doctor
        .get(&format!("/api/v1/documents/{large_id}/content"))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download.body.as_ref() == large.as_slice(),
        "large file differs"
    );

    let db = Database::connect(&app.database_url).await.unwrap();
    let large_id: carevault_core::DocumentId = large_id.parse().unwrap();
    let row = carevault_store::documents::find(&db, large_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.chunks, 4);
    for seq in 0..4 {
        assert!(
            carevault_store::documents::chunk(&db, large_id, ChunkPart::Content, seq)
                .await
                .unwrap()
                .is_some()
        );
    }
    drop(db);

    let contents = database_contents(&app);
    for marker in [PDF_MARKER, "Qxtitlemarker", "Qxnamemarker"] {
        assert!(
            !contains(&contents, marker),
            "{marker} is in the database in clear"
        );
    }
    // The download still shows it.
    let download = doctor.get(&format!("/api/v1/documents/{id}/content")).await;
    assert!(contains(&download.body, PDF_MARKER));
}

on_all_backends!(documents_are_sealed_at_rest_and_chunked);

async fn a_chunk_moved_to_another_document_fails_its_integrity_check(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let victim = id_of(&uploaded(&mut doctor, &john, "A", "a.pdf", &tiny_pdf("aaaa")).await);
    let other = id_of(&uploaded(&mut doctor, &john, "B", "b.pdf", &tiny_pdf("bbbb")).await);

    // A database administrator copies B's first chunk over A's.
    let db = Database::connect(&app.database_url).await.unwrap();
    let moved =
        carevault_store::documents::chunk(&db, other.parse().unwrap(), ChunkPart::Content, 0)
            .await
            .unwrap()
            .unwrap();
    document_chunks::ActiveModel {
        document_id: Set(victim.clone()),
        part: Set("content".into()),
        seq: Set(0),
        bytes: Set(moved),
    }
    .update(&db)
    .await
    .unwrap();

    let response = doctor
        .get(&format!("/api/v1/documents/{victim}/content"))
        .await;
    let problem = response.problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("integrity"),
        "{problem}"
    );
    assert!(!contains(&response.body, "bbbb"));
    // B is untouched.
    let fine = doctor
        .get(&format!("/api/v1/documents/{other}/content"))
        .await;
    assert_eq!(fine.status, StatusCode::OK);

    let mut auditor = app.api_client("auditor").await;
    let failed = events(
        &mut auditor,
        &format!("resource_type=document&resource={victim}&outcome=failed"),
    )
    .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["action"], "download");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("integrity")
    );
}

on_all_backends!(a_chunk_moved_to_another_document_fails_its_integrity_check);

async fn every_download_is_audited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut doctor = app.api_client("drsmith").await;
    let id = id_of(&uploaded(&mut doctor, &john, "Letter", "l.pdf", &tiny_pdf("l")).await);
    let mut patient = app.api_client("john").await;
    let content = format!("/api/v1/documents/{id}/content");
    assert_eq!(doctor.get(&content).await.status, StatusCode::OK);
    assert_eq!(patient.get(&content).await.status, StatusCode::OK);
    assert_eq!(doctor.get(&content).await.status, StatusCode::OK);
    let mut auditor = app.api_client("auditor").await;
    let downloads = events(
        &mut auditor,
        &format!("resource_type=document&resource={id}&action=download"),
    )
    .await;
    assert_eq!(downloads.len(), 3, "{downloads:?}");
    assert!(downloads.iter().all(|e| e["outcome"] == "allowed"));
    assert!(downloads.iter().all(|e| e["patient_pseudonym"].is_string()));
    let uploads = events(
        &mut auditor,
        &format!("resource_type=document&resource={id}&action=create"),
    )
    .await;
    assert_eq!(uploads.len(), 1);
    // The title and the file name are never in the audit trail.
    let all = auditor
        .get("/api/v1/audit/events?resource_type=document&limit=200")
        .await
        .text();
    assert!(!all.contains("Letter") && !all.contains("l.pdf"), "{all}");
}

on_all_backends!(every_download_is_audited);

async fn only_clinical_viewers_see_documents(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.actor("admin").await;
    let john = john_record(&app).await;
    let jane_record = jane(&app).await;
    create_account(&app, &admin, "drjones", "doctor").await;
    let mut doctor = app.api_client("drsmith").await;
    let id = id_of(&uploaded(&mut doctor, &john, "Letter", "l.pdf", &tiny_pdf("l")).await);
    let paths = [
        format!("/api/v1/documents?patient_id={john}"),
        format!("/api/v1/documents/{id}"),
        format!("/api/v1/documents/{id}/content"),
    ];

    for path in &paths {
        assert_eq!(doctor.get(path).await.status, StatusCode::OK, "{path}");
        let mut nurse = app.api_client("nurse").await;
        assert_eq!(nurse.get(path).await.status, StatusCode::OK, "{path}");
        let mut administrator = app.api_client("admin").await;
        assert_eq!(
            administrator.get(path).await.status,
            StatusCode::OK,
            "{path}"
        );
        let mut patient = app.api_client("john").await;
        assert_eq!(patient.get(path).await.status, StatusCode::OK, "{path}");
        for role in ["reception", "pharma", "auditor"] {
            let mut client = app.api_client(role).await;
            client.get(path).await.problem(StatusCode::FORBIDDEN);
        }
        let mut outsider = sign_in(&app, "drjones").await;
        outsider.get(path).await.problem(StatusCode::FORBIDDEN);
        let mut other_patient = sign_in(&app, "jane").await;
        other_patient.get(path).await.problem(StatusCode::FORBIDDEN);
        let anonymous = app.anonymous().get(path).await;
        anonymous.problem(StatusCode::UNAUTHORIZED);
    }

    // No existence oracle for patients: an unknown document is 403 too; staff get 404.
    let unknown = format!("/api/v1/documents/{}", uuid::Uuid::now_v7());
    let mut other_patient = sign_in(&app, "jane").await;
    other_patient
        .get(&unknown)
        .await
        .problem(StatusCode::FORBIDDEN);
    doctor.get(&unknown).await.problem(StatusCode::NOT_FOUND);

    // Uploads: reception, an outside doctor and another patient are refused.
    let pdf = tiny_pdf("x");
    let mut reception = app.api_client("reception").await;
    upload(&mut reception, &john, "T", "t.pdf", &pdf)
        .await
        .problem(StatusCode::FORBIDDEN);
    let mut outsider = sign_in(&app, "drjones").await;
    upload(&mut outsider, &john, "T", "t.pdf", &pdf)
        .await
        .problem(StatusCode::FORBIDDEN);
    upload(&mut other_patient, &john, "T", "t.pdf", &pdf)
        .await
        .problem(StatusCode::FORBIDDEN);
    // Jane may upload to her own record, and John's doctor cannot see it.
    let own = uploaded(&mut other_patient, &jane_record, "Mine", "m.pdf", &pdf).await;
    doctor
        .get(&format!("/api/v1/documents/{}", id_of(&own)))
        .await
        .problem(StatusCode::FORBIDDEN);
    // Without a session: 401.
    let anonymous = upload(&mut app.anonymous(), &john, "T", "t.pdf", &pdf).await;
    anonymous.problem(StatusCode::UNAUTHORIZED);

    // The refusals are on record.
    let mut auditor = app.api_client("auditor").await;
    let denied = events(
        &mut auditor,
        "resource_type=document&outcome=denied&limit=200",
    )
    .await;
    assert!(denied.len() >= 10, "{}", denied.len());
}

on_all_backends!(only_clinical_viewers_see_documents);

async fn the_patient_page_uploads_lists_and_links_documents(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = john_record(&app).await;
    let mut browser = app.browser("drsmith").await;
    let page = browser.get(&format!("/patients/{john}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    let token = browser.form_token.clone().unwrap();
    assert!(html.contains(&format!("/patients/{john}/documents?csrf_token={token}")));

    let image = png(300, 300);
    let body = multipart(&[("title", "Wound photo")], Some(("wound.png", &image)));
    let path = format!("/patients/{john}/documents?csrf_token={token}");
    let request = browser
        .request(Method::POST, &path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("origin", "https://carevault.test")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body.clone()))
        .unwrap();
    let response = browser.send(request).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );

    // Without the token (or with a wrong one) the upload is refused.
    for path in [
        format!("/patients/{john}/documents"),
        format!("/patients/{john}/documents?csrf_token=wrong"),
    ] {
        let request = browser
            .request(Method::POST, &path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("origin", "https://carevault.test")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(browser.send(request).await.status, StatusCode::FORBIDDEN);
    }

    let page = browser.get(&format!("/patients/{john}")).await.text();
    assert!(page.contains("Wound photo"), "{page}");
    let id = app
        .services
        .list_documents(&app.actor("drsmith").await, john.parse().unwrap())
        .await
        .unwrap()[0]
        .id
        .clone();
    assert!(page.contains(&format!("/documents/{id}/thumbnail")));
    assert!(page.contains(&format!("/documents/{id}/download")));
    let download = browser.get(&format!("/documents/{id}/download")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.as_ref(), image.as_slice());
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"wound.png\"")
    );
    let thumbnail = browser.get(&format!("/documents/{id}/thumbnail")).await;
    assert_eq!(thumbnail.header("content-type"), Some("image/png"));

    // A refused file re-renders nothing secret and names the problem.
    let body = multipart(&[("title", "Fake")], Some(("fake.pdf", b"<html>x</html>")));
    let request = browser
        .request(Method::POST, &path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("origin", "https://carevault.test")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let refused = browser.send(request).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("HTML page"), "{}", refused.text());

    // The patient sees their documents in the portal; reception sees no documents section.
    let mut patient = app.browser("john").await;
    let mine = patient.get("/my/documents").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.text().contains("Wound photo"));
    let mut reception = app.browser("reception").await;
    let page = reception.get(&format!("/patients/{john}")).await.text();
    assert!(!page.contains("Wound photo"));
    assert!(hidden_field(&page, "csrf_token").is_some());
    let refused = reception.get(&format!("/documents/{id}/download")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.windows(8).any(|w| w == &image[..8]));
}

on_all_backends!(the_patient_page_uploads_lists_and_links_documents);
