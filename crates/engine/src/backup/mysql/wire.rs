//! A minimal MariaDB client for the dump's sessions: text queries, and result rows read
//! in place from the socket's buffer.
//!
//! A general driver turns every row into a vector of owned values before the dump can
//! format it again; for a dump that was a third of its CPU time. Here a row is a view of
//! its packet, and each field is copied once, escaped, into the object's buffer. The
//! client speaks only what the dump needs: protocol 4.1 with `mysql_native_password`
//! (or no password), `COM_QUERY`, classic EOF packets, no TLS (the managed servers listen
//! on loopback; the session moves to the server's unix socket when it can, as drivers do).

use std::path::Path;

use mysql_async::Opts;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// What went wrong on a session.
#[derive(Debug, thiserror::Error)]
pub(in crate::backup) enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("server error {code} ({state}): {message}")]
    Server {
        code: u16,
        state: String,
        message: String,
    },
    #[error("protocol: {0}")]
    Protocol(&'static str),
    #[error("authentication plugin `{0}` is not supported by the dump's client")]
    AuthPlugin(String),
}

type WireResult<T> = Result<T, WireError>;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

// Capability flags (the protocol's `CLIENT_*`).
const LONG_PASSWORD: u32 = 1;
const LONG_FLAG: u32 = 1 << 2;
const PROTOCOL_41: u32 = 1 << 9;
const TRANSACTIONS: u32 = 1 << 13;
const SECURE_CONNECTION: u32 = 1 << 15;
const PLUGIN_AUTH: u32 = 1 << 19;
const WANTED: u32 =
    LONG_PASSWORD | LONG_FLAG | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION | PLUGIN_AUTH;
const NATIVE_PASSWORD: &str = "mysql_native_password";
/// utf8mb4_general_ci (the session sets its character sets after connecting).
const COLLATION: u8 = 45;
/// A packet this long is continued by the next one.
const MAX_PAYLOAD: usize = 0xff_ffff;
/// Bytes read from the socket at once (many rows a read).
const READ_SIZE: usize = 256 << 10;

/// One session.
pub(in crate::backup) struct WireSession {
    io: Box<dyn Io>,
    /// Bytes read and not yet consumed: `buffer[start..]`.
    buffer: Vec<u8>,
    start: usize,
    /// A payload split over several packets, joined.
    joined: Vec<u8>,
    sequence: u8,
}

/// The rows of a query being read; [`RowStream::next`] until `None`.
pub(in crate::backup) struct RowStream<'a> {
    session: &'a mut WireSession,
    done: bool,
    /// Fields every row must have.
    columns: u64,
}

impl WireSession {
    /// Connects to the server of a `mysql://` URL, then to its unix socket if the server
    /// names one this process can reach.
    pub(in crate::backup) async fn connect(url: &str) -> WireResult<Self> {
        let opts =
            Opts::from_url(url).map_err(|_| WireError::Protocol("the server URL is invalid"))?;
        let user = opts.user().unwrap_or_default().to_string();
        let password = opts.pass().unwrap_or_default().to_string();
        let tcp = TcpStream::connect((opts.ip_or_hostname(), opts.tcp_port())).await?;
        tcp.set_nodelay(true)?;
        let mut session = WireSession::handshake(Box::new(tcp), &user, &password).await?;
        let socket = session.query_rows("SELECT @@socket").await?;
        let path = socket
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .and_then(|path| String::from_utf8(path).ok());
        // The socket's account is `user@localhost`, which may not exist or differ: the
        // TCP session stays when the socket does not take the same login.
        if let Some(path) = path.filter(|path| Path::new(path).exists())
            && let Ok(unix) = UnixStream::connect(&path).await
            && let Ok(local) = WireSession::handshake(Box::new(unix), &user, &password).await
        {
            session.quit().await;
            return Ok(local);
        }
        Ok(session)
    }

