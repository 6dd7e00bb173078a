//! A backend connection: the edge logged in to the branch's MariaDB as the password's own
//! account (with `SHA1(password)`, see [`crate::auth`]), so MariaDB enforces that
//! password's grants, expiry and safe-migrations rights on everything the client sends.

use std::time::{Duration, Instant};

use tokio::net::{TcpStream, UnixStream};

use crate::auth::NativeKey;
use crate::error::{EdgeError, EdgeResult};
use crate::handshake::{client_handshake_response, parse_server_greeting};
use crate::packet::{Io, Packet, PacketStream};
use crate::protocol::{self, Reader, caps, command};
use crate::routes::BackendAddress;

/// How long opening a backend connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The flags the edge always asks MariaDB for; the wire-format ones come from the client.
const BASE_CAPABILITIES: u32 = caps::LONG_PASSWORD
    | caps::PROTOCOL_41
    | caps::SECURE_CONNECTION
    | caps::PLUGIN_AUTH
    | caps::TRANSACTIONS
    | caps::CONNECT_WITH_DB;

/// Connects to the server, without delaying small writes on TCP.
async fn open(address: &BackendAddress) -> std::io::Result<Box<dyn Io>> {
    Ok(match address {
        BackendAddress::Tcp(address) => {
            let tcp = TcpStream::connect(address).await?;
            tcp.set_nodelay(true)?;
            Box::new(tcp)
        }
        BackendAddress::Unix(path) => Box::new(UnixStream::connect(path).await?),
    })
}

/// MariaDB's `MARIADB_CLIENT_EXTENDED_METADATA`, in its extended capability word.
const MARIADB_EXTENDED_METADATA: u32 = 1 << 3;

/// Who a backend connection logs in as, and how it speaks.
#[derive(Clone, Debug)]
pub struct BackendLogin {
    pub address: BackendAddress,
    pub username: String,
    pub key: NativeKey,
    pub database: String,
    /// The client's wire-format flags ([`caps::WIRE_FORMAT`]).
    pub wire: u32,
    pub collation: u8,
    /// Ask MariaDB for its extended column metadata (a `JSON` column's format), which
    /// the HTTP API reports and MySQL clients do not expect.
    pub extended_metadata: bool,
    /// `SET SESSION …` run right after login (the edge's query timeout).
    pub baseline: Vec<String>,
}

/// An open backend connection.
pub struct Backend {
    pub stream: PacketStream,
    /// MariaDB's thread id.
    pub connection_id: u32,
    /// The settings (replayed `SET`s) this connection carries.
    pub settings_key: u64,
    pub last_used: Instant,
    /// The pool generation it was opened in (see `BranchPool::renew`).
    pub generation: u64,
}

