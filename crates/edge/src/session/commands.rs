//! The commands besides `COM_QUERY`: prepared statements (which pin the session while any
//! is open), `COM_INIT_DB`, `COM_FIELD_LIST`, `COM_STATISTICS`, `COM_SET_OPTION`,
//! `COM_RESET_CONNECTION`, `COM_CHANGE_USER` and `KILL`.

use std::time::Instant;

use bytes::Bytes;

use super::{Flow, PreparedInfo, Session, State};
use crate::error::EdgeError;
use crate::login;
use crate::protocol::{self, Reader, command};
use crate::relay::{Outcome, Relay, RelayError};
use crate::sql::{self, Rewrite, StatementKind};
use crate::stats;

/// The statement id MariaDB reads as "the one prepared last on this connection".
const LAST_PREPARED: u32 = u32::MAX;

/// Which relay a forwarded command's response takes.
#[derive(Clone, Copy)]
enum Response {
    None,
    Single,
    UntilEnd,
    Command,
    /// A prepared statement's execution: binary rows, rewritten when `metadata`.
    Execute {
        metadata: bool,
    },
}

impl Session {
    /// Sends `payload` on the session's backend connection and relays the response.
    async fn forward(
        &mut self,
        seq: u8,
        payload: &[u8],
        response: Response,
        row_limit: Option<u64>,
    ) -> Result<Outcome, Flow> {
        if let Err(error) = self.backend().await {
            return Err(match self.send_error(seq, &error).await {
                Flow::Continue => Flow::Continue,
                Flow::End => Flow::End,
            });
        }
        let deprecate_eof = self.deprecate_eof();
        let branch = self.login.credential.branch.clone();
        let backend = self.backend.as_mut().expect("backend taken");
        let sent = async {
            backend.stream.write_packet(0, payload).await?;
            backend.stream.flush().await
        }
        .await;
        if let Err(error) = sent {
            return Err(self.lost(seq, error).await);
        }
        let mut relay = Relay {
            client: &mut self.client,
            backend: &mut backend.stream,
            client_seq: seq,
            deprecate_eof,
            names: crate::relay::Names {
                logical: branch.logical_name.as_bytes(),
                physical: branch.physical_name.as_bytes(),
            },
            metadata: matches!(response, Response::Execute { metadata: true }),
            binary_rows: matches!(response, Response::Execute { .. }),
            row_limit,
        };
        let result = match response {
            Response::None => Ok(Outcome::default()),
            Response::Single => relay.single().await,
            Response::UntilEnd => relay.until_end().await,
            Response::Command | Response::Execute { .. } => relay.command_response().await,
        };
        match result {
            Ok(outcome) => {
                backend.last_used = Instant::now();
                Ok(outcome)
            }
            Err(RelayError::Client(_)) => {
                self.drop_backend();
                Err(Flow::End)
            }
            Err(RelayError::Backend(error)) => Err(self.lost(seq, error).await),
        }
    }

    async fn lost(&mut self, seq: u8, error: std::io::Error) -> Flow {
        let state_lost = self.pinned();
        self.drop_backend();
        let flow = self
            .send_error(seq, &EdgeError::BackendUnavailable(error.to_string()))
            .await;
        if state_lost { Flow::End } else { flow }
    }

    /// `COM_INIT_DB`: the branch's database (by either name) is the default already.
    pub(super) async fn init_db(&mut self, seq: u8, name: Bytes) -> Flow {
        if self.is_own_database(&name) {
            if !self.state.other_database {
                return self.send_ok(seq).await;
            }
            let physical = self.branch().physical_name.clone();
            return self.select_database(seq, physical.as_bytes(), false).await;
        }
        self.select_database(seq, &name, true).await
    }

    /// Sends `COM_INIT_DB name`; once the server accepts it, whether the session's
    /// current database is another than the branch's.
    async fn select_database(&mut self, seq: u8, name: &[u8], other: bool) -> Flow {
        let mut payload = vec![command::INIT_DB];
        payload.extend_from_slice(name);
        self.forward_single(seq, &payload, |state| state.other_database = other)
            .await
    }

