//! Backups of a MariaDB branch over HTTP, beyond taking and restoring one: retention
//! (expired backups reaped with their files), protection, required backups, the default
//! and user policies running on schedule, and bad input.

mod backup_support;
mod support;

use backup_support::*;
use dbplane_testkit::{TestServer, wait_until};
use serde_json::json;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const DB: &str = "/v1/organizations/acme/databases/shop";
const MAIN: &str = "/v1/organizations/acme/databases/shop/branches/main";

#[tokio::test]
async fn retention_protection_and_policies() {
    let server = TestServer::start_with(BIN, options(Vec::new())).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "shop", "mysql").await;
    let login = admin_password_at(&client, MAIN, "admin").await;
    mysql_exec(
        &login,
        "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL)",
    )
    .await
    .unwrap();

    // Default policies: required, every 12 hours, 2 days of retention, both targets.
    let policies = client.get(&format!("{DB}/backup-policies")).await;
    assert_eq!(policies.status, 200, "{}", policies.body);
    let defaults = policies.body["data"].as_array().unwrap().clone();
    assert_eq!(defaults.len(), 2);
    for policy in &defaults {
        assert_eq!(policy["required"], true);
        assert_eq!(
            (
                policy["frequency_value"].as_i64(),
                policy["frequency_unit"].as_str()
            ),
            (Some(12), Some("hour"))
        );
        assert_eq!(
            (
                policy["retention_value"].as_i64(),
                policy["retention_unit"].as_str()
            ),
            (Some(2), Some("day"))
        );
        let removed = client
            .delete(&format!(
                "{DB}/backup-policies/{}",
                policy["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(removed.status, 422, "{}", removed.body);
    }

    // Short retention: the backup and its files go; a protected one stays.
    let short = json!({"retention_unit": "second", "retention_value": 2});
    let doomed = start_backup(&client, MAIN, short.clone()).await;

    let kept = start_backup(&client, MAIN, short).await;
    let protect = client
        .patch(
            &format!("{MAIN}/backups/{kept}"),
            json!({"protected": true}),
        )
        .await;
    assert_eq!(protect.status, 200, "{}", protect.body);
    assert_eq!(protect.body["protected"], true);
    assert_eq!(
        finished_backup(&client, MAIN, &doomed).await["state"],
        "success"
    );
    assert!(has_manifest(server.data_dir(), &doomed));
    wait_for_404(&client, &format!("{MAIN}/backups/{doomed}"), BACKUP_TIMEOUT).await;
    wait_until(
        "the reaped backup's files to go",
        BACKUP_TIMEOUT,
        || async { (!stored_backups(server.data_dir()).0.contains(&doomed)).then_some(()) },
    )
    .await;
    let all = client.get(&format!("{MAIN}/backups?all=true")).await.body;
    let reaped = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == doomed.as_str())
        .expect("listed with all");
    assert!(reaped["deleted_at"].is_string());
    let live = client.get(&format!("{MAIN}/backups")).await.body;
    assert!(
        live["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["id"] != doomed.as_str())
    );
    // The protected backup outlives its expiry and refuses deletion.
    let kept_path = format!("{MAIN}/backups/{kept}");
    let expired = finished_backup(&client, MAIN, &kept).await;
    let expires_at =
        dbplane_domain::Timestamp::parse_rfc3339(expired["expires_at"].as_str().unwrap()).unwrap();
    wait_until(
        "the protected backup's expiry to pass",
        BACKUP_TIMEOUT,
        || async {
            (dbplane_domain::Timestamp::now().unix_millis() > expires_at.unix_millis() + 1000)
                .then_some(())
        },
    )
    .await;
    assert_eq!(client.get(&kept_path).await.status, 200);
    assert!(has_manifest(server.data_dir(), &kept));
    assert_eq!(client.delete(&kept_path).await.status, 422);
    client.patch(&kept_path, json!({"protected": false})).await;
    wait_for_404(&client, &kept_path, BACKUP_TIMEOUT).await;

    // A manual delete removes the files at once.
    let manual = successful_backup(&client, MAIN).await;
    let manual_id = manual["id"].as_str().unwrap().to_string();
    assert_eq!(
        client
            .delete(&format!("{MAIN}/backups/{manual_id}"))
            .await
            .status,
        204
    );
    wait_until(
        "the deleted backup's files to go",
        BACKUP_TIMEOUT,
        || async { (!stored_backups(server.data_dir()).0.contains(&manual_id)).then_some(()) },
    )
    .await;

    // A policy with a short frequency takes backups on schedule.
    let bad = client
        .post(
            &format!("{DB}/backup-policies"),
            json!({"name": "bad", "retention_value": 0}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let created = client
        .post(
            &format!("{DB}/backup-policies"),
            json!({"name": "often", "target": "production", "frequency_unit": "second",
                   "frequency_value": 2, "retention_unit": "minute", "retention_value": 10}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["required"], false);
    assert!(created.body["last_ran_at"].is_null());
    let policy_id = created.body["id"].as_str().unwrap().to_string();
    let policy_path = format!("{DB}/backup-policies/{policy_id}");
    let scheduled = wait_until("two scheduled backups", BACKUP_TIMEOUT, || {
        let client = client.clone();
        let path = format!("{MAIN}/backups?policy={policy_id}&state=success");
        async move {
            let body = client.get(&path).await.body;
            let data = body["data"].as_array().cloned().unwrap_or_default();
            (data.len() >= 2).then_some(data)
        }
    })
    .await;
    for backup in &scheduled {
        assert_eq!(backup["backup_policy"]["id"], policy_id.as_str());
        assert_eq!(backup["required"], false);
    }
    let first =
        dbplane_domain::Timestamp::parse_rfc3339(scheduled[1]["created_at"].as_str().unwrap())
            .unwrap();
    let second =
        dbplane_domain::Timestamp::parse_rfc3339(scheduled[0]["created_at"].as_str().unwrap())
            .unwrap();
    assert!(
        second.unix_millis() - first.unix_millis() >= 1900,
        "runs 2 s apart"
    );
    let policy = client.get(&policy_path).await.body;
    let last =
        dbplane_domain::Timestamp::parse_rfc3339(policy["last_ran_at"].as_str().expect("ran"))
            .unwrap();
    let next =
        dbplane_domain::Timestamp::parse_rfc3339(policy["next_run_at"].as_str().unwrap()).unwrap();
    assert_eq!(next.unix_millis() - last.unix_millis(), 2000, "{policy}");
    let updated = client
        .patch(
            &policy_path,
            json!({"frequency_unit": "week", "schedule_day": 9}),
        )
        .await;
    assert_eq!(updated.status, 400, "{}", updated.body);
    let updated = client
        .patch(
            &policy_path,
            json!({"frequency_unit": "hour", "frequency_value": 6}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["frequency_unit"], "hour");
    assert_eq!(client.delete(&policy_path).await.status, 204);
    assert_eq!(client.get(&policy_path).await.status, 404);

    // A development policy backs up development branches only.
    ready_branch(&client, DB, "dev", None).await;
    let dev_path = format!("{DB}/branches/dev");
    let created = client
        .post(
            &format!("{DB}/backup-policies"),
            json!({"name": "dev", "target": "development", "frequency_unit": "second",
                   "frequency_value": 1, "retention_unit": "minute", "retention_value": 10}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let dev_policy = created.body["id"].as_str().unwrap().to_string();
    wait_until("a scheduled backup of dev", BACKUP_TIMEOUT, || {
        let client = client.clone();
        let path = format!("{dev_path}/backups?policy={dev_policy}&state=success");
        async move {
            let body = client.get(&path).await.body;
            (body["data"].as_array().is_some_and(|d| !d.is_empty())).then_some(())
        }
    })
    .await;
    let on_main = client
        .get(&format!("{MAIN}/backups?policy={dev_policy}&all=true"))
        .await
        .body;
    assert_eq!(on_main["data"], json!([]), "{on_main}");
    let production_only = client
        .get(&format!("{dev_path}/backups?production=true"))
        .await
        .body;
    assert_eq!(production_only["data"], json!([]));
}
