//! The benchmark's data: three tables with mixed types and secondary indexes, generated
//! server-side from a row number (the same values on both engines), and the checksums
//! that prove a restore holds exactly the same rows.
//!
//! `rows` splits 20% customers, 50% orders, 30% events; ~250 bytes of row text each
//! on average, so 2,000,000 rows are ~500 MB.

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use std::fmt;

use crate::api::Login;

/// Rows generated per INSERT … SELECT.
const CHUNK: u64 = 100_000;

pub const TABLES: [&str; 3] = ["customers", "orders", "events"];

/// An open connection to one database of either engine.
pub enum Db {
    My(mysql_async::Conn),
    Pg(tokio_postgres::Client),
}

/// One table's `rows`, checksum of every row's text, and the text's total bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSum {
    pub table: String,
    pub rows: i64,
    pub checksum: i64,
    pub bytes: i64,
}

impl fmt::Display for TableSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows, checksum {}",
            self.table, self.rows, self.checksum
        )
    }
}

pub fn is_mysql(kind: &str) -> bool {
    kind == "mysql"
}

impl Db {
    /// Connects with a credential the API handed out.
    pub async fn open(kind: &str, login: &Login) -> Result<Db> {
        Self::connect(
            kind,
            &login.host,
            login.port,
            &login.user,
            Some(&login.password),
            &login.database,
        )
        .await
    }

    /// Connects as the cluster's superuser (trusted on loopback), as the peer tools do.
    pub async fn superuser(kind: &str, port: u16, database: &str) -> Result<Db> {
        let user = if is_mysql(kind) { "root" } else { "postgres" };
        Self::connect(kind, "127.0.0.1", port, user, None, database).await
    }

