//! A statement's response, read as a MySQL client reads it (text rows,
//! `CLIENT_DEPRECATE_EOF`, MariaDB's extended column metadata) and turned into Vitess's
//! `QueryResult`: Vitess type names from the column type and flags, rows as lengths and
//! base64 values.

use std::io;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::wire::{Field, QueryResult, Row, RpcError};
use crate::packet::PacketStream;
use crate::protocol::{self, Reader, ServerError, status};

/// MySQL column types (`MYSQL_TYPE_*`).
mod column {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// Column flags that change the Vitess type.
mod flag {
    pub const UNSIGNED: u16 = 32;
    pub const BINARY: u16 = 128;
    pub const ENUM: u16 = 256;
    pub const SET: u16 = 2048;
}

/// The binary "character set" (collation 63).
const BINARY_CHARSET: u16 = 63;

/// What a statement answered: a result, or the server's error.
pub type Answer = Result<QueryResult, ServerError>;

/// Reads one command's whole response. A `LOAD DATA LOCAL` request is answered with no
/// data (an HTTP request has no files to send).
pub async fn read_answer(stream: &mut PacketStream) -> io::Result<Answer> {
    let mut first: Option<Answer> = None;
    loop {
        let packet = next(stream).await?;
        let payload = &packet.payload;
        let (this, more) = match payload.first() {
            Some(0x00) => {
                let ok = protocol::parse_ok(payload).unwrap_or_default();
                let result = QueryResult {
                    rows_affected: ok.affected_rows,
                    insert_id: ok.last_insert_id,
                    info: ok_info(payload),
                    ..QueryResult::default()
                };
                (Ok(result), ok.status & status::MORE_RESULTS_EXISTS != 0)
            }
            Some(0xff) => (Err(server_error(payload)), false),
            Some(0xfb) => {
                stream.write_packet(packet.seq.wrapping_add(1), &[]).await?;
                stream.flush().await?;
                continue;
            }
            _ => {
                let columns = Reader(payload).lenenc_int().unwrap_or(0);
                let (result, end) = result_set(stream, columns).await?;
                (result, end & status::MORE_RESULTS_EXISTS != 0)
            }
        };
        // Later results of a multi-result response (a procedure's) are read and dropped;
        // an error among them is what the statement answered.
        match (&first, this) {
            (None, this) => first = Some(this),
            (Some(Ok(_)), Err(error)) => first = Some(Err(error)),
            _ => {}
        }
        if !more {
            return Ok(first.unwrap_or_else(|| Ok(QueryResult::default())));
        }
    }
}

async fn next(stream: &mut PacketStream) -> io::Result<crate::packet::Packet> {
    stream
        .read_packet()
        .await?
        .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
}

/// Column definitions then text rows, up to the closing OK (or an ERR: the row limit).
async fn result_set(
    stream: &mut PacketStream,
    columns: u64,
) -> io::Result<(Result<QueryResult, ServerError>, u16)> {
    let mut fields = Vec::with_capacity(columns as usize);
    for _ in 0..columns {
        let definition = next(stream).await?;
        fields.push(parse_field(&definition.payload).ok_or_else(malformed)?);
    }
    let mut rows = Vec::new();
    let mut values = Vec::new();
    loop {
        let packet = next(stream).await?;
        let payload = &packet.payload;
        if protocol::is_end_of_rows(payload, true) {
            let ok = protocol::parse_ok(payload).unwrap_or_default();
            let result = QueryResult {
                fields,
                rows,
                ..QueryResult::default()
            };
            return Ok((Ok(result), ok.status));
        }
        if payload.first() == Some(&0xff) {
            let error = server_error(payload);
            return Ok((Err(error), 0));
        }
        rows.push(text_row(payload, fields.len(), &mut values).ok_or_else(malformed)?);
    }
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed result set")
}

fn server_error(payload: &[u8]) -> ServerError {
    protocol::parse_err(payload).unwrap_or(ServerError {
        code: 2027,
        state: "HY000".into(),
        message: "Malformed packet".into(),
    })
}

/// The human-readable part of an OK (`Records: 2  Duplicates: 0  Warnings: 0`).
fn ok_info(payload: &[u8]) -> String {
    let mut reader = Reader(payload);
    let info = (|| {
        reader.u8()?;
        reader.lenenc_int()?;
        reader.lenenc_int()?;
        reader.u16()?;
        reader.u16()?;
        Some(reader.rest())
    })();
    info.map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}

/// One text row; `scratch` is reused for the values' bytes.
fn text_row(payload: &[u8], columns: usize, scratch: &mut Vec<u8>) -> Option<Row> {
    scratch.clear();
    let mut lengths = Vec::with_capacity(columns);
    let mut reader = Reader(payload);
    while !reader.is_empty() {
        if reader.rest().first() == Some(&0xfb) {
            reader.u8();
            lengths.push(-1);
            continue;
        }
        let value = reader.lenenc_bytes()?;
        lengths.push(value.len() as i64);
        scratch.extend_from_slice(value);
    }
    Some(Row {
        lengths,
        values: STANDARD.encode(scratch.as_slice()),
    })
}

/// A column definition (with MariaDB's extended metadata after the names).
fn parse_field(payload: &[u8]) -> Option<Field> {
    let mut reader = Reader(payload);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let _catalog = reader.lenenc_bytes()?;
    let database = text(reader.lenenc_bytes()?);
    let table = text(reader.lenenc_bytes()?);
    let org_table = text(reader.lenenc_bytes()?);
    let name = text(reader.lenenc_bytes()?);
    let org_name = text(reader.lenenc_bytes()?);
    // HTTP sessions' backend connections always ask for extended metadata.
    let json = extended_format(reader.lenenc_bytes()?) == Some(&b"json"[..]);
    reader.lenenc_int()?;
    let charset = reader.u16()?;
    let column_length = reader.u32()?;
    let column_type = reader.u8()?;
    let flags = reader.u16()?;
    let decimals = reader.u8()?;
    let kind = if json {
        Some("JSON")
    } else {
        vitess_type(column_type, flags, charset)
    };
    Some(Field {
        name,
        kind,
        table,
        org_table,
        database,
        org_name,
        column_length,
        // MySQL reports JSON as binary; so do we, as the drivers expect.
        charset: if json { BINARY_CHARSET } else { charset }.into(),
        decimals: decimals_of(column_type, decimals),
        flags: flags.into(),
    })
}

/// The `format` entry (type 1) of an extended metadata block.
fn extended_format(block: &[u8]) -> Option<&[u8]> {
    let mut reader = Reader(block);
    while !reader.is_empty() {
        let kind = reader.u8()?;
        let value = reader.lenenc_bytes()?;
        if kind == 1 {
            return Some(value);
        }
    }
    None
}

/// Decimals as MySQL (and so PlanetScale) reports them. "Not fixed" is 39 from MariaDB
/// and 31 from MySQL: floating point says 31, other types leave it out.
fn decimals_of(column_type: u8, decimals: u8) -> u32 {
    const NOT_FIXED: u8 = 31;
    match column_type {
        column::FLOAT | column::DOUBLE if decimals >= NOT_FIXED => NOT_FIXED.into(),
        _ if decimals >= NOT_FIXED => 0,
        _ => decimals.into(),
    }
}

/// Vitess's type name for a MySQL column type and its flags (as Vitess's
/// `sqltypes.MySQLToType` maps them); `None` for `NULL_TYPE`.
pub fn vitess_type(column_type: u8, flags: u16, charset: u16) -> Option<&'static str> {
    use column::*;
    let unsigned = flags & flag::UNSIGNED != 0;
    let binary = flags & flag::BINARY != 0 || charset == BINARY_CHARSET;
    let pick = |signed: &'static str, unsigned_name: &'static str| {
        Some(if unsigned { unsigned_name } else { signed })
    };
    match column_type {
        TINY => pick("INT8", "UINT8"),
        SHORT => pick("INT16", "UINT16"),
        INT24 => pick("INT24", "UINT24"),
        LONG => pick("INT32", "UINT32"),
        LONGLONG => pick("INT64", "UINT64"),
        FLOAT => Some("FLOAT32"),
        DOUBLE => Some("FLOAT64"),
        DECIMAL | NEWDECIMAL => Some("DECIMAL"),
        NULL => None,
        TIMESTAMP | TIMESTAMP2 => Some("TIMESTAMP"),
        DATE | NEWDATE => Some("DATE"),
        TIME | TIME2 => Some("TIME"),
        DATETIME | DATETIME2 => Some("DATETIME"),
        YEAR => Some("YEAR"),
        BIT => Some("BIT"),
        JSON => Some("JSON"),
        GEOMETRY => Some("GEOMETRY"),
        ENUM => Some("ENUM"),
        SET => Some("SET"),
        TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB => Some(if binary { "BLOB" } else { "TEXT" }),
        VARCHAR | VAR_STRING => Some(if binary { "VARBINARY" } else { "VARCHAR" }),
        STRING if flags & flag::ENUM != 0 => Some("ENUM"),
        STRING if flags & flag::SET != 0 => Some("SET"),
        STRING => Some(if binary { "BINARY" } else { "CHAR" }),
        _ => Some("VARBINARY"),
    }
}

