//! The protocol's connection phase, both sides: the greeting the edge sends clients and
//! the handshake response it reads from them, and the greeting it reads from MariaDB and
//! the response it answers with.

use crate::protocol::{Reader, caps};

/// What a client's handshake response says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeResponse {
    pub capabilities: u32,
    pub collation: u8,
    pub username: String,
    pub auth_response: Vec<u8>,
    pub database: Option<Vec<u8>>,
    /// The plugin the client computed `auth_response` with.
    pub plugin: Option<String>,
}

/// The edge's greeting (protocol 10).
pub fn server_greeting(
    version: &str,
    connection_id: u32,
    nonce: &[u8; 20],
    capabilities: u32,
    collation: u8,
    plugin: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.push(10);
    out.extend_from_slice(version.as_bytes());
    out.push(0);
    out.extend_from_slice(&connection_id.to_le_bytes());
    out.extend_from_slice(&nonce[..8]);
    out.push(0);
    out.extend_from_slice(&(capabilities as u16).to_le_bytes());
    out.push(collation);
    out.extend_from_slice(&crate::protocol::status::AUTOCOMMIT.to_le_bytes());
    out.extend_from_slice(&((capabilities >> 16) as u16).to_le_bytes());
    out.push(21);
    out.extend_from_slice(&[0; 10]);
    out.extend_from_slice(&nonce[8..]);
    out.push(0);
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out
}

/// A client's `SSLRequest`: the first 32 bytes of a response, with `CLIENT_SSL`.
pub fn is_ssl_request(payload: &[u8]) -> bool {
    payload.len() == 32
        && Reader(payload)
            .u32()
            .is_some_and(|flags| flags & caps::SSL != 0)
}

/// Parses a `HandshakeResponse41`. `None` when malformed or pre-4.1.
pub fn parse_handshake_response(payload: &[u8]) -> Option<HandshakeResponse> {
    let mut reader = Reader(payload);
    let capabilities = reader.u32()?;
    if capabilities & caps::PROTOCOL_41 == 0 {
        return None;
    }
    let _max_packet = reader.u32()?;
    let collation = reader.u8()?;
    reader.bytes(23)?;
    let username = String::from_utf8(reader.nul_string().to_vec()).ok()?;
    let auth_response = if capabilities & caps::PLUGIN_AUTH_LENENC_DATA != 0 {
        reader.lenenc_bytes()?.to_vec()
    } else if capabilities & caps::SECURE_CONNECTION != 0 {
        let length = reader.u8()? as usize;
        reader.bytes(length)?.to_vec()
    } else {
        reader.nul_string().to_vec()
    };
    let database = if capabilities & caps::CONNECT_WITH_DB != 0 && !reader.is_empty() {
        Some(reader.nul_string().to_vec()).filter(|db| !db.is_empty())
    } else {
        None
    };
    let plugin = if capabilities & caps::PLUGIN_AUTH != 0 && !reader.is_empty() {
        Some(String::from_utf8_lossy(reader.nul_string()).into_owned())
    } else {
        None
    };
    Some(HandshakeResponse {
        capabilities,
        collation,
        username,
        auth_response,
        database,
        plugin,
    })
}

/// An `AuthSwitchRequest`: asks the client to answer `nonce` with `plugin`.
pub fn auth_switch_request(plugin: &str, nonce: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + plugin.len() + 21);
    out.push(0xfe);
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out.extend_from_slice(nonce);
    out.push(0);
    out
}

/// What MariaDB's greeting tells its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerGreeting {
    pub connection_id: u32,
    pub capabilities: u32,
    /// MariaDB's extended capability word.
    pub mariadb_capabilities: u32,
    pub nonce: Vec<u8>,
    pub plugin: String,
}

pub fn parse_server_greeting(payload: &[u8]) -> Option<ServerGreeting> {
    let mut reader = Reader(payload);
    if reader.u8()? != 10 {
        return None;
    }
    reader.nul_string();
    let connection_id = reader.u32()?;
    let mut nonce = reader.bytes(8)?.to_vec();
    reader.u8()?;
    let low = reader.u16()? as u32;
    let _collation = reader.u8()?;
    let _status = reader.u16()?;
    let high = reader.u16()? as u32;
    let capabilities = low | (high << 16);
    let auth_length = reader.u8()? as usize;
    // Six reserved bytes, then MariaDB's extended capabilities (zero from MySQL).
    reader.bytes(6)?;
    let mariadb_capabilities = reader.u32()?;
    let rest = auth_length.saturating_sub(8).max(13);
    let part2 = reader.bytes(rest)?;
    // The second part ends with a NUL that is not part of the nonce.
    nonce.extend_from_slice(part2.strip_suffix(&[0]).unwrap_or(part2));
    let plugin = String::from_utf8_lossy(reader.nul_string()).into_owned();
    Some(ServerGreeting {
        connection_id,
        capabilities,
        mariadb_capabilities,
        nonce,
        plugin,
    })
}

/// The edge's handshake response to MariaDB.
pub fn client_handshake_response(
    capabilities: u32,
    collation: u8,
    username: &str,
    auth_response: &[u8],
    database: &[u8],
    plugin: &str,
    mariadb_capabilities: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + username.len() + database.len());
    out.extend_from_slice(&capabilities.to_le_bytes());
    out.extend_from_slice(&(crate::protocol::MAX_PAYLOAD as u32 + 1).to_le_bytes());
    out.push(collation);
    out.extend_from_slice(&[0; 19]);
    // MariaDB reads its extended capabilities here when `CLIENT_LONG_PASSWORD` (its
    // "MySQL client" mark) is clear.
    out.extend_from_slice(&mariadb_capabilities.to_le_bytes());
    out.extend_from_slice(username.as_bytes());
    out.push(0);
    out.push(auth_response.len() as u8);
    out.extend_from_slice(auth_response);
    out.extend_from_slice(database);
    out.push(0);
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_reads_back() {
        let nonce = *b"abcdefghijklmnopqrst";
        let greeting = server_greeting(
            "5.5.5-10.11.0-MariaDB",
            7,
            &nonce,
            caps::OFFERED,
            45,
            "mysql_native_password",
        );
        let parsed = parse_server_greeting(&greeting).unwrap();
        assert_eq!(parsed.connection_id, 7);
        assert_eq!(parsed.capabilities, caps::OFFERED);
        assert_eq!(parsed.nonce, nonce);
        assert_eq!(parsed.plugin, "mysql_native_password");
    }

    #[test]
    fn a_response_reads_back() {
        let flags =
            caps::PROTOCOL_41 | caps::SECURE_CONNECTION | caps::CONNECT_WITH_DB | caps::PLUGIN_AUTH;
        let payload = client_handshake_response(
            flags,
            45,
            "dbu_x",
            &[1; 20],
            b"shop",
            "mysql_native_password",
            0,
        );
        let parsed = parse_handshake_response(&payload).unwrap();
        assert_eq!(parsed.username, "dbu_x");
        assert_eq!(parsed.auth_response, vec![1; 20]);
        assert_eq!(parsed.database.as_deref(), Some(&b"shop"[..]));
        assert_eq!(parsed.plugin.as_deref(), Some("mysql_native_password"));
        assert!(!is_ssl_request(&payload));
        assert!(parse_handshake_response(&payload[..10]).is_none());
    }
}
