//! Extractors shared by handlers: the actor the session layer established, the client
//! address, and JSON body and query-string parsers whose every rejection is a problem+json
//! naming the field.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use carevault_core::ValidationErrors;
use carevault_service::Actor;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::errors::PageError;
use crate::problem::{ApiError, Problem};
use crate::session::SessionToken;

/// The actor of a guarded route. Present by construction (the route table put the session
/// layer in front); its absence is a wiring bug and answers 500, never "allowed".
#[derive(Debug, Clone)]
pub struct CurrentActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Actor>() {
            Some(actor) => Ok(CurrentActor(actor.clone())),
            None => {
                tracing::error!("a guarded handler ran without an actor");
                Err(PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, None))
            }
        }
    }
}

/// The form token of the current session, for rendering into forms.
#[derive(Debug, Clone)]
pub struct FormToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for FormToken {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SessionToken>()
            .map(|t| FormToken(carevault_crypto::token::form_token(&t.0)))
            .ok_or(PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, None))
    }
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` entry when the
/// server is configured to trust its reverse proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.settings.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if forwarded.is_some() {
                return Ok(ClientAddr(forwarded));
            }
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// A JSON request body. Wrong content type → 415; malformed JSON → 400; unknown fields,
/// missing fields and wrong types → 422 naming the field; too large → 413.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(Problem::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .with_detail("Send the body as JSON with Content-Type: application/json.")
                .into());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            ApiError::from(
                Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE)
                    .with_detail("The request body is larger than the server accepts."),
            )
        })?;
        // Every body of the API is a JSON object; serde would also read a struct from an
        // array of its members in order (`[null, null]`), which no client means.
        if bytes.trim_ascii_start().first() == Some(&b'[') {
            return Err(Problem::validation(&ValidationErrors::single(
                "body",
                "must be a JSON object",
            ))
            .into());
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return ApiError::from(
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed-json",
                        "The body is not valid JSON",
                    )
                    .with_detail(inner.to_string()),
                );
            }
            let message = inner.to_string();
            let field = unknown_field_name(&message)
                .or_else(|| missing_field_name(&message))
                .map(|name| {
                    if path == "." || path.is_empty() {
                        name
                    } else if path == name || path.ends_with(&format!(".{name}")) {
                        path.clone()
                    } else {
                        format!("{path}.{name}")
                    }
                })
                .unwrap_or_else(|| path.trim_start_matches('.').to_owned());
            let detail = strip_position(&message);
            ApiError::from(
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "The input is not valid",
                )
                .with_detail(format!(
                    "{}: {detail}",
                    if field.is_empty() { "body" } else { &field }
                ))
                .with_field_error(if field.is_empty() { "body" } else { &field }, detail),
            )
        })?;
        if deserializer.end().is_err() {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "The body is not valid JSON",
            )
            .with_detail("There are characters after the JSON value.")
            .into());
        }
        Ok(ApiJson(value))
    }
}

/// What the API answers for a query parameter given with an empty value.
pub(crate) const EMPTY_PARAMETER: &str = "must not be empty (leave the parameter out instead)";

/// The API reads a query parameter given with an empty value (`?status=`) as a mistake,
/// not as "no filter" (which the pages' forms mean by it): 422 naming each such parameter.
pub(crate) fn refuse_empty_params(params: &[(&str, Option<&str>)]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    for (name, value) in params {
        if value.is_some_and(|v| v.trim().is_empty()) {
            errors.push(*name, EMPTY_PARAMETER);
        }
    }
    errors.into_result()
}

/// A query string parsed into `T` (declare it `#[serde(deny_unknown_fields)]`). Unknown,
/// repeated or missing parameters and values of the wrong type → 422 naming the parameter;
/// never axum's plain-text 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        query_params(parts.uri.query().unwrap_or_default())
            .map(ApiQuery)
            .map_err(|errors| Problem::validation(&errors).into())
    }
}

