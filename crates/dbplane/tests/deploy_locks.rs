//! Bounded locks: a transaction left open on a table must not turn a deploy into an
//! outage. An instant deploy of that table waits for the transaction without ever making
//! the table's other readers and writers queue behind its DDL for more than a moment
//! (`engine::locks`), and completes once the transaction ends.

mod support;

use mysql_async::prelude::Queryable;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)",
    "INSERT INTO t SELECT seq, seq FROM seq_1_to_100",
];

/// A writer's statements and its slowest one.
#[derive(Default)]
struct Progress {
    statements: AtomicU64,
    slowest_micros: AtomicU64,
}

async fn write_until(
    login: Login,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
) -> Result<(), String> {
    let mut conn = login.mysql().await.map_err(|e| e.to_string())?;
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let started = Instant::now();
        let statement = match n % 3 {
            0 => format!("UPDATE t SET v = v + 1 WHERE id = {}", n % 100 + 1),
            1 => format!("INSERT INTO t (id, v) VALUES ({}, 0)", 1_000 + n),
            _ => "SELECT COUNT(*) FROM t".to_string(),
        };
        conn.query_drop(&statement)
            .await
            .map_err(|e| format!("{statement}: {e}"))?;
        let micros = started.elapsed().as_micros() as u64;
        progress.slowest_micros.fetch_max(micros, Ordering::Relaxed);
        progress.statements.fetch_add(1, Ordering::Relaxed);
    }
    let _ = conn.disconnect().await;
    Ok(())
}

#[tokio::test]
async fn an_open_transaction_delays_the_deploy_not_the_table() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE t ADD COLUMN extra INT NULL")
        .await
        .unwrap();
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();

    // A session reads the table inside a transaction and stays there.
    let mut blocker = mysql_root(fixture.cluster_port).await;
    blocker
        .query_drop(format!("USE `{}`", fixture.main.physical))
        .await
        .unwrap();
    blocker.query_drop("START TRANSACTION").await.unwrap();
    blocker.query_drop("SELECT * FROM t").await.unwrap();

    let writer_login = password(&fixture.client, "main", "readwriter").await;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    let writer = tokio::spawn(write_until(writer_login, stop.clone(), progress.clone()));

    fixture.deploy_instant(number).await;
    // While the transaction stays open the deploy waits in its instant step, and the table
    // keeps serving: a few seconds' worth of statements, none stuck behind the DDL.
    fixture.wait_for(number, &["in_progress"]).await;
    progress.slowest_micros.store(0, Ordering::Relaxed);
    let target = progress.statements.load(Ordering::Relaxed) + 3_000;
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.statements.load(Ordering::Relaxed) < target {
        assert!(Instant::now() < deadline, "the writer stalled");
        assert!(
            !writer.is_finished(),
            "the writer failed: {:?}",
            writer.await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = fixture.get(number).await;
    assert_eq!(waiting["deployment_state"], "in_progress", "{waiting}");
    let slowest = Duration::from_micros(progress.slowest_micros.load(Ordering::Relaxed));
    assert!(
        slowest < dbplane_engine::locks::LONGEST_WAIT + Duration::from_millis(500),
        "a statement waited {slowest:?} behind the deploy's DDL"
    );

    // The transaction ends: the deploy goes through.
    blocker.query_drop("COMMIT").await.unwrap();
    let done = fixture
        .wait_for(number, &["complete", "complete_error"])
        .await;
    assert_eq!(done["deployment_state"], "complete", "{done}");
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap().unwrap();
    assert_eq!(fixture.main_columns("t").await, ["id", "v", "extra"]);
    let _ = blocker.disconnect().await;
}
