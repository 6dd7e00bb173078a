//! HTTP SQL benchmark (issue 17). One `dbplane serve` (`--dbplane <path>`) with a managed
//! MariaDB, a database `bench` and a table `kv` of 10,000 rows. The same statements — a
//! point select by primary key, a single-row insert — run from Node.js through
//! `@planetscale/database` (HTTPS to the password's `access_host_url`) and through
//! `mysql2` (the MySQL protocol to the branch's `mysql_edge_address`), one after the
//! other, at each concurrency. Concurrency is spread over `--processes` Node processes,
//! since one process's `fetch` saturates a core long before the edge does; their
//! latencies are merged.
//!
//! Then `--sessions` requests each from a new driver connection (a new HTTP session, as
//! serverless functions make them): the server's resident memory before and after, and
//! the sessions it keeps. Then MySQL logins at the MySQL port, at the HTTP port (served
//! after its silent window) and straight to MariaDB.
//!
//! Beside them, the same `fetch` to a path the edge answers at once (no database): the
//! floor any HTTPS request costs the client.
//!
//! Target: HTTP adds at most 0.3 ms to the median over mysql2 at every concurrency; memory
//! flat over the sessions (under 16 MiB growth). Prints Markdown; exits 1 on a miss.
//! The Node.js packages are `tests/clients/node`'s (`scripts/install-client-deps.sh`).

#[path = "../../dataplane_latency/src/api.rs"]
#[allow(dead_code)]
mod api;
#[path = "../../dataplane_latency/src/server.rs"]
#[allow(dead_code)]
mod server;

use anyhow::{Context, Result, bail};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};

struct Options {
    dbplane: PathBuf,
    node_clients: PathBuf,
    concurrency: Vec<usize>,
    processes: usize,
    seconds: u32,
    sessions: usize,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        dbplane: PathBuf::new(),
        node_clients: PathBuf::from("tests/clients/node"),
        concurrency: vec![1, 32],
        processes: 4,
        seconds: 10,
        sessions: 20_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dbplane" => options.dbplane = PathBuf::from(value()?),
            "--node-clients" => options.node_clients = PathBuf::from(value()?),
            "--concurrency" => {
                options.concurrency = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--processes" => options.processes = value()?.parse()?,
            "--seconds" => options.seconds = value()?.parse()?,
            "--sessions" => options.sessions = value()?.parse()?,
            other => bail!(
                "unknown argument {other:?} (usage: --dbplane <path> [--node-clients DIR] \
                 [--concurrency 1,32] [--processes N] [--seconds N] [--sessions N])"
            ),
        }
    }
    if options.dbplane.as_os_str().is_empty() {
        bail!("--dbplane <path> is required");
    }
    Ok(options)
}

fn log(message: impl AsRef<str>) {
    eprintln!("[http-sql] {}", message.as_ref());
}

#[tokio::main]
async fn main() {
    let result = async {
        let options = parse_options()?;
        run(&options).await
    }
    .await;
    server::exit("http-sql", result);
}

/// What every Node process is given.
struct Setup {
    env: Vec<(String, String)>,
}

