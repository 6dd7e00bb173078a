//! The MariaDB restore: creates the tables without their plain secondary indexes, loads
//! the parts on several sessions (biggest tables first, a big table's key ranges at once;
//! one `LOAD DATA LOCAL` each, or for formats 1 and 2 their `INSERT` statements), builds
//! each table's deferred indexes with one `ALTER TABLE` once its last part is in, then
//! creates the views.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::future::try_join_all;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::super::stream::open_decompressed;
use super::super::{
    BackupError, BackupManifest, BackupStore, ManifestPart, ManifestTable, RestoreReport,
    parallelism,
};
use super::{FRAME_HEADER, connect, quote, sql};
use crate::physical::PhysicalName;

/// Statements (formats 1 and 2) or chunks of rows read ahead of each load session.
const FRAMES_AHEAD: usize = 2;
/// The size of the chunks of rows a `LOAD DATA LOCAL` is sent in.
const CHUNK_BYTES: usize = 1 << 20;
/// Whether restore builds plain secondary indexes after loading the rows.
const DEFER_SECONDARY_KEYS: bool = true;

/// A table's load in progress.
struct Progress<'a> {
    table: &'a ManifestTable,
    /// Parts not loaded yet.
    remaining: usize,
    rows: u64,
    bytes: u64,
    /// Deferred index clauses.
    keys: Vec<String>,
}

pub(in crate::backup) async fn restore(
    admin_url: &str,
    manifest: &BackupManifest,
    store: &dyn BackupStore,
    target: &PhysicalName,
) -> Result<RestoreReport, BackupError> {
    let db = target.as_str();
    let mut conn = connect(admin_url, Some(db)).await?;
    conn.query_drop("SET SESSION foreign_key_checks = 0")
        .await
        .map_err(sql)?;
    // Plain secondary indexes are built after the rows (one sorted build instead of
    // random inserts).
    let mut deferred = HashMap::new();
    for object in manifest
        .schema
        .iter()
        .filter(|object| object.kind == "table")
    {
        let (create, keys) = split_secondary_keys(&object.definition);
        conn.query_drop(create).await.map_err(sql)?;
        deferred.insert(object.name.as_str(), keys);
    }
    let sizes: HashMap<&str, u64> = manifest
        .objects
        .iter()
        .map(|object| (object.key.as_str(), object.uncompressed_size))
        .collect();
    let mut progress = HashMap::new();
    let mut queue = Vec::new();
    for table in &manifest.tables {
        let parts = table.data_parts();
        if parts.is_empty() {
            return Err(BackupError::Manifest(format!(
                "table `{}` has no data object",
                table.name
            )));
        }
        let bytes: u64 = parts
            .iter()
            .map(|part| sizes.get(part.object.as_str()).copied().unwrap_or(0))
            .sum();
        for part in parts.iter().cloned() {
            queue.push((bytes, table, part));
        }
        progress.insert(
            table.name.as_str(),
            Progress {
                table,
                remaining: parts.len(),
                rows: 0,
                bytes: 0,
                keys: deferred.remove(table.name.as_str()).unwrap_or_default(),
            },
        );
    }
    // Biggest tables first (their index builds overlap the smaller tables' loads), each
    // table's parts in key order; popped from the end.
    queue.sort_by_key(|(bytes, table, part)| {
        (
            *bytes,
            std::cmp::Reverse(table.name.as_str()),
            std::cmp::Reverse(part.object.clone()),
        )
    });
    let queue = Mutex::new(queue);
    let progress = Mutex::new(progress);
    let loaded = Mutex::new(Vec::new());
    // One session more than cores: while one builds a table's indexes (partly waiting on
    // its sort files) the others keep loading; measured 16.4 s -> 11.9 s on 2 cores.
    let sessions = parallelism() + 1;
    try_join_all((0..sessions).map(|_| {
        load_worker(
            admin_url,
            db,
            manifest.format,
            &queue,
            &progress,
            &loaded,
            store,
        )
    }))
    .await?;
    // Views last: a view may read tables and other views; retry until none is left or
    // a round makes no progress.
    let mut views: Vec<_> = manifest
        .schema
        .iter()
        .filter(|object| object.kind == "view")
        .collect();
    while !views.is_empty() {
        let mut failed = Vec::new();
        let mut last_error = None;
        for view in &views {
            let statement = crate::views::owned_by(&view.definition, target)?;
            if let Err(error) = conn.query_drop(&statement).await {
                failed.push(*view);
                last_error = Some(error);
            }
        }
        if failed.len() == views.len() {
            return Err(sql(last_error.expect("a failure was recorded")));
        }
        views = failed;
    }
    let _ = conn.disconnect().await;
    let mut loaded = loaded.into_inner().expect("result lock");
    loaded.sort_by(|a: &(ManifestTable, u64), b| a.0.name.cmp(&b.0.name));
    let bytes = loaded.iter().map(|(_, bytes)| bytes).sum();
    Ok(RestoreReport {
        tables: loaded.into_iter().map(|(table, _)| table).collect(),
        bytes,
    })
}

