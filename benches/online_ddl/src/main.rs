//! Online schema change benchmark (issue 5, "Performance").
//!
//! Starts the release `dbplane serve` (`--dbplane <path>`) with durable managed clusters,
//! creates a MariaDB database over the API, builds a table of `BENCH_ROWS` rows (~200
//! bytes each, default 1,000,000) in its `main` branch, and runs the same ALTER (add a
//! column and an index) on a fresh copy of it three ways — dbplane's deploy request over
//! the API (branch, ALTER on the branch, deploy request; the index keeps it off the
//! instant path), `pt-online-schema-change` and `ALTER TABLE … ALGORITHM=COPY` on the same
//! server and database — first idle, then under a steady write load
//! (`BENCH_WRITERS` writers, INSERT + UPDATE by primary key, `BENCH_RATE` statements/s in
//! total). Reports copy rows/s, total time, the writers' throughput, p99 and max latency
//! and errors during the change, and checks the final table against the writers' log.
//! Prints Markdown; exits 1 when a target is missed.
//!
//! Environment: `BENCH_ROWS` (1000000), `BENCH_RATE` (600), `BENCH_WRITERS` (3),
//! `BENCH_METHODS` (osc,pt-osc,copy), `BENCH_MODES` (idle,load), `BENCH_WARMUP_SECS` (3),
//! `BENCH_LOG_DIR` (a temp dir), and for the `osc` method the engine's `OSC_CHUNK_MS`,
//! `OSC_MAX_CHUNK`, `OSC_RATIO`, `OSC_MAX_THREADS_RUNNING`.

/// The data-plane latency benchmark's API client and server harness.
#[path = "../../dataplane_latency/src/api.rs"]
#[allow(dead_code)]
mod api;
mod deploy;
mod load;
mod methods;
mod platform;
mod report;
#[path = "../../dataplane_latency/src/server.rs"]
#[allow(dead_code)]
mod server;
mod table;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use load::{Load, WindowStats};
use methods::{ChangeTimes, Method};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use platform::Platform;
use table::Verification;

pub struct Settings {
    dbplane: PathBuf,
    rows: u64,
    rate: u64,
    writers: u64,
    methods: Vec<Method>,
    modes: Vec<bool>,
    warmup: Duration,
    log_dir: PathBuf,
}

/// One measured run.
pub struct Run {
    method: Method,
    under_load: bool,
    times: ChangeTimes,
    /// The writers before the change (the baseline) and during it.
    baseline: Option<WindowStats>,
    during: Option<WindowStats>,
    check: Verification,
}

fn env_u64(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(value) => value.parse().with_context(|| format!("{name}={value}")),
        Err(_) => Ok(default),
    }
}

fn settings(temp: &std::path::Path) -> Result<Settings> {
    let list = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    Ok(Settings {
        dbplane: server::dbplane_argument()?,
        rows: env_u64("BENCH_ROWS", 1_000_000)?,
        rate: env_u64("BENCH_RATE", 600)?,
        writers: env_u64("BENCH_WRITERS", 3)?,
        methods: list("BENCH_METHODS", "deploy,pt-osc,copy")
            .split(',')
            .map(Method::parse)
            .collect::<Result<_>>()?,
        modes: list("BENCH_MODES", "idle,load")
            .split(',')
            .map(|mode| match mode {
                "idle" => Ok(false),
                "load" => Ok(true),
                other => anyhow::bail!("unknown mode {other:?} (idle, load)"),
            })
            .collect::<Result<_>>()?,
        warmup: Duration::from_secs(env_u64("BENCH_WARMUP_SECS", 3)?),
        log_dir: std::env::var("BENCH_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| temp.to_path_buf()),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let temp = tempfile::tempdir()?;
    let settings = settings(temp.path())?;
    std::fs::create_dir_all(&settings.log_dir)?;
    let mut platform = Platform::start(&settings.dbplane)
        .await
        .context("start dbplane with its managed MariaDB")?;
    let mut admin = Conn::new(mysql_async::Opts::from_url(&platform.admin_url)?).await?;
    let version: String = admin
        .query_first("SELECT VERSION()")
        .await?
        .context("no version")?;
    let built = table::build_template(&mut admin, &platform.main_db, settings.rows).await?;
    eprintln!(
        "online-ddl-bench: {} rows built in {:.1} s on MariaDB {version}",
        settings.rows,
        built.as_secs_f64()
    );

    let mut runs = Vec::new();
    for &under_load in &settings.modes {
        for &method in &settings.methods {
            let run = measure(&settings, &mut admin, &platform, method, under_load)
                .await
                .with_context(|| format!("{} ({})", method.label(), mode(under_load)))?;
            eprintln!(
                "online-ddl-bench: {} {}: {:.1} s",
                method.label(),
                mode(under_load),
                run.times.total.as_secs_f64()
            );
            runs.push(run);
        }
    }
    admin.disconnect().await?;
    platform.server.stop().await?;
    // The server's log (job steps with timestamps) outlives its temporary data dir.
    let kept_log = settings.log_dir.join("dbplane-server.log");
    std::fs::copy(platform.server.log_path(), &kept_log)?;
    eprintln!(
        "online-ddl-bench: server log kept in {}",
        kept_log.display()
    );
    let passed = report::print(&settings, &version, &runs);
    // `process::exit` runs no destructors: remove the stopped server's data dir first.
    drop(platform);
    temp.close()?;
    std::process::exit(if passed { 0 } else { 1 });
}

fn mode(under_load: bool) -> &'static str {
    if under_load { "under load" } else { "idle" }
}

async fn measure(
    settings: &Settings,
    admin: &mut Conn,
    platform: &Platform,
    method: Method,
    under_load: bool,
) -> Result<Run> {
    let name = match method {
        Method::Deploy => "t_deploy",
        Method::Osc => "t_osc",
        Method::PtOsc => "t_ptosc",
        Method::Copy => "t_copy",
    };
    let table = format!("{name}_{}", if under_load { "load" } else { "idle" });
    let db = platform.main_db.as_str();
    table::clone_template(admin, db, &table).await?;
    let prepared = methods::prepare(method, platform, &table).await?;

    let load = if under_load {
        Some(
            Load::start(
                &platform.admin_url,
                db,
                &table,
                settings.writers,
                settings.rate,
                settings.rows,
            )
            .await?,
        )
    } else {
        None
    };
    if let Some(_load) = &load {
        tokio::time::sleep(settings.warmup).await;
    }
    let change_start = load.as_ref().map(Load::now);
    let started = Instant::now();
    let times = methods::run(method, prepared, platform, &table, &settings.log_dir).await?;
    let elapsed = started.elapsed();
    let (baseline, during, model) = match load {
        Some(load) => {
            let change_start = change_start.expect("set with the load");
            // A moment after the change, so a statement blocked at its very end counts.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let result = load.stop().await?;
            let baseline = load::window(&result.samples, Duration::ZERO, change_start);
            let during = load::window(&result.samples, change_start, change_start + elapsed);
            (Some(baseline), Some(during), result.model)
        }
        None => (None, None, Default::default()),
    };
    let check = table::verify(admin, db, &table, settings.rows, &model).await?;
    table::drop_all(admin, db, &table).await?;
    Ok(Run {
        method,
        under_load,
        times,
        baseline,
        during,
        check,
    })
}
