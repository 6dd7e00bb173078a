//! `ClusterSizeSku`: the configured cluster sizes.

use dbplane_control::config::ClusterSizeConfig;
use serde::Serialize;

#[derive(Serialize)]
pub struct ClusterSizeSkuResponse {
    name: String,
    display_name: String,
    cpu: String,
    /// Bytes.
    ram: i64,
    storage: Option<i64>,
    development: bool,
    production: bool,
    enabled: bool,
    metal: bool,
    architecture: Option<String>,
    provider: Option<String>,
    /// Not in the spec; PlanetScale's Go SDK reads it. No cloud instance backs a size.
    provider_instance_type: Option<String>,
    sort_order: u64,
    /// No VTGates and no prices on a self-hosted server.
    default_vtgate: String,
    default_vtgate_rate: Option<f64>,
    rate: Option<f64>,
    replica_rate: Option<f64>,
}

impl ClusterSizeSkuResponse {
    /// `position` orders the sizes as configured.
    pub fn new(size: ClusterSizeConfig, position: usize) -> Self {
        Self {
            name: size.name,
            display_name: size.display_name,
            cpu: size.cpu,
            ram: size.ram,
            storage: size.storage,
            development: size.development,
            production: size.production,
            enabled: true,
            metal: false,
            architecture: None,
            provider: None,
            provider_instance_type: None,
            sort_order: position as u64,
            default_vtgate: String::new(),
            default_vtgate_rate: None,
            rate: None,
            replica_rate: None,
        }
    }
}
