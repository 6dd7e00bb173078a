//! Typed configuration. Layered by the binary as file → environment → flags, validated
//! once here, then shared read-only.

mod jobs;

pub use jobs::{DEFAULT_MAX_RUNNING, JobsConfig};

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration of a `dbplane serve` process.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Directory holding the metadata store and managed clusters.
    pub data_dir: PathBuf,
    /// Base URL clients reach the API at, used in `next_page_url` and resource URLs.
    /// Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub api: ApiConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub clusters: ClustersConfig,
    pub jobs: JobsConfig,
    pub backups: BackupsConfig,
    pub deploys: DeploysConfig,
    /// Cluster sizes offered (`list_cluster_size_skus`); sizes are recorded, not enforced.
    pub cluster_sizes: Vec<ClusterSizeConfig>,
    /// Regions offered to databases. The default is one enabled region, `us-east`.
    pub regions: Vec<RegionConfig>,
    /// The connection edge.
    pub edge: crate::edge::settings::EdgeSettings,
}

/// Deadlines of the HTTP API: a slow or unreachable database server turns into a
/// prompt 503, never a hung request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Longest a request may take, whatever it waits for; past it the API answers 503.
    /// Long work (backups, deploys, branch creation) runs as jobs, not in requests.
    pub request_timeout_seconds: u64,
    /// Longest one call to a database server may take while serving a request
    /// (connecting included). Shorter than the request's deadline, so the answer names
    /// the database server as the cause.
    pub cluster_timeout_seconds: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            request_timeout_seconds: 30,
            cluster_timeout_seconds: 10,
        }
    }
}

impl ApiConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
    pub fn cluster_timeout(&self) -> Duration {
        Duration::from_secs(self.cluster_timeout_seconds)
    }
}

/// Authentication tuning.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a verified token and its grants are cached in memory. Changes made
    /// through this process take effect at once; changes made by another replica or by
    /// `dbplane admin` take effect within this time. 0 disables the cache.
    pub cache_ttl_seconds: u64,
    /// `last_used_at` is written at most once per this many seconds per token, so a busy
    /// token does not turn every read into a write.
    pub last_used_resolution_seconds: u64,
}

/// Per-token rate limiting (off by default for self-hosting).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Requests per minute per token (PlanetScale: 600).
    pub requests_per_minute: u32,
}

/// Where databases live.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClustersConfig {
    /// Start one MariaDB and one PostgreSQL under `<data_dir>/clusters` and serve the
    /// default region with them.
    pub managed: bool,
    /// Region the managed clusters serve (default: the default region).
    pub managed_region: Option<String>,
    /// Fixed ports for the managed clusters (default: picked once, then kept).
    pub managed_mysql_port: Option<u16>,
    pub managed_postgres_port: Option<u16>,
    /// Turn off fsync on the managed clusters: for tests and throwaway CI only.
    pub experimental_unsafe_no_fsync: bool,
    /// Longest opening an admin connection to a cluster may take (TCP and handshake):
    /// at start, in requests, and in the branch and account jobs.
    pub connect_timeout_seconds: u64,
    /// Servers dbplane administers but does not run.
    pub external: Vec<ExternalClusterConfig>,
}

/// A server administered through an admin URL.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalClusterConfig {
    /// `mysql` (MariaDB) or `postgresql`.
    pub kind: String,
    pub region: String,
    /// `mysql://root:secret@10.0.0.5:3306/` or `postgres://postgres:secret@10.0.0.6:5432/postgres`.
    pub admin_url: String,
    /// Host and port clients connect to (default: those of the admin URL).
    pub public_host: Option<String>,
    pub public_port: Option<u16>,
}

/// Backups: where they are stored, and the scheduler and retention reaper.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupsConfig {
    /// Directory of the local backup store; defaults to `<data_dir>/backups`.
    pub directory: Option<PathBuf>,
    /// Milliseconds between two looks of the scheduler (due policies) and reaper
    /// (expired backups).
    pub scheduler_interval_ms: u64,
    /// Accepts `second` and `minute` as retention and frequency units (for tests).
    pub allow_short_units: bool,
    /// Attempts of a backup's step before the backup is marked `failed` (the job
    /// runner's `max_attempts` for `run_backup`).
    pub max_attempts: i64,
    /// Most live branches restored from backups a database may have (each is a full copy
    /// of its data on the server); `at_backup_restore_branches_limit` says when reached.
    pub restored_branches_limit: u64,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        Self {
            directory: None,
            scheduler_interval_ms: 60_000,
            allow_short_units: false,
            max_attempts: 3,
            restored_branches_limit: 20,
        }
    }
}

