//! Non-blocking online schema change for MariaDB: shadow table, chunked copy, binlog change
//! capture and an atomic, lock-guarded cutover.
//!
//! The change runs as resumable phases that a durable job drives one step at a time. All
//! progress lives in [`OnlineDdlState`], which is `serde`-serializable: the job persists it
//! after every step and, after a crash (even `kill -9`), resumes from the last saved copy.
//!
//! 1. [`OnlineDdl::prepare`] creates the shadow table `_<table>_dbp_new` with the target
//!    schema, then records the binlog position (`SHOW MASTER STATUS`) **before** any row is
//!    copied, plus the highest primary key at that moment (the copy's upper bound).
//! 2. [`OnlineDdl::copy_chunk`] copies one primary-key range with
//!    `INSERT IGNORE INTO shadow (cols) SELECT cols FROM t WHERE pk > last AND pk <= end`, in a
//!    `READ COMMITTED` session (a non-locking read: writers are never blocked). The chunk size
//!    adapts to a time target, and a throttle ratio / callback is checked between chunks.
//! 3. [`OnlineDdl::apply_changes`] streams the binlog from the saved position and applies the
//!    table's row events to the shadow with "change wins": each row's last image goes
//!    through a staging table of the source's own column types and is moved by the server
//!    (`stage.rs`), so it converts exactly as the copy converts it; deletes go by the row
//!    identity both tables share.
//! 4. [`OnlineDdl::cutover_many`] swaps every table of a deployment in one
//!    `RENAME TABLE t TO _t_dbp_old, shadow TO t, …` ([`OnlineDdl::cutover`] for one table;
//!    see `swap.rs` for the locking protocol and why it cannot lose rows).
//! 5. The revert window: [`OnlineDdl::apply_reverse_changes`] feeds the changes made to the
//!    new `t` into the kept `_t_dbp_old` (strict, see `reverse.rs`), and
//!    [`OnlineDdl::revert_many`] swaps back the same way (`t` becomes `_t_dbp_rev`).
//!    [`OnlineDdl::cancel`] (before cutover) and [`OnlineDdl::drop_artifacts`] clean up.
//!
//! # Why no row can be lost or resurrected
//!
//! The job calls `copy_chunk` and `apply_changes` **one after the other, never concurrently**
//! (they take `&mut OnlineDdlState`). Every change committed after the recorded position is in
//! the binlog after it, and is applied after any copy chunk that ran before it was read:
//! - a row the copy read and that was later updated or deleted: the UPDATE (`REPLACE`) or
//!   DELETE is applied after the chunk wrote the stale row, so the change wins;
//! - a change applied before the chunk that copies its row: the copied row is either the
//!   same or newer data (it was read later), and `INSERT IGNORE` keeps the applied row,
//!   which the binlog would anyway bring up to date;
//! - rows inserted above the upper bound or below the copy cursor arrive through the binlog.
//!
//! This needs one more invariant: **every change the stream has applied is visible to every
//! later copy read.** MariaDB writes a transaction to the binlog (where `SHOW MASTER STATUS`
//! and the stream see it) a moment *before* InnoDB makes it visible. Bounding the stream by
//! `SHOW MASTER STATUS` once let it apply a DELETE whose transaction a chunk starting in that
//! moment could not see yet: the chunk copied the deleted row back, for good (the
//! concurrent-writer test failed about once in 15 runs with a row-count mismatch). The same gap
//! at `prepare` could hide a just-inserted row above the upper bound from both the copy and
//! the stream. So the stream is bounded, and `prepare` reads its position and upper bound,
//! by `START TRANSACTION WITH CONSISTENT SNAPSHOT`'s `binlog_snapshot_position`, which
//! MariaDB keeps exactly consistent with what the snapshot sees.
//!
//! Replaying events that were already applied (after a crash, the stream is reopened from the
//! last *saved* position) is harmless: writing a row's image by identity and deleting by
//! identity are idempotent and, applied in binlog order, converge to the source's final row.
//!
//! The table needs a primary key (the copy walks it); the two tables need a unique key in
//! common to identify rows by (`dbplane_schema::online`); renamed columns are carried when
//! [`OnlineDdl::prepare`] is told of them.

mod apply;
mod artifacts;
mod binlog;
mod copy;
pub mod cutover;
mod route;
mod shape;
mod sql;
mod stage;
mod swap;
mod values;
mod warnings;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Pool};
use serde::{Deserialize, Serialize};

