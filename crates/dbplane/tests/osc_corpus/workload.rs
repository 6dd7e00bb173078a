//! The writers of a case: every kind of statement (single and multi-row inserts, updates
//! by key and by range, deletes, `REPLACE`, `INSERT … ON DUPLICATE KEY UPDATE`, a key
//! that moves, a rolled-back and a committed transaction), committed to the live table and
//! to the twins in the same order, with the same session settings and clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::cases::Case;
use crate::harness::{CLOCK, Lane, SEED_ROWS, STEP_TIMEOUT, ident};

/// The writers of one case: one task that commits each statement to the live table
/// (through the `readwriter` password) and to the twins (as the cluster's admin), in the
/// same order, with the same session settings and clock.
pub struct Writers {
    stop: Arc<AtomicBool>,
    /// Asked to pause, and the writer's answer that nothing is in flight.
    paused: Arc<AtomicBool>,
    idle: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    /// Why the writers stopped on their own.
    error: Arc<std::sync::Mutex<Option<String>>>,
    handle: tokio::task::JoinHandle<Result<u64, String>>,
}

impl Writers {
    /// Writers of the live `table` and of both twins (`index` seeds their choices).
    pub async fn start(
        lane: &Lane,
        case: &Case,
        index: usize,
        table: &str,
    ) -> Result<Writers, String> {
        let targets = vec![
            (Target::Live, table.to_string()),
            (Target::Twin, table.to_string()),
            (Target::Twin, format!("{table}_keep")),
        ];
        let live = lane
            .writer
            .mysql()
            .await
            .map_err(|e| format!("writer login: {e}"))?;
        let twin = lane.root_in(&lane.oracle_db).await;
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let idle = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let workload = Workload {
            case: case.clone(),
            targets,
            random: 0x9E37_79B9_7F4A_7C15 ^ (index as u64 * 7919 + 1),
            ids: (1..=SEED_ROWS - 5).collect(),
            next: 1_000 + index as u64 * 10,
            clock: CLOCK,
        };
        let error = Arc::new(std::sync::Mutex::new(None));
        let slot = error.clone();
        let run = workload.run(
            live,
            twin,
            stop.clone(),
            (paused.clone(), idle.clone()),
            count.clone(),
        );
        let handle = tokio::spawn(async move {
            let result = run.await;
            if let Err(error) = &result {
                *slot.lock().unwrap() = Some(error.clone());
            }
            result
        });
        Ok(Writers {
            stop,
            paused,
            idle,
            count,
            error,
            handle,
        })
    }

