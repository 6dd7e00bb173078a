//! The chunked row copy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use super::sql::{self, KeyValue};
use super::warnings::{self, MAX_WARNINGS, Warnings};
use super::{OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState, Phase};

pub(crate) const INITIAL_CHUNK_SIZE: u64 = 1000;

/// A callback asked before every chunk: `true` means "hold off" (e.g. replica lag is high).
pub type Throttle = Arc<dyn Fn() -> bool + Send + Sync>;

/// How chunks are sized and throttled.
#[derive(Clone)]
pub struct CopyOptions {
    /// The time one chunk should take; the chunk size adapts towards it.
    pub target_chunk_time: Duration,
    pub min_chunk_size: u64,
    pub max_chunk_size: u64,
    /// 0–95: the share of time the copy rests. After a chunk that took `d`, the copy sleeps
    /// `d * ratio / (100 - ratio)`. Values above 95 are treated as 95.
    pub throttle_ratio: u8,
    /// Checked before each chunk; when it says so, no rows are copied.
    pub throttle: Option<Throttle>,
    /// The server's load limit: no chunk starts while `Threads_running` (statements running
    /// right now, this one included) is above it.
    pub max_threads_running: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            target_chunk_time: Duration::from_millis(100),
            min_chunk_size: 10,
            max_chunk_size: 50_000,
            throttle_ratio: 0,
            throttle: None,
            max_threads_running: None,
        }
    }
}

impl std::fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOptions")
            .field("target_chunk_time", &self.target_chunk_time)
            .field("min_chunk_size", &self.min_chunk_size)
            .field("max_chunk_size", &self.max_chunk_size)
            .field("throttle_ratio", &self.throttle_ratio)
            .field("throttle", &self.throttle.is_some())
            .field("max_threads_running", &self.max_threads_running)
            .finish()
    }
}

/// What one `copy_chunk` call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// A chunk was copied: `rows` inserted, in `elapsed`.
    Copied { rows: u64, elapsed: Duration },
    /// The throttle callback or the server's load said to hold off; nothing was copied.
    Throttled,
    /// The copy is complete.
    Done,
}

impl OnlineDdl {
    /// Copies the next primary-key range into the shadow and advances the checkpoint in
    /// `state`. Never run concurrently with [`OnlineDdl::apply_changes`] on the same state
    /// (the `&mut` borrow enforces it within one process): the no-loss argument relies on
    /// the two alternating.
    pub async fn copy_chunk(
        &self,
        state: &mut OnlineDdlState,
        options: &CopyOptions,
    ) -> OnlineDdlResult<ChunkOutcome> {
        if state.phase == Phase::CutOver {
            return Err(OnlineDdlError::Invalid(
                "the table was already cut over".into(),
            ));
        }
        if state.copy.done {
            state.phase = Phase::CatchingUp;
            return Ok(ChunkOutcome::Done);
        }
        if options
            .throttle
            .as_ref()
            .is_some_and(|throttled| throttled())
        {
            return Ok(ChunkOutcome::Throttled);
        }
        let Some(upper) = state.copy.upper_key.clone() else {
            state.copy.done = true;
            state.phase = Phase::CatchingUp;
            return Ok(ChunkOutcome::Done);
        };
        let chunk_size = state
            .copy
            .chunk_size
            .clamp(options.min_chunk_size.max(1), options.max_chunk_size.max(1));
        let started = Instant::now();
        let mut conn = self.conn().await?;
        if let Some(limit) = options.max_threads_running
            && threads_running(&mut conn).await? > limit
        {
            return Ok(ChunkOutcome::Throttled);
        }
        // A non-locking consistent read: concurrent writers are never blocked by the copy.
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .await?;

        let source = sql::qualified(&state.database, &state.table);
        let key = sql::key_tuple(&state.key_columns);
        let width = state.key_columns.len();
        let mut lower_clause = String::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(last) = &state.copy.last_key {
            lower_clause = format!("{key} > {} AND ", sql::placeholders(width));
            params.extend(last.iter().map(Value::from));
        }
        let order = sql::column_list(&state.key_columns);
        // The chunk's last key: the `chunk_size`-th row above the cursor, or the upper bound.
        let mut end_params = params.clone();
        end_params.extend(upper.iter().map(Value::from));
        let end: Option<Row> = conn
            .exec_first(
                format!(
                    "SELECT {order} FROM {source} WHERE {lower_clause}{key} <= {} \
                     ORDER BY {order} LIMIT 1 OFFSET {}",
                    sql::placeholders(width),
                    chunk_size - 1
                ),
                end_params,
            )
            .await?;
        let end: Vec<KeyValue> = end.map(sql::row_key).unwrap_or_else(|| upper.clone());

        // IGNORE is for rows the binlog already put in the shadow (same identity, newer
        // data). It would also silently truncate values or skip duplicates of a new unique
        // key, so the chunk commits only when its warnings are all harmless (see
        // `warnings.rs`).
        let insert = format!(
            "INSERT IGNORE INTO {} ({}) SELECT {} FROM {source} WHERE {lower_clause}{key} <= {}",
            sql::qualified(&state.database, &state.shadow_table),
            sql::column_list(state.target_columns()),
            sql::column_list(&state.columns),
            sql::placeholders(width),
        );
        let mut copy_params = params;
        copy_params.extend(end.iter().map(Value::from));
        let mode = self.copy_mode(&mut conn).await?;
        conn.query_drop(format!(
            "SET SESSION max_error_count = {MAX_WARNINGS}, SESSION sql_mode = {}",
            dbplane_schema::quote::mariadb_string(&mode)
        ))
        .await?;
        let implied = state.implied_target_keys();
        let mut retries = 0;
        let rows = loop {
            // Rolled back when dropped on any early return.
            let mut chunk = conn
                .start_transaction(mysql_async::TxOpts::default())
                .await?;
            chunk.exec_drop(&insert, copy_params.clone()).await?;
            let rows = chunk.affected_rows();
            match warnings::judge(&mut chunk, &implied).await? {
                Warnings::Harmless => {
                    chunk.commit().await?;
                    break rows;
                }
                Warnings::NewKeyDuplicate(reason) if retries < NEW_KEY_RETRIES => {
                    // The other row may be stale (the stream is behind the copy's read):
                    // catch the stream up and copy the chunk again.
                    chunk.rollback().await?;
                    retries += 1;
                    tracing::debug!(table = %state.table, %reason, retries, "chunk collides on a new unique key; catching up");
                    self.apply_changes(state).await?;
                }
                Warnings::NewKeyDuplicate(reason) | Warnings::Lossy(reason) => {
                    chunk.rollback().await?;
                    return Err(OnlineDdlError::WouldLoseData {
                        table: state.table.clone(),
                        reason,
                    });
                }
            }
        };
        drop(conn);
        let elapsed = started.elapsed();

        state.copy.rows_copied += rows;
        state.copy.done = end == upper;
        state.copy.last_key = Some(end);
        state.copy.chunk_size = next_chunk_size(chunk_size, elapsed, options);
        if state.copy.done {
            state.phase = Phase::CatchingUp;
        }

        let pause = throttle_pause(elapsed, options.throttle_ratio);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Ok(ChunkOutcome::Copied { rows, elapsed })
    }
}

