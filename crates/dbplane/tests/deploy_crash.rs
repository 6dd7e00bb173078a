//! kill -9 of the server during a deployment: during the copy, at pending cutover, during
//! the cutover and in the revert window. Each time the deployment resumes and finishes
//! exactly once: the schema changed once, every row is there, no artifact is left.

mod support;

use serde_json::json;
use support::deploys::*;
use support::*;

const ROWS: u64 = 20_000;
const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "INSERT INTO users (name) SELECT CONCAT('user-', seq) FROM seq_1_to_20000",
];
/// Short copy steps, so a copy spans many saved checkpoints.
const SMALL_STEPS: &str = "copy_step_millis = 30\n";

async fn finish_and_check(fixture: &DeployFixture, number: u64, rows: u64) {
    let deployed = fixture
        .wait_for(number, &["complete_pending_revert", "complete_error"])
        .await;
    assert_eq!(
        deployed["deployment_state"], "complete_pending_revert",
        "{deployed}"
    );
    assert_eq!(fixture.main_columns("users").await, ["id", "name", "age"]);
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), rows);
    fixture.post(number, "skip-revert").await;
    fixture.wait_for_no_artifacts().await;
    assert_eq!(fixture.get(number).await["deployment_state"], "complete");
}

#[tokio::test]
async fn kill_during_the_copy_resumes_from_the_checkpoint() {
    let mut fixture = DeployFixture::start(SMALL_STEPS, Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE users ADD COLUMN age INT")
        .await
        .unwrap();
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();
    fixture
        .client
        .patch(
            &format!("{}/throttler", DeployFixture::path(number)),
            json!({"ratio": 80}),
        )
        .await;
    fixture.post(number, "deploy").await;
    // Some progress saved, not all: kill -9 there.
    let path = DeployFixture::path(number);
    dbplane_testkit::wait_until("copy progress", DEPLOY_TIMEOUT, || {
        let client = fixture.client.clone();
        let path = path.clone();
        async move {
            let body = client.get(&path).await.body;
            let progress =
                body["deployment"]["deploy_operations"][0]["progress_percentage"].as_f64();
            progress.filter(|p| *p > 5.0 && *p < 90.0)
        }
    })
    .await;
    mysql_exec(
        &fixture.main,
        "INSERT INTO users (name) VALUES ('before-kill')",
    )
    .await
    .unwrap();
    fixture.server.kill();
    // The edge went down with `serve`; the server itself did not.
    let direct = fixture.main.direct(fixture.cluster_port);
    mysql_exec(&direct, "INSERT INTO users (name) VALUES ('while-down')")
        .await
        .unwrap();
    mysql_exec(&direct, "DELETE FROM users WHERE id = 7")
        .await
        .unwrap();
    fixture.start_again(Vec::new()).await;
    finish_and_check(&fixture, number, ROWS + 1).await;
    let kept = mysql_count(
        &fixture.main,
        "users WHERE name IN ('before-kill', 'while-down')",
    )
    .await;
    assert_eq!(kept.unwrap(), 2);
}

#[tokio::test]
async fn kill_during_the_cutover_finishes_it_once() {
    let mut fixture =
        DeployFixture::start("", failpoint("run_deployment.cutover.after"), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE users ADD COLUMN age INT")
        .await
        .unwrap();
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();
    fixture.post(number, "deploy").await;
    // The RENAME ran; the process died before recording it.
    fixture.crashed(Vec::new()).await;
    mysql_exec(
        &fixture.main,
        "INSERT INTO users (name, age) VALUES ('after-restart', 1)",
    )
    .await
    .unwrap();
    finish_and_check(&fixture, number, ROWS + 1).await;
}

#[tokio::test]
async fn kill_at_pending_cutover_and_in_the_revert_window() {
    let mut fixture = DeployFixture::start("", failpoint("run_deployment.gated"), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE users ADD COLUMN age INT")
        .await
        .unwrap();
    let number = fixture.open("dev", json!({"auto_cutover": false})).await["number"]
        .as_u64()
        .unwrap();
    fixture.post(number, "deploy").await;
    // Killed as it reached pending_cutover; restart armed for the revert window.
    fixture
        .crashed(failpoint("run_deployment.revert_window.after"))
        .await;
    fixture.wait_for(number, &["pending_cutover"]).await;
    mysql_exec(&fixture.main, "INSERT INTO users (name) VALUES ('gated')")
        .await
        .unwrap();
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);
    fixture.post(number, "apply-deploy").await;
    fixture.crashed(Vec::new()).await;
    let deployed = fixture.wait_for(number, &["complete_pending_revert"]).await;
    assert_eq!(deployed["deployment_state"], "complete_pending_revert");
    assert_eq!(fixture.main_columns("users").await, ["id", "name", "age"]);
    mysql_exec(
        &fixture.main,
        "INSERT INTO users (name, age) VALUES ('window', 5)",
    )
    .await
    .unwrap();
    fixture
        .act(number, "revert", "complete_revert", "complete_revert_error")
        .await;
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), ROWS + 2);
    fixture.wait_for_no_artifacts().await;
}
