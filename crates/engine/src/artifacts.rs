//! The names of a deployment's artifacts: `_<table>_dbp_new` (shadow), `_dbp_old` (the
//! original kept for a revert), `_dbp_rev` (the new table after a revert), `_dbp_drop` (a
//! lazily dropped table). They are the platform's, not the user's schema: deploy checks and
//! branch schema copies leave them out, and lint reports a user table named like one.
//!
//! MariaDB names have at most 64 characters; a table whose artifact name would be longer
//! gets a shortened one that stays unique: its name cut to fit, `_`, and 8 hex digits of a
//! hash of the whole name.

use sha2::{Digest, Sha256};

/// MariaDB's longest identifier, in characters.
const MAX_NAME: usize = 64;
const HASH_DIGITS: usize = 8;

/// One kind of artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    Shadow,
    Old,
    Reverted,
    Dropped,
}

impl Artifact {
    const ALL: [Artifact; 4] = [
        Artifact::Shadow,
        Artifact::Old,
        Artifact::Reverted,
        Artifact::Dropped,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Artifact::Shadow => "_dbp_new",
            Artifact::Old => "_dbp_old",
            Artifact::Reverted => "_dbp_rev",
            Artifact::Dropped => "_dbp_drop",
        }
    }
}

/// The name of `table`'s `artifact`.
pub fn artifact_name(table: &str, artifact: Artifact) -> String {
    let suffix = artifact.suffix();
    if 1 + table.chars().count() + suffix.len() <= MAX_NAME {
        return format!("_{table}{suffix}");
    }
    let hash = hex::encode(Sha256::digest(table.as_bytes()));
    let keep = MAX_NAME - 1 - (1 + HASH_DIGITS) - suffix.len();
    let head: String = table.chars().take(keep).collect();
    format!("_{head}_{}{suffix}", &hash[..HASH_DIGITS])
}

/// Whether `name` is one of a deployment's artifacts.
pub fn is_deploy_artifact(name: &str) -> bool {
    name.starts_with('_')
        && Artifact::ALL.iter().any(|artifact| {
            let suffix = artifact.suffix();
            name.len() > suffix.len() + 1 && name.ends_with(suffix)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_stay_apart() {
        assert_eq!(artifact_name("users", Artifact::Dropped), "_users_dbp_drop");
        assert_eq!(artifact_name("users", Artifact::Shadow), "_users_dbp_new");
        let long = "ü".repeat(64);
        let other = format!("{}x", "ü".repeat(63));
        for artifact in Artifact::ALL {
            let name = artifact_name(&long, artifact);
            assert_eq!(name.chars().count(), 64, "{name}");
            assert!(is_deploy_artifact(&name));
            assert_ne!(name, artifact_name(&other, artifact));
        }
    }

    #[test]
    fn artifacts_are_recognised() {
        for artifact in [
            "_users_dbp_drop",
            "_users_dbp_new",
            "_users_dbp_old",
            "_a_dbp_rev",
        ] {
            assert!(is_deploy_artifact(artifact), "{artifact}");
        }
        for table in [
            "users",
            "_users",
            "users_dbp_old",
            "__dbp_old",
            "_users_dbp_older",
        ] {
            assert!(!is_deploy_artifact(table), "{table}");
        }
    }
}
