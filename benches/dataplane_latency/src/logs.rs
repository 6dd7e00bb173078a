//! Reads the server's JSON log (`--log-format json`, job runner at debug) back into job
//! timelines: when each step started, when the job finished, what the PostgreSQL schema
//! copy spent fingerprinting the parent, rebuilding its template and copying it. That is where the time of a creation goes.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Where a PostgreSQL schema copy spent its time.
#[derive(Clone, Copy, Debug, Default)]
pub struct PgCopy {
    pub fingerprint: Duration,
    pub rebuild: Option<Duration>,
    pub copy: Duration,
}

/// One job as the log tells it.
#[derive(Clone, Debug, Default)]
pub struct JobTimeline {
    pub kind: String,
    /// `(step, started)` in order; a step that ran again after a retry appears twice.
    pub steps: Vec<(String, SystemTime)>,
    pub finished: Option<SystemTime>,
    /// Retries and other warnings logged inside the job.
    pub warnings: Vec<String>,
    /// PostgreSQL schema copy: the parent's fingerprint, the template rebuild (first
    /// branch after a schema change of the parent), the copy of the template.
    pub pg_copy: Option<PgCopy>,
}

impl JobTimeline {
    pub fn started(&self) -> Option<SystemTime> {
        self.steps.first().map(|(_, at)| *at)
    }

    /// How long each step took, to the next step's start or the job's end. The time of
    /// a step includes committing it to the metadata store.
    pub fn step_durations(&self) -> Vec<(String, Duration)> {
        let mut out = Vec::new();
        for (index, (step, started)) in self.steps.iter().enumerate() {
            let end = self
                .steps
                .get(index + 1)
                .map(|(_, at)| *at)
                .or(self.finished);
            if let Some(end) = end {
                out.push((
                    step.clone(),
                    end.duration_since(*started).unwrap_or_default(),
                ));
            }
        }
        out
    }
}

/// Every job in the log at `path`, in order of first appearance.
pub fn read_jobs(path: &Path) -> Vec<JobTimeline> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut order: Vec<String> = Vec::new();
    let mut jobs: HashMap<String, JobTimeline> = HashMap::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let span = &event["span"];
        let Some(job_id) = span["job_id"].as_str() else {
            continue;
        };
        let Some(at) = event["timestamp"].as_str().and_then(parse_timestamp) else {
            continue;
        };
        let job = jobs.entry(job_id.to_string()).or_insert_with(|| {
            order.push(job_id.to_string());
            JobTimeline {
                kind: span["kind"].as_str().unwrap_or_default().to_string(),
                ..JobTimeline::default()
            }
        });
        let message = event["message"].as_str().unwrap_or_default();
        match message {
            "running step" => {
                let step = event["step"].as_str().unwrap_or("?").to_string();
                job.steps.push((step, at));
            }
            "job finished" => job.finished = Some(at),
            "schema copied from template" => {
                let duration = |field: &str| event[field].as_str().and_then(parse_debug_duration);
                // `rebuild` is logged as `Some(1.2s)` or `None`.
                let rebuild = event["rebuild"]
                    .as_str()
                    .and_then(|text| text.strip_prefix("Some(")?.strip_suffix(')'))
                    .and_then(parse_debug_duration);
                if let (Some(fingerprint), Some(copy)) = (duration("fingerprint"), duration("copy"))
                {
                    job.pg_copy = Some(PgCopy {
                        fingerprint,
                        rebuild,
                        copy,
                    });
                }
            }
            _ => {
                let level = event["level"].as_str().unwrap_or_default();
                if level == "WARN" || level == "ERROR" {
                    let error = event["error"].as_str().unwrap_or_default();
                    job.warnings
                        .push(format!("{message} {error}").trim().to_string());
                }
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| jobs.remove(&id))
        .collect()
}

/// `2025-01-31T12:34:56.789012Z` (what tracing-subscriber writes) to a wall-clock time.
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    let mut time_parts = time.split(':');
    let hour: u64 = time_parts.next()?.parse().ok()?;
    let minute: u64 = time_parts.next()?.parse().ok()?;
    let seconds = time_parts.next()?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    let whole: u64 = whole.parse().ok()?;
    let nanos: u64 = format!("{fraction:0<9}")[..9].parse().ok()?;
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + whole;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos as u32))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A `Duration`'s Debug text (`1.5s`, `12.3ms`, `45µs`, `7ns`) back to a duration.
pub fn parse_debug_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "µs" | "us" => value / 1e6,
        "ns" => value / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_durations_parse() {
        let at = parse_timestamp("1970-01-02T00:00:01.5Z").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_millis(86_401_500)
        );
        let at = parse_timestamp("2024-03-01T00:00:00.000001Z").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::new(1_709_251_200, 1_000)
        );
        assert_eq!(
            parse_debug_duration("12.5ms"),
            Some(Duration::from_micros(12_500))
        );
        assert_eq!(
            parse_debug_duration("1.25s"),
            Some(Duration::from_millis(1_250))
        );
        assert_eq!(parse_debug_duration("3µs"), Some(Duration::from_micros(3)));
    }
}
