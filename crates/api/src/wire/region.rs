//! `Region` (public and organization views).

use dbplane_control::regions::Region;
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
    /// The public list drops the last three fields, as PlanetScale's does.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mysql_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postgresql_supported: Option<bool>,
}

impl RegionResponse {
    pub fn public(region: Region) -> Self {
        Self {
            current_default: None,
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
            current_default: Some(region.current_default),
            mysql_supported: Some(region.mysql_supported),
            postgresql_supported: Some(region.postgresql_supported),
        }
    }
}
