//! One `dbplane serve` with managed clusters on a temporary data dir: bootstrap, start,
//! wait until it serves, stop gracefully (SIGTERM, wait) so its clusters stop too.

use anyhow::{Context, Result, bail};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the server logs: our job runner and engine at debug (job steps, schema copy
/// timings), the rest at info; request logs stay off so polling does not flood the file.
const LOG_FILTER: &str = "info,dbplane_jobs=debug,dbplane_engine=debug,dbplane_control=debug,dbplane=debug,dbplane_api=info";
/// Starting includes initialising MariaDB and PostgreSQL data dirs on first start.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// A graceful stop waits for in-flight job steps and stops both clusters.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// The `--dbplane <path>` argument of the benchmarks that include this harness (this
/// crate's own binary takes more arguments and parses them itself).
#[allow(dead_code)]
pub fn dbplane_argument() -> Result<PathBuf> {
    let mut args = std::env::args().skip(1);
    let mut dbplane = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dbplane" => dbplane = args.next().map(PathBuf::from),
            other => bail!("unknown argument {other:?} (usage: --dbplane <path to dbplane>)"),
        }
    }
    dbplane.context("--dbplane <path> is required")
}

pub struct Server {
    binary: PathBuf,
    /// Removed (with the clusters' files) when dropped, after the server stopped.
    temp: Option<tempfile::TempDir>,
    child: Option<Child>,
    pub base_url: String,
    pub authorization: String,
    pub organization: String,
}

impl Server {
    /// Bootstraps an organization and starts the server; `no_fsync` sets the clusters'
    /// `experimental_unsafe_no_fsync` (what the test suite runs with).
    pub async fn start(binary: &Path, no_fsync: bool) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("dbplane-bench-")
            .tempdir()
            .context("create a temporary data dir")?;
        let data_dir = temp.path().to_path_buf();
        // The managed PostgreSQL runs as OS user `postgres`, which must reach the dir.
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755))?;
        let config_file = data_dir.join("config.toml");
        let mut config = String::from("[clusters]\nmanaged = true\n");
        if no_fsync {
            config.push_str("experimental_unsafe_no_fsync = true\n");
        }
        // More TOML for experiments (e.g. `[deploys]` pacing), from the environment.
        if let Ok(extra) = std::env::var("BENCH_SERVER_CONFIG") {
            config.push_str(&extra.replace("\\n", "\n"));
            config.push('\n');
        }
        std::fs::write(&config_file, config)?;

        let organization = "acme".to_string();
        let output = Command::new(binary)
            .args(["admin", "bootstrap", "--data-dir"])
            .arg(&data_dir)
            .args(["--organization", &organization, "--email", "ops@acme.test"])
            .env("RUST_LOG", "warn")
            .output()
            .with_context(|| format!("run {} admin bootstrap", binary.display()))?;
        if !output.status.success() {
            bail!(
                "bootstrap failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let printed: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("bootstrap prints one JSON object")?;
        let token = &printed["service_token"];
        let (Some(id), Some(secret)) = (token["id"].as_str(), token["token"].as_str()) else {
            bail!("no service token in the bootstrap output: {printed}");
        };
        let authorization = format!("{id}:{secret}");

        let log = std::fs::File::create(data_dir.join("server.log"))?;
        let child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--config")
            .arg(&config_file)
            .env("RUST_LOG", LOG_FILTER)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn {} serve", binary.display()))?;
        let mut server = Server {
            binary: binary.to_path_buf(),
            temp: Some(temp),
            child: Some(child),
            base_url: String::new(),
            authorization,
            organization,
        };
        server.wait_until_serving().await?;
        Ok(server)
    }

    pub fn data_dir(&self) -> &Path {
        self.temp.as_ref().expect("data dir").path()
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir().join("server.log")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn wait_until_serving(&mut self) -> Result<()> {
        let address_file = self.data_dir().join("dbplane.addr");
        let deadline = Instant::now() + START_TIMEOUT;
        let address = loop {
            if let Ok(address) = std::fs::read_to_string(&address_file)
                && !address.trim().is_empty()
            {
                break address.trim().to_string();
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "{} did not publish its address in {START_TIMEOUT:?}",
                    self.binary.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.base_url = format!("http://{address}");
        let http = reqwest::Client::new();
        loop {
            if let Ok(response) = http.get(format!("{}/healthz", self.base_url)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!("GET /healthz did not answer 200 in {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            bail!(
                "dbplane serve exited with {status}; log tail:\n{}",
                self.log_tail(40)
            );
        }
        Ok(())
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Sends SIGTERM and waits for the exit (the server stops its clusters first).
    /// Returns how long the stop took.
    pub async fn stop(&mut self) -> Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("run kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM {} failed", child.id());
        }
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("dbplane exited with {status} after SIGTERM");
                }
                return Ok(started.elapsed());
            }
            if started.elapsed() > STOP_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!("dbplane did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed it");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Last resort (a panic or an early error): never leave a server behind.
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Resident memory of a process, in KiB (`VmRSS` of `/proc/<pid>/status`). For the
/// benchmarks that include this file (`edge_sysbench`, `http_sql`), not this one.
#[allow(dead_code)]
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .context("VmRSS in /proc/<pid>/status")
}

/// Ends a benchmark that checks targets: exit 0 when every one is met, 1 when one is
/// missed, 2 when it could not run. For the benchmarks that include this file.
#[allow(dead_code)]
pub fn exit(name: &str, outcome: Result<bool>) -> ! {
    match outcome {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("{name}: {error:#}");
            std::process::exit(2);
        }
    }
}
