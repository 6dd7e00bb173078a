//! The `pg_dump` archive of a PostgreSQL backup: written to a file in the staging
//! directory (only an archive `pg_dump` wrote to a seekable file records where each
//! entry starts, which a parallel `pg_restore` uses), compressed into objects, and staged
//! back into a file for `pg_restore`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio_postgres::Config;

use super::super::stream::{ObjectSink, open_verified};
use super::super::{BackupError, BackupStore, ManifestObject, Staging, parallelism};
use super::{command, quote, read_stderr, tail, tool};
use crate::physical::PhysicalName;

/// Read and write buffer size.
const CHUNK: usize = 256 << 10;
/// The archive's file name in the staging directory.
const ARCHIVE: &str = "database.pgdump";
/// An archive smaller than twice this is one object.
const MIN_PART_BYTES: u64 = 32 << 20;

/// Runs `pg_dump -Fc` in `snapshot` without the rows of the `public` tables in
/// `excluded` (copied separately) and stores the archive.
pub(super) async fn dump(
    config: &Config,
    db: &str,
    snapshot: &str,
    excluded: &[String],
    staging: &Staging,
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<Vec<ManifestObject>, BackupError> {
    let program = tool("pg_dump")?;
    let archive = staging.path().join(ARCHIVE);
    let mut dump = command(&program, config);
    dump.args([
        "--format=custom",
        "--compress=0",
        "--no-owner",
        "--no-privileges",
    ])
    .arg(format!("--snapshot={snapshot}"))
    .args(
        excluded
            .iter()
            .map(|table| format!("--exclude-table-data=public.{}", quote(table))),
    )
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
    let status = child
        .wait()
        .await
        .map_err(|error| BackupError::io("wait for pg_dump", error))?;
    let errors = stderr.await.unwrap_or_default();
    if !status.success() {
        return Err(BackupError::Tool {
            tool: "pg_dump",
            detail: format!("dump of `{db}` exited ({status}): {}", tail(&errors)),
        });
    }
    compress_archive(&archive, store, backup_id).await
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
    objects: &[ManifestObject],
    store: &dyn BackupStore,
    staging: &Staging,
) -> Result<PathBuf, BackupError> {
    if objects.is_empty() {
        return Err(BackupError::Manifest(
            "a postgresql backup has no archive object".to_string(),
        ));
    }
    let archive = staging.path().join(ARCHIVE);
    let what = || format!("write {}", archive.display());
    let file = tokio::fs::File::create(&archive)
        .await
        .map_err(|error| BackupError::io(what(), error))?;
    file.set_len(objects.iter().map(|object| object.uncompressed_size).sum())
        .await
        .map_err(|error| BackupError::io(what(), error))?;
    drop(file);
    let mut tasks = JoinSet::new();
    let mut offset = 0;
    for object in objects {
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

/// The archive's table of contents (`pg_restore -l`).
pub(super) async fn list(archive: &Path) -> Result<String, BackupError> {
    let program = tool("pg_restore")?;
    let output = tokio::process::Command::new(&program)
        .arg("--list")
        .arg(archive)
        // The restore already runs as many builds and loads as cores: an index build's own
        // parallel workers only add processes that take turns on them (on 2 cores the
        // restore of 451 MB went from 4.1 to 3.9–4.0 s and the server's CPU from 6.4 to
        // 6.0–6.2 s without them).
        .env("PGOPTIONS", "-c max_parallel_maintenance_workers=0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| BackupError::Tool {
            tool: "pg_restore",
            detail: format!("run {}: {error}", program.display()),
        })?;
    if !output.status.success() {
        return Err(BackupError::Tool {
            tool: "pg_restore",
            detail: format!("list exited ({}): {}", output.status, tail(&output.stderr)),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| BackupError::Tool {
        tool: "pg_restore",
        detail: "the archive's listing is not UTF-8".to_string(),
    })
}

/// Runs `pg_restore` of the staged `archive` into `target` as its owner: the `sections`
/// given (none: all), only the entries in the `entries` list file if one is given, with
/// `jobs` at once.
pub(super) async fn restore(
    config: &Config,
    archive: &Path,
    target: &PhysicalName,
    sections: &[&str],
    entries: Option<PathBuf>,
    jobs: usize,
) -> Result<(), BackupError> {
    let owner = target.owner()?;
    let program = tool("pg_restore")?;
    let mut restore = command(&program, config);
    restore
        .args(["--no-owner", "--no-privileges", "--exit-on-error"])
        .args(
            sections
                .iter()
                .map(|section| format!("--section={section}")),
        )
        .args(
            entries
                .iter()
                .flat_map(|list| [OsStr::new("--use-list"), list.as_os_str()]),
        )
        .arg(format!("--jobs={jobs}"))
        .arg(format!("--role={owner}"))
        .arg(format!("--dbname={target}"))
        // `maintenance_work_mem=256MB` made it slower on 2 cores (it allowed more parallel
        // index-build workers) and `synchronous_commit=off` made no difference
        // (pg_restore commits once per table and index).
        .arg(archive)
        // The restore already runs as many builds and loads as cores: an index build's own
        // parallel workers only add processes that take turns on them (on 2 cores the
        // restore of 451 MB went from 4.1 to 3.9–4.0 s and the server's CPU from 6.4 to
        // 6.0–6.2 s without them).
        .env("PGOPTIONS", "-c max_parallel_maintenance_workers=0")
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
    Ok(())
}
