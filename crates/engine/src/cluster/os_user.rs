//! The OS user a server runs as when dbplane itself runs as root.
//!
//! PostgreSQL refuses to run as root, so a root `dbplane serve` runs it as the `postgres`
//! user, creating that user the way Debian's package does if it is missing. That user
//! must be able to enter the cluster directory, which needs search permission on every
//! directory above it; a private parent (a 0700 home or temp dir) is the usual culprit, and
//! the check here turns PostgreSQL's vague start failure into a message naming the
//! directory.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, User};
use tokio::process::Command;

use crate::error::{EngineError, EngineResult};

use super::ClusterKind;

/// An unprivileged OS user to run a child process as.
#[derive(Clone, Debug)]
pub(crate) struct RunAs {
    /// The user name, e.g. `postgres`.
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    home: PathBuf,
}

impl RunAs {
    /// Makes `command` run as this user, with the environment a login would give it
    /// (tools such as `initdb` read `HOME` and `USER`).
    pub(crate) fn apply(&self, command: &mut Command) {
        command
            .uid(self.uid)
            .gid(self.gid)
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name);
    }

    /// Gives `path` to this user.
    pub(crate) fn take_ownership(&self, path: &Path) -> EngineResult<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))?;
        Ok(())
    }
}

/// Returns the system user `name`, creating it (`useradd --system`) if it does not exist.
pub(crate) async fn ensure_system_user(
    kind: ClusterKind,
    name: &str,
    home: &Path,
) -> EngineResult<RunAs> {
    if let Some(found) = look_up(name)? {
        return Ok(found);
    }
    tracing::info!(user = name, "creating os user");
    let output = Command::new("useradd")
        .args(["--system", "--home-dir"])
        .arg(home)
        .args(["--shell", "/bin/bash", name])
        .output()
        .await
        .map_err(|error| EngineError::Init {
            kind,
            detail: format!("run useradd to create os user `{name}`: {error}"),
        })?;
    if !output.status.success() {
        return Err(EngineError::Init {
            kind,
            detail: format!(
                "useradd could not create os user `{name}` ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    look_up(name)?.ok_or_else(|| EngineError::Init {
        kind,
        detail: format!("os user `{name}` is still missing after useradd"),
    })
}

fn look_up(name: &str) -> EngineResult<Option<RunAs>> {
    let user = User::from_name(name).map_err(std::io::Error::from)?;
    Ok(user.map(|user| RunAs {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }))
}

/// Checks that `run_as` may search every directory from `/` down to `directory`.
///
/// Returns the first directory it may not enter. Only mode bits are considered: ACLs are
/// rare on data dirs, and a false "ok" still ends in the server's own error.
pub(crate) fn check_traversable(
    kind: ClusterKind,
    directory: &Path,
    run_as: &RunAs,
) -> EngineResult<()> {
    let groups = supplementary_groups(run_as)?;
    let directory = std::fs::canonicalize(directory)?;
    // Walk from the top so the message names the outermost blocker, the one to fix first.
    let mut ancestors: Vec<&Path> = directory.ancestors().collect();
    ancestors.reverse();
    for ancestor in ancestors {
        let metadata = std::fs::metadata(ancestor)?;
        if !may_search(
            metadata.mode(),
            metadata.uid(),
            metadata.gid(),
            run_as,
            &groups,
        ) {
            return Err(EngineError::NotTraversable {
                kind,
                path: ancestor.to_path_buf(),
                user: run_as.name.clone(),
            });
        }
    }
    Ok(())
}

fn supplementary_groups(run_as: &RunAs) -> EngineResult<Vec<u32>> {
    let name = CString::new(run_as.name.clone()).map_err(std::io::Error::other)?;
    let groups = nix::unistd::getgrouplist(&name, Gid::from_raw(run_as.gid))
        .map_err(std::io::Error::from)?;
    Ok(groups.into_iter().map(Gid::as_raw).collect())
}

/// The kernel's rule for search permission: owner bits if the user owns the directory,
/// else group bits if it is in the group, else the "other" bits.
fn may_search(mode: u32, owner: u32, group: u32, run_as: &RunAs, groups: &[u32]) -> bool {
    if run_as.uid == 0 {
        return true;
    }
    if owner == run_as.uid {
        return mode & 0o100 != 0;
    }
    if group == run_as.gid || groups.contains(&group) {
        return mode & 0o010 != 0;
    }
    mode & 0o001 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres_like() -> RunAs {
        RunAs {
            name: "postgres".to_owned(),
            uid: 101,
            gid: 104,
            home: PathBuf::from("/var/lib/postgresql"),
        }
    }

    #[test]
    fn search_permission_follows_owner_group_other() {
        let user = postgres_like();
        assert!(may_search(0o700, 101, 0, &user, &[]));
        assert!(!may_search(0o077, 101, 104, &user, &[104]));
        assert!(may_search(0o710, 0, 104, &user, &[]));
        assert!(may_search(0o710, 0, 7, &user, &[7]));
        assert!(!may_search(0o700, 0, 0, &user, &[]));
        assert!(may_search(0o711, 0, 0, &user, &[]));
    }
}
