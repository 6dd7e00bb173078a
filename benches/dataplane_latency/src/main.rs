//! Data plane latency benchmark (issue 3).
//!
//! Starts one real `dbplane serve` with managed MariaDB and PostgreSQL on a temporary
//! data dir and measures, over the public API, from just before the `POST` to the first
//! `GET` that reports the resource ready (polled every 10 ms):
//!
//! - database creation (`state: ready`), MariaDB and PostgreSQL;
//! - development branch creation (`ready: true`) of a parent with 10 and with 200 tables
//!   (each with a secondary index and a foreign key to the previous table), both engines.
//!
//! Each branch is deleted after it was measured, and the next run starts once its delete
//! job finished, so every run copies the same parent onto an otherwise idle server.
//! Afterwards the server's JSON log is read back to split each creation into its job
//! steps. Prints Markdown; exits 1 when a target (median < 1 s) is missed, 2 on errors.
//!
//! Usage: `dataplane-latency [--dbplane PATH] [--runs N] [--tables 10,200]
//!         [--engines mysql,postgresql] [--no-fsync] [--log-out FILE]`
//! (`DBPLANE_BIN` and `RUNS` work too; the default binary is `dbplane` next to this one).

mod api;
mod cpu;
mod logs;
mod report;
mod schema;
mod server;

use anyhow::{Context, Result, bail};
use api::{Api, Timed};
use logs::JobTimeline;
use server::Server;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// The targets: a dev branch of a 200-table parent, and a new database, ready in
/// under a second. The same bound is applied to the 10-table branch.
const TARGET: Duration = Duration::from_secs(1);

struct Options {
    dbplane: PathBuf,
    runs: usize,
    tables: Vec<usize>,
    engines: Vec<Engine>,
    no_fsync: bool,
    log_out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Mysql,
    Postgresql,
}

impl Engine {
    fn kind(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgresql => "postgresql",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Engine::Mysql => "MariaDB",
            Engine::Postgresql => "PostgreSQL",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Engine::Mysql => "my",
            Engine::Postgresql => "pg",
        }
    }
}

fn parse_options() -> Result<Options> {
    let mut dbplane = std::env::var_os("DBPLANE_BIN").map(PathBuf::from);
    let mut runs: usize = match std::env::var("RUNS") {
        Ok(value) => value.parse().context("RUNS")?,
        Err(_) => 10,
    };
    let mut tables = vec![10, 200];
    let mut engines = vec![Engine::Mysql, Engine::Postgresql];
    let mut no_fsync = false;
    let mut log_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dbplane" => dbplane = Some(PathBuf::from(value("--dbplane")?)),
            "--runs" => runs = value("--runs")?.parse().context("--runs")?,
            "--tables" => {
                tables = value("--tables")?
                    .split(',')
                    .map(|n| n.trim().parse().context("--tables"))
                    .collect::<Result<_>>()?;
            }
            "--engines" => {
                engines = value("--engines")?
                    .split(',')
                    .map(|e| match e.trim() {
                        "mysql" | "mariadb" => Ok(Engine::Mysql),
                        "postgresql" | "postgres" => Ok(Engine::Postgresql),
                        other => bail!("unknown engine {other}"),
                    })
                    .collect::<Result<_>>()?;
            }
            "--no-fsync" => no_fsync = true,
            "--log-out" => log_out = Some(PathBuf::from(value("--log-out")?)),
            "-h" | "--help" => {
                println!(
                    "dataplane-latency [--dbplane PATH] [--runs N] [--tables 10,200] \
                     [--engines mysql,postgresql] [--no-fsync] [--log-out FILE]"
                );
                std::process::exit(0);
            }
            other if !other.starts_with('-') && dbplane.is_none() => {
                dbplane = Some(PathBuf::from(other));
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let dbplane = match dbplane {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark's directory")?
            .join("dbplane"),
    };
    if !dbplane.is_file() {
        bail!(
            "no dbplane binary at {} (pass --dbplane PATH)",
            dbplane.display()
        );
    }
    if runs == 0 || runs > 90 {
        bail!("--runs must be 1..=90 (a database allows 100 development branches)");
    }
    Ok(Options {
        dbplane,
        runs,
        tables,
        engines,
        no_fsync,
        log_out,
    })
}

/// One measured case.
struct Case {
    name: String,
    samples: Vec<Timed>,
    load_before: String,
    load_after: String,
    /// Share of the whole machine's CPU that was busy during the case (ours included),
    /// and the part of it taken by processes outside this benchmark.
    busy: f64,
    others: f64,
    /// Job kind whose timeline explains a sample.
    job_kind: &'static str,
    /// Branch cases: each branch's DELETE until its delete job finished (not a target).
    deletes: Vec<Duration>,
}

#[tokio::main]
async fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("dataplane-latency: {error:#}");
            std::process::exit(2);
        }
    };
    let code = match run(&options).await {
        Ok(all_met) => i32::from(!all_met),
        Err(error) => {
            eprintln!("dataplane-latency: error: {error:#}");
            2
        }
    };
    std::process::exit(code);
}

