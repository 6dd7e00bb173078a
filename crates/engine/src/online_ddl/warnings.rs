//! What a statement's warnings say about the rows it wrote. The copy (`INSERT IGNORE … SELECT`)
//! and the change stream (`UPDATE`/`INSERT … SELECT`, non-strict) judge them alike, so a row
//! converts the same way whichever brought it; what `ALTER TABLE` would do silently is
//! harmless, anything that changed or dropped a value is a loss.

use mysql_async::prelude::Queryable;

use super::OnlineDdlResult;
use super::stage::duplicate_key_name;

/// The most warnings a session keeps (MariaDB's upper limit for `max_error_count`).
pub(crate) const MAX_WARNINGS: u32 = 65_535;
/// `ER_DUP_ENTRY`.
const DUPLICATE_ENTRY: u32 = 1062;
/// `ER_NO_DEFAULT_FOR_FIELD`: a new NOT NULL column without a default gets its type's
/// implicit default, as `ALTER TABLE` gives it.
const NO_DEFAULT_FOR_FIELD: u32 = 1364;

/// What a statement's warnings say.
#[derive(Debug, PartialEq)]
pub(crate) enum Warnings {
    /// None, or only notes, implicit defaults of new columns, and duplicates of keys
    /// the source implies (the row is already there, newer).
    Harmless,
    /// A duplicate on a unique key the source does not enforce.
    NewKeyDuplicate(String),
    /// A value changed or dropped; also when there were more warnings than can be read.
    Lossy(String),
}

/// Reads and judges the last statement's warnings.
pub(crate) async fn judge(
    conn: &mut impl Queryable,
    implied_keys: &[String],
) -> OnlineDdlResult<Warnings> {
    let total: u64 = conn
        .query_first("SELECT @@warning_count")
        .await?
        .unwrap_or(0);
    if total == 0 {
        return Ok(Warnings::Harmless);
    }
    let warnings: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS").await?;
    if (warnings.len() as u64) < total {
        return Ok(Warnings::Lossy(format!(
            "{total} warnings in one statement, more than can be checked"
        )));
    }
    Ok(classify(&warnings, implied_keys))
}

pub(crate) fn classify(warnings: &[(String, u32, String)], implied_keys: &[String]) -> Warnings {
    let mut verdict = Warnings::Harmless;
    for (level, code, message) in warnings {
        if level.eq_ignore_ascii_case("Note") || *code == NO_DEFAULT_FOR_FIELD {
            continue;
        }
        let reason = format!("{message} (MariaDB warning {code})");
        if *code == DUPLICATE_ENTRY {
            match duplicate_key_name(message) {
                Some(key) if implied_keys.contains(&key) => continue,
                Some(_) => {
                    verdict = Warnings::NewKeyDuplicate(reason);
                    continue;
                }
                None => {}
            }
        }
        return Warnings::Lossy(reason);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_losses_count() {
        let warning = |level: &str, code: u32, message: &str| (level.into(), code, message.into());
        let implied = vec!["PRIMARY".to_string(), "u".to_string()];
        assert_eq!(
            classify(
                &[
                    warning("Warning", 1062, "Duplicate entry '5' for key 'PRIMARY'"),
                    warning("Warning", 1062, "Duplicate entry 'x' for key 'u'"),
                    warning("Warning", 1364, "Field 'c' doesn't have a default value"),
                    warning("Note", 1265, "Data truncated for column 'c' at row 1"),
                ],
                &implied
            ),
            Warnings::Harmless
        );
        assert!(matches!(
            classify(
                &[warning(
                    "Warning",
                    1062,
                    "Duplicate entry '7' for key 'new_u'"
                )],
                &implied
            ),
            Warnings::NewKeyDuplicate(_)
        ));
        assert!(matches!(
            classify(
                &[
                    warning("Warning", 1062, "Duplicate entry '7' for key 'new_u'"),
                    warning("Warning", 1265, "Data truncated for column 'c' at row 2"),
                ],
                &implied
            ),
            Warnings::Lossy(_)
        ));
    }
}