    async fn connect(
        kind: &str,
        host: &str,
        port: u16,
        user: &str,
        password: Option<&str>,
        database: &str,
    ) -> Result<Db> {
        if is_mysql(kind) {
            let options = mysql_async::OptsBuilder::default()
                .ip_or_hostname(host)
                .tcp_port(port)
                .user(Some(user))
                .pass(password)
                .db_name((!database.is_empty()).then_some(database))
                .prefer_socket(false);
            let conn = mysql_async::Conn::new(options)
                .await
                .context("connect to MariaDB")?;
            Ok(Db::My(conn))
        } else {
            let mut config = tokio_postgres::Config::new();
            config.host(host).port(port).user(user).dbname(database);
            if let Some(password) = password {
                config.password(password);
            }
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .context("connect to PostgreSQL")?;
            tokio::spawn(connection);
            Ok(Db::Pg(client))
        }
    }

    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::My(conn) => conn.query_drop(sql).await.with_context(|| sql.to_string()),
            Db::Pg(client) => client
                .batch_execute(sql)
                .await
                .with_context(|| sql.to_string()),
        }
    }

    /// The database the session is in (the branch's physical database).
    pub async fn current_database(&mut self) -> Result<String> {
        match self {
            Db::My(conn) => Ok(conn
                .query_first("SELECT DATABASE()")
                .await?
                .context("a database")?),
            Db::Pg(client) => Ok(client
                .query_one("SELECT current_database()", &[])
                .await?
                .get(0)),
        }
    }

    /// The tables' size on disk (data and indexes), in bytes.
    pub async fn disk_bytes(&mut self) -> Result<i64> {
        match self {
            Db::My(conn) => {
                for table in TABLES {
                    conn.query_drop(format!("ANALYZE TABLE {table}")).await?;
                }
                let bytes: Option<i64> = conn
                    .query_first(
                        "SELECT CAST(SUM(DATA_LENGTH + INDEX_LENGTH) AS SIGNED) FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = DATABASE()",
                    )
                    .await?;
                Ok(bytes.unwrap_or(0))
            }
            Db::Pg(client) => {
                let row = client
                    .query_one(
                        "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = 'public' AND c.relkind = 'r'",
                        &[],
                    )
                    .await?;
                Ok(row.get::<_, Option<i64>>(0).unwrap_or(0))
            }
        }
    }

    pub async fn close(self) {
        if let Db::My(conn) = self {
            let _ = conn.disconnect().await;
        }
    }

    /// Creates the three tables and fills them with `rows` rows in total.
    pub async fn load(&mut self, rows: u64) -> Result<()> {
        let customers = (rows / 5).max(1);
        let orders = (rows / 2).max(1);
        let events = rows.saturating_sub(customers + orders).max(1);
        let mysql = matches!(self, Db::My(_));
        let (schema, inserts) = if mysql {
            (MYSQL_SCHEMA, mysql_inserts(customers, orders))
        } else {
            (POSTGRES_SCHEMA, postgres_inserts(customers, orders))
        };
        self.execute(schema).await?;
        for ((table, select), count) in TABLES.iter().zip(inserts).zip([customers, orders, events])
        {
            let mut first = 1;
            while first <= count {
                let last = (first + CHUNK - 1).min(count);
                let source = if mysql {
                    format!("seq_{first}_to_{last}")
                } else {
                    format!("generate_series({first}::bigint, {last}) AS s(seq)")
                };
                self.execute(&format!("INSERT INTO {table} {select} FROM {source}"))
                    .await?;
                first = last + 1;
            }
        }
        if !mysql {
            self.execute("VACUUM ANALYZE").await?;
        }
        Ok(())
    }

    /// Every table's row count and checksum of its rows' text.
    pub async fn checksums(&mut self) -> Result<Vec<TableSum>> {
        let mut sums = Vec::new();
        for table in TABLES {
            let (rows, checksum, bytes) = match self {
                Db::My(conn) => {
                    let text = mysql_row_text(table);
                    let row: Option<(i64, i64, i64)> = conn
                        .query_first(format!(
                            "SELECT COUNT(*), CAST(COALESCE(SUM(CRC32(x)), 0) AS SIGNED), \
                             CAST(COALESCE(SUM(LENGTH(x)), 0) AS SIGNED) FROM (SELECT {text} AS x FROM {table}) AS t"
                        ))
                        .await?;
                    row.context("a checksum row")?
                }
                Db::Pg(client) => {
                    let row = client
                        .query_one(
                            &format!(
                                "SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0)::bigint, \
                                 coalesce(sum(length(t::text)), 0)::bigint FROM {table} AS t"
                            ),
                            &[],
                        )
                        .await?;
                    (row.get(0), row.get(1), row.get(2))
                }
            };
            sums.push(TableSum {
                table: table.to_string(),
                rows,
                checksum,
                bytes,
            });
        }
        Ok(sums)
    }
}

const MYSQL_SCHEMA: &str = "
CREATE TABLE customers (
  id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(255) NOT NULL,
  country CHAR(2) NOT NULL, balance DECIMAL(12,2) NULL, created DATETIME NOT NULL,
  KEY by_email (email), KEY by_country (country, created));
CREATE TABLE orders (
  id BIGINT NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL,
  status ENUM('new','paid','shipped','cancelled') NOT NULL, total DECIMAL(10,2) NOT NULL,
  placed DATETIME NOT NULL, note TEXT NULL,
  KEY by_customer (customer_id), KEY by_placed (placed));
CREATE TABLE events (
  id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL, kind SMALLINT NOT NULL,
  payload TEXT NOT NULL, at DATETIME(3) NOT NULL,
  KEY by_order (order_id));
";

const POSTGRES_SCHEMA: &str = "
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE customers (
  id bigint PRIMARY KEY, name varchar(100) NOT NULL, email varchar(255) NOT NULL,
  country char(2) NOT NULL, balance numeric(12,2), created timestamp(0) NOT NULL);
