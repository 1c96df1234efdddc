//! Every route in the route table, as every role, compared with the policy
//! (`carevault_core::policy`): a role without a grant for the route's action is refused
//! (403) before anything runs; a role with one is not refused on a record it stands in the
//! granted relation to (John's own, or one of Dr. Smith's and the nurse's patients), and no
//! request answers 5xx. Then a patient asks for another patient's records: refused or not
//! found, never shown.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use carevault_core::policy::{Grant, grant};
use carevault_core::{Action, Role};
use carevault_web::Access;
use serde_json::json;

use crate::fixtures::{Records, records_of};
use crate::harness::{Backend, Client, TestApp};
use crate::on_all_backends;
use crate::scheduling_api::{id_of, john_record};

/// A demo account of each role.
const ACCOUNTS: [(&str, Role); 7] = [
    ("admin", Role::Admin),
    ("drsmith", Role::Doctor),
    ("nurse", Role::Nurse),
    ("reception", Role::Receptionist),
    ("pharma", Role::Pharmacist),
    ("john", Role::Patient),
    ("auditor", Role::Auditor),
];

/// Routes a role holds a grant for and is still refused on the fixture's records, and why.
const REFUSED_BY_THE_USE_CASE: &[(&str, &str, Role, &str)] = &[];

/// Placeholders not filled from the fixture: an id that names nothing.
const NOBODY: &str = "01990000-0000-7000-8000-000000000001";

/// `path` (a route of the table) with its placeholders filled from `records`; `false` when
/// one named nothing of the fixture.
fn fill(records: &Records, path: &str) -> (String, bool) {
    let id = if path.starts_with("/patients/") || path.starts_with("/api/v1/patients/") {
        &records.patient
    } else if path.contains("/encounters/") {
        &records.encounter
    } else if path.contains("/prescriptions/") {
        &records.prescription
    } else if path.contains("/appointments/") {
        &records.appointment
    } else if path.contains("/invoices/") {
        &records.invoice
    } else {
        NOBODY
    };
    let filled = path
        .replacen("{id}", id, 1)
        .replace("{eid}", &records.encounter);
    let mut out = String::new();
    let mut rest = filled.as_str();
    let mut complete = !filled.contains(NOBODY);
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        complete = false;
        out.push_str(NOBODY);
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, complete)
}

async fn call(client: &mut Client<'_>, access: Access, method: &Method, path: &str) -> StatusCode {
    if *method == Method::GET {
        return client.get(path).await.status;
    }
    let response = match access {
        Access::Page => client.post_form(path, &[]).await,
        _ => {
            let request = client
                .request(method.clone(), path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("a request");
            client.send(request).await
        }
    };
    response.status
}

async fn every_route_as_every_role(backend: Backend) {
    let app = TestApp::new(backend).await;
    let john = records_of(&app, john_record(&app).await, ("10:00", "10:15")).await;
    let registered = app
        .api_client("reception")
        .await
        .post_json(
            "/api/v1/patients",
            &json!({
                "given_name": "Olga",
                "family_name": "Other",
                "date_of_birth": "1970-05-06",
                "sex": "female",
            }),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text()
    );
    let other = records_of(&app, id_of(&registered.json()), ("10:30", "10:45")).await;
    let table = carevault_web::route_table(app.state.clone());
    let mut clients = Vec::new();
    for (username, role) in ACCOUNTS {
        clients.push((
            username,
            role,
            app.browser(username).await,
            app.api_client(username).await,
        ));
    }
    let mut mismatches = Vec::new();
    let mut asked = 0;
    for route in table.iter().filter(|r| r.access != Access::Public) {
        let action = route
            .action
            .expect("every signed-in route names its action");
        if route.path.ends_with("/logout") {
            continue;
        }
        let method: Method = route.method.parse().expect("a method");
        let (path, complete) = fill(&john, route.path);
        for (username, role, browser, api) in clients.iter_mut() {
            let client = if route.access == Access::Page {
                browser
            } else {
                api
            };
            let status = call(client, route.access, &method, &path).await;
            asked += 1;
            let granted = grant(*role, action);
            let known = REFUSED_BY_THE_USE_CASE
                .iter()
                .any(|(m, p, r, _)| *m == route.method && *p == route.path && r == role);
            let wrong = if status.is_server_error() || status == StatusCode::UNAUTHORIZED {
                true
            } else if granted == Grant::No {
                status != StatusCode::FORBIDDEN
            } else {
                complete && !known && status == StatusCode::FORBIDDEN
            };
            if wrong {
                mismatches.push(format!(
                    "{} {} as {username}: {} (policy: {action:?} = {})",
                    route.method,
                    route.path,
                    status.as_u16(),
                    granted.label()
                ));
            }
            // HEAD, which axum answers with the GET handler, is judged as the GET.
            if method == Method::GET && granted == Grant::No {
                let request = client
                    .request(Method::HEAD, &path)
                    .body(Body::empty())
                    .expect("a request");
                let head = client.send(request).await.status;
                if head != StatusCode::FORBIDDEN {
                    mismatches.push(format!(
                        "HEAD {} as {username}: {}",
                        route.path,
                        head.as_u16()
                    ));
                }
            }
        }
        // John asking for the other patient's records, where the route is about one.
        let (others, complete) = fill(&other, route.path);
        if method == Method::GET
            && complete
            && others != path
            && matches!(grant(Role::Patient, action), Grant::Scoped(_))
        {
            let (_, _, browser, api) = &mut clients[5];
            let client = if route.access == Access::Page {
                browser
            } else {
                api
            };
            let status = call(client, route.access, &method, &others).await;
            if !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
                mismatches.push(format!(
                    "{} {} as john on another patient's record: {}",
                    route.method,
                    route.path,
                    status.as_u16()
                ));
            }
        }
    }
    // Every menu entry a role is shown opens.
    for (username, role, browser, _) in clients.iter_mut() {
        for item in carevault_web::pages::navigation(Some(*role), "") {
            let status = browser.get(item.href).await.status;
            if !status.is_success() {
                mismatches.push(format!(
                    "menu {} as {username}: {}",
                    item.href,
                    status.as_u16()
                ));
            }
        }
    }
    assert!(asked > 1000, "only {asked} requests");
    assert!(
        mismatches.is_empty(),
        "{} routes answer differently from the policy:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    for (method, path, role, why) in REFUSED_BY_THE_USE_CASE {
        assert!(
            grant(*role, Action::UseAccount).is_possible() && !why.is_empty(),
            "{method} {path}"
        );
    }
}

on_all_backends!(every_route_as_every_role);
