//! Change capture: streams MariaDB's ROW binlog and applies one table's changes to the shadow
//! (forward, before cutover) or to the kept original (reverse, after cutover).

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Value};

use super::{
    BinlogPosition, DEFAULT_IDLE, OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState,
};
use super::{reverse, sql};

/// Row changes buffered before they are written.
const BATCH: usize = 500;

/// Which way changes to `state.table` flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Before cutover: into the shadow, from `applied_position`.
    Forward,
    /// After cutover: into `old_table`, from `reverse_applied_position`.
    Reverse,
}

impl Direction {
    fn position(self, state: &OnlineDdlState) -> OnlineDdlResult<BinlogPosition> {
        match self {
            Direction::Forward => Ok(state.applied_position.clone()),
            Direction::Reverse => state
                .reverse_applied_position
                .clone()
                .or_else(|| state.cutover_position.clone())
                .ok_or_else(|| {
                    OnlineDdlError::Invalid(format!(
                        "`{}` has no cutover position to stream back from",
                        state.table
                    ))
                }),
        }
    }

    fn advance(self, state: &mut OnlineDdlState, to: BinlogPosition, applied: u64) {
        match self {
            Direction::Forward => {
                if to > state.applied_position {
                    state.applied_position = to;
                }
                state.changes_applied += applied;
            }
            Direction::Reverse => {
                if state
                    .reverse_applied_position
                    .as_ref()
                    .is_none_or(|p| to > *p)
                {
                    state.reverse_applied_position = Some(to);
                }
                state.reverse_changes_applied += applied;
            }
        }
    }
}

pub(crate) enum Change {
    /// The full after-image, in `state.columns` order.
    Upsert(Vec<Value>),
    /// The primary key, in `state.key_columns` order.
    Delete(Vec<Value>),
}

/// A server id for one binlog stream: MariaDB disconnects an older stream with the same id.
fn stream_server_id() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    let mixed = nanos ^ std::process::id().rotate_left(16);
    // Away from the servers' own small ids.
    0x4000_0000 | (mixed & 0x3FFF_FFFF)
}

