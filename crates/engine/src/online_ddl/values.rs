//! Binlog row values as values a column **of the same type** stores unchanged.
//!
//! The change stream never converts a value to the target column's type itself: a value is
//! first written to a staging table with the source column's own type (see `stage.rs`), and
//! the server converts from there with `INSERT … SELECT`, exactly as the row copy does. What
//! this module must get right is only that first, same-type write. `mysql_common` decodes
//! the binlog into values a client would mostly read back, but not in every case:
//!
//! | binlog type | decoded as | stored here as |
//! | --- | --- | --- |
//! | `TIMESTAMP` | Unix seconds as text (`"1796527254.5"`), `"0"` for the zero value | UTC text `'YYYY-MM-DD HH:MM:SS.ffffff'`, written with `time_zone = '+00:00'`; `'0000-00-00 00:00:00'` |
//! | `YEAR` | text `1900 + byte`, so the zero year reads `"1900"` | the integer year, `0` for `0000` |
//! | `SET` | the member bitmap as little-endian bytes (a string would be read as labels) | the bitmap as an integer |
//! | `ENUM` | the member index | unchanged: an integer stored in an `ENUM` is an index |
//! | signed `MEDIUMINT` | its three bytes as an unsigned number (no sign extension) | the signed number |
//! | `DATE`, `DATETIME`, `TIME` | date/time values | text, so zero dates and zero parts pass as stored |
//! | strings, `BIT`, `DECIMAL`, `JSON` (MariaDB: text), spatial | bytes | unchanged, written with `character_set_client = binary` so text keeps its column's charset |
//!
//! MySQL's binary JSON and partial JSON updates never occur on MariaDB and are refused.

use mysql_async::Value;
use mysql_async::binlog::value::BinlogValue;
use mysql_common::constants::ColumnType;

/// Why a binlog value cannot be written back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnsupportedValue(pub String);

/// `value`, read from a binlog column of `column_type` (`unsigned` from the table map's
/// signedness), as a value that a column of the same type stores unchanged (under
/// `time_zone = '+00:00'` and `character_set_client = binary`).
pub(crate) fn insertable(
    value: &BinlogValue<'_>,
    column_type: ColumnType,
    unsigned: bool,
) -> Result<Value, UnsupportedValue> {
    let value = match value {
        BinlogValue::Value(value) => value,
        BinlogValue::Jsonb(_) | BinlogValue::JsonDiff(_) => {
            return Err(UnsupportedValue(
                "a MySQL binary JSON value (MariaDB stores JSON as text)".into(),
            ));
        }
    };
    if *value == Value::NULL {
        return Ok(Value::NULL);
    }
    use ColumnType::*;
    Ok(match (column_type, value) {
        (MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2, Value::Bytes(text)) => {
            Value::Bytes(utc_from_unix_text(text)?.into_bytes())
        }
        (MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2, Value::Int(seconds)) => {
            Value::Bytes(utc_from_unix(*seconds, 0)?.into_bytes())
        }
        // mysql_common reads a signed MEDIUMINT's three bytes without extending the sign.
        (MYSQL_TYPE_INT24, Value::Int(v)) if !unsigned && *v >= 1 << 23 => {
            Value::Int(v - (1 << 24))
        }
        (MYSQL_TYPE_YEAR, Value::Bytes(text)) => {
            let year: i64 = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| UnsupportedValue(format!("YEAR value {text:?}")))?;
            // The byte 0 is the year 0000; 1901–2155 are 1900 + byte.
            Value::Int(if year == 1900 { 0 } else { year })
        }
        (MYSQL_TYPE_SET, Value::Bytes(bitmap)) => {
            if bitmap.len() > 8 {
                return Err(UnsupportedValue(format!(
                    "SET bitmap of {} bytes",
                    bitmap.len()
                )));
            }
            let mut bits = [0u8; 8];
            bits[..bitmap.len()].copy_from_slice(bitmap);
            Value::UInt(u64::from_le_bytes(bits))
        }
        (MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE, Value::Date(y, m, d, ..)) => {
            Value::Bytes(format!("{y:04}-{m:02}-{d:02}").into_bytes())
        }
        (_, Value::Date(y, mo, d, h, mi, s, us)) => Value::Bytes(
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}").into_bytes(),
        ),
        (_, Value::Time(negative, days, h, m, s, us)) => {
            let sign = if *negative { "-" } else { "" };
            let hours = u64::from(*days) * 24 + u64::from(*h);
            Value::Bytes(format!("{sign}{hours:02}:{m:02}:{s:02}.{us:06}").into_bytes())
        }
        (_, other) => other.clone(),
    })
}

