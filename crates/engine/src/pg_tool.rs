//! PostgreSQL's client tools (`pg_dump`, `pg_restore`) run as the admin connection is
//! configured: the one place their connection arguments are built.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use tokio::process::Command;
use tokio_postgres::Config;
use tokio_postgres::config::Host;

/// How long a tool may take to connect.
const CONNECT_TIMEOUT_SECONDS: &str = "10";

/// `program` connected like `config`: host, port and user as arguments, the password in
/// the environment (where `ps` does not show it), never a prompt, and no `PGSERVICE` or
/// `PGOPTIONS` of ours redirecting it. The child dies with its handle.
pub(crate) fn command(program: &Path, config: &Config) -> Command {
    let mut command = Command::new(program);
    command
        .arg("--no-password")
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .kill_on_drop(true);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => {
            command.arg(format!("--host={host}"));
        }
        Some(Host::Unix(directory)) => {
            command.arg("--host").arg(directory);
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        command.arg(format!("--port={port}"));
    }
    if let Some(user) = config.get_user() {
        command.arg(format!("--username={user}"));
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", std::ffi::OsStr::from_bytes(password));
    }
    command
}
