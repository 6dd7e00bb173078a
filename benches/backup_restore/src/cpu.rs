//! CPU time spent during a timed run, read from /proc: the tool's (dbplane's process, or
//! a peer's pipeline) and the database servers' (every `mariadbd`/`postgres` process under
//! dbplane). It tells what a run was bound by: on a machine with few cores the tool and
//! the server share them.
//!
//! Each process counts its own time and that of the children it has reaped
//! (`cutime`/`cstime`), so a `pg_dump` dbplane ran, a peer's pipeline the benchmark
//! waited for, or a PostgreSQL backend that exited is counted once.

use std::collections::HashMap;

const SERVERS: [&str; 2] = ["mariadbd", "postgres"];

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
        let tool = stat(std::process::id())
            .map(|stat| stat.children_ticks)
            .unwrap_or(0);
        CpuSample {
            tool,
            servers: tree_ticks(dbplane).1,
        }
    }

    pub fn since(self, earlier: CpuSample) -> CpuUsed {
        let seconds = |ticks: u64| ticks as f64 / ticks_per_second();
        CpuUsed {
            tool_secs: seconds(self.tool.saturating_sub(earlier.tool)),
            server_secs: seconds(self.servers.saturating_sub(earlier.servers)),
        }
    }
}

fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

struct Stat {
    name: String,
    ppid: u32,
    own_ticks: u64,
    children_ticks: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    Some(Stat {
        name: text[open + 1..close].to_string(),
        ppid: number(1)? as u32,
        own_ticks: number(11)? + number(12)?,
        children_ticks: number(13)? + number(14)?,
    })
}

/// `(tool, servers)` ticks of `root`'s tree: a server process and everything under it
/// count as servers.
fn tree_ticks(root: u32) -> (u64, u64) {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut stats = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(stat) = stat(pid) {
            children.entry(stat.ppid).or_default().push(pid);
            stats.insert(pid, stat);
        }
    }
    let (mut tool, mut servers) = (0, 0);
    let mut stack = vec![(root, false)];
    while let Some((pid, under_server)) = stack.pop() {
        let Some(stat) = stats.get(&pid) else {
            continue;
        };
        let server = under_server || SERVERS.contains(&stat.name.as_str());
        let ticks = stat.own_ticks + stat.children_ticks;
        match server {
            true => servers += ticks,
            false => tool += ticks,
        }
        stack.extend(
            children
                .get(&pid)
                .into_iter()
                .flatten()
                .map(|&child| (child, server)),
        );
    }
    (tool, servers)
}
