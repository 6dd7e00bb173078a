//! SQL helpers: quoting, introspection, serializable key values.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use serde::{Deserialize, Serialize};

use super::{BinlogPosition, OnlineDdlError, OnlineDdlResult};

/// A primary key value, serializable (mirrors `mysql_async::Value`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyValue {
    Null,
    Bytes(Vec<u8>),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl From<Value> for KeyValue {
    fn from(value: Value) -> Self {
        match value {
            Value::NULL => KeyValue::Null,
            Value::Bytes(bytes) => KeyValue::Bytes(bytes),
            Value::Int(v) => KeyValue::Int(v),
            Value::UInt(v) => KeyValue::UInt(v),
            Value::Float(v) => KeyValue::Float(v),
            Value::Double(v) => KeyValue::Double(v),
            Value::Date(y, mo, d, h, mi, s, us) => KeyValue::Date(y, mo, d, h, mi, s, us),
            Value::Time(neg, d, h, mi, s, us) => KeyValue::Time(neg, d, h, mi, s, us),
        }
    }
}

impl From<&KeyValue> for Value {
    fn from(value: &KeyValue) -> Self {
        match value.clone() {
            KeyValue::Null => Value::NULL,
            KeyValue::Bytes(bytes) => Value::Bytes(bytes),
            KeyValue::Int(v) => Value::Int(v),
            KeyValue::UInt(v) => Value::UInt(v),
            KeyValue::Float(v) => Value::Float(v),
            KeyValue::Double(v) => Value::Double(v),
            KeyValue::Date(y, mo, d, h, mi, s, us) => Value::Date(y, mo, d, h, mi, s, us),
            KeyValue::Time(neg, d, h, mi, s, us) => Value::Time(neg, d, h, mi, s, us),
        }
    }
}

pub(crate) use dbplane_schema::quote::{mariadb_ident as ident, mariadb_qualified as qualified};

/// The SQL modes the copy and the change stream convert rows under: the server's own,
/// minus what refuses values a table may legitimately hold (zero dates, zero date parts),
/// what changes how rows read (`PAD_CHAR_TO_FULL_LENGTH`, `EMPTY_STRING_IS_NULL`) or how our
/// statements parse, plus `NO_AUTO_VALUE_ON_ZERO` (a key of 0 is copied as 0, not as the next
/// auto-increment value). `strict`: refuse a value that would not fit (the stream);
/// otherwise the copy's `INSERT IGNORE` reports it as a warning.
pub(crate) async fn conversion_mode(conn: &mut Conn, strict: bool) -> OnlineDdlResult<String> {
    let global: String = conn
        .query_first("SELECT @@GLOBAL.sql_mode")
        .await?
        .unwrap_or_default();
    Ok(conversion_mode_from(&global, strict))
}

const DROPPED_MODES: &[&str] = &[
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_DATE",
    "NO_ZERO_IN_DATE",
    "PAD_CHAR_TO_FULL_LENGTH",
    "EMPTY_STRING_IS_NULL",
    "ANSI_QUOTES",
    "NO_BACKSLASH_ESCAPES",
    "ORACLE",
    "ANSI",
    "TRADITIONAL",
    "MSSQL",
    "DB2",
    "POSTGRESQL",
    "MAXDB",
    "SIMULTANEOUS_ASSIGNMENT",
];

pub fn conversion_mode_from(global: &str, strict: bool) -> String {
    let mut modes: Vec<&str> = global
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && !DROPPED_MODES.iter().any(|d| d.eq_ignore_ascii_case(m)))
        .collect();
    modes.push("NO_AUTO_VALUE_ON_ZERO");
    if strict {
        modes.push("STRICT_ALL_TABLES");
    }
    modes.sort_unstable();
    modes.dedup();
    modes.join(",")
}

