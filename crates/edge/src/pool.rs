//! Backend connections per branch, shared by every session of that branch's passwords.
//!
//! A branch has at most `limit` open connections. An idle connection belongs to a group —
//! the account it logged in as and the wire format it speaks (capabilities, collation) —
//! and carries a set of replayed settings. A session takes, in order of preference: an
//! idle connection of its group with its settings; a new connection while under the limit;
//! an idle one of its group with other settings (reset, settings replayed); an idle one of
//! another group (closed, a new one opened in its place); else it waits for a release.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::backend::{Backend, BackendLogin};
use crate::error::{EdgeError, EdgeResult};

/// Backend connections that speak the same way as one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Group {
    pub username: String,
    pub wire: u32,
    pub collation: u8,
    pub extended_metadata: bool,
}

/// The settings a session wants on its backend connection: `SET` statements, replayed in
/// order; `key` identifies the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub statements: Vec<Vec<u8>>,
    pub key: u64,
}

impl Settings {
    /// Adds a statement (a later `SET` of the same text replaces nothing: order matters).
    pub fn push(&mut self, statement: Vec<u8>) {
        self.statements.push(statement);
        self.key = Self::key_of(&self.statements);
    }

    /// Replaces the statement that starts with `prefix` (or adds it).
    pub fn replace(&mut self, prefix: &[u8], statement: Vec<u8>) {
        self.statements.retain(|s| !s.starts_with(prefix));
        self.push(statement);
    }

    pub fn clear(&mut self) {
        self.statements.clear();
        self.key = 0;
    }

