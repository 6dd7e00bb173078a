//! Running one server process: launch and readiness, supervision with restart, stop.
//!
//! Each managed server is a direct child of dbplane, run in the foreground, so the
//! supervisor learns of its death from `wait()` rather than by polling a pid file. The
//! child gets its own process group: a Ctrl-C on dbplane's terminal must not reach the
//! servers, because dbplane decides when (and how gracefully) they stop.
//!
//! Invariant: once a stop has been requested (by [`Supervisor::stop`] or by dropping the
//! [`Supervisor`]), no new server process is launched.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::metrics;
use super::os_user::RunAs;
use super::{ClusterKind, log_tail, port_is_free, server_version};
use crate::error::{EngineError, EngineResult};

/// How long a server may take from spawn to its first answered query. Generous because a
/// restart after a crash runs InnoDB or WAL recovery first.
const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How long a server may take to stop after its stop signal before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(60);
/// Pause between readiness probes and between liveness checks of a stale process.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The first restart delay after a crash; it doubles with each attempt up to the cap.
const BACKOFF_INITIAL: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// A server that stayed up this long before dying is restarted after the initial delay
/// again, rather than after the delay its earlier crashes had built up.
const STABLE_UPTIME: Duration = Duration::from_secs(60);

/// How to run one server in the foreground, and how to ask it to stop.
#[derive(Clone, Debug)]
pub(crate) struct ServerSpec {
    pub(crate) kind: ClusterKind,
    pub(crate) program: PathBuf,
    pub(crate) arguments: Vec<OsString>,
    /// Set when dbplane is root and the server must run unprivileged.
    pub(crate) run_as: Option<RunAs>,
    pub(crate) working_directory: PathBuf,
    /// Where the server's stdout and stderr are appended; its tail explains failures.
    pub(crate) log_file: PathBuf,
    /// The signal that starts a graceful (but prompt) shutdown.
    pub(crate) stop_signal: Signal,
    pub(crate) port: u16,
}

/// Spawns the server and waits until it answers a query.
pub(crate) async fn launch(spec: &ServerSpec) -> EngineResult<Child> {
    let mut child = spawn(spec)?;
    match wait_ready(spec, &mut child).await {
        Ok(()) => Ok(child),
        Err(error) => {
            // A server that is not ready in time is unusable; kill it so the next attempt
            // does not find the data dir locked.
            let _ = child.kill().await;
            Err(error)
        }
    }
}

fn spawn(spec: &ServerSpec) -> EngineResult<Child> {
    // The server would fail to bind, but a probe could then reach whoever holds the port
    // and mistake it for our server.
    if !port_is_free(spec.port) {
        return Err(EngineError::Start {
            kind: spec.kind,
            detail: format!(
                "port {} on 127.0.0.1 is in use by another process",
                spec.port
            ),
        });
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_file)?;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.arguments)
        .current_dir(&spec.working_directory)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    if let Some(run_as) = &spec.run_as {
        run_as.apply(&mut command);
    }
    let child = command.spawn().map_err(|error| EngineError::Start {
        kind: spec.kind,
        detail: format!("spawn {}: {error}", spec.program.display()),
    })?;
    tracing::debug!(kind = %spec.kind, pid = child.id(), port = spec.port, "spawned server");
    Ok(child)
}

