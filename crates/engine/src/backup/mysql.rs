//! MariaDB backups: one consistent-snapshot session streams each table, in primary-key
//! order, as multi-row `INSERT` statements into its own zstd object.
//!
//! Data object framing: repeated `[u32 LE statement length][u32 LE rows][statement]`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value};
use tokio::io::AsyncReadExt;

use super::stream::{ObjectSink, SinkTask, open_decompressed};
use super::{
    BackupError, BackupManifest, BackupStore, MANIFEST_FORMAT, ManifestTable, RestoreReport,
    now_rfc3339, schema_of,
};
use crate::cluster::ClusterKind;
use crate::physical::{ClusterAdmin, PhysicalName};

const KIND: ClusterKind = ClusterKind::Mysql;
/// A statement is cut once it is this long (well under the default 16 MiB
/// max_allowed_packet, unless one row alone is bigger).
const STATEMENT_BYTES: usize = 1 << 20;
/// Whether restore builds plain secondary indexes after loading the rows.
const DEFER_SECONDARY_KEYS: bool = true;
/// Tables loaded at once on restore.
const RESTORE_PARALLELISM: usize = 2;

fn sql(error: impl std::error::Error + Send + Sync + 'static) -> BackupError {
    BackupError::sql(KIND, error)
}

fn quote(identifier: &str) -> String {
    format!("`{}`", identifier.replace('`', "``"))
}

async fn connect(admin_url: &str, db: Option<&str>) -> Result<Conn, BackupError> {
    let options = Opts::from_url(admin_url).map_err(sql)?;
    let options = OptsBuilder::from_opts(options).db_name(db);
    let mut conn = Conn::new(options).await.map_err(sql)?;
    conn.query_drop("SET NAMES utf8mb4, SESSION time_zone = '+00:00'")
        .await
        .map_err(sql)?;
    Ok(conn)
}

/// Appends `value` as a SQL literal (backslash escapes, the server's default mode).
fn push_literal(out: &mut String, value: &Value) {
    match value {
        Value::NULL => out.push_str("NULL"),
        Value::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Value::UInt(number) => {
            let _ = write!(out, "{number}");
        }
        Value::Float(number) => {
            let _ = write!(out, "{number:?}");
        }
        Value::Double(number) => {
            let _ = write!(out, "{number:?}");
        }
        Value::Date(year, month, day, hour, minute, second, micros) => {
            let _ = write!(
                out,
                "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}'"
            );
        }
        Value::Time(negative, days, hours, minutes, seconds, micros) => {
            let hours = u64::from(*days) * 24 + u64::from(*hours);
            let sign = if *negative { "-" } else { "" };
            let _ = write!(
                out,
                "'{sign}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}'"
            );
        }
        Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.reserve(text.len() + 2);
                out.push('\'');
                for character in text.chars() {
                    match character {
                        '\0' => out.push_str("\\0"),
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\x1a' => out.push_str("\\Z"),
                        other => out.push(other),
                    }
                }
                out.push('\'');
            }
            Err(_) => {
                out.push_str("0x");
                out.push_str(&hex::encode(bytes));
            }
        },
    }
}

