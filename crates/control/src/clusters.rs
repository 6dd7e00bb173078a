//! Which cluster serves each (region, kind), how clients reach it, and the deadline of
//! every call a request makes to one.

use crate::ControlPlane;
use crate::error::{ControlError, ControlResult};
use dbplane_domain::data_plane::{Database, DatabaseKind};
use dbplane_edge::routes::BackendAddress;
use dbplane_engine::physical::ClusterAdmin;
use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// One cluster dbplane administers.
pub struct ClusterEndpoint {
    pub region: String,
    pub kind: DatabaseKind,
    pub admin: Arc<ClusterAdmin>,
    /// The admin DSN, for engines that open sessions of their own (backups, restores,
    /// online schema change).
    pub admin_url: String,
    /// Where clients connect directly (PostgreSQL branches; MySQL branches when the
    /// connection edge is off).
    pub public_host: String,
    pub public_port: u16,
    /// `host:port` of the server as dbplane reaches it (the admin URL's).
    pub server_address: String,
    /// The server's unix socket when it runs on this machine (a managed cluster): where
    /// the connection edge opens its backend connections, else `server_address`.
    pub server_socket: Option<PathBuf>,
}

impl ClusterEndpoint {
    /// `host:port` for clients.
    pub fn address(&self) -> String {
        format!("{}:{}", self.public_host, self.public_port)
    }

    /// Where the connection edge reaches the server.
    pub fn backend_address(&self) -> BackendAddress {
        match &self.server_socket {
            Some(socket) => BackendAddress::Unix(socket.clone()),
            None => BackendAddress::Tcp(self.server_address.clone()),
        }
    }
}

/// No configured cluster serves a database's region and kind.
#[derive(Debug, thiserror::Error)]
#[error("no {kind} cluster serves region {region}")]
pub struct NoCluster {
    pub kind: DatabaseKind,
    pub region: String,
}

/// Every cluster of this deployment.
#[derive(Default)]
pub struct ClusterRegistry {
    endpoints: Vec<ClusterEndpoint>,
}

impl ClusterRegistry {
    pub fn new(endpoints: Vec<ClusterEndpoint>) -> Self {
        Self { endpoints }
    }

    /// The cluster for a database of `kind` in `region`.
    pub fn get(&self, region: &str, kind: DatabaseKind) -> Option<&ClusterEndpoint> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.region == region && endpoint.kind == kind)
    }

    /// The cluster serving `database`, or why there is none (configuration changed under
    /// an existing database).
    pub fn for_database(&self, database: &Database) -> Result<&ClusterEndpoint, NoCluster> {
        self.get(&database.region, database.kind)
            .ok_or_else(|| NoCluster {
                kind: database.kind,
                region: database.region.clone(),
            })
    }

    pub fn serves(&self, region: &str) -> bool {
        self.endpoints
            .iter()
            .any(|endpoint| endpoint.region == region)
    }

    pub fn endpoints(&self) -> &[ClusterEndpoint] {
        &self.endpoints
    }
}

impl ControlPlane {
    /// Runs `call`, work on a database server done while serving a request, within
    /// `[api] cluster_timeout_seconds` (connecting included), so a slow or unreachable
    /// server gives a prompt 503 rather than a hung request. `action` ("create the
    /// account") names the work in the logged detail. A call cut off at its deadline is
    /// dropped; every such call is one a client may repeat (accounts left half-made are
    /// reaped by their cleanup jobs).
    pub(crate) async fn on_cluster<T, E: Display>(
        &self,
        action: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> ControlResult<T> {
        let after = self.config.api.cluster_timeout();
        match tokio::time::timeout(after, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(ControlError::Unavailable(format!(
                "cannot {action}: {error}"
            ))),
            Err(_elapsed) => Err(ControlError::ClusterTimeout { action, after }),
        }
    }
}