/// Polls with a real client until the server answers, the child dies, or the deadline.
async fn wait_ready(spec: &ServerSpec, child: &mut Child) -> EngineResult<()> {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(exited_early(spec, status));
        }
        if server_version(spec.kind, spec.port).await.is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(EngineError::Timeout {
                kind: spec.kind,
                action: "become ready",
                after: READY_DEADLINE,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn exited_early(spec: &ServerSpec, status: ExitStatus) -> EngineError {
    EngineError::Start {
        kind: spec.kind,
        detail: format!(
            "server exited ({status}) before accepting connections; end of {}:\n{}",
            spec.log_file.display(),
            log_tail(&spec.log_file)
        ),
    }
}

/// The state a [`Supervisor`] shares with its task.
#[derive(Debug)]
struct Shared {
    /// The pid of the running server, 0 while there is none.
    pid: AtomicU32,
}

/// Owns a running server: restarts it if it dies, stops it on request.
#[derive(Debug)]
pub(crate) struct Supervisor {
    kind: ClusterKind,
    stop_signal: Signal,
    shared: Arc<Shared>,
    stop_requested: watch::Sender<bool>,
    /// `None` once stopped.
    task: Option<JoinHandle<EngineResult<()>>>,
}

impl Supervisor {
    /// Takes over `child`, a server started by [`launch`], and supervises it.
    pub(crate) fn spawn(spec: ServerSpec, child: Child) -> Self {
        let shared = Arc::new(Shared {
            pid: AtomicU32::new(child.id().unwrap_or(0)),
        });
        let (stop_requested, stop_receiver) = watch::channel(false);
        let kind = spec.kind;
        let stop_signal = spec.stop_signal;
        metrics::set_up(kind, true);
        let task = tokio::spawn(supervise(spec, child, Arc::clone(&shared), stop_receiver));
        Supervisor {
            kind,
            stop_signal,
            shared,
            stop_requested,
            task: Some(task),
        }
    }

    /// The pid of the running server, `None` while it is being restarted.
    pub(crate) fn pid(&self) -> Option<u32> {
        match self.shared.pid.load(Ordering::SeqCst) {
            0 => None,
            pid => Some(pid),
        }
    }

    /// Stops the server gracefully and waits for it, killing it past the deadline.
    pub(crate) async fn stop(mut self) -> EngineResult<()> {
        self.stop_requested.send_replace(true);
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        task.await.map_err(|join_error| {
            std::io::Error::other(format!(
                "the supervisor of the {} server failed: {join_error}",
                self.kind
            ))
        })?
    }
}

impl Drop for Supervisor {
    /// Best effort for a supervisor dropped without [`Supervisor::stop`] (a panicking test,
    /// an error path): signal the server directly, because the runtime that would run the
    /// supervisor task may be going away too.
    fn drop(&mut self) {
        if self.task.is_none() {
            return;
        }
        self.stop_requested.send_replace(true);
        if let Some(pid) = self.pid() {
            let _ = kill(Pid::from_raw(pid as i32), self.stop_signal);
        }
    }
}

async fn supervise(
    spec: ServerSpec,
    mut child: Child,
    shared: Arc<Shared>,
    mut stop_requested: watch::Receiver<bool>,
) -> EngineResult<()> {
    let mut backoff = BACKOFF_INITIAL;
    let mut running_since = Instant::now();
    loop {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = stop_was_requested(&mut stop_requested) => {
                let result = stop_child(&spec, &mut child).await;
                shared.pid.store(0, Ordering::SeqCst);
                metrics::set_up(spec.kind, false);
                return result;
            }
        };
        shared.pid.store(0, Ordering::SeqCst);
        metrics::set_up(spec.kind, false);
        let status = status?;
        if *stop_requested.borrow() {
            // Stopped by the drop path's signal: an exit we asked for.
            return Ok(());
        }
        if running_since.elapsed() >= STABLE_UPTIME {
            backoff = BACKOFF_INITIAL;
        }
        tracing::warn!(kind = %spec.kind, %status, "server exited unexpectedly, restarting");
        let Some(restarted) = restart(&spec, &mut stop_requested, &mut backoff).await else {
            return Ok(());
        };
        child = restarted;
        running_since = Instant::now();
        shared.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
        metrics::set_up(spec.kind, true);
        metrics::count_restart(spec.kind);
        tracing::info!(kind = %spec.kind, pid = child.id(), "server restarted");
    }
}

/// Relaunches the server with exponential backoff until it is ready. Returns `None` if a
/// stop is requested first (any half-started server is stopped before returning).
async fn restart(
    spec: &ServerSpec,
    stop_requested: &mut watch::Receiver<bool>,
    backoff: &mut Duration,
) -> Option<Child> {
    loop {
        let delay = *backoff;
        *backoff = (*backoff * 2).min(BACKOFF_CAP);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop_was_requested(stop_requested) => return None,
        }
        let mut child = match spawn(spec) {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(kind = %spec.kind, %error, retry_in = ?*backoff, "restart failed");
                continue;
            }
        };
        // Readiness is awaited here rather than in `launch` so a stop request can
        // interrupt it without orphaning the half-started child.
        let ready = tokio::select! {
            ready = wait_ready(spec, &mut child) => ready,
            _ = stop_was_requested(stop_requested) => {
                if let Err(error) = stop_child(spec, &mut child).await {
                    tracing::error!(kind = %spec.kind, %error, "stopping a half-started server failed");
                }
                return None;
            }
        };
        match ready {
            Ok(()) => return Some(child),
            Err(error) => {
                let _ = child.kill().await;
                tracing::error!(kind = %spec.kind, %error, retry_in = ?*backoff, "restart failed");
            }
        }
    }
}

