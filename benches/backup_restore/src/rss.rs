//! Peak resident memory of a process tree, polled from /proc while an operation runs.
//!
//! The sum of the resident sets of a root process and its descendants, skipping the subtrees of
//! database servers (`mariadbd`, `postgres`): for dbplane that is the server process plus
//! the `pg_dump`/`pg_restore` it runs, for a peer its pipeline (tool and `zstd`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::procs;

const INTERVAL: Duration = Duration::from_millis(100);

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

fn tree_rss_kib(root: u32) -> u64 {
    procs::tree(root)
        .iter()
        .filter(|process| !process.server)
        .map(|process| process.rss_kib)
        .sum()
}
