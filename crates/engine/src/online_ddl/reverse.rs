//! The reverse stream: after cutover, changes to the new table are applied to the kept
//! original (`_<table>_dbp_old`) so a revert keeps every row written since.
//!
//! Unlike the forward stream, a row may not fit: the old schema can be narrower (a shorter
//! VARCHAR, NOT NULL, a unique key the new table dropped). The writer runs in strict SQL mode
//! and never uses `REPLACE` (which would silently delete rows that collide on a secondary
//! unique key) nor `IGNORE`: an upsert is `DELETE` by primary key + `INSERT`.
//!
//! A batch is first written in one transaction. If the server refuses it, the batch is rolled
//! back and replayed row by row, and a refused row is judged against the table's *current*
//! content, because a binlog image can be stale (a later event changes the row again, or a
//! replay after a crash meets rows already written further on):
//! - the row's current image (`INSERT ... SELECT` from the new table) is written instead. If
//!   the row is gone, nothing is written (its later DELETE is in the stream anyway);
//! - on a duplicate in a unique key of the old table, each colliding old row is refreshed from
//!   the new table's current content (or deleted if it is gone there), then the row is tried
//!   again. If the same rows still collide, both are current and really duplicate;
//! - whatever still fails is [`OnlineDdlError::RevertIncompatible`].
//!
//! Any image written early is overwritten by the row's later events, so the old table
//! converges to the new table's rows (on the common columns) as the stream catches up.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use super::binlog::Change;
use super::{OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState, sql};

/// MariaDB's `ER_DUP_ENTRY`.
const DUPLICATE_ENTRY: u16 = 1062;

/// A dedicated session in strict SQL mode (not pooled: the mode must not leak).
pub(crate) async fn writer(ddl: &OnlineDdl) -> OnlineDdlResult<Conn> {
    let mut conn = ddl.dedicated_conn().await?;
    conn.query_drop(
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@GLOBAL.sql_mode, ''), 'STRICT_ALL_TABLES')",
    )
    .await?;
    Ok(conn)
}

/// Writes the buffered changes to `old_table`, in order.
pub(crate) async fn flush(
    state: &OnlineDdlState,
    writer: &mut Conn,
    pending: &mut Vec<Change>,
) -> OnlineDdlResult<u64> {
    let changes = std::mem::take(pending);
    if changes.is_empty() {
        return Ok(0);
    }
    let count = changes.len() as u64;
    let target = Target::new(state);
    writer.query_drop("START TRANSACTION").await?;
    match write_batch(&target, writer, &changes).await {
        Ok(()) => {
            writer.query_drop("COMMIT").await?;
            return Ok(count);
        }
        Err(mysql_async::Error::Server(refused)) => {
            writer.query_drop("ROLLBACK").await?;
            tracing::debug!(table = %state.table, error = %refused, "reverse batch refused; row by row");
        }
        Err(other) => return Err(other.into()),
    }
    for change in &changes {
        match change {
            Change::Delete(key) => target.delete(writer, key.clone()).await?,
            Change::Upsert(values) => upsert_row(state, &target, writer, values).await?,
        }
    }
    Ok(count)
}

/// Names and statements of one reverse stream.
struct Target<'a> {
    state: &'a OnlineDdlState,
    old: String,
    new: String,
    columns: String,
    key: String,
    key_width: usize,
}

impl<'a> Target<'a> {
    fn new(state: &'a OnlineDdlState) -> Self {
        Target {
            state,
            old: sql::qualified(&state.database, &state.old_table),
            new: sql::qualified(&state.database, &state.table),
            columns: sql::column_list(&state.columns),
            key: sql::key_tuple(&state.key_columns),
            key_width: state.key_columns.len(),
        }
    }

    fn key_of(&self, values: &[Value]) -> Vec<Value> {
        self.state
            .key_columns
            .iter()
            .map(|k| {
                let index = self
                    .state
                    .columns
                    .iter()
                    .position(|c| c == k)
                    .expect("key columns are among the copied columns");
                values[index].clone()
            })
            .collect()
    }

    async fn delete(&self, conn: &mut Conn, key: Vec<Value>) -> Result<(), mysql_async::Error> {
        conn.exec_drop(
            format!(
                "DELETE FROM {} WHERE {} = {}",
                self.old,
                self.key,
                sql::placeholders(self.key_width)
            ),
            key,
        )
        .await
    }

    /// Replaces the old table's row `key` with the new table's current one (none if gone).
    async fn refresh(&self, conn: &mut Conn, key: Vec<Value>) -> Result<(), mysql_async::Error> {
        self.delete(conn, key.clone()).await?;
        conn.exec_drop(
            format!(
                "INSERT INTO {} ({cols}) SELECT {cols} FROM {} WHERE {} = {}",
                self.old,
                self.new,
                self.key,
                sql::placeholders(self.key_width),
                cols = self.columns,
            ),
            key,
        )
        .await
    }
}

