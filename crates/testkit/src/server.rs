//! Runs the real `dbplane` binary for a test: its own data dir, a free port (the server
//! binds port 0 and publishes the address in `<data-dir>/dbplane.addr`), killed on drop.

use crate::client::ApiClient;
use crate::wait::wait_until;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A service token printed by `dbplane admin bootstrap`.
#[derive(Clone, Debug)]
pub struct BootstrapToken {
    pub organization: String,
    pub user_id: String,
    pub id: String,
    pub token: String,
}

impl BootstrapToken {
    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        format!("{}:{}", self.id, self.token)
    }
}

/// How to start a test server.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// Start managed MariaDB and PostgreSQL clusters (fsync off) for the data plane.
    pub clusters: bool,
    /// More TOML for the configuration file, before its `[clusters]` table.
    pub extra_config: String,
    /// More keys of the `[clusters]` table (`key = value` lines), which the harness
    /// writes itself; `[[clusters.external]]` tables go here too, after those keys.
    pub cluster_config: String,
    /// Extra environment (e.g. `DBPLANE_FAILPOINTS`).
    pub env: Vec<(String, String)>,
}

/// A running server.
pub struct TestServer {
    binary: PathBuf,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    config_file: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    base_url: String,
    /// The connection edge's address: a free port on the first start, the same one on
    /// restarts (clients reconnect where they were).
    edge_listen: String,
    /// The edge's HTTP SQL API's address, kept the same way.
    edge_http_listen: String,
}

