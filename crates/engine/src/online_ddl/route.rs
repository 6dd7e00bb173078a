//! The two sides of a change stream: which table's binlog rows go into which table, with
//! the columns on each side and the row identity they share.

use mysql_async::Value;

use super::binlog::Direction;
use super::sql;
use super::{OnlineDdlError, OnlineDdlResult, OnlineDdlState};
use dbplane_schema::online::same_name;

/// One row change, in [`Route::source_columns`] order: the before-image of a delete, the
/// after-image of an insert or update.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub delete: bool,
    pub image: Vec<Value>,
}

/// Which table's changes go into which, with the columns on each side.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub direction: Direction,
    pub db: String,
    /// The table the binlog rows come from (always the live table).
    pub source: String,
    pub target: String,
    pub source_columns: Vec<String>,
    pub target_columns: Vec<String>,
    /// Positions of the row identity in the column lists.
    pub identity: Vec<usize>,
    /// Target unique keys that the source implies.
    pub implied_keys: Vec<String>,
}

impl Route {
    pub(crate) fn new(state: &OnlineDdlState, direction: Direction) -> OnlineDdlResult<Self> {
        let (source_columns, target_columns, target, implied_keys) = match direction {
            Direction::Forward => (
                state.columns.clone(),
                state.target_columns().to_vec(),
                state.shadow_table.clone(),
                state.implied_target_keys(),
            ),
            Direction::Reverse => (
                state.target_columns().to_vec(),
                state.columns.clone(),
                state.old_table.clone(),
                state.implied_source_keys(),
            ),
        };
        let identity = state
            .identity()
            .iter()
            .map(|name| {
                state
                    .columns
                    .iter()
                    .position(|c| same_name(c, name))
                    .ok_or_else(|| {
                        OnlineDdlError::Invalid(format!(
                            "identity column `{name}` of `{}` is not copied",
                            state.table
                        ))
                    })
            })
            .collect::<OnlineDdlResult<Vec<usize>>>()?;
        Ok(Route {
            direction,
            db: state.database.clone(),
            source: state.table.clone(),
            target,
            source_columns,
            target_columns,
            identity,
            implied_keys,
        })
    }

    /// The error of a row that cannot be carried over (`reason`: the server's refusal).
    pub(crate) fn lost(&self, reason: String) -> OnlineDdlError {
        let duplicate = reason.starts_with("Duplicate entry");
        match self.direction {
            Direction::Forward => OnlineDdlError::WouldLoseData {
                table: self.source.clone(),
                reason: if duplicate {
                    format!(
                        "rows written during the change duplicate a unique key of the new schema: {reason}"
                    )
                } else {
                    format!("a row written during the change does not fit the new schema: {reason}")
                },
            },
            Direction::Reverse => OnlineDdlError::RevertIncompatible {
                table: self.source.clone(),
                reason: if duplicate {
                    format!(
                        "rows written after the deploy duplicate a unique key of the old schema: {reason}"
                    )
                } else {
                    format!("a row written after the deploy does not fit the old schema: {reason}")
                },
            },
        }
    }

    pub(crate) fn identity_of(&self, image: &[Value]) -> Vec<Value> {
        self.identity.iter().map(|&i| image[i].clone()).collect()
    }

    /// `t.a = x.b AND …` over the identity: `target` aliases the target table, `source`
    /// a table with the source's columns.
    pub(crate) fn identity_match(&self, target: &str, source: &str) -> String {
        self.identity
            .iter()
            .map(|&i| {
                format!(
                    "{target}.{} = {source}.{}",
                    sql::ident(&self.target_columns[i]),
                    sql::ident(&self.source_columns[i])
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The identity between two tables with the source's columns.
    pub(crate) fn identity_match_sources(&self, a: &str, b: &str) -> String {
        self.identity
            .iter()
            .map(|&i| format!("{a}.{c} = {b}.{c}", c = sql::ident(&self.source_columns[i])))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    pub(crate) fn target_list(&self) -> String {
        sql::column_list(&self.target_columns)
    }

    pub(crate) fn source_list(&self, alias: &str) -> String {
        self.source_columns
            .iter()
            .map(|c| format!("{alias}.{}", sql::ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Bytes that are equal exactly when two value lists are: the key of a row's identity.
pub(crate) fn identity_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::NULL => out.push(0),
            Value::Bytes(bytes) => {
                out.push(1);
                out.extend((bytes.len() as u64).to_le_bytes());
                out.extend(bytes);
            }
            Value::Int(v) => {
                out.push(2);
                out.extend(v.to_le_bytes());
            }
            Value::UInt(v) => {
                out.push(3);
                out.extend(v.to_le_bytes());
            }
            Value::Float(v) => {
                out.push(4);
                out.extend(v.to_le_bytes());
            }
            Value::Double(v) => {
                out.push(5);
                out.extend(v.to_le_bytes());
            }
            other => {
                // Dates and times are text by now (`values.rs`); keep any other exact.
                out.push(6);
                out.extend(format!("{other:?}").into_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_keys_tell_types_and_bytes_apart() {
        assert_ne!(
            identity_key(&[Value::Int(1)]),
            identity_key(&[Value::UInt(1)])
        );
        assert_ne!(
            identity_key(&[Value::Bytes(b"ab".to_vec()), Value::Bytes(b"c".to_vec())]),
            identity_key(&[Value::Bytes(b"a".to_vec()), Value::Bytes(b"bc".to_vec())])
        );
        assert_eq!(
            identity_key(&[Value::Bytes(b"x".to_vec())]),
            identity_key(&[Value::Bytes(b"x".to_vec())])
        );
    }
}