/// The batch as a few statements: runs of deletes as one `DELETE … IN`, runs of upserts as
/// one `DELETE … IN` + one multi-row `INSERT` of each key's last image.
async fn write_batch(
    target: &Target<'_>,
    conn: &mut Conn,
    changes: &[Change],
) -> Result<(), mysql_async::Error> {
    let mut index = 0;
    while index < changes.len() {
        let upserts = matches!(changes[index], Change::Upsert(_));
        let run_end = changes[index..]
            .iter()
            .position(|c| matches!(c, Change::Upsert(_)) != upserts)
            .map_or(changes.len(), |offset| index + offset);
        let run = &changes[index..run_end];
        index = run_end;

        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut images: Vec<&Vec<Value>> = Vec::new();
        for change in run {
            match change {
                Change::Delete(key) => keys.push(key.clone()),
                Change::Upsert(values) => {
                    let key = target.key_of(values);
                    // A later image of the same row in the run supersedes an earlier one.
                    if let Some(seen) = keys.iter().position(|k| *k == key) {
                        images[seen] = values;
                    } else {
                        keys.push(key);
                        images.push(values);
                    }
                }
            }
        }
        let key_row = sql::placeholders(target.key_width);
        conn.exec_drop(
            format!(
                "DELETE FROM {} WHERE {} IN ({})",
                target.old,
                target.key,
                vec![key_row; keys.len()].join(", ")
            ),
            keys.concat(),
        )
        .await?;
        if !images.is_empty() {
            let row = sql::placeholders(target.state.columns.len());
            let params: Vec<Value> = images.iter().flat_map(|v| v.iter().cloned()).collect();
            conn.exec_drop(
                format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    target.old,
                    target.columns,
                    vec![row; images.len()].join(", ")
                ),
                params,
            )
            .await?;
        }
    }
    Ok(())
}

/// One upsert on its own (autocommit), resolving stale images and stale collisions.
async fn upsert_row(
    state: &OnlineDdlState,
    target: &Target<'_>,
    conn: &mut Conn,
    values: &[Value],
) -> OnlineDdlResult<()> {
    let key = target.key_of(values);
    target.delete(conn, key.clone()).await?;
    let row = sql::placeholders(state.columns.len());
    let first = conn
        .exec_drop(
            format!(
                "INSERT INTO {} ({}) VALUES {row}",
                target.old, target.columns
            ),
            values.to_vec(),
        )
        .await;
    match first {
        Ok(()) => return Ok(()),
        Err(mysql_async::Error::Server(_)) => {}
        Err(other) => return Err(other.into()),
    }
    // The image was refused: use the row as it is now, resolving collisions with stale rows.
    let mut refreshed: Vec<Vec<Value>> = Vec::new();
    loop {
        let error = match target.refresh(conn, key.clone()).await {
            Ok(()) => return Ok(()),
            Err(mysql_async::Error::Server(error)) => error,
            Err(other) => return Err(other.into()),
        };
        let incompatible = |reason: String| OnlineDdlError::RevertIncompatible {
            table: state.table.clone(),
            reason,
        };
        if error.code != DUPLICATE_ENTRY {
            return Err(incompatible(format!(
                "a row written after the deploy does not fit the old schema: {}",
                error.message
            )));
        }
        let colliding = colliding_rows(state, target, conn, &key).await?;
        let fresh: Vec<Vec<Value>> = colliding
            .into_iter()
            .filter(|other| !refreshed.contains(other))
            .collect();
        if fresh.is_empty() {
            return Err(incompatible(format!(
                "rows written after the deploy duplicate a unique key of the old schema: {}",
                error.message
            )));
        }
        for other in fresh {
            target
                .refresh(conn, other.clone())
                .await
                .map_err(|error| match error {
                    mysql_async::Error::Server(error) => incompatible(format!(
                        "a row written after the deploy does not fit the old schema: {}",
                        error.message
                    )),
                    other => other.into(),
                })?;
            refreshed.push(other);
        }
    }
}

/// Keys of old-table rows (other than `key`) that share a unique key's values with the new
/// table's current row `key`.
async fn colliding_rows(
    state: &OnlineDdlState,
    target: &Target<'_>,
    conn: &mut Conn,
    key: &[Value],
) -> OnlineDdlResult<Vec<Vec<Value>>> {
    let mut found: Vec<Vec<Value>> = Vec::new();
    for unique in sql::unique_keys(conn, &state.database, &state.old_table).await? {
        if !unique.iter().all(|c| state.columns.contains(c)) {
            // A column the new table lacks: its value comes from a default, no row to compare.
            continue;
        }
        let matches = unique
            .iter()
            .map(|c| format!("o.{c} = n.{c}", c = sql::ident(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let key_list = |alias: &str| {
            state
                .key_columns
                .iter()
                .map(|c| format!("{alias}.{}", sql::ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rows: Vec<mysql_async::Row> = conn
            .exec(
                format!(
                    "SELECT {} FROM {} AS o JOIN {} AS n ON {matches} \
                     WHERE ({}) = {placeholders} AND ({}) <> {placeholders}",
                    key_list("o"),
                    target.old,
                    target.new,
                    key_list("n"),
                    key_list("o"),
                    placeholders = sql::placeholders(target.key_width),
                ),
                [key.to_vec(), key.to_vec()].concat(),
            )
            .await?;
        for row in rows {
            let other = row.unwrap();
            if !found.contains(&other) {
                found.push(other);
            }
        }
    }
    Ok(found)
}
