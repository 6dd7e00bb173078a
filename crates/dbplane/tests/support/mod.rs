//! Shared helpers of the data-plane tests: API shortcuts and real database clients.
#![allow(dead_code)]

pub mod deploys;
pub mod edge;

use dbplane_testkit::{ApiClient, wait_until};
use serde_json::{Value, json};
use std::time::Duration;

pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Creates a database and waits until it is ready.
pub async fn ready_database(
    client: &ApiClient,
    organization: &str,
    name: &str,
    kind: &str,
) -> Value {
    let created = client
        .post(
            &format!("/v1/organizations/{organization}/databases"),
            json!({"name": name, "kind": kind, "cluster_size": "PS_10"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["state"], "pending");
    wait_for_database(client, organization, name).await
}

pub async fn wait_for_database(client: &ApiClient, organization: &str, name: &str) -> Value {
    let path = format!("/v1/organizations/{organization}/databases/{name}");
    wait_until(
        &format!("database {name} to be ready"),
        READY_TIMEOUT,
        || {
            let client = client.clone();
            let path = path.clone();
            async move {
                let response = client.get(&path).await;
                (response.status == 200 && response.body["state"] == "ready")
                    .then_some(response.body)
            }
        },
    )
    .await
}

/// Creates a branch and waits until it is ready.
pub async fn ready_branch(
    client: &ApiClient,
    database_path: &str,
    name: &str,
    parent: Option<&str>,
) -> Value {
    let mut body = json!({"name": name});
    if let Some(parent) = parent {
        body["parent_branch"] = json!(parent);
    }
    let created = client
        .post(&format!("{database_path}/branches"), body)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    wait_for_branch(client, database_path, name).await
}

pub async fn wait_for_branch(client: &ApiClient, database_path: &str, name: &str) -> Value {
    let path = format!("{database_path}/branches/{name}");
    wait_until(&format!("branch {name} to be ready"), READY_TIMEOUT, || {
        let client = client.clone();
        let path = path.clone();
        async move {
            let response = client.get(&path).await;
            (response.status == 200 && response.body["ready"] == true).then_some(response.body)
        }
    })
    .await
}

/// Waits until a GET answers 404 (a deleted resource).
pub async fn wait_for_gone(client: &ApiClient, path: &str) {
    wait_until(&format!("{path} to be gone"), READY_TIMEOUT, || {
        let client = client.clone();
        let path = path.to_string();
        async move { (client.get(&path).await.status == 404).then_some(()) }
    })
    .await
}

/// A credential's connection parameters, from the create response.
#[derive(Clone, Debug)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The database name to connect with (a MySQL database's own name, through the edge).
    pub database: String,
    /// The branch's database on the server (`dbp_…`), for looking at it as the admin.
    pub physical: String,
}

impl Login {
    /// A MySQL login from a password: the branch's MySQL address (`access_host_url` names
    /// the HTTP SQL API when the edge serves it).
    pub fn from_password(body: &Value) -> Self {
        let address = body["database_branch"]["mysql_edge_address"]
            .as_str()
            .expect("database_branch.mysql_edge_address");
        let (host, port) = address.rsplit_once(':').expect("host:port");
        Login {
            host: host.to_string(),
            port: port.parse().expect("port"),
            user: body["username"].as_str().expect("username").to_string(),
            password: body["plain_text"].as_str().expect("plain_text").to_string(),
            database: body["database_name"]
                .as_str()
                .expect("database_name")
                .to_string(),
            physical: format!(
                "dbp_{}",
                body["database_branch"]["id"]
                    .as_str()
                    .expect("database_branch.id")
            ),
        }
    }

    pub fn from_role(body: &Value) -> Self {
        let address = body["access_host_url"].as_str().expect("access_host_url");
        let (host, port) = address.rsplit_once(':').expect("host:port");
        Login {
            host: host.to_string(),
            port: port.parse().expect("port"),
            user: body["username"].as_str().expect("username").to_string(),
            password: body["password"].as_str().expect("password").to_string(),
            database: body["database_name"]
                .as_str()
                .expect("database_name")
                .to_string(),
            physical: body["database_name"]
                .as_str()
                .expect("database_name")
                .to_string(),
        }
    }

    /// The same account straight to the managed MariaDB on `port` (not through the edge,
    /// which runs inside `serve`): for writes while `serve` is down.
    pub fn direct(&self, port: u16) -> Self {
        Login {
            host: "127.0.0.1".into(),
            port,
            database: self.physical.clone(),
            ..self.clone()
        }
    }

    pub fn with_database(&self, database: &str) -> Self {
        Login {
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// Connects to MariaDB over TCP.
    pub async fn mysql(&self) -> Result<mysql_async::Conn, mysql_async::Error> {
        let options = mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .db_name(Some(self.database.clone()))
            .prefer_socket(false);
        mysql_async::Conn::new(options).await
    }

    /// Connects to PostgreSQL over TCP.
    pub async fn postgres(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(&self.database);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

/// Runs a MySQL statement; `Ok` when the server accepted it.
pub async fn mysql_exec(login: &Login, sql: &str) -> Result<(), String> {
    use mysql_async::prelude::Queryable;
    let mut conn = login.mysql().await.map_err(|e| e.to_string())?;
    let result = conn.query_drop(sql).await.map_err(|e| e.to_string());
    let _ = conn.disconnect().await;
    result
}

pub async fn mysql_count(login: &Login, table: &str) -> Result<u64, String> {
    use mysql_async::prelude::Queryable;
    let mut conn = login.mysql().await.map_err(|e| e.to_string())?;
    let count: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {table}"))
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.disconnect().await;
    Ok(count.unwrap_or(0))
}

pub async fn pg_exec(login: &Login, sql: &str) -> Result<(), String> {
    let client = login.postgres().await.map_err(|e| e.to_string())?;
    client.batch_execute(sql).await.map_err(|e| e.to_string())
}

pub async fn pg_count(login: &Login, table: &str) -> Result<i64, String> {
    let client = login.postgres().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// The managed cluster's admin connection, to look at physical state.
pub async fn mysql_root(port: u16) -> mysql_async::Conn {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .prefer_socket(false);
    mysql_async::Conn::new(options)
        .await
        .expect("connect as the cluster admin")
}

/// Physical databases and accounts dbplane owns on the managed MariaDB.
pub async fn mysql_physical_state(port: u16) -> (Vec<String>, Vec<String>) {
    use mysql_async::prelude::Queryable;
    let mut conn = mysql_root(port).await;
    let databases: Vec<String> = conn
        .query("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'dbp\\\\_%' ORDER BY 1")
        .await
        .expect("list databases");
    let users: Vec<String> = conn
        .query("SELECT user FROM mysql.user WHERE user LIKE 'dbu\\\\_%' ORDER BY 1")
        .await
        .expect("list users");
    let _ = conn.disconnect().await;
    (databases, users)
}

/// Port of a `host:port` address.
pub fn port_of(address: &str) -> u16 {
    address
        .rsplit_once(':')
        .expect("host:port")
        .1
        .parse()
        .expect("port")
}

/// The `/metrics` page of the server at `base_url`.
pub async fn scrape(base_url: &str) -> String {
    let response = reqwest::get(format!("{base_url}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the sample named exactly `key` (name and labels), if present.
pub fn sample(page: &str, key: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
}

/// Kills the managed MariaDB of `server` (SIGKILL, as a crash would); its supervisor in
/// `serve` restarts it.
pub fn kill_managed_mysql(server: &dbplane_testkit::TestServer) {
    let pid_file = server.data_dir().join("clusters/mysql/mysqld.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the pid of the server this test's dbplane runs.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}