impl Backend {
    /// Opens and logs in; runs the baseline statements.
    pub async fn connect(login: &BackendLogin) -> EdgeResult<Backend> {
        let unavailable = |detail: String| EdgeError::BackendUnavailable(detail);
        let io = tokio::time::timeout(CONNECT_TIMEOUT, open(&login.address))
            .await
            .map_err(|_| unavailable(format!("connecting to {} timed out", login.address)))?
            .map_err(|error| unavailable(format!("connecting to {}: {error}", login.address)))?;
        let mut stream = PacketStream::new(io);
        let greeting = read(&mut stream).await?;
        if let Some(error) = protocol::parse_err(&greeting.payload) {
            return Err(EdgeError::Backend(error));
        }
        let server = parse_server_greeting(&greeting.payload)
            .ok_or(EdgeError::Protocol("the backend's greeting is malformed"))?;
        let mut wanted = BASE_CAPABILITIES | (login.wire & caps::WIRE_FORMAT);
        // MariaDB clears `CLIENT_LONG_PASSWORD` (its "not MySQL" mark); the edge asks for
        // it anyway, which keeps MariaDB's extended capabilities off, unless it wants
        // extended metadata.
        let missing = wanted & !server.capabilities & !caps::LONG_PASSWORD;
        let mut mariadb_capabilities = 0;
        if login.extended_metadata {
            if server.mariadb_capabilities & MARIADB_EXTENDED_METADATA == 0 {
                return Err(unavailable(
                    "the server does not send extended column metadata".into(),
                ));
            }
            wanted &= !caps::LONG_PASSWORD;
            mariadb_capabilities = MARIADB_EXTENDED_METADATA;
        }
        if missing != 0 {
            return Err(unavailable(format!(
                "the server lacks capabilities {missing:#x}"
            )));
        }
        let answer = login
            .key
            .scramble(&server.nonce[..20.min(server.nonce.len())]);
        let response = client_handshake_response(
            wanted,
            login.collation,
            &login.username,
            &answer,
            login.database.as_bytes(),
            "mysql_native_password",
            mariadb_capabilities,
        );
        let mut seq = stream
            .write_packet(greeting.seq.wrapping_add(1), &response)
            .await?;
        stream.flush().await?;
        loop {
            let reply = read(&mut stream).await?;
            match reply.payload.first() {
                Some(0x00) => break,
                Some(0xff) => {
                    return Err(EdgeError::Backend(
                        protocol::parse_err(&reply.payload)
                            .ok_or(EdgeError::Protocol("malformed error from the backend"))?,
                    ));
                }
                Some(0xfe) => {
                    // Auth switch: answer the new nonce with the same key.
                    let mut reader = Reader(&reply.payload[1..]);
                    let plugin = reader.nul_string();
                    if plugin != b"mysql_native_password" {
                        return Err(unavailable(format!(
                            "the account uses the {} plugin",
                            String::from_utf8_lossy(plugin)
                        )));
                    }
                    let nonce = reader.rest();
                    let nonce = nonce.strip_suffix(&[0]).unwrap_or(nonce);
                    let answer = login.key.scramble(nonce);
                    seq = stream
                        .write_packet(reply.seq.wrapping_add(1), &answer)
                        .await?;
                    stream.flush().await?;
                }
                _ => {
                    return Err(EdgeError::Protocol(
                        "unexpected packet while logging in to the backend",
                    ));
                }
            }
        }
        let _ = seq;
        let mut backend = Backend {
            stream,
            connection_id: server.connection_id,
            settings_key: 0,
            last_used: Instant::now(),
            generation: 0,
        };
        for statement in &login.baseline {
            backend.execute(statement.as_bytes()).await?;
        }
        Ok(backend)
    }

    /// Runs a statement that answers OK (a `SET`, a reset): its error as a backend error.
    pub async fn execute(&mut self, sql: &[u8]) -> EdgeResult<()> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(command::QUERY);
        payload.extend_from_slice(sql);
        self.simple(&payload).await
    }

    /// `COM_RESET_CONNECTION`: the session as after login (variables, temporary tables,
    /// prepared statements, locks and transaction gone).
    pub async fn reset(&mut self) -> EdgeResult<()> {
        self.simple(&[command::RESET_CONNECTION]).await
    }

    async fn simple(&mut self, payload: &[u8]) -> EdgeResult<()> {
        self.stream.write_packet(0, payload).await?;
        self.stream.flush().await?;
        let reply = read(&mut self.stream).await?;
        match reply.payload.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => Err(EdgeError::Backend(
                protocol::parse_err(&reply.payload)
                    .ok_or(EdgeError::Protocol("malformed error"))?,
            )),
            _ => Err(EdgeError::Protocol("expected OK from the backend")),
        }
    }
}

async fn read(stream: &mut PacketStream) -> EdgeResult<Packet> {
    stream
        .read_packet()
        .await
        .map_err(|error| EdgeError::BackendUnavailable(error.to_string()))?
        .ok_or_else(|| EdgeError::BackendUnavailable("the server closed the connection".into()))
}
