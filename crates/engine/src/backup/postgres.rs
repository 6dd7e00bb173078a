//! PostgreSQL backups: a repeatable-read transaction exports its snapshot, `pg_dump -Fc
//! -Z0 --snapshot=…` writes the database to an archive file in the staging directory
//! while the same transaction counts each table's rows, and the archive is compressed
//! into a few objects at once (byte ranges of it, concatenated in manifest order).
//!
//! The archive goes through a file because only an archive `pg_dump` wrote to a seekable
//! file records where each table's data starts, which a parallel `pg_restore` uses (it
//! can read archives without those offsets, scanning for the data, measured ~15 %
//! slower). Restore stages the archive back into a file, decompressing and checking
//! every object in the same pass, then runs `pg_restore -j` on it as the target's owner
//! role. Format 1 backups (one object, archive streamed from a pipe) restore the same way.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::task::JoinSet;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use super::stream::{ObjectSink, open_verified};
use super::{
    BackupError, BackupManifest, BackupStore, Dump, ManifestObject, ManifestTable, RestoreReport,
    Staging, now_rfc3339, parallelism,
};
use crate::cluster::{ClusterKind, find_pg_dump};
use crate::physical::{ClusterAdmin, PhysicalName};

const KIND: ClusterKind = ClusterKind::Postgresql;
/// The most of a tool's stderr an error message carries.
const STDERR_TAIL: usize = 2048;
/// Read and write buffer size.
const CHUNK: usize = 256 << 10;
/// The archive's file name in the staging directory.
const ARCHIVE: &str = "database.pgdump";
/// An archive smaller than twice this is one object.
const MIN_PART_BYTES: u64 = 32 << 20;

fn sql(error: tokio_postgres::Error) -> BackupError {
    BackupError::sql(KIND, error)
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn connect(config: &Config, db: &str) -> Result<Client, BackupError> {
    let (client, connection) = config
        .clone()
        .dbname(db)
        .connect(NoTls)
        .await
        .map_err(sql)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "backup connection to postgres ended");
        }
    });
    Ok(client)
}

/// `pg_dump` or, beside it, another tool of the same installation.
fn tool(name: &str) -> Result<PathBuf, BackupError> {
    let pg_dump = find_pg_dump()?;
    Ok(match name {
        "pg_dump" => pg_dump,
        other => pg_dump.with_file_name(other),
    })
}

/// A client tool command connected like the admin.
fn command(program: &Path, config: &Config) -> Command {
    let mut command = Command::new(program);
    command
        .arg("--no-password")
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .kill_on_drop(true);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => {
            command.arg(format!("--host={host}"));
        }
        Some(Host::Unix(directory)) => {
            command.arg("--host").arg(directory);
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        command.arg(format!("--port={port}"));
    }
    if let Some(user) = config.get_user() {
        command.arg(format!("--username={user}"));
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", std::ffi::OsStr::from_bytes(password));
    }
    command
}

fn tail(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    stderr[stderr.floor_char_boundary(stderr.len().saturating_sub(STDERR_TAIL))..]
        .trim()
        .to_string()
}

/// Collects a child's stderr in a task, so a chatty child never blocks on it.
fn read_stderr(mut stderr: tokio::process::ChildStderr) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text).await;
        text
    })
}

pub(super) async fn backup(
    admin: &ClusterAdmin,
    admin_url: &str,
    database: &PhysicalName,
    store: &dyn BackupStore,
    backup_id: &str,
    staging: &Staging,
) -> Result<Dump, BackupError> {
    let config: Config = admin_url.parse().map_err(sql)?;
    let db = database.as_str();
    let client = connect(&config, db).await?;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(sql)?;
    let row = client
        .query_one(
            "SELECT pg_export_snapshot(), pg_current_wal_lsn()::text, version()",
            &[],
        )
        .await
        .map_err(sql)?;
    let snapshot: String = row.get(0);
    let snapshot_position: String = row.get(1);
    let server_version: String = row.get(2);
    let started_at = now_rfc3339();
    let schema = admin.schema(database).await?;
    let table_names = admin.table_names(database).await?;

    let program = tool("pg_dump")?;
    let archive = staging.path().join(ARCHIVE);
    let mut dump = command(&program, &config);
    dump.args([
        "--format=custom",
        "--compress=0",
        "--no-owner",
        "--no-privileges",
    ])
    .arg(format!("--snapshot={snapshot}"))
    .arg("--file")
    .arg(&archive)
    .arg(format!("--dbname={db}"))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = dump.spawn().map_err(|error| BackupError::Tool {
        tool: "pg_dump",
        detail: format!("run {}: {error}", program.display()),
    })?;
    let stderr = read_stderr(child.stderr.take().expect("piped stderr"));
    let count = async {
        let mut tables = Vec::new();
        for table in &table_names {
            let rows: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM public.{}", quote(table)),
                    &[],
                )
                .await
                .map_err(sql)?
                .get(0);
            tables.push(ManifestTable {
                name: table.clone(),
                rows: u64::try_from(rows).unwrap_or_default(),
                object: None,
                parts: Vec::new(),
                columns: Vec::new(),
            });
        }
        Ok::<_, BackupError>(tables)
    };
    let (status, tables) = tokio::join!(child.wait(), count);
    let status = status.map_err(|error| BackupError::io("wait for pg_dump", error))?;
    let errors = stderr.await.unwrap_or_default();
    if !status.success() {
        return Err(BackupError::Tool {
            tool: "pg_dump",
            detail: format!("dump of `{db}` exited ({status}): {}", tail(&errors)),
        });
    }
    let tables = tables?;
    let objects = compress_archive(&archive, store, backup_id).await?;
    client.batch_execute("COMMIT").await.map_err(sql)?;
    Ok(Dump {
        server_version,
        snapshot_position,
        schema,
        tables,
        objects,
        started_at,
    })
}

