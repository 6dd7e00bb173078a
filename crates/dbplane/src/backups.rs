//! The backup store `serve` uses: a local directory (`[backups] directory`, by default
//! `<data_dir>/backups`). Objects a crashed write left half-written are removed at start.

use anyhow::Context;
use dbplane_control::Config;
use dbplane_engine::backup::{BackupStore, LocalDirStore};
use std::sync::Arc;

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn BackupStore>> {
    let directory = config.backup_directory();
    let store = LocalDirStore::open(&directory)
        .await
        .with_context(|| format!("open the backup store {}", directory.display()))?;
    // This process holds the data dir lock: no other writer can be mid-object.
    store
        .remove_partial_objects()
        .await
        .context("remove partial backup objects")?;
    Ok(Arc::new(store))
}