use crate::artifacts::{Artifact, artifact_name};
use crate::physical::PhysicalName;
use dbplane_schema::online;
use shape::read_shape;

pub use copy::{ChunkOutcome, CopyOptions, Throttle};
pub use cutover::{CutoverOptions, CutoverOutcome, Traffic, TrafficHold};
pub use sql::{KeyValue, conversion_mode_from as conversion_sql_mode};
pub use stage::RESYNC_ATTEMPTS;

/// Errors of the online schema change.
#[derive(Debug, thiserror::Error)]
pub enum OnlineDdlError {
    #[error("query on MariaDB failed: {0}")]
    Sql(#[from] mysql_async::Error),
    #[error("online schema change of `{table}` is not possible: {reason}")]
    Unsupported { table: String, reason: String },
    #[error("invalid online schema change: {0}")]
    Invalid(String),
    #[error("decoding the binlog failed: {0}")]
    Binlog(String),
    #[error("the cutover of `{table}` failed after {attempts} attempts: {last}")]
    CutoverFailed {
        table: String,
        attempts: u32,
        last: String,
    },
    /// A row written to the new table after cutover cannot be stored in the old schema (a
    /// NOT NULL violation, a value too long or out of range, a duplicate in a unique key the
    /// old table has…), so a revert would lose it. Judged against the table's current rows:
    /// retrying later succeeds if the offending rows were changed meanwhile.
    #[error("`{table}` cannot be reverted: {reason}")]
    RevertIncompatible { table: String, reason: String },
    /// Copying a row into the new schema would change or drop it (a value truncated or out
    /// of range, a NULL into NOT NULL, a duplicate in a new unique key): the chunk was
    /// rolled back and the change must not go on.
    #[error("changing `{table}` would lose data: {reason}")]
    WouldLoseData { table: String, reason: String },
}

/// Result of the online schema change.
pub type OnlineDdlResult<T> = Result<T, OnlineDdlError>;

/// The target schema of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaChange {
    /// The full target `CREATE TABLE` statement (its table name is replaced by the shadow's).
    CreateTable(String),
    /// The clause of an `ALTER TABLE <table> ...`, e.g. `ADD COLUMN c INT, ADD INDEX (c)`.
    Alter(String),
}

/// A binlog position (file + byte offset), always at a transaction boundary.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// E.g. `binlog.000001`; the fixed-width numbering makes the derived order correct.
    pub file: String,
    pub position: u64,
}

/// Where the change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Copying rows (and applying changes in between).
    Copying,
    /// All rows copied; applying changes until cutover.
    CatchingUp,
    /// The tables were swapped: the original is kept as `_<table>_dbp_old` and can be fed
    /// in reverse ([`OnlineDdl::apply_reverse_changes`]).
    CutOver,
    /// Swapped back: `_<table>_dbp_old` is `table` again; the new-schema table is kept as
    /// `_<table>_dbp_rev` until [`OnlineDdl::drop_artifacts`].
    Reverted,
}

/// Progress of the row copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopyProgress {
    /// Primary key of the last copied row; `None` before the first chunk.
    pub last_key: Option<Vec<KeyValue>>,
    /// The highest primary key at `prepare`; `None` for an empty table. Rows above it come
    /// from the binlog.
    pub upper_key: Option<Vec<KeyValue>>,
    pub done: bool,
    /// Rows inserted into the shadow by the copy.
    pub rows_copied: u64,
    /// Rows of the table at `prepare` (estimate, for progress).
    pub rows_estimate: u64,
    /// The current adaptive chunk size.
    pub chunk_size: u64,
}

/// A row the change stream could not write yet (a value the target refused, or a duplicate
/// on a key the source does not enforce): it is written again from the source's current row
/// once the stream has caught up (see `stage.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeferredRow {
    /// The row identity, as staged.
    pub identity: Vec<KeyValue>,
    /// Catch-ups after which the row still did not fit.
    pub attempts: u32,
    /// The server's last refusal.
    pub reason: String,
}

impl DeferredRow {
    pub(crate) fn values(&self) -> Vec<mysql_async::Value> {
        self.identity.iter().map(mysql_async::Value::from).collect()
    }
}

/// A column renamed by the change: its values go to the new name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRename {
    pub from: String,
    pub to: String,
}

