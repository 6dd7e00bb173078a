//! The MySQL client/server protocol's vocabulary: capability and status flags, command
//! bytes, length-encoded values, and the OK, ERR and EOF packets.

/// Capability flags (`CLIENT_*`).
pub mod caps {
    pub const LONG_PASSWORD: u32 = 1;
    pub const FOUND_ROWS: u32 = 1 << 1;
    pub const LONG_FLAG: u32 = 1 << 2;
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
    pub const NO_SCHEMA: u32 = 1 << 4;
    pub const COMPRESS: u32 = 1 << 5;
    pub const ODBC: u32 = 1 << 6;
    pub const LOCAL_FILES: u32 = 1 << 7;
    pub const IGNORE_SPACE: u32 = 1 << 8;
    pub const PROTOCOL_41: u32 = 1 << 9;
    pub const INTERACTIVE: u32 = 1 << 10;
    pub const SSL: u32 = 1 << 11;
    pub const TRANSACTIONS: u32 = 1 << 13;
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    pub const MULTI_STATEMENTS: u32 = 1 << 16;
    pub const MULTI_RESULTS: u32 = 1 << 17;
    pub const PS_MULTI_RESULTS: u32 = 1 << 18;
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    pub const CONNECT_ATTRS: u32 = 1 << 20;
    pub const PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;
    pub const SESSION_TRACK: u32 = 1 << 23;
    pub const DEPRECATE_EOF: u32 = 1 << 24;

    /// What the edge offers clients (and `SSL`). Not `SESSION_TRACK`: its OK packets
    /// would name the physical database (`USE`), and no driver needs it.
    pub const OFFERED: u32 = LONG_PASSWORD
        | FOUND_ROWS
        | LONG_FLAG
        | CONNECT_WITH_DB
        | LOCAL_FILES
        | IGNORE_SPACE
        | PROTOCOL_41
        | INTERACTIVE
        | TRANSACTIONS
        | SECURE_CONNECTION
        | MULTI_STATEMENTS
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_DATA
        | DEPRECATE_EOF;

    /// The flags that change what the server sends (and so must be the same on a client
    /// and the backend connection that serves it).
    pub const WIRE_FORMAT: u32 = FOUND_ROWS
        | LONG_FLAG
        | LOCAL_FILES
        | IGNORE_SPACE
        | MULTI_STATEMENTS
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | DEPRECATE_EOF;
}

/// Server status flags (`SERVER_*`).
pub mod status {
    pub const IN_TRANS: u16 = 1;
    pub const AUTOCOMMIT: u16 = 1 << 1;
    pub const MORE_RESULTS_EXISTS: u16 = 1 << 3;
    pub const CURSOR_EXISTS: u16 = 1 << 6;
    pub const LAST_ROW_SENT: u16 = 1 << 7;
    pub const IN_TRANS_READONLY: u16 = 1 << 13;
    pub const SESSION_STATE_CHANGED: u16 = 1 << 14;
}

/// Command bytes (`COM_*`).
pub mod command {
    pub const QUIT: u8 = 0x01;
    pub const INIT_DB: u8 = 0x02;
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const STATISTICS: u8 = 0x09;
    pub const PING: u8 = 0x0e;
    pub const CHANGE_USER: u8 = 0x11;
    pub const STMT_PREPARE: u8 = 0x16;
    pub const STMT_EXECUTE: u8 = 0x17;
    pub const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub const STMT_CLOSE: u8 = 0x19;
    pub const STMT_RESET: u8 = 0x1a;
    pub const SET_OPTION: u8 = 0x1b;
    pub const STMT_FETCH: u8 = 0x1c;
    pub const RESET_CONNECTION: u8 = 0x1f;
    pub const PROCESS_KILL: u8 = 0x0c;
}

/// The longest payload of one packet; a longer one continues in the next.
pub const MAX_PAYLOAD: usize = 0xff_ffff;

/// utf8mb4_general_ci: the edge's own collation in its greeting.
pub const DEFAULT_COLLATION: u8 = 45;

/// Appends a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=250 => out.push(value as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_lenenc_int(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads values off the front of a payload; every read checks the bounds.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.0
    }

    pub fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(bytes)
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string (without the NUL); the rest when there is no NUL.
    pub fn nul_string(&mut self) -> &'a [u8] {
        match self.0.iter().position(|&b| b == 0) {
            Some(end) => {
                let value = &self.0[..end];
                self.0 = &self.0[end + 1..];
                value
            }
            None => std::mem::take(&mut self.0),
        }
    }

    pub fn lenenc_int(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let width = match first {
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            0xfb | 0xff => return None,
            small => return Some(u64::from(small)),
        };
        let bytes = self.bytes(width)?;
        let mut value = [0u8; 8];
        value[..width].copy_from_slice(bytes);
        Some(u64::from_le_bytes(value))
    }

    pub fn lenenc_bytes(&mut self) -> Option<&'a [u8]> {
        let length = usize::try_from(self.lenenc_int()?).ok()?;
        self.bytes(length)
    }
}

