//! `Region` (public and organization views) and `ReadOnlyRegion`.

use super::actor::ActorResponse;
use dbplane_control::regions::{ReadOnlyRegion, Region};
use serde::Serialize;

#[derive(Serialize)]
pub struct RegionResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    provider: String,
    enabled: bool,
    public_ip_addresses: Vec<String>,
    display_name: String,
    location: String,
    slug: String,
    /// Also in the public list, though its schema leaves it out: PlanetScale's Go SDK
    /// reads it there (`Region.IsDefault`).
    current_default: bool,
    /// The public list drops these two, as PlanetScale's does.
    #[serde(skip_serializing_if = "Option::is_none")]
    mysql_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postgresql_supported: Option<bool>,
}

impl RegionResponse {
    pub fn public(region: Region) -> Self {
        Self {
            mysql_supported: None,
            postgresql_supported: None,
            ..Self::for_organization(region)
        }
    }

    pub fn for_organization(region: Region) -> Self {
        Self {
            kind: "Region",
            id: region.id,
            provider: region.provider,
            enabled: region.enabled,
            public_ip_addresses: region.public_ip_addresses,
            display_name: region.display_name,
            location: region.location,
            slug: region.slug,
            current_default: region.current_default,
            mysql_supported: Some(region.mysql_supported),
            postgresql_supported: Some(region.postgresql_supported),
        }
    }
}

/// `ReadOnlyRegion`: a database's replica set in another region.
#[derive(Serialize)]
pub struct ReadOnlyRegionResponse {
    id: String,
    display_name: String,
    created_at: String,
    updated_at: String,
    ready_at: Option<String>,
    ready: bool,
    actor: ActorResponse,
    region: RegionResponse,
}

impl From<ReadOnlyRegion> for ReadOnlyRegionResponse {
    fn from(read_only: ReadOnlyRegion) -> Self {
        Self {
            id: read_only.id,
            display_name: read_only.region.display_name.clone(),
            created_at: read_only.created_at.to_iso8601(),
            updated_at: read_only.updated_at.to_iso8601(),
            ready_at: read_only.ready_at.map(|t| t.to_iso8601()),
            ready: read_only.ready_at.is_some(),
            actor: read_only
                .actor
                .as_ref()
                .map(ActorResponse::from_user)
                .unwrap_or_else(ActorResponse::unknown),
            region: RegionResponse::for_organization(read_only.region),
        }
    }
}
