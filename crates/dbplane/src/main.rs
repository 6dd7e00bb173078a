//! The `dbplane` binary: `serve` runs the platform; `admin` works on a data dir
//! directly.

mod admin;
mod backups;
mod cli;
mod data_dir_lock;
mod data_plane;
mod edge;
mod logging;
mod serve;

use clap::Parser;
use cli::{AdminCommand, Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dbplane: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin {
                command: AdminCommand::Bootstrap(args),
            } => admin::bootstrap(args).await,
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dbplane: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