/// Loads parts from the shared queue until it is empty; whoever loads a table's last
/// part builds its deferred indexes and checks its row count.
async fn load_worker<'a>(
    admin_url: &str,
    db: &str,
    format: u32,
    queue: &Mutex<Vec<(u64, &'a ManifestTable, ManifestPart)>>,
    progress: &Mutex<HashMap<&'a str, Progress<'a>>>,
    loaded: &Mutex<Vec<(ManifestTable, u64)>>,
    store: &dyn BackupStore,
) -> Result<(), BackupError> {
    let mut conn = connect(admin_url, Some(db)).await?;
    conn.query_drop(
        "SET SESSION foreign_key_checks = 0, unique_checks = 0, \
         sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
    )
    .await
    .map_err(sql)?;
    // The restored branch is new and not ready yet: nothing needs its initial load in the
    // binlog (online schema changes and change capture start from a later snapshot
    // position; backups read the tables), so it is not written there, as myloader does
    // by default. Without the privilege for it the load is binlogged, which is only slower.
    if let Err(error) = conn.query_drop("SET SESSION sql_log_bin = 0").await {
        tracing::debug!(%error, "restore load stays in the binlog");
    }
    loop {
        let next = queue.lock().expect("queue lock").pop();
        let Some((_, table, part)) = next else { break };
        let (rows, bytes) = match format {
            1 | 2 => replay_part(&mut conn, &part, store).await?,
            _ => load_part(&mut conn, table, &part, store).await?,
        };
        let finished = {
            let mut progress = progress.lock().expect("progress lock");
            let entry = progress
                .get_mut(table.name.as_str())
                .expect("every table has progress");
            entry.remaining -= 1;
            entry.rows += rows;
            entry.bytes += bytes;
            (entry.remaining == 0).then(|| {
                (
                    entry.table,
                    entry.rows,
                    entry.bytes,
                    std::mem::take(&mut entry.keys),
                )
            })
        };
        let Some((table, rows, bytes, keys)) = finished else {
            continue;
        };
        if rows != table.rows {
            return Err(BackupError::Malformed {
                key: part.object.clone(),
                detail: format!(
                    "the parts of `{}` hold {rows} rows, the manifest says {}",
                    table.name, table.rows
                ),
            });
        }
        tracing::debug!(table = %table.name, rows, "restore: table loaded");
        if !keys.is_empty() {
            let started = std::time::Instant::now();
            let adds: Vec<String> = keys.iter().map(|key| format!("ADD {key}")).collect();
            conn.query_drop(format!(
                "ALTER TABLE {} {}",
                quote(&table.name),
                adds.join(", ")
            ))
            .await
            .map_err(sql)?;
            tracing::debug!(
                table = %table.name,
                seconds = started.elapsed().as_secs_f64(),
                "restore: deferred indexes built"
            );
        }
        loaded
            .lock()
            .expect("result lock")
            .push((table.clone(), bytes));
    }
    let _ = conn.disconnect().await;
    Ok(())
}

/// Splits the plain secondary indexes (`KEY ...` lines) out of a `SHOW CREATE TABLE`
/// text: the CREATE without them, and the key clauses to add after the rows. Tables with
/// foreign keys keep their indexes (a foreign key needs one from the start), and so does
/// any text not in the expected one-item-per-line layout.
fn split_secondary_keys(definition: &str) -> (String, Vec<String>) {
    let unchanged = || (definition.to_string(), Vec::new());
    if !DEFER_SECONDARY_KEYS || definition.contains("FOREIGN KEY") {
        return unchanged();
    }
    let lines: Vec<&str> = definition.lines().collect();
    let [first, items @ .., last] = lines.as_slice() else {
        return unchanged();
    };
    if !first.ends_with('(') || !last.starts_with(')') {
        return unchanged();
    }
    let mut kept = Vec::new();
    let mut keys = Vec::new();
    for item in items {
        let item = item.trim_end().trim_end_matches(',');
        if item.starts_with("  KEY `") {
            keys.push(item.trim_start().to_string());
        } else {
            kept.push(item);
        }
    }
    if keys.is_empty() || kept.is_empty() {
        return unchanged();
    }
    (format!("{first}\n{}\n{last}", kept.join(",\n")), keys)
}

