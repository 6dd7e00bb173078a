//! The benchmark table: ~200 bytes a row, every value a function of `(id, v)` so the
//! content can be checked exactly against the writers' log.
//!
//! `k` is `(id * 7919) % 1000003` (the ALTER indexes it), `v` the row's version (0 when
//! seeded, bumped by each UPDATE), `c` is `RPAD(CONCAT(id, ':', v, ':'), 176, SHA1(id))`,
//! `updated_at` a `DATETIME(6)` that moves with `(id, v)`. `created_at` is a `TIMESTAMP`
//! filled by its default, as almost every real table has: the change stream must carry it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

const TEMPLATE: &str = "template";

/// The same change for every method: a new column and an index.
pub const ALTER: &str = "ADD COLUMN extra INT NOT NULL DEFAULT 0, ADD INDEX idx_k (k)";

pub const C_EXPR: &str = "RPAD(CONCAT(id, ':', v, ':'), 176, SHA1(id))";

/// `updated_at` of row `(id, v)`.
pub const UPDATED_EXPR: &str =
    "TIMESTAMPADD(MICROSECOND, id * 1000 + v, '2026-01-01 00:00:00.000000')";

/// Creates `DB.template` with `rows` rows (MariaDB's sequence engine generates them).
pub async fn build_template(conn: &mut Conn, db: &str, rows: u64) -> Result<Duration> {
    let started = Instant::now();
    conn.query_drop(format!("DROP TABLE IF EXISTS {db}.{TEMPLATE}"))
        .await?;
    conn.query_drop(format!(
        "CREATE TABLE {db}.{TEMPLATE} (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, \
         v INT NOT NULL, c VARCHAR(176) NOT NULL, \
         created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
    ))
    .await?;
    let batch = 100_000;
    let mut from = 1;
    while from <= rows {
        let to = (from + batch - 1).min(rows);
        conn.query_drop(format!(
            "INSERT INTO {db}.{TEMPLATE} (id, k, v, c, updated_at) \
             SELECT seq, (seq * 7919) % 1000003, 0, RPAD(CONCAT(seq, ':0:'), 176, SHA1(seq)), \
             TIMESTAMPADD(MICROSECOND, seq * 1000, '2026-01-01 00:00:00.000000') \
             FROM {db}.seq_{from}_to_{to}"
        ))
        .await?;
        from = to + 1;
    }
    Ok(started.elapsed())
}

/// A fresh copy of the template named `table`, with fresh statistics.
pub async fn clone_template(conn: &mut Conn, db: &str, table: &str) -> Result<()> {
    for statement in [
        format!("DROP TABLE IF EXISTS {db}.`{table}`"),
        format!("CREATE TABLE {db}.`{table}` LIKE {db}.{TEMPLATE}"),
        format!("INSERT INTO {db}.`{table}` SELECT * FROM {db}.{TEMPLATE}"),
        format!("ANALYZE TABLE {db}.`{table}`"),
    ] {
        conn.query_drop(statement).await?;
    }
    Ok(())
}

/// Drops `table` and whatever a method left next to it.
pub async fn drop_all(conn: &mut Conn, db: &str, table: &str) -> Result<()> {
    let names: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND (TABLE_NAME = ? OR TABLE_NAME LIKE CONCAT('\\_', ?, '\\_%'))",
            (db, table, table),
        )
        .await?;
    for name in names {
        conn.query_drop(format!("DROP TABLE IF EXISTS {db}.`{name}`"))
            .await?;
    }
    Ok(())
}

/// How the table compares with the writers' log.
#[derive(Debug, Default)]
pub struct Verification {
    pub rows: u64,
    pub expected_rows: u64,
    /// Rows missing, extra, with the wrong version, or whose content is not `f(id, v)`.
    pub differences: u64,
    pub has_new_schema: bool,
}

/// Compares `table` with the seeded rows `1..=seeded` (version 0) overlaid with `model`
/// (id → last committed version; inserted ids too).
pub async fn verify(
    conn: &mut Conn,
    db: &str,
    table: &str,
    seeded: u64,
    model: &HashMap<i64, i32>,
) -> Result<Verification> {
    let bad_content: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM {db}.`{table}` WHERE c <> {C_EXPR} OR k <> (id * 7919) % 1000003 \
             OR updated_at <> {UPDATED_EXPR} OR created_at < '2020-01-01'"
        ))
        .await?;
    let rows: Vec<(i64, i32)> = conn
        .query(format!("SELECT id, v FROM {db}.`{table}` ORDER BY id"))
        .await?;
    let mut differences = bad_content.unwrap_or(0);
    // Rows that should be there and are (with the right version or not).
    let mut present = 0u64;
    for (id, v) in &rows {
        let expected = match model.get(id) {
            Some(v) => Some(*v),
            None if *id >= 1 && (*id as u64) <= seeded => Some(0),
            None => None,
        };
        if expected.is_some() {
            present += 1;
        }
        if expected != Some(*v) {
            differences += 1;
        }
    }
    let inserted = model.keys().filter(|id| **id as u64 > seeded).count() as u64;
    let expected_rows = seeded + inserted;
    differences += expected_rows.saturating_sub(present);
    let schema: Option<(String, String)> = conn
        .query_first(format!("SHOW CREATE TABLE {db}.`{table}`"))
        .await?;
    let Some((_, schema)) = schema else {
        bail!("{table} is gone");
    };
    Ok(Verification {
        rows: rows.len() as u64,
        expected_rows,
        differences,
        has_new_schema: schema.contains("`extra`") && schema.contains("idx_k"),
    })
}
