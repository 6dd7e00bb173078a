//! PostgreSQL table changes: `DROP INDEX`, one `ALTER TABLE` with every other change,
//! then `CREATE INDEX` and `COMMENT ON`; plus enum types and sequences.
//!
//! Metadata-only (instant): adding a column without a volatile default, identity or
//! generation; dropping a column or constraint; setting or dropping a default; DROP NOT
//! NULL; binary-coercible type changes (longer VARCHAR, VARCHAR → TEXT, more numeric
//! precision at the same scale); comments; enum values added. Not instant but no rewrite:
//! SET NOT NULL and constraint validation (scans), index builds. Rewrites: other type
//! and collation changes, volatile defaults, identity and generated columns added.
//! PostgreSQL cannot reorder columns: a column order that differs beyond appended
//! columns is reported as unsupported.

mod types;

use super::plan::SplitForeignKeys;
use super::table::{ColumnChange, TableDiff};
use super::{
    Classification, ObjectRef, StatementKind, TableStatements, UnsupportedChange, statement,
};
use crate::Dialect;
use crate::ddl::postgres::{
    check_clause, column_definition, comment_on_column, comment_on_table, create_index,
    default_value, foreign_key_clause, ident, identity_clause, primary_key_clause, quote_collation,
    unique_constraint_clause,
};
use crate::model::{Column, ColumnDefault, DataType};

