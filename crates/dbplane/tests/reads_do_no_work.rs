//! Reads answer from the metadata store and change nothing (issue 14): a database's
//! table count is counted by a background refresher and stored, never on a read; reading
//! a deploy request whose checks are stale schedules no check (the background recheck
//! does, see deploy_queue.rs), and lists build a page from a fixed number of queries.

mod support;

use dbplane_testkit::{TestOptions, TestServer, wait_until};
use serde_json::json;
use std::time::Duration;
use support::deploys::admin_password;
use support::{mysql_exec, ready_branch, ready_database};

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const DB: &str = "/v1/organizations/acme/databases/shop";

#[tokio::test]
async fn reads_show_stored_figures_and_schedule_nothing() {
    // The recheck is off (0): under the old read path every GET of a request whose checks
    // were older than 0 ms scheduled a check and stamped the request.
    let server = TestServer::start_with(
        BIN,
        TestOptions {
            clusters: true,
            extra_config: "[deploys]\npoll_millis = 100\nrecheck_after_millis = 0\n\
                           [jobs]\nstats_refresh_millis = 200\n"
                .into(),
            ..Default::default()
        },
    )
    .await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    ready_database(&client, "acme", "shop", "mysql").await;
    let main = admin_password(&client, "main").await;
    for table in ["a", "b", "c"] {
        mysql_exec(&main, &format!("CREATE TABLE {table} (id INT PRIMARY KEY)"))
            .await
            .unwrap();
    }
    // The refresher counts them; reads show the stored figure.
    wait_until(
        "the table count to be refreshed",
        Duration::from_secs(30),
        || {
            let client = client.clone();
            async move {
                let database = client.get(DB).await.body;
                (database["default_branch_table_count"] == 3).then_some(())
            }
        },
    )
    .await;
    let listed = client.get("/v1/organizations/acme/databases").await;
    assert_eq!(listed.body["data"][0]["default_branch_table_count"], 3);

    ready_branch(&client, DB, "dev", Some("main")).await;
    let dev = admin_password(&client, "dev").await;
    mysql_exec(&dev, "CREATE TABLE d (id INT PRIMARY KEY)")
        .await
        .unwrap();
    let safe = client
        .post(&format!("{DB}/branches/main/safe-migrations"), json!({}))
        .await;
    assert_eq!(safe.status, 200, "{}", safe.body);
    let created = client
        .post(
            &format!("{DB}/deploy-requests"),
            json!({"branch": "dev", "into_branch": "main"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("{DB}/deploy-requests/1");
    let checked = wait_until("the checks", Duration::from_secs(60), || {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let request = client.get(&path).await.body;
            (request["deployment_state"] == "ready").then_some(request)
        }
    })
    .await;
    // Reads of a request whose checks are stale leave it exactly as it was.
    for _ in 0..20 {
        let again = client.get(&path).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, checked, "a GET changed the deploy request");
        let listed = client.get(&format!("{DB}/deploy-requests")).await;
        assert_eq!(listed.body["data"][0], checked);
    }
}
