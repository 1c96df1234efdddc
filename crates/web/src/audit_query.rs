//! The audit log's filter parameters, shared by the audit API, the audit page and both CSV
//! exports. A query string is read into [`AuditEventsParams`] or [`AuditExportParams`]
//! (unknown or repeated parameters are refused, see [`crate::extract::query_params`]); then
//! [`AuditEventsParams::to_query`] checks every value and builds the service's
//! [`AuditFilter`], each problem naming its parameter. Empty values mean "no filter", as an
//! empty field of the page's GET form sends them.

use carevault_core::audit::{AuditAction, Outcome, ResourceType};
use carevault_core::time::to_micros;
use carevault_core::{UserId, ValidationErrors};
use carevault_service::audit_log::AuditFilter;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

/// Events per page when the request does not say.
pub const DEFAULT_LIMIT: u64 = 50;
/// The most events per page.
pub const MAX_LIMIT: u64 = carevault_service::audit_log::MAX_PAGE;

const MAX_TEXT_LENGTH: usize = 200;

/// Declares a parameter struct holding the filters of the audit log (written once here),
/// followed by the fields given.
macro_rules! audit_params {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// The acting account's user id.
            #[param(format = Uuid, min_length = 1)]
            pub actor: Option<String>,
            /// What happened, e.g. `sign_in`, `access_denied`, `audit_exported`.
            #[param(schema_with = action_schema)]
            pub action: Option<String>,
            /// The patient's pseudonym (`ANON_…`).
            #[param(
                min_length = 1,
                max_length = 200,
                pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
            )]
            pub patient: Option<String>,
            /// `session`, `account`, `patient`, `keys`, `audit_log` or `system`.
            #[param(schema_with = resource_type_schema)]
            pub resource_type: Option<String>,
            /// The resource's opaque id.
            #[param(
                min_length = 1,
                max_length = 200,
                pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
            )]
            pub resource: Option<String>,
            /// `allowed`, `denied` or `failed`.
            #[param(schema_with = outcome_schema)]
            pub outcome: Option<String>,
            /// Earliest time, inclusive: `YYYY-MM-DD` (from midnight UTC) or RFC 3339.
            #[param(schema_with = crate::api::schemas::date_or_time)]
            pub from: Option<String>,
            /// Latest time, exclusive: `YYYY-MM-DD` (up to the end of that day, UTC) or RFC 3339.
            #[param(schema_with = crate::api::schemas::date_or_time)]
            pub to: Option<String>,
            $($extra)*
        }
    };
}

audit_params!(
    /// Filters and paging of `GET /api/v1/audit/events` and of the audit page.
    AuditEventsParams {
        /// Events to skip (default 0).
        #[param(value_type = Option<u64>, maximum = 9_223_372_036_854_775_807_u64)]
        pub offset: Option<String>,
        /// Events per page (default 50, at most 500).
        #[param(value_type = Option<u64>, minimum = 1, maximum = 500)]
        pub limit: Option<String>,
    }
);

audit_params!(
    /// Filters of the CSV exports: those of [`AuditEventsParams`] without paging.
    AuditExportParams {}
);

fn action_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(AuditAction::ALL.iter().map(|a| a.as_str()))
}

fn resource_type_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(ResourceType::ALL.iter().map(|r| r.as_str()))
}

fn outcome_schema() -> utoipa::openapi::Object {
    crate::api::schemas::one_of(Outcome::ALL.iter().map(|o| o.as_str()))
}

impl From<AuditExportParams> for AuditEventsParams {
    fn from(p: AuditExportParams) -> Self {
        Self {
            actor: p.actor,
            action: p.action,
            patient: p.patient,
            resource_type: p.resource_type,
            resource: p.resource,
            outcome: p.outcome,
            from: p.from,
            to: p.to,
            offset: None,
            limit: None,
        }
    }
}

/// A checked request for events: what to match and which page.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub offset: u64,
    pub limit: u64,
}

/// The value of a parameter, trimmed; `None` when absent or empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The canonical name of one of `all`, as `parse` reads `text`; otherwise the names allowed.
fn one_of<T: Copy>(
    text: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<String, String> {
    parse(text).map(|v| name(v).to_owned()).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        format!("must be one of: {}", names.join(", "))
    })
}