/// Streams from the direction's position (non-blocking: the server ends the stream at the
/// current end of the binlog) until the end, or until `until` is reached, applying changes
/// through `writer`. Advances the position to the last transaction boundary seen; on an
/// error it stays where it was (the next call replays, which is harmless).
pub(crate) async fn apply(
    ddl: &OnlineDdl,
    state: &mut OnlineDdlState,
    direction: Direction,
    writer: &mut Conn,
    until: Option<&BinlogPosition>,
) -> OnlineDdlResult<u64> {
    let from = direction.position(state)?;
    let mut conn = ddl.dedicated_conn().await?;
    // Bound every call (under constant writes the end of the binlog keeps moving), and only
    // to changes every later read sees: a copy chunk after this call must not read a row as
    // it was before a change this call applied (a deleted row would come back).
    let until = match until {
        Some(until) => until.clone(),
        None => sql::snapshot_position(&mut conn).await?,
    };
    if until <= from {
        return Ok(0);
    }
    // Without it, MariaDB 10.x sends GTID events in place of some events the driver expects.
    conn.query_drop("SET @mariadb_slave_capability = 4").await?;
    let request = BinlogStreamRequest::new(stream_server_id())
        .with_filename(from.file.as_bytes())
        .with_pos(from.position)
        .with_non_blocking();
    let mut stream = conn.get_binlog_stream(request).await?;

    let mut current_file = from.file.clone();
    let mut committed = from.clone();
    let mut table_id: Option<u64> = None;
    let mut pending: Vec<Change> = Vec::new();
    let mut applied = 0u64;
    // Column indexes of the binlog image for `state.columns` / `state.key_columns`, per table
    // map (recomputed when a new TABLE_MAP for the table arrives).
    let mut column_map: Option<(Vec<usize>, Vec<usize>)> = None;

    loop {
        // A silent server (timeout): treat as the end of what is there now.
        let next = tokio::time::timeout(DEFAULT_IDLE * 20, stream.next())
            .await
            .unwrap_or_default();
        let Some(event) = next else { break };
        let event = event?;
        let header = event.header();
        let Ok(event_type) = header.event_type() else {
            // MariaDB-specific events (GTID 162, GTID list 163, ...): no rows, no boundary.
            continue;
        };
        match event_type {
            EventType::ROTATE_EVENT => {
                if let Some(position) = rotated_to(&event) {
                    current_file = position.file.clone();
                    // The start of a file is a transaction boundary.
                    if position > committed {
                        committed = position;
                    }
                }
            }
            EventType::TABLE_MAP_EVENT => {
                if let Ok(Some(EventData::TableMapEvent(map))) = event.read_data()
                    && map.database_name() == state.database.as_str()
                    && map.table_name() == state.table.as_str()
                {
                    if table_id != Some(map.table_id()) {
                        column_map = None;
                    }
                    table_id = Some(map.table_id());
                }
            }
            EventType::WRITE_ROWS_EVENT_V1
            | EventType::UPDATE_ROWS_EVENT_V1
            | EventType::DELETE_ROWS_EVENT_V1
            | EventType::WRITE_ROWS_EVENT
            | EventType::UPDATE_ROWS_EVENT
            | EventType::DELETE_ROWS_EVENT => {
                let Some(EventData::RowsEvent(rows)) = event
                    .read_data()
                    .map_err(|error| OnlineDdlError::Binlog(error.to_string()))?
                else {
                    continue;
                };
                if Some(rows.table_id()) != table_id {
                    continue;
                }
                let Some(map) = stream.get_tme(rows.table_id()) else {
                    return Err(OnlineDdlError::Binlog(
                        "rows event without table map".into(),
                    ));
                };
                let is_delete = matches!(
                    rows,
                    RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_)
                );
                for row in rows.rows(map) {
                    let (before, after) =
                        row.map_err(|error| OnlineDdlError::Binlog(error.to_string()))?;
                    let image = before.as_ref().or(after.as_ref()).ok_or_else(|| {
                        OnlineDdlError::Binlog("rows event without row image".into())
                    })?;
                    if column_map.is_none() {
                        column_map = Some(map_columns(state, image)?);
                    }
                    let (columns, keys) = column_map.as_ref().expect("just set");
                    match (before, after) {
                        (Some(before), None) if is_delete => {
                            pending.push(Change::Delete(pick(&before, keys)?));
                        }
                        (before, Some(after)) => {
                            let new_key = pick(&after, keys)?;
                            if let Some(before) = before {
                                let old_key = pick(&before, keys)?;
                                if old_key != new_key {
                                    pending.push(Change::Delete(old_key));
                                }
                            }
                            pending.push(Change::Upsert(pick(&after, columns)?));
                        }
                        _ => {}
                    }
                }
                if pending.len() >= BATCH {
                    applied += flush(state, direction, writer, &mut pending).await?;
                }
            }
            EventType::XID_EVENT | EventType::QUERY_EVENT => {
                // A transaction boundary: safe to resume from here. (A `BEGIN` query is one
                // too: the table map follows it.)
                committed = BinlogPosition {
                    file: current_file.clone(),
                    position: u64::from(header.log_pos()),
                };
                if committed >= until {
                    break;
                }
            }
            _ => {}
        }
    }
    applied += flush(state, direction, writer, &mut pending).await?;
    drop(stream);
    tracing::debug!(?direction, ?from, to = ?committed, ?until, applied, "binlog applied");
    direction.advance(state, committed, applied);
    Ok(applied)
}

