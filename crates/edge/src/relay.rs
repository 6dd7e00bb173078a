//! Relaying a backend's response to the client, packet by packet: result sets (text and
//! binary rows, several per response), OK and ERR, `LOAD DATA LOCAL` exchanges, prepared
//! statement metadata. Sequence numbers are the client's (a large packet may take more of
//! them on one side than the other). Along the way the edge counts rows, enforces the OLTP
//! row limit, and shows the database's logical name where the physical one would appear.

use std::io;

use crate::packet::{Packet, PacketStream};
use crate::protocol::{self, Reader, ServerError, status};

/// A failure while relaying, by side: a backend failure leaves the client connection
/// usable, a client failure ends the session.
#[derive(Debug)]
pub enum RelayError {
    Backend(io::Error),
    Client(io::Error),
}

/// The database's two names.
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    pub logical: &'a [u8],
    pub physical: &'a [u8],
}

/// What a response said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The status of the last packet (transaction state).
    pub status: u16,
    pub affected_rows: u64,
    /// The last non-zero insert id an OK carried.
    pub last_insert_id: u64,
    /// Rows relayed, over every result set.
    pub rows: u64,
    /// Rows of the last result set, when the response ended with one.
    pub last_result_rows: Option<u64>,
    pub error: Option<ServerError>,
    /// The row limit cut the response short.
    pub row_limit_hit: bool,
}

/// A prepared statement's metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    pub statement_id: u32,
    pub params: u16,
    pub columns: u16,
}

/// One response's relay.
pub struct Relay<'a> {
    pub client: &'a mut PacketStream,
    pub backend: &'a mut PacketStream,
    /// The sequence number of the next packet to the client.
    pub client_seq: u8,
    pub deprecate_eof: bool,
    pub names: Names<'a>,
    /// Rewrite the physical name in row values too (metadata statements).
    pub metadata: bool,
    /// Rows are in the binary protocol (prepared statements' results).
    pub binary_rows: bool,
    pub row_limit: Option<u64>,
}

