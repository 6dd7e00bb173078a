//! The MariaDB dump: plans the parts (a table, or a primary-key range of a big one) in
//! the snapshot, then each session takes the next part, biggest tables first, and streams
//! its rows in key order as `LOAD DATA` text into its own object: one line per row,
//! fields separated by tabs, `\N` for NULL, backslash escapes (the statement's defaults).
//! Strings are read as the bytes stored (`character_set_results = binary`) and loaded
//! back `CHARACTER SET binary`, so no text is converted either way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use tokio::task::JoinSet;

use super::super::stream::{SinkBroker, SinkTask, serve_sinks};
use super::super::{
    BackupError, BackupOptions, BackupStore, Dump, ManifestColumn, ManifestObject, ManifestTable,
    StoredPart, add_parts, now_rfc3339,
};
use super::wire::WireSession;
use super::{connect, quote, snapshot, sql};
use crate::physical::{ClusterAdmin, PhysicalName, SchemaObjectKind};

/// The most parts one table is split into.
const MAX_PARTS: u64 = 256;
/// Integer types a primary key can be split into ranges of.
const INTEGER_TYPES: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];

/// How to read one table.
struct TablePlan {
    /// Position in the schema (names its objects).
    index: usize,
    name: String,
    /// Size on disk, to dump (and restore) the biggest first.
    bytes: u64,
    /// `SELECT <columns> FROM <db>.<table>`.
    select: String,
    /// The columns selected, in order.
    columns: Vec<ManifestColumn>,
    /// ` ORDER BY <key>` (empty without a key).
    order_by: String,
    /// The integer primary key column the table is split on, if it is.
    split_column: Option<String>,
}

/// One object's worth of a table: the rows with `lower <= key < upper` (`None`: no
/// bound).
struct PartPlan {
    table: Arc<TablePlan>,
    part: usize,
    lower: Option<i128>,
    upper: Option<i128>,
}

pub(in crate::backup) async fn backup(
    admin: &ClusterAdmin,
    admin_url: &str,
    database: &PhysicalName,
    store: &dyn BackupStore,
    backup_id: &str,
    options: &BackupOptions,
) -> Result<Dump, BackupError> {
    let db = database.as_str();
    let snapshot::Snapshot {
        sessions,
        position: snapshot_position,
    } = snapshot::open(admin_url, options.sessions).await?;
    let started_at = now_rfc3339();
    // Planning reads statistics and key bounds, which need not be the snapshot's: the
    // first and last key ranges are open.
    let mut planner = connect(admin_url, None).await?;
    let server_version: String = planner
        .query_first("SELECT VERSION()")
        .await
        .map_err(sql)?
        .unwrap_or_default();
    // The definitions come from the admin (the server's SHOW CREATE, normalised). DDL on a
    // branch goes through deploy requests, which do not run during a backup's snapshot.
    let schema = admin.schema(database).await?;
    let table_names: Vec<&str> = schema
        .iter()
        .filter(|object| object.kind == SchemaObjectKind::Table)
        .map(|object| object.name.as_str())
        .collect();
    let mut queue = VecDeque::new();
    let mut plans = Vec::new();
    for (index, table) in table_names.iter().enumerate() {
        let plan = Arc::new(plan_table(&mut planner, db, index, table).await?);
        for part in split(&mut planner, db, &plan, options.part_bytes).await? {
            queue.push_back(part);
        }
        plans.push(plan);
    }
    let _ = planner.disconnect().await;
    // Biggest tables first, so the last parts are small ones.
    queue.make_contiguous().sort_by_key(|part| {
        (
            std::cmp::Reverse(part.table.bytes),
            part.table.index,
            part.part,
        )
    });
    tracing::debug!(
        parts = queue.len(),
        sessions = sessions.len(),
        "backup planned"
    );
    let queue = Arc::new(Mutex::new(queue));
    let dumped = serve_sinks(store, |sinks| async move {
        let mut workers = JoinSet::new();
        for session in sessions {
            let queue = queue.clone();
            let sinks = sinks.clone();
            let backup_id = backup_id.to_string();
            workers.spawn(dump_worker(session, queue, sinks, backup_id));
        }
        drop(sinks);
        let mut dumped = Vec::new();
        while let Some(joined) = workers.join_next().await {
            let (session, parts) = joined
                .map_err(|error| BackupError::io("dump worker", std::io::Error::other(error)))??;
            dumped.extend(parts);
            session.quit().await;
        }
        Ok::<_, BackupError>(dumped)
    })
    .await?;
    let mut tables: Vec<ManifestTable> = plans
        .iter()
        .map(|plan| ManifestTable {
            name: plan.name.clone(),
            rows: 0,
            object: None,
            parts: Vec::new(),
            columns: plan.columns.clone(),
            indexes: Vec::new(),
        })
        .collect();
    let objects = add_parts(&mut tables, dumped);
    Ok(Dump {
        server_version,
        snapshot_position,
        schema,
        tables,
        objects,
        started_at,
    })
}

