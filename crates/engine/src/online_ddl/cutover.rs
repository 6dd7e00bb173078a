//! The cutover: swap the shadow in with one atomic `RENAME TABLE`, without losing a write.
//!
//! MariaDB 10.11 refuses `RENAME TABLE` under `LOCK TABLES` (error 1192, checked on the real
//! server), so the lock and the rename cannot share a session. The protocol (gh-ost's
//! "atomic cutover", adapted):
//!
//! 1. Catch up with the binlog (no locks). `_t_dbp_old` must not exist.
//! 2. Session L: `LOCK TABLES t WRITE` with a short `lock_wait_timeout`. Granting it waits
//!    for every open transaction that wrote `t` to end, so from here on every write to `t`
//!    is committed and in the binlog, and no new one can start.
//! 3. `SHOW MASTER STATUS` = P; apply the binlog up to P to the shadow (not locked).
//! 4. Only now, session R: `RENAME TABLE t TO _t_dbp_old, _t_dbp_new TO t`. It takes the
//!    (free) metadata locks of the other two names and queues an exclusive lock request on
//!    `t` behind L; we wait until the processlist shows it waiting for the metadata lock.
//! 5. L: `UNLOCK TABLES`. A pending exclusive metadata lock request is granted before the
//!    pending shared-write requests of the writers queued on `t`, so the RENAME runs first
//!    and the writers then open the new `t`.
//!
//! The RENAME is issued only after the drain, so if L dies at any point the RENAME (if
//! queued) swaps in a complete shadow, and if R fails or times out nothing is swapped and
//! the attempt is retried with backoff. Writers are blocked from step 2 to step 5: one
//! binlog drain plus a few round trips (7–40 ms in the tests).
//!
//! A first version locked the shadow and a sentry `_t_dbp_old` in L too (gh-ost's sentry).
//! That loses writes on MariaDB: the RENAME takes its locks in name order, so it queued on
//! `_t_dbp_new` (sorting before `t`) instead of `t`, and at `UNLOCK` the writers' pending
//! locks on `t` won. The concurrent-writer test caught it.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::sql;
use super::{OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState, Phase, binlog};

/// The comment that marks a sentry table.
const SENTRY_COMMENT: &str = "dbplane online ddl cutover sentry";

/// How the cutover waits and retries.
#[derive(Clone, Debug)]
pub struct CutoverOptions {
    /// `lock_wait_timeout` for taking the write locks (writers queue behind a waiting lock).
    pub lock_wait_timeout: Duration,
    /// `lock_wait_timeout` of the RENAME session, which must outlast the drain.
    pub rename_wait_timeout: Duration,
    pub attempts: u32,
    /// The first backoff; it doubles per attempt.
    pub backoff: Duration,
    /// Refuse to lock when the applied position trails by more binlog bytes than this.
    pub max_lag_bytes: u64,
}

impl Default for CutoverOptions {
    fn default() -> Self {
        CutoverOptions {
            lock_wait_timeout: Duration::from_secs(2),
            rename_wait_timeout: Duration::from_secs(10),
            attempts: 5,
            backoff: Duration::from_millis(200),
            max_lag_bytes: 1 << 20,
        }
    }
}

/// What a successful cutover did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutoverOutcome {
    /// How long writes to the table were blocked in the successful attempt.
    pub write_block: Duration,
    /// 1 when the first attempt worked.
    pub attempts: u32,
    /// Row changes drained under the lock.
    pub drained: u64,
    /// The cutover had already happened (a resumed job).
    pub already_done: bool,
}

