//! Crash failpoints for tests. `DBPLANE_FAILPOINTS=create_branch.copy_schema,...` makes
//! the process kill itself with SIGKILL when it reaches one of the named points, exactly
//! as an operator's `kill -9` would. Unset (the normal case) they cost one atomic load.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The environment variable listing armed failpoints (comma-separated).
pub const FAILPOINTS_ENV: &str = "DBPLANE_FAILPOINTS";

fn armed() -> &'static HashSet<String> {
    static ARMED: OnceLock<HashSet<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var(FAILPOINTS_ENV)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// Kills the process if the failpoint `name` is armed.
pub fn failpoint(name: &str) {
    if armed().contains(name) {
        tracing::warn!(failpoint = name, "failpoint reached: killing the process");
        // SAFETY: raising SIGKILL on ourselves; nothing runs after it.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