    pub async fn wait_for_more(&self, more: u64) -> Result<(), String> {
        let target = self.count.load(Ordering::Relaxed) + more;
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.count.load(Ordering::Relaxed) < target {
            if self.handle.is_finished() {
                let why = self.error.lock().unwrap().clone().unwrap_or_default();
                return Err(format!("the writers stopped: {why}"));
            }
            if Instant::now() > deadline {
                return Err("the writers stalled".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Stops writing once the statement in flight is done (the task stays until `stop`).
    pub async fn pause(&self) -> Result<(), String> {
        self.paused.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !self.idle.load(Ordering::SeqCst) {
            if self.handle.is_finished() || Instant::now() > deadline {
                return Err("the writers did not pause".into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    pub async fn stop(self) -> Result<u64, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.map_err(|e| e.to_string())?
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Live,
    Twin,
}

struct Workload {
    case: Case,
    targets: Vec<(Target, String)>,
    random: u64,
    /// Ids that exist.
    ids: Vec<u64>,
    next: u64,
    clock: u64,
}

impl Workload {
    fn below(&mut self, n: u64) -> u64 {
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random % n.max(1)
    }

    fn existing(&mut self) -> u64 {
        if self.ids.is_empty() {
            return 1;
        }
        let at = self.below(self.ids.len() as u64) as usize;
        self.ids[at]
    }

    /// One unit of work: statements (`{t}` is the table) and what it does to the ids.
    fn next_op(&mut self) -> (Vec<String>, Vec<u64>, Vec<u64>) {
        let case = self.case.clone();
        let k = self.clock;
        let insert = |n: u64| {
            format!(
                "INSERT INTO {{t}} ({}) VALUES {}",
                case.insert,
                (case.row)(n)
            )
        };
        let choice = self.below(if case.fixed_ids { 9 } else { 10 });
        match choice {
            0 => {
                let n = self.fresh();
                (vec![insert(n)], vec![n], vec![])
            }
            1 => {
                let (a, b, c) = (self.fresh(), self.fresh(), self.fresh());
                let rows = [a, b, c].map(case.row).join(", ");
                (
                    vec![format!("INSERT INTO {{t}} ({}) VALUES {rows}", case.insert)],
                    vec![a, b, c],
                    vec![],
                )
            }
            2 => {
                let n = self.existing();
                (
                    vec![format!("UPDATE {{t}} SET {} WHERE id = {n}", (case.set)(k))],
                    vec![],
                    vec![],
                )
            }
            3 => {
                let n = self.existing();
                (
                    vec![format!(
                        "UPDATE {{t}} SET {} WHERE id BETWEEN {n} AND {}",
                        (case.set)(k + 1),
                        n + 3
                    )],
                    vec![],
                    vec![],
                )
            }
            4 => {
                let n = self.existing();
                (
                    vec![format!("DELETE FROM {{t}} WHERE id = {n}")],
                    vec![],
                    vec![n],
                )
            }
            5 => {
                let n = self.existing();
                (
                    vec![format!(
                        "REPLACE INTO {{t}} ({}) VALUES {}",
                        case.insert,
                        (case.row)(n)
                    )],
                    vec![],
                    vec![],
                )
            }
            6 => {
                let n = if self.below(2) == 0 {
                    self.existing()
                } else {
                    self.fresh()
                };
                (
                    vec![format!(
                        "INSERT INTO {{t}} ({}) VALUES {} ON DUPLICATE KEY UPDATE {}",
                        case.insert,
                        (case.row)(n),
                        (case.set)(k + 2)
                    )],
                    vec![n],
                    vec![],
                )
            }
            7 => {
                let n = self.existing();
                let m = self.existing();
                (
                    vec![
                        "START TRANSACTION".into(),
                        format!("UPDATE {{t}} SET {} WHERE id = {n}", (case.set)(k + 3)),
                        format!("DELETE FROM {{t}} WHERE id = {m}"),
                        "ROLLBACK".into(),
                    ],
                    vec![],
                    vec![],
                )
            }
            8 => {
                let n = self.fresh();
                let m = self.existing();
                (
                    vec![
                        "START TRANSACTION".into(),
                        insert(n),
                        format!("UPDATE {{t}} SET {} WHERE id = {m}", (case.set)(k + 4)),
                        "COMMIT".into(),
                    ],
                    vec![n],
                    vec![],
                )
            }
            _ => {
                // The row identity moves.
                let n = self.existing();
                let moved = n + 1_000_000;
                (
                    vec![format!("UPDATE {{t}} SET id = {moved} WHERE id = {n}")],
                    vec![moved],
                    vec![n],
                )
            }
        }
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    async fn run(
        mut self,
        mut live: Conn,
        mut twin: Conn,
        stop: Arc<AtomicBool>,
        (paused, idle): (Arc<AtomicBool>, Arc<AtomicBool>),
        count: Arc<AtomicU64>,
    ) -> Result<u64, String> {
        let settings = format!("SET SESSION {}", self.case.session_settings());
        live.query_drop(&settings)
            .await
            .map_err(|e| format!("live session: {e}"))?;
        twin.query_drop(&settings)
            .await
            .map_err(|e| format!("twin session: {e}"))?;
        let mut committed = 0;
        while !stop.load(Ordering::Relaxed) {
            if paused.load(Ordering::SeqCst) {
                idle.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            tokio::time::sleep(Duration::from_millis(4)).await;
            self.clock += 1;
            let clock = format!("SET timestamp = {}", self.clock);
            let (statements, added, removed) = self.next_op();
            let mut outcomes: Vec<Result<(), u16>> = Vec::new();
            for (target, table) in &self.targets {
                let conn = match target {
                    Target::Live => &mut live,
                    Target::Twin => &mut twin,
                };
                conn.query_drop(&clock).await.map_err(|e| e.to_string())?;
                let mut outcome = Ok(());
                for statement in &statements {
                    let statement = statement.replace("{t}", &ident(table));
                    match conn.query_drop(&statement).await {
                        Ok(()) => {}
                        Err(mysql_async::Error::Server(error)) => {
                            outcome = Err(error.code);
                            let _ = conn.query_drop("ROLLBACK").await;
                            break;
                        }
                        Err(other) => return Err(format!("{statement}: {other}")),
                    }
                }
                outcomes.push(outcome);
            }
            if outcomes.windows(2).any(|w| w[0] != w[1]) {
                return Err(format!(
                    "{statements:?} ended differently on the live table and the twins: {outcomes:?}"
                ));
            }
            if outcomes.first() == Some(&Ok(())) {
                self.ids.retain(|id| !removed.contains(id));
                for id in added {
                    if !self.ids.contains(&id) {
                        self.ids.push(id);
                    }
                }
                committed += 1;
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = live.disconnect().await;
        let _ = twin.disconnect().await;
        Ok(committed)
    }
}
