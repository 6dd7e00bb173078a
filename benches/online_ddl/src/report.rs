//! The Markdown report and the targets of issue 5.

use std::time::Duration;

use crate::methods::Method;
use crate::{Run, Settings};

const THROUGHPUT_KEPT: f64 = 0.90;
const P99: Duration = Duration::from_millis(50);
const STALL: Duration = Duration::from_millis(200);
const COPY_VS_PT_OSC: f64 = 0.8;

/// The wall clock as `HH:MM:SS.mmm` UTC, to find a moment in the server's log.
pub fn utc_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        now.subsec_millis()
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn rows_per_second(settings: &Settings, run: &Run) -> f64 {
    settings.rows as f64 / run.times.copy.as_secs_f64().max(1e-9)
}

/// Prints the report; returns whether the osc engine met every target it was measured on.
pub fn print(settings: &Settings, version: &str, runs: &[Run]) -> bool {
    println!(
        "## Online schema change: {} rows, MariaDB {version}",
        settings.rows
    );
    println!();
    println!(
        "ALTER: `{}`. Load: {} writers, {} statements/s in total (INSERT + UPDATE by PK).",
        crate::table::ALTER,
        settings.writers,
        settings.rate
    );
    println!();
    println!(
        "| method | mode | copy rows/s | copy s | total s | writers stmt/s before → during | kept | p99 ms before → during | max ms before → during | errors | rows / expected | row differences | new schema |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let (writers, kept, p99, max, errors) = match (&run.baseline, &run.during) {
            (Some(before), Some(during)) => (
                format!("{:.0} → {:.0}", before.throughput, during.throughput),
                format!(
                    "{:.0} %",
                    100.0 * during.throughput / before.throughput.max(1e-9)
                ),
                format!("{} → {}", ms(before.p99), ms(during.p99)),
                format!("{} → {}", ms(before.max), ms(during.max)),
                during.errors.to_string(),
            ),
            _ => ("—".into(), "—".into(), "—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {writers} | {kept} | {p99} | {max} | {errors} | {} / {} | {} | {} |",
            run.method.label(),
            if run.under_load { "load" } else { "idle" },
            rows_per_second(settings, run),
            run.times.copy.as_secs_f64(),
            run.times.total.as_secs_f64(),
            run.check.rows,
            run.check.expected_rows,
            run.check.differences,
            if run.check.has_new_schema {
                "yes"
            } else {
                "NO"
            },
        );
    }
    println!();
    for run in runs {
        let stall = run.during.map(|during| {
            format!(
                "longest stall {} ms, starting {:.2} s into the change",
                ms(during.max),
                during.max_at.as_secs_f64()
            )
        });
        let detail: Vec<String> = [Some(run.times.detail.clone()), stall]
            .into_iter()
            .flatten()
            .filter(|text| !text.is_empty())
            .collect();
        if !detail.is_empty() {
            println!(
                "- {} ({}): {}",
                run.method.label(),
                if run.under_load { "load" } else { "idle" },
                detail.join("; ")
            );
        }
    }
    println!();
    targets(settings, runs)
}

fn targets(settings: &Settings, runs: &[Run]) -> bool {
    let find = |method: Method, load: bool| {
        runs.iter()
            .find(|r| r.method == method && r.under_load == load)
    };
    let mut passed = true;
    let mut verdict = |name: String, ok: bool| {
        println!("- {} {name}", if ok { "PASS" } else { "MISS" });
        passed &= ok;
    };
    println!("Targets (dbplane's methods):");
    for ours in runs.iter().filter(|r| r.method.is_ours() && !r.under_load) {
        if let Some(pt) = find(Method::PtOsc, false) {
            let ratio = rows_per_second(settings, ours) / rows_per_second(settings, pt);
            verdict(
                format!(
                    "{}: idle copy ≥ {COPY_VS_PT_OSC}× pt-osc's rows/s: {ratio:.2}×",
                    ours.method.label()
                ),
                ratio >= COPY_VS_PT_OSC,
            );
        }
    }
    for run in runs.iter().filter(|r| r.method.is_ours()) {
        let mode = format!(
            "{} {}",
            run.method.label(),
            if run.under_load { "load" } else { "idle" }
        );
        verdict(
            format!(
                "{mode}: zero row differences ({}) and the new schema",
                run.check.differences
            ),
            run.check.differences == 0 && run.check.has_new_schema,
        );
        if let (Some(before), Some(during)) = (&run.baseline, &run.during) {
            let kept = during.throughput / before.throughput.max(1e-9);
            verdict(
                format!(
                    "{mode}: writers keep ≥ 90 % throughput: {:.0} %",
                    kept * 100.0
                ),
                kept >= THROUGHPUT_KEPT,
            );
            verdict(
                format!(
                    "{mode}: p99 ≤ {} ms: {} ms",
                    P99.as_millis(),
                    ms(during.p99)
                ),
                during.p99 <= P99,
            );
            verdict(
                format!(
                    "{mode}: longest stall ≤ {} ms (cutover included): {} ms",
                    STALL.as_millis(),
                    ms(during.max)
                ),
                during.max <= STALL,
            );
            verdict(
                format!("{mode}: zero writer errors: {}", during.errors),
                during.errors == 0,
            );
        }
    }
    passed
}