/// Deploy requests: the revert window, cutover patience and how deploy jobs pace
/// themselves (tests shorten them).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploysConfig {
    /// How long after a cutover the deployment can be reverted (PlanetScale: 30 min).
    pub revert_window_seconds: u64,
    /// After this long failing to take the cutover lock, blockers are killed (1 h).
    pub force_cutover_after_seconds: u64,
    /// Longest a copy step runs before it saves a checkpoint.
    pub copy_step_millis: u64,
    /// How often a waiting deployment (queued, gated, in its revert window) looks again.
    pub poll_millis: u64,
    /// The checks of an open deploy request not deployed yet are re-run in the
    /// background once older than this (a branch's schema changes without dbplane
    /// seeing it); reads never run them. 0 turns the recheck off.
    pub recheck_after_millis: u64,
    /// The copy starts no chunk while the server's `Threads_running` is above this (the
    /// load throttle; gh-ost's default `max-load`). 0 turns it off.
    pub max_threads_running: u64,
}

impl Default for DeploysConfig {
    fn default() -> Self {
        Self {
            revert_window_seconds: 30 * 60,
            force_cutover_after_seconds: 60 * 60,
            copy_step_millis: 1000,
            poll_millis: 500,
            recheck_after_millis: 10_000,
            max_threads_running: 25,
        }
    }
}

impl Config {
    /// The local backup store's directory.
    pub fn backup_directory(&self) -> PathBuf {
        self.backups
            .directory
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// Where backups and restores keep temporary files (a PostgreSQL archive between
    /// `pg_dump`/`pg_restore` and the store): local, beside the clusters' data.
    pub fn backup_scratch_directory(&self) -> PathBuf {
        self.data_dir.join("backup-scratch")
    }
}

/// One cluster size.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSizeConfig {
    pub name: String,
    pub display_name: String,
    pub cpu: String,
    /// Memory in bytes.
    pub ram: i64,
    #[serde(default)]
    pub storage: Option<i64>,
    #[serde(default = "default_true")]
    pub development: bool,
    #[serde(default = "default_true")]
    pub production: bool,
}

impl Default for ClustersConfig {
    fn default() -> Self {
        Self {
            managed: true,
            managed_region: None,
            managed_mysql_port: None,
            managed_postgres_port: None,
            experimental_unsafe_no_fsync: false,
            connect_timeout_seconds: 5,
            external: Vec::new(),
        }
    }
}

impl ClustersConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_seconds)
    }
}

fn default_cluster_sizes() -> Vec<ClusterSizeConfig> {
    let size =
        |name: &str, display: &str, cpu: &str, gib: i64, development: bool| ClusterSizeConfig {
            name: name.to_string(),
            display_name: display.to_string(),
            cpu: cpu.to_string(),
            ram: gib * 1024 * 1024 * 1024,
            storage: None,
            development,
            production: !development,
        };
    vec![
        size("PS_DEV", "Development", "1/8", 1, true),
        size("PS_10", "PS-10", "1/8", 1, false),
        size("PS_20", "PS-20", "1/4", 2, false),
        size("PS_40", "PS-40", "1/2", 4, false),
        size("PS_80", "PS-80", "1", 8, false),
    ]
}

/// One region.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub slug: String,
    #[serde(default = "default_region_display_name")]
    pub display_name: String,
    #[serde(default = "default_region_location")]
    pub location: String,
    #[serde(default = "default_region_provider")]
    pub provider: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Whether new databases default to this region (first region when none says so).
    #[serde(default)]
    pub default: bool,
    /// Addresses clients connect from/to, as the operator wants them published.
    #[serde(default)]
    pub public_ip_addresses: Vec<String>,
    #[serde(default = "default_true")]
    pub mysql_supported: bool,
    #[serde(default = "default_true")]
    pub postgresql_supported: bool,
}