pub(crate) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(a, b)` (a row constructor, compared lexicographically by MariaDB).
pub(crate) fn key_tuple(columns: &[String]) -> String {
    format!("({})", column_list(columns))
}

/// `(?, ?)` for a key of `n` columns.
pub(crate) fn placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

pub(crate) async fn table_exists(conn: &mut Conn, db: &str, table: &str) -> OnlineDdlResult<bool> {
    let count: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    Ok(count.unwrap_or(0) > 0)
}

pub(crate) async fn master_position(conn: &mut Conn) -> OnlineDdlResult<BinlogPosition> {
    let row: Option<Row> = conn.query_first("SHOW MASTER STATUS").await?;
    let row = row.ok_or_else(|| OnlineDdlError::Binlog("the binary log is disabled".into()))?;
    let file: String = row
        .get(0)
        .ok_or_else(|| OnlineDdlError::Binlog("SHOW MASTER STATUS has no file".into()))?;
    let position: u64 = row
        .get(1)
        .ok_or_else(|| OnlineDdlError::Binlog("SHOW MASTER STATUS has no position".into()))?;
    Ok(BinlogPosition { file, position })
}

/// The binlog position consistent with a snapshot taken now: every transaction before it is
/// visible to this and every later read, none after it is visible to this one.
///
/// `SHOW MASTER STATUS` is not enough: a transaction is written to the binlog (and can be
/// streamed) a moment before InnoDB makes it visible, so a read started in between misses a
/// change the stream already delivered (the module docs say what that cost).
/// MariaDB's `START TRANSACTION WITH CONSISTENT SNAPSHOT` reports the exact position in
/// `binlog_snapshot_file`/`_position`.
pub(crate) async fn snapshot_position(conn: &mut Conn) -> OnlineDdlResult<BinlogPosition> {
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await?;
    let position = snapshot_status(conn).await;
    conn.query_drop("COMMIT").await?;
    position
}

/// Inside a `START TRANSACTION WITH CONSISTENT SNAPSHOT`: its binlog position.
pub(crate) async fn snapshot_status(conn: &mut Conn) -> OnlineDdlResult<BinlogPosition> {
    let rows: Vec<(String, String)> = conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'").await?;
    let value = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| OnlineDdlError::Binlog(format!("no status variable {name}")))
    };
    let file = value("Binlog_snapshot_file")?;
    if file.is_empty() {
        return Err(OnlineDdlError::Binlog("the binary log is disabled".into()));
    }
    let position = value("Binlog_snapshot_position")?
        .parse()
        .map_err(|error| OnlineDdlError::Binlog(format!("binlog_snapshot_position: {error}")))?;
    Ok(BinlogPosition { file, position })
}

pub(crate) async fn max_key(
    conn: &mut Conn,
    db: &str,
    table: &str,
    key: &[String],
) -> OnlineDdlResult<Option<Vec<KeyValue>>> {
    let order = key
        .iter()
        .map(|c| format!("{} DESC", ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let row: Option<Row> = conn
        .query_first(format!(
            "SELECT {} FROM {} ORDER BY {order} LIMIT 1",
            column_list(key),
            qualified(db, table)
        ))
        .await?;
    Ok(row.map(row_key))
}

pub(crate) fn row_key(row: Row) -> Vec<KeyValue> {
    row.unwrap().into_iter().map(KeyValue::from).collect()
}

pub(crate) async fn row_estimate(conn: &mut Conn, db: &str, table: &str) -> OnlineDdlResult<u64> {
    let rows: Option<Option<u64>> = conn
        .exec_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    Ok(rows.flatten().unwrap_or(0))
}

/// Replaces the table name of `CREATE TABLE [IF NOT EXISTS] name ...` with `new_name`.
pub(crate) fn rename_create_table(statement: &str, new_name: &str) -> Option<String> {
    let mut rest = statement.trim_start();
    for word in ["CREATE", "TABLE"] {
        rest = strip_keyword(rest, word)?;
    }
    if let Some(after) = strip_keyword(rest, "IF") {
        rest = strip_keyword(strip_keyword(after, "NOT")?, "EXISTS")?;
    }
    // One or two (db.table) identifiers, quoted or bare.
    let mut after_name = skip_identifier(rest)?;
    if let Some(stripped) = after_name.trim_start().strip_prefix('.') {
        after_name = skip_identifier(stripped.trim_start())?;
    }
    Some(format!("CREATE TABLE {new_name} {after_name}"))
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let next = text[keyword.len()..].chars().next();
    if head.eq_ignore_ascii_case(keyword) && next.is_none_or(|c| c.is_whitespace()) {
        Some(&text[keyword.len()..])
    } else {
        None
    }
}

fn skip_identifier(text: &str) -> Option<&str> {
    let text = text.trim_start();
    if let Some(quoted) = text.strip_prefix('`') {
        let mut chars = quoted.char_indices().peekable();
        while let Some((index, c)) = chars.next() {
            if c == '`' {
                if chars.peek().map(|(_, c)| *c) == Some('`') {
                    chars.next();
                } else {
                    return Some(&quoted[index + 1..]);
                }
            }
        }
        None
    } else {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(text.len());
        (end > 0).then(|| &text[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_is_renamed() {
        assert_eq!(
            rename_create_table("create table `t``x` (id int)", "`d`.`s`").as_deref(),
            Some("CREATE TABLE `d`.`s`  (id int)")
        );
        assert_eq!(
            rename_create_table("CREATE TABLE IF NOT EXISTS db.t(id int)", "s").as_deref(),
            Some("CREATE TABLE s (id int)")
        );
        assert_eq!(rename_create_table("CREATE VIEW v AS SELECT 1", "s"), None);
    }

    #[test]
    fn conversion_modes_keep_zero_dates_and_zero_keys() {
        assert_eq!(
            conversion_mode_from(
                "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
                true
            ),
            "ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,STRICT_ALL_TABLES"
        );
        assert_eq!(
            conversion_mode_from("NO_ZERO_DATE,TIME_ROUND_FRACTIONAL,ANSI_QUOTES", false),
            "NO_AUTO_VALUE_ON_ZERO,TIME_ROUND_FRACTIONAL"
        );
        assert_eq!(conversion_mode_from("", false), "NO_AUTO_VALUE_ON_ZERO");
    }

    #[test]
    fn key_values_round_trip_through_json() {
        let key = vec![
            KeyValue::Int(-3),
            KeyValue::Bytes(b"a\0b".to_vec()),
            KeyValue::UInt(7),
        ];
        let json = serde_json::to_string(&key).unwrap();
        let back: Vec<KeyValue> = serde_json::from_str(&json).unwrap();
        assert_eq!(key, back);
        assert_eq!(Value::from(&back[0]), Value::Int(-3));
    }
}
