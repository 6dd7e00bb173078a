//! Things the platform does not run: other engines, unknown or foreign types, too many
//! columns, checks it cannot keep, partitioning it cannot move, charsets outside the
//! allowed set, repeated enum values.

use std::collections::HashSet;

use super::{LintCode, LintError, LintOptions};
use crate::model::{
    ColumnDefault, DataType, ForeignKeyAction, IndexTarget, PartitioningKind, Schema, Table,
};
use crate::sql_text::{Token, tokenize};
use crate::{Dialect, view_refs};

/// Functions whose value changes between evaluations: not allowed in CHECK.
const NONDETERMINISTIC: &[&str] = &[
    "rand",
    "random",
    "uuid",
    "uuid_short",
    "now",
    "current_timestamp",
    "sysdate",
    "curdate",
    "curtime",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "unix_timestamp",
    "utc_timestamp",
    "connection_id",
    "current_user",
    "user",
    "session_user",
    "last_insert_id",
    "nextval",
    "clock_timestamp",
    "gen_random_uuid",
    "database",
];

pub(super) fn check(schema: &Schema, options: &LintOptions, errors: &mut Vec<LintError>) {
    for table in schema.tables.values() {
        engine_and_size(table, options, errors);
        types(schema, table, options, errors);
        checks(table, options, errors);
        partitioning(table, options, errors);
        charsets(table, options, errors);
    }
    for enum_type in schema.enum_types.values() {
        if let Some(value) = first_duplicate(&enum_type.values, false) {
            let mut error = LintError::new(
                LintCode::DuplicateEnumValue,
                options,
                &enum_type.name,
                format!("enum type {} repeats value '{value}'", enum_type.name),
            );
            error.enum_value = value;
            errors.push(error);
        }
    }
    for view in schema.views.values() {
        let uses_json_table = view_refs::analyze(&view.definition.sql, options.dialect)
            .is_some_and(|r| r.uses_json_table)
            || view
                .definition
                .sql
                .to_ascii_lowercase()
                .contains("json_table(");
        if uses_json_table {
            errors.push(LintError::new(
                LintCode::UnsupportedFeature,
                options,
                &view.name,
                format!("view {} uses json_table", view.name),
            ));
        }
    }
}

fn unsupported(options: &LintOptions, table: &Table, description: String) -> LintError {
    LintError::new(
        LintCode::UnsupportedFeature,
        options,
        &table.name,
        description,
    )
}

fn engine_and_size(table: &Table, options: &LintOptions, errors: &mut Vec<LintError>) {
    if let Some(engine) = &table.options.engine
        && options.dialect == Dialect::Mariadb
        && engine != "InnoDB"
    {
        let mut error = unsupported(
            options,
            table,
            format!(
                "table {} uses engine {engine}, only InnoDB is supported",
                table.name
            ),
        );
        error.engine_name = engine.clone();
        errors.push(error);
    }
    if table.columns.len() > options.max_columns {
        errors.push(unsupported(
            options,
            table,
            format!(
                "table {} has {} columns, more than {}",
                table.name,
                table.columns.len(),
                options.max_columns
            ),
        ));
    }
}

fn types(schema: &Schema, table: &Table, options: &LintOptions, errors: &mut Vec<LintError>) {
    let table_ci = table
        .options
        .collation
        .as_deref()
        .is_some_and(|c| c.ends_with("_ci"));
    for column in &table.columns {
        let problem = match (&column.data_type, options.dialect) {
            (DataType::Other(text), _) => {
                Some(format!("column {} has unknown type {text}", column.name))
            }
            (DataType::Array(_) | DataType::Named(_) | DataType::Interval, Dialect::Mariadb) => {
                Some(format!(
                    "column {} has type {} which mariadb does not support",
                    column.name,
                    column.data_type.render(Dialect::Postgres)
                ))
            }
            (DataType::Named(name), Dialect::Postgres) if !schema.enum_types.contains_key(name) => {
                Some(format!("column {} has unknown type {name}", column.name))
            }
            (
                DataType::Enum(_)
                | DataType::Set(_)
                | DataType::Year
                | DataType::Geometry(_)
                | DataType::Inet6
                | DataType::Binary(_)
                | DataType::Varbinary(_),
                Dialect::Postgres,
            ) => Some(format!(
                "column {} has type {} which postgresql does not support",
                column.name,
                column.data_type.render(Dialect::Mariadb)
            )),
            _ => None,
        };
        if let Some(description) = problem {
            errors.push(unsupported(options, table, description).column(&column.name));
        }
        if let DataType::Enum(values) | DataType::Set(values) = &column.data_type {
            let ci = column
                .collation
                .as_deref()
                .map(|c| c.ends_with("_ci"))
                .unwrap_or(table_ci);
            if let Some(value) = first_duplicate(values, ci) {
                let mut error = LintError::new(
                    LintCode::DuplicateEnumValue,
                    options,
                    &table.name,
                    format!("column {} repeats value '{value}'", column.name),
                )
                .column(&column.name);
                error.enum_value = value;
                errors.push(error);
            }
        }
        if column.auto_increment && options.dialect == Dialect::Mariadb {
            let keyed = table.primary_key.iter().map(|k| &k.parts).chain(table.indexes.iter().map(|i| &i.parts)).any(|parts| {
                matches!(parts.first().map(|p| &p.target), Some(IndexTarget::Column(c)) if *c == column.name)
            });
            if !keyed {
                let mut error = unsupported(
                    options,
                    table,
                    format!(
                        "auto_increment column {} is not the first column of a key",
                        column.name
                    ),
                );
                error.auto_increment_column_names = vec![column.name.clone()];
                errors.push(error.column(&column.name));
            }
        }
        if !column.nullable && column.default == Some(ColumnDefault::Null) {
            errors.push(
                unsupported(
                    options,
                    table,
                    format!("column {} is not null but defaults to null", column.name),
                )
                .column(&column.name),
            );
        }
    }
    if options.dialect == Dialect::Mariadb {
        for index in &table.indexes {
            if index
                .parts
                .iter()
                .any(|p| matches!(p.target, IndexTarget::Expression(_)))
            {
                errors.push(unsupported(
                    options,
                    table,
                    format!(
                        "index {} uses an expression, which mariadb does not support",
                        index.name
                    ),
                ));
            }
        }
    }
}

