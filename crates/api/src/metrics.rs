//! Prometheus metrics through the `metrics` facade: `dbplane serve` installs the
//! exporter's recorder once ([`install`]) and `GET /metrics` renders it, so every crate
//! of the process (jobs, deploys, backups, clusters) reports into the same page.
//!
//! The HTTP series are labelled by method, route and status, and every label comes from
//! a closed set, so no client can grow the page: the method is one of the verbs the API
//! knows (else `other`), the route is the matched route template (never the raw path;
//! `unmatched` when no route matched), and statuses are the ones the server answers with.

use axum::http::Method;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Counter of finished HTTP requests.
pub const HTTP_REQUESTS: &str = "dbplane_http_requests_total";
/// Histogram of HTTP request latency.
pub const HTTP_DURATION: &str = "dbplane_http_request_duration_seconds";

/// Upper bounds of the buckets of every `*_seconds` histogram, in seconds: from a fast
/// metadata read to a cutover that waited for its locks.
const SECONDS_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0,
];
/// Buckets of `*_bytes` histograms: 1 KiB to 1 TiB by powers of 16.
const BYTES_BUCKETS: [f64; 8] = [
    1024.0,
    16384.0,
    262_144.0,
    4_194_304.0,
    67_108_864.0,
    1_073_741_824.0,
    17_179_869_184.0,
    1_099_511_627_776.0,
];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global `metrics` recorder (once; a
/// second call returns the same handle) and starts its upkeep on the current Tokio
/// runtime. Metrics recorded before this call are lost, so `serve` calls it first.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Suffix("_bytes".into()), &BYTES_BUCKETS)?
        .install_recorder()?;
    describe();
    let upkeep = handle.clone();
    // Without a scrape the samples of histograms pile up in memory until upkeep drains them.
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            interval.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The Prometheus text exposition, empty when no recorder was installed.
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests served.");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency."
    );
}

/// Records one finished request. `route` is a route template or a fixed stand-in.
pub fn record_request(method: &Method, route: &'static str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method_label(method)),
        ("route", route),
        ("status", status_label(status)),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// The method as a label: the verbs of HTTP the API may see, else `other` (a client may
/// send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status as a label without allocating per request (statuses are 100..=999).
fn status_label(status: u16) -> &'static str {
    const LABELS: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
    match status {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        100..=599 => LABELS[usize::from(status / 100) - 1],
        _ => LABELS[5],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let custom = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }

    #[test]
    fn statuses_map_to_a_closed_set() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(999), "other");
    }

    #[tokio::test]
    async fn renders_counts_and_cumulative_buckets() {
        install().unwrap();
        let route = "/test/renders_counts";
        record_request(&Method::GET, route, 200, Duration::from_micros(300));
        record_request(&Method::GET, route, 200, Duration::from_millis(20));
        let text = render();
        let labels = format!("method=\"GET\",route=\"{route}\",status=\"200\"");
        assert!(
            text.contains(&format!("dbplane_http_requests_total{{{labels}}} 2")),
            "{text}"
        );
        let bucket = |le: &str| format!("{HTTP_DURATION}_bucket{{{labels},le=\"{le}\"}}");
        assert!(text.contains(&format!("{} 1", bucket("0.0005"))), "{text}");
        assert!(text.contains(&format!("{} 2", bucket("0.025"))), "{text}");
        assert!(text.contains(&format!("{} 2", bucket("+Inf"))), "{text}");
    }
}