/// Everything needed to resume an online schema change: persist it after every step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnlineDdlState {
    pub database: String,
    pub table: String,
    /// `_<table>_dbp_new`.
    pub shadow_table: String,
    /// `_<table>_dbp_old`: the original after cutover.
    pub old_table: String,
    pub change: SchemaChange,
    /// The key the copy walks in ranges: the source's primary key.
    pub key_columns: Vec<String>,
    /// Source columns copied to the shadow (every column the shadow has, by name or rename,
    /// that it does not compute itself).
    pub columns: Vec<String>,
    /// The shadow's names of `columns`, position for position (empty in states saved before
    /// renames and case changes were carried: the same names).
    #[serde(default)]
    pub target_columns: Vec<String>,
    /// The row identity both tables share, in source names (empty in older states: the
    /// primary key, which could not change then).
    #[serde(default)]
    pub identity: Vec<String>,
    /// Shadow unique keys the source implies: a duplicate on them is with a stale row.
    /// (`None` in states saved before keys could change: the primary key.)
    #[serde(default)]
    pub implied_target_keys: Option<Vec<String>>,
    /// Source unique keys the shadow implies (the reverse stream's view).
    #[serde(default)]
    pub implied_source_keys: Option<Vec<String>>,
    /// Rows the forward stream defers (see [`DeferredRow`]).
    #[serde(default)]
    pub deferred: Vec<DeferredRow>,
    /// Rows the reverse stream defers.
    #[serde(default)]
    pub reverse_deferred: Vec<DeferredRow>,
    pub phase: Phase,
    pub copy: CopyProgress,
    /// The binlog position recorded at `prepare`, before the copy started.
    pub start_position: BinlogPosition,
    /// Changes up to here are applied to the shadow.
    pub applied_position: BinlogPosition,
    /// Row changes applied from the binlog so far (replays after a crash count again).
    pub changes_applied: u64,
    /// The binlog position at which writes were blocked for the swap (for a reverse stream).
    pub cutover_position: Option<BinlogPosition>,
    /// After cutover: changes to `table` up to here are applied to `old_table` (starts at
    /// `cutover_position`).
    #[serde(default)]
    pub reverse_applied_position: Option<BinlogPosition>,
    /// Row changes applied in reverse so far (replays after a crash count again).
    #[serde(default)]
    pub reverse_changes_applied: u64,
}

impl OnlineDdlState {
    /// `_<table>_dbp_rev`: the new-schema table after a revert.
    pub fn reverted_table(&self) -> String {
        crate::artifacts::artifact_name(&self.table, crate::artifacts::Artifact::Reverted)
    }

    /// The shadow's names of [`OnlineDdlState::columns`].
    pub fn target_columns(&self) -> &[String] {
        if self.target_columns.len() == self.columns.len() {
            &self.target_columns
        } else {
            &self.columns
        }
    }

    /// The row identity (source names).
    pub fn identity(&self) -> &[String] {
        if self.identity.is_empty() {
            &self.key_columns
        } else {
            &self.identity
        }
    }

    pub(crate) fn implied_target_keys(&self) -> Vec<String> {
        self.implied_target_keys
            .clone()
            .unwrap_or_else(|| vec!["PRIMARY".into()])
    }

    pub(crate) fn implied_source_keys(&self) -> Vec<String> {
        self.implied_source_keys
            .clone()
            .unwrap_or_else(|| vec!["PRIMARY".into()])
    }
}

/// Runs the phases of online schema changes on one MariaDB server, with an admin account
/// (it needs `REPLICATION SLAVE`, `RELOAD`-free `SHOW MASTER STATUS`, DDL and DML).
#[derive(Clone, Debug)]
pub struct OnlineDdl {
    opts: Opts,
    pool: Pool,
    /// The copy's SQL mode, derived from the server's once (`sql::conversion_mode`).
    copy_mode: Arc<OnceLock<String>>,
}

impl OnlineDdl {
    /// Connects lazily to the server at `url` (`mysql://root@127.0.0.1:3306/`).
    pub fn new(url: &str) -> OnlineDdlResult<Self> {
        let opts =
            Opts::from_url(url).map_err(|error| OnlineDdlError::Invalid(error.to_string()))?;
        Ok(OnlineDdl {
            pool: Pool::new(opts.clone()),
            opts,
            copy_mode: Arc::default(),
        })
    }