fn short_text(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_TEXT_LENGTH || text.chars().any(char::is_control) {
        Err(format!(
            "must be at most {MAX_TEXT_LENGTH} characters, without control characters"
        ))
    } else {
        Ok(text.to_owned())
    }
}

/// Which edge of a day a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayEdge {
    /// Midnight at the start of the day (for `from`).
    Start,
    /// Midnight at the start of the next day (for `to`, which is exclusive).
    End,
}

/// `YYYY-MM-DD` (UTC) or an RFC 3339 time.
fn instant(text: &str, edge: DayEdge) -> Result<DateTime<Utc>, String> {
    const EXPECTED: &str = "must be a date (YYYY-MM-DD) or an RFC 3339 time";
    if text.len() == 10 {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| EXPECTED.to_owned())?;
        let day = match edge {
            DayEdge::Start => Some(date),
            DayEdge::End => date.succ_opt(),
        }
        .ok_or_else(|| EXPECTED.to_owned())?;
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| EXPECTED.to_owned())
}

fn count(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|n| i64::try_from(*n).is_ok())
        .ok_or_else(|| "must be a whole number, 0 or more".to_owned())
}

impl AuditEventsParams {
    /// The API's stricter reading: a parameter given with an empty value is refused (the
    /// page's form sends empty fields for "no filter"; a client of the API leaves them out).
    pub fn refuse_empty(&self) -> Result<(), ValidationErrors> {
        let paging = [("offset", &self.offset), ("limit", &self.limit)];
        let values: Vec<(&str, Option<&str>)> = self
            .filters()
            .into_iter()
            .chain(paging)
            .map(|(name, value)| (name, value.as_deref()))
            .collect();
        crate::extract::refuse_empty_params(&values)
    }

    /// The API's reading: [`Self::refuse_empty`], then [`Self::to_query`].
    pub fn to_api_query(&self) -> Result<AuditQuery, ValidationErrors> {
        self.refuse_empty()?;
        self.to_query()
    }

