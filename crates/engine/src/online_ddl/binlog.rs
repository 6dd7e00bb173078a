//! Change capture: streams MariaDB's ROW binlog and applies one table's changes to the shadow
//! (forward, before cutover) or to the kept original (reverse, after cutover).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Value};

use super::route::{Change, Route, identity_key};
use super::stage::Writer;
use super::{
    BinlogPosition, DEFAULT_IDLE, OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState,
};
use super::{DeferredRow, sql, values};
use dbplane_schema::online::same_name;

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

    /// The rows this direction deferred.
    pub(crate) fn deferred(self, state: &mut OnlineDdlState) -> &mut Vec<DeferredRow> {
        match self {
            Direction::Forward => &mut state.deferred,
            Direction::Reverse => &mut state.reverse_deferred,
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

/// How far one call streams.
#[derive(Clone, Debug)]
pub(crate) enum Bound {
    /// To the binlog position every later read sees (see the module docs of the parent),
    /// in batches; rows the target refuses are deferred and re-synchronised from the source
    /// at the end (the source can be read).
    CatchUp,
    /// Exactly to this position, under the swap's locks: one batch (the state at the
    /// position is consistent), and the source cannot be read, so a refused row is lost.
    Drain(BinlogPosition),
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

/// Each row's last change since the last flush, in first-seen order.
#[derive(Default)]
struct Pending {
    changes: Vec<Change>,
    by_identity: HashMap<Vec<u8>, usize>,
}

impl Pending {
    fn record(&mut self, route: &Route, change: Change) {
        let key = identity_key(&route.identity_of(&change.image));
        match self.by_identity.get(&key) {
            Some(&index) => self.changes[index] = change,
            None => {
                self.by_identity.insert(key, self.changes.len());
                self.changes.push(change);
            }
        }
    }

    fn len(&self) -> usize {
        self.changes.len()
    }

    fn take(&mut self) -> Vec<Change> {
        self.by_identity.clear();
        std::mem::take(&mut self.changes)
    }
}

/// Streams from the direction's position (non-blocking: the server ends the stream at the
/// current end of the binlog) to `bound`, applying changes through `writer`. Advances the
/// position to the last transaction boundary seen; on an error it stays where it was (the
/// next call replays, which is harmless).
pub(crate) async fn apply(
    ddl: &OnlineDdl,
    state: &mut OnlineDdlState,
    direction: Direction,
    writer: &mut Writer,
    bound: Bound,
) -> OnlineDdlResult<u64> {
    let route = Route::new(state, direction)?;
    let from = direction.position(state)?;
    let mut conn = ddl.dedicated_conn().await?;
    // Bound every call (under constant writes the end of the binlog keeps moving), and only
    // to changes every later read sees: a copy chunk after this call must not read a row as
    // it was before a change this call applied (a deleted row would come back).
    let (until, drain) = match &bound {
        Bound::Drain(until) => (until.clone(), true),
        Bound::CatchUp => (sql::snapshot_position(&mut conn).await?, false),
    };
    if until <= from {
        if !drain {
            writer.resync(&route, direction.deferred(state)).await?;
        }
        return Ok(0);
    }
    writer.prepare(&route).await?;
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
    let mut pending = Pending::default();
    let mut applied = 0u64;
    // Image positions of `route.source_columns`, per table map (recomputed when a new
    // TABLE_MAP for the table arrives).
    let mut column_map: Option<Vec<usize>> = None;

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
                        column_map = Some(map_columns(&route, image)?);
                    }
                    let columns = column_map.as_ref().expect("just set");
                    match (before, after) {
                        (Some(before), None) if is_delete => pending.record(
                            &route,
                            Change {
                                delete: true,
                                image: pick(&before, columns)?,
                            },
                        ),
                        (before, Some(after)) => {
                            let image = pick(&after, columns)?;
                            if let Some(before) = before {
                                let old = pick(&before, columns)?;
                                if route.identity_of(&old) != route.identity_of(&image) {
                                    pending.record(
                                        &route,
                                        Change {
                                            delete: true,
                                            image: old,
                                        },
                                    );
                                }
                            }
                            pending.record(
                                &route,
                                Change {
                                    delete: false,
                                    image,
                                },
                            );
                        }
                        _ => {}
                    }
                }
                // The drain is one batch: only the state at its end is consistent.
                if !drain && pending.len() >= BATCH {
                    applied += writer
                        .flush(&route, direction.deferred(state), pending.take(), true)
                        .await?;
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
    applied += writer
        .flush(&route, direction.deferred(state), pending.take(), !drain)
        .await?;
    drop(stream);
    tracing::debug!(?direction, ?from, to = ?committed, ?until, applied, "binlog applied");
    direction.advance(state, committed.clone(), applied);
    if !drain && committed >= until {
        writer.resync(&route, direction.deferred(state)).await?;
    }
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

/// Positions of `route.source_columns` in a binlog row image, by name (needs
/// `binlog_row_metadata=FULL`; MariaDB compares column names without case).
fn map_columns(route: &Route, image: &BinlogRow) -> OnlineDdlResult<Vec<usize>> {
    let names: Vec<String> = image
        .columns_ref()
        .iter()
        .map(|column| column.name_str().into_owned())
        .collect();
    route
        .source_columns
        .iter()
        .map(|wanted| {
            names
                .iter()
                .position(|name| name == wanted)
                .or_else(|| names.iter().position(|name| same_name(name, wanted)))
                .ok_or_else(|| {
                    OnlineDdlError::Binlog(format!(
                        "column `{wanted}` is not in the binlog row image (is \
                         binlog_row_metadata=FULL and binlog_row_image=FULL?); it has {names:?}"
                    ))
                })
        })
        .collect()
}

/// The values at `indexes`, each as its column stores it (`values.rs`).
fn pick(row: &BinlogRow, indexes: &[usize]) -> OnlineDdlResult<Vec<Value>> {
    indexes
        .iter()
        .map(|&index| {
            let value = row.as_ref(index).ok_or_else(|| {
                OnlineDdlError::Binlog(format!(
                    "column {index} is missing from the row image (binlog_row_image must be FULL)"
                ))
            })?;
            let column = &row.columns_ref()[index];
            let unsigned = column
                .flags()
                .contains(mysql_common::constants::ColumnFlags::UNSIGNED_FLAG);
            values::insertable(value, column.column_type(), unsigned).map_err(|unsupported| {
                OnlineDdlError::Binlog(format!(
                    "column `{}` holds {}",
                    row.columns_ref()[index].name_str(),
                    unsupported.0
                ))
            })
        })
        .collect()
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
