//! A client's login: the greeting, an optional TLS upgrade, and authentication of a
//! branch password against what MariaDB stores for its account.
//!
//! `mysql_native_password` answers are verified directly. A `caching_sha2_password`
//! answer is verified on its fast path when the edge has seen that password since it
//! started; else, over TLS, the client is asked for the password itself (full
//! authentication), and without TLS it is switched to `mysql_native_password` (so MySQL 8
//! clients connect with their defaults either way). Any other plugin is switched too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::auth::{self, NativeHash, NativeKey, Sha2Hash};
use crate::config::{EdgeConfig, GreetingPlugin};
use crate::error::{EdgeError, EdgeResult};
use crate::handshake::{self, HandshakeResponse};
use crate::packet::{Packet, PacketStream};
use crate::protocol::{DEFAULT_COLLATION, caps};
use crate::routes::{CredentialRoute, RouteTable};

/// How long a client may take to log in.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `caching_sha2_password`'s "fast authentication succeeded" and "send the password".
const SHA2_FAST_OK: [u8; 2] = [0x01, 0x03];
const SHA2_FULL: [u8; 2] = [0x01, 0x04];

/// A logged-in client.
pub struct Login {
    pub credential: Arc<CredentialRoute>,
    pub key: NativeKey,
    /// The client's flags, as far as the edge offered them.
    pub capabilities: u32,
    pub collation: u8,
    /// Backend connections send MariaDB's extended column metadata (HTTP sessions).
    pub extended_metadata: bool,
    pub tls: bool,
    pub peer: SocketAddr,
    /// The sequence number of the edge's next packet (the OK that ends the login).
    pub next_seq: u8,
}

/// What the edge remembers of passwords seen over TLS, for `caching_sha2_password`'s
/// fast path (memory only, like MySQL's own cache).
#[derive(Default)]
pub struct Sha2Cache {
    entries: Mutex<HashMap<String, (NativeHash, Sha2Hash, NativeKey)>>,
}

impl Sha2Cache {
    fn get(&self, username: &str, current: &NativeHash) -> Option<(Sha2Hash, NativeKey)> {
        let entries = self.entries.lock().expect("sha2 cache lock");
        let (hash, sha2, key) = entries.get(username)?;
        (hash == current).then_some((*sha2, *key))
    }

    fn put(&self, username: &str, hash: NativeHash, sha2: Sha2Hash, key: NativeKey) {
        self.entries
            .lock()
            .expect("sha2 cache lock")
            .insert(username.to_string(), (hash, sha2, key));
    }

    /// Forgets accounts no longer routed.
    pub fn retain(&self, routes: &RouteTable) {
        self.entries
            .lock()
            .expect("sha2 cache lock")
            .retain(|username, _| routes.credential(username).is_some());
    }
}

/// The parts of the edge a login needs.
pub struct LoginContext<'a> {
    pub config: &'a EdgeConfig,
    pub tls: &'a TlsAcceptor,
    pub routes: &'a RouteTable,
    pub cache: &'a Sha2Cache,
    pub connection_id: u32,
    pub peer: SocketAddr,
}

/// The client's stream after the connection phase, and who logged in; on failure the
/// client has been told why.
pub async fn login(context: &LoginContext<'_>, tcp: TcpStream) -> Option<(PacketStream, Login)> {
    let mut stream = PacketStream::new(Box::new(tcp));
    let mut seq = 1;
    let result =
        tokio::time::timeout(LOGIN_TIMEOUT, exchange(context, &mut stream, &mut seq)).await;
    let error = match result {
        Ok(Ok(login)) => return Some((stream, login)),
        Ok(Err(error)) => error,
        Err(_) => EdgeError::Protocol("the client did not log in in time"),
    };
    crate::metrics::login(false);
    if !matches!(error, EdgeError::Io(_)) {
        crate::metrics::refused(&error);
        let (code, state, message) = error.to_mysql();
        let _ = stream
            .write_packet(seq, &crate::protocol::err_payload(code, &state, &message))
            .await;
        stream.shutdown().await;
    }
    tracing::debug!(connection = context.connection_id, peer = %context.peer, %error, "edge login refused");
    None
}