/// Parses a query string into `T`; each problem names the parameter it is about. Shared by
/// [`ApiQuery`] and the pages that show such problems next to their form fields.
pub fn query_params<T: DeserializeOwned>(query: &str) -> Result<T, ValidationErrors> {
    let deserializer =
        serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let (field, detail) = if let Some(name) = unknown_field_name(&message) {
            (name, "is not a parameter of this request".to_owned())
        } else if let Some(name) = duplicate_field_name(&message) {
            (name, "is given more than once".to_owned())
        } else if let Some(name) = missing_field_name(&message) {
            (name, "is required".to_owned())
        } else {
            let field = path.trim_start_matches('.').to_owned();
            let detail = if is_integer_error(&message) {
                "must be a whole number, 0 or more".to_owned()
            } else {
                message
            };
            (
                if field.is_empty() {
                    "query".to_owned()
                } else {
                    field
                },
                detail,
            )
        };
        ValidationErrors::single(field, detail)
    })
}

fn is_integer_error(message: &str) -> bool {
    ["invalid digit", "number too large", "empty string"]
        .iter()
        .any(|m| message.contains(m))
}

fn between_backticks(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    Some(rest.split('`').next()?.to_owned())
}

fn unknown_field_name(message: &str) -> Option<String> {
    between_backticks(message, "unknown field ")
}

fn missing_field_name(message: &str) -> Option<String> {
    between_backticks(message, "missing field ")
}

fn duplicate_field_name(message: &str) -> Option<String> {
    between_backticks(message, "duplicate field ")
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// An optional id member: absent or `null` is "none"; an empty text is refused (a 422
/// naming the member) instead of being read as "none". Other text is kept for the use case
/// to judge. For `#[serde(default, deserialize_with = …)]`.
pub(crate) fn optional_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    let value = Option::<String>::deserialize(deserializer)?;
    if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
        return Err(serde::de::Error::custom(
            "must be an id (a UUID) or null, not empty",
        ));
    }
    Ok(value)
}

/// A JSON value sent as a number or as text (`30`, `37.5` or `"37.5"`), kept as the text the
/// service then judges (so that a bad value gets the field's own message); `null` is "not
/// given". `fractions`: whether a number with a fraction is accepted (else it is a type
/// error naming `expecting`). For `#[serde(deserialize_with = …)]` wrappers.
pub(crate) fn number_or_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
    fractions: bool,
) -> Result<Option<String>, D::Error> {
    struct NumberOrText {
        expecting: &'static str,
        fractions: bool,
    }

    impl serde::de::Visitor<'_> for NumberOrText {
        type Value = Option<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }

        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }

        fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Self::Value, E> {
            if self.fractions {
                Ok(Some(n.to_string()))
            } else if n.fract() == 0.0 && n.abs() < 1e15 {
                // JSON has one kind of number: `30.0` is the whole number 30.
                Ok(Some(format!("{n:.0}")))
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(n), &self))
            }
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(text.to_owned()))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(NumberOrText {
        expecting,
        fractions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_from_serde_messages() {
        assert_eq!(
            unknown_field_name("unknown field `role`, expected `username` or `password`")
                .as_deref(),
            Some("role")
        );
        assert_eq!(
            missing_field_name("missing field `password`").as_deref(),
            Some("password")
        );
        assert_eq!(
            strip_position("invalid type: integer `1` at line 1 column 14"),
            "invalid type: integer `1`"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Proof {
        index: u64,
        size: Option<u64>,
    }

    fn query_error(query: &str) -> (String, String) {
        let errors = query_params::<Proof>(query).expect_err("a bad query");
        let first = errors.0.first().expect("one error");
        (first.field.clone(), first.message.clone())
    }

    #[test]
    fn query_rejections_name_the_parameter() {
        let parsed: Proof = query_params("index=3&size=9").expect("a good query");
        assert_eq!((parsed.index, parsed.size), (3, Some(9)));
        assert_eq!(query_error("size=9").0, "index");
        assert_eq!(query_error("index=x").0, "index");
        assert_eq!(query_error("index=-1").0, "index");
        assert_eq!(query_error("index=1&size=").0, "size");
        assert_eq!(query_error("index=1&bogus=2").0, "bogus");
        let (field, message) = query_error("index=1&index=2");
        assert_eq!(field, "index");
        assert!(message.contains("more than once"), "{message}");
    }
}
