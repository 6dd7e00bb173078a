//! The three ways to run the ALTER.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dbplane_engine::PhysicalName;
use dbplane_engine::online_ddl::{
    ChunkOutcome, CopyOptions, CutoverOptions, OnlineDdl, SchemaChange,
};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::deploy;
use crate::platform::Platform;
use crate::table::ALTER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// dbplane's deploy request over the API (online path: the ALTER adds an index).
    Deploy,
    /// dbplane's online schema change engine driven directly (no job, no polling): shows
    /// what the platform around it adds, and how long the cutover blocked writes.
    Osc,
    /// `pt-online-schema-change` (triggers).
    PtOsc,
    /// `ALTER TABLE ... ALGORITHM=COPY`.
    Copy,
}

impl Method {
    pub fn parse(name: &str) -> Result<Method> {
        Ok(match name {
            "deploy" => Method::Deploy,
            "osc" => Method::Osc,
            "pt-osc" => Method::PtOsc,
            "copy" => Method::Copy,
            other => bail!("unknown method {other:?} (deploy, osc, pt-osc, copy)"),
        })
    }

    /// dbplane's own ways, which the targets apply to.
    pub fn is_ours(self) -> bool {
        matches!(self, Method::Deploy | Method::Osc)
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Deploy => "dbplane deploy request",
            Method::Osc => "dbplane osc engine",
            Method::PtOsc => "pt-online-schema-change",
            Method::Copy => "ALTER ... ALGORITHM=COPY",
        }
    }
}

/// How a change went.
#[derive(Clone, Debug, Default)]
pub struct ChangeTimes {
    /// Start to the last row copied (the whole run where copy and swap are not separate).
    pub copy: Duration,
    /// Start to the new table in place.
    pub total: Duration,
    /// The osc engine: how long the cutover blocked writes; its chunk and change counts.
    pub detail: String,
}

/// Work a method does before the timed window.
pub enum Prepared {
    Nothing,
    Deploy(deploy::Prepared),
}

/// Sets `method` up on `table` (untimed): the deploy request's branch and checks.
pub async fn prepare(method: Method, platform: &Platform, table: &str) -> Result<Prepared> {
    Ok(match method {
        Method::Deploy => Prepared::Deploy(deploy::prepare(platform, table).await?),
        _ => Prepared::Nothing,
    })
}

/// Runs `method` on `table` of `main`'s database.
pub async fn run(
    method: Method,
    prepared: Prepared,
    platform: &Platform,
    table: &str,
    log_dir: &Path,
) -> Result<ChangeTimes> {
    let (admin_url, db) = (platform.admin_url.as_str(), platform.main_db.as_str());
    match (method, prepared) {
        (Method::Deploy, Prepared::Deploy(prepared)) => deploy::run(platform, prepared).await,
        (Method::Deploy, Prepared::Nothing) => bail!("the deploy method was not prepared"),
        (Method::Osc, _) => osc(admin_url, db, table).await,
        (Method::PtOsc, _) => pt_osc(platform.port, db, table, log_dir).await,
        (Method::Copy, _) => alter_copy(admin_url, db, table).await,
    }
}

/// The osc engine, driven the way a deploy job drives it: copy a chunk, apply the binlog,
/// repeat; then catch up and cut over.
async fn osc(admin_url: &str, db: &str, table: &str) -> Result<ChangeTimes> {
    let ddl = OnlineDdl::new(admin_url)?;
    let options = copy_options();
    let started = Instant::now();
    let mut state = ddl
        .prepare(
            &PhysicalName::new(db)?,
            table,
            &SchemaChange::Alter(ALTER.into()),
            &[],
        )
        .await?;
    let mut chunks = 0;
    let mut applied_at = Instant::now();
    loop {
        match ddl.copy_chunk(&mut state, &options).await? {
            ChunkOutcome::Done => break,
            ChunkOutcome::Copied { .. } => chunks += 1,
            ChunkOutcome::Throttled => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        // Each apply opens a binlog stream: batch the changes of a few chunks.
        if applied_at.elapsed() >= apply_interval() {
            ddl.apply_changes(&mut state).await?;
            applied_at = Instant::now();
        }
    }
    ddl.apply_changes(&mut state).await?;
    let copy = started.elapsed();
    let outcome = ddl.cutover(&mut state, &CutoverOptions::default()).await?;
    let total = started.elapsed();
    ddl.drop_artifacts(&state).await?;
    ddl.disconnect().await?;
    Ok(ChangeTimes {
        copy,
        total,
        detail: format!(
            "{chunks} chunks, {} binlog changes applied, cutover blocked writes {:.1} ms (attempt {}, {} drained)",
            state.changes_applied,
            outcome.write_block.as_secs_f64() * 1000.0,
            outcome.attempts,
            outcome.drained
        ),
    })
}

/// How often the driver applies the binlog during the copy (`OSC_APPLY_MS`, default 250).
fn apply_interval() -> Duration {
    let ms = std::env::var("OSC_APPLY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    Duration::from_millis(ms)
}

/// The engine's copy options for the benchmark (`OSC_*` environment overrides).
fn copy_options() -> CopyOptions {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut options = CopyOptions::default();
    if let Some(ms) = env("OSC_CHUNK_MS") {
        options.target_chunk_time = Duration::from_millis(ms);
    }
    if let Some(rows) = env("OSC_MAX_CHUNK") {
        options.max_chunk_size = rows;
    }
    if let Some(ratio) = env("OSC_RATIO") {
        options.throttle_ratio = ratio.min(95) as u8;
    }
    options.max_threads_running = env("OSC_MAX_THREADS_RUNNING");
    options
}

async fn pt_osc(port: u16, db: &str, table: &str, log_dir: &Path) -> Result<ChangeTimes> {
    let log = log_dir.join(format!("pt-osc-{table}.log"));
    let output = std::fs::File::create(&log)?;
    let started = Instant::now();
    let status = tokio::process::Command::new("pt-online-schema-change")
        .args([
            "--alter",
            ALTER,
            "--execute",
            "--recursion-method=none",
            "--no-drop-old-table",
            "--charset=utf8mb4",
            &format!("h=127.0.0.1,P={port},u=root,D={db},t={table}"),
        ])
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .status()
        .await
        .context("run pt-online-schema-change (apt-get install percona-toolkit)")?;
    let total = started.elapsed();
    if !status.success() {
        bail!(
            "pt-online-schema-change failed ({status}); see {}",
            log.display()
        );
    }
    Ok(ChangeTimes {
        copy: total,
        total,
        detail: format!("log: {}", log.display()),
    })
}

async fn alter_copy(admin_url: &str, db: &str, table: &str) -> Result<ChangeTimes> {
    let mut conn = Conn::new(mysql_async::Opts::from_url(admin_url)?).await?;
    let started = Instant::now();
    conn.query_drop(format!(
        "ALTER TABLE {db}.`{table}` {ALTER}, ALGORITHM=COPY"
    ))
    .await?;
    let total = started.elapsed();
    conn.disconnect().await?;
    Ok(ChangeTimes {
        copy: total,
        total,
        detail: String::new(),
    })
}
