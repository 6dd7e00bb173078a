//! Peak resident memory of a process tree, polled from /proc while an operation runs.
//!
//! The sum of `VmRSS` over a root process and its descendants, skipping the subtrees of
//! database servers (`mariadbd`, `postgres`): for dbplane that is the server process plus
//! the `pg_dump`/`pg_restore` it runs, for a peer its pipeline (tool and `zstd`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const INTERVAL: Duration = Duration::from_millis(100);
const SERVERS: [&str; 2] = ["mariadbd", "postgres"];

pub struct RssPoller {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssPoller {
    pub fn start(root: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let (stop_flag, peak) = (stop.clone(), peak_kib.clone());
        let thread = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                peak.fetch_max(tree_rss_kib(root), Ordering::Relaxed);
                std::thread::sleep(INTERVAL);
            }
        });
        RssPoller {
            stop,
            peak_kib,
            thread: Some(thread),
        }
    }

    /// Stops polling; the peak in MiB.
    pub fn finish(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// `(comm, ppid, rss_kib)` of a process.
fn process(pid: u32) -> Option<(String, u32, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut name = None;
    let mut ppid = None;
    let mut rss = 0;
    for line in status.lines() {
        if let Some(value) = line.strip_prefix("Name:") {
            name = Some(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("PPid:") {
            ppid = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("VmRSS:") {
            rss = value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
        }
    }
    Some((name?, ppid?, rss))
}

fn tree_rss_kib(root: u32) -> u64 {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut info = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((name, ppid, rss)) = process(pid) {
                children.entry(ppid).or_default().push(pid);
                info.insert(pid, (name, rss));
            }
        }
    }
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        let Some((name, rss)) = info.get(&pid) else {
            continue;
        };
        if pid != root && SERVERS.contains(&name.as_str()) {
            continue;
        }
        total += rss;
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    total
}
