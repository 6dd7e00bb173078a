//! Where backup objects live: the [`BackupStore`] trait and its local-directory
//! implementation.
//!
//! An object appears under its final key only once it is complete: a writer streams into
//! a hidden temporary name and [`ObjectWriter::commit`] makes it durable (fsync) and
//! renames it into place; a writer dropped without commit leaves nothing under the key.
//! An S3-compatible store maps the same contract onto a multipart upload (commit =
//! complete the upload, drop = abort it).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};

use super::BackupError;

/// The directory (under a store root) that holds objects being written.
const PARTIAL_DIRECTORY: &str = ".partial";
/// The write buffer of a local object.
const WRITE_BUFFER: usize = 1 << 20;

/// One stored object, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's key, e.g. `bk_1/data/0001.sql.zst`.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A stream of bytes being written to one object. Dropping it without
/// [`ObjectWriter::commit`] aborts the object: nothing appears under its key.
#[async_trait]
pub trait ObjectWriter: AsyncWrite + Send + Unpin {
    /// Makes the object durable and visible under its key (replacing any object there).
    async fn commit(self: Box<Self>) -> Result<(), BackupError>;
}

/// A reader of one object's bytes.
pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// A place for backup objects, addressed by key (`/`-separated segments of
/// `[A-Za-z0-9._-]`, none starting with `.`).
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Starts writing the object `key`.
    async fn put(&self, key: &str) -> Result<Box<dyn ObjectWriter>, BackupError>;
    /// Opens the object `key` for reading; [`BackupError::ObjectMissing`] if absent.
    async fn get(&self, key: &str) -> Result<ObjectReader, BackupError>;
    /// The complete objects whose keys start with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BackupError>;
    /// Deletes the object `key` (idempotent: a missing object is not an error).
    async fn delete(&self, key: &str) -> Result<(), BackupError>;

    /// Writes a whole small object (a manifest) at once.
    async fn put_bytes(&self, key: &str, bytes: &[u8]) -> Result<(), BackupError> {
        let mut writer = self.put(key).await?;
        writer
            .write_all(bytes)
            .await
            .map_err(|error| BackupError::io(format!("write object `{key}`"), error))?;
        writer
            .shutdown()
            .await
            .map_err(|error| BackupError::io(format!("write object `{key}`"), error))?;
        writer.commit().await
    }

    /// Reads a whole small object (a manifest) at once.
    async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, BackupError> {
        use tokio::io::AsyncReadExt;
        let mut reader = self.get(key).await?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| BackupError::io(format!("read object `{key}`"), error))?;
        Ok(bytes)
    }
}

/// Checks that `key` is a safe relative object key.
pub fn validate_key(key: &str) -> Result<(), BackupError> {
    let invalid = |reason: &'static str| BackupError::InvalidKey {
        key: key.to_string(),
        reason,
    };
    if key.is_empty() || key.len() > 512 {
        return Err(invalid("must be 1 to 512 bytes long"));
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return Err(invalid("has an empty segment"));
        }
        if segment.starts_with('.') {
            return Err(invalid("has a segment starting with `.`"));
        }
        if !segment
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
        {
            return Err(invalid("may hold only A-Z a-z 0-9 . _ - and /"));
        }
    }
    Ok(())
}

/// A [`BackupStore`] in a local directory: key `a/b` is file `<root>/a/b`.
#[derive(Debug)]
pub struct LocalDirStore {
    root: PathBuf,
    counter: AtomicU64,
}

