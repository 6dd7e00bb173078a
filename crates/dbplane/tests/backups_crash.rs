//! Crash tests of backups and restores: the server is killed (SIGKILL, by an armed
//! failpoint) at every step of a backup and of a restore, then started again. A backup
//! always ends `success` with every object and its manifest (a dump cut short is deleted
//! and taken again), never success with missing data, and leaves no orphaned files; a
//! restore runs again and yields the backup's data.

mod backup_support;
mod support;

use backup_support::*;
use dbplane_testkit::{BootstrapToken, TestServer, wait_until};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

fn armed(failpoint: &str) -> Vec<(String, String)> {
    vec![("DBPLANE_FAILPOINTS".to_string(), failpoint.to_string())]
}

/// Sends a request the server may die while answering.
async fn send_racing_the_crash(
    server: &TestServer,
    token: &BootstrapToken,
    path: &str,
    body: Value,
) -> Option<u16> {
    reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .header("Authorization", token.header())
        .json(&body)
        .send()
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

async fn crash_and_restart(server: &mut TestServer) {
    server.wait_for_exit(EXIT_TIMEOUT).await;
    server.set_env(Vec::new());
    server.start_again().await;
}

/// The only backup of a branch, once finished.
async fn the_backup(client: &dbplane_testkit::ApiClient, branch: &str) -> Value {
    let listed = wait_until("the backup to be listed", BACKUP_TIMEOUT, || {
        let client = client.clone();
        let path = format!("{branch}/backups");
        async move {
            let body = client.get(&path).await.body;
            body["data"].as_array().and_then(|d| d.first().cloned())
        }
    })
    .await;
    finished_backup(client, branch, listed["id"].as_str().unwrap()).await
}

/// Files of the store are exactly those of `live` backups, nothing half-written, and no
/// temporary file of a backup or restore is left.
fn assert_no_orphans(server: &TestServer, live: &[&str]) {
    let scratch: Vec<_> = std::fs::read_dir(server.data_dir().join("backup-scratch"))
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    assert!(scratch.is_empty(), "temporary files left: {scratch:?}");
    let (stored, partial) = stored_backups(server.data_dir());
    let mut live: Vec<String> = live.iter().map(|s| s.to_string()).collect();
    live.sort();
    assert_eq!(stored, live, "stored backups");
    assert!(!partial, "half-written objects left behind");
    for id in &live {
        assert!(has_manifest(server.data_dir(), id));
    }
}

async fn owner_role(client: &dbplane_testkit::ApiClient, branch: &str) -> Login {
    let created = client
        .post(
            &format!("{branch}/roles"),
            json!({"name": "owner", "inherited_roles": ["postgres"]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    Login::from_role(&created.body)
}

#[tokio::test]
async fn mysql_backup_survives_a_crash_at_every_step() {
    for failpoint in [
        "run_backup.start",
        "run_backup.start.after",
        "run_backup.dump",
        "run_backup.object_stored",
        "run_backup.manifest_stored",
        "run_backup.dump.after",
    ] {
        let mut server = TestServer::start_with(BIN, options(armed(failpoint))).await;
        let token = server.bootstrap("acme", "ops@acme.test");
        let client = server.client(Some(token.header()));
        ready_database(&client, "acme", "shop", "mysql").await;
        let db = "/v1/organizations/acme/databases/shop";
        let main = format!("{db}/branches/main");
        let created = client
            .post(
                &format!("{main}/passwords"),
                json!({"name": "admin", "role": "admin"}),
            )
            .await;
        let login = Login::from_password(&created.body);
        mysql_exec(
            &login,
            "CREATE TABLE a (id INT PRIMARY KEY, v TEXT); CREATE TABLE b (id INT PRIMARY KEY, a_id INT, FOREIGN KEY (a_id) REFERENCES a (id));
             INSERT INTO a VALUES (1, 'x'), (2, NULL), (3, 'ü'); INSERT INTO b VALUES (1, 1), (2, 3);",
        )
        .await
        .unwrap();
        let sent =
            send_racing_the_crash(&server, &token, &format!("{main}/backups"), json!({})).await;
        assert!(matches!(sent, None | Some(201)), "{failpoint}: {sent:?}");
        crash_and_restart(&mut server).await;
        let client = server.client(Some(token.header()));

        let backup = the_backup(&client, &main).await;
        assert_eq!(backup["state"], "success", "{failpoint}: {backup}");
        assert!(backup["size"].as_i64().unwrap() > 0, "{failpoint}");
        let id = backup["id"].as_str().unwrap();
        assert_no_orphans(&server, &[id]);

        let restored = client
            .post(
                &format!("{db}/branches"),
                json!({"name": "restored", "backup_id": id}),
            )
            .await;
        assert_eq!(restored.status, 201, "{}", restored.body);
        wait_for_branch(&client, db, "restored").await;
        let password = client
            .post(
                &format!("{db}/branches/restored/passwords"),
                json!({"name": "r", "role": "admin"}),
            )
            .await;
        let restored_login = Login::from_password(&password.body);
        assert_eq!(
            mysql_count(&restored_login, "a").await.unwrap(),
            3,
            "{failpoint}"
        );
        assert_eq!(
            mysql_count(&restored_login, "b").await.unwrap(),
            2,
            "{failpoint}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn postgres_restore_survives_a_crash_at_every_step() {
    let mut server = TestServer::start_with(BIN, options(armed("run_backup.object_stored"))).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "ledger", "postgresql").await;
    let db = "/v1/organizations/acme/databases/ledger";
    let main = format!("{db}/branches/main");
    let login = owner_role(&client, &main).await;
    pg_exec(
        &login,
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text UNIQUE, data jsonb);
         INSERT INTO accounts (email, data) SELECT 'u' || n || '@x.test', jsonb_build_object('n', n) FROM generate_series(1, 5000) n;",
    )
    .await
    .unwrap();

    // A crash after the archive object was stored but before the manifest: resumed.
    let sent = send_racing_the_crash(&server, &token, &format!("{main}/backups"), json!({})).await;
    assert!(matches!(sent, None | Some(201)), "{sent:?}");
    crash_and_restart(&mut server).await;
    let client = server.client(Some(token.header()));
    let backup = the_backup(&client, &main).await;
    assert_eq!(backup["state"], "success", "{backup}");
    let id = backup["id"].as_str().unwrap().to_string();
    assert_no_orphans(&server, &[&id]);

    for (index, failpoint) in [
        "restore_branch.restore",
        "restore_branch.object_read",
        "restore_branch.restore.after",
        "restore_branch.finish",
        "restore_branch.finish.after",
    ]
    .into_iter()
    .enumerate()
    {
        server.set_env(armed(failpoint));
        server.restart().await;
        let name = format!("restored-{index}");
        let sent = send_racing_the_crash(
            &server,
            &token,
            &format!("{db}/branches"),
            json!({"name": name, "backup_id": id}),
        )
        .await;
        assert!(matches!(sent, None | Some(201)), "{failpoint}: {sent:?}");
        crash_and_restart(&mut server).await;
        let client = server.client(Some(token.header()));
        let branch = wait_for_branch(&client, db, &name).await;
        assert_eq!(
            branch["restored_from_branch"]["name"], "main",
            "{failpoint}"
        );
        let restored = owner_role(&client, &format!("{db}/branches/{name}")).await;
        assert_eq!(
            pg_count(&restored, "accounts").await.unwrap(),
            5000,
            "{failpoint}"
        );
    }
    let client = server.client(Some(token.header()));
    let backup = client.get(&format!("{main}/backups/{id}")).await.body;
    assert_eq!(
        backup["restored_branches"].as_array().unwrap().len(),
        5,
        "{backup}"
    );
    assert_no_orphans(&server, &[&id]);
    server.stop().await;
}

/// A backup that cannot be taken (its database vanished behind dbplane's back) ends
/// `failed` after its attempts, with nothing stored.
#[tokio::test]
async fn a_backup_that_keeps_failing_ends_failed_without_files() {
    use mysql_async::prelude::Queryable;
    let server = TestServer::start_with(BIN, options(Vec::new())).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    let (_dev, login) = mysql_dev_branch_with_admin(&client).await;
    let db = "/v1/organizations/acme/databases/shop";
    let dev_path = format!("{db}/branches/dev");
    let physical = login.physical;
    let mut root = mysql_root(server.managed_mysql_port()).await;
    root.query_drop(format!("DROP DATABASE `{physical}`"))
        .await
        .expect("drop the branch database");
    let _ = root.disconnect().await;

    let id = start_backup(&client, &dev_path, json!({})).await;
    let backup = finished_backup(&client, &dev_path, &id).await;
    assert_eq!(backup["state"], "failed", "{backup}");
    assert!(backup["completed_at"].is_string());
    assert_eq!(backup["size"], 0);
    assert_no_orphans(&server, &[]);
    let restore = client
        .post(
            &format!("{db}/branches"),
            json!({"name": "from-failed", "backup_id": id}),
        )
        .await;
    assert_eq!(restore.status, 422, "{}", restore.body);
}