    /// Forwards a command answered by one packet; `accepted` changes the session's state
    /// when the server took it.
    async fn forward_single(
        &mut self,
        seq: u8,
        payload: &[u8],
        accepted: impl FnOnce(&mut State),
    ) -> Flow {
        match self.forward(seq, payload, Response::Single, None).await {
            Ok(outcome) => {
                if outcome.error.is_none() {
                    accepted(&mut self.state);
                }
                self.release_if_unpinned();
                Flow::Continue
            }
            Err(flow) => flow,
        }
    }

    /// `COM_STMT_PREPARE`: prepared on the session's connection, which stays the
    /// session's while the statement is open.
    pub(super) async fn prepare(&mut self, seq: u8, sql: Bytes) -> Flow {
        let analysis = sql::analyze(&sql);
        if analysis.any_ddl && self.branch().safe_migrations {
            return self.send_error(seq, &EdgeError::DirectDdlDisabled).await;
        }
        let branch = self.login.credential.branch.clone();
        let rewrite = Rewrite {
            logical: branch.logical_name.as_bytes(),
            physical: branch.physical_name.as_bytes(),
            values: None,
        };
        let rewritten = sql::rewrite(&sql, &analysis, &rewrite);
        let mut payload = vec![command::STMT_PREPARE];
        payload.extend_from_slice(rewritten.as_deref().unwrap_or(&sql));
        if let Err(error) = self.backend().await {
            return self.send_error(seq, &error).await;
        }
        let deprecate_eof = self.deprecate_eof();
        let backend = self.backend.as_mut().expect("backend taken");
        let sent = async {
            backend.stream.write_packet(0, &payload).await?;
            backend.stream.flush().await
        }
        .await;
        if let Err(error) = sent {
            return self.lost(seq, error).await;
        }
        let mut relay = Relay {
            client: &mut self.client,
            backend: &mut backend.stream,
            client_seq: seq,
            deprecate_eof,
            names: crate::relay::Names {
                logical: branch.logical_name.as_bytes(),
                physical: branch.physical_name.as_bytes(),
            },
            metadata: false,
            binary_rows: false,
            row_limit: None,
        };
        match relay.prepare_response().await {
            Ok(Ok(prepared)) => {
                self.state.last_prepared = Some(prepared.statement_id);
                let tables = self.table_names(&analysis.tables);
                self.state.prepared.insert(
                    prepared.statement_id,
                    PreparedInfo {
                        fingerprint: analysis.fingerprint,
                        tables,
                        uses_tables: analysis.kind.uses_tables(),
                        read: analysis.kind == StatementKind::Read,
                        metadata: analysis.metadata,
                        params: prepared.params,
                        param_types: None,
                    },
                );
                Flow::Continue
            }
            Ok(Err(_)) => {
                self.release_if_unpinned();
                Flow::Continue
            }
            Err(RelayError::Client(_)) => {
                self.drop_backend();
                Flow::End
            }
            Err(RelayError::Backend(error)) => self.lost(seq, error).await,
        }
    }