    async fn handshake(io: Box<dyn Io>, user: &str, password: &str) -> WireResult<Self> {
        let mut session = WireSession {
            io,
            buffer: Vec::with_capacity(READ_SIZE),
            start: 0,
            joined: Vec::new(),
            sequence: 0,
        };
        let greeting = session.read_packet().await?.to_vec();
        let greeting = Greeting::parse(&greeting)?;
        if greeting.capabilities & PROTOCOL_41 == 0 {
            return Err(WireError::Protocol(
                "the server does not speak protocol 4.1",
            ));
        }
        let scramble = native_scramble(&greeting.nonce, password);
        let mut response = Vec::with_capacity(64 + user.len());
        response.extend_from_slice(&(WANTED & greeting.capabilities).to_le_bytes());
        response.extend_from_slice(&(MAX_PAYLOAD as u32).to_le_bytes());
        response.push(COLLATION);
        response.extend_from_slice(&[0; 23]);
        response.extend_from_slice(user.as_bytes());
        response.push(0);
        response.push(scramble.len() as u8);
        response.extend_from_slice(&scramble);
        response.extend_from_slice(NATIVE_PASSWORD.as_bytes());
        response.push(0);
        session.write_packet(&response).await?;
        loop {
            let answer = session.read_packet().await?;
            match answer.first() {
                Some(0x00) => return Ok(session),
                Some(0xff) => return Err(server_error(answer)),
                // Auth switch: the plugin's name, then its nonce.
                Some(0xfe) => {
                    let body = &answer[1..];
                    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                    let plugin = String::from_utf8_lossy(&body[..end]).into_owned();
                    if plugin != NATIVE_PASSWORD {
                        return Err(WireError::AuthPlugin(plugin));
                    }
                    let nonce = body.get(end + 1..).unwrap_or_default();
                    let nonce = nonce.strip_suffix(&[0]).unwrap_or(nonce).to_vec();
                    let scramble = native_scramble(&nonce, password);
                    session.write_packet(&scramble).await?;
                }
                _ => return Err(WireError::Protocol("unexpected answer to the handshake")),
            }
        }
    }

    /// Runs a statement and discards what it returns.
    pub(in crate::backup) async fn query_drop(&mut self, sql: &str) -> WireResult<()> {
        let mut rows = self.query_stream(sql).await?;
        while rows.next().await?.is_some() {}
        Ok(())
    }

    /// Runs a query with a small result: its rows, each a list of fields (`None`: NULL).
    pub(in crate::backup) async fn query_rows(
        &mut self,
        sql: &str,
    ) -> WireResult<Vec<Vec<Option<Vec<u8>>>>> {
        let mut rows = self.query_stream(sql).await?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().await? {
            all.push(
                row.fields()
                    .map(|field| field.map(<[u8]>::to_vec))
                    .collect(),
            );
        }
        Ok(all)
    }

