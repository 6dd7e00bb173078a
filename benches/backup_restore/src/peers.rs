//! The peer tools, run as shell pipelines against the same cluster as the cluster's
//! superuser: each dumps the source database to files, then loads them into a new
//! database (created empty first), timed from spawn to exit.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cpu::{CpuSample, CpuUsed};
use crate::rss::RssPoller;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    MariadbDump,
    Mydumper,
    PgDumpFc,
    PgDumpFdJ2,
}

/// One timed run of a command (or of a dbplane operation).
#[derive(Clone, Debug)]
pub struct Timed {
    pub elapsed: Duration,
    pub peak_rss_mib: f64,
    pub cpu: CpuUsed,
}

impl Peer {
    pub fn for_engine(kind: &str) -> &'static [Peer] {
        if kind == "mysql" {
            &[Peer::MariadbDump, Peer::Mydumper]
        } else {
            &[Peer::PgDumpFc, Peer::PgDumpFdJ2]
        }
    }

    pub fn parse(name: &str) -> Option<Peer> {
        [
            Peer::MariadbDump,
            Peer::Mydumper,
            Peer::PgDumpFc,
            Peer::PgDumpFdJ2,
        ]
        .into_iter()
        .find(|peer| peer.key() == name)
    }

    /// The name in BENCH_PEERS.
    pub fn key(self) -> &'static str {
        match self {
            Peer::MariadbDump => "mariadb-dump",
            Peer::Mydumper => "mydumper",
            Peer::PgDumpFc => "pg_dump-Fc",
            Peer::PgDumpFdJ2 => "pg_dump-Fd-j2",
        }
    }

    pub fn dump_label(self) -> &'static str {
        match self {
            Peer::MariadbDump => "mariadb-dump --single-transaction | zstd -1",
            Peer::Mydumper => "mydumper -t 2 --trx-consistency-only",
            Peer::PgDumpFc => "pg_dump -Fc",
            Peer::PgDumpFdJ2 => "pg_dump -Fd -j2",
        }
    }

    pub fn restore_label(self) -> &'static str {
        match self {
            Peer::MariadbDump => "zstd -dc | mariadb",
            Peer::Mydumper => "myloader -t 2",
            Peer::PgDumpFc => "pg_restore",
            Peer::PgDumpFdJ2 => "pg_restore -j2",
        }
    }

    /// Where the dump goes: a file or a directory under `dir`.
    pub fn output(self, dir: &Path) -> std::path::PathBuf {
        dir.join(match self {
            Peer::MariadbDump => "dump.sql.zst",
            Peer::Mydumper => "mydumper",
            Peer::PgDumpFc => "dump.pgc",
            Peer::PgDumpFdJ2 => "pgdir",
        })
    }

    pub fn dump_command(self, port: u16, database: &str, output: &Path) -> String {
        let out = output.display();
        match self {
            Peer::MariadbDump => format!(
                "mariadb-dump -h 127.0.0.1 -P {port} -u root --single-transaction --quick --routines=false \
                 {database} | zstd -1 -q -f -o {out}"
            ),
            Peer::Mydumper => format!(
                "mydumper -h 127.0.0.1 -P {port} -u root -B {database} -t 2 --trx-consistency-only -o {out}"
            ),
            Peer::PgDumpFc => {
                format!("pg_dump -h 127.0.0.1 -p {port} -U postgres -Fc -f {out} {database}")
            }
            Peer::PgDumpFdJ2 => {
                format!("pg_dump -h 127.0.0.1 -p {port} -U postgres -Fd -j2 -f {out} {database}")
            }
        }
    }

    pub fn restore_command(self, port: u16, database: &str, output: &Path) -> String {
        let out = output.display();
        match self {
            Peer::MariadbDump => {
                format!("zstd -dc {out} | mariadb -h 127.0.0.1 -P {port} -u root {database}")
            }
            Peer::Mydumper => {
                format!("myloader -h 127.0.0.1 -P {port} -u root -B {database} -t 2 -o -d {out}")
            }
            Peer::PgDumpFc => {
                format!("pg_restore -h 127.0.0.1 -p {port} -U postgres -d {database} {out}")
            }
            Peer::PgDumpFdJ2 => {
                format!("pg_restore -h 127.0.0.1 -p {port} -U postgres -j2 -d {database} {out}")
            }
        }
    }
}

/// Runs `script` with bash (pipefail) and polls its tree's memory; fails on a non-zero exit.
/// `dbplane` runs the database servers (whose CPU time is counted too).
pub fn run(script: &str, dbplane: u32) -> Result<Timed> {
    let cpu = CpuSample::of_peer(dbplane);
    let started = Instant::now();
    let child = Command::new("bash")
        .args(["-c", &format!("set -euo pipefail; {script}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn bash")?;
    let poller = RssPoller::start(child.id());
    let output = child.wait_with_output()?;
    let elapsed = started.elapsed();
    let peak_rss_mib = poller.finish();
    let cpu = CpuSample::of_peer(dbplane).since(cpu);
    if !output.status.success() {
        bail!(
            "`{script}` exited {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Timed {
        elapsed,
        peak_rss_mib,
        cpu,
    })
}

/// Bytes of a file, or of every file under a directory.
pub fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|entry| size_of(&entry.path())).sum())
        .unwrap_or(0)
}
