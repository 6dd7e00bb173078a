//! Helpers of the backup tests: a server with a fast scheduler, waiting on backups,
//! and looking at the backup store's files.
#![allow(dead_code)]

use dbplane_testkit::{ApiClient, TestOptions, wait_until};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

pub const BACKUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Managed clusters, a 200 ms scheduler tick and short units allowed.
pub fn options(env: Vec<(String, String)>) -> TestOptions {
    TestOptions {
        clusters: true,
        extra_config: "[backups]\nscheduler_interval_ms = 200\nallow_short_units = true\n"
            .to_string(),
        env,
        ..TestOptions::default()
    }
}

/// Starts a backup of a branch and returns its id.
pub async fn start_backup(client: &ApiClient, branch_path: &str, body: Value) -> String {
    let created = client.post(&format!("{branch_path}/backups"), body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["state"], "pending");
    created.body["id"].as_str().expect("id").to_string()
}

/// Waits until the backup is in a terminal state and returns it.
pub async fn finished_backup(client: &ApiClient, branch_path: &str, id: &str) -> Value {
    let path = format!("{branch_path}/backups/{id}");
    wait_until(&format!("backup {id} to finish"), BACKUP_TIMEOUT, || {
        let client = client.clone();
        let path = path.clone();
        async move {
            let response = client.get(&path).await;
            let state = response.body["state"].as_str().unwrap_or("").to_string();
            (response.status == 200 && ["success", "failed", "canceled"].contains(&state.as_str()))
                .then_some(response.body)
        }
    })
    .await
}

/// Takes a backup and waits for its success.
pub async fn successful_backup(client: &ApiClient, branch_path: &str) -> Value {
    let id = start_backup(
        client,
        branch_path,
        json!({"retention_unit": "day", "retention_value": 1}),
    )
    .await;
    let backup = finished_backup(client, branch_path, &id).await;
    assert_eq!(backup["state"], "success", "{backup}");
    backup
}

/// Waits until a GET of `path` answers 404.
pub async fn wait_for_404(client: &ApiClient, path: &str, timeout: Duration) {
    wait_until(&format!("{path} to be gone"), timeout, || {
        let client = client.clone();
        let path = path.to_string();
        async move { (client.get(&path).await.status == 404).then_some(()) }
    })
    .await
}

/// Backup ids with objects in the store under `data_dir/backups`, and whether any
/// half-written object is left in its `.partial` directory.
pub fn stored_backups(data_dir: &Path) -> (Vec<String>, bool) {
    let root = data_dir.join("backups");
    let mut ids = Vec::new();
    let mut partial = false;
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name == ".partial" {
                partial = std::fs::read_dir(entry.path())
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false);
            } else if std::fs::read_dir(entry.path())
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
            {
                ids.push(name);
            }
        }
    }
    ids.sort();
    (ids, partial)
}

/// Whether the backup's manifest is stored.
pub fn has_manifest(data_dir: &Path, id: &str) -> bool {
    data_dir
        .join("backups")
        .join(id)
        .join("manifest.json")
        .exists()
}

/// A ready `dev` branch of a new MariaDB database `acme/shop` and an admin password on
/// it: the branch's JSON and the password's login.
pub async fn mysql_dev_branch_with_admin(client: &ApiClient) -> (Value, crate::support::Login) {
    crate::support::ready_database(client, "acme", "shop", "mysql").await;
    let db = "/v1/organizations/acme/databases/shop";
    let dev = crate::support::ready_branch(client, db, "dev", None).await;
    let created = client
        .post(
            &format!("{db}/branches/dev/passwords"),
            json!({"name": "admin", "role": "admin"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (dev, crate::support::Login::from_password(&created.body))
}

/// A new admin password named `name` on the branch at `branch_path`.
pub async fn admin_password_at(
    client: &ApiClient,
    branch_path: &str,
    name: &str,
) -> crate::support::Login {
    let created = client
        .post(
            &format!("{branch_path}/passwords"),
            json!({"name": name, "role": "admin"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    crate::support::Login::from_password(&created.body)
}