impl Relay<'_> {
    async fn backend_packet(&mut self) -> Result<Packet, RelayError> {
        self.backend
            .read_packet()
            .await
            .map_err(RelayError::Backend)?
            .ok_or_else(|| RelayError::Backend(io::ErrorKind::UnexpectedEof.into()))
    }

    pub async fn to_client(&mut self, payload: &[u8]) -> Result<(), RelayError> {
        let last = self
            .client
            .write_packet(self.client_seq, payload)
            .await
            .map_err(RelayError::Client)?;
        self.client_seq = last.wrapping_add(1);
        Ok(())
    }

    /// An ERR packet, with the logical name where the message names the physical one
    /// (`Table 'dbp_….t' doesn't exist`).
    async fn error_to_client(
        &mut self,
        payload: &[u8],
        outcome: &mut Outcome,
    ) -> Result<(), RelayError> {
        match contains(payload, self.names.physical).then(|| replace_all(payload, self.names)) {
            Some(rewritten) => self.to_client(&rewritten).await?,
            None => self.to_client(payload).await?,
        }
        outcome.error = protocol::parse_err(payload);
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<(), RelayError> {
        self.client.flush().await.map_err(RelayError::Client)
    }

    /// The response to `COM_QUERY` or `COM_STMT_EXECUTE`.
    pub async fn command_response(&mut self) -> Result<Outcome, RelayError> {
        let mut outcome = Outcome::default();
        loop {
            let packet = self.backend_packet().await?;
            let payload = &packet.payload;
            match payload.first() {
                Some(0x00) => {
                    let ok = protocol::parse_ok(payload).unwrap_or_default();
                    self.to_client(payload).await?;
                    outcome.status = ok.status;
                    outcome.affected_rows = ok.affected_rows;
                    if ok.last_insert_id != 0 {
                        outcome.last_insert_id = ok.last_insert_id;
                    }
                    outcome.last_result_rows = None;
                    if ok.status & status::MORE_RESULTS_EXISTS == 0 {
                        break;
                    }
                }
                Some(0xff) => {
                    self.error_to_client(payload, &mut outcome).await?;
                    break;
                }
                Some(0xfb) => {
                    self.to_client(payload).await?;
                    self.local_infile(packet.seq.wrapping_add(1)).await?;
                }
                _ => {
                    let columns = Reader(payload).lenenc_int().unwrap_or(0);
                    self.to_client(payload).await?;
                    let end = self.result_set(columns, &mut outcome).await?;
                    if outcome.row_limit_hit {
                        return Ok(outcome);
                    }
                    outcome.status = end;
                    if end & status::MORE_RESULTS_EXISTS == 0 {
                        break;
                    }
                }
            }
        }
        self.flush().await?;
        Ok(outcome)
    }

    /// Column definitions and rows of one result set; the status that ended it.
    async fn result_set(&mut self, columns: u64, outcome: &mut Outcome) -> Result<u16, RelayError> {
        // Binary rows of a metadata statement are rewritten by column type.
        let mut types = Vec::new();
        for _ in 0..columns {
            let column = self.backend_packet().await?;
            if self.metadata && self.binary_rows {
                types.push(crate::binary::column_type(&column.payload).unwrap_or(253));
            }
            match rewrite_column(&column.payload, self.names, self.metadata) {
                Some(rewritten) => self.to_client(&rewritten).await?,
                None => self.to_client(&column.payload).await?,
            }
        }
        if !self.deprecate_eof {
            let eof = self.backend_packet().await?;
            self.to_client(&eof.payload).await?;
            let flags = protocol::parse_eof(&eof.payload).map_or(0, |eof| eof.status);
            // A cursor was opened: rows come with COM_STMT_FETCH.
            if flags & status::CURSOR_EXISTS != 0 {
                outcome.last_result_rows = Some(0);
                return Ok(flags);
            }
        }
        let mut rows = 0u64;
        loop {
            let packet = self.backend_packet().await?;
            let payload = &packet.payload;
            if protocol::is_end_of_rows(payload, self.deprecate_eof) {
                self.to_client(payload).await?;
                let end = if self.deprecate_eof {
                    protocol::parse_ok(payload)
                } else {
                    protocol::parse_eof(payload)
                };
                outcome.rows += rows;
                outcome.last_result_rows = Some(rows);
                return Ok(end.map_or(0, |end| end.status));
            }
            if payload.first() == Some(&0xff) {
                self.error_to_client(payload, outcome).await?;
                outcome.rows += rows;
                return Ok(0);
            }
            rows += 1;
            if self.row_limit.is_some_and(|limit| rows > limit) {
                let limit = self.row_limit.unwrap_or_default();
                let message = format!("Row count exceeded {limit}");
                self.to_client(&protocol::err_payload(ROW_LIMIT_CODE, "70100", &message))
                    .await?;
                self.flush().await?;
                outcome.rows += rows - 1;
                outcome.row_limit_hit = true;
                outcome.error = Some(ServerError {
                    code: ROW_LIMIT_CODE,
                    state: "70100".into(),
                    message,
                });
                self.drain_rest().await?;
                return Ok(0);
            }
            let rewritten = match (self.metadata, self.binary_rows) {
                (false, _) => None,
                (true, false) => rewrite_text_row(payload, self.names),
                (true, true) => {
                    let names = self.names;
                    crate::binary::rewrite_row(payload, &types, |value| {
                        contains(value, names.physical).then(|| replace_all(value, names))
                    })
                }
            };
            match rewritten {
                Some(rewritten) => self.to_client(&rewritten).await?,
                None => self.to_client(payload).await?,
            }
        }
    }

    /// Reads and drops what is left of a response cut short (the backend connection stays
    /// in step, so the session's state on it is kept).
    async fn drain_rest(&mut self) -> Result<(), RelayError> {
        loop {
            let packet = self.backend_packet().await?;
            let payload = &packet.payload;
            if payload.first() == Some(&0xff) {
                return Ok(());
            }
            if protocol::is_end_of_rows(payload, self.deprecate_eof) {
                let end = if self.deprecate_eof {
                    protocol::parse_ok(payload)
                } else {
                    protocol::parse_eof(payload)
                };
                if end.is_none_or(|end| end.status & status::MORE_RESULTS_EXISTS == 0) {
                    return Ok(());
                }
                // The next result set follows: its header, columns, EOF, rows.
                let header = self.backend_packet().await?;
                if header.payload.first() == Some(&0x00) {
                    let ok = protocol::parse_ok(&header.payload).unwrap_or_default();
                    if ok.status & status::MORE_RESULTS_EXISTS == 0 {
                        return Ok(());
                    }
                }
                if header.payload.first() == Some(&0xff) {
                    return Ok(());
                }
                let columns = Reader(&header.payload).lenenc_int().unwrap_or(0);
                for _ in 0..columns + u64::from(!self.deprecate_eof) {
                    self.backend_packet().await?;
                }
            }
        }
    }

    /// `LOAD DATA LOCAL INFILE`: the client's file packets go to the backend until the
    /// empty one; then the backend's answer follows as usual.
    async fn local_infile(&mut self, mut backend_seq: u8) -> Result<(), RelayError> {
        self.flush().await?;
        loop {
            let packet = self
                .client
                .read_packet()
                .await
                .map_err(RelayError::Client)?
                .ok_or_else(|| RelayError::Client(io::ErrorKind::UnexpectedEof.into()))?;
            self.client_seq = packet.seq.wrapping_add(1);
            let last = self
                .backend
                .write_packet(backend_seq, &packet.payload)
                .await
                .map_err(RelayError::Backend)?;
            backend_seq = last.wrapping_add(1);
            if packet.payload.is_empty() {
                break;
            }
        }
        self.backend.flush().await.map_err(RelayError::Backend)
    }

    /// The response to `COM_STMT_PREPARE`.
    pub async fn prepare_response(&mut self) -> Result<Result<Prepared, ServerError>, RelayError> {
        let first = self.backend_packet().await?;
        if first.payload.first() == Some(&0xff) {
            self.error_to_client(&first.payload, &mut Outcome::default())
                .await?;
            self.flush().await?;
            let error = protocol::parse_err(&first.payload).unwrap_or(ServerError {
                code: 1105,
                state: "HY000".into(),
                message: "malformed error".into(),
            });
            return Ok(Err(error));
        }
        self.to_client(&first.payload).await?;
        let mut reader = Reader(&first.payload[1..]);
        let prepared = Prepared {
            statement_id: reader.u32().unwrap_or(0),
            columns: reader.u16().unwrap_or(0),
            params: reader.u16().unwrap_or(0),
        };
        for count in [prepared.params, prepared.columns] {
            for _ in 0..count {
                let column = self.backend_packet().await?;
                match rewrite_column(&column.payload, self.names, false) {
                    Some(rewritten) => self.to_client(&rewritten).await?,
                    None => self.to_client(&column.payload).await?,
                }
            }
            if count > 0 && !self.deprecate_eof {
                let eof = self.backend_packet().await?;
                self.to_client(&eof.payload).await?;
            }
        }
        self.flush().await?;
        Ok(Ok(prepared))
    }

    /// Packets up to and including an end (EOF/OK `0xfe`) or an error: `COM_FIELD_LIST`,
    /// `COM_STMT_FETCH`.
    pub async fn until_end(&mut self) -> Result<Outcome, RelayError> {
        let mut outcome = Outcome::default();
        loop {
            let packet = self.backend_packet().await?;
            if packet.payload.first() == Some(&0xff) {
                self.error_to_client(&packet.payload, &mut outcome).await?;
                break;
            }
            self.to_client(&packet.payload).await?;
            match packet.payload.first() {
                Some(0xfe) if packet.payload.len() < 9 || self.deprecate_eof => {
                    outcome.status = protocol::parse_eof(&packet.payload)
                        .or_else(|| protocol::parse_ok(&packet.payload))
                        .map_or(0, |end| end.status);
                    break;
                }
                _ => outcome.rows += 1,
            }
        }
        self.flush().await?;
        Ok(outcome)
    }

    /// A one-packet response (`COM_STATISTICS`, `COM_STMT_RESET`, `COM_INIT_DB`, …).
    pub async fn single(&mut self) -> Result<Outcome, RelayError> {
        let packet = self.backend_packet().await?;
        let mut outcome = Outcome::default();
        if packet.payload.first() == Some(&0xff) {
            self.error_to_client(&packet.payload, &mut outcome).await?;
        } else {
            self.to_client(&packet.payload).await?;
        }
        self.flush().await?;
        match packet.payload.first() {
            Some(0xff) => {}
            Some(0x00) => {
                outcome.status = protocol::parse_ok(&packet.payload).map_or(0, |ok| ok.status)
            }
            _ => {}
        }
        Ok(outcome)
    }
}

