//! Which protocol a new connection speaks. MySQL clients wait for the server's greeting;
//! HTTP clients speak first (a TLS hello, or a request line in clear). So one port serves
//! both: the edge waits a moment for a first byte before it greets.
//!
//! The wait costs MySQL logins that moment (configurable, `None` for none). An HTTP
//! client's first bytes leave right behind its TCP handshake, so they are there almost
//! at once (on loopback, before the connection is even accepted).

use std::time::Duration;

use tokio::net::TcpStream;

/// What a new connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mysql,
    /// HTTP inside TLS.
    Https,
    /// HTTP in clear.
    Http,
}

/// Peeks at the first byte for at most `window`; silence is MySQL.
pub async fn detect(tcp: &TcpStream, window: Option<Duration>) -> Protocol {
    let Some(window) = window else {
        return Protocol::Mysql;
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(window, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => classify(first[0]),
        _ => Protocol::Mysql,
    }
}

/// On the HTTP API's own listener: TLS or not, waiting as long as it takes.
pub async fn detect_http(tcp: &TcpStream) -> Option<Protocol> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(30), tcp.peek(&mut first)).await {
        Ok(Ok(1)) => Some(match classify(first[0]) {
            Protocol::Https => Protocol::Https,
            _ => Protocol::Http,
        }),
        _ => None,
    }
}

/// A TLS record starts with its content type, 22 for a handshake; a request line with a
/// method in capitals. A MySQL client never speaks first.
fn classify(first: u8) -> Protocol {
    match first {
        0x16 => Protocol::Https,
        b'A'..=b'Z' => Protocol::Http,
        _ => Protocol::Mysql,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_the_protocol() {
        assert_eq!(classify(0x16), Protocol::Https);
        assert_eq!(classify(b'P'), Protocol::Http);
        assert_eq!(classify(0x20), Protocol::Mysql);
    }
}
