//! The locked swap of one or more tables in ONE `RENAME TABLE`, without losing a write.
//!
//! MariaDB 10.11 refuses `RENAME TABLE` under `LOCK TABLES` (error 1192), so the locks and
//! the rename cannot share a session. One attempt, for live tables `t1 < t2 < …` (sorted the
//! way MariaDB sorts metadata lock keys: by name bytes):
//!
//! 1. Session L_i per live table: `LOCK TABLES t_i WRITE` (short `lock_wait_timeout`). Once
//!    granted, every write to `t_i` is committed and in the binlog and no new one starts.
//! 2. `SHOW MASTER STATUS` = P; drain the binlog up to P into the incoming tables.
//! 3. Only now, session R: `RENAME TABLE t1 TO retired1, incoming1 TO t1, t2 TO …`. MariaDB
//!    takes its exclusive metadata locks one by one in key order, waiting at each held one.
//! 4. For i = 1…n: once R's exclusive request waits on `t_i`, release L_i. A pending
//!    exclusive request is granted before the writers' pending shared-write requests, so R
//!    gets `t_i` and writers of `t_i` now wait on R.
//! 5. After the last release the RENAME completes; writers open the swapped tables.
//!
//! Releasing L_i before R waits on `t_i` lets writers into the old `t_i` after P. Two ways
//! to get that wrong: one lock session for all tables (R queues on the first; at `UNLOCK`
//! the writers of the others go first), and — what the two-table writer test caught, 3
//! times in ~40 runs on a loaded machine — judging "R waits on `t_i`" from the processlist
//! state plus the granted locks (after L_{i-1}'s release the *releasing*
//! thread grants R `t_{i-1}`, and R's state still reads "Waiting for table metadata lock"
//! until its thread wakes up and asks for `t_i`). So a probe session asks: a `PREPARE` of
//! `SELECT 1 FROM t_i` takes a shared metadata lock, which L_i's lock allows but a pending
//! exclusive request blocks; with `lock_wait_timeout = 0` it fails at once (error 1205)
//! exactly when R's request is queued on `t_i` (checked on MariaDB 10.11).
//!
//! If R fails or times out, nothing is swapped (the attempt is retried). If this process dies
//! after R is queued, the lock sessions close: with one table R then swaps in a complete
//! table; with several, writers of a later table may race R for it in the microseconds
//! between two of R's lock requests — a documented limit of the multi-table swap.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::task::JoinHandle;

use super::binlog::{self, Bound, Direction};
use super::stage::Writer;
use super::{CutoverOptions, OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState};
use super::{Phase, sql};

/// MariaDB's `ER_LOCK_WAIT_TIMEOUT`.
const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// One table's part of the RENAME: `live` → `retired`, `incoming` → `live`.
pub(crate) struct SwapNames {
    pub live: String,
    pub incoming: String,
    pub retired: String,
}

impl SwapNames {
    pub(crate) fn forward(state: &OnlineDdlState) -> Self {
        SwapNames {
            live: state.table.clone(),
            incoming: state.shadow_table.clone(),
            retired: state.old_table.clone(),
        }
    }

    pub(crate) fn reverse(state: &OnlineDdlState) -> Self {
        SwapNames {
            live: state.table.clone(),
            incoming: state.old_table.clone(),
            retired: state.reverted_table(),
        }
    }
}

/// What one successful swap did.
pub(crate) struct Swapped {
    pub write_block: Duration,
    pub drained: u64,
}

