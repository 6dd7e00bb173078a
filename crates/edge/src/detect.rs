//! Which protocol a connection to the HTTP API's listener speaks. HTTP clients speak
//! first (a TLS hello, or a request line in clear); MySQL clients wait for the server's
//! greeting. A connection silent for the fallback window is a MySQL client that took the
//! password's `access_host_url` for a MySQL address: it is served as one, only later.
//!
//! The MySQL port does not wait like this: an HTTP client's first bytes can lag its TCP
//! handshake by tens of milliseconds (Node.js opening 32 TLS connections at once sent
//! hellos up to 45 ms late here), and every MySQL login would pay such a wait.

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
pub async fn detect(tcp: &TcpStream, window: Duration) -> Option<Protocol> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(window, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => Some(classify(first[0])),
        Ok(_) => None,
        Err(_) => Some(Protocol::Mysql),
    }
}

/// A TLS record starts with its content type, 22 for a handshake; anything else a client
/// sends first is taken for HTTP in clear (a MySQL client never speaks first).
fn classify(first: u8) -> Protocol {
    match first {
        0x16 => Protocol::Https,
        _ => Protocol::Http,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_the_protocol() {
        assert_eq!(classify(0x16), Protocol::Https);
        assert_eq!(classify(b'P'), Protocol::Http);
    }
}