    /// Runs a query; its rows are read as the caller asks for them.
    pub(in crate::backup) async fn query_stream(&mut self, sql: &str) -> WireResult<RowStream<'_>> {
        self.sequence = 0;
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(0x03);
        command.extend_from_slice(sql.as_bytes());
        self.write_packet(&command).await?;
        let first = self.read_packet().await?;
        let columns = match first.first() {
            Some(0x00) => {
                return Ok(RowStream {
                    session: self,
                    done: true,
                    columns: 0,
                });
            }
            Some(0xff) => return Err(server_error(first)),
            Some(0xfb) => return Err(WireError::Protocol("LOCAL INFILE is not supported")),
            _ => LengthEncoded(first)
                .integer()
                .ok_or(WireError::Protocol("bad column count"))?,
        };
        // The column definitions, then an EOF packet.
        for _ in 0..columns {
            self.read_packet().await?;
        }
        if !is_eof(self.read_packet().await?) {
            return Err(WireError::Protocol("no EOF after the column definitions"));
        }
        Ok(RowStream {
            session: self,
            done: false,
            columns,
        })
    }

    /// Ends the session politely (the server frees it at once).
    pub(in crate::backup) async fn quit(mut self) {
        self.sequence = 0;
        let _ = self.write_packet(&[0x01]).await;
        let _ = self.io.shutdown().await;
    }

    async fn write_packet(&mut self, payload: &[u8]) -> WireResult<()> {
        let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
        let mut out = Vec::with_capacity(payload.len() + 8);
        loop {
            let chunk = chunks.next().unwrap_or_default();
            out.extend_from_slice(&(chunk.len() as u32).to_le_bytes()[..3]);
            out.push(self.sequence);
            self.sequence = self.sequence.wrapping_add(1);
            out.extend_from_slice(chunk);
            // A payload of a multiple of the maximum ends with an empty packet.
            if chunks.peek().is_none() && chunk.len() < MAX_PAYLOAD {
                break;
            }
        }
        self.io.write_all(&out).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// The next packet's payload (several joined when it was split).
    async fn read_packet(&mut self) -> WireResult<&[u8]> {
        let (mut start, mut length) = self.read_one().await?;
        if length < MAX_PAYLOAD {
            self.start = start + length;
            return Ok(&self.buffer[start..start + length]);
        }
        self.joined.clear();
        loop {
            self.joined
                .extend_from_slice(&self.buffer[start..start + length]);
            self.start = start + length;
            if length < MAX_PAYLOAD {
                return Ok(&self.joined);
            }
            (start, length) = self.read_one().await?;
        }
    }

    /// Buffers one whole packet: the position and length of its payload.
    async fn read_one(&mut self) -> WireResult<(usize, usize)> {
        self.fill(4).await?;
        let header = &self.buffer[self.start..self.start + 4];
        let length = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        if header[3] != self.sequence {
            return Err(WireError::Protocol("packet out of sequence"));
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.fill(4 + length).await?;
        Ok((self.start + 4, length))
    }

    /// Reads until `buffer[start..]` holds at least `wanted` bytes.
    async fn fill(&mut self, wanted: usize) -> WireResult<()> {
        while self.buffer.len() - self.start < wanted {
            // Move the unread bytes to the front before reading more.
            if self.start > 0 {
                self.buffer.drain(..self.start);
                self.start = 0;
            }
            // Into the spare capacity: no zeroing of what the read overwrites.
            self.buffer.reserve(wanted.max(READ_SIZE));
            let read = self.io.read_buf(&mut self.buffer).await?;
            if read == 0 {
                return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        Ok(())
    }
}

impl RowStream<'_> {
    /// The next row, or `None` after the last.
    pub(in crate::backup) async fn next(&mut self) -> WireResult<Option<TextRow<'_>>> {
        if self.done {
            return Ok(None);
        }
        let packet = self.session.read_packet().await?;
        if is_eof(packet) {
            self.done = true;
            return Ok(None);
        }
        if packet.first() == Some(&0xff) {
            self.done = true;
            return Err(server_error(packet));
        }
        let row = TextRow(packet);
        // A row that is not exactly one field per column would shift every value after
        // the gap into the wrong column of the backup: stop loudly instead.
        if row.field_count() != Some(self.columns) {
            self.done = true;
            return Err(WireError::Protocol(
                "a row does not hold exactly one field per column",
            ));
        }
        Ok(Some(row))
    }
}

/// A row of a text result: its fields in order.
pub(in crate::backup) struct TextRow<'a>(&'a [u8]);

impl<'a> TextRow<'a> {
    /// How many fields the row holds, when they fill it exactly (no truncated field, no
    /// bytes after the last).
    fn field_count(&self) -> Option<u64> {
        let mut rest = LengthEncoded(self.0);
        let mut count = 0;
        while !rest.0.is_empty() {
            rest.field()?;
            count += 1;
        }
        Some(count)
    }

