//! The few API calls the benchmark makes, and the tight ready-polls it times.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

/// How long one poll sleeps between GETs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Longest wait for anything to become ready or gone.
const WAIT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base_url: String,
    authorization: String,
    pub organization: String,
}

/// One timed creation: from just before the POST to the GET that first saw it ready.
#[derive(Clone, Debug)]
pub struct Timed {
    pub elapsed: Duration,
    /// Wall clock of the POST and of the ready answer, to match the server's log.
    pub posted_at: SystemTime,
    pub ready_at: SystemTime,
    /// Duration of the POST request alone.
    pub post: Duration,
}

impl Api {
    pub fn new(base_url: &str, authorization: &str, organization: &str) -> Self {
        Api {
            // One kept-alive connection; no proxy lookups on 127.0.0.1.
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(4)
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
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, body))
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<(u16, Value)> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    #[allow(dead_code)] // used by the list benchmark, which includes this file
    pub async fn patch(&self, path: &str, body: Value) -> Result<(u16, Value)> {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<(u16, Value)> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// POSTs `body` to `post_path` (expecting 201), then GETs `get_path` every
    /// [`POLL_INTERVAL`] until `ready` says so.
    async fn timed_create(
        &self,
        post_path: &str,
        body: Value,
        get_path: &str,
        ready: fn(&Value) -> bool,
    ) -> Result<(Timed, Value)> {
        let posted_at = SystemTime::now();
        let started = Instant::now();
        let (status, created) = self.post(post_path, body).await?;
        let post = started.elapsed();
        if status != 201 {
            bail!("POST {post_path} answered {status}: {created}");
        }
        loop {
            let (status, current) = self.get(get_path).await?;
            if status == 200 && ready(&current) {
                let elapsed = started.elapsed();
                return Ok((
                    Timed {
                        elapsed,
                        posted_at,
                        ready_at: SystemTime::now(),
                        post,
                    },
                    current,
                ));
            }
            if status != 200 {
                bail!("GET {get_path} answered {status}: {current}");
            }
            if started.elapsed() > WAIT_TIMEOUT {
                bail!("{get_path} not ready after {WAIT_TIMEOUT:?}: {current}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Creates a database and times it to `"state": "ready"`.
    pub async fn create_database(&self, name: &str, kind: &str) -> Result<Timed> {
        let (timed, _) = self
            .timed_create(
                &format!("/v1/organizations/{}/databases", self.organization),
                json!({"name": name, "kind": kind, "cluster_size": "PS_10"}),
                &self.database_path(name),
                |database| database["state"] == "ready",
            )
            .await?;
        Ok(timed)
    }

    /// Creates a branch of `main` and times it to `"ready": true`.
    pub async fn create_branch(&self, database: &str, name: &str) -> Result<Timed> {
        let db_path = self.database_path(database);
        let (timed, _) = self
            .timed_create(
                &format!("{db_path}/branches"),
                json!({"name": name, "parent_branch": "main"}),
                &format!("{db_path}/branches/{name}"),
                |branch| branch["ready"] == true,
            )
            .await?;
        Ok(timed)
    }

    /// Deletes a branch and waits until the API no longer shows it.
    pub async fn delete_branch(&self, database: &str, name: &str) -> Result<()> {
        let path = format!("{}/branches/{name}", self.database_path(database));
        let (status, body) = self.delete(&path).await?;
        if status != 204 {
            bail!("DELETE {path} answered {status}: {body}");
        }
        let started = Instant::now();
        while self.get(&path).await?.0 != 404 {
            if started.elapsed() > WAIT_TIMEOUT {
                bail!("{path} still there after {WAIT_TIMEOUT:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Ok(())
    }

    /// The names of the tables in a branch's schema, as the API reports them.
    pub async fn branch_tables(&self, database: &str, branch: &str) -> Result<usize> {
        let path = format!("{}/branches/{branch}/schema", self.database_path(database));
        let (status, body) = self.get(&path).await?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(body["data"].as_array().map_or(0, Vec::len))
    }

    /// An admin login on `main` of a MariaDB database.
    pub async fn mysql_admin(&self, database: &str) -> Result<Login> {
        self.mysql_password(database, "main", "bench-admin").await
    }

    /// An admin login named `name` on `branch` of a MariaDB database.
    pub async fn mysql_password(&self, database: &str, branch: &str, name: &str) -> Result<Login> {
        let path = format!(
            "{}/branches/{branch}/passwords",
            self.database_path(database)
        );
        let (status, body) = self
            .post(&path, json!({"name": name, "role": "admin"}))
            .await?;
        if status != 201 {
            bail!("POST {path} answered {status}: {body}");
        }
        Login::from(&body, "plain_text")
    }

    /// A role on `main` of a PostgreSQL database that inherits `postgres`.
    pub async fn postgres_owner(&self, database: &str) -> Result<Login> {
        self.postgres_role(database, "main", "bench-owner").await
    }

    /// A role named `name` on `branch` of a PostgreSQL database that inherits `postgres`.
    pub async fn postgres_role(&self, database: &str, branch: &str, name: &str) -> Result<Login> {
        let path = format!("{}/branches/{branch}/roles", self.database_path(database));
        let (status, body) = self
            .post(
                &path,
                json!({"name": name, "inherited_roles": ["postgres"]}),
            )
            .await?;
        if !(200..300).contains(&status) {
            bail!("POST {path} answered {status}: {body}");
        }
        Login::from(&body, "password")
    }
}

/// Connection parameters from a password or role creation.
#[derive(Clone, Debug)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Login {
    fn from(body: &Value, password_field: &str) -> Result<Self> {
        let field = |name: &str| {
            body[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("no {name} in {body}"))
        };
        // A MySQL password's branch names the edge's MySQL port (its `access_host_url`
        // is the HTTP SQL API); a Postgres role has only `access_host_url`.
        let address = match body["database_branch"]["mysql_edge_address"].as_str() {
            Some(address) => address.to_string(),
            None => field("access_host_url")?,
        };
        let (host, port) = address
            .rsplit_once(':')
            .with_context(|| format!("address {address} is not host:port"))?;
        Ok(Login {
            host: host.to_string(),
            port: port.parse()?,
            user: field("username")?,
            password: field(password_field)?,
            database: field("database_name")?,
        })
    }
}