/// Splits the archive into byte ranges of at least [`MIN_PART_BYTES`], one per core,
/// and compresses them into objects at once.
async fn compress_archive(
    archive: &Path,
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<Vec<ManifestObject>, BackupError> {
    let size = tokio::fs::metadata(archive)
        .await
        .map_err(|error| BackupError::io(format!("stat {}", archive.display()), error))?
        .len();
    let count = (size / MIN_PART_BYTES).clamp(1, parallelism() as u64);
    let step = size.div_ceil(count);
    let mut tasks = JoinSet::new();
    for part in 0..count {
        let key = format!("{backup_id}/database.pgdump.{:02}.zst", part + 1);
        let sink = ObjectSink::create(store, key).await?;
        let archive = archive.to_path_buf();
        let start = part * step;
        let length = step.min(size - start);
        tasks.spawn(async move {
            let what = || format!("read {}", archive.display());
            let mut file = tokio::fs::File::open(&archive)
                .await
                .map_err(|error| BackupError::io(what(), error))?;
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|error| BackupError::io(what(), error))?;
            let mut range = file.take(length);
            let mut sink = sink;
            let mut buffer = vec![0u8; CHUNK];
            loop {
                let read = range
                    .read(&mut buffer)
                    .await
                    .map_err(|error| BackupError::io(what(), error))?;
                if read == 0 {
                    break;
                }
                sink.write(&buffer[..read]).await?;
            }
            Ok::<_, BackupError>((part, sink.finish().await?))
        });
    }
    let mut objects = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        objects.push(joined.map_err(|error| {
            BackupError::io("compress the archive", std::io::Error::other(error))
        })??);
    }
    objects.sort_by_key(|(part, _)| *part);
    Ok(objects.into_iter().map(|(_, object)| object).collect())
}

/// Decompresses the backup's objects into one archive file in `staging`, each at its
/// offset and all at once, checking each object's size and sha256 as it is read.
pub(super) async fn stage(
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    staging: &Staging,
) -> Result<PathBuf, BackupError> {
    if manifest.objects.is_empty() {
        return Err(BackupError::Manifest(
            "a postgresql backup has no archive object".to_string(),
        ));
    }
    let archive = staging.path().join(ARCHIVE);
    let what = || format!("write {}", archive.display());
    let file = tokio::fs::File::create(&archive)
        .await
        .map_err(|error| BackupError::io(what(), error))?;
    file.set_len(manifest.uncompressed_size)
        .await
        .map_err(|error| BackupError::io(what(), error))?;
    drop(file);
    let mut tasks = JoinSet::new();
    let mut offset = 0;
    for object in &manifest.objects {
        let reader = open_verified(store, object).await?;
        let archive = archive.clone();
        let start = offset;
        offset += object.uncompressed_size;
        let expected = object.uncompressed_size;
        let key = object.key.clone();
        tasks.spawn(async move {
            let what = || format!("write {}", archive.display());
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&archive)
                .await
                .map_err(|error| BackupError::io(what(), error))?;
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|error| BackupError::io(what(), error))?;
            let mut reader = reader;
            let mut file = tokio::io::BufWriter::with_capacity(CHUNK, file);
            let copied = tokio::io::copy(&mut reader, &mut file).await;
            // A checksum mismatch explains a decompression error: it goes first.
            reader.check().await?;
            let written =
                copied.map_err(|error| BackupError::io(format!("stage object `{key}`"), error))?;
            file.flush()
                .await
                .map_err(|error| BackupError::io(what(), error))?;
            if written != expected {
                return Err(BackupError::Malformed {
                    key,
                    detail: format!("holds {written} bytes, the manifest says {expected}"),
                });
            }
            Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| {
            BackupError::io("stage the archive", std::io::Error::other(error))
        })??;
    }
    Ok(archive)
}

/// Restores the staged `archive` with a parallel `pg_restore` as the target's owner.
pub(super) async fn restore(
    admin_url: &str,
    manifest: &BackupManifest,
    archive: &Path,
    target: &PhysicalName,
) -> Result<RestoreReport, BackupError> {
    let config: Config = admin_url.parse().map_err(sql)?;
    let owner = target.owner()?;
    let program = tool("pg_restore")?;
    let mut restore = command(&program, &config);
    restore
        .args(["--no-owner", "--no-privileges", "--exit-on-error"])
        .arg(format!("--jobs={}", parallelism()))
        .arg(format!("--role={owner}"))
        .arg(format!("--dbname={target}"))
        // No PGOPTIONS: `maintenance_work_mem=256MB` made it slower on 2 cores (more
        // parallel index-build workers than cores) and `synchronous_commit=off` made no
        // difference (pg_restore commits once per table and index).
        .arg(archive)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = restore.spawn().map_err(|error| BackupError::Tool {
        tool: "pg_restore",
        detail: format!("run {}: {error}", program.display()),
    })?;
    let output = child
        .wait_with_output()
        .await
        .map_err(|error| BackupError::io("wait for pg_restore", error))?;
    if !output.status.success() {
        return Err(BackupError::Tool {
            tool: "pg_restore",
            detail: format!(
                "restore into `{target}` exited ({}): {}",
                output.status,
                tail(&output.stderr)
            ),
        });
    }
    Ok(RestoreReport {
        tables: manifest.tables.clone(),
        bytes: manifest.uncompressed_size,
    })
}