fn default_true() -> bool {
    true
}
fn default_region_display_name() -> String {
    "Local".to_string()
}
fn default_region_location() -> String {
    "This machine".to_string()
}
fn default_region_provider() -> String {
    "Local".to_string()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./dbplane-data"),
            public_url: None,
            api: ApiConfig::default(),
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            clusters: ClustersConfig::default(),
            jobs: JobsConfig::default(),
            backups: BackupsConfig::default(),
            deploys: DeploysConfig::default(),
            cluster_sizes: default_cluster_sizes(),
            regions: vec![RegionConfig {
                slug: "us-east".to_string(),
                display_name: "Local us-east".to_string(),
                location: default_region_location(),
                provider: default_region_provider(),
                enabled: true,
                default: true,
                public_ip_addresses: Vec::new(),
                mysql_supported: true,
                postgresql_supported: true,
            }],
            edge: crate::edge::settings::EdgeSettings::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            cache_ttl_seconds: 5,
            last_used_resolution_seconds: 1,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            requests_per_minute: 600,
        }
    }
}

/// A configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file; keys left out keep their defaults.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
    }

    /// Checks cross-field rules once, at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.regions.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one region is required".into(),
            ));
        }
        let mut slugs: Vec<&str> = self.regions.iter().map(|r| r.slug.as_str()).collect();
        slugs.sort_unstable();
        if slugs.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(ConfigError::Invalid("region slugs must be unique".into()));
        }
        if self.regions.iter().filter(|r| r.default).count() > 1 {
            return Err(ConfigError::Invalid(
                "at most one region may be the default".into(),
            ));
        }
        if let Some(problem) = self.edge.problem() {
            return Err(ConfigError::Invalid(problem));
        }
        for external in &self.clusters.external {
            if external.kind != "mysql" && external.kind != "postgresql" {
                return Err(ConfigError::Invalid(format!(
                    "clusters.external.kind must be mysql or postgresql, not {:?}",
                    external.kind
                )));
            }
            if !self.regions.iter().any(|r| r.slug == external.region) {
                return Err(ConfigError::Invalid(format!(
                    "clusters.external.region {:?} is not a configured region",
                    external.region
                )));
            }
        }
        if let Some(region) = &self.clusters.managed_region
            && !self.regions.iter().any(|r| &r.slug == region)
        {
            return Err(ConfigError::Invalid(format!(
                "clusters.managed_region {region:?} is not a configured region"
            )));
        }
        if self.cluster_sizes.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one cluster size is required".into(),
            ));
        }
        if self.backups.scheduler_interval_ms == 0 || self.backups.max_attempts < 1 {
            return Err(ConfigError::Invalid(
                "backups.scheduler_interval_ms and backups.max_attempts must be positive".into(),
            ));
        }
        if self.api.request_timeout_seconds == 0
            || self.api.cluster_timeout_seconds == 0
            || self.clusters.connect_timeout_seconds == 0
        {
            return Err(ConfigError::Invalid(
                "api.request_timeout_seconds, api.cluster_timeout_seconds and \
                 clusters.connect_timeout_seconds must be positive"
                    .into(),
            ));
        }
        self.jobs.validate()?;
        if self.rate_limit.enabled && self.rate_limit.requests_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "rate_limit.requests_per_minute must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The base URL clients use, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_validates() {
        let text = include_str!("../../../config.example.toml");
        let config: Config = toml::from_str(text).expect("config.example.toml parses");
        config.validate().expect("config.example.toml is valid");
        assert_eq!(config.backups.scheduler_interval_ms, 60_000);
        assert!(!config.backups.allow_short_units);
        assert_eq!(config.api.request_timeout_seconds, 30);
        assert_eq!(config.api.cluster_timeout_seconds, 10);
        assert_eq!(config.clusters.connect_timeout_seconds, 5);
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let mut config = Config::default();
        config.api.cluster_timeout_seconds = 0;
        assert!(config.validate().is_err());
    }

    #[test]
    fn defaults_have_one_default_region() {
        let config = Config::default();
        config.validate().unwrap();
        assert_eq!(config.regions[0].slug, "us-east");
        assert!(!config.rate_limit.enabled);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("listne = \"1.2.3.4:5\"").is_err());
    }
}
