//! Prometheus metrics: request counts and latency histograms by method, route and
//! status. Routes are the matched templates (never raw paths), so cardinality is
//! bounded by the route table.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    method: String,
    route: &'static str,
    status: u16,
}

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The HTTP metrics of this process.
#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<HashMap<SeriesKey, Series>>,
}

impl HttpMetrics {
    /// Records one finished request. `route` is a route template or `"unmatched"`.
    pub fn record(&self, method: &str, route: &'static str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut series = self
            .series
            .lock()
            .expect("metrics lock is never poisoned: no panics while held");
        let entry = series
            .entry(SeriesKey {
                method: method.to_string(),
                route,
                status,
            })
            .or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .expect("metrics lock is never poisoned: no panics while held");
        let mut keys: Vec<&SeriesKey> = series.keys().collect();
        keys.sort_by(|a, b| (a.route, &a.method, a.status).cmp(&(b.route, &b.method, b.status)));
        let mut out = String::new();
        out.push_str("# HELP dbplane_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE dbplane_http_requests_total counter\n");
        for key in &keys {
            let labels = labels(key);
            let _ = writeln!(
                out,
                "dbplane_http_requests_total{{{labels}}} {}",
                series[*key].count
            );
        }
        out.push_str("# HELP dbplane_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE dbplane_http_request_duration_seconds histogram\n");
        for key in &keys {
            let labels = labels(key);
            let entry = &series[*key];
            for (bound, count) in BUCKETS.iter().zip(entry.buckets) {
                let _ = writeln!(
                    out,
                    "dbplane_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "dbplane_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                entry.count
            );
            let _ = writeln!(
                out,
                "dbplane_http_request_duration_seconds_sum{{{labels}}} {}",
                entry.sum_seconds
            );
            let _ = writeln!(
                out,
                "dbplane_http_request_duration_seconds_count{{{labels}}} {}",
                entry.count
            );
        }
        out
    }
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        key.method, key.route, key.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let metrics = HttpMetrics::default();
        metrics.record("GET", "/v1/regions", 200, Duration::from_micros(300));
        metrics.record("GET", "/v1/regions", 200, Duration::from_millis(20));
        let text = metrics.render();
        assert!(text.contains(
            "dbplane_http_requests_total{method=\"GET\",route=\"/v1/regions\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0005\"} 1"));
        assert!(text.contains("le=\"0.025\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
