//! The OpenAPI document (`/api/openapi.json`) and a readable rendering of it (`/api/docs`),
//! server-rendered from the same document, with no script and nothing from a CDN.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;
use utoipa::openapi::path::Paths;
use utoipa::openapi::{OpenApi as Document, RefOr, Schema as SchemaObject};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::api::responses::SharedResponses;
use crate::api::{ApiDoc, BearerAuth};
use crate::errors::PageError;
use crate::extract::{CurrentActor, FormToken};
use crate::pages::{Layout, render};

/// The OpenAPI 3.1 document, assembled once when the router is built and handed to the two
/// handlers below as a request extension.
#[derive(Clone)]
pub struct ApiDocument(Arc<Document>);

impl std::fmt::Debug for ApiDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiDocument")
            .field("paths", &self.0.paths.paths.len())
            .finish_non_exhaustive()
    }
}

impl ApiDocument {
    /// [`ApiDoc`] (information, tags) with the operations the route table registered and the
    /// schemas they name, the bearer security scheme, then the shared error responses.
    pub(crate) fn assemble(paths: Paths, schemas: Vec<(String, RefOr<SchemaObject>)>) -> Self {
        let mut document = ApiDoc::openapi();
        document.paths = paths;
        let components = document.components.get_or_insert_with(Default::default);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        BearerAuth.modify(&mut document);
        SharedResponses.modify(&mut document);
        Self(Arc::new(document))
    }

    /// The document itself.
    pub fn document(&self) -> &Document {
        &self.0
    }
}

pub async fn openapi_json(Extension(document): Extension<ApiDocument>) -> Response {
    Json(document.document()).into_response()
}

#[derive(Debug)]
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    secured: bool,
    request_body: Option<String>,
    responses: Vec<(String, String, Option<String>)>,
}

#[derive(Debug)]
struct Schema {
    name: String,
    properties: Vec<(String, String, bool, String)>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    layout: Layout,
    title: String,
    version: String,
    description: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_name(items));
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => schema
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|alts| alts.iter().map(schema_name).collect::<Vec<_>>().join(" | "))
            .unwrap_or_else(|| "object".into()),
    }
}

fn body_schema(content: Option<&Value>) -> Option<String> {
    let content = content?.as_object()?;
    let (media, body) = content.iter().next()?;
    Some(format!("{} ({media})", schema_name(body.get("schema")?)))
}

pub async fn page(
    State(state): State<AppState>,
    Extension(document): Extension<ApiDocument>,
    CurrentActor(actor): CurrentActor,
    FormToken(csrf): FormToken,
) -> Result<Response, PageError> {
    let doc = serde_json::to_value(document.document()).unwrap_or_default();
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|r| {
                        r.iter()
                            .map(|(code, resp)| {
                                (
                                    code.clone(),
                                    text(resp, "description"),
                                    body_schema(resp.get("content")),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    secured: op.get("security").is_some(),
                    request_body: op
                        .get("requestBody")
                        .and_then(|b| body_schema(b.get("content"))),
                    responses,
                });
            }
        }
    }
    let mut schemas = Vec::new();
    if let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in all {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(p, s)| {
                            (
                                p.clone(),
                                schema_name(s),
                                required.contains(&p.as_str()),
                                text(s, "description"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            schemas.push(Schema {
                name: name.clone(),
                properties,
            });
        }
    }
    render(&DocsPage {
        layout: Layout::new(&state, &actor, "API reference", "/api/docs", csrf),
        title: doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
            .to_owned(),
        version: doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        description: doc
            .pointer("/info/description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        operations,
        schemas,
    })
}
