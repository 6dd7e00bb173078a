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
        // `{keyspace: {shard: usage}}`; dbplane has one shard, `-`.
        let (free, capacity) = check.disk.unwrap_or((0, 0));
        let used = capacity.saturating_sub(free);
        let percentage_used = if capacity == 0 {
            0.0
        } else {
            used as f64 * 100.0 / capacity as f64
        };
        let shard = json!({
            "capacity": capacity,
            "has_enough": check.enough_storage,
            "percentage_used": percentage_used,
            "remaining": free,
            "storage_needed": check.storage_bytes_needed,
            "used": used,
        });
        Self {
            enough_storage: check.enough_storage,
            // A self-hosted server is not resized from here.
            upgradeable: false,
            storage_bytes_needed: check.storage_bytes_needed,
            storage_report: json!({ check.keyspace: { "-": shard } }),
        }
    }
}