/// `"1796527254"` or `"1796527254.500000"` (seconds since the epoch, UTC) as
/// `'2026-12-06 03:20:54.500000'`.
fn utc_from_unix_text(text: &[u8]) -> Result<String, UnsupportedValue> {
    let invalid = || UnsupportedValue(format!("TIMESTAMP value {text:?}"));
    let text = std::str::from_utf8(text).map_err(|_| invalid())?;
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    let seconds: i64 = seconds.parse().map_err(|_| invalid())?;
    let micros: u32 = if fraction.is_empty() {
        0
    } else if fraction.len() <= 6 && fraction.bytes().all(|b| b.is_ascii_digit()) {
        format!("{fraction:0<6}").parse().map_err(|_| invalid())?
    } else {
        return Err(invalid());
    };
    utc_from_unix(seconds, micros)
}

fn utc_from_unix(seconds: i64, micros: u32) -> Result<String, UnsupportedValue> {
    if seconds == 0 && micros == 0 {
        // TIMESTAMP's zero value, not the epoch (the epoch itself cannot be stored).
        return Ok("0000-00-00 00:00:00".into());
    }
    let at = time::OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|error| UnsupportedValue(format!("TIMESTAMP {seconds}: {error}")))?;
    Ok(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{micros:06}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Value) -> String {
        match value {
            Value::Bytes(bytes) => String::from_utf8(bytes).unwrap(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn timestamps_become_utc_text() {
        let ts = |s: &str| {
            text(
                insertable(
                    &BinlogValue::Value(Value::Bytes(s.as_bytes().to_vec())),
                    ColumnType::MYSQL_TYPE_TIMESTAMP2,
                    false,
                )
                .unwrap(),
            )
        };
        assert_eq!(ts("1796527254"), "2026-12-06 03:20:54.000000");
        assert_eq!(ts("1796527254.000500"), "2026-12-06 03:20:54.000500");
        assert_eq!(ts("1.5"), "1970-01-01 00:00:01.500000");
        assert_eq!(ts("0"), "0000-00-00 00:00:00");
        assert!(
            insertable(
                &BinlogValue::Value(Value::Bytes(b"x".to_vec())),
                ColumnType::MYSQL_TYPE_TIMESTAMP2,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn the_zero_year_and_set_bitmaps_are_restored() {
        let year = |s: &str| {
            insertable(
                &BinlogValue::Value(Value::Bytes(s.as_bytes().to_vec())),
                ColumnType::MYSQL_TYPE_YEAR,
                true,
            )
            .unwrap()
        };
        assert_eq!(year("1900"), Value::Int(0));
        assert_eq!(year("2155"), Value::Int(2155));
        let set = insertable(
            &BinlogValue::Value(Value::Bytes(vec![0b101, 0b1])),
            ColumnType::MYSQL_TYPE_SET,
            false,
        )
        .unwrap();
        assert_eq!(set, Value::UInt(0b1_0000_0101));
        // An ENUM index stays an index.
        let e = insertable(
            &BinlogValue::Value(Value::Int(0)),
            ColumnType::MYSQL_TYPE_ENUM,
            false,
        )
        .unwrap();
        assert_eq!(e, Value::Int(0));
        let medium = |v, unsigned| {
            insertable(
                &BinlogValue::Value(Value::Int(v)),
                ColumnType::MYSQL_TYPE_INT24,
                unsigned,
            )
            .unwrap()
        };
        assert_eq!(medium(0x80_0051, false), Value::Int(-8_388_527));
        assert_eq!(medium(0xFF_FFFF, false), Value::Int(-1));
        assert_eq!(medium(0x7F_FFFF, false), Value::Int(8_388_607));
        assert_eq!(medium(0xFF_FFFF, true), Value::Int(16_777_215));
    }

    #[test]
    fn dates_and_times_keep_zero_parts_and_signs() {
        let date = insertable(
            &BinlogValue::Value(Value::Date(0, 0, 0, 0, 0, 0, 0)),
            ColumnType::MYSQL_TYPE_DATETIME2,
            false,
        )
        .unwrap();
        assert_eq!(text(date), "0000-00-00 00:00:00.000000");
        let day = insertable(
            &BinlogValue::Value(Value::Date(2024, 2, 0, 0, 0, 0, 0)),
            ColumnType::MYSQL_TYPE_NEWDATE,
            false,
        )
        .unwrap();
        assert_eq!(text(day), "2024-02-00");
        let time = insertable(
            &BinlogValue::Value(Value::Time(true, 34, 22, 59, 58, 1)),
            ColumnType::MYSQL_TYPE_TIME2,
            false,
        )
        .unwrap();
        assert_eq!(text(time), "-838:59:58.000001");
        assert_eq!(
            insertable(
                &BinlogValue::Value(Value::NULL),
                ColumnType::MYSQL_TYPE_TIME2,
                false
            ),
            Ok(Value::NULL)
        );
    }
}