    /// Each field's bytes, `None` for NULL.
    pub(in crate::backup) fn fields(&self) -> impl Iterator<Item = Option<&'a [u8]>> {
        let mut rest = LengthEncoded(self.0);
        std::iter::from_fn(move || rest.field())
    }
}

/// Length-encoded values read off the front of a payload.
struct LengthEncoded<'a>(&'a [u8]);

impl<'a> LengthEncoded<'a> {
    fn integer(&mut self) -> Option<u64> {
        let (&first, rest) = self.0.split_first()?;
        let width = match first {
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            0xfb | 0xff => return None,
            small => {
                self.0 = rest;
                return Some(u64::from(small));
            }
        };
        let bytes = rest.get(..width)?;
        let mut value = [0u8; 8];
        value[..width].copy_from_slice(bytes);
        self.0 = &rest[width..];
        Some(u64::from_le_bytes(value))
    }

    /// The next field: `Some(None)` for NULL, `None` at the end.
    fn field(&mut self) -> Option<Option<&'a [u8]>> {
        if self.0.first() == Some(&0xfb) {
            self.0 = &self.0[1..];
            return Some(None);
        }
        let length = usize::try_from(self.integer()?).ok()?;
        let bytes = self.0.get(..length)?;
        self.0 = &self.0[length..];
        Some(Some(bytes))
    }
}

/// The server's first packet: what the handshake needs of it.
struct Greeting {
    capabilities: u32,
    nonce: Vec<u8>,
}

impl Greeting {
    fn parse(packet: &[u8]) -> WireResult<Greeting> {
        if packet.first() == Some(&0xff) {
            return Err(server_error(packet));
        }
        // Protocol version, then the server's version up to a NUL, then connection id
        // (4), nonce part 1 (8), filler (1), capabilities low (2), collation (1), status
        // (2), capabilities high (2), nonce length (1), reserved (10), nonce part 2.
        let rest = packet
            .iter()
            .skip(1)
            .position(|&b| b == 0)
            .and_then(|version_length| packet.get(version_length + 2..))
            .filter(|rest| rest.len() >= 31)
            .ok_or(WireError::Protocol("bad greeting"))?;
        let low = u16::from_le_bytes([rest[13], rest[14]]);
        let high = u16::from_le_bytes([rest[18], rest[19]]);
        let mut nonce = rest[4..12].to_vec();
        let second_length = usize::from(rest[20]).saturating_sub(9).max(12);
        let second = rest.get(31..31 + second_length).unwrap_or(&rest[31..]);
        nonce.extend_from_slice(second.strip_suffix(&[0]).unwrap_or(second));
        Ok(Greeting {
            capabilities: u32::from(low) | (u32::from(high) << 16),
            nonce,
        })
    }
}

/// `mysql_native_password`'s answer to a nonce (empty without a password).
fn native_scramble(nonce: &[u8], password: &str) -> Vec<u8> {
    mysql_common::scramble::scramble_native(nonce, password.as_bytes())
        .map(|scramble| scramble.to_vec())
        .unwrap_or_default()
}

/// An EOF packet (classic: `0xfe` and at most 8 more bytes; a row is longer).
fn is_eof(packet: &[u8]) -> bool {
    packet.first() == Some(&0xfe) && packet.len() < 9
}

fn server_error(packet: &[u8]) -> WireError {
    // 0xff, code (2), then `#` and the SQL state (5) under protocol 4.1, then the text.
    let code = packet
        .get(1..3)
        .map_or(0, |code| u16::from_le_bytes([code[0], code[1]]));
    let rest = packet.get(3..).unwrap_or_default();
    let (state, message) = match rest.strip_prefix(b"#") {
        Some(stated) if stated.len() >= 5 => (&stated[..5], &stated[5..]),
        _ => (&b"HY000"[..], rest),
    };
    WireError::Server {
        code,
        state: String::from_utf8_lossy(state).into_owned(),
        message: String::from_utf8_lossy(message).into_owned(),
    }
}

#[cfg(test)]
mod tests;
