//! The processes of a tree, read from /proc, for the memory and CPU pollers: a root
//! process (dbplane, or a peer's shell) and its descendants, each marked whether it is a
//! database server (`mariadbd`, `postgres`) or runs under one.

use std::collections::HashMap;
use std::sync::OnceLock;

const SERVERS: [&str; 2] = ["mariadbd", "postgres"];

/// One process of `/proc/<pid>/stat`.
pub struct Process {
    name: String,
    ppid: u32,
    pub rss_kib: u64,
    /// User and system time, in clock ticks.
    pub own_ticks: u64,
    /// The same of the children it has reaped.
    pub children_ticks: u64,
    /// A database server, or under one.
    pub server: bool,
}

pub fn stat(pid: u32) -> Option<Process> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) …
    // rss(21, in pages).
    Some(Process {
        name: text[open + 1..close].to_string(),
        ppid: number(1)? as u32,
        rss_kib: number(21)? * page_kib(),
        own_ticks: number(11)? + number(12)?,
        children_ticks: number(13)? + number(14)?,
        server: false,
    })
}

/// `root` and its descendants.
pub fn tree(root: u32) -> Vec<Process> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut processes = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(process) = stat(pid) {
            children.entry(process.ppid).or_default().push(pid);
            processes.insert(pid, process);
        }
    }
    let mut tree = Vec::new();
    let mut stack = vec![(root, false)];
    while let Some((pid, under_server)) = stack.pop() {
        let Some(mut process) = processes.remove(&pid) else {
            continue;
        };
        process.server = under_server || (pid != root && SERVERS.contains(&process.name.as_str()));
        let server = process.server;
        stack.extend(
            children
                .get(&pid)
                .into_iter()
                .flatten()
                .map(|&child| (child, server)),
        );
        tree.push(process);
    }
    tree
}

/// `getconf <name>`, read once.
fn getconf(cell: &'static OnceLock<u64>, name: &str, default: u64) -> u64 {
    *cell.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg(name)
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse().ok())
            .unwrap_or(default)
    })
}

fn page_kib() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    getconf(&PAGE, "PAGESIZE", 4096) / 1024
}

pub fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    getconf(&TICKS, "CLK_TCK", 100)
}
