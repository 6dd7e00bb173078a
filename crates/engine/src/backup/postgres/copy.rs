//! The rows of a PostgreSQL backup: each plain table of `public` read by `COPY … TO
//! STDOUT` (text format) in the backup's snapshot, on several sessions, biggest tables
//! first, cut into objects of about [`PART_BYTES`] at row boundaries; loaded back by
//! `COPY … FROM STDIN`, a table's parts on several sessions at once.
//!
//! The server sends each row as one `CopyData` message (the protocol guarantees it), so
//! a part ends between two messages and its rows are the messages counted; `COPY FROM`
//! reports the rows it loaded, which must be the part's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures_util::future::try_join_all;
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_postgres::{Client, Config};

use super::super::stream::{SinkBroker, SinkTask, open_verified, serve_sinks};
use super::super::{
    BackupError, BackupManifest, BackupStore, ManifestObject, ManifestPart, ManifestTable,
    StoredPart, add_parts, parallelism,
};
use super::{connect, quote, sql};
use crate::physical::PhysicalName;

/// A table's rows are cut into objects of about this many bytes (before compression),
/// so that several sessions can load a big table at once.
pub(super) const PART_BYTES: usize = 32 << 20;
/// Chunks sent to `COPY FROM`.
const CHUNK_BYTES: usize = 256 << 10;

/// A table to copy.
pub(super) struct TablePlan {
    /// Position in the manifest (names its objects).
    index: usize,
    pub(super) name: String,
    /// Size on disk, to copy the biggest first.
    bytes: i64,
    /// Its indexes' names.
    indexes: Vec<String>,
}

/// The plain tables of `public` (partitioned tables hold no rows; their partitions do).
pub(super) async fn plan(client: &Client) -> Result<Vec<TablePlan>, BackupError> {
    let rows = client
        .query(
            "SELECT c.relname::text, pg_relation_size(c.oid), \
               ARRAY(SELECT i.relname::text FROM pg_index x JOIN pg_class i \
                     ON i.oid = x.indexrelid WHERE x.indrelid = c.oid ORDER BY 1) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname",
            &[],
        )
        .await
        .map_err(sql)?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(index, row)| TablePlan {
            index,
            name: row.get(0),
            bytes: row.get(1),
            indexes: row.get(2),
        })
        .collect())
}

