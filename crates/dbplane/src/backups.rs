//! The backup store `serve` uses: a local directory (`[backups] directory`, by default
//! `<data_dir>/backups`). Objects a crashed write left half-written are removed at start,
//! and so are the temporary files of backups and restores a crash cut short.

use anyhow::Context;
use dbplane_control::Config;
use dbplane_engine::backup::{BackupStore, LocalDirStore};
use std::path::PathBuf;
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

/// The backups' scratch directory, emptied: no backup or restore runs yet.
pub async fn open_scratch(config: &Config) -> anyhow::Result<PathBuf> {
    let directory = config.backup_scratch_directory();
    match tokio::fs::remove_dir_all(&directory).await {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("empty {}", directory.display()));
        }
    }
    tokio::fs::create_dir_all(&directory)
        .await
        .with_context(|| format!("create {}", directory.display()))?;
    Ok(directory)
}