/// Dumps parts from the shared queue until it is empty, then ends the session's
/// snapshot transaction.
async fn dump_worker(
    mut session: WireSession,
    queue: Arc<Mutex<VecDeque<PartPlan>>>,
    sinks: SinkBroker,
    backup_id: String,
) -> Result<(WireSession, Vec<StoredPart>), BackupError> {
    // The bytes as stored, not converted to the connection's character set.
    session
        .query_drop("SET SESSION character_set_results = binary")
        .await
        .map_err(sql)?;
    let mut dumped = Vec::new();
    loop {
        let part = queue.lock().expect("queue lock").pop_front();
        let Some(part) = part else { break };
        let key = format!(
            "{backup_id}/data/{:04}-{:04}.tsv.zst",
            part.table.index + 1,
            part.part + 1
        );
        let sink = SinkTask::spawn(sinks.create(key).await?);
        let (rows, object) = dump_part(&mut session, &part, sink).await?;
        dumped.push(StoredPart {
            table: part.table.index,
            part: part.part,
            rows,
            object,
        });
    }
    session.query_drop("COMMIT").await.map_err(sql)?;
    Ok((session, dumped))
}

async fn plan_table(
    session: &mut Conn,
    db: &str,
    index: usize,
    table: &str,
) -> Result<TablePlan, BackupError> {
    // The columns a dump reads and writes back (generated columns are recomputed).
    let columns: Vec<(String, String)> = session
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_GENERATED = 'NEVER' \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(sql)?;
    // The primary key's columns (or the first unique key's), to read in key order.
    let keys: Vec<(String, String)> = session
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await
        .map_err(sql)?;
    let bytes: Option<Option<u64>> = session
        .exec_first(
            "SELECT DATA_LENGTH FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .map_err(sql)?;
    let key: Vec<&str> = match keys.first() {
        Some((first, _)) => keys
            .iter()
            .filter(|(index, _)| index == first)
            .map(|(_, column)| column.as_str())
            .collect(),
        None => Vec::new(),
    };
    // Only a one-column integer primary key: it has no NULLs, and ranges of it are cheap
    // index range scans.
    let split_column = match (keys.first(), key.as_slice()) {
        (Some((index, _)), [column]) if index == "PRIMARY" => columns
            .iter()
            .find(|(name, data_type)| {
                name == *column && INTEGER_TYPES.contains(&data_type.to_ascii_lowercase().as_str())
            })
            .map(|(name, _)| name.clone()),
        _ => None,
    };
    // BIT values are read as numbers (`LOAD DATA` cannot read them as bytes). A FLOAT's
    // text keeps 6 digits (16777215 reads as 16777200); as a DOUBLE it is exact, and
    // loading that text back into the FLOAT gives the same value.
    let select_list = columns
        .iter()
        .map(
            |(column, data_type)| match data_type.to_ascii_lowercase().as_str() {
                "bit" => format!("{} + 0", quote(column)),
                "float" => format!("CAST({} AS DOUBLE)", quote(column)),
                _ => quote(column),
            },
        )
        .collect::<Vec<_>>()
        .join(",");
    let order_by = match key.is_empty() {
        true => String::new(),
        false => format!(
            " ORDER BY {}",
            key.iter()
                .map(|column| quote(column))
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    Ok(TablePlan {
        index,
        name: table.to_string(),
        bytes: bytes.flatten().unwrap_or_default(),
        select: format!("SELECT {select_list} FROM {}.{}", quote(db), quote(table)),
        columns: columns
            .iter()
            .map(|(name, data_type)| ManifestColumn {
                name: name.clone(),
                bit: data_type.eq_ignore_ascii_case("bit"),
            })
            .collect(),
        order_by,
        split_column,
    })
}

/// Splits a table into even key ranges of about `part_bytes` each (by its size on disk as
/// InnoDB's statistics say, which lag a bulk insert by a few seconds: then the parts are
/// fewer, never wrong; so are uneven keys: the first and last ranges are open).
async fn split(
    session: &mut Conn,
    db: &str,
    table: &Arc<TablePlan>,
    part_bytes: u64,
) -> Result<Vec<PartPlan>, BackupError> {
    let whole = || {
        vec![PartPlan {
            table: table.clone(),
            part: 0,
            lower: None,
            upper: None,
        }]
    };
    let wanted = table.bytes.div_ceil(part_bytes.max(1)).clamp(1, MAX_PARTS);
    let Some(column) = table.split_column.as_deref().filter(|_| wanted > 1) else {
        return Ok(whole());
    };
    let bounds: Option<(Value, Value)> = session
        .query_first(format!(
            "SELECT MIN({0}), MAX({0}) FROM {1}.{2}",
            quote(column),
            quote(db),
            quote(&table.name)
        ))
        .await
        .map_err(sql)?;
    let integer = |value: &Value| match value {
        Value::Int(number) => Some(i128::from(*number)),
        Value::UInt(number) => Some(i128::from(*number)),
        Value::Bytes(text) => std::str::from_utf8(text).ok()?.parse().ok(),
        _ => None,
    };
    let Some((Some(min), Some(max))) = bounds.map(|(min, max)| (integer(&min), integer(&max)))
    else {
        return Ok(whole());
    };
    let span = max - min + 1;
    let count = i128::from(wanted).min(span);
    let step = span / count;
    Ok((0..count)
        .map(|part| PartPlan {
            table: table.clone(),
            part: part as usize,
            lower: (part > 0).then(|| min + part * step),
            upper: (part + 1 < count).then(|| min + (part + 1) * step),
        })
        .collect())
}

async fn dump_part(
    session: &mut WireSession,
    part: &PartPlan,
    mut sink: SinkTask,
) -> Result<(u64, ManifestObject), BackupError> {
    let table = &part.table;
    let mut select = table.select.clone();
    if let Some(column) = &table.split_column {
        let column = quote(column);
        let bounds: Vec<String> = [
            part.lower.map(|lower| format!("{column} >= {lower}")),
            part.upper.map(|upper| format!("{column} < {upper}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !bounds.is_empty() {
            select.push_str(" WHERE ");
            select.push_str(&bounds.join(" AND "));
        }
    }
    select.push_str(&table.order_by);
    let mut rows = 0u64;
    // Rows come from the server as they are read (no buffering of the table), as text
    // (the server's formatting is all the dump needs), each field copied once.
    let mut result = session.query_stream(&select).await.map_err(sql)?;
    while let Some(row) = result.next().await.map_err(sql)? {
        let buffer = sink.buffer();
        for (position, field) in row.fields().enumerate() {
            if position > 0 {
                buffer.push(b'\t');
            }
            match field {
                Some(bytes) => push_escaped(buffer, bytes),
                None => buffer.extend_from_slice(b"\\N"),
            }
        }
        buffer.push(b'\n');
        rows += 1;
        sink.rows_added().await?;
    }
    Ok((rows, sink.finish().await?))
}

/// Appends the bytes of a string or binary value with `LOAD DATA`'s escapes: the escape
/// character, the field and line terminators, and NUL (which `\0` reads back); `\r` and
/// `\Z` too, as `SELECT … INTO OUTFILE` writes them.
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    // Most values need no escape: two vectorised scans say so faster than the loop.
    if memchr::memchr3(b'\\', b'\t', b'\n', bytes).is_none()
        && memchr::memchr3(0, b'\r', 0x1a, bytes).is_none()
    {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len());
    let mut start = 0;
    for (position, byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            0 => b"\\0",
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0x1a => b"\\Z",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..position]);
        out.extend_from_slice(escaped);
        start = position + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::push_escaped;

    #[test]
    fn fields_are_escaped() {
        let mut out = Vec::new();
        for value in [
            &b"a'b\\c\n\xc3\xbc\0\r\x1a\tz"[..],
            &[0xff, 0x00],
            b"\\N",
            b"-3",
            b"",
        ] {
            push_escaped(&mut out, value);
            out.push(b'|');
        }
        assert_eq!(
            out,
            b"a'b\\\\c\\n\xc3\xbc\\0\\r\\Z\\tz|\xff\\0|\\\\N|-3||".as_slice()
        );
    }
}