/// Server errors after which a part's load is rolled back whole and may run again:
/// deadlock, lock wait timeout.
const RETRYABLE: [u16; 2] = [1213, 1205];
/// Loads of one part before its error is the restore's.
const LOAD_ATTEMPTS: u32 = 3;

/// Loads one object of rows with `LOAD DATA LOCAL`; returns its rows and bytes.
async fn load_part(
    conn: &mut Conn,
    table: &ManifestTable,
    part: &ManifestPart,
    store: &dyn BackupStore,
) -> Result<(u64, u64), BackupError> {
    let statement = load_statement(table)
        .ok_or_else(|| BackupError::Manifest(format!("table `{}` lists no columns", table.name)))?;
    let mut attempt = 1;
    let read = loop {
        let reader = open_decompressed(store, &part.object).await?;
        let (chunks, read) = read_chunks(reader, part.object.clone());
        // The handler future must be `Sync`: it holds the receiver, not the stream.
        conn.set_infile_handler(async move {
            let stream = futures_util::stream::unfold(chunks, |mut receiver| async move {
                receiver.recv().await.map(|chunk| (chunk, receiver))
            });
            Ok(Box::pin(stream) as mysql_async::InfileData)
        });
        match conn.query_drop(&statement).await {
            Ok(()) => break read,
            // Parts of one table load side by side: InnoDB may pick one as a deadlock's
            // victim (seen once in a few hundred restores). The statement is rolled back
            // whole, so the part loads again from its start.
            Err(mysql_async::Error::Server(error))
                if RETRYABLE.contains(&error.code) && attempt < LOAD_ATTEMPTS =>
            {
                read.abort();
                tracing::debug!(object = %part.object, code = error.code, attempt, "restore: part retried");
                attempt += 1;
            }
            Err(error) => {
                read.abort();
                return Err(sql(error));
            }
        }
    };
    let (rows, warnings) = (conn.affected_rows(), conn.get_warnings());
    let bytes = read.await.map_err(|error| {
        BackupError::io(
            format!("read object `{}`", part.object),
            std::io::Error::other(error),
        )
    })??;
    // `LOCAL` turns bad values and duplicate keys into warnings (the server cannot stop
    // the client's upload): any warning means the rows did not load as they were.
    if warnings > 0 {
        let shown: Vec<(String, u32, String)> =
            conn.query("SHOW WARNINGS LIMIT 3").await.map_err(sql)?;
        let shown: Vec<String> = shown
            .into_iter()
            .map(|(level, code, message)| format!("{level} {code}: {message}"))
            .collect();
        return Err(BackupError::Malformed {
            key: part.object.clone(),
            detail: format!("loaded with {warnings} warnings: {}", shown.join("; ")),
        });
    }
    if rows != part.rows {
        return Err(BackupError::Malformed {
            key: part.object.clone(),
            detail: format!("loaded {rows} rows, the manifest says {}", part.rows),
        });
    }
    Ok((rows, bytes))
}

/// `LOAD DATA LOCAL INFILE … INTO TABLE` for the table's data objects (`None` without
/// columns). Bits are read as numbers into variables and set from them.
fn load_statement(table: &ManifestTable) -> Option<String> {
    if table.columns.is_empty() {
        return None;
    }
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    for (position, column) in table.columns.iter().enumerate() {
        if column.bit {
            targets.push(format!("@bit{position}"));
            sets.push(format!(
                "{} = CAST(@bit{position} AS UNSIGNED)",
                quote(&column.name)
            ));
        } else {
            targets.push(quote(&column.name));
        }
    }
    let mut statement = format!(
        "LOAD DATA LOCAL INFILE 'rows' INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        quote(&table.name),
        targets.join(",")
    );
    if !sets.is_empty() {
        statement.push_str(" SET ");
        statement.push_str(&sets.join(", "));
    }
    Some(statement)
}

