//! List latency benchmark (issue 14): one organization with 1,000 databases and one of its
//! databases with 1,000 deploy requests, all made through the API of a real `dbplane
//! serve` (`--dbplane <path>`) with managed MariaDB and PostgreSQL; then every page of
//! `GET .../databases?per_page=100` and `GET .../deploy-requests?per_page=100` is read
//! `--rounds` times and the latency per page is reported (p50, p99, max). Target: p99
//! under 20 ms. Exits 1 when a target is missed.
//!
//! The deploy requests are real: `--heads` development branches of `shop` (each with a
//! table of its own) each open a deploy request into `main` (safe migrations on), which is
//! closed and opened again until there are 1,000; the last of each head stays open, so the
//! background recheck and the queue logic have open requests to consider.

#[path = "../../dataplane_latency/src/api.rs"]
#[allow(dead_code)]
mod api;
#[path = "../../dataplane_latency/src/server.rs"]
#[allow(dead_code)]
mod server;

use anyhow::{Context, Result, bail};
use api::{Api, Login};
use mysql_async::prelude::Queryable;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const TARGET_P99: Duration = Duration::from_millis(20);
const PER_PAGE: usize = 100;

struct Options {
    dbplane: PathBuf,
    databases: usize,
    deploy_requests: usize,
    heads: usize,
    rounds: usize,
    /// Creations in flight at once while seeding.
    parallel: usize,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        dbplane: PathBuf::new(),
        databases: 1000,
        deploy_requests: 1000,
        heads: 10,
        rounds: 20,
        parallel: 8,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dbplane" => options.dbplane = PathBuf::from(value()?),
            "--databases" => options.databases = value()?.parse()?,
            "--deploy-requests" => options.deploy_requests = value()?.parse()?,
            "--heads" => options.heads = value()?.parse()?,
            "--rounds" => options.rounds = value()?.parse()?,
            "--parallel" => options.parallel = value()?.parse()?,
            other => bail!(
                "unknown argument {other:?} (usage: --dbplane <path> [--databases N] \
                 [--deploy-requests N] [--heads N] [--rounds N] [--parallel N])"
            ),
        }
    }
    if options.dbplane.as_os_str().is_empty() {
        bail!("--dbplane <path> is required");
    }
    if options.heads == 0 || options.parallel == 0 {
        bail!("--heads and --parallel must be positive");
    }
    Ok(options)
}

fn log(message: impl AsRef<str>) {
    eprintln!("[list-latency] {}", message.as_ref());
}

#[tokio::main]
async fn main() {
    let result = async {
        let options = parse_options()?;
        run(&options).await
    }
    .await;
    server::exit("list-latency", result);
}

