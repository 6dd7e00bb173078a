//! A client session after login: commands in, responses out, on backend connections taken
//! from the branch's pool per statement and given back as soon as nothing ties the
//! session to one.
//!
//! What ties a session to its backend connection ("pins" it, like vtgate's reserved
//! connections): an open transaction (the server's `IN_TRANS` status), `LOCK TABLES`,
//! user variables, temporary tables, user-level locks (`GET_LOCK`), open prepared
//! statements, `SQL_CALC_FOUND_ROWS`, a `SET` the edge cannot replay, another current
//! database. What does not: `SET` of session variables (replayed, see `sql::settings`),
//! and `LAST_INSERT_ID()`, `ROW_COUNT()`, `FOUND_ROWS()` (answered from what the edge saw).

mod commands;
mod query;

use std::collections::HashMap;
use std::sync::Arc;

use crate::Shared;
use crate::backend::{Backend, BackendLogin};
use crate::error::EdgeError;
use crate::login::Login;
use crate::packet::PacketStream;
use crate::pool::{BranchPool, Group, Settings};
use crate::protocol::{self, caps, command, status};
use crate::registry::Ticket;
use crate::routes::BranchRoute;
use crate::sql::{SessionValues, Workload};

/// Whether the session goes on after a command.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    End,
}

/// A prepared statement's description (for limits and statistics of its executions).
struct PreparedInfo {
    fingerprint: String,
    tables: Vec<String>,
    uses_tables: bool,
    read: bool,
    /// Reads schema metadata: parameters naming the database are translated, and so
    /// are result values.
    metadata: bool,
    params: u16,
    /// The parameter types the client bound last (later executions may omit them).
    param_types: Option<Vec<u8>>,
}

/// What the session carries between statements.
struct State {
    in_transaction: bool,
    locked_tables: bool,
    /// State on the backend connection the edge cannot move.
    pinned: bool,
    /// The session's current database is not its branch's.
    other_database: bool,
    prepared: HashMap<u32, PreparedInfo>,
    /// The statement prepared last (what id 0xffffffff names).
    last_prepared: Option<u32>,
    settings: Settings,
    values: SessionValues,
    workload: Workload,
    /// The last status the server reported (for answers the edge gives itself).
    status: u16,
}

impl Default for State {
    fn default() -> Self {
        State {
            in_transaction: false,
            locked_tables: false,
            pinned: false,
            other_database: false,
            prepared: HashMap::new(),
            last_prepared: None,
            settings: Settings::default(),
            values: SessionValues::default(),
            workload: Workload::Oltp,
            status: status::AUTOCOMMIT,
        }
    }
}

