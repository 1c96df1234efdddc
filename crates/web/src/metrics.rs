//! `/metrics`: Prometheus text exposition (format 0.0.4) for operators, administrators
//! only: a page route (`Access::Page`), so it needs an administrator's session cookie
//! (without one, the sign-in redirect; another role gets 403 and the refusal is recorded).
//! A scraper sends the cookie header; a separate bind without sessions is the CLI's
//! concern.
//!
//! The HTTP counters live here, in memory, per process: [`track`] (the outermost layer)
//! counts every request by method, *route template* (axum's `MatchedPath`, e.g.
//! `/patients/{id}`, never the raw path, which would carry ids and make the label set
//! unbounded; `unmatched` for unknown paths) and status, and times it into a histogram
//! with fixed buckets. The rest (database up, audit queue depth, backup age, uptime) comes
//! from `Services::metrics_facts`. Written by hand: a few counters do not need a crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::errors::PageError;
use crate::extract::CurrentActor;

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Cumulative counts per bucket of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Counters {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency.
    durations: BTreeMap<(String, String), Histogram>,
}

/// The HTTP counters of this process.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    counters: Mutex<Counters>,
}

impl HttpMetrics {
    /// Counts one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut counters) = self.counters.lock() else {
            return;
        };
        *counters
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let histogram = counters
            .durations
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.buckets[i] += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The counters in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let Ok(counters) = self.counters.lock() else {
            return;
        };
        out.push_str(
            "# HELP carevault_http_requests_total HTTP requests by method, route template and status.\n\
             # TYPE carevault_http_requests_total counter\n",
        );
        for ((method, route, status), n) in &counters.requests {
            let _ = writeln!(
                out,
                "carevault_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
        out.push_str(
            "# HELP carevault_http_request_duration_seconds Time to answer HTTP requests, by method and route template.\n\
             # TYPE carevault_http_request_duration_seconds histogram\n",
        );
        for ((method, route), h) in &counters.durations {
            let (method, route) = (label(method), label(route));
            for (bound, n) in BUCKETS.iter().zip(h.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "carevault_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "carevault_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}\n\
                 carevault_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}\n\
                 carevault_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
    }
}

/// A label value, escaped as the exposition format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The outermost layer: counts and times every request under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn serve(
    State(state): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> Result<Response, PageError> {
    let facts = state.services.metrics_facts(&actor).await?;
    let mut out = String::with_capacity(4096);
    out.push_str(
        "# HELP carevault_up Whether this Carevault process is serving.\n\
         # TYPE carevault_up gauge\n\
         carevault_up 1\n",
    );
    let _ = writeln!(
        out,
        "# HELP carevault_database_up Whether the database answered a ping just now.\n\
         # TYPE carevault_database_up gauge\n\
         carevault_database_up {}",
        u8::from(facts.database_up)
    );
    let _ = writeln!(
        out,
        "# HELP carevault_uptime_seconds Seconds since this process started.\n\
         # TYPE carevault_uptime_seconds gauge\n\
         carevault_uptime_seconds {}",
        facts.uptime_seconds
    );
    let _ = writeln!(
        out,
        "# HELP carevault_audit_queue_depth Audit events waiting for the group-commit writer.\n\
         # TYPE carevault_audit_queue_depth gauge\n\
         carevault_audit_queue_depth {}",
        facts.audit_queue_depth
    );
    out.push_str(
        "# HELP carevault_backup_age_seconds Seconds since the last successful backup (absent when there is none).\n\
         # TYPE carevault_backup_age_seconds gauge\n",
    );
    if let Some(age) = facts.backup_age_seconds {
        let _ = writeln!(out, "carevault_backup_age_seconds {age}");
    }
    state.metrics.render(&mut out);
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let metrics = HttpMetrics::default();
        metrics.observe("GET", "/patients/{id}", 200, 0.02);
        metrics.observe("GET", "/patients/{id}", 200, 3.0);
        metrics.observe("GET", "/patients/{id}", 404, 0.001);
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(out.contains(
            "carevault_http_requests_total{method=\"GET\",route=\"/patients/{id}\",status=\"200\"} 2"
        ));
        assert!(out.contains(
            "carevault_http_requests_total{method=\"GET\",route=\"/patients/{id}\",status=\"404\"} 1"
        ));
        assert!(out.contains(
            "carevault_http_request_duration_seconds_bucket{method=\"GET\",route=\"/patients/{id}\",le=\"0.005\"} 1"
        ));
        assert!(out.contains(
            "carevault_http_request_duration_seconds_bucket{method=\"GET\",route=\"/patients/{id}\",le=\"0.025\"} 2"
        ));
        assert!(out.contains(
            "carevault_http_request_duration_seconds_bucket{method=\"GET\",route=\"/patients/{id}\",le=\"+Inf\"} 3"
        ));
        assert!(out.contains(
            "carevault_http_request_duration_seconds_count{method=\"GET\",route=\"/patients/{id}\"} 3"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