async fn run(options: &Options) -> Result<bool> {
    log("starting dbplane with managed clusters");
    let mut server = server::Server::start(&options.dbplane, true).await?;
    let api = Api::new(
        &server.base_url,
        &server.authorization,
        &server.organization,
    );
    let outcome = async {
        let started = Instant::now();
        seed_databases(&api, options).await?;
        log(format!(
            "{} databases ready in {:.1?}",
            options.databases,
            started.elapsed()
        ));
        let started = Instant::now();
        seed_deploy_requests(&api, options).await?;
        log(format!(
            "{} deploy requests made in {:.1?}",
            options.deploy_requests,
            started.elapsed()
        ));
        wait_for_checks(&api, options).await?;
        measure(&api, options).await
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

/// `shop` (the deploy requests' database) and `db-0001`... up to `--databases` in all,
/// created through the API, `--parallel` at a time, each awaited until ready.
async fn seed_databases(api: &Api, options: &Options) -> Result<()> {
    let gate = Arc::new(Semaphore::new(options.parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..options.databases {
        let name = if index == 0 {
            "shop".to_string()
        } else {
            format!("db-{index:04}")
        };
        let (api, gate) = (api.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            api.create_database(&name, "mysql")
                .await
                .with_context(|| format!("database {name}"))
        });
        if index == 0 {
            // `shop` first: the deploy requests need it.
            tasks
                .join_next()
                .await
                .context("a task")?
                .context("join")??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.context("join")??;
    }
    Ok(())
}

async fn mysql_exec(login: &Login, statement: &str) -> Result<()> {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(login.host.clone())
        .tcp_port(login.port)
        .user(Some(login.user.clone()))
        .pass(Some(login.password.clone()))
        .db_name(Some(login.database.clone()));
    let mut connection = mysql_async::Conn::new(options).await?;
    connection.query_drop(statement).await?;
    connection.disconnect().await?;
    Ok(())
}

/// `--heads` branches of `shop` with a table each; each opens, and but for its last
/// closes, deploy requests into `main` until there are `--deploy-requests`.
async fn seed_deploy_requests(api: &Api, options: &Options) -> Result<()> {
    let shop = api.database_path("shop");
    for head in 0..options.heads {
        let name = format!("head-{head:02}");
        api.create_branch("shop", &name).await?;
        let login = api
            .mysql_password("shop", &name, &format!("{name}-admin"))
            .await?;
        mysql_exec(
            &login,
            &format!("CREATE TABLE t_{head} (id BIGINT PRIMARY KEY, note VARCHAR(100))"),
        )
        .await?;
    }
    let (status, body) = api
        .post(&format!("{shop}/branches/main/safe-migrations"), json!({}))
        .await?;
    if status != 200 {
        bail!("enabling safe migrations answered {status}: {body}");
    }
    let per_head = options.deploy_requests.div_ceil(options.heads);
    let mut made = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for head in 0..options.heads {
        let count = per_head.min(options.deploy_requests - made);
        made += count;
        let (api, shop) = (api.clone(), shop.clone());
        tasks.spawn(async move {
            for index in 0..count {
                let (status, body) = api
                    .post(
                        &format!("{shop}/deploy-requests"),
                        json!({"branch": format!("head-{head:02}"), "into_branch": "main",
                               "notes": format!("request {index} of head {head}")}),
                    )
                    .await?;
                if status != 201 {
                    bail!("creating a deploy request answered {status}: {body}");
                }
                if index + 1 < count {
                    let number = body["number"].as_u64().context("number")?;
                    let path = format!("{shop}/deploy-requests/{number}");
                    let (status, body) = api.patch(&path, json!({"state": "closed"})).await?;
                    if status != 200 {
                        bail!("closing #{number} answered {status}: {body}");
                    }
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("join")??;
    }
    Ok(())
}

/// Waits until every open deploy request has been checked: the check jobs the seeding
/// queued (one per request) are done, so the lists are read on a server at rest.
async fn wait_for_checks(api: &Api, options: &Options) -> Result<()> {
    let path = format!(
        "{}/deploy-requests?state=open&per_page=100",
        api.database_path("shop")
    );
    let started = Instant::now();
    loop {
        let (status, body) = api.get(&path).await?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        let open = body["data"].as_array().cloned().unwrap_or_default();
        let pending = open
            .iter()
            .filter(|request| request["deployment_state"] == "pending")
            .count();
        if open.len() >= options.heads.min(options.deploy_requests) && pending == 0 {
            log(format!("checks done in {:.1?}", started.elapsed()));
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{pending} deploy requests still pending after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Latencies of one list, every page, `rounds` times.
struct Series {
    name: String,
    samples: Vec<Duration>,
    pages: usize,
    total: u64,
}

impl Series {
    fn percentile(&self, fraction: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
        sorted[index - 1]
    }
}

async fn read_pages(api: &Api, name: &str, path: &str, rounds: usize) -> Result<Series> {
    let mut series = Series {
        name: name.to_string(),
        samples: Vec::new(),
        pages: 0,
        total: 0,
    };
    // One warm-up walk (connection, caches), not measured.
    for round in 0..=rounds {
        let mut page = 1;
        loop {
            let url = format!("{path}?per_page={PER_PAGE}&page={page}");
            let started = Instant::now();
            let (status, body) = api.get(&url).await?;
            let elapsed = started.elapsed();
            if status != 200 {
                bail!("GET {url} answered {status}: {body}");
            }
            let items = body["data"].as_array().map_or(0, Vec::len);
            if items == 0 {
                break;
            }
            if round > 0 {
                series.samples.push(elapsed);
            }
            series.pages = series.pages.max(page);
            series.total = body["total_count"].as_u64().unwrap_or(0);
            if body["next_page"].is_null() {
                break;
            }
            page += 1;
        }
    }
    Ok(series)
}

async fn measure(api: &Api, options: &Options) -> Result<bool> {
    let organization = format!("/v1/organizations/{}", api.organization);
    let lists = [
        ("databases", format!("{organization}/databases")),
        (
            "deploy requests",
            format!("{organization}/databases/shop/deploy-requests"),
        ),
    ];
    let mut all = Vec::new();
    for (name, path) in &lists {
        log(format!(
            "reading every page of {name}, {} rounds",
            options.rounds
        ));
        all.push(read_pages(api, name, path, options.rounds).await?);
    }
    println!(
        "| list (per_page={PER_PAGE}) | rows | pages | samples | p50 | p99 | max | p99 < 20 ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut met = true;
    for series in &all {
        let p99 = series.percentile(0.99);
        let pass = p99 < TARGET_P99;
        met &= pass;
        println!(
            "| {} | {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            series.name,
            series.total,
            series.pages,
            series.samples.len(),
            millis(series.percentile(0.50)),
            millis(p99),
            millis(series.percentile(1.0)),
            if pass { "PASS" } else { "MISS" }
        );
    }
    Ok(met)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
