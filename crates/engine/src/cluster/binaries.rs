//! Finding the server binaries installed on the machine.
//!
//! Search order: every directory on `PATH`, then `/usr/sbin`, `/usr/bin`, then
//! `/usr/lib/postgresql/<version>/bin` from the highest version down. Debian keeps
//! `mariadbd` in `/usr/sbin` (often not on a non-root `PATH`) and never puts `initdb` or
//! `postgres` on `PATH`, which is why the fixed locations follow.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, EngineResult};

/// The Debian package that ships MariaDB's server and bootstrap tool.
const MARIADB_PACKAGE: &str = "mariadb-server";
/// The Debian metapackage that pulls in the distribution's current PostgreSQL
/// (`postgresql-15` on Debian 12).
const POSTGRES_PACKAGE: &str = "postgresql";

/// The MariaDB executables a managed cluster needs.
#[derive(Clone, Debug)]
pub(crate) struct MariadbBinaries {
    /// The server, `mariadbd`.
    pub(crate) server: PathBuf,
    /// The bootstrap tool, `mariadb-install-db`.
    pub(crate) install_db: PathBuf,
}

/// The PostgreSQL executables a managed cluster needs, all from one installation.
#[derive(Clone, Debug)]
pub(crate) struct PostgresBinaries {
    /// The server, `postgres`.
    pub(crate) server: PathBuf,
    /// The bootstrap tool, `initdb`.
    pub(crate) initdb: PathBuf,
}

/// Finds `mariadbd` and `mariadb-install-db`.
pub(crate) fn find_mariadb() -> EngineResult<MariadbBinaries> {
    let directories =
        search_directories(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"));
    Ok(MariadbBinaries {
        server: find_in("mariadbd", MARIADB_PACKAGE, &directories)?,
        install_db: find_in("mariadb-install-db", MARIADB_PACKAGE, &directories)?,
    })
}

/// Finds `postgres` and `initdb` in the same directory: a data directory made by one
/// major version's `initdb` cannot be served by another's `postgres`.
pub(crate) fn find_postgres() -> EngineResult<PostgresBinaries> {
    let directories =
        search_directories(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"));
    for directory in &directories {
        let server = directory.join("postgres");
        let initdb = directory.join("initdb");
        if is_executable(&server) && is_executable(&initdb) {
            return Ok(PostgresBinaries { server, initdb });
        }
    }
    let binary = if directories
        .iter()
        .any(|directory| is_executable(&directory.join("postgres")))
    {
        "initdb"
    } else {
        "postgres"
    };
    Err(EngineError::BinaryMissing {
        binary,
        package: POSTGRES_PACKAGE,
    })
}

/// Finds `pg_dump` in the installation of the `postgres` server [`find_postgres`] picks,
/// following symlinks (`/usr/local/bin/postgres` may point into
/// `/usr/lib/postgresql/15/bin`): a `pg_dump` older than the server refuses to dump it,
/// and Debian's `/usr/bin/pg_dump` is a Perl wrapper that costs a few milliseconds a run.
pub(crate) fn find_pg_dump() -> EngineResult<PathBuf> {
    let server = find_postgres()?.server;
    let mut candidates = Vec::new();
    if let Ok(real) = std::fs::canonicalize(&server) {
        candidates.push(real.with_file_name("pg_dump"));
    }
    candidates.push(server.with_file_name("pg_dump"));
    candidates
        .into_iter()
        .find(|candidate| is_executable(candidate))
        .ok_or(EngineError::BinaryMissing {
            binary: "pg_dump",
            package: POSTGRES_PACKAGE,
        })
}

fn find_in(
    binary: &'static str,
    package: &'static str,
    directories: &[PathBuf],
) -> EngineResult<PathBuf> {
    directories
        .iter()
        .map(|directory| directory.join(binary))
        .find(|candidate| is_executable(candidate))
        .ok_or(EngineError::BinaryMissing { binary, package })
}

/// The directories to search, in order, without duplicates.
fn search_directories(path_variable: Option<OsString>, postgres_root: &Path) -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> = Vec::new();
    if let Some(path_variable) = path_variable {
        directories.extend(std::env::split_paths(&path_variable).filter(|d| d.is_absolute()));
    }
    directories.push(PathBuf::from("/usr/sbin"));
    directories.push(PathBuf::from("/usr/bin"));
    directories.extend(postgres_version_directories(postgres_root));
    let mut seen = std::collections::HashSet::new();
    directories.retain(|directory| seen.insert(directory.clone()));
    directories
}

/// `<root>/<version>/bin` for every installed version, highest first (numeric order, so
/// 15 sorts above 9.6).
fn postgres_version_directories(postgres_root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(postgres_root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(version) = parse_version(name) else {
            continue;
        };
        versions.push((version, entry.path().join("bin")));
    }
    versions.sort_by(|left, right| right.0.cmp(&left.0));
    versions
        .into_iter()
        .map(|(_, directory)| directory)
        .collect()
}

fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_versions_sort_numerically_highest_first() {
        let root = tempfile::tempdir().expect("create temp dir");
        for version in ["9.6", "15", "13", "common"] {
            std::fs::create_dir_all(root.path().join(version).join("bin")).expect("create dir");
        }
        let found = postgres_version_directories(root.path());
        let names: Vec<_> = found
            .iter()
            .map(|d| {
                d.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }

    #[test]
    fn path_comes_first_and_duplicates_are_dropped() {
        let path = std::env::join_paths(["/opt/x/bin", "/usr/bin", "relative"]).unwrap();
        let directories = search_directories(Some(path), Path::new("/nonexistent"));
        assert_eq!(
            directories,
            [
                PathBuf::from("/opt/x/bin"),
                PathBuf::from("/usr/bin"),
                PathBuf::from("/usr/sbin")
            ]
        );
    }

    #[test]
    fn missing_binary_names_the_package() {
        let error = find_in(
            "no-such-server",
            MARIADB_PACKAGE,
            &[PathBuf::from("/nonexistent")],
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("no-such-server"), "{message}");
        assert!(
            message.contains("apt-get install mariadb-server"),
            "{message}"
        );
    }
}
