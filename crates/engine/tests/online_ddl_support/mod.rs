//! Shared fixture of the online schema change tests: a managed-style MariaDB, seeded tables,
//! and writers that log exactly what they committed.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dbplane_engine::{LocalClusterConfig, LocalClusters, start_local_clusters};
use mysql_async::prelude::Queryable;
use tokio::task::JoinHandle;

pub const DB: &str = "osc_db";
pub const INITIAL_ROWS: i64 = 20_000;
pub const WRITERS: i64 = 3;

/// id → (a, b), the columns every schema of the test tables shares.
pub type Rows = BTreeMap<i64, (i64, String)>;

pub struct Fixture {
    _temp: tempfile::TempDir,
    pub clusters: LocalClusters,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "dbplane_engine=info".into()),
            )
            .with_test_writer()
            .try_init();
        let temp = tempfile::tempdir().expect("create temp dir");
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open up temp dir");
        let config = LocalClusterConfig {
            fast_unsafe: true,
            ..LocalClusterConfig::new(temp.path().join("clusters"))
        };
        let clusters = start_local_clusters(config).await.expect("start clusters");
        let fixture = Fixture {
            _temp: temp,
            clusters,
        };
        let mut root = fixture.root().await;
        root.query_drop(format!("CREATE DATABASE {DB}"))
            .await
            .unwrap();
        root.disconnect().await.unwrap();
        fixture
    }

    pub fn url(&self) -> String {
        self.clusters.mysql().admin_url()
    }

    async fn root(&self) -> mysql_async::Conn {
        let opts = mysql_async::Opts::from_url(&self.url()).expect("url");
        mysql_async::Conn::new(opts).await.expect("connect")
    }

    pub async fn conn(&self) -> mysql_async::Conn {
        let opts = mysql_async::Opts::from_url(&format!("{}{DB}", self.url())).expect("url");
        mysql_async::Conn::new(opts).await.expect("connect")
    }

    pub async fn exec(&self, statement: &str) -> Result<(), mysql_async::Error> {
        let mut conn = self.conn().await;
        let result = conn.query_drop(statement).await;
        conn.disconnect().await.unwrap();
        result
    }

    /// Creates `DB`.`items` with `INITIAL_ROWS` rows; returns them.
    pub async fn seed(&self) -> Rows {
        self.seed_table("items", INITIAL_ROWS).await
    }

    /// Creates `DB`.`table` (id, a, b, c) with `count` rows.
    pub async fn seed_table(&self, table: &str, count: i64) -> Rows {
        let mut conn = self.conn().await;
        conn.query_drop(format!(
            "CREATE TABLE {table} (id BIGINT NOT NULL PRIMARY KEY, a BIGINT NOT NULL, \
             b VARCHAR(64) NOT NULL, c DATETIME NULL)"
        ))
        .await
        .unwrap();
        let mut rows = Rows::new();
        for start in (1..=count).step_by(1000) {
            let values: Vec<String> = (start..(start + 1000).min(count + 1))
                .map(|id| {
                    rows.insert(id, (id * 7, format!("row-{id}")));
                    format!("({id}, {}, 'row-{id}', '2024-01-02 03:04:05')", id * 7)
                })
                .collect();
            conn.query_drop(format!("INSERT INTO {table} VALUES {}", values.join(",")))
                .await
                .unwrap();
        }
        conn.disconnect().await.unwrap();
        rows
    }

    pub async fn table_rows(&self, table: &str) -> Rows {
        let mut conn = self.conn().await;
        let rows: Vec<(i64, i64, String)> = conn
            .query(format!("SELECT id, a, b FROM `{table}` ORDER BY id"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        rows.into_iter().map(|(id, a, b)| (id, (a, b))).collect()
    }

    pub async fn show_create(&self, table: &str) -> String {
        let mut conn = self.conn().await;
        let row: Option<(String, String)> = conn
            .query_first(format!("SHOW CREATE TABLE `{table}`"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        row.expect("table exists").1
    }

    pub async fn tables(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        let names: Vec<String> = conn.query("SHOW TABLES").await.unwrap();
        conn.disconnect().await.unwrap();
        names
    }
}

/// xorshift: enough randomness for the writers without a dependency.
pub struct Random(pub u64);

impl Random {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A writer owns the ids `id % WRITERS == index` of one table and tracks exactly what it
/// committed.
pub struct Writer {
    pub table: String,
    pub index: i64,
    pub model: Rows,
    pub next_id: i64,
    pub seeded: i64,
    pub random: Random,
    pub errors: u64,
}

impl Writer {
    async fn run(
        mut self,
        mut conn: mysql_async::Conn,
        stop: Arc<AtomicBool>,
        ops: Arc<AtomicU64>,
    ) -> Writer {
        let table = self.table.clone();
        while !stop.load(Ordering::Relaxed) {
            // A steady OLTP-like load (~200 writes/s per writer), not a flood that outruns
            // a debug-build applier on 2 cores.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let choice = self.random.below(10);
            let result = if choice < 4 || self.model.is_empty() {
                let id = self.next_id;
                self.next_id += WRITERS;
                let a = self.random.below(1_000_000) as i64;
                let b = format!("ins-{id}-{a}");
                conn.exec_drop(
                    format!("INSERT INTO {table} (id, a, b) VALUES (?, ?, ?)"),
                    (id, a, b.clone()),
                )
                .await
                .map(|_| {
                    self.model.insert(id, (a, b));
                })
            } else {
                let id = self.pick_id();
                if choice < 8 {
                    let a = self.random.below(1_000_000) as i64;
                    let b = format!("upd-{id}-{a}");
                    conn.exec_drop(
                        format!("UPDATE {table} SET a = ?, b = ? WHERE id = ?"),
                        (a, b.clone(), id),
                    )
                    .await
                    .map(|_| {
                        self.model.insert(id, (a, b));
                    })
                } else {
                    conn.exec_drop(format!("DELETE FROM {table} WHERE id = ?"), (id,))
                        .await
                        .map(|_| {
                            self.model.remove(&id);
                        })
                }
            };
            match result {
                Ok(()) => {
                    ops.fetch_add(1, Ordering::Relaxed);
                }
                // A failed autocommit statement changed nothing.
                Err(_) => self.errors += 1,
            }
        }
        conn.disconnect().await.unwrap();
        self
    }

    fn pick_id(&mut self) -> i64 {
        // Mostly the seeded rows (so the copy races with changes), sometimes own inserts.
        let max = self.next_id.max(self.seeded + 1);
        loop {
            let id = 1 + self.random.below(max as u64) as i64;
            if id % WRITERS == self.index && self.model.contains_key(&id) {
                return id;
            }
            if self.random.below(50) == 0 {
                return *self.model.keys().next().expect("not empty");
            }
        }
    }
}

/// `WRITERS` writers on `table`, running until `stop`; `ops` counts their commits.
pub struct Writers {
    pub stop: Arc<AtomicBool>,
    pub ops: Arc<AtomicU64>,
    handles: Vec<JoinHandle<Writer>>,
}

impl Writers {
    pub async fn start(fixture: &Fixture, table: &str, seeded: &Rows) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let count = seeded.keys().next_back().copied().unwrap_or(0);
        let mut handles = Vec::new();
        for index in 0..WRITERS {
            let model: Rows = seeded
                .iter()
                .filter(|(id, _)| *id % WRITERS == index)
                .map(|(id, row)| (*id, row.clone()))
                .collect();
            let writer = Writer {
                table: table.into(),
                index,
                model,
                next_id: count + 1 + index + (WRITERS - (count + 1) % WRITERS) % WRITERS,
                seeded: count,
                random: Random(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) * 0x1234_5678)),
                errors: 0,
            };
            // Start on an id of its own residue class.
            assert_eq!(writer.next_id % WRITERS, index);
            let conn = fixture.conn().await;
            handles.push(tokio::spawn(writer.run(conn, stop.clone(), ops.clone())));
        }
        let writers = Writers { stop, ops, handles };
        writers.wait_for_more(50).await;
        writers
    }

    pub fn count(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    /// Waits until `more` further writes committed.
    pub async fn wait_for_more(&self, more: u64) {
        let target = self.count() + more;
        wait_for("writes", Duration::from_secs(30), || self.count() >= target).await;
    }

    /// Stops the writers; returns what they committed and their error count.
    pub async fn finish(self) -> (Rows, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let mut expected = Rows::new();
        let mut errors = 0;
        for handle in self.handles {
            let writer = handle.await.unwrap();
            errors += writer.errors;
            expected.extend(writer.model);
        }
        (expected, errors)
    }
}

pub async fn wait_for(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !condition() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts two row sets are equal, naming the first differences.
pub fn assert_same_rows(expected: &Rows, actual: &Rows) {
    let differing: Vec<_> = expected
        .iter()
        .filter(|(id, row)| actual.get(id) != Some(row))
        .map(|(id, row)| (*id, Some(row.clone()), actual.get(id).cloned()))
        .chain(
            actual
                .iter()
                .filter(|(id, _)| !expected.contains_key(id))
                .map(|(id, row)| (*id, None, Some(row.clone()))),
        )
        .take(10)
        .collect();
    assert!(
        differing.is_empty(),
        "(id, expected, actual) differ: {differing:?}"
    );
    assert_eq!(actual.len(), expected.len(), "row count");
}
