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

/// Prints one engine's section; whether every target was met (and every restore was
/// correct).
pub fn print_engine(run: &EngineRun) -> bool {
    let mut passed = true;
    let engine = if run.kind == "mysql" {
        "MariaDB"
    } else {
        "PostgreSQL"
    };
    println!(
        "### {engine}: {} rows in 3 tables, {:.0} MB of row text ({:.0} MB on disk with indexes), loaded in {:.0} s\n",
        run.rows,
        mb(run.logical_bytes as f64),
        mb(run.disk_bytes as f64),
        run.load_secs
    );
    println!(
        "MB/s is of the {:.0} MB of row text.\n",
        mb(run.logical_bytes as f64)
    );
    println!(
        "| backup | s | MB/s | output MB | peak RSS MiB | restore | s | MB/s | peak RSS MiB | rows + checksums |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---|");
    for tool in &run.tools {
        let dump = tool.dump.elapsed.as_secs_f64();
        let restore = tool.restore.elapsed.as_secs_f64();
        let correct = match &tool.mismatch {
            None => "equal".to_string(),
            Some(detail) => {
                passed = false;
                format!("**DIFFER**: {detail}")
            }
        };
        println!(
            "| {} | {dump:.1} | {:.0} | {:.0} | {:.0} | {} | {restore:.1} | {:.0} | {:.0} | {correct} |",
            cell(&tool.dump_label),
            rate(run, dump),
            mb(tool.output_bytes as f64),
            tool.dump.peak_rss_mib,
            cell(&tool.restore_label),
            rate(run, restore),
            tool.restore.peak_rss_mib
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
    let Some(ours) = run.tools.iter().find(|tool| tool.ours) else {
        return true;
    };
    let peers: Vec<&ToolRun> = run.tools.iter().filter(|tool| !tool.ours).collect();
    let fastest = |seconds: fn(&ToolRun) -> f64| {
        peers
            .iter()
            .map(|tool| (rate(run, seconds(tool)), *tool))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    };
    let mut passed = true;
    let ours_dump = rate(run, ours.dump.elapsed.as_secs_f64());
    let ours_restore = rate(run, ours.restore.elapsed.as_secs_f64());
    if let Some((best, tool)) = fastest(|tool| tool.dump.elapsed.as_secs_f64()) {
        let ok = ours_dump >= best;
        passed &= ok;
        println!(
            "- Backup ≥ the fastest peer ({}: {best:.0} MB/s): {ours_dump:.0} MB/s ({:.2}×) — **{}**",
            tool.dump_label,
            ours_dump / best,
            verdict(ok)
        );
    }
    let factor = if run.kind == "mysql" { 1.5 } else { 1.0 };
    if let Some((best, tool)) = fastest(|tool| tool.restore.elapsed.as_secs_f64()) {
        let ok = ours_restore >= factor * best;
        passed &= ok;
        println!(
            "- Restore ≥ {factor}× the fastest peer ({}: {best:.0} MB/s): {ours_restore:.0} MB/s ({:.2}×) — **{}**",
            tool.restore_label,
            ours_restore / best,
            verdict(ok)
        );
    }
    let peak = ours.dump.peak_rss_mib.max(ours.restore.peak_rss_mib);
    let ok = peak < MEMORY_BOUND_MIB;
    passed &= ok;
    println!(
        "- Peak memory of dbplane < {MEMORY_BOUND_MIB:.0} MiB while moving {:.0} MB: {peak:.0} MiB — **{}**",
        mb(run.logical_bytes as f64),
        verdict(ok)
    );
    passed
}
