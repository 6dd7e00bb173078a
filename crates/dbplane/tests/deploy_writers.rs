//! No lost writes: three writers insert, update and delete while a deploy copies a table
//! of 30,000 rows and cuts it over; the table then equals what the writers committed
//! (checked row by row against their own log, temporal columns included: a `TIMESTAMP`
//! filled by its default and a `DATETIME(6)` the writers set). More writes, then revert:
//! the old-schema table holds every row.

mod support;

use mysql_async::prelude::Queryable;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::deploys::*;
use support::*;

const ROWS: i64 = 30_000;
const WRITERS: i64 = 3;
const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, \
     created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), seen_at DATETIME(6) NULL)",
    "INSERT INTO users (id, name, seen_at) SELECT seq, CONCAT('user-', seq), \
     '2026-01-01 00:00:00.000001' FROM seq_1_to_30000",
];
const SEEDED_AT: &str = "2026-01-01 00:00:00.000001";

/// What one writer committed: the final name and `seen_at` of every row it touched
/// (`None`: deleted).
type Log = BTreeMap<i64, Option<(String, String)>>;

/// The `seen_at` a writer stores with its `n`-th statement.
fn seen_at(n: i64) -> String {
    format!(
        "2026-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        n % 12 + 1,
        n % 28 + 1,
        n % 24,
        n % 60,
        n * 7 % 60,
        n * 7919 % 1_000_000
    )
}

/// Writer `w` owns the ids `≡ w (mod 3)`, so the writers' logs never overlap.
async fn write(
    login: Login,
    w: i64,
    start: i64,
    stop: Arc<AtomicBool>,
    mut log: Log,
) -> Result<Log, String> {
    let mut conn = login.mysql().await.unwrap();
    // Each phase numbers its statements from its own start, so inserted ids never repeat.
    let mut n: i64 = start;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let existing = (n * 7919 % ROWS) / WRITERS * WRITERS + w + 1;
        let seen = seen_at(n);
        let (sql, id, value) = match n % 3 {
            0 => {
                let id = ROWS + n * WRITERS + w;
                let name = format!("new-{w}-{n}");
                (
                    format!(
                        "INSERT INTO users (id, name, seen_at) VALUES ({id}, '{name}', '{seen}')"
                    ),
                    id,
                    Some((name, seen)),
                )
            }
            1 => {
                let name = format!("upd-{w}-{n}");
                (
                    format!(
                        "UPDATE users SET name = '{name}', seen_at = '{seen}' WHERE id = {existing}"
                    ),
                    existing,
                    Some((name, seen)),
                )
            }
            _ => (
                format!("DELETE FROM users WHERE id = {existing}"),
                existing,
                None,
            ),
        };
        match conn.query_drop(&sql).await {
            Ok(()) => {
                // An update of a deleted row changes nothing; keep the row deleted.
                let deleted = log.get(&id).is_some_and(|v| v.is_none());
                if !(deleted && sql.starts_with("UPDATE")) {
                    log.insert(id, value);
                }
            }
            Err(error) => {
                let _ = conn.disconnect().await;
                return Err(format!("writer {w}: {sql}: {error}"));
            }
        }
    }
    let _ = conn.disconnect().await;
    Ok(log)
}

async fn run_writers(
    fixture: &DeployFixture,
    start: i64,
    logs: Vec<Log>,
    until: impl std::future::Future<Output = ()>,
) -> Vec<Log> {
    let login = &password(&fixture.client, "main", "readwriter").await;
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = logs
        .into_iter()
        .enumerate()
        .map(|(w, log)| tokio::spawn(write(login.clone(), w as i64, start, stop.clone(), log)))
        .collect();
    until.await;
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for handle in handles {
        match handle.await.unwrap() {
            Ok(log) => logs.push(log),
            Err(error) => panic!(
                "{error}\n{}\n{}",
                fixture.server.log(),
                fixture.mysql_error_log()
            ),
        }
    }
    logs
}

