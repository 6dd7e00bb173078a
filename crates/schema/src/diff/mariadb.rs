//! MariaDB `ALTER TABLE`: every change of a table in one statement, classified against
//! MariaDB 10.11's online DDL rules.
//!
//! Instant (`ALGORITHM=INSTANT`): adding a column anywhere (10.4+) unless it is stored
//! generated, auto-increment, has a non-literal default or the table has a FULLTEXT
//! index; dropping a non-indexed column; reordering columns; changing or dropping a
//! default, a comment, `ON UPDATE`; NOT NULL → NULL; appending ENUM/SET values within
//! the same storage size; extending a VARCHAR within the same length-byte class; dropping
//! a CHECK; table comment and default charset. `NOCOPY` (not instant, no rebuild): index
//! add/drop, foreign key drop. Everything else copies the table (type changes,
//! NULL → NOT NULL, primary key, foreign key add under `foreign_key_checks=1`, CHECK add,
//! engine, row format, partitioning).

use super::plan::SplitForeignKeys;
use super::table::{TableDiff, column_placements};
use super::{Classification, DiffStatement, ObjectRef, StatementKind, TableStatements, statement};
use crate::ServerVersion;
use crate::ddl::mariadb::{
    check_clause, column_definition, default_value, foreign_key_clause, ident, index_clause,
    partition_clause, primary_key_clause,
};
use crate::model::{Column, DataType, IndexKind, IndexTarget, Table, max_bytes_per_char};
use crate::sql_text::quote_string;