pub(super) fn alter_table(
    table_diff: &TableDiff,
    split: &SplitForeignKeys,
    unsupported: &mut Vec<UnsupportedChange>,
) -> TableStatements {
    let (from, to) = (table_diff.from, table_diff.to);
    let object = ObjectRef::table(&to.name);
    let alter = format!("ALTER TABLE {}", ident(&to.name));
    let removed = table_diff.removed_foreign_key_names();
    let mut out = TableStatements::default();
    let mut actions: Vec<String> = Vec::new();
    let mut class = Classification::INSTANT;

    for index in table_diff.dropped_indexes.iter().filter(|i| !i.constraint) {
        // Before the ALTER: dropping a column drops its indexes with it.
        out.main.push(statement(
            object.clone(),
            StatementKind::Alter,
            format!("DROP INDEX {}", ident(&index.name)),
            Classification::IN_PLACE,
        ));
    }
    for fk in &table_diff.dropped_foreign_keys {
        let sql = format!("DROP CONSTRAINT {}", ident(&fk.name));
        if split.drop_before.contains(&fk.name) {
            let mut before = statement(
                object.clone(),
                StatementKind::Alter,
                format!("{alter} {sql}"),
                Classification::INSTANT,
            );
            if removed.contains(&fk.name) {
                before.removed_foreign_keys = vec![fk.name.clone()];
            }
            out.before.push(before);
        } else {
            actions.push(sql);
        }
    }
    for check in &table_diff.dropped_checks {
        actions.push(format!("DROP CONSTRAINT {}", ident(&check.name)));
    }
    for index in table_diff.dropped_indexes.iter().filter(|i| i.constraint) {
        actions.push(format!("DROP CONSTRAINT {}", ident(&index.name)));
    }
    if let Some((Some(old), _)) = table_diff.primary_key {
        actions.push(format!("DROP CONSTRAINT {}", ident(&old.name)));
    }
    let mut can_drop_data = table_diff.can_drop_data();
    // Columns whose generation changes cannot be altered in place: drop and re-add.
    let mut readded: Vec<&Column> = Vec::new();
    let mut dropped: Vec<&Column> = table_diff.dropped_columns.clone();
    for change in &table_diff.changed_columns {
        if change.from.generated != change.to.generated {
            dropped.push(change.from);
            readded.push(change.to);
            class = class.and(Classification::REBUILD);
            can_drop_data |= change.from.generated.is_none();
        }
    }
    // Generated columns go first: their base columns cannot be dropped under them.
    dropped.sort_by_key(|column| column.generated.is_none());
    for column in dropped {
        actions.push(format!("DROP COLUMN {}", ident(&column.name)));
    }
    // New and re-added columns go to the end, in the target order.
    let appended: Vec<&Column> = to
        .columns
        .iter()
        .filter(|c| {
            table_diff
                .added_columns
                .iter()
                .chain(readded.iter())
                .any(|a| a.name == c.name)
        })
        .collect();
    for column in appended {
        actions.push(format!("ADD COLUMN {}", column_definition(column)));
        class = class.and(classify_add(column));
    }
    for change in &table_diff.changed_columns {
        if change.from.generated == change.to.generated {
            class = class.and(alter_column(change, &mut actions));
        }
    }
    check_column_order(table_diff, &readded, unsupported);
    if table_diff.partitioning_changed {
        unsupported.push(UnsupportedChange {
            object: ObjectRef::table(&to.name),
            reason: "postgresql cannot change how an existing table is partitioned".to_owned(),
        });
    }

    // Dropping a column dropped every index and constraint on it: re-create the
    // unchanged ones that cover a re-added column.
    let readded_names: Vec<&str> = readded.iter().map(|c| c.name.as_str()).collect();
    let touches = |names: &mut dyn Iterator<Item = &str>| {
        for name in names {
            if readded_names.contains(&name) {
                return true;
            }
        }
        false
    };
    let primary_key_lost = table_diff.primary_key.is_none()
        && to.primary_key.as_ref().is_some_and(|pk| {
            touches(&mut pk.parts.iter().filter_map(|p| match &p.target {
                crate::IndexTarget::Column(c) => Some(c.as_str()),
                crate::IndexTarget::Expression(_) => None,
            }))
        });
    let recreated_indexes: Vec<&crate::Index> = to
        .indexes
        .iter()
        .filter(|i| !table_diff.added_indexes.contains(i) && touches(&mut i.column_names()))
        .collect();
    let recreated_checks: Vec<&crate::CheckConstraint> = to
        .checks
        .iter()
        .filter(|c| !table_diff.added_checks.contains(c))
        .filter(|c| {
            crate::sql_text::tokenize(&c.expr.sql, Dialect::Postgres).iter().any(|l| {
                matches!(&l.token, crate::sql_text::Token::Word(w) | crate::sql_text::Token::QuotedIdentifier(w) if readded_names.contains(&w.as_str()))
            })
        })
        .collect();
    let recreated_foreign_keys: Vec<&crate::ForeignKey> = to
        .foreign_keys
        .iter()
        .filter(|fk| {
            !table_diff.added_foreign_keys.contains(fk)
                && touches(&mut fk.columns.iter().map(String::as_str))
        })
        .collect();
    if primary_key_lost && let Some(primary_key) = &to.primary_key {
        actions.push(format!("ADD {}", primary_key_clause(primary_key)));
    }
    for index in recreated_indexes.iter().filter(|i| i.constraint) {
        actions.push(format!("ADD {}", unique_constraint_clause(index)));
    }
    for fk in &recreated_foreign_keys {
        actions.push(format!("ADD {}", foreign_key_clause(fk)));
    }
    for check in &recreated_checks {
        actions.push(format!("ADD {}", check_clause(check)));
    }
    for index in recreated_indexes.iter().filter(|i| !i.constraint) {
        out.after.push(statement(
            object.clone(),
            StatementKind::Alter,
            create_index(&to.name, index),
            Classification::IN_PLACE,
        ));
    }

    if let Some((_, Some(new))) = table_diff.primary_key {
        actions.push(format!("ADD {}", primary_key_clause(new)));
        class = class.and(Classification::IN_PLACE);
    }
    for index in table_diff.added_indexes.iter().filter(|i| i.constraint) {
        actions.push(format!("ADD {}", unique_constraint_clause(index)));
        class = class.and(Classification::IN_PLACE);
    }
    for fk in &table_diff.added_foreign_keys {
        let sql = format!("ADD {}", foreign_key_clause(fk));
        if split.add_after.contains(&fk.name) {
            out.after.push(statement(
                object.clone(),
                StatementKind::Alter,
                format!("{alter} {sql}"),
                Classification::IN_PLACE,
            ));
        } else {
            actions.push(sql);
            class = class.and(Classification::IN_PLACE);
        }
    }
    for check in &table_diff.added_checks {
        actions.push(format!("ADD {}", check_clause(check)));
        class = class.and(Classification::IN_PLACE);
    }
    if !actions.is_empty() {
        let mut main = statement(
            object.clone(),
            StatementKind::Alter,
            format!("{alter} {}", actions.join(", ")),
            class,
        );
        main.can_drop_data = can_drop_data;
        main.removed_foreign_keys = removed
            .iter()
            .filter(|n| !split.drop_before.contains(*n))
            .cloned()
            .collect();
        out.main.push(main);
    }
    for index in table_diff.added_indexes.iter().filter(|i| !i.constraint) {
        out.main.push(statement(
            object.clone(),
            StatementKind::Alter,
            create_index(&to.name, index),
            Classification::IN_PLACE,
        ));
    }
    if from.options.comment != to.options.comment {
        let sql = comment_on_table(&to.name, to.options.comment.as_deref());
        out.main.push(statement(
            object.clone(),
            StatementKind::Alter,
            sql,
            Classification::INSTANT,
        ));
    }
    for column in &to.columns {
        let old_comment = from
            .columns
            .iter()
            .find(|c| c.name == column.name)
            .and_then(|c| c.comment.as_deref());
        let readd = readded.iter().any(|c| c.name == column.name);
        let is_new = !from.columns.iter().any(|c| c.name == column.name);
        if (old_comment != column.comment.as_deref() && !is_new)
            || ((is_new || readd) && column.comment.is_some())
        {
            let sql = comment_on_column(&to.name, &column.name, column.comment.as_deref());
            out.main.push(statement(
                object.clone(),
                StatementKind::Alter,
                sql,
                Classification::INSTANT,
            ));
        }
    }
    out
}

