//! Backup and restore benchmark (issue 6, "Performance").
//!
//! Starts the release `dbplane serve` with durable managed clusters on a temporary data
//! dir. For each engine: creates a database over the API, fills its `main` branch with
//! `BENCH_ROWS` rows (default 2,000,000, ~500 MB) in three tables through a credential the
//! API hands out, then times
//! - dbplane's backup (POST backup → the GET that sees `success`) and restore (POST branch
//!   with `backup_id` → the GET that sees it ready), peak RSS of the dbplane process tree
//!   (without the database servers);
//! - the peer tools on the same data as the cluster's superuser: `mariadb-dump | zstd -1`
//!   and its reload, `mydumper`/`myloader`, `pg_dump -Fc`/`pg_restore`, `pg_dump -Fd
//!   -j2`/`pg_restore -j2`, peak RSS of their process tree;
//!
//! each timed run starting from the same state (PostgreSQL checkpointed, the OS's dirty
//! pages written: otherwise dbplane, run first, paid for the load's writes and each peer's
//! `DROP DATABASE` checkpointed for the next one), and checks every restore against the
//! source (row counts and row checksums). Prints a Markdown summary with PASS/MISS against
//! the targets; exits 1 when one is missed.
//!
//! Each tool runs `BENCH_ROUNDS` times, the tools taking turns, and the summary compares
//! medians: on a shared machine one run of the same binary varies by 20–30 %.
//!
//! Environment: `BENCH_ROWS` (2000000), `BENCH_ROUNDS` (3), `BENCH_ENGINES`
//! (mysql,postgresql), `BENCH_PEERS` (all: mariadb-dump,mydumper,pg_dump-Fc,pg_dump-Fd-j2),
//! `BENCH_SERVER_LOG` (a path to copy the server's log to before the data dir is removed).

mod api;
mod cpu;
mod data;
/// The data-plane latency benchmark's API client.
#[path = "../../dataplane_latency/src/api.rs"]
#[allow(dead_code)]
mod dataplane_api;
mod peers;
mod procs;
mod report;
mod rss;
/// The same server harness as the data-plane latency benchmark.
#[path = "../../dataplane_latency/src/server.rs"]
mod server;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

use api::Api;
use cpu::CpuSample;
use data::{Db, TableSum};
use peers::{Peer, Timed};
use rss::RssPoller;
use server::Server;

struct Settings {
    dbplane: PathBuf,
    rows: u64,
    rounds: usize,
    engines: Vec<String>,
    peers: Vec<Peer>,
}

/// One tool's backup and restore of one engine's data.
pub struct ToolRun {
    pub dump_label: String,
    pub restore_label: String,
    pub ours: bool,
    pub dump: Timed,
    pub output_bytes: u64,
    pub restore: Timed,
    /// `None` when the restore holds the same rows; otherwise what differs.
    pub mismatch: Option<String>,
}

pub struct EngineRun {
    pub kind: String,
    pub rows: u64,
    /// The rows' text, summed over the tables (what MB/s is of).
    pub logical_bytes: i64,
    pub disk_bytes: i64,
    pub load_secs: f64,
    /// Each tool's runs, one a round.
    pub tools: Vec<Vec<ToolRun>>,
}

