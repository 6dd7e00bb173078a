//! `hello-axum [LISTEN]`: a minimal axum hello-world (`GET /` → `Hello, World!`), the
//! baseline that `benches/api_throughput.sh` compares dbplane with.
//!
//! The address comes from the first argument, else `HELLO_AXUM_LISTEN`, else
//! `127.0.0.1:0`. The bound address is printed on stdout and, when `HELLO_AXUM_ADDR_FILE`
//! is set, written to that file (atomically), so callers can ask for port 0.
//!
//! The runtime is built exactly as `dbplane` builds its own: tokio's multi-thread
//! scheduler with default settings (one worker per core), all drivers enabled.

use axum::Router;
use axum::routing::get;
use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    let listen = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HELLO_AXUM_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listen: SocketAddr = match listen.parse() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("hello-axum: invalid listen address {listen:?}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hello-axum: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hello-axum: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    if let Ok(path) = std::env::var("HELLO_AXUM_ADDR_FILE") {
        let temporary = format!("{path}.tmp");
        std::fs::write(&temporary, bound.to_string())?;
        std::fs::rename(&temporary, &path)?;
    }
    println!("hello-axum listening on {bound}");
    let router = Router::new().route("/", get(hello));
    axum::serve(listener, router).await
}

async fn hello() -> &'static str {
    "Hello, World!"
}
