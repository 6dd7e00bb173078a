//! The API calls the benchmark adds to the data-plane benchmark's client: a backup and
//! a restore into a new branch, each awaited by polling its state.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::dataplane_api::Api as BaseApi;
pub use crate::dataplane_api::Login;

/// Between two GETs of something being awaited (bounds the timing error).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for a database, backup or restore (500 MB on a busy 2-core machine).
const WAIT_TIMEOUT: Duration = Duration::from_secs(1800);

/// The data-plane benchmark's client, with the calls this benchmark adds.
pub struct Api {
    base: BaseApi,
}

impl Api {
    pub fn new(base_url: &str, authorization: &str, organization: &str) -> Self {
        Api {
            base: BaseApi::new(base_url, authorization, organization),
        }
    }

    pub fn database_path(&self, database: &str) -> String {
        self.base.database_path(database)
    }

    pub fn branch_path(&self, database: &str, branch: &str) -> String {
        format!("{}/branches/{branch}", self.database_path(database))
    }

    async fn post(&self, path: &str, body: Value, expect: u16) -> Result<Value> {
        let (status, answer) = self.base.post(path, body).await?;
        if status != expect {
            bail!("POST {path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    /// GETs `path` until `done` returns a value; fails on `failed` states.
    async fn await_state<T>(&self, path: &str, done: impl Fn(&Value) -> Option<T>) -> Result<T> {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let (status, body) = self.base.get(path).await?;
            if status == 200 {
                if let Some(value) = done(&body) {
                    return Ok(value);
                }
                if matches!(body["state"].as_str(), Some("failed" | "canceled")) {
                    bail!("{path} ended {}: {body}", body["state"]);
                }
            }
            if Instant::now() > deadline {
                bail!("{path} not done in {WAIT_TIMEOUT:?} (last: {status} {body})");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Creates a database and waits until it is ready.
    pub async fn ready_database(&self, name: &str, kind: &str) -> Result<()> {
        self.base.create_database(name, kind).await.map(|_| ())
    }

    /// An admin credential on a branch: a password (MariaDB) or a role (PostgreSQL).
    pub async fn credential(
        &self,
        database: &str,
        branch: &str,
        kind: &str,
        name: &str,
    ) -> Result<Login> {
        if kind == "mysql" {
            self.base.mysql_password(database, branch, name).await
        } else {
            self.base.postgres_role(database, branch, name).await
        }
    }

    /// Backs a branch up: from the POST to the GET that sees `success`. Returns the
    /// backup's id and its `size` as the API reports it.
    pub async fn backup(&self, database: &str, branch: &str) -> Result<(String, i64)> {
        let branch = self.branch_path(database, branch);
        let body = json!({"name": "bench", "retention_unit": "day", "retention_value": 1});
        let created = self.post(&format!("{branch}/backups"), body, 201).await?;
        let id = created["id"].as_str().context("backup id")?.to_string();
        let path = format!("{branch}/backups/{id}");
        let size = self
            .await_state(&path, |body| {
                (body["state"] == "success").then(|| body["size"].as_i64().unwrap_or(0))
            })
            .await?;
        Ok((id, size))
    }

    /// Restores a backup into a new branch: from the POST to the GET that sees it ready.
    pub async fn restore(&self, database: &str, backup_id: &str, branch: &str) -> Result<()> {
        let path = format!("{}/branches", self.database_path(database));
        let body = json!({"name": branch, "backup_id": backup_id});
        self.post(&path, body, 201).await?;
        let branch = self.branch_path(database, branch);
        self.await_state(&branch, |body| (body["ready"] == true).then_some(()))
            .await
    }
}
