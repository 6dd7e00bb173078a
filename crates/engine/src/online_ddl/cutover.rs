//! The cutover and the revert: swap tables in one atomic, lock-guarded `RENAME TABLE` (the
//! protocol is in [`super::swap`]), with retries and backoff, resumable after a crash.

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::binlog::{self, Direction};
use super::route::Route;
use super::stage::Writer;
use super::swap::{self, SwapNames};
use super::{OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState, Phase, sql};

/// The comment that marked a sentry table (left by an older version of the cutover).
const SENTRY_COMMENT: &str = "dbplane online ddl cutover sentry";

/// Holds new statements on tables while they swap: the connection edge's buffering, so
/// that clients see a pause instead of queueing on the swap's locks.
pub trait TrafficHold: Send + Sync {
    /// Until the returned guard drops, new statements naming `tables` wait.
    fn hold(&self, tables: &[String]) -> Box<dyn Send>;
}

/// A [`TrafficHold`] in [`CutoverOptions`].
#[derive(Clone)]
pub struct Traffic(pub std::sync::Arc<dyn TrafficHold>);

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Traffic")
    }
}

/// How the cutover waits and retries.
#[derive(Clone, Debug)]
pub struct CutoverOptions {
    /// `lock_wait_timeout` for taking the write locks (writers queue behind a waiting lock),
    /// and how long the RENAME may take to queue behind them.
    pub lock_wait_timeout: Duration,
    /// `lock_wait_timeout` of the RENAME session, which must outlast the drain.
    pub rename_wait_timeout: Duration,
    pub attempts: u32,
    /// The first backoff; it doubles per attempt.
    pub backoff: Duration,
    /// Refuse to lock when the applied position trails by more binlog bytes than this.
    pub max_lag_bytes: u64,
    /// Held during each swap attempt (from before its locks until after its rename).
    pub traffic: Option<Traffic>,
}

impl Default for CutoverOptions {
    fn default() -> Self {
        CutoverOptions {
            lock_wait_timeout: Duration::from_secs(2),
            rename_wait_timeout: Duration::from_secs(10),
            attempts: 5,
            backoff: Duration::from_millis(200),
            max_lag_bytes: 1 << 20,
            traffic: None,
        }
    }
}

/// What a successful cutover (or revert) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutoverOutcome {
    /// How long writes to the tables were blocked in the successful attempt.
    pub write_block: Duration,
    /// 1 when the first attempt worked.
    pub attempts: u32,
    /// Row changes drained under the lock.
    pub drained: u64,
    /// The swap had already happened (a resumed job).
    pub already_done: bool,
}

impl OnlineDdl {
    /// Swaps the shadow in: [`OnlineDdl::cutover_many`] for one table.
    pub async fn cutover(
        &self,
        state: &mut OnlineDdlState,
        options: &CutoverOptions,
    ) -> OnlineDdlResult<CutoverOutcome> {
        self.cutover_many(std::slice::from_mut(state), options)
            .await
    }

    /// Swaps every table of a deployment in ONE `RENAME TABLE` (`t TO _t_dbp_old,
    /// _t_dbp_new TO t` for each): all tables change together or none does. Requires every
    /// copy to be complete and all tables in one database. Resumable: if an earlier run
    /// already swapped (seen from the real tables), it only records that, recovering the
    /// cutover position from the binlog.
    pub async fn cutover_many(
        &self,
        states: &mut [OnlineDdlState],
        options: &CutoverOptions,
    ) -> OnlineDdlResult<CutoverOutcome> {
        self.swap_with_retries(states, Direction::Forward, options)
            .await
    }

    /// Reverts cut-over tables: catches the reverse stream up, then swaps back in ONE
    /// `RENAME TABLE` (`t TO _t_dbp_rev, _t_dbp_old TO t`), keeping every row written since
    /// the cutover. Fails with [`OnlineDdlError::RevertIncompatible`] (nothing swapped) when
    /// such a row cannot fit the old schema. Resumable like the cutover.
    pub async fn revert_many(
        &self,
        states: &mut [OnlineDdlState],
        options: &CutoverOptions,
    ) -> OnlineDdlResult<CutoverOutcome> {
        self.swap_with_retries(states, Direction::Reverse, options)
            .await
    }