impl OnlineDdl {
    /// One attempt of the protocol above over `states` (all in one database). `writer`
    /// has its staging tables ready (they cannot be created once the tables are locked).
    pub(crate) async fn locked_swap(
        &self,
        states: &mut [OnlineDdlState],
        direction: Direction,
        options: &CutoverOptions,
        writer: &mut Writer,
    ) -> OnlineDdlResult<Swapped> {
        let db = states[0].database.clone();
        let names: Vec<SwapNames> = states
            .iter()
            .map(|s| match direction {
                Direction::Forward => SwapNames::forward(s),
                Direction::Reverse => SwapNames::reverse(s),
            })
            .collect();
        let mut admin = self.conn().await?;

        // 1. Lock the live tables in key order.
        let mut live: Vec<&str> = names.iter().map(|n| n.live.as_str()).collect();
        live.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let locked_at = Instant::now();
        let mut lockers: Vec<Conn> = Vec::new();
        for table in &live {
            match self.lock_table(&db, table, options).await {
                Ok(conn) => lockers.push(conn),
                Err(error) => {
                    release_all(lockers).await;
                    return Err(error);
                }
            }
        }

        // 2. Drain to P, 3. queue the RENAME.
        let prepared = self
            .drain_and_queue(states, direction, options, &names, &mut admin, writer)
            .await;
        let (drained, renamer_id, rename) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                release_all(lockers).await;
                return Err(error);
            }
        };

        // 4. Hand each live table over to the RENAME.
        let deadline = Instant::now() + options.lock_wait_timeout;
        let mut lockers = lockers.into_iter();
        let mut probe = match self.probe_session().await {
            Ok(probe) => probe,
            Err(error) => {
                rename.abort();
                let _ = admin.query_drop(format!("KILL QUERY {renamer_id}")).await;
                release_all(lockers.collect()).await;
                return Err(error);
            }
        };
        for table in &live {
            let queued = wait_until_queued(&mut probe, &db, table, &rename, deadline).await;
            if let Err(error) = queued {
                rename.abort();
                let _ = admin.query_drop(format!("KILL QUERY {renamer_id}")).await;
                release_all(lockers.collect()).await;
                let _ = probe.disconnect().await;
                return Err(error);
            }
            let mut locker = lockers.next().expect("one locker per live table");
            locker.query_drop("UNLOCK TABLES").await?;
            let _ = locker.disconnect().await;
        }
        let _ = probe.disconnect().await;
        let write_block = locked_at.elapsed();

        // 5. The RENAME completes.
        rename
            .await
            .map_err(|error| OnlineDdlError::Invalid(format!("rename task: {error}")))??;
        Ok(Swapped {
            write_block,
            drained,
        })
    }

    /// A session whose metadata lock requests fail at once instead of waiting.
    async fn probe_session(&self) -> OnlineDdlResult<Conn> {
        let mut probe = self.dedicated_conn().await?;
        probe
            .query_drop("SET SESSION lock_wait_timeout = 0")
            .await?;
        Ok(probe)
    }

    async fn lock_table(
        &self,
        db: &str,
        table: &str,
        options: &CutoverOptions,
    ) -> OnlineDdlResult<Conn> {
        let mut locker = self.dedicated_conn().await?;
        locker
            .query_drop(format!(
                "SET SESSION lock_wait_timeout = {}",
                options.lock_wait_timeout.as_secs().max(1)
            ))
            .await?;
        if let Err(error) = locker
            .query_drop(format!("LOCK TABLES {} WRITE", sql::qualified(db, table)))
            .await
        {
            let _ = locker.disconnect().await;
            return Err(error.into());
        }
        Ok(locker)
    }

    /// Under the locks: drain every state to P, then start the RENAME in its own session.
    async fn drain_and_queue(
        &self,
        states: &mut [OnlineDdlState],
        direction: Direction,
        options: &CutoverOptions,
        names: &[SwapNames],
        admin: &mut Conn,
        writer: &mut Writer,
    ) -> OnlineDdlResult<(u64, u32, JoinHandle<OnlineDdlResult<()>>)> {
        let until = sql::master_position(admin).await?;
        let mut drained = 0;
        for state in states.iter_mut() {
            drained +=
                binlog::apply(self, state, direction, writer, Bound::Drain(until.clone())).await?;
            let reached = match direction {
                Direction::Forward => Some(&state.applied_position),
                Direction::Reverse => state.reverse_applied_position.as_ref(),
            };
            if reached.is_none_or(|reached| *reached < until) {
                return Err(OnlineDdlError::Binlog(format!(
                    "the drain of `{}` stopped at {reached:?}, before {until:?}",
                    state.table
                )));
            }
            if direction == Direction::Forward {
                state.cutover_position = Some(until.clone());
            }
        }
        let mut renamer = self.dedicated_conn().await?;
        renamer
            .query_drop(format!(
                "SET SESSION lock_wait_timeout = {}",
                options.rename_wait_timeout.as_secs().max(1)
            ))
            .await?;
        let renamer_id = renamer.id();
        let db = &states[0].database;
        let pairs: Vec<String> = names
            .iter()
            .flat_map(|n| {
                [
                    format!(
                        "{} TO {}",
                        sql::qualified(db, &n.live),
                        sql::qualified(db, &n.retired)
                    ),
                    format!(
                        "{} TO {}",
                        sql::qualified(db, &n.incoming),
                        sql::qualified(db, &n.live)
                    ),
                ]
            })
            .collect();
        let rename_sql = format!("RENAME TABLE {}", pairs.join(", "));
        let rename = tokio::spawn(async move {
            let result = renamer.query_drop(rename_sql).await;
            let _ = renamer.disconnect().await;
            result.map_err(OnlineDdlError::from)
        });
        Ok((drained, renamer_id, rename))
    }
}

/// Waits until an exclusive metadata lock request (the RENAME's) is queued on `table`.
async fn wait_until_queued(
    probe: &mut Conn,
    db: &str,
    table: &str,
    rename: &JoinHandle<OnlineDdlResult<()>>,
    deadline: Instant,
) -> OnlineDdlResult<()> {
    // The statement is bound, not spliced into the PREPARE: any table name is safe.
    probe
        .exec_drop(
            "SET @dbp_swap_probe = ?",
            (format!("SELECT 1 FROM {}", sql::qualified(db, table)),),
        )
        .await?;
    loop {
        match probe
            .query_drop("PREPARE dbp_swap_probe FROM @dbp_swap_probe")
            .await
        {
            Err(mysql_async::Error::Server(error)) if error.code == LOCK_WAIT_TIMEOUT => {
                return Ok(());
            }
            Err(error) => return Err(error.into()),
            Ok(()) => {
                probe
                    .query_drop("DEALLOCATE PREPARE dbp_swap_probe")
                    .await?
            }
        }
        if rename.is_finished() || Instant::now() > deadline {
            return Err(OnlineDdlError::Invalid(format!(
                "the RENAME did not queue behind the lock on `{table}`"
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn release_all(lockers: Vec<Conn>) {
    for mut locker in lockers {
        let _ = locker.query_drop("UNLOCK TABLES").await;
        let _ = locker.disconnect().await;
    }
}

/// Whether a swap already happened (a resumed job): the incoming table is gone and the retired
/// one exists.
pub(crate) async fn already_swapped(
    conn: &mut Conn,
    state: &OnlineDdlState,
    direction: Direction,
) -> OnlineDdlResult<bool> {
    let names = match direction {
        Direction::Forward => SwapNames::forward(state),
        Direction::Reverse => SwapNames::reverse(state),
    };
    let db = &state.database;
    Ok(!sql::table_exists(conn, db, &names.incoming).await?
        && sql::table_exists(conn, db, &names.retired).await?
        && sql::table_exists(conn, db, &names.live).await?)
}

/// The phase a state reaches with its swap.
pub(crate) fn phase_after(direction: Direction) -> Phase {
    match direction {
        Direction::Forward => Phase::CutOver,
        Direction::Reverse => Phase::Reverted,
    }
}
