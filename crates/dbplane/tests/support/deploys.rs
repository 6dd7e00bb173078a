//! Helpers of the deploy request tests: a MariaDB database whose `main` has a table and
//! safe migrations, a `dev` branch with an admin password, and polling of deployments.

use super::*;
use dbplane_testkit::{ApiClient, TestOptions, TestServer};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use std::time::Duration;

pub const DB_PATH: &str = "/v1/organizations/acme/databases/shop";
pub const DEPLOY_TIMEOUT: Duration = Duration::from_secs(120);

/// Fast polling for tests.
pub const FAST_POLL: &str = "poll_millis = 100\n";
/// Reads recheck a request whose checks are this old.
pub const FAST_RECHECK: &str = "recheck_after_millis = 300\n";

pub struct DeployFixture {
    pub server: TestServer,
    pub client: ApiClient,
    token: String,
    /// Admin password of `main`, created before safe migrations (so it reads and writes
    /// rows; DDL is refused once safe migrations are on).
    pub main: Login,
    pub cluster_port: u16,
}

pub async fn admin_password(client: &ApiClient, branch: &str) -> Login {
    password(client, branch, "admin").await
}

/// A password of `role` on `branch`. Writers that must not be cut off use `readwriter`:
/// turning safe migrations on kills the sessions of admins (their DDL rights go).
pub async fn password(client: &ApiClient, branch: &str, role: &str) -> Login {
    let created = client
        .post(
            &format!("{DB_PATH}/branches/{branch}/passwords"),
            json!({"name": format!("{branch}-{role}-{}", rand_suffix()), "role": role}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    Login::from_password(&created.body)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl DeployFixture {
    /// Starts a server with more `[deploys]` settings (`key = value` lines, replacing the
    /// fast defaults of the same keys); `main` gets `schema` (statements) and safe
    /// migrations.
    pub async fn start(deploys: &str, env: Vec<(String, String)>, schema: &[&str]) -> Self {
        let step = if deploys.contains("copy_step_millis") {
            ""
        } else {
            "copy_step_millis = 300\n"
        };
        let recheck = if deploys.contains("recheck_after_millis") {
            ""
        } else {
            FAST_RECHECK
        };
        let server = TestServer::start_with(
            env!("CARGO_BIN_EXE_dbplane"),
            TestOptions {
                clusters: true,
                extra_config: format!("[deploys]\n{FAST_POLL}{recheck}{step}{deploys}"),
                env,
                ..TestOptions::default()
            },
        )
        .await;
        let token = server.bootstrap("acme", "ops@acme.test");
        let token = token.header();
        let client = server.client(Some(token.clone()));
        ready_database(&client, "acme", "shop", "mysql").await;
        let cluster_port = server.managed_mysql_port();
        let main = admin_password(&client, "main").await;
        for statement in schema {
            mysql_exec(&main, statement).await.unwrap();
        }
        let enabled = client
            .post(
                &format!("{DB_PATH}/branches/main/safe-migrations"),
                json!({}),
            )
            .await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        Self {
            server,
            client,
            token,
            main,
            cluster_port,
        }
    }

    /// Starts the server again (after a kill) with `env` (failpoints) armed.
    pub async fn start_again(&mut self, env: Vec<(String, String)>) {
        self.server.set_env(env);
        self.server.start_again().await;
        self.client = self.server.client(Some(self.token.clone()));
    }

    /// Waits for an armed failpoint to kill the server, then starts it with `env`.
    pub async fn crashed(&mut self, env: Vec<(String, String)>) {
        self.server.wait_for_exit(DEPLOY_TIMEOUT).await;
        self.start_again(env).await;
    }

    /// A ready branch of `main` with an admin password that may run DDL.
    pub async fn branch(&self, name: &str) -> Login {
        ready_branch(&self.client, DB_PATH, name, Some("main")).await;
        admin_password(&self.client, name).await
    }

    /// Opens a deploy request and waits for its checks.
    pub async fn open(&self, branch: &str, body: Value) -> Value {
        let mut request = json!({"branch": branch, "into_branch": "main"});
        for (key, value) in body.as_object().cloned().unwrap_or_default() {
            request[key] = value;
        }
        let created = self
            .client
            .post(&format!("{DB_PATH}/deploy-requests"), request)
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["deployment_state"], "pending");
        let number = created.body["number"].as_u64().unwrap();
        self.wait_for(number, &["ready", "no_changes", "error"])
            .await
    }

    /// Deploys request `number` with `instant_ddl`.
    pub async fn deploy_instant(&self, number: u64) {
        let deployed = self
            .client
            .post(
                &format!("{}/deploy", Self::path(number)),
                json!({"instant_ddl": true}),
            )
            .await;
        assert_eq!(deployed.status, 200, "{}", deployed.body);
    }

    pub fn path(number: u64) -> String {
        format!("{DB_PATH}/deploy-requests/{number}")
    }

    /// Posts `action` and waits for the request to reach `reached` or `failed`; it must
    /// reach `reached`. The request as it then is.
    pub async fn act(&self, number: u64, action: &str, reached: &str, failed: &str) -> Value {
        self.post(number, action).await;
        let request = self.wait_for(number, &[reached, failed]).await;
        assert_eq!(request["deployment_state"], reached, "{request}");
        request
    }

    pub async fn post(&self, number: u64, action: &str) -> Value {
        let response = self
            .client
            .post(&format!("{}/{action}", Self::path(number)), json!({}))
            .await;
        if response.status != 200 {
            let log = self.server.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "{action}: {} {}\n{}",
                response.status,
                response.body,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        response.body
    }

    pub async fn get(&self, number: u64) -> Value {
        let response = self.client.get(&Self::path(number)).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }

    /// Waits until the deployment reaches one of `states`; on time-out, fails with the
    /// server's log.
    pub async fn wait_for(&self, number: u64, states: &[&str]) -> Value {
        let path = Self::path(number);
        let deadline = std::time::Instant::now() + DEPLOY_TIMEOUT;
        let mut last = Value::Null;
        while std::time::Instant::now() < deadline {
            let response = self.client.get(&path).await;
            let state = response.body["deployment_state"].as_str().unwrap_or("");
            if states.contains(&state) {
                return response.body;
            }
            last = response.body;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "deploy request {number} did not reach {states:?}: {last}\n{}",
            self.server.log()
        );
    }

    /// The managed MariaDB's error log (for failure messages).
    pub fn mysql_error_log(&self) -> String {
        let path = self.server.data_dir().join("clusters/mysql/error.log");
        std::fs::read_to_string(&path).unwrap_or_else(|e| format!("{}: {e}", path.display()))
    }

    /// Waits until `main` has no deploy artifact left.
    pub async fn wait_for_no_artifacts(&self) {
        let deadline = std::time::Instant::now() + DEPLOY_TIMEOUT;
        loop {
            let left = artifacts(&self.main_tables().await);
            if left.is_empty() {
                return;
            }
            if std::time::Instant::now() >= deadline {
                panic!("artifacts left: {left:?}\n{}", self.server.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Tables of `main`'s physical database, artifacts included.
    pub async fn main_tables(&self) -> Vec<String> {
        let mut root = mysql_root(self.cluster_port).await;
        let tables: Vec<String> = root
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
                (self.main.physical.clone(),),
            )
            .await
            .unwrap();
        let _ = root.disconnect().await;
        tables
    }

    /// Columns of a table of `main`.
    pub async fn main_columns(&self, table: &str) -> Vec<String> {
        let mut root = mysql_root(self.cluster_port).await;
        let columns: Vec<String> = root
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
                (self.main.physical.clone(), table),
            )
            .await
            .unwrap();
        let _ = root.disconnect().await;
        columns
    }
}

/// Arms one failpoint.
pub fn failpoint(name: &str) -> Vec<(String, String)> {
    vec![("DBPLANE_FAILPOINTS".to_string(), name.to_string())]
}

/// Tables of `main` that are deploy artifacts (shadows, kept old tables, lazy drops).
pub fn artifacts(tables: &[String]) -> Vec<String> {
    tables
        .iter()
        .filter(|t| t.contains("_dbp_"))
        .cloned()
        .collect()
}

/// The `operation_name table_name` of each operation.
pub fn operations(request: &Value) -> Vec<String> {
    request["deployment"]["deploy_operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["operation_name"].as_str().unwrap(),
                o["table_name"].as_str().unwrap()
            )
        })
        .collect()
}
