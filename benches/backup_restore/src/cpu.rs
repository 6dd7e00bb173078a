//! CPU time spent during a timed run, read from /proc: the tool's (dbplane's process, or
//! a peer's pipeline) and the database servers' (every `mariadbd`/`postgres` process under
//! dbplane). It tells what a run was bound by: on a machine with few cores the tool and
//! the server share them.
//!
//! Each process counts its own time and that of the children it has reaped
//! (`cutime`/`cstime`), so a `pg_dump` dbplane ran, a peer's pipeline the benchmark
//! waited for, or a PostgreSQL backend that exited is counted once.

use crate::procs;

/// CPU seconds so far: `(tool, servers)`.
#[derive(Clone, Copy, Default)]
pub struct CpuSample {
    tool: u64,
    servers: u64,
}

/// Seconds between two samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUsed {
    pub tool_secs: f64,
    pub server_secs: f64,
}

impl CpuSample {
    /// dbplane's own time (its tree without the servers) and its servers'.
    pub fn of_dbplane(dbplane: u32) -> Self {
        let (tool, servers) = tree_ticks(dbplane);
        CpuSample { tool, servers }
    }

    /// The benchmark's reaped children (a peer's pipeline once waited for) and dbplane's
    /// servers.
    pub fn of_peer(dbplane: u32) -> Self {
        let tool = procs::stat(std::process::id())
            .map(|stat| stat.children_ticks)
            .unwrap_or(0);
        CpuSample {
            tool,
            servers: tree_ticks(dbplane).1,
        }
    }

    pub fn since(self, earlier: CpuSample) -> CpuUsed {
        let seconds = |ticks: u64| ticks as f64 / procs::ticks_per_second() as f64;
        CpuUsed {
            tool_secs: seconds(self.tool.saturating_sub(earlier.tool)),
            server_secs: seconds(self.servers.saturating_sub(earlier.servers)),
        }
    }
}

/// `(tool, servers)` ticks of `root`'s tree.
fn tree_ticks(root: u32) -> (u64, u64) {
    let (mut tool, mut servers) = (0, 0);
    for process in procs::tree(root) {
        let ticks = process.own_ticks + process.children_ticks;
        match process.server {
            true => servers += ticks,
            false => tool += ticks,
        }
    }
    (tool, servers)
}