fn settings() -> Result<Settings> {
    let rows = match std::env::var("BENCH_ROWS") {
        Ok(value) => value
            .parse()
            .with_context(|| format!("BENCH_ROWS={value}"))?,
        Err(_) => 2_000_000,
    };
    let list = |name: &str, default: &str| -> Vec<String> {
        std::env::var(name)
            .unwrap_or_else(|_| default.to_string())
            .split(',')
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    };
    let engines = list("BENCH_ENGINES", "mysql,postgresql");
    if let Some(bad) = engines
        .iter()
        .find(|e| !["mysql", "postgresql"].contains(&e.as_str()))
    {
        bail!("unknown engine {bad:?} in BENCH_ENGINES (mysql, postgresql)");
    }
    let peers = list(
        "BENCH_PEERS",
        "mariadb-dump,mydumper,pg_dump-Fc,pg_dump-Fd-j2",
    )
    .iter()
    .map(|name| Peer::parse(name).with_context(|| format!("unknown peer {name:?} in BENCH_PEERS")))
    .collect::<Result<_>>()?;
    let rounds = match std::env::var("BENCH_ROUNDS") {
        Ok(value) => value
            .parse::<usize>()
            .ok()
            .filter(|rounds| *rounds > 0)
            .with_context(|| format!("BENCH_ROUNDS={value}"))?,
        Err(_) => 3,
    };
    Ok(Settings {
        dbplane: server::dbplane_argument()?,
        rows,
        rounds,
        engines,
        peers,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = settings()?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    report::print_title(load_before.trim());
    let mut server = Server::start(&settings.dbplane, false).await?;
    let api = Api::new(
        &server.base_url,
        &server.authorization,
        &server.organization,
    );
    let mut passed = true;
    for kind in &settings.engines {
        let run = engine_run(&settings, &server, &api, kind)
            .await
            .with_context(|| format!("{kind}; server log tail:\n{}", server.log_tail(20)))?;
        passed &= report::print_engine(&run);
    }
    report::print_footer();
    // The engine's debug log (phase timings) outlives the data dir when asked.
    if let Ok(keep) = std::env::var("BENCH_SERVER_LOG") {
        let _ = std::fs::copy(server.log_path(), keep);
    }
    server.stop().await?;
    // Removes the data dir (exit skips destructors).
    drop(server);
    std::process::exit(if passed { 0 } else { 1 });
}

async fn engine_run(
    settings: &Settings,
    server: &Server,
    api: &Api,
    kind: &str,
) -> Result<EngineRun> {
    let database = if data::is_mysql(kind) {
        "benchmy"
    } else {
        "benchpg"
    };
    api.ready_database(database, kind).await?;
    let login = api.credential(database, "main", kind, "loader").await?;
    let port = login.port;
    let mut db = Db::open(kind, &login).await?;
    let started = Instant::now();
    db.load(settings.rows).await?;
    let load_secs = started.elapsed().as_secs_f64();
    let source = db.checksums().await?;
    let disk_bytes = db.disk_bytes().await?;
    let physical = db.current_database().await?;
    db.close().await;
    let logical_bytes = source.iter().map(|sum| sum.bytes).sum();
    eprintln!(
        "backup-bench: {kind}: {} rows loaded in {load_secs:.1} s ({:.0} MB of rows, {:.0} MB on disk)",
        settings.rows,
        logical_bytes as f64 / 1e6,
        disk_bytes as f64 / 1e6
    );

    let work = server.data_dir().join("peers");
    std::fs::create_dir_all(&work)?;
    let peers: Vec<Peer> = Peer::for_engine(kind)
        .iter()
        .copied()
        .filter(|peer| settings.peers.contains(peer))
        .collect();
    let mut tools: Vec<Vec<ToolRun>> = (0..=peers.len()).map(|_| Vec::new()).collect();
    for round in 0..settings.rounds {
        let setup = Setup {
            server,
            kind,
            port,
            source: &source,
        };
        tools[0].push(ours(&setup, api, database, round).await?);
        for (index, &peer) in peers.iter().enumerate() {
            tools[index + 1].push(peer_run(&setup, peer, &physical, &work).await?);
        }
    }
    Ok(EngineRun {
        kind: kind.to_string(),
        rows: settings.rows,
        logical_bytes,
        disk_bytes,
        load_secs,
        tools,
    })
}

/// What every timed run of an engine shares.
struct Setup<'a> {
    server: &'a Server,
    kind: &'a str,
    port: u16,
    source: &'a [TableSum],
}

/// dbplane's own backup and restore over the API (restored into `restored-<round>`).
async fn ours(setup: &Setup<'_>, api: &Api, database: &str, round: usize) -> Result<ToolRun> {
    let (server, kind, port, source) = (setup.server, setup.kind, setup.port, setup.source);
    let pid = server.pid().context("the server runs")?;
    settle(kind, port).await?;
    let poller = RssPoller::start(pid);
    let cpu = CpuSample::of_dbplane(pid);
    let started = Instant::now();
    let (backup_id, _size) = api.backup(database, "main").await?;
    let dump = Timed {
        elapsed: started.elapsed(),
        peak_rss_mib: poller.finish(),
        cpu: CpuSample::of_dbplane(pid).since(cpu),
    };
    let output_bytes = peers::size_of(&server.data_dir().join("backups").join(&backup_id));
    eprintln!(
        "backup-bench: {kind}: dbplane backup {:.1} s",
        dump.elapsed.as_secs_f64()
    );

    settle(kind, port).await?;
    let poller = RssPoller::start(pid);
    let cpu = CpuSample::of_dbplane(pid);
    let started = Instant::now();
    let restored_branch = format!("restored-{round}");
    api.restore(database, &backup_id, &restored_branch).await?;
    let restore = Timed {
        elapsed: started.elapsed(),
        peak_rss_mib: poller.finish(),
        cpu: CpuSample::of_dbplane(pid).since(cpu),
    };
    eprintln!(
        "backup-bench: {kind}: dbplane restore {:.1} s",
        restore.elapsed.as_secs_f64()
    );
    let login = api
        .credential(database, &restored_branch, kind, "checker")
        .await?;
    let mut db = Db::open(kind, &login).await?;
    let restored = db.checksums().await?;
    db.close().await;
    Ok(ToolRun {
        dump_label: "dbplane backup".to_string(),
        restore_label: "dbplane restore".to_string(),
        ours: true,
        dump,
        output_bytes,
        restore,
        mismatch: compare(source, &restored),
    })
}

async fn peer_run(setup: &Setup<'_>, peer: Peer, physical: &str, work: &Path) -> Result<ToolRun> {
    let (server, kind, port, source) = (setup.server, setup.kind, setup.port, setup.source);
    let pid = server.pid().context("the server runs")?;
    let output = peer.output(work);
    settle(kind, port).await?;
    let dump = peers::run(&peer.dump_command(port, physical, &output), pid)?;
    let output_bytes = peers::size_of(&output);
    eprintln!(
        "backup-bench: {kind}: {} {:.1} s",
        peer.dump_label(),
        dump.elapsed.as_secs_f64()
    );
    let target = format!("peer_{}", peer.key().replace('-', "_").to_lowercase());
    let admin_db = if data::is_mysql(kind) { "" } else { "postgres" };
    let mut admin = Db::superuser(kind, port, admin_db).await?;
    admin.execute(&format!("CREATE DATABASE {target}")).await?;
    settle(kind, port).await?;
    let restore = peers::run(&peer.restore_command(port, &target, &output), pid)?;
    eprintln!(
        "backup-bench: {kind}: {} {:.1} s",
        peer.restore_label(),
        restore.elapsed.as_secs_f64()
    );
    let mut db = Db::superuser(kind, port, &target).await?;
    let restored = db.checksums().await?;
    db.close().await;
    // Room for the next one: the disk is shared.
    admin.execute(&format!("DROP DATABASE {target}")).await?;
    admin.close().await;
    if output.is_dir() {
        std::fs::remove_dir_all(&output)?;
    } else {
        std::fs::remove_file(&output)?;
    }
    Ok(ToolRun {
        dump_label: peer.dump_label().to_string(),
        restore_label: peer.restore_label().to_string(),
        ours: false,
        dump,
        output_bytes,
        restore,
        mismatch: compare(source, &restored),
    })
}

/// Starts every timed run from the same state: PostgreSQL checkpointed and the OS's dirty
/// pages written, so no run pays for the writes of the one before (the load before
/// dbplane's backup; a peer's `DROP DATABASE` checkpoints before the next peer).
async fn settle(kind: &str, port: u16) -> Result<()> {
    if !data::is_mysql(kind) {
        let mut admin = Db::superuser(kind, port, "postgres").await?;
        admin.execute("CHECKPOINT").await?;
        admin.close().await;
    }
    let status = std::process::Command::new("sync")
        .status()
        .context("run sync")?;
    anyhow::ensure!(status.success(), "sync exited {status}");
    Ok(())
}

fn compare(source: &[TableSum], restored: &[TableSum]) -> Option<String> {
    let differing: Vec<String> = source
        .iter()
        .zip(restored)
        .filter(|(a, b)| (a.rows, a.checksum) != (b.rows, b.checksum))
        .map(|(a, b)| format!("{a} ≠ {b}"))
        .collect();
    (!differing.is_empty()).then(|| differing.join("; "))
}
