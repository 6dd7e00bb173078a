//! Applying captured row changes to the other table, converted **by the server**.
//!
//! A binlog value has its source column's type; the target column may have another (an
//! `ENUM` now a `VARCHAR`, a `TIMESTAMP` now a `DATETIME`, `latin1` text now `utf8mb4`). Writing
//! the value to the target from the client would make the client do the conversion, and the
//! server's rules are not the client's: an `ENUM` converts to its label in a string column but
//! to its index in a number column, `latin1` bytes must be read as `latin1`, a `TIMESTAMP`
//! depends on the time zone. So each batch goes first into a **staging table**: a temporary
//! table of the writer's session created with `CREATE TEMPORARY TABLE … SELECT <the source's
//! columns> … LIMIT 0`, which has exactly the source columns' types, charsets and collations.
//! Values are written there unchanged (`values.rs`; `time_zone = '+00:00'` for `TIMESTAMP`s,
//! `character_set_client = binary` so text keeps its bytes, fixed-length binary values padded
//! back to their length), then moved to the target with
//! `INSERT … SELECT` — the statement the row copy uses, so a row converts the same way
//! whether the copy or the stream brought it.
//!
//! A batch holds each row's last change only (`binlog.rs` collapses them by row identity). It
//! is applied in one transaction: staged deletes remove their row by identity; an upsert
//! updates the row of its identity (the target's columns the source does not feed keep
//! their values, so a revert keeps what only the old table holds) or inserts it. No
//! `REPLACE`, no `IGNORE`: either would drop a row silently. The session converts like the
//! copy (non-strict, warnings judged by `warnings.rs`: what `ALTER TABLE` does silently is
//! harmless, a changed value is not). If the server refuses the batch or a value would
//! change, the batch is rolled back and applied row by row, and a refused row is judged:
//! - a duplicate on a key the source implies (`dbplane_schema::online`) can only be with a
//!   stale row (one the copy read ahead of the stream, or one this batch changes later):
//!   that row is removed and written again by its own later change;
//! - a duplicate on a key the source does not enforce, or a value the target cannot hold, may
//!   still be transient (the source is only caught up with later). While the source can be
//!   read, the row is **deferred**: re-synchronised from the source's current row after the
//!   stream caught up ([`Writer::resync`]); a row that still does not fit after
//!   [`RESYNC_ATTEMPTS`] catch-ups is a real loss, and so is any refusal while the source is
//!   locked for the swap (at that point the target equals the source, nothing is stale).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use super::binlog::Direction;
use super::route::Route;
use super::shape::read_shape;
use super::sql;
use super::warnings::MAX_WARNINGS;
use super::{OnlineDdl, OnlineDdlResult};
use dbplane_schema::online::same_name;

/// How many catch-ups a deferred row may fail before it counts as lost.
pub const RESYNC_ATTEMPTS: u32 = 3;
/// The staging columns that order a batch and say what each row is.
pub(crate) const SEQ: &str = "_dbp_stage_seq";
pub(crate) const OP: &str = "_dbp_stage_op";
/// Rows of one staging `INSERT` (also bounded by [`STAGE_BYTES`]).
const STAGE_PLACEHOLDERS: usize = 60_000;
const STAGE_BYTES: usize = 4 << 20;

/// A staging table of the writer's session, for one route.
pub(crate) struct Stage {
    direction: Direction,
    db: String,
    source: String,
    /// Qualified name.
    pub(crate) name: String,
    /// The target's unique keys: name and columns.
    pub(crate) target_keys: Vec<(String, Vec<String>)>,
    /// Source columns of fixed-length binary types (`BINARY(n)`, `UUID`, `INET6`, `INET4`),
    /// by position, with their length: the binlog drops their trailing zero bytes, and
    /// `UUID`/`INET*` accept only the full length.
    pub(crate) fixed_binary: Vec<(usize, usize)>,
}