fn checks(table: &Table, options: &LintOptions, errors: &mut Vec<LintError>) {
    // MariaDB refuses checks on columns that a cascading foreign key may rewrite.
    let cascading: HashSet<String> = table
        .foreign_keys
        .iter()
        .filter(|fk| {
            [fk.on_delete, fk.on_update].iter().any(|a| {
                matches!(
                    a,
                    ForeignKeyAction::Cascade
                        | ForeignKeyAction::SetNull
                        | ForeignKeyAction::SetDefault
                )
            })
        })
        .flat_map(|fk| fk.columns.iter().map(|c| c.to_ascii_lowercase()))
        .collect();
    for check in &table.checks {
        let lexemes = tokenize(&check.expr.sql, options.dialect);
        let mut reason = None;
        for (position, lexeme) in lexemes.iter().enumerate() {
            let next_is_call = matches!(lexemes.get(position + 1).map(|l| &l.token), Some(Token::Punct(p)) if p == "(");
            match &lexeme.token {
                Token::Word(word) if word.eq_ignore_ascii_case("select") => {
                    reason = Some("uses a subquery".to_owned());
                }
                Token::Word(word)
                    if NONDETERMINISTIC.contains(&word.to_ascii_lowercase().as_str())
                        && (next_is_call
                            || matches!(
                                word.to_ascii_lowercase().as_str(),
                                "current_timestamp"
                                    | "current_date"
                                    | "current_time"
                                    | "current_user"
                                    | "localtimestamp"
                                    | "localtime"
                            )) =>
                {
                    reason = Some(format!(
                        "uses non-deterministic function {}",
                        word.to_ascii_lowercase()
                    ));
                }
                Token::Word(word) | Token::QuotedIdentifier(word)
                    if options.dialect == Dialect::Mariadb
                        && !next_is_call
                        && cascading.contains(&word.to_ascii_lowercase()) =>
                {
                    reason = Some(format!("uses column {word} of a cascading foreign key"));
                }
                _ => {}
            }
        }
        if let Some(reason) = reason {
            let mut error = unsupported(
                options,
                table,
                format!("check constraint {} {reason}", check.name),
            );
            error.check_constraint_name = check.name.clone();
            errors.push(error);
        }
    }
}

fn partitioning(table: &Table, options: &LintOptions, errors: &mut Vec<LintError>) {
    let Some(partitioning) = &table.partitioning else {
        return;
    };
    let supported = matches!(
        partitioning.kind,
        PartitioningKind::Range
            | PartitioningKind::RangeColumns
            | PartitioningKind::Hash
            | PartitioningKind::LinearHash
            | PartitioningKind::Key
            | PartitioningKind::LinearKey
    );
    if !supported || partitioning.subpartitioning.is_some() {
        let what = if supported {
            format!(
                "subpartitioning by {}",
                partitioning.subpartitioning.as_deref().unwrap_or("")
            )
        } else {
            format!("partitioning by {}", partitioning.kind.sql())
        };
        let mut error = LintError::new(
            LintCode::UnsupportedPartitioningFeature,
            options,
            &table.name,
            format!(
                "table {} uses {what}; only range, hash and key partitioning are supported",
                table.name
            ),
        );
        error.partitioning_type = partitioning.kind.sql().to_owned();
        error.partition_name = partitioning
            .partitions
            .first()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        errors.push(error);
    }
}

fn charsets(table: &Table, options: &LintOptions, errors: &mut Vec<LintError>) {
    if options.dialect != Dialect::Mariadb {
        return;
    }
    let allowed = |charset: &str| {
        options
            .allowed_charsets
            .iter()
            .any(|a| a.eq_ignore_ascii_case(charset))
    };
    if let Some(charset) = &table.options.charset
        && !allowed(charset)
    {
        let mut error = LintError::new(
            LintCode::InvalidCharset,
            options,
            &table.name,
            format!(
                "table {} uses charset {charset}; allowed: {}",
                table.name,
                options.allowed_charsets.join(", ")
            ),
        );
        error.charset_name = charset.clone();
        errors.push(error);
    }
    for column in &table.columns {
        let Some(charset) = &column.charset else {
            continue;
        };
        if !allowed(charset) {
            let mut error = LintError::new(
                LintCode::InvalidCharset,
                options,
                &table.name,
                format!(
                    "column {} uses charset {charset}; allowed: {}",
                    column.name,
                    options.allowed_charsets.join(", ")
                ),
            )
            .column(&column.name);
            error.charset_name = charset.clone();
            errors.push(error);
        }
    }
}

/// The first value repeated in `values` (case-insensitively when `ci`).
fn first_duplicate(values: &[String], ci: bool) -> Option<String> {
    let mut seen = HashSet::new();
    values
        .iter()
        .find(|value| {
            !seen.insert(if ci {
                value.to_lowercase()
            } else {
                (*value).clone()
            })
        })
        .cloned()
}
