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

/// Quotes any string as a MariaDB identifier: `` `a``b` ``.
pub(crate) fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub(crate) fn qualified(db: &str, table: &str) -> String {
    format!("{}.{}", ident(db), ident(table))
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

pub(crate) struct ColumnInfo {
    pub name: String,
    pub generated: bool,
}

pub(crate) async fn table_columns(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> OnlineDdlResult<Vec<ColumnInfo>> {
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT COLUMN_NAME, IS_GENERATED FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, generated)| ColumnInfo {
            name,
            generated: generated != "NEVER",
        })
        .collect())
}

pub(crate) async fn primary_key(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> OnlineDdlResult<Vec<String>> {
    Ok(conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
             ORDER BY SEQ_IN_INDEX",
            (db, table),
        )
        .await?)
}

/// Columns of each unique key other than the primary key, in key order.
pub(crate) async fn unique_keys(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> OnlineDdlResult<Vec<Vec<String>>> {
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             AND INDEX_NAME <> 'PRIMARY' ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await?;
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for (index, column) in rows {
        match keys.last_mut() {
            Some((name, columns)) if *name == index => columns.push(column),
            _ => keys.push((index, vec![column])),
        }
    }
    Ok(keys.into_iter().map(|(_, columns)| columns).collect())
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
