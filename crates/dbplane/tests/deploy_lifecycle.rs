//! The full life of deploy requests over HTTP on a managed MariaDB: open (checks, lint,
//! operations), deploy online, revert window, revert keeping the rows written since (and
//! the views as they were), deploy again, skip the revert, complete; nothing left behind.

mod support;

use serde_json::json;
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "INSERT INTO users (name) SELECT CONCAT('user-', seq) FROM seq_1_to_3000",
    "CREATE VIEW named AS SELECT id, name FROM users",
    "CREATE VIEW gone AS SELECT id FROM users",
];

#[tokio::test]
async fn deploy_revert_deploy_again_and_complete() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(
        &dev,
        "ALTER TABLE users ADD COLUMN age INT NULL, ADD INDEX by_name (name)",
    )
    .await
    .unwrap();
    mysql_exec(
        &dev,
        "CREATE TABLE audit (id BIGINT PRIMARY KEY, note TEXT)",
    )
    .await
    .unwrap();
    for statement in [
        "CREATE OR REPLACE VIEW named AS SELECT id, name, age FROM users",
        "DROP VIEW gone",
        "CREATE VIEW fresh AS SELECT id, note FROM audit",
    ] {
        mysql_exec(&dev, statement).await.unwrap();
    }

    // Open: the checks find the two operations, no lint error, deployable.
    let opened = fixture.open("dev", json!({"notes": "age and audit"})).await;
    assert_eq!(opened["deployment_state"], "ready", "{opened}");
    assert_eq!(opened["number"], 1);
    assert_eq!(opened["notes"], "age and audit");
    let mut names = operations(&opened);
    names.sort();
    assert_eq!(
        names,
        [
            "ALTER named",
            "ALTER users",
            "CREATE audit",
            "CREATE fresh",
            "DROP gone"
        ]
    );
    assert_eq!(opened["deployment"]["deployable"], true);
    assert_eq!(opened["deployment"]["lint_errors"], json!([]));
    assert_eq!(opened["deployment"]["instant_ddl_eligible"], false);

    // Deploy: queued, then copied online and cut over; the window is open.
    let queued = fixture.post(1, "deploy").await;
    assert_eq!(queued["deployment_state"], "queued");
    let deployed = fixture
        .wait_for(1, &["complete_pending_revert", "complete_error"])
        .await;
    assert_eq!(
        deployed["deployment_state"], "complete_pending_revert",
        "{deployed}"
    );
    assert_eq!(deployed["state"], "open");
    assert!(deployed["deployed_at"].is_string());
    let revert_request = &deployed["deployment"]["deployment_revert_request"];
    assert!(
        revert_request["waiting_period_end_at"].is_string(),
        "{deployed}"
    );
    for operation in deployed["deployment"]["deploy_operations"]
        .as_array()
        .unwrap()
    {
        assert_eq!(operation["state"], "complete");
        assert_eq!(operation["progress_percentage"], 100.0);
    }
    assert_eq!(fixture.main_columns("users").await, ["id", "name", "age"]);
    assert!(fixture.main_tables().await.contains(&"audit".to_string()));
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), 3000);
    assert_eq!(fixture.main_columns("named").await, ["id", "name", "age"]);
    assert_eq!(fixture.main_columns("fresh").await, ["id", "note"]);
    assert!(!fixture.main_tables().await.contains(&"gone".to_string()));
    // The queue shows it holding the lane.
    let queue = fixture.client.get(&format!("{DB_PATH}/deploy-queue")).await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert_eq!(queue.body["data"][0]["state"], "complete_pending_revert");

    // Writes in the window (new schema), then revert: the old table has every row.
    mysql_exec(
        &fixture.main,
        "INSERT INTO users (name, age) VALUES ('late-1', 30), ('late-2', NULL)",
    )
    .await
    .unwrap();
    mysql_exec(
        &fixture.main,
        "UPDATE users SET name = 'renamed' WHERE id = 1",
    )
    .await
    .unwrap();
    mysql_exec(&fixture.main, "DELETE FROM users WHERE id = 2")
        .await
        .unwrap();
    fixture.post(1, "revert").await;
    let reverted = fixture
        .wait_for(1, &["complete_revert", "complete_revert_error"])
        .await;
    assert_eq!(
        reverted["deployment_state"], "complete_revert",
        "{reverted}"
    );
    assert_eq!(reverted["state"], "closed");
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), 3001);
    assert_eq!(
        mysql_count(
            &fixture.main,
            "users WHERE name IN ('late-1', 'late-2', 'renamed')"
        )
        .await
        .unwrap(),
        3
    );
    assert!(!fixture.main_tables().await.contains(&"audit".to_string()));
    // The views are as they were: the old definition, the dropped one back, no new one.
    assert_eq!(fixture.main_columns("named").await, ["id", "name"]);
    assert_eq!(fixture.main_columns("gone").await, ["id"]);
    assert!(!fixture.main_tables().await.contains(&"fresh".to_string()));
    assert_eq!(mysql_count(&fixture.main, "named").await.unwrap(), 3001);
    // The branch is kept.
    assert_eq!(
        fixture
            .client
            .get(&format!("{DB_PATH}/branches/dev"))
            .await
            .status,
        200
    );

    // Deploy again from the same branch, skip the revert window: complete and closed.
    let again = fixture.open("dev", json!({})).await;
    assert_eq!(again["number"], 2);
    assert_eq!(again["deployment_state"], "ready", "{again}");
    fixture.post(2, "deploy").await;
    fixture
        .wait_for(2, &["complete_pending_revert", "complete_error"])
        .await;
    let skipped = fixture.post(2, "skip-revert").await;
    assert_eq!(skipped["deployment_state"], "complete");
    assert_eq!(skipped["state"], "closed");
    // The job drops the kept old table lazily: wait for no artifact to remain.
    fixture.wait_for_no_artifacts().await;
    assert_eq!(fixture.main_columns("users").await, ["id", "name", "age"]);
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), 3001);
    assert_eq!(fixture.main_columns("named").await, ["id", "name", "age"]);
    assert!(!fixture.main_tables().await.contains(&"gone".to_string()));

    // The list filters.
    let deployed = fixture
        .client
        .get(&format!("{DB_PATH}/deploy-requests?state=deployed"))
        .await;
    assert_eq!(deployed.status, 200, "{}", deployed.body);
    let numbers: Vec<u64> = deployed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2]);
    let open = fixture
        .client
        .get(&format!("{DB_PATH}/deploy-requests?state=open"))
        .await;
    assert_eq!(open.body["data"], json!([]));
}