/// The columns a dump reads and writes back (generated columns are recomputed), with
/// their data types.
async fn stored_columns(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<Vec<(String, String)>, BackupError> {
    conn.exec(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_GENERATED = 'NEVER' \
         ORDER BY ORDINAL_POSITION",
        (db, table),
    )
    .await
    .map_err(sql)
}

/// The primary key's columns (or the first unique key's), to read in key order.
async fn key_columns(conn: &mut Conn, db: &str, table: &str) -> Result<Vec<String>, BackupError> {
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await
        .map_err(sql)?;
    let Some((first, _)) = rows.first() else {
        return Ok(Vec::new());
    };
    let first = first.clone();
    Ok(rows
        .into_iter()
        .filter(|(index, _)| *index == first)
        .map(|(_, column)| column)
        .collect())
}

pub(super) async fn backup(
    admin: &ClusterAdmin,
    admin_url: &str,
    database: &PhysicalName,
    store: &dyn BackupStore,
    backup_id: &str,
) -> Result<BackupManifest, BackupError> {
    let db = database.as_str();
    let mut conn = connect(admin_url, None).await?;
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(sql)?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await
        .map_err(sql)?;
    let started_at = now_rfc3339();
    let status: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(sql)?;
    let value = |name: &str| {
        status
            .iter()
            .find(|(variable, _)| variable.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let snapshot_position = format!(
        "{}:{}",
        value("binlog_snapshot_file"),
        value("binlog_snapshot_position")
    );
    let server_version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(sql)?
        .unwrap_or_default();
    // The definitions come from the admin (the server's SHOW CREATE, normalised). DDL on a
    // branch goes through deploy requests, which do not run during a backup's snapshot.
    let schema = admin.schema(database).await?;
    let mut tables = Vec::new();
    let mut objects = Vec::new();
    let table_names: Vec<&str> = schema
        .iter()
        .filter(|object| object.kind == crate::physical::SchemaObjectKind::Table)
        .map(|object| object.name.as_str())
        .collect();
    for (index, table) in table_names.iter().enumerate() {
        let key = format!("{backup_id}/data/{:04}.sql.zst", index + 1);
        let (rows, object) = dump_table(&mut conn, db, table, store, key.clone()).await?;
        tables.push(ManifestTable {
            name: (*table).to_string(),
            rows,
            object: Some(key),
        });
        objects.push(object);
    }
    conn.query_drop("COMMIT").await.map_err(sql)?;
    let _ = conn.disconnect().await;
    Ok(BackupManifest {
        format: MANIFEST_FORMAT,
        backup_id: backup_id.to_string(),
        engine: KIND.as_str().to_string(),
        server_version,
        database: db.to_string(),
        snapshot_position,
        schema: schema_of(&schema),
        tables,
        objects,
        size: 0,
        uncompressed_size: 0,
        started_at,
        completed_at: String::new(),
    })
}

async fn dump_table(
    conn: &mut Conn,
    db: &str,
    table: &str,
    store: &dyn BackupStore,
    key: String,
) -> Result<(u64, super::ManifestObject), BackupError> {
    let columns = stored_columns(conn, db, table).await?;
    let keys = key_columns(conn, db, table).await?;
    let column_list = columns
        .iter()
        .map(|(column, _)| quote(column))
        .collect::<Vec<_>>()
        .join(",");
    // BIT values are read as numbers: as raw bytes they could pass for text.
    let select_list = columns
        .iter()
        .map(
            |(column, data_type)| match data_type.eq_ignore_ascii_case("bit") {
                true => format!("{} + 0", quote(column)),
                false => quote(column),
            },
        )
        .collect::<Vec<_>>()
        .join(",");
    let mut select = format!("SELECT {select_list} FROM {}.{}", quote(db), quote(table));
    if !keys.is_empty() {
        let order = keys.iter().map(|column| quote(column)).collect::<Vec<_>>();
        let _ = write!(select, " ORDER BY {}", order.join(","));
    }
    let head = format!("INSERT INTO {} ({column_list}) VALUES ", quote(table));
    // Compression and writing run on their own task, beside the row formatting.
    let mut sink = SinkTask::spawn(ObjectSink::create(store, key).await?);
    let mut statement = String::with_capacity(STATEMENT_BYTES + (64 << 10));
    let mut statement_rows = 0u32;
    let mut total_rows = 0u64;
    // Rows come from the server as they are read (no buffering of the table).
    let mut result = conn.exec_iter(select, ()).await.map_err(sql)?;
    while let Some(row) = result.next().await.map_err(sql)? {
        let row: Row = row;
        if statement_rows == 0 {
            statement.push_str(&head);
        } else {
            statement.push(',');
        }
        statement.push('(');
        for (position, value) in row.unwrap().iter().enumerate() {
            if position > 0 {
                statement.push(',');
            }
            push_literal(&mut statement, value);
        }
        statement.push(')');
        statement_rows += 1;
        total_rows += 1;
        if statement.len() >= STATEMENT_BYTES {
            write_frame(&mut sink, &statement, statement_rows).await?;
            statement.clear();
            statement_rows = 0;
        }
    }
    drop(result);
    if statement_rows > 0 {
        write_frame(&mut sink, &statement, statement_rows).await?;
    }
    Ok((total_rows, sink.finish().await?))
}

async fn write_frame(sink: &mut SinkTask, statement: &str, rows: u32) -> Result<(), BackupError> {
    let length = u32::try_from(statement.len()).map_err(|_| BackupError::Malformed {
        key: String::new(),
        detail: "a row is larger than 4 GiB".to_string(),
    })?;
    let mut frame = Vec::with_capacity(8 + statement.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(&rows.to_le_bytes());
    frame.extend_from_slice(statement.as_bytes());
    sink.write(frame).await
}

pub(super) async fn restore(
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
    // Load tables in parallel, each worker on its own session.
    let next = Mutex::new(manifest.tables.iter());
    let loaded = Mutex::new(Vec::new());
    let worker = || load_worker(admin_url, db, &next, &loaded, &deferred, store);
    if RESTORE_PARALLELISM > 1 {
        tokio::try_join!(worker(), worker())?;
    } else {
        worker().await?;
    }
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
            if let Err(error) = conn.query_drop(&view.definition).await {
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

/// Loads tables from the shared queue until it is empty.
async fn load_worker(
    admin_url: &str,
    db: &str,
    next: &Mutex<std::slice::Iter<'_, ManifestTable>>,
    loaded: &Mutex<Vec<(ManifestTable, u64)>>,
    deferred: &HashMap<&str, Vec<String>>,
    store: &dyn BackupStore,
) -> Result<(), BackupError> {
    let mut conn = connect(admin_url, Some(db)).await?;
    conn.query_drop(
        "SET SESSION foreign_key_checks = 0, unique_checks = 0, \
         sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
    )
    .await
    .map_err(sql)?;
    loop {
        let table = next.lock().expect("queue lock").next();
        let Some(table) = table else { break };
        let result = load_table(&mut conn, table, store).await?;
        if let Some(keys) = deferred
            .get(table.name.as_str())
            .filter(|keys| !keys.is_empty())
        {
            let adds: Vec<String> = keys.iter().map(|key| format!("ADD {key}")).collect();
            conn.query_drop(format!(
                "ALTER TABLE {} {}",
                quote(&table.name),
                adds.join(", ")
            ))
            .await
            .map_err(sql)?;
        }
        loaded.lock().expect("result lock").push(result);
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

async fn load_table(
    conn: &mut Conn,
    table: &ManifestTable,
    store: &dyn BackupStore,
) -> Result<(ManifestTable, u64), BackupError> {
    let Some(key) = &table.object else {
        return Err(BackupError::Manifest(format!(
            "table `{}` has no data object",
            table.name
        )));
    };
    let malformed = |detail: String| BackupError::Malformed {
        key: key.clone(),
        detail,
    };
    let mut reader = open_decompressed(store, key).await?;
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut statement = Vec::new();
    loop {
        let mut header = [0u8; 8];
        match reader.read_exact(&mut header[..1]).await {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(error) => return Err(BackupError::io(format!("read object `{key}`"), error)),
        }
        reader
            .read_exact(&mut header[1..])
            .await
            .map_err(|error| malformed(format!("truncated frame header: {error}")))?;
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let frame_rows = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        statement.resize(length, 0);
        reader
            .read_exact(&mut statement)
            .await
            .map_err(|error| malformed(format!("truncated statement: {error}")))?;
        let text = std::str::from_utf8(&statement)
            .map_err(|_| malformed("statement is not UTF-8".to_string()))?;
        conn.query_drop(text).await.map_err(sql)?;
        rows += u64::from(frame_rows);
        bytes += 8 + length as u64;
    }
    if rows != table.rows {
        return Err(malformed(format!(
            "holds {rows} rows of `{}`, the manifest says {}",
            table.name, table.rows
        )));
    }
    Ok((
        ManifestTable {
            name: table.name.clone(),
            rows,
            object: table.object.clone(),
        },
        bytes,
    ))
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
