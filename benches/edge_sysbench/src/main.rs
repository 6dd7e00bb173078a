//! Connection edge benchmark (issue 16). One `dbplane serve` (`--dbplane <path>`) with a
//! managed MariaDB and a database `bench`; sysbench's tables are prepared once, then
//! `oltp_point_select` and `oltp_read_write` run at each thread count twice in a row with
//! the same account and the same server: straight to MariaDB (the branch's physical
//! database) and through the edge (the password's address, the database's own name).
//! Then `--idle` clients log in through the edge and stay idle: the edge's resident
//! memory per client and the backend connections they hold.
//!
//! Targets: through the edge ≥ 0.85× direct throughput and p99 ≤ 1.2× direct at every
//! thread count, zero errors, under 64 KiB of edge memory per idle client. Prints a
//! Markdown table; exits 1 when a target is missed.
//!
//! sysbench runs with `--db-ps-mode=disable` on both paths: with its default server-side
//! prepared statements, every sysbench thread keeps statements open for its whole run,
//! which pins its session to one backend connection (the edge cannot replay a prepared
//! statement on another), so the pool would need a backend per thread.

#[path = "../../dataplane_latency/src/api.rs"]
#[allow(dead_code)]
mod api;
#[path = "../../dataplane_latency/src/server.rs"]
#[allow(dead_code)]
mod server;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

struct Options {
    dbplane: PathBuf,
    threads: Vec<u32>,
    seconds: u32,
    tables: u32,
    table_size: u32,
    idle: usize,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        dbplane: PathBuf::new(),
        threads: vec![1, 8, 64],
        seconds: 20,
        tables: 4,
        table_size: 10_000,
        idle: 5_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dbplane" => options.dbplane = PathBuf::from(value()?),
            "--threads" => {
                options.threads = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => options.seconds = value()?.parse()?,
            "--tables" => options.tables = value()?.parse()?,
            "--table-size" => options.table_size = value()?.parse()?,
            "--idle" => options.idle = value()?.parse()?,
            other => bail!(
                "unknown argument {other:?} (usage: --dbplane <path> [--threads 1,8,64] \
                 [--seconds N] [--tables N] [--table-size N] [--idle N])"
            ),
        }
    }
    if options.dbplane.as_os_str().is_empty() {
        bail!("--dbplane <path> is required");
    }
    Ok(options)
}

fn log(message: impl AsRef<str>) {
    eprintln!("[edge-sysbench] {}", message.as_ref());
}

#[tokio::main]
async fn main() {
    let result = async {
        let options = parse_options()?;
        run(&options).await
    }
    .await;
    server::exit("edge-sysbench", result);
}

/// Where sysbench connects.
#[derive(Clone)]
struct Target {
    host: String,
    port: u16,
    user: String,
    password: String,
    database: String,
}

async fn run(options: &Options) -> Result<bool> {
    log("starting dbplane with managed clusters");
    let mut server = server::Server::start(&options.dbplane, false).await?;
    let outcome = async {
        let api = api::Api::new(
            &server.base_url,
            &server.authorization,
            &server.organization,
        );
        api.create_database("bench", "mysql").await?;
        let path = format!("{}/branches/main/passwords", api.database_path("bench"));
        let (status, body) = api
            .post(&path, json!({"name": "sysbench", "role": "admin"}))
            .await?;
        if status != 201 {
            bail!("POST {path} answered {status}: {body}");
        }
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
        let (host, port) = body["database_branch"]["mysql_edge_address"]
            .as_str()
            .unwrap_or_default()
            .rsplit_once(':')
            .map(|(h, p)| (h.to_string(), p.parse::<u16>()))
            .context("mysql_edge_address is host:port")?;
        let edge = Target {
            host,
            port: port?,
            user: field("username"),
            password: field("plain_text"),
            database: field("database_name"),
        };
        let mysql_port: u16 = std::fs::read_to_string(
            server.data_dir().join("clusters/mysql/port"),
        )?
        .trim()
        .parse()?;
        let direct = Target {
            host: "127.0.0.1".into(),
            port: mysql_port,
            database: format!("dbp_{}", body["database_branch"]["id"].as_str().unwrap_or("")),
            ..edge.clone()
        };
        log(format!(
            "edge {}:{} /{}; direct {}:{} /{}",
            edge.host, edge.port, edge.database, direct.host, direct.port, direct.database
        ));
        sysbench(options, "oltp_read_write", &direct, 8, "prepare")?;
        let mut ok = true;
        println!("| workload | threads | direct tps | edge tps | ratio | direct p99 ms | edge p99 ms | p99 ratio | errors (direct/edge) | |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for workload in ["oltp_point_select", "oltp_read_write"] {
            for &threads in &options.threads {
                let direct_run = measure(options, workload, &direct, threads)?;
                let edge_run = measure(options, workload, &edge, threads)?;
                let ratio = edge_run.tps / direct_run.tps;
                let p99_ratio = edge_run.p99_ms / direct_run.p99_ms;
                let pass = ratio >= 0.85
                    && p99_ratio <= 1.2
                    && edge_run.errors == 0
                    && direct_run.errors == 0;
                ok &= pass;
                println!(
                    "| {workload} | {threads} | {:.0} | {:.0} | {ratio:.2}× | {:.2} | {:.2} | {p99_ratio:.2}× | {}/{} | {} |",
                    direct_run.tps,
                    edge_run.tps,
                    direct_run.p99_ms,
                    edge_run.p99_ms,
                    direct_run.errors,
                    edge_run.errors,
                    if pass { "PASS" } else { "MISS" }
                );
            }
        }
        let pid = server.pid().context("the server's pid")?;
        ok &= idle_clients(options, &edge, &direct, pid).await?;
        Ok(ok)
    }
    .await;
    if let Err(error) = &outcome {
        log(format!(
            "failed: {error:#}\nserver log tail:\n{}",
            server.log_tail(30)
        ));
    }
    server.stop().await?;
    outcome
}

