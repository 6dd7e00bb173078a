//! `[jobs]`: the durable job runner's workers, leases, retries and per-kind limits.

use super::{BackupsConfig, ConfigError};
use dbplane_domain::jobs::JobKind;
use dbplane_jobs::RunnerConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Durable job runner tuning.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    pub workers: usize,
    /// Seconds a worker's claim on a job lasts. The runner renews it while a step runs and
    /// at every commit; a job whose worker stopped renewing is free after this long.
    pub lease_seconds: u64,
    /// Seconds after which a credential whose creation never completed (the process
    /// died before answering) is dropped. Must exceed the slowest account creation.
    pub pending_credential_grace_seconds: u64,
    /// Figures reads show without asking a server (a database's table count) are
    /// refreshed from the servers at least this often.
    pub stats_refresh_millis: u64,
    /// Attempts of one step (0.5 s after the first failure, doubling) before its job is
    /// given up; `[backups] max_attempts` counts for backups.
    pub max_attempts: i64,
    /// The longest pause between two attempts.
    pub max_backoff_seconds: u64,
    /// Most jobs of a kind (by name, e.g. `run_backup`) one server runs at once, so a
    /// burst of one kind leaves workers to the others. Listed kinds replace their
    /// defaults ([`DEFAULT_MAX_RUNNING`]); other kinds are bounded by `workers` only.
    pub max_running: BTreeMap<String, usize>,
}

/// Kinds limited by default: the ones that copy whole branches (a dump, a load).
pub const DEFAULT_MAX_RUNNING: &[(JobKind, usize)] =
    &[(JobKind::RunBackup, 2), (JobKind::RestoreBranch, 1)];

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease_seconds: 60,
            pending_credential_grace_seconds: 60,
            stats_refresh_millis: 30_000,
            max_attempts: 12,
            max_backoff_seconds: 300,
            max_running: BTreeMap::new(),
        }
    }
}

impl JobsConfig {
    /// The per-kind limits: the defaults, then the configured ones over them.
    pub fn max_running_by_kind(&self) -> Result<HashMap<JobKind, usize>, ConfigError> {
        let mut limits: HashMap<JobKind, usize> = DEFAULT_MAX_RUNNING.iter().copied().collect();
        for (name, limit) in &self.max_running {
            let kind = JobKind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
                ConfigError::Invalid(format!(
                    "jobs.max_running: unknown job kind {name:?} (one of {})",
                    known.join(", ")
                ))
            })?;
            if *limit == 0 {
                return Err(ConfigError::Invalid(format!(
                    "jobs.max_running.{name} must be positive"
                )));
            }
            limits.insert(kind, *limit);
        }
        Ok(limits)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.workers == 0 || self.lease_seconds == 0 || self.max_attempts < 1 {
            return Err(ConfigError::Invalid(
                "jobs.workers, jobs.lease_seconds and jobs.max_attempts must be positive".into(),
            ));
        }
        self.max_running_by_kind().map(|_| ())
    }

    /// The runner's configuration (after [`super::Config::validate`]).
    pub fn runner_config(&self, backups: &BackupsConfig) -> RunnerConfig {
        let max_running_by_kind = self.max_running_by_kind().unwrap_or_default();
        let limited: usize = max_running_by_kind.values().sum();
        if limited >= self.workers {
            tracing::warn!(
                workers = self.workers,
                limited,
                "the limited job kinds together can take every worker: a burst of them can delay the others"
            );
        }
        RunnerConfig {
            workers: self.workers,
            lease: Duration::from_secs(self.lease_seconds),
            max_attempts: self.max_attempts,
            max_attempts_by_kind: HashMap::from([(JobKind::RunBackup, backups.max_attempts)]),
            max_running_by_kind,
            max_backoff: Duration::from_secs(self.max_backoff_seconds),
            ..RunnerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_limits_replace_the_defaults_of_their_kinds_only() {
        let config: JobsConfig =
            toml::from_str("[max_running]\nrun_backup = 5\ncheck_deploy_request = 1\n").unwrap();
        let limits = config.max_running_by_kind().unwrap();
        assert_eq!(limits[&JobKind::RunBackup], 5);
        assert_eq!(limits[&JobKind::RestoreBranch], 1, "default kept");
        assert_eq!(limits[&JobKind::CheckDeployRequest], 1);
        assert!(!limits.contains_key(&JobKind::CreateBranch));
    }

    #[test]
    fn unknown_kinds_and_zero_limits_are_refused() {
        let typo: JobsConfig = toml::from_str("[max_running]\nrun_backups = 1\n").unwrap();
        assert!(typo.validate().is_err());
        let zero: JobsConfig = toml::from_str("[max_running]\nrun_backup = 0\n").unwrap();
        assert!(zero.validate().is_err());
    }

    #[test]
    fn the_runner_gets_the_lease_limits_and_backup_attempts() {
        let config = JobsConfig {
            lease_seconds: 7,
            ..JobsConfig::default()
        };
        let backups = BackupsConfig {
            max_attempts: 2,
            ..BackupsConfig::default()
        };
        let runner = config.runner_config(&backups);
        assert_eq!(runner.lease, Duration::from_secs(7));
        assert_eq!(runner.max_attempts_of(JobKind::RunBackup), 2);
        assert_eq!(runner.max_attempts_of(JobKind::CreateBranch), 12);
        assert_eq!(runner.max_running_by_kind[&JobKind::RunBackup], 2);
    }
}
