//! The copy's load throttle: while the server runs more statements than
//! `[deploys] max_threads_running`, no chunk starts (`throttled_at` shows it); once the
//! load goes, the deployment finishes.

mod support;

use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE items (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "INSERT INTO items (name) SELECT CONCAT('item-', seq) FROM seq_1_to_5000",
];

#[tokio::test]
async fn a_busy_server_holds_the_copy_back() {
    let fixture = DeployFixture::start("max_threads_running = 2\n", Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE items ADD INDEX by_name (name)")
        .await
        .unwrap();
    let opened = fixture.open("dev", serde_json::json!({})).await;
    assert_eq!(opened["deployment_state"], "ready", "{opened}");

    // Two long statements, and the copy's own check makes three: above the limit. (A
    // `readwriter`: admin sessions are cut when their grants change.)
    let writer = password(&fixture.client, "main", "readwriter").await;
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let main = writer.clone();
            tokio::spawn(async move { mysql_exec(&main, "SELECT SLEEP(6)").await })
        })
        .collect();
    dbplane_testkit::wait_until("the two statements to run", DEPLOY_TIMEOUT, || {
        let main = writer.clone();
        async move {
            let mut conn = main.mysql().await.ok()?;
            let count: Option<u64> = mysql_async::prelude::Queryable::query_first(
                &mut conn,
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'",
            )
            .await
            .ok()?;
            (count == Some(2)).then_some(())
        }
    })
    .await;
    fixture.post(1, "deploy").await;
    let held = dbplane_testkit::wait_until("the copy to be throttled", DEPLOY_TIMEOUT, || {
        let client = fixture.client.clone();
        async move {
            let request = client.get(&DeployFixture::path(1)).await.body;
            let operation = request["deployment"]["deploy_operations"][0].clone();
            operation["throttled_at"].is_string().then_some(request)
        }
    })
    .await;
    let operation = &held["deployment"]["deploy_operations"][0];
    assert_eq!(held["deployment_state"], "in_progress", "{held}");
    assert_eq!(operation["progress_percentage"], 0.0, "{held}");

    for statement in busy {
        statement.await.unwrap().unwrap();
    }
    let deployed = fixture
        .wait_for(1, &["complete_pending_revert", "complete_error"])
        .await;
    assert_eq!(
        deployed["deployment_state"], "complete_pending_revert",
        "{deployed}"
    );
    assert_eq!(mysql_count(&fixture.main, "items").await.unwrap(), 5000);
}
