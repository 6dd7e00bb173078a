//! `COM_QUERY`: the statement is analyzed once (kind, fingerprint, tables, pinning), refused
//! at the edge when safe migrations forbid it, held while its tables cut over, rewritten
//! (logical database name, session values), run on a backend connection, relayed, and
//! recorded in the statistics.

use std::time::Instant;

use bytes::Bytes;

use super::{Flow, Session};
use crate::error::EdgeError;
use crate::protocol::{command, status};
use crate::relay::{Outcome, Relay, RelayError};
use crate::sql::{self, Analysis, Rewrite, StatementKind, Workload};
use crate::stats;

/// How a statement ended, for the session and its statistics.
enum Ended {
    /// The backend answered (possibly with an error).
    Answered(Outcome),
    /// The edge refused it or could not run it; the client was told.
    Refused(EdgeError),
    /// The client is gone, or the session's state was lost with its backend connection.
    SessionLost,
}

impl Session {
    pub(super) async fn query(&mut self, seq: u8, sql: Bytes) -> Flow {
        let started = Instant::now();
        let analysis = sql::analyze(&sql);
        if let Some(kill) = sql::kill(&sql, &analysis.tokens) {
            return self.kill(seq, kill.id, kill.query_only).await;
        }
        if let Some(workload) = analysis.workload {
            return self.set_workload(seq, workload).await;
        }
        if let StatementKind::Use(name) = &analysis.kind
            && self.is_own_database(name)
            && !self.state.other_database
        {
            return self.send_ok(seq).await;
        }
        let ended = self.run_statement(seq, &sql, &analysis).await;
        let flow = match &ended {
            Ended::SessionLost => Flow::End,
            _ => Flow::Continue,
        };
        self.record(&analysis, started, &ended);
        flow
    }

    pub(super) fn is_own_database(&self, name: &[u8]) -> bool {
        let branch = self.branch();
        name == branch.logical_name.as_bytes() || name == branch.physical_name.as_bytes()
    }

    async fn run_statement(&mut self, seq: u8, sql: &[u8], analysis: &Analysis) -> Ended {
        if analysis.any_ddl && self.branch().safe_migrations {
            return self.refuse(seq, EdgeError::DirectDdlDisabled).await;
        }
        if !self.pinned() {
            let branch = self.branch().clone();
            let names = (
                branch.logical_name.as_bytes(),
                branch.physical_name.as_bytes(),
            );
            if let Err(error) = self
                .shared
                .holds
                .wait(&branch.branch_id, names, &analysis.tables)
                .await
            {
                return self.refuse(seq, error).await;
            }
        }
        if let Err(error) = self.backend().await {
            return self.refuse(seq, error).await;
        }
        let branch = self.login.credential.branch.clone();
        let values = self.state.values;
        let rewrite = Rewrite {
            logical: branch.logical_name.as_bytes(),
            physical: branch.physical_name.as_bytes(),
            values: (!self.pinned()).then_some(&values),
        };
        let rewritten = sql::rewrite(sql, analysis, &rewrite);
        let row_limit = self.shared.config.row_limit.filter(|_| {
            analysis.kind == StatementKind::Read && self.state.workload == Workload::Oltp
        });
        let deprecate_eof = self.deprecate_eof();
        let names = crate::relay::Names {
            logical: branch.logical_name.as_bytes(),
            physical: branch.physical_name.as_bytes(),
        };
        let backend = self.backend.as_mut().expect("backend taken");
        let sent = async {
            backend
                .stream
                .write_command(0, &[command::QUERY], rewritten.as_deref().unwrap_or(sql))
                .await?;
            backend.stream.flush().await
        }
        .await;
        if let Err(error) = sent {
            return self.backend_lost(seq, error).await;
        }
        let mut relay = Relay {
            client: &mut self.client,
            backend: &mut backend.stream,
            client_seq: seq,
            deprecate_eof,
            names,
            metadata: analysis.metadata,
            binary_rows: false,
            row_limit,
        };
        match relay.command_response().await {
            Ok(outcome) => {
                backend.last_used = Instant::now();
                self.after(sql, analysis, &outcome);
                Ended::Answered(outcome)
            }
            Err(RelayError::Client(_)) => {
                self.drop_backend();
                Ended::SessionLost
            }
            Err(RelayError::Backend(error)) => self.backend_lost(seq, error).await,
        }
    }

