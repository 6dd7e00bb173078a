//! Physical names and identifier quoting.
//!
//! Physical names are derived from stable ids by the control plane, never from what a user
//! typed, and validated again here (`^[a-z][a-z0-9_]{1,62}$`) so that no statement built
//! from one can carry anything but an identifier. Names that come from the servers
//! themselves (table names inside a user's database) can hold anything, so they are
//! always quoted with [`mysql_identifier`] / [`postgres_identifier`].

use std::fmt;

use crate::error::{EngineError, EngineResult};

/// The longest physical name: PostgreSQL truncates identifiers at 63 bytes, MariaDB
/// database names stop at 64 characters.
const MAX_LENGTH: usize = 63;
/// What is appended to a database name to name its owner role or account.
const OWNER_SUFFIX: &str = "_owner";

/// A validated physical identifier (database, credential or owner role name), e.g.
/// `dbp_k3j4h5g6f7d8`: a lowercase ASCII letter, then 1 to 62 lowercase letters, digits
/// or underscores. Such a name needs no escaping in MariaDB or PostgreSQL, though it
/// is still quoted everywhere.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhysicalName(String);

impl PhysicalName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> EngineResult<Self> {
        let name = name.into();
        let invalid = |reason| {
            Err(EngineError::InvalidName {
                name: name.clone(),
                reason,
            })
        };
        let mut characters = name.chars();
        match characters.next() {
            None => return invalid("it is empty"),
            Some(first) if !first.is_ascii_lowercase() => {
                return invalid("it must start with a lowercase ASCII letter");
            }
            Some(_) => {}
        }
        if !characters.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return invalid("only lowercase ASCII letters, digits and `_` are allowed");
        }
        if name.len() < 2 {
            return invalid("it must be at least 2 characters long");
        }
        if name.len() > MAX_LENGTH {
            return invalid("it must be at most 63 characters long");
        }
        Ok(PhysicalName(name))
    }

    /// The name itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The role (PostgreSQL) or locked account (MariaDB) that owns database `self`:
    /// `<self>_owner`. Fails when that would be too long, so databases are limited to
    /// 57 characters.
    pub fn owner(&self) -> EngineResult<PhysicalName> {
        PhysicalName::new(format!("{}{OWNER_SUFFIX}", self.0))
    }
}

impl fmt::Display for PhysicalName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for PhysicalName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, formatter)
    }
}

impl AsRef<str> for PhysicalName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The database part of a MariaDB `GRANT ... ON db.*`, where `_` and `%` are wildcards
/// unless escaped: unescaped, a grant on `dbp_a` would also cover `dbpxa`.
pub(crate) fn mysql_grant_database(name: &PhysicalName) -> String {
    // Physical names hold no `%`, `\` or backtick; `_` is the only wildcard to escape.
    format!("`{}`", name.as_str().replace('_', "\\_"))
}

/// A MariaDB account `'user'@'host'`.
pub(crate) fn mysql_account(user: &PhysicalName, host: &'static str) -> String {
    format!(
        "{}@{}",
        dbplane_schema::quote::mariadb_string(user.as_str()),
        dbplane_schema::quote::mariadb_string(host)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_pass() {
        for name in [
            "dbp_k3j4h5g6f7d8",
            "ab",
            "a1",
            "a_",
            &format!("a{}", "b".repeat(62)),
        ] {
            assert_eq!(PhysicalName::new(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn invalid_names_are_refused() {
        for name in [
            "",
            "a",
            "1abc",
            "_abc",
            "Abc",
            "ab-c",
            "ab c",
            "ab`c",
            "ab\"c",
            "ab'c",
            "ab;drop",
            "abé",
            "ab%",
            "ab\\_",
            &format!("a{}", "b".repeat(63)),
        ] {
            let error = PhysicalName::new(name).expect_err(name);
            assert!(
                matches!(error, EngineError::InvalidName { .. }),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn owner_names_fit_or_are_refused() {
        let database = PhysicalName::new("dbp_abc").unwrap();
        assert_eq!(database.owner().unwrap().as_str(), "dbp_abc_owner");
        let longest = PhysicalName::new(format!("a{}", "b".repeat(56))).unwrap();
        assert_eq!(longest.owner().unwrap().as_str().len(), 63);
        let too_long = PhysicalName::new(format!("a{}", "b".repeat(57))).unwrap();
        assert!(too_long.owner().is_err());
    }

    #[test]
    fn grants_escape_wildcards() {
        let database = PhysicalName::new("dbp_a_b").unwrap();
        assert_eq!(mysql_grant_database(&database), "`dbp\\_a\\_b`");
    }
}