/// One client's session.
pub(crate) struct Session {
    shared: Arc<Shared>,
    client: PacketStream,
    ticket: Ticket,
    login: Login,
    group: Group,
    backend_login: BackendLogin,
    pool: Arc<BranchPool>,
    backend: Option<Backend>,
    state: State,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        client: PacketStream,
        login: Login,
        ticket: Ticket,
    ) -> Session {
        let (group, backend_login, pool) = Self::connection_plan(&shared, &login);
        Session {
            shared,
            client,
            ticket,
            login,
            group,
            backend_login,
            pool,
            backend: None,
            state: State::default(),
        }
    }

    fn connection_plan(shared: &Shared, login: &Login) -> (Group, BackendLogin, Arc<BranchPool>) {
        let credential = &login.credential;
        let branch = &credential.branch;
        let wire = login.capabilities & caps::WIRE_FORMAT;
        let group = Group {
            username: credential.username.clone(),
            wire,
            collation: login.collation,
            extended_metadata: login.extended_metadata,
        };
        let backend_login = BackendLogin {
            address: branch.backend.clone(),
            username: credential.username.clone(),
            key: login.key,
            database: branch.physical_name.clone(),
            wire,
            collation: login.collation,
            extended_metadata: login.extended_metadata,
            baseline: vec![shared.query_timeout_statement()],
        };
        let pool = shared.pools.branch(
            &branch.branch_id,
            shared.config.backend_connections_per_branch,
        );
        (group, backend_login, pool)
    }

    fn branch(&self) -> &BranchRoute {
        &self.login.credential.branch
    }

    fn deprecate_eof(&self) -> bool {
        self.login.capabilities & caps::DEPRECATE_EOF != 0
    }

    /// Sends the OK packet of the login and serves commands until the client leaves.
    pub(crate) async fn run(mut self) {
        let ok = protocol::ok_payload(0, 0, status::AUTOCOMMIT, 0);
        if self
            .client
            .write_packet(self.login.next_seq, &ok)
            .await
            .is_err()
            || self.client.flush().await.is_err()
        {
            return;
        }
        let entry = self.ticket.entry.clone();
        loop {
            let idle = self.shared.config.idle_timeout;
            let packet = tokio::select! {
                read = tokio::time::timeout(idle, self.client.read_packet()) => match read {
                    Ok(Ok(Some(packet))) => packet,
                    Ok(_) => break,
                    Err(_) => {
                        let _ = self.send_error(0, &EdgeError::IdleTimeout).await;
                        break;
                    }
                },
                _ = entry.killed.notified() => break,
            };
            if self.command(packet).await == Flow::End {
                break;
            }
        }
        self.finish().await;
    }

    /// Serves the next command on the session's stream, for a caller that drives the
    /// session in its own task (the HTTP API); `false` when the session is over (the
    /// caller then [`Session::finish`]es it).
    pub(crate) async fn serve_next(&mut self) -> bool {
        match self.client.read_packet().await {
            Ok(Some(packet)) => self.command(packet).await == Flow::Continue,
            _ => false,
        }
    }

    /// Drops the backend connection without a word to it: a command on it was cut off
    /// halfway, and what is left unread on it must reach nobody.
    pub(crate) fn abandon(&mut self) {
        self.drop_backend();
    }

    /// Whether a transaction is open (as the server last said; an error inside one does
    /// not end it).
    pub(crate) fn in_transaction(&self) -> bool {
        self.state.in_transaction
    }

    /// Whether the session holds state a later command may need: a pinned connection
    /// (a transaction, locks, variables…) or settings to replay.
    pub(crate) fn holds_state(&self) -> bool {
        self.pinned() || !self.state.settings.statements.is_empty()
    }

    async fn command(&mut self, packet: crate::packet::Packet) -> Flow {
        self.client.shrink();
        let seq = packet.seq.wrapping_add(1);
        let Some(&code) = packet.payload.first() else {
            return Flow::End;
        };
        let body = packet.payload.slice(1..);
        match code {
            command::QUIT => Flow::End,
            command::QUERY => self.query(seq, body).await,
            command::PING => self.send_ok(seq).await,
            command::INIT_DB => self.init_db(seq, body).await,
            command::STMT_PREPARE => self.prepare(seq, body).await,
            command::STMT_EXECUTE
            | command::STMT_FETCH
            | command::STMT_RESET
            | command::STMT_CLOSE
            | command::STMT_SEND_LONG_DATA => {
                self.statement_command(seq, code, packet.payload.clone())
                    .await
            }
            command::FIELD_LIST | command::STATISTICS => {
                self.forward_simple(seq, code, packet.payload.clone()).await
            }
            command::SET_OPTION => self.set_option(seq, packet.payload.clone()).await,
            command::RESET_CONNECTION => self.reset_connection(seq).await,
            command::CHANGE_USER => self.change_user(seq, body).await,
            command::PROCESS_KILL => self.process_kill(seq, body).await,
            _ => {
                let error = EdgeError::Protocol("unknown command");
                self.send_error(seq, &error).await
            }
        }
    }

    /// Whether the session must keep its backend connection.
    fn pinned(&self) -> bool {
        let state = &self.state;
        state.pinned
            || state.in_transaction
            || state.locked_tables
            || state.other_database
            || !state.prepared.is_empty()
    }

    /// The session's backend connection, taken from the pool if it has none.
    async fn backend(&mut self) -> Result<(), EdgeError> {
        if self.backend.is_some() {
            return Ok(());
        }
        let wait = self.shared.config.backend_wait;
        let backend = self
            .pool
            .acquire(&self.group, &self.backend_login, &self.state.settings, wait)
            .await?;
        self.ticket.entry.serving(backend.connection_id);
        self.backend = Some(backend);
        Ok(())
    }

    /// Gives the backend connection back when nothing ties the session to it.
    fn release_if_unpinned(&mut self) {
        if !self.pinned()
            && let Some(backend) = self.backend.take()
        {
            self.ticket.entry.serving(0);
            self.pool.release(self.group.clone(), backend);
        }
    }

    /// Drops the backend connection (broken, or its state is not to be reused).
    fn drop_backend(&mut self) {
        if self.backend.take().is_some() {
            self.ticket.entry.serving(0);
            self.pool.forget();
        }
    }

    /// At the end: a connection with session state is reset before others use it.
    pub(crate) async fn finish(&mut self) {
        self.reset_backend().await;
        self.client.shutdown().await;
    }

    fn local_status(&self) -> u16 {
        let mut flags = self.state.status & !(status::MORE_RESULTS_EXISTS | status::IN_TRANS);
        if self.state.in_transaction {
            flags |= status::IN_TRANS;
        }
        flags
    }

    async fn send_ok(&mut self, seq: u8) -> Flow {
        let ok = protocol::ok_payload(0, 0, self.local_status(), 0);
        self.send(seq, &ok).await
    }

    async fn send_error(&mut self, seq: u8, error: &EdgeError) -> Flow {
        crate::metrics::refused(error);
        let (code, state, message) = error.to_mysql();
        if matches!(
            error,
            EdgeError::BackendUnavailable(_) | EdgeError::Io(_) | EdgeError::Protocol(_)
        ) {
            tracing::debug!(connection = self.ticket.id, %error, "edge statement failed");
        }
        self.send(seq, &protocol::err_payload(code, &state, &message))
            .await
    }

    async fn send(&mut self, seq: u8, payload: &[u8]) -> Flow {
        if self.client.write_packet(seq, payload).await.is_err()
            || self.client.flush().await.is_err()
        {
            return Flow::End;
        }
        Flow::Continue
    }
}