async fn assert_table_matches(login: &Login, logs: &[Log]) {
    let mut expected: BTreeMap<i64, (String, String)> = (1..=ROWS)
        .map(|id| (id, (format!("user-{id}"), SEEDED_AT.to_string())))
        .collect();
    for log in logs {
        for (id, value) in log {
            match value {
                Some(name) => expected.insert(*id, name.clone()),
                None => expected.remove(id),
            };
        }
    }
    let mut conn = login.mysql().await.unwrap();
    let rows: Vec<(i64, String, String)> = conn
        .query("SELECT id, name, CAST(seen_at AS CHAR) FROM users ORDER BY id")
        .await
        .unwrap();
    // Every row kept the moment it was created (the stream used to write it as a Unix time).
    let unset: Option<u64> = conn
        .query_first(
            "SELECT COUNT(*) FROM users WHERE created_at < '2020-01-01' OR created_at > NOW(3)",
        )
        .await
        .unwrap();
    let _ = conn.disconnect().await;
    assert_eq!(unset, Some(0), "rows lost their created_at");
    let actual: BTreeMap<i64, (String, String)> = rows
        .into_iter()
        .map(|(id, name, seen)| (id, (name, seen)))
        .collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|(id, name)| actual.get(id) != Some(name))
        .take(5)
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|id| !expected.contains_key(id))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "differs: missing/changed {missing:?}, extra {extra:?}"
    );
    assert_eq!(actual.len(), expected.len());
}

#[tokio::test]
async fn concurrent_writers_lose_nothing_through_deploy_and_revert() {
    let fixture = DeployFixture::start("copy_step_millis = 100\n", Vec::new(), SCHEMA).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(
        &dev,
        "ALTER TABLE users ADD COLUMN age INT, ADD INDEX by_name (name)",
    )
    .await
    .unwrap();
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();
    // Slow the copy down so the writers overlap it.
    fixture
        .client
        .patch(
            &format!("{}/throttler", DeployFixture::path(number)),
            json!({"ratio": 60}),
        )
        .await;
    fixture.post(number, "deploy").await;

    let logs = run_writers(&fixture, 0, vec![Log::new(); WRITERS as usize], async {
        fixture
            .wait_for(number, &["complete_pending_revert", "complete_error"])
            .await;
    })
    .await;
    let deployed = fixture.get(number).await;
    assert_eq!(
        deployed["deployment_state"], "complete_pending_revert",
        "{deployed}"
    );
    assert!(
        logs.iter().map(|l| l.len()).sum::<usize>() > 100,
        "the writers barely ran"
    );
    assert_eq!(
        fixture.main_columns("users").await,
        ["id", "name", "created_at", "seen_at", "age"]
    );
    assert_table_matches(&fixture.main, &logs).await;

    // More writes in the window, then revert: the old-schema table has all of them.
    const WINDOW_START: i64 = 1_000_000;
    let logs = run_writers(&fixture, WINDOW_START, logs, async {
        // Until the window has a fair share of new rows (inserted ids lie above this).
        let first_window_id = ROWS + WINDOW_START * WRITERS;
        dbplane_testkit::wait_until("writes in the revert window", READY_TIMEOUT, || async {
            let mut conn = fixture.main.mysql().await.ok()?;
            let count: Option<i64> = conn
                .query_first(format!(
                    "SELECT COUNT(*) FROM users WHERE id > {first_window_id}"
                ))
                .await
                .ok()?;
            count.filter(|count| *count >= 100).map(|_| ())
        })
        .await;
    })
    .await;
    fixture
        .act(number, "revert", "complete_revert", "complete_revert_error")
        .await;
    assert_eq!(
        fixture.main_columns("users").await,
        ["id", "name", "created_at", "seen_at"]
    );
    assert_table_matches(&fixture.main, &logs).await;
    fixture.wait_for_no_artifacts().await;
}
