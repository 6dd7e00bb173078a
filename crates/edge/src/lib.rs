//! The connection edge: a MySQL-protocol front door inside `dbplane serve`.
//!
//! Clients log in with a branch password and the database's own name; the edge verifies
//! the password against what MariaDB stores for its account ([`auth`]), and serves the
//! session over pooled backend connections logged in as that same account ([`pool`],
//! [`backend`]), so MariaDB keeps enforcing the password's grants. Sessions are pinned to
//! one backend connection only while they hold state on it ([`session`]). Every statement
//! is analyzed once ([`sql`]): refused when safe migrations forbid it, held while its
//! tables cut over ([`holds`]), rewritten from logical to physical names, and aggregated
//! into per-fingerprint statistics ([`stats`]).
//!
//! The HTTP SQL API that PlanetScale's serverless driver speaks ([`http`]) has a listener
//! of its own and runs each statement through the same sessions, driven in-process.
//!
//! The control plane drives it through [`Edge`]: it publishes whole route tables
//! ([`routes`]) when branches and passwords change, takes holds around cutovers and
//! drains statistics. The edge never reads the metadata store.

pub mod auth;
pub mod backend;
pub mod binary;
pub mod config;
mod detect;
pub mod error;
pub mod handshake;
pub mod holds;
mod http;
pub mod login;
pub mod metrics;
pub mod packet;
pub mod pool;
pub mod protocol;
pub mod registry;
pub mod relay;
pub mod routes;
mod session;
pub mod sql;
pub mod stats;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub use config::{EdgeConfig, GreetingPlugin, SessionKey};
pub use holds::HoldGuard;
pub use routes::{BranchRoute, CredentialRoute, Role, RouteTable};
pub use stats::Snapshot;
pub use tls::{CertificateSource, TlsError};

/// Idle backend connections older than this are closed.
const BACKEND_IDLE: Duration = Duration::from_secs(60);

/// What every session shares.
pub(crate) struct Shared {
    pub config: EdgeConfig,
    pub routes: ArcSwap<RouteTable>,
    pub tls: TlsAcceptor,
    /// The same certificate, offering HTTP/1.1 by ALPN.
    pub http_tls: TlsAcceptor,
    pub http_sessions: http::Sessions,
    pub sha2: login::Sha2Cache,
    pub pools: pool::Pools,
    pub holds: Arc<holds::Holds>,
    pub stats: stats::QueryStats,
    pub registry: Arc<registry::Registry>,
    next_connection_id: AtomicU32,
}

impl Shared {
    pub fn next_connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The statement that gives a backend session the edge's query timeout.
    pub fn query_timeout_statement(&self) -> String {
        format!(
            "SET SESSION max_statement_time = {}",
            self.config.query_timeout.as_secs_f64()
        )
    }
}

/// The edge, as the control plane and `serve` hold it.
#[derive(Clone)]
pub struct Edge {
    shared: Arc<Shared>,
}

impl Edge {
    /// An edge with an empty route table (nobody logs in until [`Edge::publish`]).
    pub fn new(config: EdgeConfig) -> Result<Edge, TlsError> {
        let server_config = tls::server_config(&config.certificate)?;
        let mut http_config = (*server_config).clone();
        http_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tls = TlsAcceptor::from(server_config);
        let http_tls = TlsAcceptor::from(Arc::new(http_config));
        let http_sessions = http::Sessions::new(
            &config.http_session_key.0,
            config.http_session_idle,
            config.http_max_sessions,
        );
        Ok(Edge {
            shared: Arc::new(Shared {
                holds: Arc::new(holds::Holds::new(
                    config.hold_window,
                    config.hold_max_statements,
                )),
                stats: stats::QueryStats::new(config.stats_max_fingerprints),
                config,
                routes: ArcSwap::from_pointee(RouteTable::default()),
                tls,
                http_tls,
                http_sessions,
                sha2: login::Sha2Cache::default(),
                pools: pool::Pools::default(),
                registry: Arc::new(registry::Registry::default()),
                next_connection_id: AtomicU32::new(1),
            }),
        })
    }

    pub fn config(&self) -> &EdgeConfig {
        &self.shared.config
    }

