//! Helpers of the connection edge's tests: a database reached through the edge, its
//! passwords, and the real client programs (`scripts/install-client-deps.sh`).

use super::{Login, mysql_exec, ready_branch, ready_database};
use dbplane_testkit::{ApiClient, TestServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

pub const DB_PATH: &str = "/v1/organizations/acme/databases/shop";

/// The table every client test works on.
pub const ITEMS: &str = "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
    name VARCHAR(100), qty INT, payload LONGBLOB)";

/// A server with database `shop` (table `items` on `main`) and an API client.
pub struct EdgeFixture {
    pub server: TestServer,
    pub client: ApiClient,
    pub admin: Login,
}

impl EdgeFixture {
    pub async fn start() -> EdgeFixture {
        Self::start_with(dbplane_testkit::TestOptions {
            clusters: true,
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(options: dbplane_testkit::TestOptions) -> EdgeFixture {
        let server = TestServer::start_with(env!("CARGO_BIN_EXE_dbplane"), options).await;
        let token = server.bootstrap("acme", "ops@acme.test");
        let client = server.client(Some(token.header()));
        ready_database(&client, "acme", "shop", "mysql").await;
        let admin = password(&client, "main", "admin").await;
        mysql_exec(&admin, ITEMS).await.expect("create items");
        EdgeFixture {
            server,
            client,
            admin,
        }
    }

    pub async fn password(&self, branch: &str, role: &str) -> Login {
        password(&self.client, branch, role).await
    }
}

/// A new password of `role` on `branch` of `shop`.
pub async fn password(client: &ApiClient, branch: &str, role: &str) -> Login {
    let response = password_response(client, branch, role).await;
    Login::from_password(&response)
}

pub async fn password_response(client: &ApiClient, branch: &str, role: &str) -> Value {
    let created = client
        .post(
            &format!("{DB_PATH}/branches/{branch}/passwords"),
            json!({"role": role}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body
}

/// Where the client programs are.
pub struct ClientTools {
    pub python: PathBuf,
    pub node_clients: PathBuf,
}

/// Installs the client programs if missing (a no-op when `make test` already did).
pub fn client_tools() -> ClientTools {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(root.join("scripts/install-client-deps.sh"))
        .output()
        .expect("run scripts/install-client-deps.sh");
    assert!(
        output.status.success(),
        "scripts/install-client-deps.sh failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let paths: HashMap<String, String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ClientTools {
        python: PathBuf::from(&paths["python"]),
        node_clients: PathBuf::from(&paths["node_clients"]),
    }
}

/// The environment a client script reads its connection from.
pub fn client_env(login: &Login, role: &str, tls: bool) -> Vec<(String, String)> {
    vec![
        ("EDGE_HOST".into(), login.host.clone()),
        ("EDGE_PORT".into(), login.port.to_string()),
        ("EDGE_USER".into(), login.user.clone()),
        ("EDGE_PASSWORD".into(), login.password.clone()),
        ("EDGE_DATABASE".into(), login.database.clone()),
        ("EDGE_ROLE".into(), role.into()),
        ("EDGE_TLS".into(), if tls { "1" } else { "0" }.into()),
    ]
}

/// Runs a client program; its last output line parsed as JSON. Panics with its output
/// when it fails.
pub fn run_client(mut command: Command, what: &str) -> Value {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what} printed {last:?}: {e}\n{stderr}"))
}

/// The MySQL error code of a failed call (`None`: it did not fail with a server error).
pub fn code<T>(result: &Result<T, mysql_async::Error>) -> Option<u16> {
    match result {
        Err(mysql_async::Error::Server(error)) => Some(error.code),
        _ => None,
    }
}

/// The server's message of a failed call, or what else it returned.
pub fn message<T: std::fmt::Debug>(result: &Result<T, mysql_async::Error>) -> String {
    match result {
        Err(mysql_async::Error::Server(error)) => error.message.clone(),
        other => format!("{other:?}"),
    }
}

/// `Err(code)` of a login attempt, `Ok(())` when it got in.
pub async fn login_code(login: &Login) -> Result<(), Option<u16>> {
    match login.mysql().await {
        Ok(conn) => {
            let _ = conn.disconnect().await;
            Ok(())
        }
        Err(error) => Err(code::<()>(&Err(error))),
    }
}

/// `shop` with the row `main` in `main`'s `items`, and a branch `dev` of it (schema only).
pub async fn main_with_a_row_and_dev() -> EdgeFixture {
    let fixture = EdgeFixture::start().await;
    mysql_exec(
        &fixture.admin,
        "INSERT INTO items (name, qty) VALUES ('main', 1)",
    )
    .await
    .unwrap();
    ready_branch(&fixture.client, DB_PATH, "dev", Some("main")).await;
    fixture
}