fn log(message: impl AsRef<str>) {
    eprintln!("dataplane-latency: {}", message.as_ref());
}

async fn run(options: &Options) -> Result<bool> {
    let load_start = loadavg();
    log(format!(
        "starting {} (managed clusters)",
        options.dbplane.display()
    ));
    let started = Instant::now();
    let mut server = Server::start(&options.dbplane, options.no_fsync).await?;
    let startup = started.elapsed();
    log(format!(
        "serving at {} after {startup:.1?} (pid {})",
        server.base_url,
        server.pid().unwrap_or(0)
    ));
    let outcome = measure(&server, options).await;
    // Always stop gracefully, so the clusters stop with the server.
    let stop = server.stop().await;
    if let Some(path) = &options.log_out {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::copy(server.log_path(), path)
            .with_context(|| format!("copy the server log to {}", path.display()))?;
        log(format!("server log copied to {}", path.display()));
    }
    let jobs = logs::read_jobs(&server.log_path());
    let (cases, cold) = outcome?;
    let stop = stop?;
    log(format!("server stopped {stop:.1?} after SIGTERM"));
    Ok(report::report(
        options,
        &cases,
        &cold,
        &jobs,
        startup,
        &load_start,
    ))
}

/// Creations done before the measured cases (first of each engine), shown apart.
struct Cold {
    name: String,
    elapsed: Duration,
    schema: Duration,
}

async fn measure(server: &Server, options: &Options) -> Result<(Vec<Case>, Vec<Cold>)> {
    let api = Api::new(
        &server.base_url,
        &server.authorization,
        &server.organization,
    );
    let mut cases = Vec::new();
    let mut cold = Vec::new();

    // Parents first: they also warm up each engine's admin connections.
    let mut parents = Vec::new();
    for &engine in &options.engines {
        for &tables in &options.tables {
            let database = format!("parent-{}-{tables}", engine.short());
            let timed = api.create_database(&database, engine.kind()).await?;
            let schema_started = Instant::now();
            match engine {
                Engine::Mysql => {
                    let login = api.mysql_admin(&database).await?;
                    schema::create_mysql(&login, tables).await?;
                }
                Engine::Postgresql => {
                    let login = api.postgres_owner(&database).await?;
                    schema::create_postgres(&login, tables).await?;
                }
            }
            let schema_elapsed = schema_started.elapsed();
            let seen = api.branch_tables(&database, "main").await?;
            if seen != tables {
                bail!("{database}: the API shows {seen} tables on main, expected {tables}");
            }
            log(format!(
                "{database}: ready in {:.0?}, {tables} tables created in {schema_elapsed:.1?}",
                timed.elapsed
            ));
            cold.push(Cold {
                name: format!("{} database `{database}` (parent)", engine.label()),
                elapsed: timed.elapsed,
                schema: schema_elapsed,
            });
            parents.push((engine, tables, database));
        }
    }

    for &engine in &options.engines {
        let name = format!("new database, {}", engine.label());
        log(format!("measuring: {name} x{}", options.runs));
        let mut case = CaseRecorder::start(&name, "create_branch", server);
        for run in 0..options.runs {
            let database = format!("lat-{}-{run}", engine.short());
            case.samples
                .push(api.create_database(&database, engine.kind()).await?);
        }
        cases.push(case.finish());
    }

    for (engine, tables, database) in &parents {
        let name = format!("dev branch, {tables}-table parent, {}", engine.label());
        log(format!("measuring: {name} x{}", options.runs));
        let mut case = CaseRecorder::start(&name, "create_branch", server);
        let deletes_before = finished_deletes(server);
        for run in 0..options.runs {
            let branch = format!("b{tables}-{run}");
            case.samples
                .push(api.create_branch(database, &branch).await?);
            if run == 0 {
                // Outside the timed window: the copy must be complete to count.
                let seen = api.branch_tables(database, &branch).await?;
                if seen != *tables {
                    bail!("{database}/{branch}: {seen} tables, expected {tables}");
                }
            }
            let deleted = Instant::now();
            api.delete_branch(database, &branch).await?;
            wait_for_delete_jobs(server, deletes_before + run + 1).await?;
            case.delete_times.push(deleted.elapsed());
        }
        log(format!(
            "  branch delete (DELETE to its job finished): median {}",
            ms(stats(&case.delete_times).median)
        ));
        cases.push(case.finish());
    }
    Ok((cases, cold))
}