    /// `COM_STMT_EXECUTE`, `_FETCH`, `_RESET`, `_CLOSE`, `_SEND_LONG_DATA`.
    pub(super) async fn statement_command(&mut self, seq: u8, code: u8, payload: Bytes) -> Flow {
        let mut id = Reader(&payload[1..]).u32().unwrap_or(0);
        // MariaDB's connectors pipeline PREPARE and EXECUTE, the latter naming "the
        // statement just prepared" (id 0xffffffff); the backend resolves it itself.
        if id == LAST_PREPARED {
            id = self.state.last_prepared.unwrap_or(LAST_PREPARED);
        }
        if !self.state.prepared.contains_key(&id) || self.backend.is_none() {
            if matches!(code, command::STMT_CLOSE | command::STMT_SEND_LONG_DATA) {
                return Flow::Continue;
            }
            let name = match code {
                command::STMT_EXECUTE => "mysqld_stmt_execute",
                command::STMT_FETCH => "mysqld_stmt_fetch",
                _ => "mysqld_stmt_reset",
            };
            return self
                .send_error(seq, &EdgeError::UnknownStatement(id, name))
                .await;
        }
        let started = Instant::now();
        let mut payload = payload;
        let (response, row_limit) = match code {
            command::STMT_EXECUTE => {
                let info = self
                    .state
                    .prepared
                    .get_mut(&id)
                    .expect("prepared statement");
                let (read, metadata) = (info.read, info.metadata);
                if metadata {
                    // `WHERE TABLE_SCHEMA = ?` bound to the database's own name.
                    let branch = self.login.credential.branch.clone();
                    let (rewritten, bound) = crate::binary::rewrite_execute(
                        &payload,
                        info.params as usize,
                        info.param_types.as_deref(),
                        |value| {
                            (value == branch.logical_name.as_bytes())
                                .then(|| branch.physical_name.as_bytes().to_vec())
                        },
                    );
                    if bound.is_some() {
                        info.param_types = bound;
                    }
                    if let Some(rewritten) = rewritten {
                        payload = Bytes::from(rewritten);
                    }
                }
                let limit = self
                    .shared
                    .config
                    .row_limit
                    .filter(|_| read && self.state.workload == sql::Workload::Oltp);
                (Response::Execute { metadata }, limit)
            }
            command::STMT_FETCH => (Response::UntilEnd, None),
            command::STMT_RESET => (Response::Single, None),
            _ => (Response::None, None),
        };
        let result = self.forward(seq, &payload, response, row_limit).await;
        if code == command::STMT_CLOSE {
            self.state.prepared.remove(&id);
            if self.state.last_prepared == Some(id) {
                self.state.last_prepared = None;
            }
        }
        match result {
            Ok(outcome) => {
                if code == command::STMT_EXECUTE {
                    self.after_execute(id, &outcome, started);
                }
                self.release_if_unpinned();
                Flow::Continue
            }
            Err(flow) => flow,
        }
    }

    fn after_execute(&mut self, id: u32, outcome: &Outcome, started: Instant) {
        if outcome.error.is_none() {
            self.state.status = outcome.status;
            self.state.in_transaction = outcome.status & protocol::status::IN_TRANS != 0;
            if outcome.last_insert_id != 0 {
                self.state.values.last_insert_id = outcome.last_insert_id;
            }
        }
        if let Some(info) = self.state.prepared.get(&id) {
            let verb = info.fingerprint.split(' ').next().unwrap_or_default();
            self.shared.stats.record(&stats::Statement {
                branch_id: &self.login.credential.branch.branch_id,
                fingerprint: &info.fingerprint,
                verb,
                tables: &info.tables,
                uses_tables: info.uses_tables,
                duration: started.elapsed(),
                rows_returned: outcome.rows,
                rows_affected: if outcome.last_result_rows.is_none() {
                    outcome.affected_rows
                } else {
                    0
                },
                error: outcome.error.as_ref().map(|e| e.code),
            });
        }
    }

    /// `COM_FIELD_LIST`, `COM_STATISTICS`: forwarded on any connection.
    pub(super) async fn forward_simple(&mut self, seq: u8, code: u8, payload: Bytes) -> Flow {
        let response = if code == command::FIELD_LIST {
            Response::UntilEnd
        } else {
            Response::Single
        };
        match self.forward(seq, &payload, response, None).await {
            Ok(_) => {
                self.release_if_unpinned();
                Flow::Continue
            }
            Err(flow) => flow,
        }
    }

    /// `COM_SET_OPTION` (multi-statements on or off) changes how the connection parses:
    /// the session keeps it.
    pub(super) async fn set_option(&mut self, seq: u8, payload: Bytes) -> Flow {
        self.forward_single(seq, &payload, |state| state.pinned = true)
            .await
    }

    /// `COM_RESET_CONNECTION`: the session as after login.
    pub(super) async fn reset_connection(&mut self, seq: u8) -> Flow {
        self.reset_backend().await;
        self.state = State::default();
        self.send_ok(seq).await
    }