    /// Closes the pooled connections.
    pub async fn disconnect(self) -> OnlineDdlResult<()> {
        self.pool.disconnect().await?;
        Ok(())
    }

    pub(crate) async fn conn(&self) -> OnlineDdlResult<Conn> {
        Ok(self.pool.get_conn().await?)
    }

    /// The SQL mode the copy converts rows under (non-strict: its `INSERT IGNORE` reports
    /// what would not fit as warnings).
    pub(crate) async fn copy_mode(&self, conn: &mut Conn) -> OnlineDdlResult<String> {
        if let Some(mode) = self.copy_mode.get() {
            return Ok(mode.clone());
        }
        let mode = sql::conversion_mode(conn, false).await?;
        Ok(self.copy_mode.get_or_init(|| mode).clone())
    }

    /// A dedicated, unpooled connection (for binlog streams and lock-holding sessions).
    pub(crate) async fn dedicated_conn(&self) -> OnlineDdlResult<Conn> {
        Ok(Conn::new(self.opts.clone()).await?)
    }

    /// Creates the shadow table with the target schema and records the binlog position
    /// before the copy starts. Idempotent: a shadow left by an earlier, unrecorded attempt
    /// is dropped and recreated (no state refers to it yet). `renames` name the columns the
    /// change renames (their values follow them). Fails when `table` has no primary key, or
    /// when the two tables share no unique key to identify rows by (see `dbplane_schema::online`).
    pub async fn prepare(
        &self,
        database: &PhysicalName,
        table: &str,
        change: &SchemaChange,
        renames: &[ColumnRename],
    ) -> OnlineDdlResult<OnlineDdlState> {
        let db = database.as_str();
        let shadow_table = artifact_name(table, Artifact::Shadow);
        let old_table = artifact_name(table, Artifact::Old);
        let mut conn = self.conn().await?;
        let source = read_shape(&mut conn, db, table).await?;
        if source.columns.is_empty() {
            return Err(OnlineDdlError::Invalid(format!(
                "table `{db}`.`{table}` does not exist"
            )));
        }
        let Some(key_columns) = source.primary_key().map(|_| ()).and(source.walk_key()) else {
            return Err(OnlineDdlError::Unsupported {
                table: table.into(),
                reason: "it has no primary key".into(),
            });
        };
        if sql::table_exists(&mut conn, db, &old_table).await? {
            return Err(OnlineDdlError::Unsupported {
                table: table.into(),
                reason: format!(
                    "`{old_table}` exists (an earlier change's artifact): drop it first"
                ),
            });
        }

        let qualified_shadow = sql::qualified(db, &shadow_table);
        conn.query_drop(format!("DROP TABLE IF EXISTS {qualified_shadow}"))
            .await?;
        match change {
            SchemaChange::Alter(clause) => {
                conn.query_drop(format!(
                    "CREATE TABLE {qualified_shadow} LIKE {}",
                    sql::qualified(db, table)
                ))
                .await?;
                if let Err(error) = conn
                    .query_drop(format!("ALTER TABLE {qualified_shadow} {clause}"))
                    .await
                {
                    conn.query_drop(format!("DROP TABLE IF EXISTS {qualified_shadow}"))
                        .await?;
                    return Err(error.into());
                }
            }
            SchemaChange::CreateTable(statement) => {
                let statement =
                    sql::rename_create_table(statement, &qualified_shadow).ok_or_else(|| {
                        OnlineDdlError::Invalid("not a CREATE TABLE statement".into())
                    })?;
                conn.query_drop(statement).await?;
            }
        }

        let target = read_shape(&mut conn, db, &shadow_table).await?;
        let renames: Vec<(String, String)> = renames
            .iter()
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        let plan = match online::plan(&source, &target, &renames) {
            Ok(plan) => plan,
            Err(reason) => {
                conn.query_drop(format!("DROP TABLE IF EXISTS {qualified_shadow}"))
                    .await?;
                return Err(OnlineDdlError::Unsupported {
                    table: table.into(),
                    reason,
                });
            }
        };
        let (columns, target_columns): (Vec<String>, Vec<String>) = plan.pairs.into_iter().unzip();

        // The position and the upper bound from one consistent snapshot: every row above
        // the bound, and every change to a row below it, commits after the position.
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await?;
        let start_position = sql::snapshot_status(&mut conn).await;
        let upper_key = sql::max_key(&mut conn, db, table, &key_columns).await;
        conn.query_drop("COMMIT").await?;
        let (start_position, upper_key) = (start_position?, upper_key?);
        let rows_estimate = sql::row_estimate(&mut conn, db, table).await?;
        Ok(OnlineDdlState {
            database: db.into(),
            table: table.into(),
            shadow_table,
            old_table,
            change: change.clone(),
            key_columns,
            columns,
            target_columns,
            identity: plan.identity,
            implied_target_keys: Some(plan.implied_target_keys),
            implied_source_keys: Some(plan.implied_source_keys),
            deferred: Vec::new(),
            reverse_deferred: Vec::new(),
            phase: Phase::Copying,
            copy: CopyProgress {
                last_key: None,
                done: upper_key.is_none(),
                upper_key,
                rows_copied: 0,
                rows_estimate,
                chunk_size: copy::INITIAL_CHUNK_SIZE,
            },
            applied_position: start_position.clone(),
            start_position,
            changes_applied: 0,
            cutover_position: None,
            reverse_applied_position: None,
            reverse_changes_applied: 0,
        })
    }

