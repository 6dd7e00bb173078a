//! The edge's settings (`[edge]` in `dbplane.toml`, flags and `DBPLANE_EDGE_*`), with the
//! defaults PlanetScale's users expect.

use std::net::SocketAddr;
use std::time::Duration;

use crate::tls::CertificateSource;

/// The authentication plugin the edge's greeting names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreetingPlugin {
    /// What MariaDB and most drivers default to.
    MysqlNativePassword,
    /// What MySQL 8 servers greet with: its clients then skip a round trip.
    CachingSha2Password,
}

impl GreetingPlugin {
    pub fn name(self) -> &'static str {
        match self {
            GreetingPlugin::MysqlNativePassword => "mysql_native_password",
            GreetingPlugin::CachingSha2Password => "caching_sha2_password",
        }
    }

    pub fn parse(text: &str) -> Option<GreetingPlugin> {
        match text {
            "mysql_native_password" => Some(GreetingPlugin::MysqlNativePassword),
            "caching_sha2_password" => Some(GreetingPlugin::CachingSha2Password),
            _ => None,
        }
    }
}

/// Everything the edge can be told.
#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// Where it listens for the MySQL protocol.
    pub listen: SocketAddr,
    pub certificate: CertificateSource,
    /// Refuse sessions that do not upgrade to TLS.
    pub require_secure_transport: bool,
    pub greeting_plugin: GreetingPlugin,
    /// Client sessions per branch; the next gets "Too many connections".
    pub max_connections_per_branch: usize,
    /// Backend connections per branch, shared by its passwords' sessions.
    pub backend_connections_per_branch: usize,
    /// How long a statement waits for a backend connection before it fails.
    pub backend_wait: Duration,
    /// A client session idle this long is closed (as MariaDB's `wait_timeout`).
    pub idle_timeout: Duration,
    /// Longest statement (MariaDB's `max_statement_time` on backend sessions); OLAP
    /// sessions have none.
    pub query_timeout: Duration,
    /// Rows an OLTP read may return (PlanetScale's 100,000); `None` for no limit.
    pub row_limit: Option<u64>,
    /// Longest a statement is held while its tables cut over.
    pub hold_window: Duration,
    /// Statements held at once on the whole edge; more are refused (retryable).
    pub hold_max_statements: usize,
    /// Distinct fingerprints aggregated per branch between flushes; the rest count
    /// under one "other" entry.
    pub stats_max_fingerprints: usize,
    /// Where the HTTP SQL API listens (`None`: not served).
    pub http_listen: Option<SocketAddr>,
    /// A connection to the HTTP listener that says nothing this long is served as a
    /// MySQL client (HTTP clients speak first).
    pub http_mysql_fallback: Duration,
    /// An HTTP session holding a transaction or state is rolled back and closed after
    /// this long without a request.
    pub http_session_idle: Duration,
    /// HTTP sessions kept at once (stateless requests keep none).
    pub http_max_sessions: usize,
    /// The key HTTP session tokens are signed with (kept under the data dir, so tokens
    /// outlive a restart).
    pub http_session_key: SessionKey,
    /// Version the greeting announces (MariaDB connectors read the `5.5.5-` prefix).
    pub server_version: String,
}

impl EdgeConfig {
    /// Defaults around a listen address and a certificate.
    pub fn new(listen: SocketAddr, certificate: CertificateSource) -> Self {
        EdgeConfig {
            listen,
            certificate,
            require_secure_transport: false,
            greeting_plugin: GreetingPlugin::MysqlNativePassword,
            max_connections_per_branch: 10_000,
            backend_connections_per_branch: 50,
            backend_wait: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(8 * 3600),
            query_timeout: Duration::from_secs(900),
            row_limit: Some(100_000),
            hold_window: Duration::from_secs(10),
            hold_max_statements: 10_000,
            stats_max_fingerprints: 5_000,
            http_listen: None,
            http_mysql_fallback: Duration::from_millis(300),
            http_session_idle: Duration::from_secs(60),
            http_max_sessions: 10_000,
            http_session_key: SessionKey(rand::random()),
            server_version: "5.5.5-10.11.0-MariaDB-dbplane".into(),
        }
    }
}

/// The HMAC key of HTTP session tokens (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(pub [u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(redacted)")
    }
}

impl SessionKey {
    /// The key kept in `path`, made (random, owner-only) on first use.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<SessionKey> {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(SessionKey(key));
        }
        let key: [u8; 32] = rand::random();
        crate::tls::write_private_file(path, &key)?;
        Ok(SessionKey(key))
    }
}

#[cfg(test)]
mod tests {
    use super::SessionKey;

    #[test]
    fn the_session_key_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("dbplane-key-{}", std::process::id()));
        let path = dir.join("edge/http-session.key");
        let made = SessionKey::load_or_create(&path).unwrap();
        assert_eq!(SessionKey::load_or_create(&path).unwrap(), made);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads it");
        assert_eq!(format!("{made:?}"), "SessionKey(redacted)");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
