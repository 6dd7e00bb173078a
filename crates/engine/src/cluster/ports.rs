//! Choosing and remembering the TCP port of each managed cluster.
//!
//! Credentials handed to users carry `host:port`, so a cluster's port must not change
//! between runs of `dbplane serve`. The first start picks a free port (or takes the
//! configured one) and writes it to `<cluster dir>/port`; later starts read it back.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use crate::error::EngineResult;

/// The name of the file, inside a cluster directory, that holds its port.
const PORT_FILE: &str = "port";

/// Reserves ports for several clusters at once.
///
/// Every listener picked so far stays open until the reservation is dropped, so two
/// clusters started together can never be handed the same port.
#[derive(Default)]
pub(crate) struct PortReservation {
    held: Vec<TcpListener>,
}

impl PortReservation {
    /// Returns the port for the cluster in `cluster_directory`: `configured` if given,
    /// else the persisted one, else a free port on 127.0.0.1. The result is persisted.
    pub(crate) fn resolve(
        &mut self,
        cluster_directory: &Path,
        configured: Option<u16>,
    ) -> EngineResult<u16> {
        let port = match configured.or(read_persisted(cluster_directory)?) {
            Some(port) => port,
            None => self.pick_free()?,
        };
        persist(cluster_directory, port)?;
        Ok(port)
    }

    /// A free port below the kernel's ephemeral range, chosen at random. Not an ephemeral
    /// port (what `bind(0)` gives): once our listener is released and before the server
    /// binds it, any outgoing connection on the machine may take an ephemeral port as its
    /// local port, and the server then fails to start ("in use by another process"),
    /// which parallel tests hit. Falls back to an ephemeral port when the range below is
    /// too small or full.
    fn pick_free(&mut self) -> EngineResult<u16> {
        let ceiling = ephemeral_range_start();
        if ceiling > LOWEST_PICKED_PORT + 1_000 {
            let span = u64::from(ceiling - LOWEST_PICKED_PORT);
            for _ in 0..PICK_ATTEMPTS {
                let port = LOWEST_PICKED_PORT + (random() % span) as u16;
                if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                    self.held.push(listener);
                    return Ok(port);
                }
            }
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        self.held.push(listener);
        Ok(port)
    }
}

/// Picked ports start here: above the well-known and most registered service ports.
const LOWEST_PICKED_PORT: u16 = 10_000;
/// Random ports tried before falling back to an ephemeral one.
const PICK_ATTEMPTS: usize = 64;

/// The first port of the kernel's ephemeral range (Linux default 32768).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A random number from the standard library's per-process random hash keys.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

fn read_persisted(cluster_directory: &Path) -> EngineResult<Option<u16>> {
    match std::fs::read_to_string(cluster_directory.join(PORT_FILE)) {
        // A port file that does not parse was not written by us (we write it atomically),
        // so it is better to refuse than to silently move the cluster to another port.
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} does not hold a port number",
                    cluster_directory.join(PORT_FILE).display()
                ),
            )
            .into()
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Writes the port through a temporary file and a rename, so a crash leaves either the
/// old content or the new, never a torn number.
fn persist(cluster_directory: &Path, port: u16) -> EngineResult<()> {
    if read_persisted(cluster_directory)? == Some(port) {
        return Ok(());
    }
    let temporary = cluster_directory.join(format!("{PORT_FILE}.tmp"));
    std::fs::write(&temporary, format!("{port}\n"))?;
    std::fs::File::open(&temporary)?.sync_all()?;
    std::fs::rename(&temporary, cluster_directory.join(PORT_FILE))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_port_is_persisted_and_reused() {
        let directory = tempfile::tempdir().expect("create temp dir");
        let first = PortReservation::default()
            .resolve(directory.path(), None)
            .expect("pick a port");
        let second = PortReservation::default()
            .resolve(directory.path(), None)
            .expect("read the port back");
        assert_eq!(first, second);
    }

    #[test]
    fn a_configured_port_wins_and_is_persisted() {
        let directory = tempfile::tempdir().expect("create temp dir");
        PortReservation::default()
            .resolve(directory.path(), None)
            .expect("pick a port");
        let configured = PortReservation::default()
            .resolve(directory.path(), Some(41234))
            .expect("take the configured port");
        assert_eq!(configured, 41234);
        let reused = PortReservation::default()
            .resolve(directory.path(), None)
            .expect("read the port back");
        assert_eq!(reused, 41234);
    }

    #[test]
    fn ports_reserved_together_differ() {
        let first = tempfile::tempdir().expect("create temp dir");
        let second = tempfile::tempdir().expect("create temp dir");
        let mut reservation = PortReservation::default();
        let a = reservation
            .resolve(first.path(), None)
            .expect("pick a port");
        let b = reservation
            .resolve(second.path(), None)
            .expect("pick a port");
        assert_ne!(a, b);
        // Below the ephemeral range, where outgoing connections never take them.
        assert!(a < ephemeral_range_start() && b < ephemeral_range_start());
        assert!(a >= LOWEST_PICKED_PORT && b >= LOWEST_PICKED_PORT);
    }

    #[test]
    fn a_garbled_port_file_is_refused() {
        let directory = tempfile::tempdir().expect("create temp dir");
        std::fs::write(directory.path().join(PORT_FILE), "not a port").expect("write");
        assert!(
            PortReservation::default()
                .resolve(directory.path(), None)
                .is_err()
        );
    }
}