    /// How far (in binlog bytes, approximately, across files) the applied position trails the
    /// server's current one.
    pub async fn lag(&self, state: &OnlineDdlState) -> OnlineDdlResult<u64> {
        let mut conn = self.conn().await?;
        let current = sql::master_position(&mut conn).await?;
        Ok(position_distance(&state.applied_position, &current))
    }

    /// Streams the binlog from the applied position to the current end and applies the
    /// table's changes to the shadow; returns the number of row changes applied. Safe to
    /// call again from a saved state after a crash.
    pub async fn apply_changes(&self, state: &mut OnlineDdlState) -> OnlineDdlResult<u64> {
        if matches!(state.phase, Phase::CutOver | Phase::Reverted) {
            return Err(OnlineDdlError::Invalid(format!(
                "`{}` was already cut over: its shadow is live (apply_reverse_changes feeds the old table)",
                state.table
            )));
        }
        self.apply_open(state, binlog::Direction::Forward).await
    }

    /// After cutover: streams the binlog from the reverse position (the cutover position at
    /// first) and applies the changes made to the new `table` to `_<table>_dbp_old` (the
    /// common columns, converted by the server, strict SQL mode), so a revert keeps every
    /// row written since. Returns the row changes applied, or
    /// [`OnlineDdlError::RevertIncompatible`] when a row cannot fit the old schema.
    /// Resumable like [`OnlineDdl::apply_changes`].
    pub async fn apply_reverse_changes(&self, state: &mut OnlineDdlState) -> OnlineDdlResult<u64> {
        if state.phase != Phase::CutOver {
            return Err(OnlineDdlError::Invalid(format!(
                "`{}` is not cut over (phase {:?})",
                state.table, state.phase
            )));
        }
        self.apply_open(state, binlog::Direction::Reverse).await
    }

    /// Catches one direction up to the end of the binlog on a writer session of its own.
    async fn apply_open(
        &self,
        state: &mut OnlineDdlState,
        direction: binlog::Direction,
    ) -> OnlineDdlResult<u64> {
        let mut writer = stage::Writer::open(self).await?;
        let applied =
            binlog::apply(self, state, direction, &mut writer, binlog::Bound::CatchUp).await;
        writer.close().await;
        applied
    }

    /// How far the reverse stream trails the server's current binlog position.
    pub async fn reverse_lag(&self, state: &OnlineDdlState) -> OnlineDdlResult<u64> {
        let Some(from) = state
            .reverse_applied_position
            .as_ref()
            .or(state.cutover_position.as_ref())
        else {
            return Ok(0);
        };
        let mut conn = self.conn().await?;
        let current = sql::master_position(&mut conn).await?;
        Ok(position_distance(from, &current))
    }
}

fn position_distance(from: &BinlogPosition, to: &BinlogPosition) -> u64 {
    if from.file == to.file {
        to.position.saturating_sub(from.position)
    } else if from < to {
        // A later file: at least what is in it.
        to.position.max(1)
    } else {
        0
    }
}

/// A generous default for how long a step may wait on a lock.
pub(crate) const DEFAULT_IDLE: Duration = Duration::from_millis(500);