/// Where the rows to write are read from.
#[derive(Clone, Copy)]
pub(crate) enum RowSource {
    /// The staged images (`stage AS g`).
    Staged,
    /// The source's current rows of the staged identities (`source AS s JOIN stage AS g`).
    Live,
}

impl RowSource {
    /// The alias the columns are read under.
    pub(crate) fn alias(self) -> &'static str {
        match self {
            RowSource::Staged => "g",
            RowSource::Live => "s",
        }
    }

    /// The table expression to join (`g` is always the staging table).
    pub(crate) fn clause(self, route: &Route, stage: &str) -> String {
        match self {
            RowSource::Staged => format!("{stage} AS g"),
            RowSource::Live => format!(
                "({} AS s JOIN {stage} AS g ON {})",
                sql::qualified(&route.db, &route.source),
                route.identity_match_sources("s", "g")
            ),
        }
    }
}

/// What [`Writer::write`] runs.
pub(crate) struct Statements {
    pub(crate) delete: String,
    pub(crate) update: String,
    pub(crate) insert: String,
}

/// The staging operations.
pub(crate) const OP_DELETE: u8 = 0;
pub(crate) const OP_UPSERT: u8 = 1;
pub(crate) const OP_RESYNC: u8 = 2;

/// A dedicated session that applies changes: the copy's SQL mode (non-strict, so what
/// would not fit shows as a warning judged as the copy judges it; `NO_AUTO_VALUE_ON_ZERO`, so
/// keys of 0 stay 0), binary client charset, and one staging table per route.
pub(crate) struct Writer {
    pub(crate) conn: Conn,
    pub(crate) stages: Vec<Stage>,
    /// The session's default database: MariaDB resolves the alias of a multi-table
    /// `DELETE t FROM db.x AS t` only with one selected (error 1046 otherwise).
    database: Option<String>,
}

impl Writer {
    pub(crate) async fn open(ddl: &OnlineDdl) -> OnlineDdlResult<Writer> {
        let mut conn = ddl.dedicated_conn().await?;
        let mode = sql::conversion_mode(&mut conn, false).await?;
        conn.query_drop(format!(
            "SET NAMES binary, SESSION sql_mode = {}, SESSION max_error_count = {MAX_WARNINGS}",
            dbplane_schema::quote::mariadb_string(&mode)
        ))
        .await?;
        Ok(Writer {
            conn,
            stages: Vec::new(),
            database: None,
        })
    }

    pub(crate) async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    /// Creates the route's staging table if this session has none yet. Call it before the
    /// source is locked: creating it reads the source's definition.
    pub(crate) async fn prepare(&mut self, route: &Route) -> OnlineDdlResult<()> {
        self.stage_index(route).await.map(|_| ())
    }

    pub(crate) async fn stage_index(&mut self, route: &Route) -> OnlineDdlResult<usize> {
        if self.database.as_deref() != Some(route.db.as_str()) {
            self.conn
                .query_drop(format!("USE {}", sql::ident(&route.db)))
                .await?;
            self.database = Some(route.db.clone());
        }
        if let Some(index) = self.stages.iter().position(|s| {
            s.direction == route.direction && s.db == route.db && s.source == route.source
        }) {
            return Ok(index);
        }
        let name = sql::qualified(&route.db, &format!("_dbp_stage_{}", self.stages.len()));
        self.conn
            .query_drop(format!(
                "CREATE TEMPORARY TABLE {name} ({seq} INT UNSIGNED NOT NULL DEFAULT 0, \
                 {op} TINYINT NOT NULL DEFAULT 0, KEY ({seq})) SELECT {columns} FROM {source} LIMIT 0",
                seq = sql::ident(SEQ),
                op = sql::ident(OP),
                columns = sql::column_list(&route.source_columns),
                source = sql::qualified(&route.db, &route.source),
            ))
            .await?;
        let target = read_shape(&mut self.conn, &route.db, &route.target).await?;
        let fixed_binary = fixed_binary_columns(&mut self.conn, route).await?;
        self.stages.push(Stage {
            direction: route.direction,
            db: route.db.clone(),
            source: route.source.clone(),
            name,
            target_keys: target
                .unique_keys
                .iter()
                .map(|k| {
                    (
                        k.name.clone(),
                        k.parts.iter().map(|p| p.column.clone()).collect(),
                    )
                })
                .collect(),
            fixed_binary,
        });
        Ok(self.stages.len() - 1)
    }

