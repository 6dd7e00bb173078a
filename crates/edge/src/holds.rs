//! Holding statements while their tables cut over.
//!
//! A cutover (a deploy request's swap, later a workflow's traffic switch) takes a
//! [`HoldGuard`] for a branch's tables; until the guard drops, statements that name one
//! of those tables wait at the edge — without a backend connection, so they neither queue
//! on MariaDB's metadata locks nor use up the pool — and then run against the new tables.
//! A statement waits at most the configured window, and at most a bounded number wait at
//! once; past either it gets a retryable error. Statements of sessions inside a
//! transaction or holding table locks are never held: they may hold the very locks the
//! cutover waits for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{EdgeError, EdgeResult};
use crate::sql::TableRef;

struct Hold {
    id: u64,
    /// Lower-cased table names.
    tables: Vec<Vec<u8>>,
    released: watch::Receiver<bool>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    by_branch: HashMap<String, Vec<Hold>>,
}

/// The edge's holds.
pub struct Holds {
    state: Mutex<State>,
    /// Holds in force anywhere: zero is the fast path of every statement.
    active: AtomicUsize,
    /// Statements waiting now.
    waiting: AtomicUsize,
    window: Duration,
    max_waiting: usize,
}

/// Keeps a hold in force until dropped.
pub struct HoldGuard {
    holds: Arc<Holds>,
    branch_id: String,
    id: u64,
    release: watch::Sender<bool>,
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        let mut state = self.holds.state.lock().expect("holds lock");
        if let Some(list) = state.by_branch.get_mut(&self.branch_id) {
            list.retain(|hold| hold.id != self.id);
            if list.is_empty() {
                state.by_branch.remove(&self.branch_id);
            }
        }
        self.holds.active.fetch_sub(1, Ordering::AcqRel);
        drop(state);
        let _ = self.release.send(true);
    }
}

impl Holds {
    pub fn new(window: Duration, max_waiting: usize) -> Self {
        Holds {
            state: Mutex::new(State::default()),
            active: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            window,
            max_waiting,
        }
    }

    /// Holds statements naming `tables` of `branch_id` until the guard drops.
    pub fn hold(self: &Arc<Self>, branch_id: &str, tables: &[String]) -> HoldGuard {
        let (release, released) = watch::channel(false);
        let mut state = self.state.lock().expect("holds lock");
        state.next_id += 1;
        let id = state.next_id;
        state
            .by_branch
            .entry(branch_id.to_string())
            .or_default()
            .push(Hold {
                id,
                tables: tables
                    .iter()
                    .map(|t| t.as_bytes().to_ascii_lowercase())
                    .collect(),
                released,
            });
        self.active.fetch_add(1, Ordering::AcqRel);
        HoldGuard {
            holds: self.clone(),
            branch_id: branch_id.to_string(),
            id,
            release,
        }
    }

    /// Statements waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Waits while a hold covers one of `tables` (named in a statement of `branch_id`,
    /// whose database is `logical` or `physical`); how long it waited.
    pub async fn wait(
        &self,
        branch_id: &str,
        names: (&[u8], &[u8]),
        tables: &[TableRef],
    ) -> EdgeResult<Duration> {
        if self.active.load(Ordering::Acquire) == 0 || tables.is_empty() {
            return Ok(Duration::ZERO);
        }
        let started = tokio::time::Instant::now();
        let deadline = started + self.window;
        let mut counted = false;
        let result = loop {
            let Some(mut released) = self.covering(branch_id, names, tables) else {
                break Ok(started.elapsed());
            };
            if !counted {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(EdgeError::CutoverTimeout);
                }
                counted = true;
            }
            let changed = tokio::time::timeout_at(deadline, released.wait_for(|done| *done)).await;
            if changed.is_err() {
                break Err(EdgeError::CutoverTimeout);
            }
        };
        if counted {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        result
    }

    fn covering(
        &self,
        branch_id: &str,
        (logical, physical): (&[u8], &[u8]),
        tables: &[TableRef],
    ) -> Option<watch::Receiver<bool>> {
        let state = self.state.lock().expect("holds lock");
        let holds = state.by_branch.get(branch_id)?;
        for table in tables {
            if table
                .database
                .as_deref()
                .is_some_and(|db| db != logical && db != physical)
            {
                continue;
            }
            let name = table.name.to_ascii_lowercase();
            if let Some(hold) = holds.iter().find(|hold| hold.tables.contains(&name)) {
                return Some(hold.released.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> TableRef {
        TableRef {
            database: None,
            name: name.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn a_statement_waits_for_the_release_of_its_table() {
        let holds = Arc::new(Holds::new(Duration::from_secs(5), 10));
        let names: (&[u8], &[u8]) = (b"shop", b"dbp_1");
        assert_eq!(
            holds.wait("b1", names, &[table("items")]).await.unwrap(),
            Duration::ZERO
        );
        let guard = holds.hold("b1", &["Items".to_string()]);
        // Other tables and other branches pass.
        holds.wait("b1", names, &[table("orders")]).await.unwrap();
        holds.wait("b2", names, &[table("items")]).await.unwrap();
        let waiter = {
            let holds = holds.clone();
            tokio::spawn(async move {
                holds
                    .wait("b1", (b"shop", b"dbp_1"), &[table("items")])
                    .await
            })
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while holds.waiting() == 0 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::task::yield_now().await;
        }
        drop(guard);
        waiter.await.unwrap().unwrap();
        assert_eq!(holds.waiting(), 0);
    }

    #[tokio::test]
    async fn past_the_window_or_the_bound_a_statement_fails() {
        let holds = Arc::new(Holds::new(Duration::from_millis(50), 1));
        let _guard = holds.hold("b1", &["items".to_string()]);
        let names: (&[u8], &[u8]) = (b"shop", b"dbp_1");
        let error = holds
            .wait("b1", names, &[table("items")])
            .await
            .unwrap_err();
        assert!(matches!(error, EdgeError::CutoverTimeout));
        let first = {
            let holds = holds.clone();
            tokio::spawn(async move {
                holds
                    .wait("b1", (b"shop", b"dbp_1"), &[table("items")])
                    .await
            })
        };
        while holds.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            holds.wait("b1", names, &[table("items")]).await,
            Err(EdgeError::CutoverTimeout)
        ));
        assert!(first.await.unwrap().is_err());
    }
}
