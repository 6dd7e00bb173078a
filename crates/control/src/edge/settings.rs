//! `[edge]`: the connection edge's settings as operators write them.

use dbplane_edge::{CertificateSource, EdgeConfig, GreetingPlugin, SessionKey};

/// Under `<data_dir>/edge/`: the HMAC key of HTTP session tokens.
const SESSION_KEY_FILE: &str = "http-session.key";
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The connection edge (MySQL protocol front door of MySQL branches).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeSettings {
    /// Serve the edge; when off, passwords' connection strings name the MariaDB server
    /// itself, as before the edge.
    pub enabled: bool,
    /// Where it listens (`DBPLANE_EDGE_LISTEN`, `--edge-listen`). The default port keeps
    /// clear of a system MariaDB's 3306.
    pub listen: SocketAddr,
    /// `host:port` clients are told to connect to (default: the bound address).
    pub public_address: Option<String>,
    /// PEM certificate chain and key; without them a certificate is generated once
    /// under the data dir.
    pub tls_certificate: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Refuse clients that do not use TLS.
    pub require_secure_transport: bool,
    /// `mysql_native_password` (default) or `caching_sha2_password`.
    pub greeting_plugin: String,
    pub max_connections_per_branch: usize,
    /// Backend connections per branch, shared by every client session of the branch.
    pub backend_connections_per_branch: usize,
    pub backend_wait_millis: u64,
    pub idle_timeout_seconds: u64,
    /// Longest statement (PlanetScale: 900 s); OLAP sessions (`SET workload = 'olap'`)
    /// have none.
    pub query_timeout_seconds: u64,
    /// Rows an OLTP read may return (PlanetScale: 100,000); 0 for no limit.
    pub row_limit: u64,
    /// Longest a statement waits while its tables cut over (PlanetScale: 10 s).
    pub hold_window_millis: u64,
    pub hold_max_statements: usize,
    /// Distinct statement fingerprints kept per branch between two flushes.
    pub stats_max_fingerprints: usize,
    /// How often statement statistics go to the metadata store.
    pub stats_flush_seconds: u64,
    /// How long statement statistics are kept.
    pub stats_retention_hours: u64,
    /// Serve the HTTP SQL API (what `@planetscale/database` speaks).
    pub http: bool,
    /// Where it listens (`DBPLANE_EDGE_HTTP_LISTEN`, `--edge-http-listen`); passwords'
    /// `access_host_url` names it.
    pub http_listen: SocketAddr,
    /// `host:port` HTTP clients are told (default: the bound address).
    pub http_public_address: Option<String>,
    /// A connection to the HTTP listener silent this long is served as a MySQL client
    /// (tools that take `access_host_url` for a MySQL address still connect).
    pub http_mysql_fallback_millis: u64,
    /// An HTTP session holding a transaction is rolled back after this long idle.
    pub http_session_idle_seconds: u64,
    /// HTTP sessions kept at once (only those holding a transaction or state are kept).
    pub http_max_sessions: usize,
    /// A table named by a statement within this long is "recently used" in deploy
    /// requests.
    pub table_recently_used_hours: u64,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 3309)),
            public_address: None,
            tls_certificate: None,
            tls_key: None,
            require_secure_transport: false,
            greeting_plugin: "mysql_native_password".into(),
            max_connections_per_branch: 10_000,
            backend_connections_per_branch: 50,
            backend_wait_millis: 10_000,
            idle_timeout_seconds: 8 * 3600,
            query_timeout_seconds: 900,
            row_limit: 100_000,
            hold_window_millis: 10_000,
            hold_max_statements: 10_000,
            stats_max_fingerprints: 5_000,
            stats_flush_seconds: 60,
            stats_retention_hours: 7 * 24,
            table_recently_used_hours: 24,
            http: true,
            http_listen: SocketAddr::from(([127, 0, 0, 1], 3310)),
            http_public_address: None,
            http_mysql_fallback_millis: 300,
            http_session_idle_seconds: 60,
            http_max_sessions: 10_000,
        }
    }
}

impl EdgeSettings {
    /// What is wrong with the settings, if anything.
    pub fn problem(&self) -> Option<String> {
        if GreetingPlugin::parse(&self.greeting_plugin).is_none() {
            return Some(format!(
                "edge.greeting_plugin must be mysql_native_password or caching_sha2_password, not {:?}",
                self.greeting_plugin
            ));
        }
        if self.tls_certificate.is_some() != self.tls_key.is_some() {
            return Some("edge.tls_certificate and edge.tls_key go together".into());
        }
        if self.backend_connections_per_branch == 0 || self.max_connections_per_branch == 0 {
            return Some("edge connection limits must be at least 1".into());
        }
        if self.http_session_idle_seconds == 0 || self.http_max_sessions == 0 {
            return Some(
                "edge.http_session_idle_seconds and edge.http_max_sessions must be at least 1"
                    .into(),
            );
        }
        None
    }

    /// The edge's configuration; `data_dir` keeps a generated certificate and the key
    /// HTTP session tokens are signed with.
    pub fn edge_config(&self, data_dir: &Path) -> std::io::Result<EdgeConfig> {
        let certificate = match (&self.tls_certificate, &self.tls_key) {
            (Some(certificate), Some(key)) => CertificateSource::Files {
                certificate: certificate.clone(),
                key: key.clone(),
            },
            _ => CertificateSource::Generated {
                dir: data_dir.join("edge"),
                hosts: self
                    .public_address
                    .iter()
                    .chain(&self.http_public_address)
                    .map(|address| host_of(address).to_string())
                    .collect(),
            },
        };
        let mut config = EdgeConfig::new(self.listen, certificate);
        config.require_secure_transport = self.require_secure_transport;
        config.greeting_plugin = GreetingPlugin::parse(&self.greeting_plugin)
            .unwrap_or(GreetingPlugin::MysqlNativePassword);
        config.max_connections_per_branch = self.max_connections_per_branch;
        config.backend_connections_per_branch = self.backend_connections_per_branch;
        config.backend_wait = Duration::from_millis(self.backend_wait_millis);
        config.idle_timeout = Duration::from_secs(self.idle_timeout_seconds);
        config.query_timeout = Duration::from_secs(self.query_timeout_seconds);
        config.row_limit = (self.row_limit > 0).then_some(self.row_limit);
        config.hold_window = Duration::from_millis(self.hold_window_millis);
        config.hold_max_statements = self.hold_max_statements;
        config.stats_max_fingerprints = self.stats_max_fingerprints;
        config.http_listen = self.http.then_some(self.http_listen);
        config.http_mysql_fallback = Duration::from_millis(self.http_mysql_fallback_millis);
        config.http_session_idle = Duration::from_secs(self.http_session_idle_seconds);
        config.http_max_sessions = self.http_max_sessions;
        config.http_session_key =
            SessionKey::load_or_create(&data_dir.join("edge").join(SESSION_KEY_FILE))?;
        Ok(config)
    }
}

/// `host` of `host:port` (`[::1]:3309` gives `::1`).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}