    /// Writes `rows` (sequence number, operation, values of `columns`) to the staging table,
    /// emptied first.
    pub(crate) async fn stage_rows(
        &mut self,
        stage: usize,
        columns: &[String],
        rows: impl Iterator<Item = (u32, u8, Vec<Value>)>,
    ) -> OnlineDdlResult<()> {
        let name = self.stages[stage].name.clone();
        self.conn
            .query_drop(format!("TRUNCATE TABLE {name}"))
            .await?;
        let width = columns.len() + 2;
        let row = sql::placeholders(width);
        let head = format!(
            "SET STATEMENT time_zone = '+00:00', sql_mode = '' FOR INSERT INTO {name} ({}, {}, {}) VALUES ",
            sql::ident(SEQ),
            sql::ident(OP),
            sql::column_list(columns)
        );
        let mut params: Vec<Value> = Vec::new();
        let mut bytes = 0;
        let mut count = 0;
        for (seq, op, values) in rows {
            params.push(Value::UInt(u64::from(seq)));
            params.push(Value::UInt(u64::from(op)));
            bytes += values.iter().map(value_size).sum::<usize>();
            params.extend(values);
            count += 1;
            if (count + 1) * width > STAGE_PLACEHOLDERS || bytes > STAGE_BYTES {
                let statement = format!("{head}{}", vec![row.as_str(); count].join(", "));
                self.conn
                    .exec_drop(statement, std::mem::take(&mut params))
                    .await?;
                (bytes, count) = (0, 0);
            }
        }
        if count > 0 {
            let statement = format!("{head}{}", vec![row.as_str(); count].join(", "));
            self.conn.exec_drop(statement, params).await?;
        }
        Ok(())
    }
}

/// Positions (in `route.source_columns`) and byte lengths of fixed-length binary columns.
async fn fixed_binary_columns(
    conn: &mut Conn,
    route: &Route,
) -> OnlineDdlResult<Vec<(usize, usize)>> {
    let columns: Vec<(String, String, Option<u64>)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&route.db, &route.source),
        )
        .await?;
    Ok(route
        .source_columns
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let (_, data_type, octets) = columns.iter().find(|(c, ..)| same_name(c, name))?;
            let length = match data_type.to_ascii_lowercase().as_str() {
                "binary" => (*octets)? as usize,
                "uuid" | "inet6" => 16,
                "inet4" => 4,
                _ => return None,
            };
            Some((index, length))
        })
        .collect())
}

/// `Duplicate entry 'x' for key 'name'` → `name` (MariaDB may prefix the table: `t.name`).
pub(crate) fn duplicate_key_name(message: &str) -> Option<String> {
    let rest = message.rsplit_once(" for key '")?.1;
    let name = rest.strip_suffix('\'')?;
    Some(
        name.rsplit_once('.')
            .map_or(name, |(_, key)| key)
            .to_string(),
    )
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Bytes(bytes) => bytes.len() + 9,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_messages_name_their_key() {
        assert_eq!(
            duplicate_key_name("Duplicate entry '5' for key 'u'").as_deref(),
            Some("u")
        );
        assert_eq!(
            duplicate_key_name("Duplicate entry 'a-'b' for key 't.PRIMARY'").as_deref(),
            Some("PRIMARY")
        );
        assert_eq!(duplicate_key_name("Data too long for column 'c'"), None);
    }
}
