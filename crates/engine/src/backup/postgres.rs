//! PostgreSQL backups: a repeatable-read transaction exports its snapshot, `pg_dump -Fc
//! -Z0 --snapshot=…` streams the database through zstd into one object, and the same
//! transaction counts each table's rows. Restore pipes the archive into `pg_restore` as
//! the target's owner role.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use super::stream::{ObjectSink, open_decompressed};
use super::{
    BackupError, BackupManifest, BackupStore, MANIFEST_FORMAT, ManifestTable, RestoreReport,
    now_rfc3339, schema_of,
};
use crate::cluster::{ClusterKind, find_pg_dump};
use crate::physical::{ClusterAdmin, PhysicalName};

const KIND: ClusterKind = ClusterKind::Postgresql;
/// The most of a tool's stderr an error message carries.
const STDERR_TAIL: usize = 2048;
/// Pipe chunk size.
const CHUNK: usize = 256 << 10;

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
) -> Result<BackupManifest, BackupError> {
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
    let mut dump = command(&program, &config);
    dump.args([
        "--format=custom",
        "--compress=0",
        "--no-owner",
        "--no-privileges",
    ])
    .arg(format!("--snapshot={snapshot}"))
    .arg(format!("--dbname={db}"))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = dump.spawn().map_err(|error| BackupError::Tool {
        tool: "pg_dump",
        detail: format!("run {}: {error}", program.display()),
    })?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let stderr = read_stderr(child.stderr.take().expect("piped stderr"));
    let key = format!("{backup_id}/database.pgdump.zst");

    let copy = async {
        let mut sink = ObjectSink::create(store, key.clone()).await?;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = stdout
                .read(&mut buffer)
                .await
                .map_err(|error| BackupError::io("read pg_dump's output", error))?;
            if read == 0 {
                break;
            }
            sink.write(&buffer[..read]).await?;
        }
        Ok::<_, BackupError>(sink)
    };
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
            });
        }
        Ok::<_, BackupError>(tables)
    };
    let (sink, tables) = tokio::join!(copy, count);
    if sink.is_err() || tables.is_err() {
        let _ = child.start_kill();
    }
    let status = child
        .wait()
        .await
        .map_err(|error| BackupError::io("wait for pg_dump", error))?;
    let errors = stderr.await.unwrap_or_default();
    if !status.success() && sink.is_ok() && tables.is_ok() {
        return Err(BackupError::Tool {
            tool: "pg_dump",
            detail: format!("dump of `{db}` exited ({status}): {}", tail(&errors)),
        });
    }
    let object = sink?.finish().await?;
    let tables = tables?;
    client.batch_execute("COMMIT").await.map_err(sql)?;
    Ok(BackupManifest {
        format: MANIFEST_FORMAT,
        backup_id: backup_id.to_string(),
        engine: KIND.as_str().to_string(),
        server_version,
        database: db.to_string(),
        snapshot_position,
        schema: schema_of(&schema),
        tables,
        objects: vec![object],
        size: 0,
        uncompressed_size: 0,
        started_at,
        completed_at: String::new(),
    })
}

pub(super) async fn restore(
    admin_url: &str,
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    target: &PhysicalName,
) -> Result<RestoreReport, BackupError> {
    let config: Config = admin_url.parse().map_err(sql)?;
    let [object] = manifest.objects.as_slice() else {
        return Err(BackupError::Manifest(format!(
            "a postgresql backup has one object, this one has {}",
            manifest.objects.len()
        )));
    };
    let owner = target.owner()?;
    let program = tool("pg_restore")?;
    let mut restore = command(&program, &config);
    restore
        .args(["--no-owner", "--no-privileges", "--exit-on-error"])
        .arg(format!("--role={owner}"))
        .arg(format!("--dbname={target}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = restore.spawn().map_err(|error| BackupError::Tool {
        tool: "pg_restore",
        detail: format!("run {}: {error}", program.display()),
    })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stderr = read_stderr(child.stderr.take().expect("piped stderr"));
    let feed = async {
        let mut reader = open_decompressed(store, &object.key).await?;
        let mut buffer = vec![0u8; CHUNK];
        let mut bytes = 0u64;
        loop {
            let read = reader
                .read(&mut buffer)
                .await
                .map_err(|error| BackupError::io(format!("read object `{}`", object.key), error))?;
            if read == 0 {
                break;
            }
            bytes += read as u64;
            // A write error means pg_restore stopped; its exit status tells why.
            if stdin.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        drop(stdin);
        Ok::<_, BackupError>(bytes)
    };
    let bytes = feed.await;
    if bytes.is_err() {
        let _ = child.start_kill();
    }
    let status = child
        .wait()
        .await
        .map_err(|error| BackupError::io("wait for pg_restore", error))?;
    let errors = stderr.await.unwrap_or_default();
    let bytes = bytes?;
    if !status.success() {
        return Err(BackupError::Tool {
            tool: "pg_restore",
            detail: format!(
                "restore into `{target}` exited ({status}): {}",
                tail(&errors)
            ),
        });
    }
    Ok(RestoreReport {
        tables: manifest.tables.clone(),
        bytes,
    })
}