/// The code the row limit fails with (MariaDB's "query interrupted", as vtgate answers).
pub const ROW_LIMIT_CODE: u16 = 1317;

/// A column definition with the logical name where the physical one was: its schema,
/// and (metadata statements) its names (`Tables_in_dbp_…`). `None` when unchanged.
pub fn rewrite_column(payload: &[u8], names: Names<'_>, metadata: bool) -> Option<Vec<u8>> {
    let mut reader = Reader(payload);
    let catalog = reader.lenenc_bytes()?;
    let schema = reader.lenenc_bytes()?;
    let table = reader.lenenc_bytes()?;
    let org_table = reader.lenenc_bytes()?;
    let name = reader.lenenc_bytes()?;
    let org_name = reader.lenenc_bytes()?;
    let rest = reader.rest();
    let schema_matches = schema == names.physical;
    let names_match =
        metadata && (contains(name, names.physical) || contains(org_name, names.physical));
    if !schema_matches && !names_match {
        return None;
    }
    let mut out = Vec::with_capacity(payload.len() + 8);
    for field in [catalog, schema, table, org_table, name, org_name] {
        protocol::put_lenenc_bytes(&mut out, &replace_all(field, names));
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// A text-protocol row with the physical name replaced in every value. `None` when no
/// value names it.
pub fn rewrite_text_row(payload: &[u8], names: Names<'_>) -> Option<Vec<u8>> {
    if !contains(payload, names.physical) {
        return None;
    }
    let mut reader = Reader(payload);
    let mut out = Vec::with_capacity(payload.len());
    while !reader.is_empty() {
        if reader.rest().first() == Some(&0xfb) {
            reader.u8();
            out.push(0xfb);
            continue;
        }
        let value = reader.lenenc_bytes()?;
        protocol::put_lenenc_bytes(&mut out, &replace_all(value, names));
    }
    Some(out)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn replace_all(value: &[u8], names: Names<'_>) -> Vec<u8> {
    if !contains(value, names.physical) {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut at = 0;
    while at < value.len() {
        if value[at..].starts_with(names.physical) {
            out.extend_from_slice(names.logical);
            at += names.physical.len();
        } else {
            out.push(value[at]);
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(schema: &[u8], name: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for field in [&b"def"[..], schema, b"t", b"t", name, name] {
            protocol::put_lenenc_bytes(&mut out, field);
        }
        out.extend_from_slice(&[0x0c, 33, 0, 0, 1, 0, 0, 253, 0, 0, 0, 0, 0]);
        out
    }

    #[test]
    fn the_physical_name_becomes_the_logical_one() {
        let names = Names {
            logical: b"shop",
            physical: b"dbp_abc",
        };
        assert_eq!(rewrite_column(&column(b"other", b"id"), names, true), None);
        assert_eq!(
            rewrite_column(&column(b"dbp_abc", b"id"), names, false),
            Some(column(b"shop", b"id"))
        );
        assert_eq!(
            rewrite_column(&column(b"", b"Tables_in_dbp_abc"), names, true),
            Some(column(b"", b"Tables_in_shop"))
        );
        let mut row = Vec::new();
        protocol::put_lenenc_bytes(&mut row, b"dbp_abc");
        row.push(0xfb);
        protocol::put_lenenc_bytes(&mut row, b"`dbp_abc`.`v` and dbp_abc");
        let mut expected = Vec::new();
        protocol::put_lenenc_bytes(&mut expected, b"shop");
        expected.push(0xfb);
        protocol::put_lenenc_bytes(&mut expected, b"`shop`.`v` and shop");
        assert_eq!(rewrite_text_row(&row, names), Some(expected));
        let mut plain = Vec::new();
        protocol::put_lenenc_bytes(&mut plain, b"items");
        assert_eq!(rewrite_text_row(&plain, names), None);
    }
}