impl LocalDirStore {
    /// Opens (creating it if needed) the store at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, BackupError> {
        let root = root.into();
        let partial = root.join(PARTIAL_DIRECTORY);
        tokio::fs::create_dir_all(&partial)
            .await
            .map_err(|error| BackupError::io(format!("create {}", partial.display()), error))?;
        Ok(LocalDirStore {
            root,
            counter: AtomicU64::new(0),
        })
    }

    /// Removes the partial objects crashed writers left behind. Only for when no writer
    /// is active on this directory (at the startup of the one process that uses it).
    pub async fn remove_partial_objects(&self) -> Result<(), BackupError> {
        let partial = self.root.join(PARTIAL_DIRECTORY);
        let _ = tokio::fs::remove_dir_all(&partial).await;
        tokio::fs::create_dir_all(&partial)
            .await
            .map_err(|error| BackupError::io(format!("create {}", partial.display()), error))
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, BackupError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl BackupStore for LocalDirStore {
    async fn put(&self, key: &str) -> Result<Box<dyn ObjectWriter>, BackupError> {
        let target = self.path(key)?;
        let temporary = self.root.join(PARTIAL_DIRECTORY).join(format!(
            "{}-{}-{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed),
            key.replace('/', "_")
        ));
        let file = tokio::fs::File::create(&temporary)
            .await
            .map_err(|error| BackupError::io(format!("create {}", temporary.display()), error))?;
        Ok(Box::new(LocalObjectWriter {
            file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            temporary,
            target,
        }))
    }

    async fn get(&self, key: &str) -> Result<ObjectReader, BackupError> {
        let path = self.path(key)?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::new(file)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Err(BackupError::ObjectMissing {
                    key: key.to_string(),
                })
            }
            Err(error) => Err(BackupError::io(format!("open {}", path.display()), error)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, BackupError> {
        let mut found = Vec::new();
        let mut pending = vec![(self.root.clone(), String::new())];
        while let Some((directory, key_prefix)) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&directory).await {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => {
                    return Err(BackupError::io(
                        format!("list {}", directory.display()),
                        error,
                    ));
                }
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|error| BackupError::io(format!("list {}", directory.display()), error))?
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let key = format!("{key_prefix}{name}");
                let metadata = entry
                    .metadata()
                    .await
                    .map_err(|error| BackupError::io(format!("stat {key}"), error))?;
                if metadata.is_dir() {
                    let child = format!("{key}/");
                    // Descend only where keys under it can match the prefix.
                    if child.starts_with(prefix) || prefix.starts_with(&child) {
                        pending.push((entry.path(), child));
                    }
                } else if key.starts_with(prefix) {
                    found.push(ObjectInfo {
                        key,
                        size: metadata.len(),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn delete(&self, key: &str) -> Result<(), BackupError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(BackupError::io(format!("delete {}", path.display()), error));
            }
        }
        // Directories exist only for their objects: remove the ones left empty (a
        // non-empty one refuses, which ends the walk).
        let mut directory = path.parent();
        while let Some(dir) = directory {
            if dir == self.root || tokio::fs::remove_dir(dir).await.is_err() {
                break;
            }
            directory = dir.parent();
        }
        Ok(())
    }
}

/// A local object being written to its temporary file.
struct LocalObjectWriter {
    file: Option<BufWriter<tokio::fs::File>>,
    temporary: PathBuf,
    target: PathBuf,
}

impl LocalObjectWriter {
    fn file(&mut self) -> &mut BufWriter<tokio::fs::File> {
        self.file.as_mut().expect("writer used after commit")
    }
}

impl AsyncWrite for LocalObjectWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(self.file()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.file()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.file()).poll_shutdown(cx)
    }
}

#[async_trait]
impl ObjectWriter for LocalObjectWriter {
    async fn commit(mut self: Box<Self>) -> Result<(), BackupError> {
        let target = self.target.clone();
        let what = |step: &str| format!("{step} {}", target.display());
        let mut file = self.file.take().expect("commit called once");
        file.flush()
            .await
            .map_err(|error| BackupError::io(what("write"), error))?;
        let file = file.into_inner();
        file.sync_all()
            .await
            .map_err(|error| BackupError::io(what("fsync"), error))?;
        drop(file);
        let parent = target.parent().expect("an object path has a parent");
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|error| BackupError::io(what("create the directory of"), error))?;
        tokio::fs::rename(&self.temporary, &target)
            .await
            .map_err(|error| BackupError::io(what("rename into"), error))?;
        // The rename is durable once the directory entry is.
        let directory = tokio::fs::File::open(parent)
            .await
            .map_err(|error| BackupError::io(what("open the directory of"), error))?;
        directory
            .sync_all()
            .await
            .map_err(|error| BackupError::io(what("fsync the directory of"), error))?;
        Ok(())
    }
}

impl Drop for LocalObjectWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            // Not committed: the object is aborted.
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("bk_1/data/0001.sql.zst").is_ok());
        for bad in ["", "/a", "a//b", "a/../b", ".partial/x", "a b", "a/"] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
    }
}