/// Copies the rows of `tables` in `snapshot` into objects; returns the manifest's tables
/// and the objects, in table order.
pub(super) async fn dump(
    config: &Config,
    db: &str,
    snapshot: &str,
    tables: Vec<TablePlan>,
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<(Vec<ManifestTable>, Vec<ManifestObject>), BackupError> {
    let mut manifest_tables: Vec<ManifestTable> = tables
        .iter()
        .map(|table| ManifestTable {
            name: table.name.clone(),
            rows: 0,
            object: None,
            parts: Vec::new(),
            columns: Vec::new(),
            indexes: table.indexes.clone(),
        })
        .collect();
    let sessions = parallelism().min(tables.len());
    let mut queue = tables;
    // Popped from the end: the biggest last.
    queue.sort_by_key(|table| (table.bytes, std::cmp::Reverse(table.index)));
    let queue = Arc::new(Mutex::new(queue));
    let copied =
        serve_sinks(store, |sinks| async move {
            let mut workers = JoinSet::new();
            for _ in 0..sessions {
                let client = connect(config, db).await?;
                client
                    .batch_execute(&format!(
                        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                     SET TRANSACTION SNAPSHOT {}",
                        dbplane_schema::quote::postgres_string(snapshot)
                    ))
                    .await
                    .map_err(sql)?;
                workers.spawn(copy_worker(
                    client,
                    queue.clone(),
                    sinks.clone(),
                    backup_id.to_string(),
                ));
            }
            drop(sinks);
            let mut copied = Vec::new();
            while let Some(joined) = workers.join_next().await {
                copied.extend(joined.map_err(|error| {
                    BackupError::io("copy worker", std::io::Error::other(error))
                })??);
            }
            Ok::<_, BackupError>(copied)
        })
        .await?;
    let objects = add_parts(&mut manifest_tables, copied);
    Ok((manifest_tables, objects))
}

/// Copies tables from the shared queue until it is empty.
async fn copy_worker(
    client: Client,
    queue: Arc<Mutex<Vec<TablePlan>>>,
    sinks: SinkBroker,
    backup_id: String,
) -> Result<Vec<StoredPart>, BackupError> {
    let mut copied = Vec::new();
    loop {
        let table = queue.lock().expect("queue lock").pop();
        let Some(table) = table else { break };
        copied.extend(copy_table(&client, &table, &sinks, &backup_id).await?);
    }
    client.batch_execute("COMMIT").await.map_err(sql)?;
    Ok(copied)
}

async fn copy_table(
    client: &Client,
    table: &TablePlan,
    sinks: &SinkBroker,
    backup_id: &str,
) -> Result<Vec<StoredPart>, BackupError> {
    let key = |part: usize| {
        format!(
            "{backup_id}/data/{:04}-{:04}.copy.zst",
            table.index + 1,
            part + 1
        )
    };
    let rows = client
        .copy_out(&format!("COPY public.{} TO STDOUT", quote(&table.name)))
        .await
        .map_err(sql)?;
    futures_util::pin_mut!(rows);
    let mut parts = Vec::new();
    let mut sink = SinkTask::spawn(sinks.create(key(0)).await?);
    let (mut part_rows, mut part_bytes) = (0u64, 0usize);
    while let Some(row) = rows.next().await {
        let row = row.map_err(sql)?;
        if part_bytes >= PART_BYTES {
            let next = SinkTask::spawn(sinks.create(key(parts.len() + 1)).await?);
            let full = std::mem::replace(&mut sink, next);
            parts.push(copied(table, parts.len(), part_rows, full.finish().await?));
            (part_rows, part_bytes) = (0, 0);
        }
        sink.buffer().extend_from_slice(&row);
        part_rows += 1;
        part_bytes += row.len();
        sink.rows_added().await?;
    }
    parts.push(copied(table, parts.len(), part_rows, sink.finish().await?));
    Ok(parts)
}

fn copied(table: &TablePlan, part: usize, rows: u64, object: ManifestObject) -> StoredPart {
    StoredPart {
        table: table.index,
        part,
        rows,
        object,
    }
}

/// Loads every table's parts into `target` on several sessions, biggest tables first,
/// each part holding one of the `slots` (shared with the index builds), and sends each
/// table's name to `finished` once all its rows are in; returns the bytes loaded.
pub(super) async fn load(
    config: &Config,
    target: &PhysicalName,
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    finished: mpsc::UnboundedSender<String>,
    slots: &Semaphore,
) -> Result<u64, BackupError> {
    let objects: HashMap<&str, &ManifestObject> = manifest
        .objects
        .iter()
        .map(|object| (object.key.as_str(), object))
        .collect();
    let mut queue = Vec::new();
    for table in &manifest.tables {
        let mut parts = Vec::new();
        for part in &table.parts {
            let object = objects.get(part.object.as_str()).ok_or_else(|| {
                BackupError::Manifest(format!("object `{}` is not listed", part.object))
            })?;
            parts.push((table, part, *object));
        }
        let bytes: u64 = parts.iter().map(|(_, _, object)| object.size).sum();
        queue.extend(parts.into_iter().map(|part| (bytes, part)));
    }
    // Popped from the end: the biggest table's parts, in order, first.
    queue.sort_by_key(|(bytes, (table, part, _))| {
        (
            *bytes,
            std::cmp::Reverse(table.name.as_str()),
            std::cmp::Reverse(part.object.as_str()),
        )
    });
    let remaining: HashMap<&str, usize> = manifest
        .tables
        .iter()
        .map(|table| (table.name.as_str(), table.parts.len()))
        .collect();
    let sessions = parallelism().min(queue.len());
    let queue = Mutex::new(queue);
    let remaining = Mutex::new(remaining);
    let loaded = try_join_all(
        (0..sessions)
            .map(|_| load_worker(config, target, &queue, &remaining, &finished, store, slots)),
    )
    .await?;
    Ok(loaded.into_iter().sum())
}

type LoadQueue<'a> = Mutex<
    Vec<(
        u64,
        (&'a ManifestTable, &'a ManifestPart, &'a ManifestObject),
    )>,
>;

async fn load_worker(
    config: &Config,
    target: &PhysicalName,
    queue: &LoadQueue<'_>,
    remaining: &Mutex<HashMap<&str, usize>>,
    finished: &mpsc::UnboundedSender<String>,
    store: &dyn BackupStore,
    slots: &Semaphore,
) -> Result<u64, BackupError> {
    let client = connect(config, target.as_str()).await?;
    // Each part commits on its own; the `pg_restore` that follows commits synchronously,
    // which flushes the WAL of every commit before it: the restore is durable when it
    // ends, and the load does not wait for a flush per part.
    client
        .batch_execute("SET synchronous_commit = off")
        .await
        .map_err(sql)?;
    let mut bytes = 0;
    loop {
        let _slot = slots.acquire().await.expect("the slots stay open");
        let next = queue.lock().expect("queue lock").pop();
        let Some((_, (table, part, object))) = next else {
            break;
        };
        bytes += load_part(&client, table, part, object, store).await?;
        let done = {
            let mut remaining = remaining.lock().expect("progress lock");
            let left = remaining
                .get_mut(table.name.as_str())
                .expect("every table counted");
            *left -= 1;
            *left == 0
        };
        if done {
            // Nobody listening only means nothing is built early.
            let _ = finished.send(table.name.clone());
        }
    }
    Ok(bytes)
}

/// Streams one part into `COPY FROM`, checking the object on the way: the copy is
/// committed only if the object's checksum and its rows are the manifest's.
async fn load_part(
    client: &Client,
    table: &ManifestTable,
    part: &ManifestPart,
    object: &ManifestObject,
    store: &dyn BackupStore,
) -> Result<u64, BackupError> {
    let mut reader = open_verified(store, object).await?;
    let sink = client
        .copy_in(&format!("COPY public.{} FROM STDIN", quote(&table.name)))
        .await
        .map_err(sql)?;
    futures_util::pin_mut!(sink);
    let mut sent = 0u64;
    let copied = async {
        let mut chunk = BytesMut::with_capacity(CHUNK_BYTES);
        loop {
            chunk.reserve(CHUNK_BYTES);
            let read = reader
                .read_buf(&mut chunk)
                .await
                .map_err(|error| BackupError::io(format!("read object `{}`", object.key), error))?;
            if read == 0 {
                return Ok::<_, BackupError>(());
            }
            sent += read as u64;
            sink.send(chunk.split().freeze()).await.map_err(sql)?;
        }
    }
    .await;
    // A checksum mismatch explains a decompression error: it goes first. Returning drops
    // the sink unfinished, which aborts the copy.
    reader.check().await?;
    copied?;
    let rows = sink.finish().await.map_err(sql)?;
    if rows != part.rows {
        return Err(BackupError::Malformed {
            key: part.object.clone(),
            detail: format!("loaded {rows} rows, the manifest says {}", part.rows),
        });
    }
    Ok(sent)
}
