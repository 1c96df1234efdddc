//! The error responses every operation of a kind can answer, declared once.
//!
//! [`SharedResponses`] walks the finished document and gives each operation the shared
//! answers that its shape implies, as references to `components/responses`:
//!
//! - every `/api/v1` operation: `503` (the database cannot be reached; `Retry-After`);
//! - one that needs a session (`security` is set): `401` (no valid session or token);
//! - one with a JSON request body: `400` (not JSON at all), `413` (too large), `415` (no
//!   JSON content type) and `422` (a member missing, unknown, of the wrong type or invalid);
//! - one with a multipart body: `413`, `415` and `422`;
//! - one with query parameters: `422` (a parameter unknown, repeated or invalid).
//!
//! [`refused`] gives an operation a 403 when some role has no grant for its action and the
//! operation describes no 403 of its own.
//!
//! A handler's own `responses(...)` list only what is particular to it (its success, its
//! 403/404/409/412 and so on); where it describes one of the shared codes itself (a more
//! precise 422, the login's 401), its description is kept.

use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Type;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder};

/// The shared responses: (status, component name, description).
const SHARED: &[(&str, &str, &str)] = &[
    (
        "400",
        "MalformedBody",
        "The body is not well-formed JSON (problem type `malformed-json`)",
    ),
    (
        "401",
        "Unauthenticated",
        "No valid session: the bearer token is missing, unknown, expired or revoked",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The request body is larger than the server accepts",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not sent with the content type this operation takes",
    ),
    (
        "422",
        "InvalidInput",
        "Invalid input: a member or parameter is missing, unknown, repeated, of the wrong \
         type or not an allowed value; `errors[].field` names each",
    ),
    (
        "503",
        "Unavailable",
        "The database cannot be reached; retry after the `Retry-After` seconds",
    ),
];

fn problem_response(description: &str, retry_after: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::Integer).build(),
                ))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

/// The 403 of an operation whose action some role has no grant for, where the operation does
/// not describe its own (the route table adds it; the gate refuses such a role).
pub(crate) fn refused(operation: &mut Operation, action: carevault_core::Action) {
    let some_role_lacks_it = carevault_core::Role::ALL
        .into_iter()
        .any(|role| !carevault_core::policy::grant(role, action).is_possible());
    if some_role_lacks_it {
        operation
            .responses
            .responses
            .entry("403".to_owned())
            .or_insert_with(|| {
                RefOr::T(problem_response(
                    &format!("Refused: {}", action.refusal()),
                    false,
                ))
            });
    }
}

/// Adds the shared error responses to every operation (see the module documentation).
#[derive(Debug)]
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, name, description) in SHARED {
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(problem_response(description, *status == "503")),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_shared(operation);
            }
        }
    }
}

fn add_shared(operation: &mut Operation) {
    let body_types: Vec<String> = match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let json_body = body_types.iter().any(|t| t.contains("json"));
    let multipart = body_types.iter().any(|t| t.starts_with("multipart/"));
    let query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));
    let mut wanted = vec!["503"];
    if operation.security.is_some() {
        wanted.push("401");
    }
    if json_body {
        wanted.extend(["400", "413", "415", "422"]);
    }
    if multipart {
        wanted.extend(["413", "415", "422"]);
    }
    if query {
        wanted.push("422");
    }
    for (status, name, _) in SHARED {
        if wanted.contains(status) {
            operation
                .responses
                .responses
                .entry((*status).to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}