    /// The session's state after a statement the backend answered.
    fn after(&mut self, sql: &[u8], analysis: &Analysis, outcome: &Outcome) {
        let state = &mut self.state;
        if outcome.error.is_none() {
            state.status = outcome.status;
            state.in_transaction = outcome.status & status::IN_TRANS != 0;
            match outcome.last_result_rows {
                Some(rows) => {
                    state.values.row_count = -1;
                    state.values.found_rows = rows;
                }
                None => state.values.row_count = outcome.affected_rows as i64,
            }
            if outcome.last_insert_id != 0 {
                state.values.last_insert_id = outcome.last_insert_id;
            }
            if analysis.pins {
                state.pinned = true;
            }
            match &analysis.kind {
                StatementKind::Lock => state.locked_tables = true,
                StatementKind::Unlock => state.locked_tables = false,
                StatementKind::Use(name) => {
                    let own = {
                        let branch = &self.login.credential.branch;
                        name == branch.logical_name.as_bytes()
                            || name == branch.physical_name.as_bytes()
                    };
                    self.state.other_database = !own;
                }
                _ => {}
            }
            if analysis.setting {
                self.state.settings.push(sql.to_vec());
                if self.state.settings.statements.len() > MAX_SETTINGS {
                    self.state.pinned = true;
                }
                if let Some(backend) = self.backend.as_mut() {
                    backend.settings_key = self.state.settings.key;
                }
            }
        } else if outcome.row_limit_hit {
            self.state.values.row_count = -1;
        }
        // An error may have ended the transaction (a deadlock rolls it back); until the
        // next answer says so the session keeps its connection.
        self.release_if_unpinned();
    }

    async fn refuse(&mut self, seq: u8, error: EdgeError) -> Ended {
        match self.send_error(seq, &error).await {
            Flow::Continue => Ended::Refused(error),
            Flow::End => Ended::SessionLost,
        }
    }

    /// The backend connection failed mid-statement: the client gets an error; if the
    /// connection held the session's state, the session ends as it would with MariaDB.
    async fn backend_lost(&mut self, seq: u8, error: std::io::Error) -> Ended {
        let state_lost = self.pinned();
        self.drop_backend();
        let error = EdgeError::BackendUnavailable(error.to_string());
        let flow = self.send_error(seq, &error).await;
        if state_lost || flow == Flow::End {
            return Ended::SessionLost;
        }
        // A new connection starts with the baseline and the session's settings.
        self.state.in_transaction = false;
        Ended::Refused(error)
    }

    /// `SET workload = 'olap' | 'oltp'`: the row limit and the query timeout.
    async fn set_workload(&mut self, seq: u8, workload: Workload) -> Flow {
        const PREFIX: &[u8] = b"SET SESSION max_statement_time";
        let statement = match workload {
            Workload::Olap => b"SET SESSION max_statement_time = 0".to_vec(),
            Workload::Oltp => self.shared.query_timeout_statement().into_bytes(),
        };
        if let Some(backend) = self.backend.as_mut()
            && let Err(error) = backend.execute(&statement).await
        {
            return self.send_error(seq, &error).await;
        }
        match workload {
            Workload::Olap => self.state.settings.replace(PREFIX, statement),
            Workload::Oltp => {
                self.state
                    .settings
                    .statements
                    .retain(|s| !s.starts_with(PREFIX));
                let statements = std::mem::take(&mut self.state.settings.statements);
                self.state.settings.clear();
                for statement in statements {
                    self.state.settings.push(statement);
                }
            }
        }
        if let Some(backend) = self.backend.as_mut() {
            backend.settings_key = self.state.settings.key;
        }
        self.state.workload = workload;
        self.send_ok(seq).await
    }

    fn record(&self, analysis: &Analysis, started: Instant, ended: &Ended) {
        let (rows_returned, rows_affected, error) = match ended {
            Ended::Answered(outcome) => (
                outcome.rows,
                if outcome.last_result_rows.is_none() {
                    outcome.affected_rows
                } else {
                    0
                },
                outcome.error.as_ref().map(|e| e.code),
            ),
            Ended::Refused(error) => (0, 0, Some(error.to_mysql().0)),
            Ended::SessionLost => (0, 0, Some(2013)),
        };
        let tables = self.table_names(&analysis.tables);
        let verb = analysis.fingerprint.split(' ').next().unwrap_or_default();
        self.shared.stats.record(&stats::Statement {
            branch_id: &self.branch().branch_id,
            fingerprint: &analysis.fingerprint,
            verb,
            tables: &tables,
            duration: started.elapsed(),
            rows_returned,
            rows_affected,
            error,
        });
    }

    /// Table names as statistics keep them: bare for the branch's own tables.
    pub(super) fn table_names(&self, tables: &[sql::TableRef]) -> Vec<String> {
        tables
            .iter()
            .map(|table| {
                let name = String::from_utf8_lossy(&table.name);
                match &table.database {
                    Some(db) if !self.is_own_database(db) => {
                        format!("{}.{name}", String::from_utf8_lossy(db))
                    }
                    _ => name.into_owned(),
                }
            })
            .collect()
    }
}

/// Settings a session may accumulate before it is pinned instead.
const MAX_SETTINGS: usize = 64;
