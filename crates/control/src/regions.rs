//! Regions, from configuration. Region ids are derived from the slug so they stay the
//! same across restarts and replicas.

use crate::config::RegionConfig;
use crate::error::ControlResult;
use crate::operations;
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::ids::ID_LENGTH;

/// A region as the API shows it.
#[derive(Clone, Debug)]
pub struct Region {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    pub location: String,
    pub provider: String,
    pub enabled: bool,
    pub current_default: bool,
    pub public_ip_addresses: Vec<String>,
    pub mysql_supported: bool,
    pub postgresql_supported: bool,
}

/// A read-only region of a database: a replica set in another region that serves reads.
/// None exist yet (dbplane runs no cross-region replicas), so lists of them are empty;
/// the type is what the API renders once they do.
#[derive(Clone, Debug)]
pub struct ReadOnlyRegion {
    pub id: String,
    pub region: Region,
    pub actor: Option<dbplane_domain::User>,
    pub created_at: dbplane_domain::Timestamp,
    pub updated_at: dbplane_domain::Timestamp,
    pub ready_at: Option<dbplane_domain::Timestamp>,
}

/// The configured regions, in configuration order.
#[derive(Clone, Debug)]
pub struct RegionCatalog {
    regions: Vec<Region>,
}

impl RegionCatalog {
    pub fn from_config(configs: &[RegionConfig]) -> Self {
        let explicit_default = configs.iter().any(|r| r.default);
        let regions = configs
            .iter()
            .enumerate()
            .map(|(index, config)| Region {
                id: stable_region_id(&config.slug),
                slug: config.slug.clone(),
                display_name: config.display_name.clone(),
                location: config.location.clone(),
                provider: config.provider.clone(),
                enabled: config.enabled,
                current_default: if explicit_default {
                    config.default
                } else {
                    index == 0
                },
                public_ip_addresses: config.public_ip_addresses.clone(),
                mysql_supported: config.mysql_supported,
                postgresql_supported: config.postgresql_supported,
            })
            .collect();
        Self { regions }
    }

    pub fn all(&self) -> &[Region] {
        &self.regions
    }

    pub fn by_slug(&self, slug: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.slug == slug)
    }

    /// The region new databases land in when none is named.
    pub fn default_region(&self) -> &Region {
        self.regions
            .iter()
            .find(|r| r.current_default)
            .unwrap_or(&self.regions[0])
    }
}

/// 12 base-36 characters of a FNV-1a hash of the slug: stable and id-shaped.
fn stable_region_id(slug: &str) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in slug.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..ID_LENGTH)
        .map(|_| {
            let symbol = ALPHABET[(hash % 36) as usize] as char;
            hash /= 36;
            if hash == 0 {
                hash = 0x9e3779b97f4a7c15;
            }
            symbol
        })
        .collect()
}

impl ControlPlane {
    /// `list_public_regions`: every configured region, no authentication.
    pub fn list_public_regions(&self, page: PageRequest) -> Paged<Region> {
        paged(self.regions.all(), page)
    }

    /// `list_regions_for_organization`.
    pub async fn list_organization_regions(
        &self,
        caller: &Caller,
        organization: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<Region>> {
        self.authorize_organization(
            caller,
            organization,
            &operations::LIST_REGIONS_FOR_ORGANIZATION,
        )
        .await?;
        Ok(paged(self.regions.all(), page))
    }

    /// `list_read_only_regions`: the regions of the database's read-only replicas. There
    /// are none until cross-region replicas exist, so the answer is truthfully empty;
    /// the database is still authorized (a token without access gets 404).
    pub async fn list_read_only_regions(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<ReadOnlyRegion>> {
        self.authorize_database(
            caller,
            organization,
            database,
            &operations::LIST_READ_ONLY_REGIONS,
        )
        .await?;
        Ok(Paged {
            items: Vec::new(),
            total: 0,
            request: page,
        })
    }

    /// `list_cluster_size_skus`: the configured sizes.
    pub async fn list_cluster_sizes(
        &self,
        caller: &Caller,
        organization: &str,
    ) -> ControlResult<Vec<crate::config::ClusterSizeConfig>> {
        self.authorize_organization(caller, organization, &operations::LIST_CLUSTER_SIZE_SKUS)
            .await?;
        Ok(self.config.cluster_sizes.clone())
    }

    pub fn regions(&self) -> &RegionCatalog {
        &self.regions
    }
}

fn paged(regions: &[Region], request: PageRequest) -> Paged<Region> {
    Paged {
        items: request.slice(regions),
        total: regions.len() as u64,
        request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbplane_domain::ids::is_public_id;

    #[test]
    fn region_ids_are_stable_and_distinct() {
        let a = stable_region_id("us-east");
        assert_eq!(a, stable_region_id("us-east"));
        assert_ne!(a, stable_region_id("us-west"));
        assert!(is_public_id(&a), "{a}");
    }
}