async fn run(options: &Options) -> Result<bool> {
    log("starting dbplane with managed clusters");
    let mut server = server::Server::start(&options.dbplane, false).await?;
    let outcome = async {
        let setup = prepare(&server).await?;
        let mut ok = true;
        println!("| statement | concurrency | client | statements/s | median ms | p99 ms | HTTP adds (median) | |");
        println!("|---|---|---|---|---|---|---|---|");
        for &concurrency in &options.concurrency {
            let processes = options.processes.min(concurrency).max(1);
            let floor = merged_case(options, &setup, "floor", "", concurrency, processes)?;
            println!(
                "| (none) | {concurrency} ({processes} processes) | fetch floor: HTTPS request the edge answers at once | {:.0} | {:.3} | {:.3} |  |  |",
                floor.per_second, floor.median, floor.p99
            );
        }
        for statement in ["point_select", "insert"] {
            for &concurrency in &options.concurrency {
                let processes = options.processes.min(concurrency).max(1);
                let mysql2 = merged_case(options, &setup, "mysql2", statement, concurrency, processes)?;
                let http = merged_case(options, &setup, "http", statement, concurrency, processes)?;
                let added = http.median - mysql2.median;
                let pass = added <= 0.3;
                ok &= pass;
                for (client, run) in [("mysql2 (MySQL protocol)", &mysql2), ("@planetscale/database (HTTP)", &http)] {
                    let verdict = if client.starts_with('@') {
                        format!("{added:+.3} ms | {}", if pass { "PASS" } else { "MISS" })
                    } else {
                        " | ".into()
                    };
                    println!(
                        "| {statement} | {concurrency} ({processes} processes) | {client} | {:.0} | {:.3} | {:.3} | {verdict} |",
                        run.per_second, run.median, run.p99
                    );
                }
            }
        }
        let pid = server.pid().context("the server's pid")?;
        ok &= sessions(options, &setup, &server, pid).await?;
        logins(options, &setup)?;
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

/// The database, its password and its table; the environment of the Node processes.
async fn prepare(server: &server::Server) -> Result<Setup> {
    let api = api::Api::new(
        &server.base_url,
        &server.authorization,
        &server.organization,
    );
    api.create_database("bench", "mysql").await?;
    let path = format!("{}/branches/main/passwords", api.database_path("bench"));
    let (status, body) = api
        .post(&path, json!({"name": "http-sql", "role": "admin"}))
        .await?;
    if status != 201 {
        bail!("POST {path} answered {status}: {body}");
    }
    let field = |value: &Value| value.as_str().unwrap_or_default().to_string();
    let mysql_address = field(&body["database_branch"]["mysql_edge_address"]);
    let (host, port) = mysql_address
        .rsplit_once(':')
        .context("mysql_edge_address is host:port")?;
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host.to_string())
        .tcp_port(port.parse()?)
        .user(Some(field(&body["username"])))
        .pass(Some(field(&body["plain_text"])))
        .db_name(Some(field(&body["database_name"])))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await?;
    conn.query_drop(
        "CREATE TABLE kv (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, v VARCHAR(100) NOT NULL)",
    )
    .await?;
    conn.query_drop("INSERT INTO kv (k, v) SELECT seq, CONCAT('row ', seq) FROM seq_1_to_10000")
        .await?;
    conn.disconnect().await?;
    let mysql_port: u16 = std::fs::read_to_string(server.data_dir().join("clusters/mysql/port"))?
        .trim()
        .parse()?;
    let certificate = server.data_dir().join("edge/edge-cert.pem");
    log(format!(
        "HTTP at {}, MySQL at {mysql_address}",
        field(&body["access_host_url"])
    ));
    Ok(Setup {
        env: vec![
            ("EDGE_ACCESS_HOST".into(), field(&body["access_host_url"])),
            ("EDGE_MYSQL_ADDRESS".into(), mysql_address.clone()),
            ("EDGE_USER".into(), field(&body["username"])),
            ("EDGE_PASSWORD".into(), field(&body["plain_text"])),
            ("EDGE_DATABASE".into(), field(&body["database_name"])),
            (
                "NODE_EXTRA_CA_CERTS".into(),
                certificate.display().to_string(),
            ),
            ("DIRECT_PORT".into(), mysql_port.to_string()),
            (
                "DIRECT_DATABASE".into(),
                format!("dbp_{}", field(&body["database_branch"]["id"])),
            ),
        ],
    })
}

fn node(options: &Options, setup: &Setup, env: &[(&str, String)]) -> Command {
    let mut command = Command::new("node");
    command
        .arg("bench_http_sql.mjs")
        .current_dir(&options.node_clients)
        .envs(setup.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn json_output(child: std::process::Child, what: &str) -> Result<Value> {
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("{what} failed: {}", output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("{what} prints JSON"))
}

struct Run {
    per_second: f64,
    median: f64,
    p99: f64,
}

/// One case over `processes` Node processes at once, latencies merged.
fn merged_case(
    options: &Options,
    setup: &Setup,
    client: &str,
    statement: &str,
    concurrency: usize,
    processes: usize,
) -> Result<Run> {
    let mut children = Vec::new();
    for index in 0..processes {
        let share = concurrency / processes + usize::from(index < concurrency % processes);
        let env = [
            ("MODE", "case".to_string()),
            ("CLIENT", client.to_string()),
            ("STATEMENT", statement.to_string()),
            ("CONCURRENCY", share.to_string()),
            ("SECONDS", options.seconds.to_string()),
        ];
        children.push(node(options, setup, &env).spawn()?);
    }
    let mut latencies = Vec::new();
    for child in children {
        let output = json_output(child, &format!("{client} {statement}"))?;
        latencies.extend(
            output["latencies"]
                .as_array()
                .context("latencies")?
                .iter()
                .filter_map(Value::as_f64),
        );
    }
    if latencies.is_empty() {
        bail!("{client} {statement}: no statement completed");
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Run {
        per_second: latencies.len() as f64 / f64::from(options.seconds),
        median: at(0.5),
        p99: at(0.99),
    })
}

async fn gauge(server: &server::Server, name: &str) -> Result<f64> {
    let page = reqwest::get(format!("{}/metrics", server.base_url))
        .await?
        .text()
        .await?;
    Ok(page
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0))
}

/// Many short-lived HTTP sessions: memory before and after, sessions kept.
async fn sessions(
    options: &Options,
    setup: &Setup,
    server: &server::Server,
    pid: u32,
) -> Result<bool> {
    let before = server::rss_kib(pid)?;
    let env = [
        ("MODE", "sessions".to_string()),
        ("SESSIONS", options.sessions.to_string()),
        ("CONCURRENCY", "32".to_string()),
    ];
    let output = json_output(node(options, setup, &env).spawn()?, "sessions")?;
    let after = server::rss_kib(pid)?;
    let kept = gauge(server, "dbplane_edge_http_sessions").await?;
    let clients = gauge(server, "dbplane_edge_client_sessions").await?;
    let growth_mib = (after as f64 - before as f64) / 1024.0;
    let pass = growth_mib < 16.0 && kept == 0.0;
    println!();
    println!(
        "| HTTP sessions | seconds | server RSS before | after | growth | sessions kept after | edge sessions open (spares) | |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.1} MiB | {:.1} MiB | {growth_mib:+.1} MiB | {kept} | {clients} | {} |",
        options.sessions,
        output["seconds"],
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        if pass { "PASS" } else { "MISS" }
    );
    Ok(pass)
}

/// MySQL logins at each address (the HTTP port serves MySQL after its silent window).
fn logins(options: &Options, setup: &Setup) -> Result<()> {
    let env = [
        ("MODE", "connect".to_string()),
        ("COUNT", "100".to_string()),
    ];
    let output = json_output(node(options, setup, &env).spawn()?, "logins")?;
    println!();
    println!(
        "| MySQL login (mysql2, median of 100) | edge MySQL port | HTTP port (`access_host_url`) | MariaDB direct |"
    );
    println!("|---|---|---|---|");
    println!(
        "| ms | {} | {} | {} |",
        output["edge"], output["access_host_url"], output["direct"]
    );
    Ok(())
}
