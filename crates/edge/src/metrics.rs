//! The edge's metrics, reported through the `metrics` facade where the events happen
//! (`dbplane serve` installs the recorder that `/metrics` renders). Label values come
//! from closed sets: [`EdgeError::reason`] and the outcomes named here.

use metrics::{counter, describe_counter, describe_gauge, gauge};

use crate::error::EdgeError;

/// Gauge: client sessions open now.
pub const SESSIONS: &str = "dbplane_edge_client_sessions";
/// Gauge: backend connections to the branches' servers, by `state` (`open`, `idle`).
pub const BACKENDS: &str = "dbplane_edge_backend_connections";
/// Counter: logins, by `outcome` (`ok`, `refused`).
pub const LOGINS: &str = "dbplane_edge_logins_total";
/// Counter: statements, by `outcome` (`ok`, `error`: the server's error or the edge's).
pub const STATEMENTS: &str = "dbplane_edge_statements_total";
/// Counter: errors the edge itself answered a client with, by `reason`.
pub const REFUSALS: &str = "dbplane_edge_refusals_total";

/// Counter: HTTP API requests, by `outcome` (`ok`: answered, SQL errors included;
/// `refused`: authentication, a bad request, a busy or unknown session, a limit).
pub const HTTP_REQUESTS: &str = "dbplane_edge_http_requests_total";
/// Gauge: HTTP sessions kept between requests (they hold a transaction or state).
pub const HTTP_SESSIONS: &str = "dbplane_edge_http_sessions";

/// HELP lines of the metrics above; harmless without a recorder.
pub fn describe() {
    describe_gauge!(SESSIONS, "Client sessions open on the connection edge.");
    describe_gauge!(
        BACKENDS,
        "Backend connections of the edge's pools (open: all, idle: free to lend)."
    );
    describe_counter!(LOGINS, "Logins at the connection edge.");
    describe_counter!(
        STATEMENTS,
        "Statements that went through the connection edge."
    );
    describe_counter!(HTTP_REQUESTS, "Requests to the edge's HTTP SQL API.");
    describe_gauge!(
        HTTP_SESSIONS,
        "HTTP SQL sessions kept between requests (a transaction or session state)."
    );
    describe_counter!(
        REFUSALS,
        "Errors the connection edge answered clients with itself (limits, logins, cutovers)."
    );
}

pub(crate) fn session_opened() {
    gauge!(SESSIONS).increment(1.0);
}

pub(crate) fn session_closed() {
    gauge!(SESSIONS).decrement(1.0);
}

pub(crate) fn backends(open: usize, idle: usize) {
    gauge!(BACKENDS, "state" => "open").set(open as f64);
    gauge!(BACKENDS, "state" => "idle").set(idle as f64);
}

pub(crate) fn login(ok: bool) {
    counter!(LOGINS, "outcome" => if ok { "ok" } else { "refused" }).increment(1);
}

/// A statement ended; `error` is the code the client got, if any. The query timeout is
/// the server's (`max_statement_time`, which the edge sets), so it is counted here.
pub(crate) fn statement(error: Option<u16>) {
    counter!(STATEMENTS, "outcome" => if error.is_none() { "ok" } else { "error" }).increment(1);
    if error == Some(QUERY_TIMEOUT_CODE) {
        counter!(REFUSALS, "reason" => "query_timeout").increment(1);
    }
}

/// MariaDB's "maximum statement execution time exceeded".
const QUERY_TIMEOUT_CODE: u16 = 1969;

/// Counts an error sent to a client, unless it is the backend's own.
pub(crate) fn refused(error: &EdgeError) {
    if let Some(reason) = error.reason() {
        counter!(REFUSALS, "reason" => reason).increment(1);
    }
}

pub(crate) fn http_request(outcome: &'static str) {
    counter!(HTTP_REQUESTS, "outcome" => outcome).increment(1);
}

pub(crate) fn http_sessions(kept: usize) {
    gauge!(HTTP_SESSIONS).set(kept as f64);
}
