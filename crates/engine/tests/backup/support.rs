//! Test support for `backup.rs`: servers, clients, a concurrent writer, fixtures.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dbplane_engine::{
    ClusterAdmin, ClusterKind, LocalClusterConfig, LocalClusters, PhysicalName,
    start_local_clusters,
};
use mysql_async::prelude::Queryable;

/// Both servers, started in a temp dir for one test, with an admin handle on each.
pub struct Fixture {
    // Dropped last: the servers live in it.
    temp: tempfile::TempDir,
    clusters: LocalClusters,
    mysql: ClusterAdmin,
    postgres: ClusterAdmin,
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
        // The `postgres` OS user must be able to enter it, whatever the umask.
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("open up temp dir");
        let config = LocalClusterConfig {
            fast_unsafe: true,
            ..LocalClusterConfig::new(temp.path().join("clusters"))
        };
        let clusters = start_local_clusters(config).await.expect("start clusters");
        let mysql = ClusterAdmin::connect(ClusterKind::Mysql, &clusters.mysql().admin_url())
            .await
            .expect("connect to mariadb");
        let postgres =
            ClusterAdmin::connect(ClusterKind::Postgresql, &clusters.postgresql().admin_url())
                .await
                .expect("connect to postgres");
        Fixture {
            temp,
            clusters,
            mysql,
            postgres,
        }
    }

    pub fn temp_path(&self) -> PathBuf {
        self.temp.path().to_path_buf()
    }

    pub fn admin(&self, kind: ClusterKind) -> &ClusterAdmin {
        match kind {
            ClusterKind::Mysql => &self.mysql,
            ClusterKind::Postgresql => &self.postgres,
        }
    }

    /// `host:port` of a cluster.
    pub fn address(&self, kind: ClusterKind) -> (String, u16) {
        let cluster = self.clusters.get(kind);
        (cluster.host().to_string(), cluster.port())
    }

    pub fn admin_url(&self, kind: ClusterKind) -> String {
        self.clusters.get(kind).admin_url()
    }

    /// A superuser client on database `db`.
    pub async fn client(&self, kind: ClusterKind, db: &str) -> Client {
        let cluster = self.clusters.get(kind);
        match kind {
            ClusterKind::Mysql => {
                let options = mysql_async::OptsBuilder::default()
                    .ip_or_hostname(cluster.host())
                    .tcp_port(cluster.port())
                    .user(Some("root"))
                    .db_name(Some(db))
                    .prefer_socket(false);
                let connection = mysql_async::Conn::new(options)
                    .await
                    .expect("connect to mariadb");
                Client::Mysql(tokio::sync::Mutex::new(connection))
            }
            ClusterKind::Postgresql => {
                let mut config = tokio_postgres::Config::new();
                config
                    .host(cluster.host())
                    .port(cluster.port())
                    .user("postgres")
                    .dbname(db);
                let (client, connection) = config
                    .connect(tokio_postgres::NoTls)
                    .await
                    .expect("connect to postgres");
                tokio::spawn(connection);
                Client::Postgres(client)
            }
        }
    }

    pub async fn shutdown(self) {
        for admin in [self.mysql, self.postgres] {
            admin.disconnect().await.expect("disconnect admin");
        }
        self.clusters.shutdown().await.expect("shut down clusters");
    }
}

pub fn name(name: &str) -> PhysicalName {
    PhysicalName::new(name).expect("valid test name")
}

/// A superuser session on one database.
pub enum Client {
    Mysql(tokio::sync::Mutex<mysql_async::Conn>),
    Postgres(tokio_postgres::Client),
}

