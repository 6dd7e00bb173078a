//! Backups and restores of branch databases, the engine side of issue 6.
//!
//! A backup is a set of objects in a [`BackupStore`] under the prefix `<backup_id>/`:
//! zstd-compressed data objects, then `<backup_id>/manifest.json` written **last**. A
//! backup without a manifest is incomplete by definition ([`backup_status`]): a job that
//! finds one after a crash marks the backup failed and [`delete_backup`]s its objects.
//!
//! - MariaDB ([`mysql`]): several sessions share one `START TRANSACTION WITH CONSISTENT
//!   SNAPSHOT` (repeatable read), taken while a control session holds `BACKUP STAGE
//!   BLOCK_COMMIT` for milliseconds (commits wait that long; nothing else is blocked), and
//!   their binlog positions are checked equal. They stream the tables in primary-key
//!   order as `LOAD DATA` text, a big table with an integer primary key split into key
//!   ranges, one object per range; the schema is the [`ClusterAdmin::schema`] text.
//!   Restore creates the tables without their plain secondary indexes, loads the ranges
//!   with `LOAD DATA LOCAL` on several sessions (not binlogged), adds each table's indexes
//!   in one `ALTER TABLE`, then creates the views.
//! - PostgreSQL ([`postgres`]): a repeatable-read transaction exports its snapshot; the
//!   rows of `public`'s tables are copied out on several sessions that import it, and
//!   `pg_dump --exclude-table-data` archives the rest. Restore runs the archive's
//!   definitions, copies the rows in on several sessions straight from the store, builds
//!   each table's indexes once its rows are in, then the rest of the archive.
//!
//! Every object's sha256 is in the manifest. MariaDB restore checks them all before it
//! touches the target; PostgreSQL checks the archive while staging it and each part of
//! rows while copying it in (a mismatch aborts that copy), so a corrupted backup fails with
//! [`BackupError::Checksum`] and the restore does not complete. Restore starts by dropping
//! and recreating the target database, so a restore interrupted by a crash is simply run
//! again. Temporary files live in a scratch directory named per backup or target (a rerun
//! replaces them) that the server empties at start.
//!
//! Locks: the MariaDB snapshot sessions keep a shared metadata lock on every table they
//! have read until they commit, and `pg_dump` holds ACCESS SHARE locks until it ends, so DDL on
//! the branch (an online schema change's cutover) waits for a running backup.

mod manifest;
mod mysql;
mod postgres;
mod store;
mod stream;

use std::path::{Path, PathBuf};

pub use manifest::{
    BackupManifest, MANIFEST_FORMAT, ManifestColumn, ManifestObject, ManifestPart,
    ManifestSchemaObject, ManifestTable, OLDEST_MANIFEST_FORMAT,
};
use manifest::{StoredPart, add_parts, check_format, manifest_key};
pub use store::{BackupStore, LocalDirStore, ObjectInfo, ObjectReader, ObjectWriter, validate_key};

use crate::cluster::ClusterKind;
use crate::error::EngineError;
use crate::physical::{ClusterAdmin, PhysicalName};

/// What went wrong while backing up or restoring.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A data-plane operation failed (SQL, connection, database missing).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading or writing the store or a pipe failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// An object's bytes do not match the sha256 (or size) its manifest records.
    #[error(
        "checksum mismatch in backup object `{key}`: the manifest records sha256 {expected}, \
         the stored object has {actual}; the backup is corrupted"
    )]
    Checksum {
        /// The object.
        key: String,
        /// The manifest's sha256 (hex).
        expected: String,
        /// The stored object's sha256 (hex).
        actual: String,
    },
    /// The backup has objects but no manifest: it never completed.
    #[error("backup `{backup_id}` is incomplete: it has no manifest")]
    Incomplete {
        /// The backup.
        backup_id: String,
    },
    /// An object the operation needs is not in the store.
    #[error("backup object `{key}` does not exist")]
    ObjectMissing {
        /// The key.
        key: String,
    },
    /// A key (or backup id) is not a safe object key.
    #[error("invalid backup object key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// The manifest cannot be used (unreadable, other engine, other format).
    #[error("invalid backup manifest: {0}")]
    Manifest(String),
    /// A dump or restore tool (`pg_dump`, `pg_restore`) failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// The tool.
        tool: &'static str,
        /// Its exit status and stderr tail.
        detail: String,
    },
    /// The sessions of a MariaDB backup did not get the same snapshot.
    #[error("no consistent snapshot: {0}")]
    Snapshot(String),
    /// A data object does not parse (bad framing after a matching checksum).
    #[error("backup object `{key}` is malformed: {detail}")]
    Malformed {
        /// The object.
        key: String,
        /// What is wrong.
        detail: String,
    },
}

impl BackupError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BackupError::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn sql(
        kind: ClusterKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BackupError::Engine(EngineError::sql(kind, source))
    }
}