/// Catch-ups before a duplicate on a new unique key counts as real.
const NEW_KEY_RETRIES: u32 = 3;

/// The rest after a chunk that took `elapsed`, so that the copy works `100 - ratio` % of the
/// time: `elapsed × ratio / (100 − ratio)`, the ratio capped at 95.
pub(crate) fn throttle_pause(elapsed: Duration, ratio: u8) -> Duration {
    let ratio = u32::from(ratio.min(95));
    elapsed * ratio / (100 - ratio)
}

async fn threads_running(conn: &mut mysql_async::Conn) -> OnlineDdlResult<u64> {
    let row: Option<(String, u64)> = conn
        .query_first("SHOW GLOBAL STATUS LIKE 'Threads_running'")
        .await?;
    Ok(row.map_or(0, |(_, value)| value))
}

/// Scales the chunk size towards the time target, by at most ×2 or ×½ per chunk.
fn next_chunk_size(current: u64, elapsed: Duration, options: &CopyOptions) -> u64 {
    let target = options.target_chunk_time.as_secs_f64();
    let took = elapsed.as_secs_f64().max(1e-4);
    let factor = (target / took).clamp(0.5, 2.0);
    ((current as f64 * factor) as u64)
        .clamp(options.min_chunk_size.max(1), options.max_chunk_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_follows_the_time_target() {
        let options = CopyOptions::default();
        assert_eq!(
            next_chunk_size(1000, Duration::from_millis(10), &options),
            2000
        );
        assert_eq!(
            next_chunk_size(1000, Duration::from_millis(400), &options),
            500
        );
        assert_eq!(
            next_chunk_size(1000, Duration::from_millis(125), &options),
            800
        );
        assert_eq!(
            next_chunk_size(40_000, Duration::from_millis(1), &options),
            50_000
        );
        assert_eq!(next_chunk_size(12, Duration::from_secs(9), &options), 10);
    }

    #[test]
    fn the_ratio_is_the_share_of_time_spent_resting() {
        let chunk = Duration::from_millis(100);
        assert_eq!(throttle_pause(chunk, 0), Duration::ZERO);
        assert_eq!(throttle_pause(chunk, 50), chunk);
        assert_eq!(throttle_pause(chunk, 75), Duration::from_millis(300));
        assert_eq!(throttle_pause(chunk, 95), Duration::from_millis(1900));
        assert_eq!(throttle_pause(chunk, 100), Duration::from_millis(1900));
    }
}