/// Where a ROTATE event moves the stream. Both kinds count: the real one that ends a
/// file, and the fake one (`log_pos` 0) the server sends when it opens a file for us —
/// at the start of the stream, and when the file it read ends without a real rotate (after
/// a server restart the old file ends with a STOP event). A fake rotate that precedes the
/// format description can carry checksum bytes after the name, so the name is cut after
/// the six digits of the file number.
fn rotated_to(event: &mysql_async::binlog::events::Event) -> Option<BinlogPosition> {
    let Ok(Some(EventData::RotateEvent(rotate))) = event.read_data() else {
        return None;
    };
    Some(BinlogPosition {
        file: binlog_file_name(&rotate.name())?,
        position: rotate.position(),
    })
}

/// `binlog.000002` out of `binlog.000002` followed by anything.
fn binlog_file_name(raw: &str) -> Option<String> {
    let graphic: String = raw.chars().take_while(|c| c.is_ascii_graphic()).collect();
    let dot = graphic.rfind('.')?;
    let digits: String = graphic[dot + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(FILE_NUMBER_DIGITS)
        .collect();
    (digits.len() == FILE_NUMBER_DIGITS).then(|| format!("{}.{digits}", &graphic[..dot]))
}

/// MariaDB numbers binlog files with six digits (`binlog.000001`).
const FILE_NUMBER_DIGITS: usize = 6;

async fn flush(
    state: &OnlineDdlState,
    direction: Direction,
    writer: &mut Conn,
    pending: &mut Vec<Change>,
) -> OnlineDdlResult<u64> {
    match direction {
        Direction::Forward => flush_forward(state, writer, pending).await,
        Direction::Reverse => reverse::flush(state, writer, pending).await,
    }
}

/// Indexes of `state.columns` and `state.key_columns` in a binlog row image, by name (needs
/// `binlog_row_metadata=FULL`).
fn map_columns(
    state: &OnlineDdlState,
    image: &BinlogRow,
) -> OnlineDdlResult<(Vec<usize>, Vec<usize>)> {
    let names: Vec<String> = image
        .columns_ref()
        .iter()
        .map(|column| column.name_str().into_owned())
        .collect();
    let find = |wanted: &String| {
        names.iter().position(|name| name == wanted).ok_or_else(|| {
            OnlineDdlError::Binlog(format!(
                "column `{wanted}` is not in the binlog row image (is binlog_row_metadata=FULL \
                 and binlog_row_image=FULL?); it has {names:?}"
            ))
        })
    };
    let columns = state.columns.iter().map(find).collect::<Result<_, _>>()?;
    let keys = state
        .key_columns
        .iter()
        .map(find)
        .collect::<Result<_, _>>()?;
    Ok((columns, keys))
}

fn pick(row: &BinlogRow, indexes: &[usize]) -> OnlineDdlResult<Vec<Value>> {
    indexes
        .iter()
        .map(|&index| match row.as_ref(index) {
            Some(BinlogValue::Value(value)) => Ok(value.clone()),
            Some(other) => Value::try_from(other.clone())
                .map_err(|error| OnlineDdlError::Binlog(error.to_string())),
            None => Err(OnlineDdlError::Binlog(format!(
                "column {index} is missing from the row image (binlog_row_image must be FULL)"
            ))),
        })
        .collect()
}

/// Writes the buffered changes to the shadow in order: runs of upserts as one multi-row
/// `REPLACE`, runs of deletes as one `DELETE ... WHERE key IN (...)`.
async fn flush_forward(
    state: &OnlineDdlState,
    writer: &mut Conn,
    pending: &mut Vec<Change>,
) -> OnlineDdlResult<u64> {
    let count = pending.len() as u64;
    let shadow = sql::qualified(&state.database, &state.shadow_table);
    let columns = sql::column_list(&state.columns);
    let key = sql::key_tuple(&state.key_columns);
    let mut changes = std::mem::take(pending).into_iter().peekable();
    while let Some(first) = changes.next() {
        match first {
            Change::Upsert(values) => {
                let mut params = values;
                let mut rows = 1;
                while let Some(Change::Upsert(_)) = changes.peek() {
                    let Some(Change::Upsert(values)) = changes.next() else {
                        unreachable!()
                    };
                    params.extend(values);
                    rows += 1;
                }
                let row = sql::placeholders(state.columns.len());
                writer
                    .exec_drop(
                        format!(
                            "REPLACE INTO {shadow} ({columns}) VALUES {}",
                            vec![row; rows].join(", ")
                        ),
                        params,
                    )
                    .await?;
            }
            Change::Delete(values) => {
                let mut params = values;
                let mut rows = 1;
                while let Some(Change::Delete(_)) = changes.peek() {
                    let Some(Change::Delete(values)) = changes.next() else {
                        unreachable!()
                    };
                    params.extend(values);
                    rows += 1;
                }
                let row = sql::placeholders(state.key_columns.len());
                writer
                    .exec_drop(
                        format!(
                            "DELETE FROM {shadow} WHERE {key} IN ({})",
                            vec![row; rows].join(", ")
                        ),
                        params,
                    )
                    .await?;
            }
        }
    }
    Ok(count)
}

/// The transaction boundary just before the cutover's `RENAME TABLE` (found by the shadow's
/// name), searching from `state.applied_position`: where the reverse stream starts when the
/// swap happened but the crash lost the recorded position. Nothing wrote the live table
/// between the end of the drain and the RENAME, so starting here is exact.
pub(crate) async fn find_rename(
    ddl: &OnlineDdl,
    state: &OnlineDdlState,
) -> OnlineDdlResult<BinlogPosition> {
    let mut conn = ddl.dedicated_conn().await?;
    conn.query_drop("SET @mariadb_slave_capability = 4").await?;
    let from = state.applied_position.clone();
    let request = BinlogStreamRequest::new(stream_server_id())
        .with_filename(from.file.as_bytes())
        .with_pos(from.position)
        .with_non_blocking();
    let mut stream = conn.get_binlog_stream(request).await?;
    let mut current_file = from.file.clone();
    let mut committed = from;
    let shadow = state.shadow_table.to_ascii_lowercase();
    loop {
        let next = tokio::time::timeout(DEFAULT_IDLE * 20, stream.next())
            .await
            .unwrap_or_default();
        let Some(event) = next else { break };
        let event = event?;
        let header = event.header();
        match header.event_type() {
            Ok(EventType::ROTATE_EVENT) => {
                if let Some(position) = rotated_to(&event) {
                    current_file = position.file;
                }
            }
            Ok(EventType::QUERY_EVENT) => {
                if let Ok(Some(EventData::QueryEvent(query))) = event.read_data() {
                    let text = query.query().to_ascii_lowercase();
                    if text.starts_with("rename table") && text.contains(&shadow) {
                        return Ok(committed);
                    }
                }
                committed = BinlogPosition {
                    file: current_file.clone(),
                    position: u64::from(header.log_pos()),
                };
            }
            Ok(EventType::XID_EVENT) => {
                committed = BinlogPosition {
                    file: current_file.clone(),
                    position: u64::from(header.log_pos()),
                };
            }
            _ => {}
        }
    }
    Err(OnlineDdlError::Binlog(format!(
        "`{}` is swapped but its RENAME is not in the binlog after the saved position",
        state.table
    )))
}

#[cfg(test)]
mod tests {
    use super::binlog_file_name;

    #[test]
    fn rotate_names_lose_trailing_checksum_bytes() {
        assert_eq!(
            binlog_file_name("binlog.000002").as_deref(),
            Some("binlog.000002")
        );
        assert_eq!(
            binlog_file_name("binlog.0000037a9\u{1}").as_deref(),
            Some("binlog.000003")
        );
        assert_eq!(
            binlog_file_name("mysql-bin.000010").as_deref(),
            Some("mysql-bin.000010")
        );
        assert_eq!(binlog_file_name("binlog"), None);
        assert_eq!(binlog_file_name("binlog.12"), None);
    }
}
