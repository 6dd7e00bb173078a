//! Crash tests: the server is killed (SIGKILL, by an armed failpoint) at every step
//! boundary of database creation, branch creation and branch deletion, then started
//! again; the resource reaches its final state exactly once and no physical database
//! or account is left behind.

mod support;

use dbplane_testkit::{TestOptions, TestServer, wait_until};
use serde_json::json;
use std::time::Duration;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

fn armed(failpoint: &str) -> Vec<(String, String)> {
    vec![("DBPLANE_FAILPOINTS".to_string(), failpoint.to_string())]
}

async fn start_armed(failpoint: &str) -> TestServer {
    TestServer::start_with(
        BIN,
        TestOptions {
            clusters: true,
            env: armed(failpoint),
            ..TestOptions::default()
        },
    )
    .await
}

/// Sends a request the server may die while answering (its armed failpoint can fire
/// in a job worker before the response is written); returns the status if any.
async fn send_racing_the_crash(
    server: &TestServer,
    token: &dbplane_testkit::BootstrapToken,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Option<u16> {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .header("Authorization", token.header())
        .json(&body)
        .send()
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

/// Waits for the armed failpoint to kill the server, then restarts it unarmed.
async fn crash_and_restart(server: &mut TestServer) {
    server.wait_for_exit(EXIT_TIMEOUT).await;
    server.set_env(Vec::new());
    server.start_again().await;
}

#[tokio::test]
async fn database_creation_survives_a_crash_at_every_step() {
    for failpoint in [
        "create_branch.create_database",
        "create_branch.create_database.after",
        "create_branch.finish",
        "create_branch.finish.after",
    ] {
        let mut server = start_armed(failpoint).await;
        let token = server.bootstrap("acme", "ops@acme.test");
        let created = send_racing_the_crash(
            &server,
            &token,
            reqwest::Method::POST,
            "/v1/organizations/acme/databases",
            json!({"name": "shop", "cluster_size": "PS_10"}),
        )
        .await;
        assert!(matches!(created, None | Some(201)), "{created:?}");
        crash_and_restart(&mut server).await;
        let client = server.client(Some(token.header()));
        let database = wait_for_database(&client, "acme", "shop").await;
        let main = client
            .get("/v1/organizations/acme/databases/shop/branches/main")
            .await
            .body;
        let port = server.managed_mysql_port();
        let (databases, _) = mysql_physical_state(port).await;
        assert_eq!(
            databases,
            vec![format!("dbp_{}", main["id"].as_str().unwrap())],
            "{failpoint}: exactly one physical database"
        );
        assert_eq!(database["branches_count"], 1, "{failpoint}");
        server.stop().await;
    }
}

#[tokio::test]
async fn branch_creation_and_deletion_survive_a_crash_at_every_step() {
    let mut server = TestServer::start_with_clusters(BIN).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "shop", "mysql").await;
    let db_path = "/v1/organizations/acme/databases/shop";
    let main_pw = client
        .post(
            &format!("{db_path}/branches/main/passwords"),
            json!({"role": "admin"}),
        )
        .await
        .body;
    let main_login = Login::from_password(&main_pw);
    let port = server.managed_mysql_port();
    mysql_exec(
        &main_login,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await
    .unwrap();
    mysql_exec(
        &main_login,
        "CREATE TABLE u (id INT PRIMARY KEY, t_id INT, FOREIGN KEY (t_id) REFERENCES t (id))",
    )
    .await
    .unwrap();

    let create_points = [
        "create_branch.create_database",
        "create_branch.create_database.after",
        "create_branch.copy_schema",
        "create_branch.copy_schema.after",
        "create_branch.finish",
        "create_branch.finish.after",
    ];
    let delete_points = [
        "delete_branch.drop_credentials",
        "delete_branch.drop_credentials.after",
        "delete_branch.drop_database",
        "delete_branch.drop_database.after",
        "delete_branch.purge",
        "delete_branch.purge.after",
    ];
    for (index, failpoint) in create_points.iter().enumerate() {
        let name = format!("feature-{index}");
        server.stop().await;
        server.set_env(armed(failpoint));
        server.start_again().await;
        let created = send_racing_the_crash(
            &server,
            &token,
            reqwest::Method::POST,
            &format!("{db_path}/branches"),
            json!({"name": name}),
        )
        .await;
        assert!(matches!(created, None | Some(201)), "{created:?}");
        crash_and_restart(&mut server).await;
        let client = server.client(Some(token.header()));
        let branch = wait_for_branch(&client, db_path, &name).await;
        let schema = client
            .get(&format!("{db_path}/branches/{name}/schema"))
            .await
            .body;
        assert_eq!(
            schema["data"].as_array().unwrap().len(),
            2,
            "{failpoint}: the parent's two tables"
        );
        let (databases, _) = mysql_physical_state(port).await;
        let physical = format!("dbp_{}", branch["id"].as_str().unwrap());
        assert_eq!(
            databases.iter().filter(|d| **d == physical).count(),
            1,
            "{failpoint}"
        );
    }
    for (index, failpoint) in delete_points.iter().enumerate() {
        let name = format!("feature-{index}");
        let client = server.client(Some(token.header()));
        let branch_path = format!("{db_path}/branches/{name}");
        let password = client
            .post(
                &format!("{branch_path}/passwords"),
                json!({"role": "reader"}),
            )
            .await;
        assert_eq!(password.status, 201);
        let login = Login::from_password(&password.body);
        server.stop().await;
        server.set_env(armed(failpoint));
        server.start_again().await;
        let deleted = send_racing_the_crash(
            &server,
            &token,
            reqwest::Method::DELETE,
            &branch_path,
            json!({}),
        )
        .await;
        assert!(matches!(deleted, None | Some(204)), "{deleted:?}");
        crash_and_restart(&mut server).await;
        let client = server.client(Some(token.header()));
        wait_for_gone(&client, &branch_path).await;
        wait_until(
            &format!("{failpoint}: the branch's objects to be dropped"),
            READY_TIMEOUT,
            || {
                let login = login.clone();
                async move {
                    let (databases, users) = mysql_physical_state(port).await;
                    (!databases.contains(&login.physical) && !users.contains(&login.user))
                        .then_some(())
                }
            },
        )
        .await;
    }
    // Nothing orphaned: only main's database and its one password remain.
    let (databases, users) = mysql_physical_state(port).await;
    assert_eq!(databases, vec![main_login.physical.clone()]);
    assert_eq!(users, vec![main_login.user.clone()]);
    let client = server.client(Some(token.header()));
    let branches = client.get(&format!("{db_path}/branches")).await;
    assert_eq!(branches.body["total_count"], 1);
}

#[tokio::test]
async fn a_password_interrupted_before_its_response_is_cleaned_up() {
    let mut server = TestServer::start_with(
        BIN,
        TestOptions {
            clusters: true,
            extra_config: "[jobs]\npending_credential_grace_seconds = 10\n".to_string(),
            ..TestOptions::default()
        },
    )
    .await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "shop", "mysql").await;
    let port = server.managed_mysql_port();
    server.stop().await;
    server.set_env(armed("create_credential.after_account"));
    server.start_again().await;
    let client = server.client(Some(token.header()));
    let path = "/v1/organizations/acme/databases/shop/branches/main/passwords";
    // The server dies after creating the account, before answering.
    let http = reqwest::Client::new();
    let outcome = http
        .post(format!("{}{path}", server.base_url()))
        .header("Authorization", token.header())
        .json(&json!({"role": "admin"}))
        .send()
        .await;
    assert!(outcome.is_err(), "no response may reach the client");
    drop(client);
    crash_and_restart(&mut server).await;
    let (_, users) = mysql_physical_state(port).await;
    assert_eq!(users.len(), 1, "the account exists, pending");
    // The cleanup job is due after the grace period; the pending password is never
    // listed meanwhile, and afterwards the account is gone.
    let client = server.client(Some(token.header()));
    assert_eq!(client.get(path).await.body["total_count"], 0);
    wait_until(
        "the pending account to be dropped",
        Duration::from_secs(60),
        || async {
            let (_, users) = mysql_physical_state(port).await;
            users.is_empty().then_some(())
        },
    )
    .await;
}