/// What an engine's dump produced, for the manifest.
pub(crate) struct Dump {
    server_version: String,
    snapshot_position: String,
    schema: Vec<crate::physical::SchemaObject>,
    tables: Vec<ManifestTable>,
    objects: Vec<ManifestObject>,
    started_at: String,
}

/// Where a backup stands in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupStatus {
    /// The manifest is there: the backup completed.
    Complete(Box<BackupManifest>),
    /// Objects but no manifest: it never completed (crashed or still running).
    Incomplete {
        /// The objects it left.
        objects: Vec<ObjectInfo>,
    },
    /// Nothing under the backup's prefix.
    Missing,
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreReport {
    /// Rows loaded per table (MariaDB counts them; PostgreSQL reports the manifest's).
    pub tables: Vec<ManifestTable>,
    /// Uncompressed bytes replayed.
    pub bytes: u64,
}

fn check_backup_id(backup_id: &str) -> Result<(), BackupError> {
    validate_key(backup_id)?;
    if backup_id.contains('/') {
        return Err(BackupError::InvalidKey {
            key: backup_id.to_string(),
            reason: "a backup id is one key segment",
        });
    }
    Ok(())
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn schema_of(objects: &[crate::physical::SchemaObject]) -> Vec<ManifestSchemaObject> {
    objects.iter().map(ManifestSchemaObject::from).collect()
}

/// Tuning of [`backup_branch`].
#[derive(Clone, Debug)]
pub struct BackupOptions {
    /// MariaDB: a table with an integer primary key is split into primary-key ranges of
    /// about this many bytes on disk, each its own object, so several sessions can dump
    /// and load it at once.
    pub part_bytes: u64,
    /// MariaDB: sessions sharing the snapshot (1: no lock at all, see [`mysql`]). Three a
    /// core by default, at most 16: while a session's buffer is compressed its socket
    /// fills and its server thread waits, and more sessions keep both sides busy
    /// (measured on 2 cores, median of 3 rounds of 433 MB: 2 sessions 2.4 s, 3 2.2 s,
    /// 4 1.9 s, 6 1.8 s, 8 1.9 s; each costs a few MiB of buffers).
    pub sessions: usize,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            part_bytes: 32 << 20,
            sessions: (parallelism() * 3).min(16),
        }
    }
}

/// Sessions or tool jobs to run at once: the machine's cores, at least 2 (a session
/// waits on the server about half the time) and at most 8.
pub(crate) fn parallelism() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .clamp(2, 8)
}

/// Backs up the whole database `database` of the cluster `admin` (reached for the
/// backup's own sessions at `admin_url`) into `store` under `backup_id/`, and returns the
/// manifest it wrote last. Writers are not blocked. Objects a failed run leaves behind
/// (it returns an error, or the process dies) form an incomplete backup: delete them with
/// [`delete_backup`]. Running it again with the same id overwrites the objects. `scratch`
/// is a local directory for temporary files (PostgreSQL's archive before it is
/// compressed); the backup removes what it put there, and a process that died mid-backup
/// leaves files that only its owner's restart should remove. `options` tune the MariaDB
/// dump (the defaults suit production; tests make small parts).
pub async fn backup_branch(
    admin: &ClusterAdmin,
    admin_url: &str,
    database: &PhysicalName,
    store: &dyn BackupStore,
    backup_id: &str,
    scratch: &Path,
    options: &BackupOptions,
) -> Result<BackupManifest, BackupError> {
    check_backup_id(backup_id)?;
    if !admin.database_exists(database).await? {
        return Err(EngineError::NotFound {
            kind: admin.kind(),
            what: format!("database `{database}`"),
        }
        .into());
    }
    let started = std::time::Instant::now();
    let dump = match admin.kind() {
        ClusterKind::Mysql => {
            mysql::backup(admin, admin_url, database, store, backup_id, options).await?
        }
        ClusterKind::Postgresql => {
            let staging = Staging::create(scratch, &format!("backup-{backup_id}")).await?;
            postgres::backup(admin, admin_url, database, store, backup_id, &staging).await?
        }
    };
    let mut manifest = BackupManifest {
        format: MANIFEST_FORMAT,
        backup_id: backup_id.to_string(),
        engine: admin.kind().as_str().to_string(),
        server_version: dump.server_version,
        database: database.as_str().to_string(),
        snapshot_position: dump.snapshot_position,
        schema: schema_of(&dump.schema),
        tables: dump.tables,
        objects: dump.objects,
        size: 0,
        uncompressed_size: 0,
        started_at: dump.started_at,
        completed_at: String::new(),
    };
    manifest.size = manifest.objects.iter().map(|object| object.size).sum();
    manifest.uncompressed_size = manifest
        .objects
        .iter()
        .map(|object| object.uncompressed_size)
        .sum();
    manifest.completed_at = now_rfc3339();
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        objects = manifest.objects.len(),
        "backup: objects stored"
    );
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|error| BackupError::Manifest(error.to_string()))?;
    store.put_bytes(&manifest_key(backup_id), &json).await?;
    Ok(manifest)
}