    /// Resets the session's backend connection (if it holds one) and gives it back; one
    /// that cannot be reset is dropped.
    pub(super) async fn reset_backend(&mut self) {
        if let Some(mut backend) = self.backend.take() {
            self.ticket.entry.serving(0);
            let mut result = backend.reset().await;
            for statement in &self.backend_login.baseline {
                if result.is_ok() {
                    result = backend.execute(statement.as_bytes()).await;
                }
            }
            match result {
                Ok(()) => {
                    backend.settings_key = 0;
                    self.pool.release(self.group.clone(), backend);
                }
                Err(_) => self.pool.forget(),
            }
        }
    }

    /// `COM_CHANGE_USER`: another password (perhaps of another branch) on this session.
    pub(super) async fn change_user(&mut self, seq: u8, body: Bytes) -> Flow {
        let mut reader = Reader(&body);
        let username = String::from_utf8_lossy(reader.nul_string()).into_owned();
        let length = reader.u8().unwrap_or(0) as usize;
        reader.bytes(length);
        let database = reader.nul_string().to_vec();
        let collation = reader
            .u16()
            .map(|c| c as u8)
            .unwrap_or(self.login.collation);
        self.reset_backend().await;
        self.state = State::default();
        let routes = self.shared.routes.load_full();
        let credential = routes.credential(&username).cloned();
        let mut seq = seq;
        let verified = login::change_user(&mut self.client, &mut seq, credential.as_deref()).await;
        let key = match verified {
            Ok(Some(key)) => key,
            Ok(None) => {
                let error = EdgeError::AccessDenied {
                    user: username,
                    host: self.login.peer.ip().to_string(),
                    using: "YES",
                };
                let _ = self.send_error(seq, &error).await;
                return Flow::End;
            }
            Err(_) => return Flow::End,
        };
        let credential = credential.expect("verified credential");
        if !database.is_empty()
            && database != credential.branch.logical_name.as_bytes()
            && database != credential.branch.physical_name.as_bytes()
        {
            let error = EdgeError::DatabaseDenied {
                user: username,
                database: String::from_utf8_lossy(&database).into_owned(),
            };
            let _ = self.send_error(seq, &error).await;
            return Flow::End;
        }
        let limit = self.shared.config.max_connections_per_branch;
        if let Err(error) = self.shared.registry.rebranch(
            &mut self.ticket,
            &username,
            &credential.branch.branch_id,
            limit,
        ) {
            let _ = self.send_error(seq, &error).await;
            return Flow::End;
        }
        self.login.credential = credential;
        self.login.key = key;
        self.login.collation = collation;
        let (group, backend_login, pool) = Self::connection_plan(&self.shared, &self.login);
        self.group = group;
        self.backend_login = backend_login;
        self.pool = pool;
        self.send_ok(seq).await
    }

    /// `COM_PROCESS_KILL <id>`: as `KILL CONNECTION <id>`.
    pub(super) async fn process_kill(&mut self, seq: u8, body: Bytes) -> Flow {
        let id = Reader(&body).u32().unwrap_or(0);
        self.kill(seq, id, false).await
    }

    /// `KILL [QUERY] <id>` with the id the edge gave a session of the same account: its
    /// running statement is killed on its backend connection (and, for a connection kill,
    /// the session ends).
    pub(super) async fn kill(&mut self, seq: u8, id: u32, query_only: bool) -> Flow {
        let username = self.login.credential.username.clone();
        let target = match self.shared.registry.target(id, &username) {
            Ok(target) => target,
            Err(error) => return self.send_error(seq, &error).await,
        };
        if id == self.ticket.id && !query_only {
            return Flow::End;
        }
        let thread = target.thread();
        if !query_only {
            target.killed.notify_one();
        }
        if thread != 0 {
            let statement = format!("KILL QUERY {thread}");
            let mut payload = vec![command::QUERY];
            payload.extend_from_slice(statement.as_bytes());
            return match self.forward(seq, &payload, Response::Command, None).await {
                Ok(_) => {
                    self.release_if_unpinned();
                    Flow::Continue
                }
                Err(flow) => flow,
            };
        }
        self.send_ok(seq).await
    }
}
