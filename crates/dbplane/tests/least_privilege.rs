//! Least privilege for what a deploy creates: a view deployed to `main` has `main`'s owner
//! account as definer, never the administrator the platform connects as, so a reader
//! password cannot read through it what it cannot read directly. The probe is a view of
//! `CURRENT_USER()`, which a view evaluates as its definer: with the administrator as
//! definer, every reader of the view would read as the administrator.

mod support;

use mysql_async::prelude::Queryable;
use serde_json::json;
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &["CREATE TABLE t (id INT PRIMARY KEY, secret VARCHAR(20))"];

#[tokio::test]
async fn deployed_views_run_with_the_branch_owners_rights() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    for statement in [
        "CREATE VIEW runs_as AS SELECT CURRENT_USER() AS account",
        "CREATE VIEW ids AS SELECT id FROM t",
    ] {
        mysql_exec(&dev, statement).await.unwrap();
    }
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();
    fixture.post(number, "deploy").await;
    let done = fixture
        .wait_for(
            number,
            &["complete", "complete_pending_revert", "complete_error"],
        )
        .await;
    assert_ne!(done["deployment_state"], "complete_error", "{done}");

    let mut root = mysql_root(fixture.cluster_port).await;
    let definers: Vec<(String, String)> = root
        .exec(
            "SELECT TABLE_NAME, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1",
            (fixture.main.physical.clone(),),
        )
        .await
        .unwrap();
    let owner = format!("{}_owner@localhost", fixture.main.physical);
    assert_eq!(
        definers,
        [
            ("ids".to_string(), owner.clone()),
            ("runs_as".to_string(), owner.clone())
        ]
    );

    // A reader reads through the views with the owner's rights (confined to `main`).
    let reader = password(&fixture.client, "main", "reader").await;
    let mut conn = reader.mysql().await.unwrap();
    let account: Option<String> = conn
        .query_first("SELECT account FROM runs_as")
        .await
        .unwrap();
    assert_eq!(account, Some(owner));
    // And cannot reach anything of the owner's that it could not read directly: the
    // owner's rights stop at `main`'s own database.
    let grants: Vec<String> = root
        .query(format!(
            "SHOW GRANTS FOR '{}_owner'@'localhost'",
            fixture.main.physical
        ))
        .await
        .unwrap();
    assert!(
        grants.iter().all(|g| g
            .contains(&format!("`{}`", fixture.main.physical.replace('_', "\\_")))
            || g.contains("USAGE ON *.*")),
        "{grants:?}"
    );
    // The view still does its job with the owner's rights.
    let ids: Option<u64> = conn.query_first("SELECT COUNT(*) FROM ids").await.unwrap();
    assert_eq!(ids, Some(0));
    let _ = conn.disconnect().await;
    let _ = root.disconnect().await;
}