    /// The filter parameters by name, paging left out.
    fn filters(&self) -> [(&'static str, &Option<String>); 8] {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("patient", &self.patient),
            ("resource_type", &self.resource_type),
            ("resource", &self.resource),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// Checks every value; all problems are reported together.
    pub fn to_query(&self) -> Result<AuditQuery, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut filter = AuditFilter::default();
        if let Some(text) = given(&self.actor) {
            filter.actor_id = errors
                .check(
                    "actor",
                    text.parse::<UserId>()
                        .map_err(|_| "must be a user id (a UUID)".to_owned()),
                )
                .map(|id| id.to_string());
        }
        filter.action = given(&self.action).and_then(|text| {
            let named = one_of(
                text,
                AuditAction::parse,
                AuditAction::ALL,
                AuditAction::as_str,
            );
            errors.check("action", named)
        });
        filter.patient_pseudonym =
            given(&self.patient).and_then(|text| errors.check("patient", short_text(text)));
        filter.resource_type = given(&self.resource_type).and_then(|text| {
            let named = one_of(
                text,
                ResourceType::parse,
                ResourceType::ALL,
                ResourceType::as_str,
            );
            errors.check("resource_type", named)
        });
        filter.resource_id =
            given(&self.resource).and_then(|text| errors.check("resource", short_text(text)));
        filter.outcome = given(&self.outcome).and_then(|text| {
            let named = one_of(text, Outcome::parse, Outcome::ALL, Outcome::as_str);
            errors.check("outcome", named)
        });
        let from = given(&self.from).and_then(|t| errors.check("from", instant(t, DayEdge::Start)));
        let to = given(&self.to).and_then(|t| errors.check("to", instant(t, DayEdge::End)));
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            errors.push("to", "must be later than `from`");
        }
        filter.from_micros = from.map(to_micros);
        filter.until_micros = to.map(to_micros);
        let offset = given(&self.offset)
            .and_then(|t| errors.check("offset", count(t)))
            .unwrap_or(0);
        let limit = given(&self.limit)
            .and_then(|t| {
                errors.check(
                    "limit",
                    count(t)
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| format!("must be a whole number from 1 to {MAX_LIMIT}")),
                )
            })
            .unwrap_or(DEFAULT_LIMIT);
        errors.into_result()?;
        Ok(AuditQuery {
            filter,
            offset,
            limit,
        })
    }

    /// The filters as a query string (without paging), for links that keep them.
    pub fn filter_query_string(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.filters() {
            if let Some(value) = given(value) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }

    /// The query string of the page at `offset` with these filters (and the page size, when
    /// the request chose one).
    pub fn page_query_string(&self, offset: u64) -> String {
        let mut query = self.filter_query_string();
        let mut paging = url::form_urlencoded::Serializer::new(String::new());
        paging.append_pair("offset", &offset.to_string());
        if let Some(limit) = given(&self.limit) {
            paging.append_pair("limit", limit);
        }
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&paging.finish());
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::query_params;

    fn parse(query: &str) -> Result<AuditQuery, ValidationErrors> {
        query_params::<AuditEventsParams>(query)?.to_query()
    }

    fn field_of(query: &str) -> String {
        let errors = parse(query).expect_err("a bad query");
        errors.0.first().expect("an error").field.clone()
    }

    #[test]
    fn empty_query_is_everything_first_page() {
        let query = parse("").unwrap();
        assert_eq!((query.offset, query.limit), (0, DEFAULT_LIMIT));
        assert!(query.filter.action.is_none());
        // An empty form field is no filter.
        let query = parse("actor=&action=&outcome=&from=&to=").unwrap();
        assert!(query.filter.actor_id.is_none() && query.filter.from_micros.is_none());
    }

    #[test]
    fn dates_cover_whole_days() {
        let query = parse("from=2026-03-02&to=2026-03-02").unwrap();
        let from = query.filter.from_micros.unwrap();
        let to = query.filter.until_micros.unwrap();
        assert_eq!(to - from, 86_400_000_000);
        // An offset is honoured, and `to` is exclusive: an empty range is refused.
        let query = parse("from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:01%2B01:00").unwrap();
        assert_eq!(
            query.filter.until_micros.unwrap() - query.filter.from_micros.unwrap(),
            1_000_000
        );
        assert!(parse("from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00%2B01:00").is_err());
        assert!(parse("from=2026-03-02T09:00:00Z&to=2026-03-02T08:00:00Z").is_err());
    }

    #[test]
    fn bad_values_name_their_parameter() {
        assert_eq!(field_of("action=teleport"), "action");
        assert_eq!(field_of("outcome=maybe"), "outcome");
        assert_eq!(field_of("resource_type=spaceship"), "resource_type");
        assert_eq!(field_of("actor=nobody"), "actor");
        assert_eq!(field_of("from=2026-13-01"), "from");
        assert_eq!(field_of("to=yesterday"), "to");
        assert_eq!(field_of("offset=ten"), "offset");
        assert_eq!(field_of("limit=0"), "limit");
        assert_eq!(field_of("limit=501"), "limit");
        assert_eq!(field_of("colour=blue"), "colour");
        let errors = parse("action=x&outcome=y").unwrap_err();
        assert_eq!(errors.0.len(), 2, "every problem at once");
    }

    #[test]
    fn values_become_the_filter() {
        let query = parse(
            "actor=01990000-0000-7000-8000-00000000000A&action=sign_in&outcome=denied\
             &resource_type=account&resource=r1&patient=ANON_1&offset=50&limit=500",
        )
        .unwrap();
        let f = &query.filter;
        assert_eq!(
            f.actor_id.as_deref(),
            Some("01990000-0000-7000-8000-00000000000a")
        );
        assert_eq!(f.action.as_deref(), Some("sign_in"));
        assert_eq!(f.outcome.as_deref(), Some("denied"));
        assert_eq!(f.resource_type.as_deref(), Some("account"));
        assert_eq!(f.resource_id.as_deref(), Some("r1"));
        assert_eq!(f.patient_pseudonym.as_deref(), Some("ANON_1"));
        assert_eq!((query.offset, query.limit), (50, 500));
    }

    #[test]
    fn links_keep_the_filters() {
        let params: AuditEventsParams =
            query_params("action=sign_in&patient=A%26B&offset=10&limit=20&outcome=").unwrap();
        assert_eq!(params.filter_query_string(), "action=sign_in&patient=A%26B");
        assert_eq!(
            params.page_query_string(30),
            "action=sign_in&patient=A%26B&offset=30&limit=20"
        );
    }
}