CREATE INDEX customers_by_email ON customers (email);
CREATE INDEX customers_by_country ON customers (country, created);
CREATE TABLE orders (
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, status order_status NOT NULL,
  total numeric(10,2) NOT NULL, placed timestamp(0) NOT NULL, note text);
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE INDEX orders_by_placed ON orders (placed);
CREATE TABLE events (
  id bigint PRIMARY KEY, order_id bigint NOT NULL, kind smallint NOT NULL,
  payload text NOT NULL, at timestamp(3) NOT NULL);
CREATE INDEX events_by_order ON events (order_id);
";

/// `SELECT <values>` of each table as a function of `seq` (MariaDB's sequence engine).
fn mysql_inserts(customers: u64, orders: u64) -> [String; 3] {
    [
        "SELECT seq, CONCAT('customer ', seq, ' ', LEFT(MD5(seq), 16)), \
         CONCAT('c', seq, '@', SUBSTR(MD5(seq), 17, 12), '.example.com'), \
         CONCAT(CHAR(65 + seq % 26), CHAR(65 + seq % 17)), IF(seq % 7 = 0, NULL, (seq % 1000000) / 100), \
         '2020-01-01' + INTERVAL seq SECOND"
            .to_string(),
        format!(
            "SELECT seq, 1 + seq % {customers}, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), \
             (seq % 100000) / 100, '2021-01-01' + INTERVAL seq * 7 SECOND, \
             IF(seq % 10 = 0, NULL, CONCAT('order ', seq, ': ', SHA2(seq, 256), ' ', SHA2(seq, 224), ' ', \
             REPEAT('lorem ', seq % 20)))"
        ),
        format!(
            "SELECT seq, 1 + seq % {orders}, seq % 13, \
             CONCAT('{{\"event\":', seq, ',\"hash\":\"', SHA2(seq, 512), '\",\"pad\":\"', REPEAT('ab', seq % 80), '\"}}'), \
             '2022-01-01' + INTERVAL seq * 1001 MICROSECOND"
        ),
    ]
}

/// The same values on PostgreSQL.
fn postgres_inserts(customers: u64, orders: u64) -> [String; 3] {
    [
        "SELECT seq, 'customer ' || seq || ' ' || left(md5(seq::text), 16), \
         'c' || seq || '@' || substr(md5(seq::text), 17, 12) || '.example.com', \
         chr(65 + (seq % 26)::int) || chr(65 + (seq % 17)::int), \
         CASE WHEN seq % 7 = 0 THEN NULL ELSE (seq % 1000000) / 100.0 END, \
         timestamp '2020-01-01' + seq * interval '1 second'"
            .to_string(),
        format!(
            "SELECT seq, 1 + seq % {customers}, \
             (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + seq % 4]::order_status, \
             (seq % 100000) / 100.0, timestamp '2021-01-01' + seq * 7 * interval '1 second', \
             CASE WHEN seq % 10 = 0 THEN NULL ELSE 'order ' || seq || ': ' || \
             encode(sha256(seq::text::bytea), 'hex') || ' ' || encode(sha224(seq::text::bytea), 'hex') || ' ' || \
             repeat('lorem ', (seq % 20)::int) END"
        ),
        format!(
            "SELECT seq, 1 + seq % {orders}, (seq % 13)::smallint, \
             '{{\"event\":' || seq || ',\"hash\":\"' || encode(sha512(seq::text::bytea), 'hex') || \
             '\",\"pad\":\"' || repeat('ab', (seq % 80)::int) || '\"}}', \
             timestamp '2022-01-01' + seq * 1001 * interval '1 microsecond'"
        ),
    ]
}

/// One row as text on MariaDB (NULL distinct from any value).
fn mysql_row_text(table: &str) -> &'static str {
    match table {
        "customers" => "CONCAT_WS('|', id, name, email, country, IFNULL(balance, '<N>'), created)",
        "orders" => "CONCAT_WS('|', id, customer_id, status, total, placed, IFNULL(note, '<N>'))",
        _ => "CONCAT_WS('|', id, order_id, kind, payload, at)",
    }
}
