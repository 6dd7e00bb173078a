//! PostgreSQL enum types and sequences: created and extended before tables use them,
//! dropped after.

use crate::Dialect;
use crate::ddl::postgres::{create_enum_type, create_sequence, ident, sequence_owned_by};
use crate::diff::plan::simple;
use crate::diff::{Diff, ObjectKind, ObjectRef, StatementKind, UnsupportedChange};
use crate::model::Schema;
use crate::sql_text::quote_string;

fn object(kind: ObjectKind, name: &str) -> ObjectRef {
    ObjectRef {
        kind,
        name: name.to_owned(),
    }
}

/// Enum types and sequences created or changed before tables use them.
pub(in crate::diff) fn types_and_sequences_before(from: &Schema, to: &Schema, diff: &mut Diff) {
    for (name, enum_type) in &to.enum_types {
        let target = object(ObjectKind::EnumType, name);
        match from.enum_types.get(name) {
            None => diff.statements.push(simple(
                target,
                StatementKind::Create,
                create_enum_type(enum_type),
            )),
            Some(old) if old != enum_type => {
                let is_insertion = {
                    let mut remaining = enum_type.values.iter();
                    old.values.iter().all(|v| remaining.any(|n| n == v))
                };
                if !is_insertion {
                    diff.unsupported.push(UnsupportedChange {
                        object: target,
                        reason: "postgresql cannot remove or reorder enum values".to_owned(),
                    });
                    continue;
                }
                for (position, value) in enum_type.values.iter().enumerate() {
                    if old.values.contains(value) {
                        continue;
                    }
                    // Left to right, each new value goes right after its predecessor,
                    // which is old or was added just before.
                    let anchor = match position.checked_sub(1).map(|p| &enum_type.values[p]) {
                        Some(previous) => {
                            format!(" AFTER {}", quote_string(previous, Dialect::Postgres))
                        }
                        None => match enum_type.values.iter().find(|v| old.values.contains(v)) {
                            Some(next) => {
                                format!(" BEFORE {}", quote_string(next, Dialect::Postgres))
                            }
                            None => String::new(),
                        },
                    };
                    let sql = format!(
                        "ALTER TYPE {} ADD VALUE {}{anchor}",
                        ident(name),
                        quote_string(value, Dialect::Postgres)
                    );
                    diff.statements
                        .push(simple(target.clone(), StatementKind::Alter, sql));
                }
            }
            Some(_) => {}
        }
    }
    for (name, sequence) in &to.sequences {
        let target = object(ObjectKind::Sequence, name);
        match from.sequences.get(name) {
            None => diff.statements.push(simple(
                target,
                StatementKind::Create,
                create_sequence(sequence),
            )),
            Some(old) => {
                let mut old_without_owner = old.clone();
                old_without_owner.owned_by = sequence.owned_by.clone();
                if &old_without_owner != sequence {
                    let sql =
                        create_sequence(sequence).replacen("CREATE SEQUENCE", "ALTER SEQUENCE", 1);
                    diff.statements
                        .push(simple(target, StatementKind::Alter, sql));
                }
            }
        }
    }
}

/// Sequence ownership once tables exist; sequences and types that go away once nothing
/// uses them.
pub(in crate::diff) fn types_and_sequences_after(from: &Schema, to: &Schema, diff: &mut Diff) {
    for (name, sequence) in &to.sequences {
        let old_owner = from.sequences.get(name).and_then(|s| s.owned_by.clone());
        if old_owner != sequence.owned_by
            && (sequence.owned_by.is_some() || from.sequences.contains_key(name))
        {
            diff.statements.push(simple(
                object(ObjectKind::Sequence, name),
                StatementKind::Alter,
                sequence_owned_by(sequence),
            ));
        }
    }
    for name in from
        .sequences
        .keys()
        .filter(|n| !to.sequences.contains_key(*n))
    {
        // A sequence owned by a dropped column is already gone.
        let sql = format!("DROP SEQUENCE IF EXISTS {}", ident(name));
        diff.statements.push(simple(
            object(ObjectKind::Sequence, name),
            StatementKind::Drop,
            sql,
        ));
    }
    for name in from
        .enum_types
        .keys()
        .filter(|n| !to.enum_types.contains_key(*n))
    {
        let sql = format!("DROP TYPE {}", ident(name));
        diff.statements.push(simple(
            object(ObjectKind::EnumType, name),
            StatementKind::Drop,
            sql,
        ));
    }
}