    async fn swap_with_retries(
        &self,
        states: &mut [OnlineDdlState],
        direction: Direction,
        options: &CutoverOptions,
    ) -> OnlineDdlResult<CutoverOutcome> {
        let done = CutoverOutcome {
            write_block: Duration::ZERO,
            attempts: 0,
            drained: 0,
            already_done: true,
        };
        let Some(first) = states.first() else {
            return Err(OnlineDdlError::Invalid("no table to swap".into()));
        };
        let db = first.database.clone();
        if states.iter().any(|s| s.database != db) {
            return Err(OnlineDdlError::Invalid(
                "the tables of one swap must be in one database".into(),
            ));
        }
        let target = swap::phase_after(direction);
        if states.iter().all(|s| s.phase == target) {
            return Ok(done);
        }
        let mut conn = self.conn().await?;
        if self.recover_swap(&mut conn, states, direction).await? {
            return Ok(done);
        }
        for state in states.iter() {
            self.check_ready(&mut conn, state, direction).await?;
        }
        drop(conn);

        let mut last = String::new();
        let mut backoff = options.backoff;
        for attempt in 1..=options.attempts.max(1) {
            // Catch up without locks.
            let mut lag = 0;
            for state in states.iter_mut() {
                lag += match direction {
                    Direction::Forward => {
                        self.apply_changes(state).await?;
                        self.lag(state).await?
                    }
                    Direction::Reverse => {
                        self.apply_reverse_changes(state).await?;
                        self.reverse_lag(state).await?
                    }
                };
            }
            let deferred: usize = states.iter_mut().map(|s| direction.deferred(s).len()).sum();
            if deferred > 0 {
                last = format!("{deferred} rows wait to be written again from the source");
            } else if lag <= options.max_lag_bytes {
                let tables: Vec<String> = states.iter().map(|s| s.table.clone()).collect();
                let hold = options
                    .traffic
                    .as_ref()
                    .map(|traffic| traffic.0.hold(&tables));
                let mut writer = Writer::open(self).await?;
                let swapped = self
                    .prepared_swap(states, direction, options, &mut writer)
                    .await;
                writer.close().await;
                drop(hold);
                match swapped {
                    Ok(swapped) => {
                        for state in states.iter_mut() {
                            state.phase = target;
                        }
                        return Ok(CutoverOutcome {
                            write_block: swapped.write_block,
                            attempts: attempt,
                            drained: swapped.drained,
                            already_done: false,
                        });
                    }
                    Err(
                        error @ (OnlineDdlError::RevertIncompatible { .. }
                        | OnlineDdlError::WouldLoseData { .. }),
                    ) => return Err(error),
                    Err(error) => {
                        if direction == Direction::Forward {
                            for state in states.iter_mut() {
                                state.cutover_position = None;
                            }
                        }
                        last = error.to_string();
                    }
                }
            } else {
                last = format!("{lag} binlog bytes behind");
            }
            tracing::info!(table = %states[0].table, tables = states.len(), ?direction, attempt, error = %last, "swap attempt failed");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        Err(OnlineDdlError::CutoverFailed {
            table: states
                .iter()
                .map(|s| s.table.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            attempts: options.attempts.max(1),
            last,
        })
    }

    /// Readies `writer` and the incoming tables, then swaps under the locks.
    async fn prepared_swap(
        &self,
        states: &mut [OnlineDdlState],
        direction: Direction,
        options: &CutoverOptions,
        writer: &mut Writer,
    ) -> OnlineDdlResult<swap::Swapped> {
        let mut conn = self.conn().await?;
        for state in states.iter() {
            writer.prepare(&Route::new(state, direction)?).await?;
            let names = match direction {
                Direction::Forward => SwapNames::forward(state),
                Direction::Reverse => SwapNames::reverse(state),
            };
            carry_auto_increment(&mut conn, &state.database, &names.live, &names.incoming).await?;
        }
        drop(conn);
        self.locked_swap(states, direction, options, writer).await
    }

    /// Detects a swap that happened but was not recorded (a crash right after the RENAME).
    /// One RENAME swaps all tables or none, so a partial picture is an error.
    async fn recover_swap(
        &self,
        conn: &mut Conn,
        states: &mut [OnlineDdlState],
        direction: Direction,
    ) -> OnlineDdlResult<bool> {
        let mut swapped = 0;
        for state in states.iter() {
            if swap::already_swapped(conn, state, direction).await?
                && !(direction == Direction::Forward
                    && is_sentry(conn, &state.database, &state.old_table).await?)
            {
                swapped += 1;
            }
        }
        if swapped == 0 {
            return Ok(false);
        }
        if swapped < states.len() {
            return Err(OnlineDdlError::Invalid(format!(
                "only {swapped} of {} tables are swapped: not one swap of these tables",
                states.len()
            )));
        }
        for state in states.iter_mut() {
            if direction == Direction::Forward && state.cutover_position.is_none() {
                let position = binlog::find_rename(self, state).await?;
                state.applied_position = position.clone();
                state.cutover_position = Some(position);
            }
            state.phase = swap::phase_after(direction);
        }
        Ok(true)
    }

    /// The preconditions of a swap; drops a sentry left by an older version.
    async fn check_ready(
        &self,
        conn: &mut Conn,
        state: &OnlineDdlState,
        direction: Direction,
    ) -> OnlineDdlResult<()> {
        let names = match direction {
            Direction::Forward => {
                if state.phase == Phase::Reverted || state.phase == Phase::CutOver {
                    return Err(OnlineDdlError::Invalid(format!(
                        "`{}` was already cut over",
                        state.table
                    )));
                }
                if !state.copy.done {
                    return Err(OnlineDdlError::Invalid(format!(
                        "the copy of `{}` is not complete",
                        state.table
                    )));
                }
                SwapNames::forward(state)
            }
            Direction::Reverse => {
                if state.phase != Phase::CutOver {
                    return Err(OnlineDdlError::Invalid(format!(
                        "`{}` is not cut over (phase {:?})",
                        state.table, state.phase
                    )));
                }
                SwapNames::reverse(state)
            }
        };
        let db = &state.database;
        if !sql::table_exists(conn, db, &names.incoming).await? {
            return Err(OnlineDdlError::Invalid(format!(
                "`{}` does not exist",
                names.incoming
            )));
        }
        if sql::table_exists(conn, db, &names.retired).await? {
            if direction == Direction::Forward && is_sentry(conn, db, &names.retired).await? {
                conn.query_drop(format!("DROP TABLE {}", sql::qualified(db, &names.retired)))
                    .await?;
            } else {
                return Err(OnlineDdlError::Invalid(format!(
                    "`{}` exists (an earlier change's artifact): drop it first",
                    names.retired
                )));
            }
        }
        Ok(())
    }
}

/// Raises `incoming`'s AUTO_INCREMENT to `live`'s, so that the ids of rows deleted before
/// the swap are not handed out again. Rows the drain brings in later raise it further.
async fn carry_auto_increment(
    conn: &mut Conn,
    db: &str,
    live: &str,
    incoming: &str,
) -> OnlineDdlResult<()> {
    let counters: Vec<(String, Option<u64>)> = conn
        .exec(
            "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?)",
            (db, live, incoming),
        )
        .await?;
    let counter = |name: &str| {
        counters
            .iter()
            .find(|(table, _)| table == name)
            .and_then(|(_, counter)| *counter)
    };
    if let (Some(live_next), Some(incoming_next)) = (counter(live), counter(incoming))
        && live_next > incoming_next
    {
        conn.query_drop(format!(
            "ALTER TABLE {} AUTO_INCREMENT = {live_next}",
            sql::qualified(db, incoming)
        ))
        .await?;
    }
    Ok(())
}

async fn is_sentry(conn: &mut Conn, db: &str, table: &str) -> OnlineDdlResult<bool> {
    let comment: Option<String> = conn
        .exec_first(
            "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    Ok(comment.as_deref() == Some(SENTRY_COMMENT))
}
