//! Failpoints in a build without the `failpoints` feature (every release a user runs):
//! nothing to arm. `DBPLANE_FAILPOINTS` is not even read, so no environment can kill or
//! pause the process; [`check_failpoints`] only warns when it is set.

use crate::FAILPOINTS_ENV;

/// Never produced without the `failpoints` feature; the same type keeps callers alike.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FailpointError {}

/// Warns when `DBPLANE_FAILPOINTS` is set: this build ignores it.
pub fn check_failpoints() -> Result<(), FailpointError> {
    if std::env::var_os(FAILPOINTS_ENV).is_some_and(|value| !value.is_empty()) {
        tracing::warn!(
            "{FAILPOINTS_ENV} is set but this build has no failpoints (a test-only feature): ignored"
        );
    }
    Ok(())
}

/// Does nothing: failpoints are compiled out.
#[inline(always)]
pub async fn failpoint(_name: &str) {}

#[cfg(test)]
mod tests {
    /// The unit tests run without the feature unless the workspace's test build turns it
    /// on for everyone; only then is there nothing to check here.
    #[tokio::test]
    async fn an_armed_kill_does_nothing() {
        // SAFETY: this test binary sets the variable before anything reads it; no other
        // test of this crate reads the environment.
        unsafe { std::env::set_var(crate::FAILPOINTS_ENV, "somewhere=kill") };
        super::check_failpoints().unwrap();
        super::failpoint("somewhere").await;
        // Still alive.
    }
}
