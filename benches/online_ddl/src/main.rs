//! Online schema change benchmark (issue 5, "Performance").
//!
//! Starts MariaDB the way dbplane's managed cluster does (the engine's cluster code, durable
//! settings), builds a table of `BENCH_ROWS` rows (~200 bytes each, default 1,000,000), and
//! runs the same ALTER (add a column and an index) on a fresh copy of it three ways —
//! dbplane's online schema change engine (always the online path), `pt-online-schema-change`
//! and `ALTER TABLE … ALGORITHM=COPY` — first idle, then under a steady write load
//! (`BENCH_WRITERS` writers, INSERT + UPDATE by primary key, `BENCH_RATE` statements/s in
//! total). Reports copy rows/s, total time, the writers' throughput, p99 and max latency
//! and errors during the change, and checks the final table against the writers' log.
//! Prints Markdown; exits 1 when a target is missed.
//!
//! Environment: `BENCH_ROWS` (1000000), `BENCH_RATE` (600), `BENCH_WRITERS` (3),
//! `BENCH_METHODS` (osc,pt-osc,copy), `BENCH_MODES` (idle,load), `BENCH_WARMUP_SECS` (3),
//! `BENCH_LOG_DIR` (a temp dir), and the engine's `OSC_CHUNK_MS`, `OSC_MAX_CHUNK`,
//! `OSC_RATIO`, `OSC_MAX_THREADS_RUNNING`.

mod load;
mod methods;
mod report;
mod table;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dbplane_engine::{LocalClusterConfig, start_local_clusters};
use load::{Load, WindowStats};
use methods::{ChangeTimes, Method};
use mysql_async::Conn;
use table::Verification;

pub struct Settings {
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
        rows: env_u64("BENCH_ROWS", 1_000_000)?,
        rate: env_u64("BENCH_RATE", 600)?,
        writers: env_u64("BENCH_WRITERS", 3)?,
        methods: list("BENCH_METHODS", "osc,pt-osc,copy")
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
    // The managed server runs as another user when started as root: let it in.
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))?;
    let settings = settings(temp.path())?;
    std::fs::create_dir_all(&settings.log_dir)?;
    let clusters = start_local_clusters(LocalClusterConfig::new(temp.path().join("clusters")))
        .await
        .context("start the managed MariaDB")?;
    let mysql = clusters.mysql();
    let admin_url = mysql.admin_url();
    let version = mysql.version().await?;
    let mut admin = Conn::new(mysql_async::Opts::from_url(&admin_url)?).await?;
    let built = table::build_template(&mut admin, settings.rows).await?;
    eprintln!(
        "online-ddl-bench: {} rows built in {:.1} s on MariaDB {version}",
        settings.rows,
        built.as_secs_f64()
    );

    let mut runs = Vec::new();
    for &under_load in &settings.modes {
        for &method in &settings.methods {
            let run = measure(
                &settings,
                &mut admin,
                &admin_url,
                mysql.port(),
                method,
                under_load,
            )
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
    clusters.shutdown().await?;
    let passed = report::print(&settings, &version, &runs);
    // `process::exit` runs no destructors: remove the (stopped) server's data dir first.
    temp.close()?;
    std::process::exit(if passed { 0 } else { 1 });
}

fn mode(under_load: bool) -> &'static str {
    if under_load { "under load" } else { "idle" }
}

async fn measure(
    settings: &Settings,
    admin: &mut Conn,
    admin_url: &str,
    port: u16,
    method: Method,
    under_load: bool,
) -> Result<Run> {
    let name = match method {
        Method::Osc => "t_osc",
        Method::PtOsc => "t_ptosc",
        Method::Copy => "t_copy",
    };
    let table = format!("{name}_{}", if under_load { "load" } else { "idle" });
    table::clone_template(admin, &table).await?;

    let load = if under_load {
        Some(
            Load::start(
                admin_url,
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
    let times = methods::run(method, admin_url, port, &table, &settings.log_dir).await?;
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
    let check = table::verify(admin, &table, settings.rows, &model).await?;
    table::drop_all(admin, &table).await?;
    Ok(Run {
        method,
        under_load,
        times,
        baseline,
        during,
        check,
    })
}