pub(super) fn alter_table(
    table_diff: &TableDiff,
    split: &SplitForeignKeys,
    version: ServerVersion,
) -> TableStatements {
    let (from, to) = (table_diff.from, table_diff.to);
    let object = ObjectRef::table(&to.name);
    let mut out = TableStatements::default();
    let removed = table_diff.removed_foreign_key_names();
    let alter = format!("ALTER TABLE {}", ident(&to.name));
    let mut clauses: Vec<String> = Vec::new();
    let mut class = Classification::INSTANT;
    let modern = version >= ServerVersion::new(10, 4, 0);
    let has_fulltext = from.indexes.iter().any(|i| i.kind == IndexKind::Fulltext);
    let compressed = from.options.row_format.as_deref() == Some("COMPRESSED");

    for fk in &table_diff.dropped_foreign_keys {
        let sql = format!("DROP FOREIGN KEY {}", ident(&fk.name));
        if split.drop_before.contains(&fk.name) {
            let mut before = statement(
                object.clone(),
                StatementKind::Alter,
                format!("{alter} {sql}"),
                Classification::IN_PLACE,
            );
            if removed.contains(&fk.name) {
                before.removed_foreign_keys = vec![fk.name.clone()];
            }
            out.before.push(before);
        } else {
            clauses.push(sql);
            class = class.and(Classification::IN_PLACE);
        }
    }
    for check in &table_diff.dropped_checks {
        clauses.push(format!("DROP CONSTRAINT {}", ident(&check.name)));
    }
    if let Some((old, _)) = table_diff.primary_key
        && old.is_some()
    {
        clauses.push("DROP PRIMARY KEY".to_owned());
        class = class.and(Classification::REBUILD);
    }
    for index in &table_diff.dropped_indexes {
        clauses.push(format!("DROP INDEX {}", ident(&index.name)));
        class = class.and(Classification::IN_PLACE);
    }
    // MariaDB cannot turn a column into or out of a generated one, nor switch VIRTUAL and
    // STORED: such columns are dropped and added again.
    let storage = |c: &Column| c.generated.as_ref().map(|g| g.stored);
    let readded: Vec<&Column> = table_diff
        .changed_columns
        .iter()
        .filter(|change| storage(change.from) != storage(change.to))
        .map(|change| change.from)
        .collect();
    let mut can_drop_data = table_diff.can_drop_data();
    for column in &readded {
        clauses.push(format!("DROP COLUMN {}", ident(&column.name)));
        can_drop_data |= column.generated.is_none();
        class = class.and(Classification::REBUILD);
    }
    let remaining_from;
    let from = if readded.is_empty() {
        from
    } else {
        let mut table = from.clone();
        table
            .columns
            .retain(|c| !readded.iter().any(|r| r.name == c.name));
        remaining_from = table;
        &remaining_from
    };
    for column in &table_diff.dropped_columns {
        clauses.push(format!("DROP COLUMN {}", ident(&column.name)));
        let in_primary_key = from.primary_key.as_ref().is_some_and(|pk| {
            pk.parts
                .iter()
                .any(|p| matches!(&p.target, IndexTarget::Column(c) if *c == column.name))
        });
        let indexed = from
            .indexes
            .iter()
            .any(|i| i.column_names().any(|c| c == column.name));
        class = class.and(if in_primary_key || has_fulltext || compressed || !modern {
            Classification::REBUILD
        } else if indexed {
            Classification::IN_PLACE
        } else {
            Classification::INSTANT
        });
    }

    let placements = column_placements(from, to);
    for column in &to.columns {
        let placement = placements.iter().find(|(name, _)| *name == column.name);
        let position = match placement {
            Some((_, Some(after))) => format!(" AFTER {}", ident(after)),
            Some((_, None)) => " FIRST".to_owned(),
            None => String::new(),
        };
        let Some(old) = from.columns.iter().find(|c| c.name == column.name) else {
            clauses.push(format!(
                "ADD COLUMN {}{position}",
                column_definition(column)
            ));
            let index = to
                .columns
                .iter()
                .position(|c| c.name == column.name)
                .unwrap_or(0);
            let at_end = to.columns[index..]
                .iter()
                .all(|c| !from.columns.iter().any(|old| old.name == c.name));
            class = class.and(classify_add(
                column,
                has_fulltext || compressed,
                modern || at_end,
            ));
            continue;
        };
        let (old_effective, new_effective) = (effective(old, from), effective(column, to));
        let renamed_from = table_diff
            .renamed_columns
            .iter()
            .find(|(_, new)| *new == column.name)
            .map(|(old, _)| old.as_str());
        if old_effective == new_effective && placement.is_none() && renamed_from.is_none() {
            continue;
        }
        // SET DEFAULT would also drop an ON UPDATE clause: such columns are modified.
        let default_only = placement.is_none()
            && renamed_from.is_none()
            && column.on_update.is_none()
            && old.on_update.is_none()
            && {
                let mut probe = old_effective.clone();
                probe.default = new_effective.default.clone();
                probe == new_effective
            };
        if default_only {
            clauses.push(match &column.default {
                Some(default) => format!(
                    "ALTER COLUMN {} SET DEFAULT {}",
                    ident(&column.name),
                    default_value(default, &column.data_type)
                ),
                None => format!("ALTER COLUMN {} DROP DEFAULT", ident(&column.name)),
            });
            continue;
        }
        // Spell the collation out when the table default changes under the column.
        let definition =
            if column.collation.is_none() && old_effective.collation != new_effective.collation {
                column_definition(&new_effective)
            } else {
                column_definition(column)
            };
        clauses.push(match renamed_from {
            Some(old_name) => format!("CHANGE COLUMN {} {definition}{position}", ident(old_name)),
            None => format!("MODIFY COLUMN {definition}{position}"),
        });
        class = class.and(classify_modify(&old_effective, &new_effective, modern));
    }

    if let Some((_, Some(new))) = table_diff.primary_key {
        clauses.push(format!("ADD {}", primary_key_clause(new)));
        class = class.and(Classification::REBUILD);
    }
    for index in &table_diff.added_indexes {
        clauses.push(format!("ADD {}", index_clause(index)));
        let first_fulltext = index.kind == IndexKind::Fulltext && !has_fulltext;
        class = class.and(if first_fulltext {
            Classification::REBUILD
        } else {
            Classification::IN_PLACE
        });
    }
    for fk in &table_diff.added_foreign_keys {
        let sql = format!("ADD {}", foreign_key_clause(fk));
        if split.add_after.contains(&fk.name) {
            out.after.push(statement(
                object.clone(),
                StatementKind::Alter,
                format!("{alter} {sql}"),
                Classification::REBUILD,
            ));
        } else {
            clauses.push(sql);
            class = class.and(Classification::REBUILD);
        }
    }
    for check in &table_diff.added_checks {
        clauses.push(format!("ADD {}", check_clause(check)));
        class = class.and(Classification::REBUILD);
    }
    let mut engine_statement: Option<(bool, String)> = None;
    if table_diff.options_changed {
        let (old, new) = (&from.options, &to.options);
        if old.engine != new.engine {
            // Its own statement: InnoDB refuses to switch engines while the same ALTER
            // drops (or adds) foreign keys, so keys go before leaving InnoDB and after
            // entering it.
            let engine = new.engine.as_deref().unwrap_or("InnoDB");
            engine_statement = Some((engine == "InnoDB", format!("{alter} ENGINE={engine}")));
        }
        if (old.collation != new.collation || old.charset != new.charset)
            && let Some(collation) = &new.collation
        {
            let charset = new
                .charset
                .clone()
                .unwrap_or_else(|| crate::model::charset_of_collation(collation));
            clauses.push(format!("DEFAULT CHARSET={charset} COLLATE={collation}"));
        }
        if old.row_format != new.row_format {
            clauses.push(format!(
                "ROW_FORMAT={}",
                new.row_format.as_deref().unwrap_or("DEFAULT")
            ));
            class = class.and(Classification::REBUILD);
        }
        if old.comment != new.comment {
            clauses.push(format!(
                "COMMENT={}",
                quote_string(
                    new.comment.as_deref().unwrap_or(""),
                    crate::Dialect::Mariadb
                )
            ));
        }
    }
    if !clauses.is_empty() {
        let mut main: DiffStatement = statement(
            object.clone(),
            StatementKind::Alter,
            format!("{alter} {}", clauses.join(", ")),
            class,
        );
        main.can_drop_data = can_drop_data;
        main.renamed_columns = table_diff.renamed_columns.clone();
        main.removed_foreign_keys = removed
            .iter()
            .filter(|name| !split.drop_before.contains(*name))
            .cloned()
            .collect();
        out.main.push(main);
    }
    if let Some((entering_innodb, sql)) = engine_statement {
        let engine = statement(
            object.clone(),
            StatementKind::Alter,
            sql,
            Classification::REBUILD,
        );
        if entering_innodb {
            out.main.insert(0, engine);
        } else {
            out.main.push(engine);
        }
    }
    if table_diff.partitioning_changed {
        // Partitioning goes last when added (keys must suit it first) and first when
        // removed (new unique keys need not include the old partitioning columns).
        match &to.partitioning {
            Some(partitioning) => {
                let sql = format!("{alter} {}", partition_clause(partitioning));
                out.main.push(statement(
                    object,
                    StatementKind::Alter,
                    sql,
                    Classification::REBUILD,
                ));
            }
            None => {
                let sql = format!("{alter} REMOVE PARTITIONING");
                out.main.insert(
                    0,
                    statement(object, StatementKind::Alter, sql, Classification::REBUILD),
                );
            }
        }
    }
    out
}