/// Reads the manifest of `backup_id`: [`BackupError::Incomplete`] when the backup has
/// objects but no manifest, [`BackupError::ObjectMissing`] when it has nothing.
pub async fn read_manifest(
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<BackupManifest, BackupError> {
    match backup_status(store, backup_id).await? {
        BackupStatus::Complete(manifest) => Ok(*manifest),
        BackupStatus::Incomplete { .. } => Err(BackupError::Incomplete {
            backup_id: backup_id.to_string(),
        }),
        BackupStatus::Missing => Err(BackupError::ObjectMissing {
            key: manifest_key(backup_id),
        }),
    }
}

/// Whether `backup_id` is complete, incomplete or absent in `store`.
pub async fn backup_status(
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<BackupStatus, BackupError> {
    check_backup_id(backup_id)?;
    let key = manifest_key(backup_id);
    match store.get_bytes(&key).await {
        Ok(bytes) => {
            let manifest: BackupManifest = serde_json::from_slice(&bytes)
                .map_err(|error| BackupError::Manifest(format!("`{key}`: {error}")))?;
            check_format(manifest.format)
                .map_err(|error| BackupError::Manifest(format!("`{key}`: {error}")))?;
            Ok(BackupStatus::Complete(Box::new(manifest)))
        }
        Err(BackupError::ObjectMissing { .. }) => {
            let objects = store.list(&format!("{backup_id}/")).await?;
            if objects.is_empty() {
                Ok(BackupStatus::Missing)
            } else {
                Ok(BackupStatus::Incomplete { objects })
            }
        }
        Err(error) => Err(error),
    }
}

/// Deletes every object of `backup_id`, the manifest first, so a deletion cut short
/// leaves an incomplete backup (deleted again by the next attempt), never a manifest
/// that points at missing objects. Idempotent.
pub async fn delete_backup(store: &dyn BackupStore, backup_id: &str) -> Result<(), BackupError> {
    check_backup_id(backup_id)?;
    store.delete(&manifest_key(backup_id)).await?;
    for object in store.list(&format!("{backup_id}/")).await? {
        store.delete(&object.key).await?;
    }
    Ok(())
}

/// Reads every object of the backup and checks its size and sha256 against the manifest.
pub async fn verify_backup(
    store: &dyn BackupStore,
    manifest: &BackupManifest,
) -> Result<(), BackupError> {
    for object in &manifest.objects {
        stream::verify_object(store, object).await?;
    }
    Ok(())
}

/// Restores the backup described by `manifest` from `store` into the database `target`
/// of cluster `admin` (reached at `admin_url` for the restore's own sessions). The target
/// is dropped and recreated first (so the call is restartable after a crash); every
/// object is verified before anything is loaded. Credentials of the target must be
/// created after the restore. `scratch` is a local directory for temporary files
/// (PostgreSQL's archive, staged for a parallel `pg_restore`), as for [`backup_branch`].
pub async fn restore_branch(
    admin: &ClusterAdmin,
    admin_url: &str,
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    target: &PhysicalName,
    scratch: &Path,
) -> Result<RestoreReport, BackupError> {
    check_format(manifest.format).map_err(BackupError::Manifest)?;
    let started = std::time::Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    let kind = manifest.kind()?;
    if kind != admin.kind() {
        return Err(BackupError::Manifest(format!(
            "a {kind} backup cannot be restored into a {} cluster",
            admin.kind()
        )));
    }
    match kind {
        ClusterKind::Mysql => {
            verify_backup(store, manifest).await?;
            tracing::debug!(seconds = elapsed(), "restore: backup verified");
            admin.drop_database(target).await?;
            admin.create_database(target).await?;
            mysql::restore(admin_url, manifest, store, target).await
        }
        ClusterKind::Postgresql => {
            let staging = Staging::create(scratch, &format!("restore-{target}")).await?;
            postgres::restore(admin, admin_url, manifest, store, target, &staging).await
        }
    }
}

/// A directory of temporary files under the scratch directory, named after the operation
/// (so a rerun replaces what a crashed run left) and removed when dropped.
pub(crate) struct Staging {
    path: PathBuf,
}

impl Staging {
    async fn create(scratch: &Path, name: &str) -> Result<Self, BackupError> {
        let path = scratch.join(name);
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(BackupError::io(format!("remove {}", path.display()), error));
            }
        }
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|error| BackupError::io(format!("create {}", path.display()), error))?;
        Ok(Staging { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(%error, path = %self.path.display(), "could not remove staging files");
        }
    }
}
