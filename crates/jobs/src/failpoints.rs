//! Failpoints for tests, compiled only with the `failpoints` feature (the test harness
//! turns it on; see `failpoints_off` for every other build). `DBPLANE_FAILPOINTS` lists
//! armed points, comma-separated, each `name` or `name=action`:
//! - `kill` (the default, a plain `name`): the process kills itself with SIGKILL when it
//!   reaches the point, exactly as an operator's `kill -9` would;
//! - `pause`: the point creates `<dir>/<name>.reached` and waits until
//!   `<dir>/<name>.release` exists, `<dir>` being `DBPLANE_FAILPOINT_DIR`. A test sees
//!   the work stopped there, acts (deletes what is being worked on, ...) and lets it go
//!   on by creating the release file. Once released, the point no longer waits.
//!
//! Unset (the normal case) a failpoint costs one atomic load and an emptiness check.
//!
//! Why not the `fail` crate: its actions are synchronous and in-process. Its `pause`
//! blocks an executor thread until the same process reconfigures the point, while our
//! crash tests run the server as a child process and release a pause from outside (a
//! file), awaiting it without holding a thread; and it has no `kill`. Both would be
//! callbacks of ours around its registry, so it would add a dependency and replace only
//! the lookup below.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::FAILPOINTS_ENV;
/// The directory of the `.reached` and `.release` files of paused failpoints.
pub const FAILPOINT_DIR_ENV: &str = "DBPLANE_FAILPOINT_DIR";
/// How often a paused failpoint looks for its release file.
const RELEASE_POLL: Duration = Duration::from_millis(5);

/// What an armed failpoint does when reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailpointAction {
    /// SIGKILL the process.
    Kill,
    /// Wait for the test's release file.
    Pause,
}

impl FailpointAction {
    fn parse(name: &str, action: &str) -> Result<Self, FailpointError> {
        match action {
            "kill" => Ok(Self::Kill),
            "pause" => Ok(Self::Pause),
            other => Err(FailpointError::UnknownAction {
                name: name.to_string(),
                action: other.to_string(),
            }),
        }
    }
}

/// Why the failpoint settings are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FailpointError {
    #[error("failpoint {name}: unknown action {action:?} (kill or pause)")]
    UnknownAction { name: String, action: String },
    #[error("failpoint {entry:?} has no name")]
    NoName { entry: String },
    #[error("failpoint {name} pauses but {FAILPOINT_DIR_ENV} is not set")]
    NoDirectory { name: String },
}

/// The armed failpoints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Failpoints {
    points: HashMap<String, FailpointAction>,
    directory: Option<PathBuf>,
}

impl Failpoints {
    /// Parses a `DBPLANE_FAILPOINTS` value; `directory` is `DBPLANE_FAILPOINT_DIR`, which
    /// a paused point needs.
    pub fn parse(spec: &str, directory: Option<PathBuf>) -> Result<Self, FailpointError> {
        let mut points = HashMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, action) = match entry.split_once('=') {
                Some((name, action)) => (name.trim(), FailpointAction::parse(name, action.trim())?),
                None => (entry, FailpointAction::Kill),
            };
            if name.is_empty() {
                return Err(FailpointError::NoName {
                    entry: entry.to_string(),
                });
            }
            if action == FailpointAction::Pause && directory.is_none() {
                return Err(FailpointError::NoDirectory {
                    name: name.to_string(),
                });
            }
            points.insert(name.to_string(), action);
        }
        Ok(Self { points, directory })
    }

    /// What the failpoint `name` does, if armed.
    pub fn action(&self, name: &str) -> Option<FailpointAction> {
        if self.points.is_empty() {
            return None;
        }
        self.points.get(name).copied()
    }
}

fn armed() -> &'static Result<Failpoints, FailpointError> {
    static ARMED: OnceLock<Result<Failpoints, FailpointError>> = OnceLock::new();
    ARMED.get_or_init(|| {
        let spec = std::env::var(FAILPOINTS_ENV).unwrap_or_default();
        let directory = std::env::var_os(FAILPOINT_DIR_ENV)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
        Failpoints::parse(&spec, directory)
    })
}