/// `ALTER COLUMN` subcommands for one changed column; returns their classification.
fn alter_column(change: &ColumnChange, actions: &mut Vec<String>) -> Classification {
    let (old, new) = (change.from, change.to);
    let name = ident(&new.name);
    let mut class = Classification::INSTANT;
    let retyped = old.data_type != new.data_type || old.collation != new.collation;
    if retyped {
        if old.default.is_some() {
            // The old default may not cast to the new type; it is set again below.
            actions.push(format!("ALTER COLUMN {name} DROP DEFAULT"));
        }
        let rendered = new.data_type.render(Dialect::Postgres);
        let collate = new
            .collation
            .as_deref()
            .map(|c| format!(" COLLATE {}", quote_collation(c)))
            .unwrap_or_default();
        // Convert directly within a type family, through text otherwise (every type has
        // a text form): values that do not convert fail the statement, like MariaDB's
        // strict mode, instead of being lost.
        let via = if same_family(&old.data_type, &new.data_type) {
            ""
        } else {
            "::text"
        };
        // A generated column is recomputed from its expression and takes no USING.
        let using = if new.generated.is_some() {
            String::new()
        } else {
            format!(" USING {name}{via}::{rendered}")
        };
        actions.push(format!(
            "ALTER COLUMN {name} TYPE {rendered}{collate}{using}"
        ));
        let coercible =
            old.collation == new.collation && binary_coercible(&old.data_type, &new.data_type);
        class = class.and(if coercible {
            Classification::INSTANT
        } else {
            Classification::REBUILD
        });
    }
    if old.default != new.default || (retyped && new.default.is_some()) {
        actions.push(match &new.default {
            Some(default) => format!(
                "ALTER COLUMN {name} SET DEFAULT {}",
                default_value(default, &new.data_type)
            ),
            None => format!("ALTER COLUMN {name} DROP DEFAULT"),
        });
    }
    if old.nullable != new.nullable && !(new.identity.is_some() && old.identity.is_none()) {
        if new.nullable {
            actions.push(format!("ALTER COLUMN {name} DROP NOT NULL"));
        } else {
            actions.push(format!("ALTER COLUMN {name} SET NOT NULL"));
            class = class.and(Classification::IN_PLACE);
        }
    }
    match (old.identity, new.identity) {
        (None, Some(identity)) => {
            if old.nullable {
                actions.push(format!("ALTER COLUMN {name} SET NOT NULL"));
            }
            actions.push(format!(
                "ALTER COLUMN {name} ADD{}",
                identity_clause(identity)
            ));
            class = class.and(Classification::IN_PLACE);
        }
        (Some(_), None) => actions.push(format!("ALTER COLUMN {name} DROP IDENTITY")),
        (Some(a), Some(b)) if a != b => {
            let kind = match b {
                crate::Identity::Always => "ALWAYS",
                crate::Identity::ByDefault => "BY DEFAULT",
            };
            actions.push(format!("ALTER COLUMN {name} SET GENERATED {kind}"));
        }
        _ => {}
    }
    class
}