    fn key_of(statements: &[Vec<u8>]) -> u64 {
        use std::hash::{Hash, Hasher};
        if statements.is_empty() {
            return 0;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        statements.hash(&mut hasher);
        hasher.finish() | 1
    }
}

struct Idle {
    group: Group,
    backend: Backend,
}

#[derive(Default)]
struct State {
    open: usize,
    idle: Vec<Idle>,
}

/// One branch's connections.
pub struct BranchPool {
    state: Mutex<State>,
    released: Notify,
    limit: usize,
    /// Bumped when the branch's grants change (safe migrations): MariaDB applies
    /// database-level grant changes to a connection only at its next `USE`, so
    /// connections opened before are closed rather than reused.
    generation: std::sync::atomic::AtomicU64,
}

/// What [`BranchPool::acquire`] found.
enum Take {
    Ready(Backend),
    Open,
    Reset(Backend),
    Replace(Backend),
    Wait,
}

impl BranchPool {
    pub fn new(limit: usize) -> Self {
        BranchPool {
            state: Mutex::new(State::default()),
            released: Notify::new(),
            limit: limit.max(1),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A connection of `login`'s group carrying `settings`, waiting at most `wait`.
    pub async fn acquire(
        &self,
        group: &Group,
        login: &BackendLogin,
        settings: &Settings,
        wait: Duration,
    ) -> EdgeResult<Backend> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let take = self.take(group, settings.key);
            let backend = match take {
                Take::Ready(mut backend) => {
                    if backend.stream.is_stale() {
                        // Killed or closed while idle: try the next one.
                        drop(backend);
                        self.forget();
                        continue;
                    }
                    return Ok(backend);
                }
                Take::Wait => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return Err(EdgeError::PoolExhausted);
                    }
                    continue;
                }
                Take::Open => self.open(login, settings).await,
                Take::Reset(mut backend) => match backend.reset().await {
                    Ok(()) => self.prepare(backend, login, settings, true).await,
                    Err(error) => {
                        self.forget();
                        Err(error)
                    }
                },
                Take::Replace(old) => {
                    drop(old);
                    self.open(login, settings).await
                }
            };
            return backend;
        }
    }

    fn take(&self, group: &Group, settings: u64) -> Take {
        let mut state = self.state.lock().expect("pool lock");
        // Most recently used first: warm connections, and idle ones age out.
        if let Some(at) = state
            .idle
            .iter()
            .rposition(|idle| idle.group == *group && idle.backend.settings_key == settings)
        {
            return Take::Ready(state.idle.remove(at).backend);
        }
        if state.open < self.limit {
            state.open += 1;
            return Take::Open;
        }
        if let Some(at) = state.idle.iter().rposition(|idle| idle.group == *group) {
            return Take::Reset(state.idle.remove(at).backend);
        }
        if !state.idle.is_empty() {
            // The longest idle of another group.
            return Take::Replace(state.idle.remove(0).backend);
        }
        Take::Wait
    }

    /// A new connection (its slot already counted).
    async fn open(&self, login: &BackendLogin, settings: &Settings) -> EdgeResult<Backend> {
        let generation = self.generation();
        match Backend::connect(login).await {
            Ok(mut backend) => {
                backend.generation = generation;
                self.prepare(backend, login, settings, false).await
            }
            Err(error) => {
                self.forget();
                Err(error)
            }
        }
    }

    /// Replays `settings` on a fresh or reset connection (a reset one lost its baseline
    /// too).
    async fn prepare(
        &self,
        mut backend: Backend,
        login: &BackendLogin,
        settings: &Settings,
        was_reset: bool,
    ) -> EdgeResult<Backend> {
        let baseline = login
            .baseline
            .iter()
            .filter(|_| was_reset)
            .map(|s| s.as_bytes());
        let mut result = Ok(());
        for statement in baseline.chain(settings.statements.iter().map(Vec::as_slice)) {
            if let Err(error) = backend.execute(statement).await {
                result = Err(error);
                break;
            }
        }
        match result {
            Ok(()) => {
                backend.settings_key = settings.key;
                Ok(backend)
            }
            Err(error) => {
                self.forget();
                Err(error)
            }
        }
    }

    /// Closes every idle connection and makes those in use close when given back.
    pub fn renew(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let mut state = self.state.lock().expect("pool lock");
        let closed = state.idle.len();
        state.idle.clear();
        state.open -= closed;
        drop(state);
        self.released.notify_waiters();
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Gives a connection back for others.
    pub fn release(&self, group: Group, mut backend: Backend) {
        if backend.generation != self.generation() {
            drop(backend);
            self.forget();
            return;
        }
        backend.last_used = Instant::now();
        backend.stream.shrink();
        self.state
            .lock()
            .expect("pool lock")
            .idle
            .push(Idle { group, backend });
        self.released.notify_one();
    }

    /// A connection was dropped (broken, or its session ended with state on it).
    pub fn forget(&self) {
        let mut state = self.state.lock().expect("pool lock");
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.released.notify_one();
    }

    /// Closes connections idle longer than `idle`; how many.
    pub fn close_idle(&self, idle: Duration) -> usize {
        let mut state = self.state.lock().expect("pool lock");
        let before = state.idle.len();
        state
            .idle
            .retain(|connection| connection.backend.last_used.elapsed() < idle);
        let closed = before - state.idle.len();
        state.open -= closed;
        closed
    }

    /// Closes the idle connections of accounts no longer routed.
    pub fn close_accounts(&self, keep: impl Fn(&str) -> bool) {
        let mut state = self.state.lock().expect("pool lock");
        let before = state.idle.len();
        state
            .idle
            .retain(|connection| keep(&connection.group.username));
        let closed = before - state.idle.len();
        state.open -= closed;
    }

    /// Open connections (idle and in use).
    pub fn open_count(&self) -> usize {
        self.state.lock().expect("pool lock").open
    }

    pub fn idle_count(&self) -> usize {
        self.state.lock().expect("pool lock").idle.len()
    }
}

/// Every branch's pool.
#[derive(Default)]
pub struct Pools {
    branches: Mutex<HashMap<String, Arc<BranchPool>>>,
}

impl Pools {
    pub fn branch(&self, branch_id: &str, limit: usize) -> Arc<BranchPool> {
        self.branches
            .lock()
            .expect("pools lock")
            .entry(branch_id.to_string())
            .or_insert_with(|| Arc::new(BranchPool::new(limit)))
            .clone()
    }

    pub fn all(&self) -> Vec<(String, Arc<BranchPool>)> {
        self.branches
            .lock()
            .expect("pools lock")
            .iter()
            .map(|(id, pool)| (id.clone(), pool.clone()))
            .collect()
    }

    /// Drops the pools of branches no longer routed (their connections close).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.branches
            .lock()
            .expect("pools lock")
            .retain(|id, _| keep(id));
    }
}
