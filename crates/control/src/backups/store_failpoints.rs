//! A [`BackupStore`] wrapper with two failpoints: `run_backup.object_stored`, right after
//! a data object (not the manifest) is committed: killed there, the process leaves an
//! incomplete backup behind exactly as a crash mid-dump would; paused there, the dump
//! waits with its snapshot open (MariaDB's sessions still hold their tables' metadata
//! locks) and nothing recorded as complete. `restore_branch.object_read`, when a restore
//! opens a data object, with the restore's temporary files (a PostgreSQL archive being
//! staged) in the scratch directory.

use async_trait::async_trait;
use dbplane_engine::backup::{BackupError, BackupStore, ObjectInfo, ObjectReader, ObjectWriter};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// The failpoint after a data object is stored.
pub const OBJECT_STORED: &str = "run_backup.object_stored";
/// The failpoint when a data object is opened for reading.
pub const OBJECT_READ: &str = "restore_branch.object_read";

pub struct FailpointStore<'a> {
    inner: &'a dyn BackupStore,
}

impl<'a> FailpointStore<'a> {
    pub fn new(inner: &'a dyn BackupStore) -> Self {
        Self { inner }
    }
}

struct FailpointWriter {
    inner: Box<dyn ObjectWriter>,
    data_object: bool,
}

impl AsyncWrite for FailpointWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl ObjectWriter for FailpointWriter {
    async fn commit(self: Box<Self>) -> Result<(), BackupError> {
        let data_object = self.data_object;
        self.inner.commit().await?;
        if data_object {
            dbplane_jobs::failpoint(OBJECT_STORED).await;
        }
        Ok(())
    }
}

#[async_trait]
impl BackupStore for FailpointStore<'_> {
    async fn put(&self, key: &str) -> Result<Box<dyn ObjectWriter>, BackupError> {
        Ok(Box::new(FailpointWriter {
            inner: self.inner.put(key).await?,
            data_object: !key.ends_with("/manifest.json"),
        }))
    }
    async fn get(&self, key: &str) -> Result<ObjectReader, BackupError> {
        let reader = self.inner.get(key).await?;
        if !key.ends_with("/manifest.json") {
            dbplane_jobs::failpoint(OBJECT_READ).await;
        }
        Ok(reader)
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BackupError> {
        self.inner.list(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), BackupError> {
        self.inner.delete(key).await
    }
}