const ADDRESS_FILE: &str = "dbplane.addr";
const EDGE_ADDRESS_FILE: &str = "edge.addr";
const EDGE_HTTP_ADDRESS_FILE: &str = "edge-http.addr";
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl TestServer {
    /// Starts a control-plane-only server (no clusters) on a fresh temporary data dir.
    pub async fn start(binary: &str) -> Self {
        Self::start_with(binary, TestOptions::default()).await
    }

    /// Starts a control-plane-only server with more TOML configuration.
    pub async fn start_with_config(binary: &str, config: Option<&str>) -> Self {
        let options = TestOptions {
            extra_config: config.unwrap_or_default().to_string(),
            ..TestOptions::default()
        };
        Self::start_with(binary, options).await
    }

    /// Starts a server with managed clusters.
    pub async fn start_with_clusters(binary: &str) -> Self {
        let options = TestOptions {
            clusters: true,
            ..TestOptions::default()
        };
        Self::start_with(binary, options).await
    }

    /// Starts a server as `options` say.
    pub async fn start_with(binary: &str, options: TestOptions) -> Self {
        let temp = tempfile::Builder::new()
            .prefix("dbplane-test-")
            .tempdir()
            .expect("create a temp dir");
        let data_dir = temp.path().to_path_buf();
        // The managed Postgres runs as OS user `postgres`, which must reach the dir.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755))
            .expect("open the temp dir to the postgres user");
        let clusters = if options.clusters {
            "[clusters]\nmanaged = true\nexperimental_unsafe_no_fsync = true\n"
        } else {
            "[clusters]\nmanaged = false\n"
        };
        let config_file = data_dir.join("config.toml");
        std::fs::write(
            &config_file,
            format!(
                "{}\n{clusters}{}\n",
                options.extra_config, options.cluster_config
            ),
        )
        .expect("write the config file");
        let mut server = Self {
            binary: PathBuf::from(binary),
            data_dir,
            _temp: Some(temp),
            config_file,
            env: options.env,
            child: None,
            base_url: String::new(),
            edge_listen: "127.0.0.1:0".into(),
            edge_http_listen: "127.0.0.1:0".into(),
        };
        server.launch().await;
        server
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The port of the managed MariaDB (its admin is `root` without a password over
    /// TCP from this machine), for tests that look at physical state.
    pub fn managed_mysql_port(&self) -> u16 {
        let file = self.data_dir.join("clusters").join("mysql").join("port");
        std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("read {}: {error}", file.display()))
            .trim()
            .parse()
            .expect("the managed MariaDB's port")
    }

    /// `host:port` of the connection edge (MySQL protocol).
    pub fn edge_address(&self) -> &str {
        &self.edge_listen
    }

    /// `host:port` of the edge's HTTP SQL API (passwords' `access_host_url`).
    pub fn edge_http_address(&self) -> &str {
        &self.edge_http_listen
    }

    /// A client that sends `authorization` (or nothing).
    pub fn client(&self, authorization: Option<String>) -> ApiClient {
        ApiClient::new(&self.base_url, authorization)
    }

    /// Runs `dbplane admin bootstrap` against this server's data dir.
    pub fn bootstrap(&self, organization: &str, email: &str) -> BootstrapToken {
        let output = Command::new(&self.binary)
            .args(["admin", "bootstrap", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--organization", organization, "--email", email])
            .output()
            .expect("run dbplane admin bootstrap");
        assert!(
            output.status.success(),
            "bootstrap failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("bootstrap prints one JSON object");
        BootstrapToken {
            organization: printed["organization"]
                .as_str()
                .expect("organization")
                .to_string(),
            user_id: printed["user"]["id"].as_str().expect("user id").to_string(),
            id: printed["service_token"]["id"]
                .as_str()
                .expect("token id")
                .to_string(),
            token: printed["service_token"]["token"]
                .as_str()
                .expect("token")
                .to_string(),
        }
    }

    /// Stops gracefully (SIGTERM) and waits for the process to exit.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on a pid we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let status = tokio::task::spawn_blocking(move || child.wait())
                .await
                .expect("join the waiter")
                .expect("wait for dbplane");
            assert!(
                status.success(),
                "dbplane exited with {status} after SIGTERM"
            );
        }
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the binary again on the same data dir.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    /// Waits until the process exits on its own (e.g. killed by an armed failpoint).
    pub async fn wait_for_exit(&mut self, timeout: Duration) {
        let mut child = self.child.take().expect("server not running");
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if child.try_wait().expect("poll the server process").is_some() {
                return;
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not exit within {timeout:?}:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Replaces the extra environment for the next start (e.g. to disarm failpoints).
    pub fn set_env(&mut self, env: Vec<(String, String)>) {
        self.env = env;
    }

    /// Starts after a kill.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "server still running");
        self.launch().await;
    }

    async fn launch(&mut self) {
        let address_file = self.data_dir.join(ADDRESS_FILE);
        let _ = std::fs::remove_file(&address_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))
            .expect("open the server log");
        let mut command = Command::new(&self.binary);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--edge-listen", &self.edge_listen])
            .args(["--edge-http-listen", &self.edge_http_listen])
            .env("RUST_LOG", "info,dbplane=debug")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--config")
            .arg(&self.config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(command.spawn().expect("spawn dbplane serve"));
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        let address = loop {
            if let Ok(address) = std::fs::read_to_string(&address_file) {
                break address;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "dbplane serve exited with {status} while starting:\n{}",
                    self.log()
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "dbplane serve did not publish its address in {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.base_url = format!("http://{}", address.trim());
        let health = format!("{}/healthz", self.base_url);
        let http = reqwest::Client::new();
        wait_until("GET /healthz to answer 200", START_TIMEOUT, || {
            let request = http.get(&health).send();
            async move {
                request
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;
        // The edge starts before the API answers.
        if let Ok(edge) = std::fs::read_to_string(self.data_dir.join(EDGE_ADDRESS_FILE)) {
            self.edge_listen = edge.trim().to_string();
        }
        if let Ok(http) = std::fs::read_to_string(self.data_dir.join(EDGE_HTTP_ADDRESS_FILE)) {
            self.edge_http_listen = http.trim().to_string();
        }
    }

    /// The server's log so far (for assertions and failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for TestServer {
    /// Stops the server gracefully so it stops its managed clusters; a server that
    /// does not exit in time is killed, and any cluster process a killed server left
    /// behind is killed too, so no test leaks database servers.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on a pid we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        kill_cluster_leftovers(&self.data_dir);
    }
}

/// Kills database servers still running on this data dir (after a SIGKILL of dbplane,
/// its managed clusters outlive it by design).
fn kill_cluster_leftovers(data_dir: &Path) {
    let pid_files = [
        data_dir.join("clusters/mysql/mysqld.pid"),
        data_dir.join("clusters/postgresql/data/postmaster.pid"),
        data_dir.join("clusters/postgres/data/postmaster.pid"),
    ];
    for pid_file in pid_files {
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            continue;
        };
        if let Some(pid) = text
            .lines()
            .next()
            .and_then(|line| line.trim().parse::<libc::pid_t>().ok())
            && pid > 1
        {
            // SAFETY: kill(2); the pid file belongs to this test's private data dir.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