    /// Replaces the route table; sessions of removed passwords keep running (as MariaDB
    /// keeps a dropped account's connections), new logins see the new table.
    pub fn publish(&self, table: RouteTable) {
        let previous = self.shared.routes.load_full();
        self.shared.sha2.retain(&table);
        self.shared
            .pools
            .retain(|branch| table.branch(branch).is_some());
        for (branch_id, pool) in self.shared.pools.all() {
            pool.close_accounts(|username| table.credential(username).is_some());
            // Safe migrations changed the accounts' grants: fresh connections see them.
            let grants_changed = match (previous.branch(&branch_id), table.branch(&branch_id)) {
                (Some(before), Some(after)) => before.safe_migrations != after.safe_migrations,
                _ => false,
            };
            if grants_changed {
                pool.renew();
            }
        }
        self.shared.routes.store(Arc::new(table));
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> std::io::Result<TcpListener> {
        TcpListener::bind(self.shared.config.listen).await
    }

    /// Binds the HTTP API's own listener, when one is configured.
    pub async fn bind_http(&self) -> std::io::Result<Option<TcpListener>> {
        match self.shared.config.http_listen {
            Some(address) => TcpListener::bind(address).await.map(Some),
            None => Ok(None),
        }
    }

    /// Accepts clients until `shutdown` resolves; each session runs on its own task.
    /// `http`: the HTTP SQL API's listener.
    pub async fn serve(
        &self,
        listener: TcpListener,
        http: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let maintenance = tokio::spawn(maintain(self.shared.clone()));
        let http = http.map(|listener| tokio::spawn(serve_http(self.shared.clone(), listener)));
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let shared = self.shared.clone();
                        tokio::spawn(async move {
                            let _ = tcp.set_nodelay(true);
                            session_task(shared, tcp, peer).await;
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "edge accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut shutdown => break,
            }
        }
        maintenance.abort();
        if let Some(http) = http {
            http.abort();
        }
    }

    /// Holds statements on `tables` of `branch_id` until the guard drops (a cutover).
    pub fn hold(&self, branch_id: &str, tables: &[String]) -> HoldGuard {
        self.shared.holds.hold(branch_id, tables)
    }

    /// Statistics since the last drain.
    pub fn drain_stats(&self) -> Snapshot {
        self.shared.stats.drain()
    }
}

/// The HTTP SQL API's listener (MySQL clients that come to it are served too).
async fn serve_http(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let window = shared.config.http_mysql_fallback;
                    match detect::detect(&tcp, window).await {
                        Some(detect::Protocol::Mysql) => session_task(shared, tcp, peer).await,
                        Some(protocol) => http_task(shared, tcp, peer, protocol).await,
                        None => {}
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "edge HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn http_task(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    protocol: detect::Protocol,
) {
    match protocol {
        detect::Protocol::Https => {
            let accepted =
                tokio::time::timeout(login::LOGIN_TIMEOUT, shared.http_tls.accept(tcp)).await;
            if let Ok(Ok(stream)) = accepted {
                http::serve_connection(shared, Box::new(stream), peer, true).await;
            }
        }
        // In clear too: where the operator requires TLS, each request is refused with
        // a clear error rather than a dropped connection.
        _ => http::serve_connection(shared, Box::new(tcp), peer, false).await,
    }
}

async fn session_task(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let id = shared.next_connection_id();
    let routes = shared.routes.load_full();
    let context = login::LoginContext {
        config: &shared.config,
        tls: &shared.tls,
        routes: &routes,
        cache: &shared.sha2,
        connection_id: id,
        peer,
    };
    let Some((mut client, login)) = login::login(&context, tcp).await else {
        return;
    };
    drop(routes);
    let branch_id = login.credential.branch.branch_id.clone();
    let ticket = match shared.registry.register(
        id,
        &login.credential.username,
        &branch_id,
        shared.config.max_connections_per_branch,
    ) {
        Ok(ticket) => {
            metrics::login(true);
            ticket
        }
        Err(error) => {
            metrics::login(false);
            metrics::refused(&error);
            let (code, state, message) = error.to_mysql();
            let _ = client
                .write_packet(
                    login.next_seq,
                    &protocol::err_payload(code, &state, &message),
                )
                .await;
            client.shutdown().await;
            return;
        }
    };
    session::Session::new(shared, client, login, ticket)
        .run()
        .await;
}

/// Closes idle backend connections now and then.
/// Every second: the backend gauges; every tenth: idle backends closed.
async fn maintain(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for round in 0u64.. {
        tick.tick().await;
        let pools = shared.pools.all();
        if round % 10 == 9 {
            for (_, pool) in &pools {
                pool.close_idle(BACKEND_IDLE);
            }
        }
        shared.http_sessions.expire();
        let open = pools.iter().map(|(_, pool)| pool.open_count()).sum();
        let idle = pools.iter().map(|(_, pool)| pool.idle_count()).sum();
        metrics::backends(open, idle);
    }
}
