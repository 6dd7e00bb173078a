//! The deploy throttler (per deploy request or per database) and the storage check.

use dbplane_control::deploys::{StorageCheck, Throttler};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
pub struct ConfigurableResponse {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

#[derive(Serialize)]
pub struct ThrottlerConfiguration {
    keyspace_name: String,
    ratio: f64,
}

#[derive(Serialize)]
pub struct ThrottlerResponse {
    keyspaces: Vec<String>,
    configurable: ConfigurableResponse,
    configurations: Vec<ThrottlerConfiguration>,
}

impl From<Throttler> for ThrottlerResponse {
    fn from(throttler: Throttler) -> Self {
        Self {
            keyspaces: vec![throttler.keyspace.clone()],
            configurable: ConfigurableResponse {
                id: throttler.configurable_id,
                name: throttler.configurable_name,
                created_at: throttler.created_at.to_iso8601(),
                updated_at: throttler.updated_at.to_iso8601(),
                deleted_at: None,
            },
            configurations: vec![ThrottlerConfiguration {
                keyspace_name: throttler.keyspace,
                ratio: f64::from(throttler.ratio),
            }],
        }
    }
}

#[derive(Serialize)]
pub struct StorageCheckResponse {
    enough_storage: bool,
    upgradeable: bool,
    storage_bytes_needed: u64,
    storage_report: Value,
}

impl From<StorageCheck> for StorageCheckResponse {
    fn from(check: StorageCheck) -> Self {
        let tables: Vec<Value> = check
            .tables
            .iter()
            .map(|(name, bytes)| json!({"table_name": name, "bytes": bytes}))
            .collect();
        Self {
            enough_storage: check.enough_storage,
            // A self-hosted server is not resized from here.
            upgradeable: false,
            storage_bytes_needed: check.storage_bytes_needed,
            storage_report: json!({"free_bytes": check.free_bytes, "tables": tables}),
        }
    }
}
