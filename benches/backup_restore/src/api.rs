//! The few API calls the benchmark makes: databases, credentials, a backup and a
//! restore into a new branch, each awaited by polling its state.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Between two GETs of something being awaited (bounds the timing error).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for a database, backup or restore (500 MB on a busy 2-core machine).
const WAIT_TIMEOUT: Duration = Duration::from_secs(1800);

pub struct Api {
    http: reqwest::Client,
    base_url: String,
    authorization: String,
    organization: String,
}

/// Where a credential lets one in.
#[derive(Clone, Debug)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Login {
    fn from_body(body: &Value, password_field: &str) -> Result<Self> {
        let field = |name: &str| {
            body[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("no {name} in {body}"))
        };
        let address = field("access_host_url")?;
        let (host, port) = address.rsplit_once(':').context("host:port")?;
        Ok(Login {
            host: host.to_string(),
            port: port.parse()?,
            user: field("username")?,
            password: field(password_field)?,
            database: field("database_name")?,
        })
    }
}

impl Api {
    pub fn new(base_url: &str, authorization: &str, organization: &str) -> Self {
        Api {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            base_url: base_url.to_string(),
            authorization: authorization.to_string(),
            organization: organization.to_string(),
        }
    }

    pub fn database_path(&self, database: &str) -> String {
        format!(
            "/v1/organizations/{}/databases/{database}",
            self.organization
        )
    }

    pub fn branch_path(&self, database: &str, branch: &str) -> String {
        format!("{}/branches/{branch}", self.database_path(database))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .header("Authorization", &self.authorization);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    async fn post(&self, path: &str, body: Value, expect: u16) -> Result<Value> {
        let (status, answer) = self.send(reqwest::Method::POST, path, Some(body)).await?;
        if status != expect {
            bail!("POST {path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    /// GETs `path` until `done` returns a value; fails on `failed` states.
    async fn await_state<T>(&self, path: &str, done: impl Fn(&Value) -> Option<T>) -> Result<T> {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let (status, body) = self.send(reqwest::Method::GET, path, None).await?;
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
        let path = format!("/v1/organizations/{}/databases", self.organization);
        self.post(
            &path,
            json!({"name": name, "kind": kind, "cluster_size": "PS_10"}),
            201,
        )
        .await?;
        let database = self.database_path(name);
        self.await_state(&database, |body| (body["state"] == "ready").then_some(()))
            .await
    }

    /// An admin credential on a branch: a password (MariaDB) or a role (PostgreSQL).
    pub async fn credential(
        &self,
        database: &str,
        branch: &str,
        kind: &str,
        name: &str,
    ) -> Result<Login> {
        let branch = self.branch_path(database, branch);
        if kind == "mysql" {
            let body = json!({"name": name, "role": "admin"});
            let created = self.post(&format!("{branch}/passwords"), body, 201).await?;
            Login::from_body(&created, "plain_text")
        } else {
            let body = json!({"name": name, "inherited_roles": ["postgres"]});
            let created = self.post(&format!("{branch}/roles"), body, 200).await?;
            Login::from_body(&created, "password")
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