fn mysql_text(value: &mysql_async::Value) -> String {
    match value {
        mysql_async::Value::NULL => "NULL".to_string(),
        mysql_async::Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("0x{}", hex_of(bytes)),
        },
        other => format!("{other:?}"),
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Client {
    /// Runs several statements.
    pub async fn batch(&self, statements: &str) {
        match self {
            Client::Mysql(connection) => connection
                .lock()
                .await
                .query_drop(statements)
                .await
                .unwrap_or_else(|error| panic!("{statements}: {error}")),
            Client::Postgres(client) => client
                .batch_execute(statements)
                .await
                .unwrap_or_else(|error| panic!("{statements}: {error}")),
        }
    }

    /// Every row of `table` as text, sorted.
    pub async fn table_rows(&self, table: &str) -> Vec<String> {
        let mut rows = match self {
            Client::Mysql(connection) => {
                let rows: Vec<mysql_async::Row> = connection
                    .lock()
                    .await
                    .query(format!("SELECT * FROM `{table}`"))
                    .await
                    .expect("select rows");
                rows.into_iter()
                    .map(|row| {
                        row.unwrap()
                            .iter()
                            .map(mysql_text)
                            .collect::<Vec<_>>()
                            .join("|")
                    })
                    .collect::<Vec<_>>()
            }
            Client::Postgres(client) => client
                .query(&format!("SELECT x::text FROM \"{table}\" x"), &[])
                .await
                .expect("select rows")
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect(),
        };
        rows.sort();
        rows
    }

    async fn scalar(&self, query: &str) -> u64 {
        match self {
            Client::Mysql(connection) => connection
                .lock()
                .await
                .query_first::<Option<u64>, _>(query)
                .await
                .expect("scalar")
                .flatten()
                .unwrap_or(0),
            Client::Postgres(client) => {
                let value: Option<i64> = client.query_one(query, &[]).await.expect("scalar").get(0);
                value.unwrap_or(0) as u64
            }
        }
    }

    pub async fn max_item_id(&self) -> u64 {
        self.scalar("SELECT coalesce(max(id), 0) FROM items").await
    }

    pub async fn count(&self, table: &str) -> u64 {
        match self {
            Client::Mysql(_) => {
                self.scalar(&format!("SELECT count(*) FROM `{table}`"))
                    .await
            }
            Client::Postgres(_) => {
                self.scalar(&format!("SELECT count(*) FROM \"{table}\""))
                    .await
            }
        }
    }

    /// Data plus index bytes of `table`.
    pub async fn table_bytes(&self, table: &str) -> u64 {
        match self {
            Client::Mysql(_) => {
                self.batch(&format!("ANALYZE TABLE `{table}`")).await;
                self.scalar(&format!(
                    "SELECT CAST(data_length + index_length AS SIGNED) FROM information_schema.TABLES \
                     WHERE table_schema = DATABASE() AND table_name = '{table}'"
                ))
                .await
            }
            Client::Postgres(_) => {
                self.scalar(&format!("SELECT pg_total_relation_size('\"{table}\"')"))
                    .await
            }
        }
    }
}

/// The branch schema: every kind of column, a generated column, an FK, a view.
pub fn schema_sql(kind: ClusterKind) -> String {
    match kind {
        ClusterKind::Mysql => "
            CREATE TABLE parents (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);
            CREATE TABLE kinds (
              id BIGINT AUTO_INCREMENT PRIMARY KEY, doc JSON, payload BLOB, note TEXT,
              amount DECIMAL(12,3), ratio DOUBLE, f FLOAT, created DATETIME(6), d DATE, t TIME,
              ts TIMESTAMP NULL, doubled BIGINT AS (id * 2) VIRTUAL, parent_id INT, flags BIT(10),
              KEY parent (parent_id),
              CONSTRAINT kinds_parent FOREIGN KEY (parent_id) REFERENCES parents (id));
            CREATE TABLE items (id BIGINT PRIMARY KEY, bucket INT NOT NULL, body VARCHAR(200),
              KEY bucket (bucket));
            CREATE TABLE counters (bucket INT PRIMARY KEY, total BIGINT NOT NULL);
            INSERT INTO counters SELECT seq, 0 FROM seq_0_to_9;
            CREATE VIEW item_totals AS SELECT bucket, SUM(total) AS s FROM counters GROUP BY bucket;
        "
        .to_string(),
        ClusterKind::Postgresql => "
            CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
            CREATE TABLE kinds (
              id bigserial PRIMARY KEY, doc jsonb, payload bytea, note text,
              amount numeric(12,3), ratio double precision, created timestamptz, d date,
              tags text[], doubled bigint GENERATED ALWAYS AS (id * 2) STORED,
              parent_id int REFERENCES parents (id));
            CREATE INDEX kinds_parent ON kinds (parent_id);
            CREATE TABLE items (id bigint PRIMARY KEY, bucket int NOT NULL, body text);
            CREATE INDEX items_bucket ON items (bucket);
            CREATE TABLE counters (bucket int PRIMARY KEY, total bigint NOT NULL);
            INSERT INTO counters SELECT g, 0 FROM generate_series(0, 9) g;
            CREATE VIEW item_totals AS SELECT bucket, sum(total) AS s FROM counters GROUP BY bucket;
        "
        .to_string(),
    }
}

/// Rows of awkward values: JSON, binary, unicode, NULLs, extremes.
pub fn static_rows_sql(kind: ClusterKind) -> String {
    match kind {
        ClusterKind::Mysql => r#"
            INSERT INTO parents VALUES (1, 'eins'), (2, '二');
            INSERT INTO kinds (doc, payload, note, amount, ratio, f, created, d, t, ts, parent_id, flags) VALUES
              ('{"a": [1, 2, {"b": null}], "s": "ünï\\"cødé"}', 0x00FF10275C27E2, 'Grüße 日本語 😀 it''s a \\ backslash\nnewline\0nul', 12345.678, 0.1, 1.5, '2024-02-29 12:34:56.123456', '2024-02-29', '-838:59:59', '2024-01-01 00:00:00', 1, b'0001000001'),
              (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
              ('[]', 'abc', '', 0, -1e300, -0.25, '1970-01-01 00:00:01', '1000-01-01', '00:00:00.5', NULL, 2, b'1111111111');
        "#
        .to_string(),
        ClusterKind::Postgresql => r#"
            INSERT INTO parents VALUES (1, 'eins'), (2, '二');
            INSERT INTO kinds (doc, payload, note, amount, ratio, created, d, tags, parent_id) VALUES
              ('{"a": [1, 2, {"b": null}], "s": "ünï\"cødé"}', '\x00ff10275c27e2', E'Grüße 日本語 😀 it''s a \\ backslash\nnewline', 12345.678, 0.1, '2024-02-29 12:34:56.123456+00', '2024-02-29', ARRAY['x', 'y z', NULL], 1),
              (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
              ('[]', '', '', 0, -1e300, 'epoch', '-infinity', '{}', 2);
        "#
        .to_string(),
    }
}

/// A `bulk` table of `rows` rows (~150 bytes each).
pub fn bulk_sql(kind: ClusterKind, rows: u64) -> String {
    match kind {
        ClusterKind::Mysql => format!(
            "CREATE TABLE bulk (id INT PRIMARY KEY, a VARCHAR(100) NOT NULL, b VARCHAR(40) NOT NULL,
               n BIGINT NOT NULL, KEY b (b));
             INSERT INTO bulk SELECT seq, REPEAT(MD5(seq), 3), MD5(seq * 7), seq * 13 FROM seq_1_to_{rows};"
        ),
        ClusterKind::Postgresql => format!(
            "CREATE TABLE bulk (id int PRIMARY KEY, a text NOT NULL, b text NOT NULL, n bigint NOT NULL);
             CREATE INDEX bulk_b ON bulk (b);
             INSERT INTO bulk SELECT g, repeat(md5(g::text), 3), md5((g * 7)::text), g * 13
               FROM generate_series(1, {rows}) g;"
        ),
    }
}

/// Op `k` of the writer: one transaction over two tables.
fn op_sql(kind: ClusterKind, k: u64) -> String {
    let (begin, end) = match kind {
        ClusterKind::Mysql => ("START TRANSACTION", "COMMIT"),
        ClusterKind::Postgresql => ("BEGIN", "COMMIT"),
    };
    format!(
        "{begin}; INSERT INTO items (id, bucket, body) VALUES ({k}, {bucket}, 'body-{k}');
         UPDATE counters SET total = total + {k} WHERE bucket = {bucket};
         UPDATE items SET body = 'u-{k}' WHERE id = {half}; {end};",
        bucket = k % 10,
        half = k / 2,
    )
}

/// `items` after ops 1..=n, as [`Client::table_rows`] shows it.
pub fn expected_items(kind: ClusterKind, n: u64) -> Vec<String> {
    let mut rows: Vec<String> = (1..=n)
        .map(|id| {
            let last_update = [2 * id + 1, 2 * id].into_iter().find(|k| *k <= n);
            let body = match last_update {
                Some(k) => format!("u-{k}"),
                None => format!("body-{id}"),
            };
            match kind {
                ClusterKind::Mysql => {
                    format!("{:?}|{:?}|{body:?}", id.to_string(), (id % 10).to_string())
                }
                ClusterKind::Postgresql => format!("({id},{},{body})", id % 10),
            }
        })
        .collect();
    rows.sort();
    rows
}

/// `counters` after ops 1..=n.
pub fn expected_counters(kind: ClusterKind, n: u64) -> Vec<String> {
    let mut rows: Vec<String> = (0..10u64)
        .map(|bucket| {
            let total: u64 = (1..=n).filter(|k| k % 10 == bucket).sum();
            match kind {
                ClusterKind::Mysql => format!("{:?}|{:?}", bucket.to_string(), total.to_string()),
                ClusterKind::Postgresql => format!("({bucket},{total})"),
            }
        })
        .collect();
    rows.sort();
    rows
}

/// Runs ops 1, 2, ... on its own session until stopped.
pub struct Writer {
    stop: Arc<AtomicBool>,
    ops: tokio::sync::watch::Receiver<u64>,
    task: tokio::task::JoinHandle<u64>,
}

impl Writer {
    pub fn start(client: Client) -> Writer {
        let kind = match &client {
            Client::Mysql(_) => ClusterKind::Mysql,
            Client::Postgres(_) => ClusterKind::Postgresql,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, ops) = tokio::sync::watch::channel(0u64);
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut k = 0;
            while !flag.load(Ordering::Relaxed) {
                k += 1;
                client.batch(&op_sql(kind, k)).await;
                let _ = sender.send(k);
            }
            k
        });
        Writer { stop, ops, task }
    }

    /// Ops committed so far.
    pub fn ops(&self) -> u64 {
        *self.ops.borrow()
    }

    pub async fn wait_for_ops(&self, at_least: u64) {
        let mut ops = self.ops.clone();
        ops.wait_for(|done| *done >= at_least)
            .await
            .expect("writer runs");
    }

    /// Stops the writer and returns the number of ops committed.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("writer task")
    }
}
