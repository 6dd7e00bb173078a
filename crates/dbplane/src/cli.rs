//! Command-line interface. Every `serve` flag has an environment variable; both
//! override the config file.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "dbplane",
    version,
    about = "A self-hostable database platform that speaks the PlanetScale API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (and the managed clusters).
    Serve(ServeArgs),
    /// Administrative commands that work on a data dir directly.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "DBPLANE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (metadata store, managed clusters). Default `./dbplane-data`.
    #[arg(long, env = "DBPLANE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[arg(long, env = "DBPLANE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Address the connection edge (MySQL protocol) listens on. Default `127.0.0.1:3309`.
    #[arg(long, env = "DBPLANE_EDGE_LISTEN")]
    pub edge_listen: Option<SocketAddr>,
    /// Address the edge's HTTP SQL API listens on. Default `127.0.0.1:3310`.
    #[arg(long, env = "DBPLANE_EDGE_HTTP_LISTEN")]
    pub edge_http_listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, env = "DBPLANE_LOG_FORMAT", default_value = "text")]
    pub log_format: crate::logging::LogFormat,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an organization and its administrator if missing, and issue a service
    /// token holding every access. Prints one JSON object.
    Bootstrap(BootstrapArgs),
}

#[derive(Args)]
pub struct BootstrapArgs {
    #[arg(long, env = "DBPLANE_DATA_DIR")]
    pub data_dir: PathBuf,
    #[arg(long)]
    pub organization: String,
    #[arg(long)]
    pub email: String,
    /// Display name of the user (default: the email's local part).
    #[arg(long)]
    pub name: Option<String>,
}
