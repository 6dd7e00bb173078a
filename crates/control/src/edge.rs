//! The connection edge, from the control plane's side: it publishes the edge's route
//! table (whole, after every change of passwords, branches or databases, and now and then
//! to catch changes made by jobs), lends the edge's holds to deploy cutovers, and drains
//! the edge's statement statistics into the metadata store, where deploy requests read
//! `table_recently_used` from them.

pub mod routes;
pub mod settings;
pub mod stats;

use std::sync::Arc;

use dbplane_edge::Edge;
use dbplane_engine::online_ddl::{Traffic, TrafficHold};

use crate::ControlPlane;
use crate::clusters::ClusterRegistry;
use crate::error::ControlResult;
use dbplane_store::MetadataStore;

/// The edge as the control plane holds it.
#[derive(Clone)]
pub struct EdgeLink {
    pub edge: Edge,
    /// `host:port` MySQL clients are told to connect to.
    pub public_address: String,
    /// Passwords' `access_host_url`: the HTTP SQL API's `host:port` when it is served
    /// (see [`access_host`]).
    pub public_http_address: Option<String>,
    /// The account hashes read so far; its lock also keeps publishes one at a time (a
    /// slow one must not overwrite a newer table).
    hashes: Arc<tokio::sync::Mutex<routes::AccountHashes>>,
}

/// What passwords name as their host. Where both protocols are on their standard ports of
/// one host (MySQL 3306, HTTPS 443), the bare host, as PlanetScale names it: MySQL clients
/// and the HTTP driver each add their own default port. Else the HTTP API's `host:port`
/// (whose listener serves MySQL clients that come to it too).
pub fn access_host(mysql: &str, http: &str) -> String {
    match (mysql.rsplit_once(':'), http.rsplit_once(':')) {
        (Some((mysql_host, "3306")), Some((http_host, "443"))) if mysql_host == http_host => {
            mysql_host.to_string()
        }
        _ => http.to_string(),
    }
}

impl EdgeLink {
    pub fn new(edge: Edge, public_address: String, public_http_address: Option<String>) -> Self {
        EdgeLink {
            edge,
            public_http_address: public_http_address
                .map(|http| access_host(&public_address, &http)),
            public_address,
            hashes: Arc::new(tokio::sync::Mutex::new(routes::AccountHashes::default())),
        }
    }

    /// Re-reads the account hashes from the clusters, rebuilds the route table from the
    /// store and hands it to the edge; the number of passwords it routes.
    pub async fn publish(
        &self,
        store: &dyn MetadataStore,
        clusters: &ClusterRegistry,
    ) -> ControlResult<usize> {
        let mut hashes = self.hashes.lock().await;
        hashes.refresh(clusters).await;
        self.publish_with(&hashes, store, clusters).await
    }

    /// Rebuilds the route table with the hashes known (no cluster is asked), after
    /// remembering `new_password` for its account when one was just set.
    pub async fn publish_known(
        &self,
        store: &dyn MetadataStore,
        clusters: &ClusterRegistry,
        new_password: Option<(&str, String, &str)>,
    ) -> ControlResult<usize> {
        let mut hashes = self.hashes.lock().await;
        if let Some((region, username, password)) = new_password {
            hashes.remember(region, username, password);
        }
        self.publish_with(&hashes, store, clusters).await
    }

    async fn publish_with(
        &self,
        hashes: &routes::AccountHashes,
        store: &dyn MetadataStore,
        clusters: &ClusterRegistry,
    ) -> ControlResult<usize> {
        let inventory = store.edge_inventory().await?;
        let table = routes::build(&inventory, clusters, hashes);
        let count = table.len();
        self.edge.publish(table);
        Ok(count)
    }

    /// The edge's holds for one branch's cutovers.
    pub fn traffic(&self, branch_id: &str) -> Traffic {
        Traffic(Arc::new(BranchHolds {
            edge: self.edge.clone(),
            branch_id: branch_id.to_string(),
        }))
    }
}

/// Holds statements on tables of one branch.
struct BranchHolds {
    edge: Edge,
    branch_id: String,
}

impl TrafficHold for BranchHolds {
    fn hold(&self, tables: &[String]) -> Box<dyn Send> {
        Box::new(self.edge.hold(&self.branch_id, tables))
    }
}

impl ControlPlane {
    /// The edge, when it serves MySQL branches.
    pub fn edge(&self) -> Option<&EdgeLink> {
        self.edge.as_ref()
    }

    /// Republishes the edge's routes after a change the API made (a password deleted or
    /// renewed, safe migrations switched, a database renamed), with the hashes known. A
    /// failure is logged: the periodic publish retries.
    pub(crate) async fn edge_routes_changed(&self) {
        self.publish_routes(None).await;
    }

    /// Republishes after a password of a database in `region` was set on `username`
    /// (created or reset), so it logs in through the edge at once.
    pub(crate) async fn edge_password_set(&self, region: &str, username: String, password: &str) {
        self.publish_routes(Some((region, username, password)))
            .await;
    }

    async fn publish_routes(&self, new_password: Option<(&str, String, &str)>) {
        if let Some(link) = &self.edge {
            let published = link
                .publish_known(self.store.as_ref(), &self.clusters, new_password)
                .await;
            if let Err(error) = published {
                tracing::warn!(%error, "publishing the edge's routes");
            }
        }
    }
}

/// Publishes the routes every `interval` until `stop` (changes made by jobs: branches
/// becoming ready, passwords expiring).
pub async fn republish(
    link: EdgeLink,
    store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = link.publish(store.as_ref(), &clusters).await {
            tracing::warn!(%error, "publishing the edge's routes");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::access_host;

    #[test]
    fn standard_ports_of_one_host_give_the_bare_host() {
        assert_eq!(
            access_host("db.example.com:3306", "db.example.com:443"),
            "db.example.com"
        );
        assert_eq!(
            access_host("127.0.0.1:3309", "127.0.0.1:3310"),
            "127.0.0.1:3310"
        );
        assert_eq!(
            access_host("db.example.com:3306", "sql.example.com:443"),
            "sql.example.com:443"
        );
    }
}
