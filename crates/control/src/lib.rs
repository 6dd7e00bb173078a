//! The control plane: the services behind every API operation. Each service call
//! authorizes the caller against [`operations`], applies the business rules and talks
//! to the [`MetadataStore`]. Handlers above it only parse and render.

pub mod backups;
pub mod bootstrap;
pub mod branches;
pub mod caller;
pub mod clusters;
pub mod config;
pub mod credentials;
pub mod data_jobs;
pub mod databases;
pub mod deploys;
pub mod edge;
pub mod error;
pub mod metrics;
pub mod operations;
pub mod organization_cache;
pub mod organizations;
pub mod paging;
pub mod rate_limit;
pub mod regions;
pub mod schema_lint;
pub mod service_tokens;
pub mod table_counts;
pub mod token_accesses;
pub mod users;

pub use caller::{Authenticator, Caller};
pub use config::Config;
pub use error::{ControlError, ControlResult};
pub use paging::{PageRequest, Paged};

use clusters::ClusterRegistry;
use dbplane_domain::grant::Resource;
use dbplane_domain::{Organization, ServiceTokenId};
use dbplane_jobs::JobNotifier;
use dbplane_store::MetadataStore;
use operations::{OperationAccess, Requirement};
use rate_limit::RateLimiter;
use std::sync::Arc;

/// The services of one dbplane process.
pub struct ControlPlane {
    store: Arc<dyn MetadataStore>,
    config: Arc<Config>,
    authenticator: Authenticator,
    rate_limiter: Option<RateLimiter>,
    regions: regions::RegionCatalog,
    clusters: Arc<ClusterRegistry>,
    jobs: JobNotifier,
    organizations: organization_cache::OrganizationCache,
    /// The connection edge, when it serves MySQL branches.
    edge: Option<edge::EdgeLink>,
}

impl ControlPlane {
    /// A control plane with no clusters: data-plane calls answer that no cluster serves
    /// the region. See [`ControlPlane::with_data_plane`].
    pub fn new(store: Arc<dyn MetadataStore>, config: Arc<Config>) -> Self {
        Self::with_data_plane(
            store,
            config,
            Arc::new(ClusterRegistry::default()),
            JobNotifier::default(),
        )
    }

    /// A control plane whose databases live on `clusters`; `jobs` wakes the job runner.
    pub fn with_data_plane(
        store: Arc<dyn MetadataStore>,
        config: Arc<Config>,
        clusters: Arc<ClusterRegistry>,
        jobs: JobNotifier,
    ) -> Self {
        let rate_limiter = config
            .rate_limit
            .enabled
            .then(|| RateLimiter::new(config.rate_limit.requests_per_minute));
        let organizations = organization_cache::OrganizationCache::new(
            std::time::Duration::from_secs(config.auth.cache_ttl_seconds),
        );
        Self {
            authenticator: Authenticator::new(store.clone(), &config.auth),
            regions: regions::RegionCatalog::from_config(&config.regions),
            store,
            config,
            rate_limiter,
            clusters,
            jobs,
            organizations,
            edge: None,
        }
    }

    /// MySQL branches are reached through `edge`: passwords' connection strings name it
    /// and their routes are published to it.
    pub fn with_edge(mut self, edge: edge::EdgeLink) -> Self {
        self.edge = Some(edge);
        self
    }

    /// Drops a token's cached credential after its grants changed.
    pub(crate) fn invalidate_token(&self, token: &ServiceTokenId) {
        self.authenticator.invalidate(token);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Authenticates a request and charges it to the token's rate limit.
    pub async fn authenticate(&self, authorization: Option<&str>) -> ControlResult<Caller> {
        let caller = self.authenticator.authenticate(authorization).await?;
        if let Some(limiter) = &self.rate_limiter {
            limiter
                .check(caller.token_id())
                .map_err(|retry_after_seconds| ControlError::RateLimited {
                    retry_after_seconds,
                })?;
        }
        Ok(caller)
    }

    /// Resolves the organization named in a path and checks the caller may run
    /// `operation` on it. Another organization, or a missing access, is a 404.
    async fn authorize_organization(
        &self,
        caller: &Caller,
        organization_name: &str,
        operation: &OperationAccess,
    ) -> ControlResult<Organization> {
        if organization_name != caller.organization_name() {
            return Err(ControlError::NotFound {
                resource: "organization",
            });
        }
        let allowed = match operation.requirement {
            Requirement::Public | Requirement::Authenticated => true,
            Requirement::Organization(accesses) => caller
                .grants()
                .holds_any(accesses, Resource::Organization(caller.organization_id())),
            // Database operations authorize against the database, not here.
            Requirement::Database(_) => true,
        };
        if !allowed {
            return Err(ControlError::NotFound {
                resource: "organization",
            });
        }
        Ok(self
            .organization_details_of(caller.organization_id())
            .await?
            .organization)
    }
}

#[cfg(test)]
mod tests;
