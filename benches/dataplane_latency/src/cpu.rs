//! How busy the machine was during a case, and how much of that was someone else: the
//! machine is shared (2 cores, other builds), so each case reports the CPU share that
//! processes outside this benchmark took meanwhile. "Ours" is this process, the dbplane
//! server and everything under it (MariaDB, PostgreSQL and its backends, pg_dump), with
//! the time of children they already reaped.

use std::collections::HashMap;

/// One look at the clocks, in clock ticks.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    busy: u64,
    total: u64,
    ours: u64,
}

/// Machine-wide busy and total ticks, and the ticks of `server`'s process tree and ours.
pub fn sample(server: Option<u32>) -> Option<Sample> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    if fields.len() < 8 {
        return None;
    }
    // user nice system idle iowait irq softirq steal
    let idle = fields[3] + fields[4];
    let total: u64 = fields[..8].iter().sum();
    let mut ours = process_ticks(std::process::id()).unwrap_or(0);
    if let Some(root) = server {
        ours += tree_ticks(root);
    }
    Some(Sample {
        busy: total - idle,
        total,
        ours,
    })
}

/// `(machine busy %, busy % of processes not ours)` between two samples.
pub fn shares(before: Option<Sample>, after: Option<Sample>) -> (f64, f64) {
    match (before, after) {
        (Some(a), Some(b)) if b.total > a.total => {
            let total = (b.total - a.total) as f64;
            let busy = b.busy.saturating_sub(a.busy) as f64;
            let ours = b.ours.saturating_sub(a.ours) as f64;
            (
                busy / total * 100.0,
                ((busy - ours) / total * 100.0).max(0.0),
            )
        }
        _ => (f64::NAN, f64::NAN),
    }
}

/// `(ppid, utime + stime + cutime + cstime)` of a process.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is the state (field 3 of proc(5)), so field n is fields[n - 3].
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = (11..=14)
        .map(|i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    Some((ppid, ticks))
}

fn process_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, ticks)| ticks)
}

/// Ticks of `root` and all its live descendants.
fn tree_ticks(root: u32) -> u64 {
    let mut processes: HashMap<u32, (u32, u64)> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok())
                && let Some(stat) = stat(pid)
            {
                processes.insert(pid, stat);
            }
        }
    }
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, &(ppid, _)) in &processes {
        children.entry(ppid).or_default().push(pid);
    }
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Some(&(_, ticks)) = processes.get(&pid) {
            total += ticks;
        }
        if let Some(kids) = children.get(&pid) {
            stack.extend(kids);
        }
    }
    total
}