/// An SQL error as the driver reads it: the message ends with `(errno N) (sqlstate S)`
/// (what Prisma's adapter parses), the code is Vitess's for that error number.
pub fn rpc_error(error: &ServerError) -> RpcError {
    RpcError {
        code: rpc_code(error.code),
        message: format!(
            "{} (errno {}) (sqlstate {})",
            error.message, error.code, error.state
        ),
    }
}

/// Vitess's `vtrpc.Code` for a MySQL error number (as vterrors classifies them).
fn rpc_code(errno: u16) -> &'static str {
    match errno {
        1062 | 1022 | 1050 | 1007 => "ALREADY_EXISTS",
        1146 | 1049 | 1051 | 1091 | 1305 => "NOT_FOUND",
        1044 | 1045 | 1142 | 1143 | 1227 | 1370 | 1290 => "PERMISSION_DENIED",
        1205 | 1317 | 1969 | 3024 => "DEADLINE_EXCEEDED",
        1213 | 1180 | 1181 => "ABORTED",
        1040 | 1203 | 1226 | 1041 => "RESOURCE_EXHAUSTED",
        1264 | 1690 => "OUT_OF_RANGE",
        2006 | 2013 => "UNAVAILABLE",
        1054 | 1064 | 1048 | 1052 | 1136 | 1138 | 1149 | 1292 | 1364 | 1366 | 1406 | 1451
        | 1452 | 1105 | 4025 => "INVALID_ARGUMENT",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(extended: &[u8], charset: u16, column_type: u8, flags: u16) -> Vec<u8> {
        let mut out = Vec::new();
        for field in [&b"def"[..], b"shop", b"t", b"t", b"c", b"c"] {
            protocol::put_lenenc_bytes(&mut out, field);
        }
        protocol::put_lenenc_bytes(&mut out, extended);
        out.push(0x0c);
        out.extend_from_slice(&charset.to_le_bytes());
        out.extend_from_slice(&100u32.to_le_bytes());
        out.push(column_type);
        out.extend_from_slice(&flags.to_le_bytes());
        out.push(31);
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn json_columns_are_known_by_their_extended_format() {
        let block = [1u8, 4, b'j', b's', b'o', b'n'];
        let field = parse_field(&definition(&block, 46, column::BLOB, 16)).unwrap();
        assert_eq!(field.kind, Some("JSON"));
        assert_eq!(field.charset, 63);
        let text = parse_field(&definition(&[], 46, column::BLOB, 16)).unwrap();
        assert_eq!(text.kind, Some("TEXT"));
        assert_eq!(text.database, "shop");
        assert_eq!(text.decimals, 0);
        // A block of twelve bytes, like the fixed fields' length, is still a block.
        let geometry_subtype = [
            0u8, 10, b'm', b'u', b'l', b't', b'i', b'p', b'o', b'i', b'n', b't',
        ];
        let point = parse_field(&definition(&geometry_subtype, 63, 255, 144)).unwrap();
        assert_eq!(point.kind, Some("GEOMETRY"));
    }

    #[test]
    fn types_follow_vitess() {
        assert_eq!(vitess_type(column::TINY, flag::UNSIGNED, 63), Some("UINT8"));
        assert_eq!(vitess_type(column::LONGLONG, 0, 63), Some("INT64"));
        assert_eq!(vitess_type(column::STRING, flag::ENUM, 45), Some("ENUM"));
        assert_eq!(vitess_type(column::STRING, flag::SET, 45), Some("SET"));
        assert_eq!(
            vitess_type(column::STRING, flag::BINARY, 63),
            Some("BINARY")
        );
        assert_eq!(vitess_type(column::STRING, 0, 45), Some("CHAR"));
        assert_eq!(vitess_type(column::VAR_STRING, 0, 63), Some("VARBINARY"));
        assert_eq!(vitess_type(column::BLOB, 0, 45), Some("TEXT"));
        assert_eq!(vitess_type(column::BLOB, flag::BINARY, 63), Some("BLOB"));
        assert_eq!(vitess_type(column::NULL, 0, 63), None);
        assert_eq!(vitess_type(column::NEWDECIMAL, 0, 63), Some("DECIMAL"));
    }

    #[test]
    fn rows_keep_nulls_and_bytes() {
        let mut payload = Vec::new();
        protocol::put_lenenc_bytes(&mut payload, b"1");
        payload.push(0xfb);
        protocol::put_lenenc_bytes(&mut payload, &[0, 255]);
        let row = text_row(&payload, 3, &mut Vec::new()).unwrap();
        assert_eq!(row.lengths, vec![1, -1, 2]);
        assert_eq!(STANDARD.decode(&row.values).unwrap(), vec![b'1', 0, 255]);
    }

    /// A server's answer, packet by packet, as the reader sees it.
    async fn answer_of(packets: Vec<Vec<u8>>) -> Answer {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let mut server = PacketStream::new(Box::new(theirs));
        for (seq, payload) in packets.iter().enumerate() {
            server.write_packet(seq as u8 + 1, payload).await.unwrap();
        }
        server.flush().await.unwrap();
        read_answer(&mut PacketStream::new(Box::new(ours)))
            .await
            .unwrap()
    }

    /// A result set's first packets: one column of `column_type`, one row of `value`.
    fn one_column_row(column_type: u8, value: &[u8]) -> Vec<Vec<u8>> {
        let mut row = Vec::new();
        protocol::put_lenenc_bytes(&mut row, value);
        vec![vec![1], definition(&[], 63, column_type, 0), row]
    }

    #[tokio::test]
    async fn a_result_set_then_its_closing_ok() {
        let mut packets = one_column_row(column::LONGLONG, b"7");
        packets.push(protocol::end_of_rows_payload(true, status::IN_TRANS));
        let answer = answer_of(packets).await;
        let result = answer.unwrap();
        assert_eq!(result.fields[0].kind, Some("INT64"));
        assert_eq!(result.rows[0].lengths, vec![1]);
    }

    #[tokio::test]
    async fn an_ok_carries_affected_rows_and_the_insert_id() {
        let answer = answer_of(vec![protocol::ok_payload(3, 42, 0, 0)]).await;
        let result = answer.unwrap();
        assert_eq!((result.rows_affected, result.insert_id), (3, 42));
    }

    #[tokio::test]
    async fn an_error_after_rows_is_the_answer() {
        let mut packets = one_column_row(column::LONG, b"1");
        packets.push(protocol::err_payload(1317, "70100", "Row count exceeded 1"));
        let answer = answer_of(packets).await;
        assert_eq!(answer.unwrap_err().code, 1317);
    }

    #[tokio::test]
    async fn a_procedure_answers_with_its_first_result() {
        let mut packets = one_column_row(column::LONG, b"1");
        packets.push(protocol::end_of_rows_payload(
            true,
            status::MORE_RESULTS_EXISTS,
        ));
        packets.push(protocol::ok_payload(0, 0, 0, 0));
        let answer = answer_of(packets).await;
        assert_eq!(answer.unwrap().rows.len(), 1, "the first result, all read");
    }

    #[test]
    fn errors_end_with_errno_and_sqlstate() {
        let error = rpc_error(&ServerError {
            code: 1062,
            state: "23000".into(),
            message: "Duplicate entry '1' for key 'PRIMARY'".into(),
        });
        assert_eq!(error.code, "ALREADY_EXISTS");
        assert_eq!(
            error.message,
            "Duplicate entry '1' for key 'PRIMARY' (errno 1062) (sqlstate 23000)"
        );
    }
}