/// Checks the failpoint settings of the environment, so that a server refuses to start
/// with a misspelt action instead of ignoring it.
pub fn check_failpoints() -> Result<(), FailpointError> {
    armed().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Kills the process, or waits for the test's release, if the failpoint `name` is armed.
pub async fn failpoint(name: &str) {
    let Ok(armed) = armed() else {
        // Refused at startup by `check_failpoints`.
        return;
    };
    match armed.action(name) {
        None => {}
        Some(FailpointAction::Kill) => {
            tracing::warn!(failpoint = name, "failpoint reached: killing the process");
            // SAFETY: raising SIGKILL on ourselves; nothing runs after it.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
        Some(FailpointAction::Pause) => {
            if let Some(directory) = &armed.directory {
                pause(directory, name).await;
            }
        }
    }
}

/// Announces that `name` was reached and waits for its release file.
async fn pause(directory: &Path, name: &str) {
    let release = directory.join(format!("{name}.release"));
    if released(&release).await {
        return;
    }
    let reached = directory.join(format!("{name}.reached"));
    if let Err(error) = tokio::fs::write(&reached, b"").await {
        tracing::error!(failpoint = name, path = %reached.display(), %error, "cannot announce a paused failpoint");
    }
    tracing::warn!(failpoint = name, release = %release.display(), "failpoint reached: paused");
    while !released(&release).await {
        tokio::time::sleep(RELEASE_POLL).await;
    }
    tracing::warn!(failpoint = name, "failpoint released");
}

async fn released(release: &Path) -> bool {
    tokio::fs::try_exists(release).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Option<PathBuf> {
        Some(PathBuf::from("/tmp/points"))
    }

    #[test]
    fn unset_arms_nothing() {
        let points = Failpoints::parse("", None).unwrap();
        assert_eq!(points, Failpoints::default());
        assert_eq!(points.action("run_backup.dump"), None);
        assert_eq!(
            Failpoints::parse(" , ,", None).unwrap(),
            Failpoints::default()
        );
    }

    #[test]
    fn a_plain_name_kills() {
        let points = Failpoints::parse("run_backup.dump, create_branch.copy_schema", None).unwrap();
        assert_eq!(
            points.action("run_backup.dump"),
            Some(FailpointAction::Kill)
        );
        assert_eq!(
            points.action("create_branch.copy_schema"),
            Some(FailpointAction::Kill)
        );
        assert_eq!(points.action("run_backup.start"), None);
    }

    #[test]
    fn actions_are_named_after_an_equals_sign() {
        let points = Failpoints::parse(
            "run_backup.object_stored=pause,run_backup.start = kill",
            dir(),
        )
        .unwrap();
        assert_eq!(
            points.action("run_backup.object_stored"),
            Some(FailpointAction::Pause)
        );
        assert_eq!(
            points.action("run_backup.start"),
            Some(FailpointAction::Kill)
        );
        assert_eq!(points.directory, dir());
    }

    #[test]
    fn bad_settings_are_refused() {
        assert_eq!(
            Failpoints::parse("run_backup.dump=stall", dir()),
            Err(FailpointError::UnknownAction {
                name: "run_backup.dump".into(),
                action: "stall".into()
            })
        );
        assert_eq!(
            Failpoints::parse("=pause", dir()),
            Err(FailpointError::NoName {
                entry: "=pause".into()
            })
        );
        assert_eq!(
            Failpoints::parse("run_backup.dump=pause", None),
            Err(FailpointError::NoDirectory {
                name: "run_backup.dump".into()
            })
        );
    }

    #[tokio::test]
    async fn a_pause_announces_itself_and_waits_for_its_release() {
        let directory = tempfile::tempdir().unwrap();
        let reached = directory.path().join("p.reached");
        let release = directory.path().join("p.release");
        let paused = tokio::spawn({
            let directory = directory.path().to_path_buf();
            async move { pause(&directory, "p").await }
        });
        while !reached.exists() {
            tokio::task::yield_now().await;
        }
        assert!(!paused.is_finished());
        std::fs::write(&release, b"").unwrap();
        paused.await.unwrap();
        // Released for good: reaching it again does not wait.
        pause(directory.path(), "p").await;
    }
}