/// The column with its collation spelled out as the table resolves it, so columns
/// compare by what the server stores.
fn effective(column: &Column, table: &Table) -> Column {
    let mut column = column.clone();
    if column.data_type.has_collation() && column.collation.is_none() {
        column.collation = table.options.collation.clone();
        column.charset = table.options.charset.clone();
    }
    column
}

fn classify_add(column: &Column, table_blocks_instant: bool, position_ok: bool) -> Classification {
    let stored = column.generated.as_ref().is_some_and(|g| g.stored);
    let expression_default = matches!(column.default, Some(crate::ColumnDefault::Expression(_)));
    if stored || column.auto_increment || expression_default || table_blocks_instant || !position_ok
    {
        Classification::REBUILD
    } else {
        Classification::INSTANT
    }
}

fn classify_modify(from: &Column, to: &Column, modern: bool) -> Classification {
    let mut class = Classification::INSTANT;
    if from.data_type != to.data_type {
        let charset = to.charset.as_deref().unwrap_or("utf8mb4");
        class = class.and(
            if instant_type_change(&from.data_type, &to.data_type, charset) {
                Classification::INSTANT
            } else {
                Classification::REBUILD
            },
        );
    }
    if from.collation != to.collation || from.charset != to.charset {
        class = class.and(Classification::REBUILD);
    }
    if from.nullable && !to.nullable {
        class = class.and(Classification::REBUILD);
    }
    if !from.nullable && to.nullable && !modern {
        class = class.and(Classification::REBUILD);
    }
    if from.generated != to.generated || from.auto_increment != to.auto_increment {
        class = class.and(Classification::REBUILD);
    }
    class
}

/// ENUM/SET values appended within the same storage size, or a VARCHAR extended within
/// the same length-byte class (both ≤ 255 bytes or both > 255 bytes).
fn instant_type_change(from: &DataType, to: &DataType, charset: &str) -> bool {
    match (from, to) {
        (DataType::Enum(a), DataType::Enum(b)) => {
            b.starts_with(a) && (a.len() <= 255) == (b.len() <= 255)
        }
        (DataType::Set(a), DataType::Set(b)) => {
            b.starts_with(a) && a.len().div_ceil(8) == b.len().div_ceil(8)
        }
        (DataType::Varchar(Some(a)), DataType::Varchar(Some(b))) => {
            let bytes = max_bytes_per_char(charset);
            b >= a && (a * bytes <= 255) == (b * bytes <= 255)
        }
        (DataType::Varbinary(a), DataType::Varbinary(b)) => b >= a && (*a <= 255) == (*b <= 255),
        _ => false,
    }
}
