//! PostgreSQL backups. Format 3: a repeatable-read transaction exports its snapshot; the
//! rows of every plain table of `public` are read by `COPY … TO STDOUT` on several
//! sessions that import that snapshot ([`copy`]), streamed into zstd objects of about
//! [`copy::PART_BYTES`] each, and everything else (definitions, sequence values, other
//! schemas' rows, large objects) goes through `pg_dump -Fc --exclude-table-data=<those
//! tables>` into one small archive ([`archive`]). Restore stages that archive, runs
//! `pg_restore --section=pre-data`, loads the parts by `COPY … FROM STDIN` on several
//! sessions straight from the store (decompressed and checked on the way, nothing
//! staged), then `pg_restore --section=data --section=post-data -j` (sequence values,
//! indexes, constraints, triggers, built after the rows).
//!
//! Formats 1 and 2 (the whole database in one `pg_dump -Fc` archive, in one or several
//! objects) restore by staging the archive and one parallel `pg_restore`.

mod archive;
mod copy;
mod post_data;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use futures_util::future::try_join_all;
use futures_util::stream::FuturesUnordered;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::{Semaphore, mpsc};
use tokio_postgres::{Client, Config, NoTls};

use super::{
    BackupError, BackupManifest, BackupStore, Dump, ManifestObject, RestoreReport, Staging,
    now_rfc3339, parallelism,
};
use crate::cluster::{ClusterKind, find_pg_dump};
use crate::physical::{ClusterAdmin, PhysicalName};

const KIND: ClusterKind = ClusterKind::Postgresql;
/// The most of a tool's stderr an error message carries.
const STDERR_TAIL: usize = 2048;

fn sql(error: tokio_postgres::Error) -> BackupError {
    BackupError::sql(KIND, error)
}

use dbplane_schema::quote::postgres_ident as quote;

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
    crate::pg_tool::command(program, config)
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
    let tables = copy::plan(&client).await?;
    let copied: Vec<String> = tables.iter().map(|table| table.name.clone()).collect();
    // The exporting transaction stays open until both have imported the snapshot (and
    // until the end, which is simpler).
    let (archive, rows) = tokio::join!(
        archive::dump(&config, db, &snapshot, &copied, staging, store, backup_id),
        copy::dump(&config, db, &snapshot, tables, store, backup_id),
    );
    let mut objects = archive?;
    let (tables, data) = rows?;
    objects.extend(data);
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

/// Restores `manifest` into the database `target`, which it drops and recreates first.
pub(super) async fn restore(
    admin: &ClusterAdmin,
    admin_url: &str,
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    target: &PhysicalName,
    staging: &Staging,
) -> Result<RestoreReport, BackupError> {
    let config: Config = admin_url.parse().map_err(sql)?;
    let started = std::time::Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    // The archive is the objects that hold no table's rows (formats 1 and 2: all).
    let rows: HashSet<&str> = manifest
        .tables
        .iter()
        .flat_map(|table| table.parts.iter().map(|part| part.object.as_str()))
        .collect();
    let archive_objects: Vec<ManifestObject> = manifest
        .objects
        .iter()
        .filter(|object| !rows.contains(object.key.as_str()))
        .cloned()
        .collect();
    // Staging decompresses and verifies every archive object in one read.
    let archive = archive::stage(&archive_objects, store, staging).await?;
    tracing::debug!(seconds = elapsed(), "restore: archive staged");
    admin.drop_database(target).await?;
    admin.create_database(target).await?;
    let jobs = parallelism();
    if rows.is_empty() {
        archive::restore(&config, &archive, target, &[], None, jobs).await?;
        return Ok(RestoreReport {
            tables: manifest.tables.clone(),
            bytes: manifest.uncompressed_size,
        });
    }
    archive::restore(&config, &archive, target, &["pre-data"], None, 1).await?;
    tracing::debug!(seconds = elapsed(), "restore: definitions created");
    let plan = post_data::plan(&archive::list(&archive).await?, &manifest.tables);
    let (finished, tables_loaded) = mpsc::unbounded_channel();
    // Loads and early index builds share `jobs` slots, as a parallel `pg_restore`'s
    // workers do: more at once only make them take turns on the cores.
    let slots = Semaphore::new(jobs);
    let (bytes, ()) = tokio::try_join!(
        copy::load(&config, target, manifest, store, finished, &slots),
        build_early(
            &config,
            &archive,
            target,
            &plan,
            tables_loaded,
            &slots,
            staging
        ),
    )?;
    tracing::debug!(seconds = elapsed(), "restore: rows loaded");
    let rest = write_list(staging, "rest", &plan.rest).await?;
    archive::restore(
        &config,
        &archive,
        target,
        &["data", "post-data"],
        Some(rest),
        jobs,
    )
    .await?;
    tracing::debug!(
        seconds = elapsed(),
        "restore: indexes and constraints built"
    );
    Ok(RestoreReport {
        tables: manifest.tables.clone(),
        bytes,
    })
}

/// Restores each table's own indexes and key constraints as soon as `tables_loaded` says
/// its rows are in, while other tables still load; returns once the loads are over and
/// every build is done. Each build holds one of the `slots`: its key constraints one
/// after another, then each of its indexes on a slot of its own ([`post_data`]), so no
/// slot stays idle while a build could use it.
async fn build_early(
    config: &Config,
    archive: &Path,
    target: &PhysicalName,
    plan: &post_data::PostDataPlan,
    mut tables_loaded: mpsc::UnboundedReceiver<String>,
    slots: &Semaphore,
    staging: &Staging,
) -> Result<(), BackupError> {
    let mut builds = FuturesUnordered::new();
    let mut lists = 0;
    let mut loading = true;
    loop {
        tokio::select! {
            table = tables_loaded.recv(), if loading => match table {
                Some(table) => {
                    let Some(entries) = plan.tables.get(&table) else { continue };
                    tracing::debug!(%table, "restore: building a table's indexes");
                    let mut constraints = None;
                    if !entries.constraints.is_empty() {
                        constraints = Some(build_list(staging, &mut lists, &entries.constraints).await?);
                    }
                    let mut indexes = Vec::new();
                    for entry in &entries.indexes {
                        indexes.push(build_list(staging, &mut lists, std::slice::from_ref(entry)).await?);
                    }
                    let build = |list: PathBuf| async move {
                        let _slot = slots.acquire().await.expect("the slots stay open");
                        archive::restore(config, archive, target, &["post-data"], Some(list), 1)
                            .await
                    };
                    builds.push(async move {
                        if let Some(constraints) = constraints {
                            build(constraints).await?;
                        }
                        try_join_all(indexes.into_iter().map(build)).await.map(|_| ())
                    });
                }
                None => loading = false,
            },
            Some(built) = builds.next(), if !builds.is_empty() => built?,
            else => return Ok(()),
        }
    }
}

/// Writes the entries of one early build as the next `build-<n>.list`.
async fn build_list(
    staging: &Staging,
    lists: &mut usize,
    entries: &[String],
) -> Result<PathBuf, BackupError> {
    *lists += 1;
    write_list(staging, &format!("build-{lists}"), entries).await
}

/// Writes `entries` as a `pg_restore --use-list` file named `name` in the staging
/// directory.
async fn write_list(
    staging: &Staging,
    name: &str,
    entries: &[String],
) -> Result<PathBuf, BackupError> {
    let path = staging.path().join(format!("{name}.list"));
    let mut text = entries.join("\n");
    text.push('\n');
    tokio::fs::write(&path, text)
        .await
        .map_err(|error| BackupError::io(format!("write {}", path.display()), error))?;
    Ok(path)
}
