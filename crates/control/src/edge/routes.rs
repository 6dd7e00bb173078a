//! The edge's route table, built from the metadata store and the clusters: every active
//! password of a ready MySQL branch, with the hash MariaDB stores for its account and the
//! address of its branch's server.
//!
//! Hashes are read from the servers (the one source of truth) by the periodic publish and
//! kept; a publish the API makes after a change uses the kept ones (plus the hash of a
//! password it has just set), so a slow or unreachable cluster never delays a request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use dbplane_domain::data_plane::{DatabaseKind, PasswordRole, physical_username};
use dbplane_edge::auth::NativeHash;
use dbplane_edge::{BranchRoute, CredentialRoute, Role, RouteTable};
use dbplane_store::EdgeInventory;

use crate::clusters::ClusterRegistry;

/// Prefix of every password account.
const ACCOUNT_PREFIX: &str = "dbu_";
/// Longest a cluster may take to list its accounts' hashes.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Stored hashes by region (of the MySQL cluster) and account name.
#[derive(Default)]
pub struct AccountHashes {
    by_region: HashMap<String, HashMap<String, NativeHash>>,
}

impl AccountHashes {
    /// Re-reads every MySQL cluster's hashes; a cluster that does not answer in time
    /// keeps what was read before.
    pub async fn refresh(&mut self, clusters: &ClusterRegistry) {
        for endpoint in clusters.endpoints() {
            if endpoint.kind != DatabaseKind::Mysql {
                continue;
            }
            let read = tokio::time::timeout(
                READ_TIMEOUT,
                endpoint.admin.credential_hashes(ACCOUNT_PREFIX),
            )
            .await;
            match read {
                Ok(Ok(rows)) => {
                    let accounts = rows
                        .into_iter()
                        .filter_map(|(user, text)| Some((user, NativeHash::parse(&text)?)))
                        .collect();
                    self.by_region.insert(endpoint.region.clone(), accounts);
                }
                Ok(Err(error)) => {
                    tracing::warn!(region = %endpoint.region, %error, "edge routes: cannot read account hashes");
                }
                Err(_) => {
                    tracing::warn!(region = %endpoint.region, "edge routes: reading account hashes timed out");
                }
            }
        }
    }

    /// The hash of a password just set on `username`.
    pub fn remember(&mut self, region: &str, username: String, password: &str) {
        self.by_region
            .entry(region.to_string())
            .or_default()
            .insert(username, NativeHash::of_password(password.as_bytes()));
    }

    fn get(&self, region: &str, username: &str) -> Option<NativeHash> {
        self.by_region.get(region)?.get(username).copied()
    }
}

/// The route table of `inventory`.
pub fn build(
    inventory: &EdgeInventory,
    clusters: &ClusterRegistry,
    hashes: &AccountHashes,
) -> RouteTable {
    let databases: HashMap<_, _> = inventory
        .databases
        .iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    // Each ready branch's route, and its database's region (whose cluster holds the
    // accounts).
    let mut branches: HashMap<_, (Arc<BranchRoute>, &str)> = HashMap::new();
    for branch in &inventory.branches {
        let Some(database) = databases.get(&branch.database_id) else {
            continue;
        };
        let Some(endpoint) = clusters.get(&database.region, DatabaseKind::Mysql) else {
            continue;
        };
        let route = BranchRoute {
            branch_id: branch.id.to_string(),
            database_id: database.id.to_string(),
            logical_name: database.name.clone(),
            physical_name: branch.physical_name(),
            backend: endpoint.backend_address(),
            safe_migrations: branch.safe_migrations,
        };
        branches.insert(
            branch.id.clone(),
            (Arc::new(route), database.region.as_str()),
        );
    }
    let mut credentials = Vec::new();
    for credential in &inventory.credentials {
        let Some((branch, region)) = branches.get(&credential.branch_id) else {
            continue;
        };
        let username = physical_username(&credential.id);
        let Some(hash) = hashes.get(region, &username) else {
            continue;
        };
        credentials.push(CredentialRoute {
            username,
            role: role(credential.role),
            hash,
            expires_at: credential
                .expires_at
                .map(|at| UNIX_EPOCH + Duration::from_millis(at.unix_millis().max(0) as u64)),
            branch: branch.clone(),
        });
    }
    RouteTable::new(credentials)
}

fn role(role: PasswordRole) -> Role {
    match role {
        PasswordRole::Reader => Role::Reader,
        PasswordRole::Writer => Role::Writer,
        PasswordRole::Readwriter => Role::ReadWriter,
        PasswordRole::Admin => Role::Admin,
    }
}
