//! The one way the platform writes a MariaDB view: its definer is the database's owner
//! account, never the administrator the platform connects as.
//!
//! A view runs with its definer's rights (`SQL SECURITY DEFINER`, the default). Created
//! through the admin connection with a bare `CREATE VIEW`, a view would read with the
//! administrator's rights: a reader password could read through it what it cannot read
//! directly (another database's tables, every session in `information_schema.PROCESSLIST`).
//! The owner account (`<db>_owner@localhost`, locked, no login) holds exactly the rights of
//! its own database. Branch copies, deploys, reverts and restores all pass their view
//! statements through [`owned_by`].

use crate::physical::PhysicalName;
use crate::{EngineError, EngineResult};

const CLAUSE: &str = "DEFINER=";

/// `statement` (a `CREATE [OR REPLACE] [ALGORITHM=…] [DEFINER=…] [SQL SECURITY …] VIEW …`)
/// with `db`'s owner account as its definer.
pub fn owned_by(statement: &str, db: &PhysicalName) -> EngineResult<String> {
    let owner = crate::physical::owner_account(db)?;
    let without = without_definer(statement);
    let header_end = header_end(&without).ok_or(EngineError::InvalidArgument {
        what: "view statement",
        reason: "not a CREATE VIEW statement",
    })?;
    // The clause goes before `SQL SECURITY` when the header has one, else before `VIEW`.
    let header = without[..header_end].to_ascii_uppercase();
    let at = header.find(" SQL SECURITY ").unwrap_or(header_end);
    Ok(format!(
        "{} {CLAUSE}{owner}{}",
        &without[..at],
        &without[at..]
    ))
}

/// `definition` without its `` DEFINER=`user`@`host` `` clause: what the schema shows.
pub fn without_definer(definition: &str) -> String {
    let Some(header_end) = header_end(definition) else {
        return definition.to_owned();
    };
    let upper = definition[..header_end].to_ascii_uppercase();
    let Some(start) = upper.find(CLAUSE) else {
        return definition.to_owned();
    };
    let account_start = start + CLAUSE.len();
    let Some(account_length) = account_length(&definition[account_start..]) else {
        return definition.to_owned();
    };
    // Also swallow the space before the clause.
    let start = if definition[..start].ends_with(' ') {
        start - 1
    } else {
        start
    };
    format!(
        "{}{}",
        &definition[..start],
        &definition[account_start + account_length..]
    )
}

/// Where the header ends: the ` VIEW ` keyword before the view's name (the first one: the
/// header holds no quoted text).
fn header_end(statement: &str) -> Option<usize> {
    let upper = statement.to_ascii_uppercase();
    if !upper.trim_start().starts_with("CREATE ") {
        return None;
    }
    upper.find(" VIEW ")
}

/// The length of `` `user`@`host` `` or `'user'@'host'` at the start of `text`.
fn account_length(text: &str) -> Option<usize> {
    let user = quoted_length(text)?;
    let rest = text[user..].strip_prefix('@')?;
    let host = quoted_length(rest)?;
    Some(user + 1 + host)
}

/// The length of a quoted name (backticks or single quotes, doubled inside) at the start
/// of `text`.
fn quoted_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.first().filter(|b| **b == b'`' || **b == b'\'')?;
    let mut index = 1;
    while index < bytes.len() {
        if bytes[index] == quote {
            if bytes.get(index + 1) == Some(&quote) {
                index += 2;
                continue;
            }
            return Some(index + 1);
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> PhysicalName {
        PhysicalName::new("dbp_abc").unwrap()
    }

    #[test]
    fn every_form_gets_the_owner() {
        let owner = "DEFINER='dbp_abc_owner'@'localhost'";
        assert_eq!(
            owned_by("CREATE VIEW `v` AS select 1 AS `x`", &db()).unwrap(),
            format!("CREATE {owner} VIEW `v` AS select 1 AS `x`")
        );
        assert_eq!(
            owned_by(
                "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 'DEFINER=`a`@`b` VIEW ' AS `c`",
                &db()
            )
            .unwrap(),
            format!(
                "CREATE ALGORITHM=UNDEFINED {owner} SQL SECURITY DEFINER VIEW `v` AS select 'DEFINER=`a`@`b` VIEW ' AS `c`"
            )
        );
        assert_eq!(
            owned_by(
                "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `a``b` AS select 1",
                &db()
            )
            .unwrap(),
            format!("CREATE OR REPLACE {owner} SQL SECURITY INVOKER VIEW `a``b` AS select 1")
        );
        assert!(owned_by("DROP VIEW v", &db()).is_err());
    }

    #[test]
    fn the_schema_shows_no_definer() {
        assert_eq!(
            without_definer(
                "CREATE ALGORITHM=UNDEFINED DEFINER=`u``x`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"
            ),
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
        let plain = "CREATE VIEW `v` AS select 'DEFINER=`a`@`b`' AS `c`";
        assert_eq!(without_definer(plain), plain);
    }
}