/// What an OK packet (or an EOF packet) says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ok {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: u16,
    pub warnings: u16,
}

/// An OK packet (`0x00`), or an OK used as end of rows (`0xfe`, `CLIENT_DEPRECATE_EOF`).
pub fn parse_ok(payload: &[u8]) -> Option<Ok> {
    let mut reader = Reader(payload);
    let header = reader.u8()?;
    if header != 0x00 && header != 0xfe {
        return None;
    }
    Some(Ok {
        affected_rows: reader.lenenc_int()?,
        last_insert_id: reader.lenenc_int()?,
        status: reader.u16().unwrap_or(0),
        warnings: reader.u16().unwrap_or(0),
    })
}

/// A classic EOF packet: `0xfe`, warnings, status.
pub fn parse_eof(payload: &[u8]) -> Option<Ok> {
    let mut reader = Reader(payload);
    if reader.u8()? != 0xfe || payload.len() >= 9 {
        return None;
    }
    let warnings = reader.u16().unwrap_or(0);
    let status = reader.u16().unwrap_or(0);
    Some(Ok {
        status,
        warnings,
        ..Ok::default()
    })
}

/// Whether a packet ends a row stream: a classic EOF, or with `CLIENT_DEPRECATE_EOF` an OK
/// whose header is `0xfe` (a row can start with `0xfe` only when it fills whole packets).
pub fn is_end_of_rows(payload: &[u8], deprecate_eof: bool) -> bool {
    payload.first() == Some(&0xfe)
        && if deprecate_eof {
            payload.len() < MAX_PAYLOAD
        } else {
            payload.len() < 9
        }
}

/// What an ERR packet says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

pub fn parse_err(payload: &[u8]) -> Option<ServerError> {
    let mut reader = Reader(payload);
    if reader.u8()? != 0xff {
        return None;
    }
    let code = reader.u16()?;
    let rest = reader.rest();
    let (state, message) = match rest.strip_prefix(b"#") {
        Some(stated) if stated.len() >= 5 => (&stated[..5], &stated[5..]),
        _ => (&b"HY000"[..], rest),
    };
    Some(ServerError {
        code,
        state: String::from_utf8_lossy(state).into_owned(),
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

/// An ERR packet's payload.
pub fn err_payload(code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + message.len());
    out.push(0xff);
    out.extend_from_slice(&code.to_le_bytes());
    out.push(b'#');
    let mut state = state.as_bytes().to_vec();
    state.resize(5, b'0');
    out.extend_from_slice(&state);
    out.extend_from_slice(message.as_bytes());
    out
}

/// An OK packet's payload.
pub fn ok_payload(affected_rows: u64, last_insert_id: u64, status: u16, warnings: u16) -> Vec<u8> {
    let mut out = vec![0x00];
    put_lenenc_int(&mut out, affected_rows);
    put_lenenc_int(&mut out, last_insert_id);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&warnings.to_le_bytes());
    out
}

/// The payload that ends a row stream for a client with `deprecate_eof` (an OK with the
/// `0xfe` header) or without (a classic EOF).
pub fn end_of_rows_payload(deprecate_eof: bool, status: u16) -> Vec<u8> {
    if deprecate_eof {
        let mut out = vec![0xfe, 0, 0];
        out.extend_from_slice(&status.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    } else {
        let mut out = vec![0xfe, 0, 0];
        out.extend_from_slice(&status.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_round_trips() {
        for value in [
            0,
            250,
            251,
            0xffff,
            0x1_0000,
            0xff_ffff,
            0x100_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, value);
            assert_eq!(Reader(&out).lenenc_int(), Some(value), "{value}");
        }
        assert_eq!(Reader(&[0xfc, 1]).lenenc_int(), None);
        assert_eq!(Reader(&[0xfb]).lenenc_int(), None);
    }

    #[test]
    fn packets_are_recognised() {
        let ok = ok_payload(3, 7, status::AUTOCOMMIT, 1);
        assert_eq!(
            parse_ok(&ok),
            Some(Ok {
                affected_rows: 3,
                last_insert_id: 7,
                status: status::AUTOCOMMIT,
                warnings: 1
            })
        );
        let err = err_payload(1045, "28000", "Access denied");
        assert_eq!(
            parse_err(&err),
            Some(ServerError {
                code: 1045,
                state: "28000".into(),
                message: "Access denied".into()
            })
        );
        assert!(is_end_of_rows(&end_of_rows_payload(false, 2), false));
        assert!(is_end_of_rows(&end_of_rows_payload(true, 2), true));
        assert_eq!(parse_eof(&end_of_rows_payload(false, 2)).unwrap().status, 2);
        assert_eq!(parse_ok(&end_of_rows_payload(true, 2)).unwrap().status, 2);
    }
}