struct CaseRecorder {
    name: String,
    samples: Vec<Timed>,
    load_before: String,
    server: Option<u32>,
    cpu_before: Option<cpu::Sample>,
    job_kind: &'static str,
    delete_times: Vec<Duration>,
}

impl CaseRecorder {
    fn start(name: &str, job_kind: &'static str, server: &Server) -> Self {
        CaseRecorder {
            name: name.to_string(),
            samples: Vec::new(),
            load_before: loadavg(),
            server: server.pid(),
            cpu_before: cpu::sample(server.pid()),
            job_kind,
            delete_times: Vec::new(),
        }
    }

    fn finish(self) -> Case {
        let (busy, others) = cpu::shares(self.cpu_before, cpu::sample(self.server));
        Case {
            name: self.name,
            samples: self.samples,
            load_before: self.load_before,
            load_after: loadavg(),
            busy,
            others,
            job_kind: self.job_kind,
            deletes: self.delete_times,
        }
    }
}

fn finished_deletes(server: &Server) -> usize {
    logs::read_jobs(&server.log_path())
        .iter()
        .filter(|job| job.kind == "delete_branch" && job.finished.is_some())
        .count()
}

/// Waits until the log shows `expected` finished branch deletions (so the next run does
/// not share the machine with a DROP DATABASE).
async fn wait_for_delete_jobs(server: &Server, expected: usize) -> Result<()> {
    let started = Instant::now();
    while finished_deletes(server) < expected {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the branch delete job did not finish within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

// ---------------------------------------------------------------------------- report

struct Stats {
    min: Duration,
    median: Duration,
    p90: Duration,
    max: Duration,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Stats {
            min: Duration::ZERO,
            median: Duration::ZERO,
            p90: Duration::ZERO,
            max: Duration::ZERO,
        };
    }
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    // Nearest rank.
    let p90 = sorted[((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1];
    Stats {
        min: sorted[0],
        median,
        p90,
        max: sorted[n - 1],
    }
}

fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1e3;
    if millis < 10.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.0} ms")
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// The job that served a sample: the first one of `kind` that started after its POST
/// was sent (the log has microseconds, hence the 1 ms allowance) and before it was seen
/// ready. Samples run one at a time, so no other job of the kind starts in that window.
fn job_of<'a>(jobs: &'a [JobTimeline], kind: &str, sample: &Timed) -> Option<&'a JobTimeline> {
    let from = sample.posted_at - Duration::from_millis(1);
    jobs.iter()
        .filter(|job| job.kind == kind)
        .filter_map(|job| job.started().map(|at| (at, job)))
        .filter(|(at, _)| *at >= from && *at <= sample.ready_at)
        .min_by_key(|(at, _)| *at)
        .map(|(_, job)| job)
}

/// `later - earlier` in milliseconds, negative when `later` is earlier.
fn signed_ms(later: SystemTime, earlier: SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

fn median_ms(values: &[f64]) -> String {
    if values.is_empty() {
        return "–".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    format!("{median:.1} ms")
}

fn since(later: SystemTime, earlier: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90_by_nearest_rank() {
        let samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let s = stats(&samples);
        assert_eq!(s.median, Duration::from_micros(5_500));
        assert_eq!(s.p90, Duration::from_millis(9));
        assert_eq!(s.max, Duration::from_millis(10));
        assert_eq!(s.min, Duration::from_millis(1));
    }
}