async fn exchange(
    context: &LoginContext<'_>,
    stream: &mut PacketStream,
    seq: &mut u8,
) -> EdgeResult<Login> {
    let config = context.config;
    let nonce = auth::nonce();
    let offered = caps::OFFERED | caps::SSL;
    let greeting = handshake::server_greeting(
        &config.server_version,
        context.connection_id,
        &nonce,
        offered,
        DEFAULT_COLLATION,
        config.greeting_plugin.name(),
    );
    stream.write_packet(0, &greeting).await?;
    stream.flush().await?;
    let mut packet = read(stream).await?;
    let mut tls = false;
    if handshake::is_ssl_request(&packet.payload) {
        let plain = std::mem::replace(
            stream,
            PacketStream::new(Box::new(tokio::io::join(
                tokio::io::empty(),
                tokio::io::sink(),
            ))),
        );
        let io = plain.into_inner();
        let upgraded = context.tls.accept(io).await?;
        *stream = PacketStream::new(Box::new(upgraded));
        tls = true;
        packet = read(stream).await?;
    }
    *seq = packet.seq.wrapping_add(1);
    let response = handshake::parse_handshake_response(&packet.payload)
        .ok_or(EdgeError::Protocol("malformed handshake response"))?;
    if config.require_secure_transport && !tls {
        return Err(EdgeError::InsecureTransport);
    }
    let denied = || EdgeError::AccessDenied {
        user: response.username.clone(),
        host: context.peer.ip().to_string(),
        using: if response.auth_response.is_empty() {
            "NO"
        } else {
            "YES"
        },
    };
    let credential = context.routes.credential(&response.username).cloned();
    let key = authenticate(
        context,
        stream,
        seq,
        &response,
        &nonce,
        credential.as_deref(),
        tls,
    )
    .await?
    .ok_or_else(denied)?;
    let credential = credential.ok_or_else(denied)?;
    if credential
        .expires_at
        .is_some_and(|expires| expires <= SystemTime::now())
    {
        return Err(EdgeError::PasswordExpired);
    }
    if let Some(database) = &response.database {
        let branch = &credential.branch;
        if database != branch.logical_name.as_bytes() && database != branch.physical_name.as_bytes()
        {
            return Err(EdgeError::DatabaseDenied {
                user: response.username.clone(),
                database: String::from_utf8_lossy(database).into_owned(),
            });
        }
    }
    Ok(Login {
        credential,
        key,
        capabilities: response.capabilities & (caps::OFFERED | caps::SSL),
        collation: response.collation,
        extended_metadata: false,
        tls,
        peer: context.peer,
        next_seq: *seq,
    })
}

/// Verifies the client's password; the key to log in to the backend with.
async fn authenticate(
    context: &LoginContext<'_>,
    stream: &mut PacketStream,
    seq: &mut u8,
    response: &HandshakeResponse,
    nonce: &[u8; 20],
    credential: Option<&CredentialRoute>,
    tls: bool,
) -> EdgeResult<Option<NativeKey>> {
    let plugin = response
        .plugin
        .as_deref()
        .unwrap_or(match context.config.greeting_plugin {
            GreetingPlugin::MysqlNativePassword => "mysql_native_password",
            GreetingPlugin::CachingSha2Password => "caching_sha2_password",
        });
    // An unknown account still goes through the exchange (no early answer to probe
    // account names with); its verification fails.
    let hash = credential.map(|c| c.hash).unwrap_or(NativeHash([0; 20]));
    let username = &response.username;
    match plugin {
        "mysql_native_password" if response.auth_response.len() == 20 => {
            Ok(auth::verify_native(nonce, &response.auth_response, &hash))
        }
        "caching_sha2_password" if !response.auth_response.is_empty() => {
            if let Some((sha2, key)) = context.cache.get(username, &hash)
                && auth::verify_sha2_fast(nonce, &response.auth_response, &sha2)
            {
                *seq = stream
                    .write_packet(*seq, &SHA2_FAST_OK)
                    .await?
                    .wrapping_add(1);
                return Ok(Some(key));
            }
            if !tls {
                return switch_to_native(stream, seq, &hash).await;
            }
            *seq = stream.write_packet(*seq, &SHA2_FULL).await?.wrapping_add(1);
            stream.flush().await?;
            let answer = read(stream).await?;
            *seq = answer.seq.wrapping_add(1);
            let password = answer.payload.strip_suffix(&[0]).unwrap_or(&answer.payload);
            let key = NativeKey::of_password(password);
            if credential.is_none() || key.hash() != hash {
                return Ok(None);
            }
            context
                .cache
                .put(username, hash, Sha2Hash::of_password(password), key);
            Ok(Some(key))
        }
        _ => switch_to_native(stream, seq, &hash).await,
    }
}

/// Asks the client for a `mysql_native_password` answer to a fresh nonce.
async fn switch_to_native(
    stream: &mut PacketStream,
    seq: &mut u8,
    hash: &NativeHash,
) -> EdgeResult<Option<NativeKey>> {
    let nonce = auth::nonce();
    let request = handshake::auth_switch_request("mysql_native_password", &nonce);
    stream.write_packet(*seq, &request).await?;
    stream.flush().await?;
    let answer = read(stream).await?;
    *seq = answer.seq.wrapping_add(1);
    Ok(auth::verify_native(&nonce, &answer.payload, hash))
}

async fn read(stream: &mut PacketStream) -> EdgeResult<Packet> {
    stream
        .read_packet()
        .await?
        .ok_or(EdgeError::Io(std::io::ErrorKind::UnexpectedEof.into()))
}

/// Verifies a `COM_CHANGE_USER`'s new account the same way (always switched to
/// `mysql_native_password` with a fresh nonce).
pub async fn change_user(
    stream: &mut PacketStream,
    seq: &mut u8,
    credential: Option<&CredentialRoute>,
) -> EdgeResult<Option<NativeKey>> {
    let hash = credential.map(|c| c.hash).unwrap_or(NativeHash([0; 20]));
    let key = switch_to_native(stream, seq, &hash).await?;
    Ok(key.filter(|_| credential.is_some()))
}