/// Reads and decompresses an object in chunks on its own task, [`FRAMES_AHEAD`] ahead of
/// the upload a `LOAD DATA LOCAL` sends; the task's result is the bytes read, or why it
/// stopped (a read error also goes to the upload, which then fails).
fn read_chunks(
    mut reader: impl AsyncRead + Send + Unpin + 'static,
    key: String,
) -> (
    mpsc::Receiver<std::io::Result<Bytes>>,
    tokio::task::JoinHandle<Result<u64, BackupError>>,
) {
    let (sender, receiver) = mpsc::channel::<std::io::Result<Bytes>>(FRAMES_AHEAD);
    let read = tokio::spawn(async move {
        let mut total = 0u64;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK_BYTES);
            let read = (&mut reader)
                .take(CHUNK_BYTES as u64)
                .read_to_end(&mut chunk)
                .await;
            match read {
                Ok(0) => return Ok(total),
                Ok(read) => {
                    total += read as u64;
                    if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
                        return Ok(total);
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    let _ = sender.send(Err(error)).await;
                    return Err(BackupError::io(
                        format!("read object `{key}`"),
                        std::io::Error::other(message),
                    ));
                }
            }
        }
    });
    (receiver, read)
}

/// Replays one object's statements (formats 1 and 2); returns its rows and bytes.
async fn replay_part(
    conn: &mut Conn,
    part: &ManifestPart,
    store: &dyn BackupStore,
) -> Result<(u64, u64), BackupError> {
    let reader = open_decompressed(store, &part.object).await?;
    let mut frames = read_frames(reader, part.object.clone());
    let mut rows = 0u64;
    let mut bytes = 0u64;
    while let Some(frame) = frames.recv().await {
        let (statement, frame_rows) = frame?;
        bytes += (FRAME_HEADER + statement.len()) as u64;
        conn.query_drop(statement).await.map_err(sql)?;
        rows += u64::from(frame_rows);
    }
    if rows != part.rows {
        return Err(BackupError::Malformed {
            key: part.object.clone(),
            detail: format!("holds {rows} rows, the manifest says {}", part.rows),
        });
    }
    Ok((rows, bytes))
}

/// Reads and decompresses an object's frames on their own task, [`FRAMES_AHEAD`] ahead of
/// the session that runs them, so the server does not wait for the client between
/// statements. Ends after the last frame, or after the first error.
fn read_frames(
    mut reader: impl AsyncRead + Send + Unpin + 'static,
    key: String,
) -> mpsc::Receiver<Result<(String, u32), BackupError>> {
    let (sender, receiver) = mpsc::channel(FRAMES_AHEAD);
    tokio::spawn(async move {
        let malformed = |detail: String| BackupError::Malformed {
            key: key.clone(),
            detail,
        };
        loop {
            let mut header = [0u8; FRAME_HEADER];
            let frame = match reader.read_exact(&mut header[..1]).await {
                Ok(_) => read_statement(&mut reader, &mut header)
                    .await
                    .map_err(malformed),
                Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return,
                Err(error) => Err(BackupError::io(format!("read object `{key}`"), error)),
            };
            let failed = frame.is_err();
            if sender.send(frame).await.is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// The rest of a frame whose header's first byte is read: its statement and rows.
async fn read_statement(
    reader: &mut (impl AsyncRead + Unpin),
    header: &mut [u8; FRAME_HEADER],
) -> Result<(String, u32), String> {
    reader
        .read_exact(&mut header[1..])
        .await
        .map_err(|error| format!("truncated frame header: {error}"))?;
    let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let rows = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    let mut statement = vec![0; length];
    reader
        .read_exact(&mut statement)
        .await
        .map_err(|error| format!("truncated statement: {error}"))?;
    let statement =
        String::from_utf8(statement).map_err(|_| "statement is not UTF-8".to_string())?;
    Ok((statement, rows))
}

#[cfg(test)]
mod tests {
    use super::split_secondary_keys;

    #[test]
    fn secondary_keys_are_deferred() {
        let definition = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `b` varchar(40) NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`b`),\n  KEY `b` (`b`),\n  KEY `c` (`b`,`id`)\n) ENGINE=InnoDB";
        let (create, keys) = split_secondary_keys(definition);
        assert_eq!(
            create,
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `b` varchar(40) NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`b`)\n) ENGINE=InnoDB"
        );
        assert_eq!(keys, ["KEY `b` (`b`)", "KEY `c` (`b`,`id`)"]);
        let with_fk = "CREATE TABLE `t` (\n  `p` int,\n  KEY `p` (`p`),\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `q` (`id`)\n) ENGINE=InnoDB";
        assert_eq!(
            split_secondary_keys(with_fk),
            (with_fk.to_string(), Vec::new())
        );
    }
}
