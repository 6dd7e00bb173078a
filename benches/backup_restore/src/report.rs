//! The Markdown summary and the targets.

use crate::{EngineRun, ToolRun};

/// "Peak memory bounded": dbplane's process tree (server plus the dump/restore tools it
/// runs, without the database servers) stays under this while it backs up or restores
/// hundreds of MB — no table is ever held in memory.
const MEMORY_BOUND_MIB: f64 = 256.0;

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

fn rate(run: &EngineRun, seconds: f64) -> f64 {
    mb(run.logical_bytes as f64) / seconds
}

/// A pipeline's `|` would end the table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Prints the summary's title (before the runs, so a long run shows its sections as
/// they finish).
pub fn print_title(load_before: &str) {
    println!("## Backup and restore benchmark (issue 6)\n");
    println!(
        "Load average (1, 5, 15 min, running/total, last pid) at the start: `{load_before}`.\n"
    );
}

/// One tool's rounds, summarised by their medians.
struct Summary<'a> {
    runs: &'a [ToolRun],
}

impl Summary<'_> {
    fn first(&self) -> &ToolRun {
        &self.runs[0]
    }

    fn median(&self, value: impl Fn(&ToolRun) -> f64) -> f64 {
        let mut values: Vec<f64> = self.runs.iter().map(value).collect();
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        match values.len() % 2 {
            1 => values[middle],
            _ => (values[middle - 1] + values[middle]) / 2.0,
        }
    }

    /// `median (min–max)` of a duration, or the one value.
    fn seconds(&self, value: impl Fn(&ToolRun) -> f64 + Copy) -> String {
        let median = self.median(value);
        if self.runs.len() == 1 {
            return format!("{median:.1}");
        }
        let (min, max) = self
            .runs
            .iter()
            .map(value)
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        format!("{median:.1} ({min:.1}–{max:.1})")
    }

    fn dump_secs(&self) -> f64 {
        self.median(dump_secs)
    }

    fn restore_secs(&self) -> f64 {
        self.median(restore_secs)
    }
}

fn dump_secs(run: &ToolRun) -> f64 {
    run.dump.elapsed.as_secs_f64()
}

fn restore_secs(run: &ToolRun) -> f64 {
    run.restore.elapsed.as_secs_f64()
}

/// Prints one engine's section; whether every target was met (and every restore was
/// correct).
pub fn print_engine(run: &EngineRun) -> bool {
    let mut passed = true;
    let engine = if run.kind == "mysql" {
        "MariaDB"
    } else {
        "PostgreSQL"
    };
    let rounds = run.tools.first().map_or(0, Vec::len);
    println!(
        "### {engine}: {} rows in 3 tables, {:.0} MB of row text ({:.0} MB on disk with indexes), loaded in {:.0} s\n",
        run.rows,
        mb(run.logical_bytes as f64),
        mb(run.disk_bytes as f64),
        run.load_secs
    );
    println!(
        "{rounds} rounds, the tools taking turns: seconds are the median (min–max); MB/s is of the median and of the {:.0} MB of row text; CPU s is the median of the tool's and of the database server's CPU time.\n",
        mb(run.logical_bytes as f64)
    );
    println!(
        "| backup | s | MB/s | output MB | CPU s tool + server | peak RSS MiB | restore | s | MB/s | CPU s tool + server | peak RSS MiB | rows + checksums |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
    for runs in &run.tools {
        let tool = Summary { runs };
        let mismatches: Vec<&str> = runs
            .iter()
            .filter_map(|run| run.mismatch.as_deref())
            .collect();
        let correct = match mismatches.first() {
            None => "equal".to_string(),
            Some(detail) => {
                passed = false;
                format!(
                    "**DIFFER** ({} of {}): {detail}",
                    mismatches.len(),
                    runs.len()
                )
            }
        };
        let peak = |rss: fn(&ToolRun) -> f64| runs.iter().map(rss).fold(0f64, f64::max);
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.1} + {:.1} | {:.0} | {} | {} | {:.0} | {:.1} + {:.1} | {:.0} | {correct} |",
            cell(&tool.first().dump_label),
            tool.seconds(dump_secs),
            rate(run, tool.dump_secs()),
            mb(tool.first().output_bytes as f64),
            tool.median(|run| run.dump.cpu.tool_secs),
            tool.median(|run| run.dump.cpu.server_secs),
            peak(|run| run.dump.peak_rss_mib),
            cell(&tool.first().restore_label),
            tool.seconds(restore_secs),
            rate(run, tool.restore_secs()),
            tool.median(|run| run.restore.cpu.tool_secs),
            tool.median(|run| run.restore.cpu.server_secs),
            peak(|run| run.restore.peak_rss_mib),
        );
    }
    println!();
    passed &= targets(run);
    println!(
        "\nLoad average after {engine}: `{}`.\n",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    passed
}

pub fn print_footer() {
    println!(
        "Peak RSS: dbplane = the server process plus the tools it runs (pg_dump, pg_restore), without the database servers; peers = the pipeline's processes (tool + zstd). Polled from /proc every 100 ms."
    );
}

fn targets(run: &EngineRun) -> bool {
    let Some(ours) = run.tools.iter().find(|runs| runs[0].ours) else {
        return true;
    };
    let ours = Summary { runs: ours };
    let peers: Vec<Summary> = run
        .tools
        .iter()
        .filter(|runs| !runs[0].ours)
        .map(|runs| Summary { runs })
        .collect();
    let mut passed = true;
    let mut target = |what: &str,
                      factor: f64,
                      seconds: fn(&ToolRun) -> f64,
                      label: fn(&ToolRun) -> &str| {
        let Some(fastest) = peers
            .iter()
            .min_by(|a, b| a.median(seconds).total_cmp(&b.median(seconds)))
        else {
            return;
        };
        let ratio = fastest.median(seconds) / ours.median(seconds);
        let ok = ratio >= factor;
        passed &= ok;
        // Round by round (each round's runs ran minutes apart at most).
        let by_round: Vec<String> = ours
            .runs
            .iter()
            .zip(fastest.runs)
            .map(|(ours, peer)| format!("{:.2}×", seconds(peer) / seconds(ours)))
            .collect();
        println!(
            "- {what} ≥ {factor}× the fastest peer ({}: {:.0} MB/s): {:.0} MB/s ({ratio:.2}× of the medians; rounds {}) — **{}**",
            label(fastest.first()),
            rate(run, fastest.median(seconds)),
            rate(run, ours.median(seconds)),
            by_round.join(", "),
            verdict(ok)
        );
    };
    target("Backup", 1.0, dump_secs, |run| &run.dump_label);
    let factor = if run.kind == "mysql" { 1.5 } else { 1.0 };
    target("Restore", factor, restore_secs, |run| &run.restore_label);
    let peak = ours
        .runs
        .iter()
        .map(|run| run.dump.peak_rss_mib.max(run.restore.peak_rss_mib))
        .fold(0f64, f64::max);
    let ok = peak < MEMORY_BOUND_MIB;
    passed &= ok;
    println!(
        "- Peak memory of dbplane < {MEMORY_BOUND_MIB:.0} MiB while moving {:.0} MB: {peak:.0} MiB — **{}**",
        mb(run.logical_bytes as f64),
        verdict(ok)
    );
    passed
}