fn classify_add(column: &Column) -> Classification {
    let volatile = match &column.default {
        Some(ColumnDefault::Expression(expr)) => {
            let sql = expr.sql.to_ascii_lowercase();
            [
                "random(",
                "nextval(",
                "clock_timestamp(",
                "gen_random_uuid(",
                "uuid_generate",
                "timeofday(",
            ]
            .iter()
            .any(|f| sql.contains(f))
        }
        _ => false,
    };
    if volatile || column.identity.is_some() || column.generated.is_some() {
        Classification::REBUILD
    } else {
        Classification::INSTANT
    }
}

/// Types with direct casts between them.
fn same_family(from: &DataType, to: &DataType) -> bool {
    fn family(data_type: &DataType) -> u8 {
        match data_type {
            DataType::Integer { .. }
            | DataType::Decimal { .. }
            | DataType::Float { .. }
            | DataType::Double { .. } => 1,
            DataType::Char(_) | DataType::Varchar(_) | DataType::Text(_) => 2,
            DataType::Date | DataType::DateTime { .. } | DataType::Timestamp { .. } => 3,
            DataType::Json | DataType::Jsonb => 4,
            _ => 0,
        }
    }
    let family_from = family(from);
    family_from != 0 && family_from == family(to)
}

/// Type changes PostgreSQL makes without rewriting the table.
fn binary_coercible(from: &DataType, to: &DataType) -> bool {
    match (from, to) {
        (DataType::Varchar(Some(a)), DataType::Varchar(Some(b))) => b >= a,
        (DataType::Varchar(_), DataType::Varchar(None) | DataType::Text(_)) => true,
        (
            DataType::Decimal {
                precision: Some(pa),
                scale: sa,
                ..
            },
            DataType::Decimal {
                precision: pb,
                scale: sb,
                ..
            },
        ) => pb.is_none() || (sa == sb && pb.is_some_and(|pb| pb >= *pa)),
        _ => false,
    }
}

/// PostgreSQL appends columns: report a target order it cannot reach.
fn check_column_order(
    table_diff: &TableDiff,
    readded: &[&Column],
    unsupported: &mut Vec<UnsupportedChange>,
) {
    let kept: Vec<&str> = table_diff
        .from
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| {
            table_diff.to.columns.iter().any(|c| c.name == *n)
                && !readded.iter().any(|c| c.name == *n)
        })
        .collect();
    let reachable: Vec<&str> = kept
        .iter()
        .copied()
        .chain(
            table_diff
                .to
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .filter(|n| !kept.contains(n)),
        )
        .collect();
    let wanted: Vec<&str> = table_diff
        .to
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if reachable != wanted {
        unsupported.push(UnsupportedChange {
            object: ObjectRef::table(&table_diff.to.name),
            reason: format!(
                "postgresql cannot reorder columns: the table will have ({}) instead of ({})",
                reachable.join(", "),
                wanted.join(", ")
            ),
        });
    }
}

pub(super) use types::{types_and_sequences_after, types_and_sequences_before};