impl OnlineDdl {
    /// Swaps the shadow in. Requires the copy to be complete. Resumable: if an earlier
    /// run already renamed the tables, it only records that.
    pub async fn cutover(
        &self,
        state: &mut OnlineDdlState,
        options: &CutoverOptions,
    ) -> OnlineDdlResult<CutoverOutcome> {
        let done = CutoverOutcome {
            write_block: Duration::ZERO,
            attempts: 0,
            drained: 0,
            already_done: true,
        };
        if state.phase == Phase::CutOver {
            return Ok(done);
        }
        {
            let mut conn = self.conn().await?;
            let db = state.database.clone();
            if !sql::table_exists(&mut conn, &db, &state.shadow_table).await?
                && sql::table_exists(&mut conn, &db, &state.old_table).await?
                && !is_sentry(&mut conn, &db, &state.old_table).await?
            {
                state.phase = Phase::CutOver;
                return Ok(done);
            }
        }
        if !state.copy.done {
            return Err(OnlineDdlError::Invalid("the copy is not complete".into()));
        }

        let mut last = String::new();
        let mut backoff = options.backoff;
        for attempt in 1..=options.attempts.max(1) {
            // 1. Catch up without locks.
            self.apply_changes(state).await?;
            let lag = self.lag(state).await?;
            if lag <= options.max_lag_bytes {
                match self.try_cutover(state, options).await {
                    Ok((write_block, drained)) => {
                        state.phase = Phase::CutOver;
                        return Ok(CutoverOutcome {
                            write_block,
                            attempts: attempt,
                            drained,
                            already_done: false,
                        });
                    }
                    Err(error) => last = error.to_string(),
                }
            } else {
                last = format!("{lag} binlog bytes behind");
            }
            tracing::info!(table = %state.table, attempt, error = %last, "cutover attempt failed");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        Err(OnlineDdlError::CutoverFailed {
            table: state.table.clone(),
            attempts: options.attempts.max(1),
            last,
        })
    }

    async fn try_cutover(
        &self,
        state: &mut OnlineDdlState,
        options: &CutoverOptions,
    ) -> OnlineDdlResult<(Duration, u64)> {
        let db = state.database.clone();
        let table = sql::qualified(&db, &state.table);
        let old = sql::qualified(&db, &state.old_table);

        // 2. `_t_dbp_old` must not exist: the RENAME would fail.
        let mut admin = self.conn().await?;
        if sql::table_exists(&mut admin, &db, &state.old_table).await? {
            if !is_sentry(&mut admin, &db, &state.old_table).await? {
                return Err(OnlineDdlError::Invalid(format!(
                    "`{}` exists: drop it first",
                    state.old_table
                )));
            }
            admin.query_drop(format!("DROP TABLE {old}")).await?;
        }

        // 3. Session L takes the write locks.
        let mut locker = self.dedicated_conn().await?;
        locker
            .query_drop(format!(
                "SET SESSION lock_wait_timeout = {}",
                options.lock_wait_timeout.as_secs().max(1)
            ))
            .await?;
        let locked_at = Instant::now();
        if let Err(error) = locker
            .query_drop(format!("LOCK TABLES {table} WRITE"))
            .await
        {
            let _ = locker.disconnect().await;
            return Err(error.into());
        }
        match self
            .locked_swap(state, options, &mut locker, &mut admin)
            .await
        {
            Ok((drained, rename)) => {
                // 6. Let the RENAME through.
                locker.query_drop("UNLOCK TABLES").await?;
                let write_block = locked_at.elapsed();
                let _ = locker.disconnect().await;
                let renamed = rename
                    .await
                    .map_err(|error| OnlineDdlError::Invalid(format!("rename task: {error}")))?;
                renamed?;
                Ok((write_block, drained))
            }
            Err(error) => {
                // Give up this attempt (any RENAME was killed).
                let _ = locker.query_drop("UNLOCK TABLES").await;
                let _ = locker.disconnect().await;
                Err(error)
            }
        }
    }

    /// Steps 4 and 5, under L's locks. Returns the rows drained and the pending RENAME.
    async fn locked_swap(
        &self,
        state: &mut OnlineDdlState,
        options: &CutoverOptions,
        locker: &mut Conn,
        admin: &mut Conn,
    ) -> OnlineDdlResult<(u64, tokio::task::JoinHandle<OnlineDdlResult<()>>)> {
        // 4. Every write to `t` is before P; drain to P (the shadow is not locked).
        let until = sql::master_position(admin).await?;
        let before = state.changes_applied;
        binlog::apply(self, state, admin, Some(&until)).await?;
        let _ = locker;
        if state.applied_position < until {
            return Err(OnlineDdlError::Binlog(format!(
                "the drain stopped at {:?}, before {:?}",
                state.applied_position, until
            )));
        }
        state.cutover_position = Some(until);
        let drained = state.changes_applied - before;

        // 5. Session R queues the RENAME.
        let mut renamer = self.dedicated_conn().await?;
        renamer
            .query_drop(format!(
                "SET SESSION lock_wait_timeout = {}",
                options.rename_wait_timeout.as_secs().max(1)
            ))
            .await?;
        let renamer_id = renamer.id();
        let rename_sql = format!(
            "RENAME TABLE {} TO {}, {} TO {}",
            sql::qualified(&state.database, &state.table),
            sql::qualified(&state.database, &state.old_table),
            sql::qualified(&state.database, &state.shadow_table),
            sql::qualified(&state.database, &state.table),
        );
        let rename = tokio::spawn(async move {
            let result = renamer.query_drop(rename_sql).await;
            let _ = renamer.disconnect().await;
            result.map_err(OnlineDdlError::from)
        });
        let deadline = Instant::now() + options.lock_wait_timeout;
        loop {
            let waiting: Option<String> = admin
                .exec_first(
                    "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?",
                    (renamer_id,),
                )
                .await?;
            if waiting
                .as_deref()
                .is_some_and(|s| s.contains("metadata lock"))
            {
                return Ok((drained, rename));
            }
            if rename.is_finished() || Instant::now() > deadline {
                rename.abort();
                let _ = admin.query_drop(format!("KILL QUERY {renamer_id}")).await;
                return Err(OnlineDdlError::Invalid(format!(
                    "the RENAME did not queue behind the lock (state {waiting:?})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
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
