//! The edge's sessions: how many each branch has (its connection limit), and for each
//! session the backend thread serving it now, so that `KILL [QUERY] <id>` — which clients
//! send with the connection id the edge gave them — reaches the right statement.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::error::{EdgeError, EdgeResult};

/// What other sessions may know of one session.
pub struct SessionEntry {
    pub username: String,
    /// MariaDB's thread id of the backend connection serving the session (0: none).
    pub backend_thread: AtomicU32,
    /// Notified when the session is killed (`KILL CONNECTION`).
    pub killed: Notify,
}

#[derive(Default)]
struct State {
    sessions: HashMap<u32, Arc<SessionEntry>>,
    per_branch: HashMap<String, usize>,
}

/// Every session of the edge.
#[derive(Default)]
pub struct Registry {
    state: Mutex<State>,
}

/// A session's place in the registry, given back when dropped.
pub struct Ticket {
    registry: Arc<Registry>,
    pub id: u32,
    pub branch_id: String,
    pub entry: Arc<SessionEntry>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        crate::metrics::session_closed();
        let mut state = self.registry.state.lock().expect("registry lock");
        state.sessions.remove(&self.id);
        if let Some(count) = state.per_branch.get_mut(&self.branch_id) {
            *count -= 1;
            if *count == 0 {
                state.per_branch.remove(&self.branch_id);
            }
        }
    }
}

impl Registry {
    /// Registers a session of `branch_id`, refused past `limit` sessions of the branch.
    pub fn register(
        self: &Arc<Self>,
        id: u32,
        username: &str,
        branch_id: &str,
        limit: usize,
    ) -> EdgeResult<Ticket> {
        let mut state = self.state.lock().expect("registry lock");
        let count = state.per_branch.entry(branch_id.to_string()).or_default();
        if *count >= limit {
            return Err(EdgeError::TooManyConnections);
        }
        *count += 1;
        let entry = Arc::new(SessionEntry {
            username: username.to_string(),
            backend_thread: AtomicU32::new(0),
            killed: Notify::new(),
        });
        state.sessions.insert(id, entry.clone());
        crate::metrics::session_opened();
        Ok(Ticket {
            registry: self.clone(),
            id,
            branch_id: branch_id.to_string(),
            entry,
        })
    }

    /// Moves a session to another branch (`COM_CHANGE_USER`).
    pub fn rebranch(
        &self,
        ticket: &mut Ticket,
        username: &str,
        branch_id: &str,
        limit: usize,
    ) -> EdgeResult<()> {
        let mut state = self.state.lock().expect("registry lock");
        if branch_id != ticket.branch_id {
            let count = state.per_branch.entry(branch_id.to_string()).or_default();
            if *count >= limit {
                return Err(EdgeError::TooManyConnections);
            }
            *count += 1;
            if let Some(old) = state.per_branch.get_mut(&ticket.branch_id) {
                *old -= 1;
            }
            ticket.branch_id = branch_id.to_string();
        }
        let entry = Arc::new(SessionEntry {
            username: username.to_string(),
            backend_thread: AtomicU32::new(0),
            killed: Notify::new(),
        });
        state.sessions.insert(ticket.id, entry.clone());
        ticket.entry = entry;
        Ok(())
    }

    /// The session `id` as `username` may address it (its own account only, as MariaDB
    /// lets an account kill its own threads).
    pub fn target(&self, id: u32, username: &str) -> EdgeResult<Arc<SessionEntry>> {
        let state = self.state.lock().expect("registry lock");
        let entry = state
            .sessions
            .get(&id)
            .ok_or(EdgeError::UnknownThread(id))?;
        if entry.username != username {
            return Err(EdgeError::NotThreadOwner(id));
        }
        Ok(entry.clone())
    }
}

impl SessionEntry {
    pub fn serving(&self, thread: u32) {
        self.backend_thread.store(thread, Ordering::Release);
    }

    pub fn thread(&self) -> u32 {
        self.backend_thread.load(Ordering::Acquire)
    }
}