fn sysbench(
    options: &Options,
    workload: &str,
    target: &Target,
    threads: u32,
    command: &str,
) -> Result<String> {
    let output = Command::new("sysbench")
        .arg(workload)
        .arg("--db-driver=mysql")
        .arg(format!("--mysql-host={}", target.host))
        .arg(format!("--mysql-port={}", target.port))
        .arg(format!("--mysql-user={}", target.user))
        .arg(format!("--mysql-password={}", target.password))
        .arg(format!("--mysql-db={}", target.database))
        .arg("--mysql-ssl=off")
        .arg("--db-ps-mode=disable")
        .arg(format!("--tables={}", options.tables))
        .arg(format!("--table-size={}", options.table_size))
        .arg(format!("--threads={threads}"))
        .arg(format!("--time={}", options.seconds))
        .arg("--percentile=99")
        .arg("--report-interval=0")
        .arg(command)
        .output()
        .context("run sysbench (apt install sysbench)")?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "sysbench {workload} {command} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

struct Run {
    tps: f64,
    p99_ms: f64,
    errors: u64,
}

fn measure(options: &Options, workload: &str, target: &Target, threads: u32) -> Result<Run> {
    let text = sysbench(options, workload, target, threads, "run")?;
    // "transactions:  1234 (123.45 per sec.)", "99th percentile:  1.23",
    // "ignored errors:  0  (0.00 per sec.)"
    let number_after = |label: &str, paren: bool| -> Option<f64> {
        let line = text
            .lines()
            .find(|line| line.trim_start().starts_with(label))?;
        let rest = line.split_once(':')?.1;
        let word = if paren {
            rest.split_once('(')?.1.split_whitespace().next()?
        } else {
            rest.split_whitespace().next()?
        };
        word.parse().ok()
    };
    let run = Run {
        tps: number_after("transactions", true).context("sysbench printed no tps")?,
        p99_ms: number_after("99th percentile", false).context("sysbench printed no p99")?,
        errors: number_after("ignored errors", false).unwrap_or(0.0) as u64,
    };
    log(format!(
        "{workload} threads={threads} {}:{} tps={:.0} p99={:.2}ms errors={}",
        target.host, target.port, run.tps, run.p99_ms, run.errors
    ));
    Ok(run)
}

/// Resident memory of a process, in KiB.
async fn backends(direct: &Target, user: &str) -> Result<u64> {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(direct.host.clone())
        .tcp_port(direct.port)
        .user(Some("root"))
        .prefer_socket(false);
    let mut root = mysql_async::Conn::new(options).await?;
    let count: Option<u64> = root
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
            (user,),
        )
        .await?;
    root.disconnect().await?;
    Ok(count.unwrap_or(0))
}

async fn idle_clients(options: &Options, edge: &Target, direct: &Target, pid: u32) -> Result<bool> {
    let before = server::rss_kib(pid)?;
    let connect = || {
        let options = mysql_async::OptsBuilder::default()
            .ip_or_hostname(edge.host.clone())
            .tcp_port(edge.port)
            .user(Some(edge.user.clone()))
            .pass(Some(edge.password.clone()))
            .db_name(Some(edge.database.clone()))
            .prefer_socket(false);
        mysql_async::Conn::new(options)
    };
    let started = std::time::Instant::now();
    let clients: Vec<_> = futures_util::stream::iter(0..options.idle)
        .map(|_| connect())
        .buffer_unordered(64)
        .collect()
        .await;
    let failed = clients.iter().filter(|c| c.is_err()).count();
    let after = server::rss_kib(pid)?;
    let held = backends(direct, &edge.user).await?;
    let per_client = after.saturating_sub(before) as f64 / options.idle as f64;
    let pass = failed == 0 && per_client < 64.0;
    println!();
    println!(
        "| idle clients | logins took | failed | edge RSS before → after | per client | backend connections | |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {:.1?} | {failed} | {:.1} MiB → {:.1} MiB | {per_client:.1} KiB | {held} | {} |",
        options.idle,
        started.elapsed(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        if pass { "PASS" } else { "MISS" }
    );
    futures_util::stream::iter(clients.into_iter().flatten())
        .for_each_concurrent(64, |client| async move {
            let _ = client.disconnect().await;
        })
        .await;
    Ok(pass)
}