/// Sends the stop signal and waits; past the deadline the server is killed.
async fn stop_child(spec: &ServerSpec, child: &mut Child) -> EngineResult<()> {
    if let Some(pid) = child.id() {
        tracing::info!(kind = %spec.kind, pid, "stopping server");
        let _ = kill(Pid::from_raw(pid as i32), spec.stop_signal);
    }
    match tokio::time::timeout(STOP_DEADLINE, child.wait()).await {
        Ok(status) => {
            tracing::info!(kind = %spec.kind, status = %status?, "server stopped");
            Ok(())
        }
        Err(_elapsed) => {
            tracing::error!(kind = %spec.kind, "server ignored its stop signal, killing it");
            child.kill().await?;
            Err(EngineError::Timeout {
                kind: spec.kind,
                action: "stop",
                after: STOP_DEADLINE,
            })
        }
    }
}

/// Stops a server left running by an earlier dbplane (one killed before it could stop
/// its servers), found through the pid file it wrote.
///
/// We stop rather than adopt it: an adopted process is not our child, so the supervisor
/// could not `wait()` on it and would need a second, polling, code path; and it runs with
/// the flags of the earlier run, which may differ from this run's (port, durability).
/// Stopping costs one server restart, about a second.
///
/// The pid is trusted only if that process runs `executable_name` with `data_directory`
/// as its working directory (both servers `chdir` into their data dir), so a recycled pid
/// is never signalled.
pub(crate) async fn stop_stale_server(
    kind: ClusterKind,
    pid_file: &Path,
    executable_name: &str,
    data_directory: &Path,
    stop_signal: Signal,
) -> EngineResult<()> {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Ok(());
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok())
    else {
        return Ok(());
    };
    if !is_server_on(pid, executable_name, data_directory) {
        return Ok(());
    }
    tracing::warn!(%kind, pid, "stopping a server left running by an earlier run");
    let _ = kill(Pid::from_raw(pid), stop_signal);
    if wait_gone(pid, STOP_DEADLINE).await {
        return Ok(());
    }
    tracing::error!(%kind, pid, "stale server ignored its stop signal, killing it");
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    if wait_gone(pid, Duration::from_secs(10)).await {
        return Ok(());
    }
    Err(EngineError::Timeout {
        kind,
        action: "stop (stale server from an earlier run)",
        after: STOP_DEADLINE,
    })
}

fn is_server_on(pid: i32, executable_name: &str, data_directory: &Path) -> bool {
    let process = PathBuf::from(format!("/proc/{pid}"));
    let Ok(executable) = std::fs::read_link(process.join("exe")) else {
        return false;
    };
    // An upgraded package leaves the running binary as "mariadbd (deleted)".
    let executable = executable.to_string_lossy();
    let executable = executable.trim_end_matches(" (deleted)");
    let named_right = Path::new(executable).file_name() == Some(executable_name.as_ref());
    let Ok(working_directory) = std::fs::read_link(process.join("cwd")) else {
        return false;
    };
    let data_directory = std::fs::canonicalize(data_directory).unwrap_or(data_directory.into());
    named_right && working_directory == data_directory
}

/// Waits until `pid` has exited (a zombie counts as exited: only its parent can reap it).
async fn wait_gone(pid: i32, deadline: Duration) -> bool {
    let deadline = Instant::now() + deadline;
    loop {
        let alive = kill(Pid::from_raw(pid), None).is_ok() && !is_zombie(pid);
        if !alive {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn is_zombie(pid: i32) -> bool {
    // /proc/<pid>/stat is "pid (comm) state ...", and comm may contain spaces or ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_comm = stat.rsplit_once(')')?.1;
            after_comm
                .split_whitespace()
                .next()
                .map(|state| state == "Z")
        })
        .unwrap_or(false)
}

/// Resolves once a stop is requested (or the [`Supervisor`] is gone). Releases the
/// channel's read guard before returning, so callers can await afterwards.
async fn stop_was_requested(stop_requested: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped, which only happens after a stop request.
    let _ = stop_requested.wait_for(|requested| *requested).await;
}
