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
/// clusters started together can never be handed the same ephemeral port.
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

    fn pick_free(&mut self) -> EngineResult<u16> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        self.held.push(listener);
        Ok(port)
    }
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
