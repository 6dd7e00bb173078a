//! References between objects: the foreign key graph and what views read.

use std::collections::{BTreeMap, BTreeSet};

use super::{LintCode, LintError, LintOptions};
use crate::graph::cycles;
use crate::model::{DataType, ForeignKey, IndexKind, IndexTarget, Schema, Table};
use crate::{Dialect, view_refs};

pub(super) fn check(schema: &Schema, options: &LintOptions, errors: &mut Vec<LintError>) {
    foreign_keys(schema, options, errors);
    views(schema, options, errors);
}

fn fk_error(
    code: LintCode,
    options: &LintOptions,
    table: &Table,
    fk: &ForeignKey,
    why: String,
) -> LintError {
    let mut error = LintError::new(code, options, &table.name, why);
    error.foreign_key_column_names = fk.columns.clone();
    error
}

fn foreign_keys(schema: &Schema, options: &LintOptions, errors: &mut Vec<LintError>) {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for table in schema.tables.values() {
        graph.entry(table.name.clone()).or_default();
        for fk in &table.foreign_keys {
            if !options.foreign_keys_allowed {
                errors.push(fk_error(
                    LintCode::ForeignKeysDisallowed,
                    options,
                    table,
                    fk,
                    format!(
                        "foreign key {} is not allowed: this database disallows foreign keys",
                        fk.name
                    ),
                ));
            }
            if schema.views.contains_key(&fk.referenced_table) {
                errors.push(fk_error(
                    LintCode::ForeignKeysReferencedView,
                    options,
                    table,
                    fk,
                    format!(
                        "foreign key {} references view {}",
                        fk.name, fk.referenced_table
                    ),
                ));
                continue;
            }
            let Some(parent) = schema.tables.get(&fk.referenced_table) else {
                errors.push(fk_error(
                    LintCode::ForeignKeysNonexistentTable,
                    options,
                    table,
                    fk,
                    format!(
                        "foreign key {} references nonexistent table {}",
                        fk.name, fk.referenced_table
                    ),
                ));
                continue;
            };
            graph
                .entry(table.name.clone())
                .or_default()
                .insert(parent.name.clone());
            if let Some(problem) = unresolved(table, parent, fk, options.dialect) {
                errors.push(fk_error(
                    LintCode::ForeignKeysUnresolved,
                    options,
                    table,
                    fk,
                    problem,
                ));
            }
        }
    }
    for cycle in cycles(&graph) {
        for name in &cycle {
            errors.push(LintError::new(
                LintCode::ForeignKeysCircularDependency,
                options,
                name,
                format!(
                    "foreign keys form a cycle between tables {}",
                    cycle.join(", ")
                ),
            ));
        }
    }
}

/// Why a foreign key cannot be resolved against its parent, if it cannot.
fn unresolved(child: &Table, parent: &Table, fk: &ForeignKey, dialect: Dialect) -> Option<String> {
    if fk.columns.is_empty() || fk.columns.len() != fk.referenced_columns.len() {
        return Some(format!(
            "foreign key {} has mismatched column counts",
            fk.name
        ));
    }
    for (column, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
        let Some(child_column) = child.column(column) else {
            return Some(format!(
                "foreign key {} uses nonexistent column {column}",
                fk.name
            ));
        };
        let Some(parent_column) = parent.column(referenced) else {
            return Some(format!(
                "foreign key {} references nonexistent column {}.{referenced}",
                fk.name, parent.name
            ));
        };
        if !compatible(&child_column.data_type, &parent_column.data_type, dialect) {
            return Some(format!(
                "foreign key {} column {column} ({}) does not match {}.{referenced} ({})",
                fk.name,
                child_column.data_type.render(dialect),
                parent.name,
                parent_column.data_type.render(dialect)
            ));
        }
    }
    // The parent needs a key on the referenced columns: leading columns of any index on
    // InnoDB, exactly a primary or unique key on PostgreSQL.
    let matches = |parts: &[crate::IndexPart], exact: bool| {
        (!exact || parts.len() == fk.referenced_columns.len())
            && parts.len() >= fk.referenced_columns.len()
            && fk.referenced_columns.iter().zip(parts).all(|(column, part)| {
                part.prefix.is_none()
                    && matches!(&part.target, IndexTarget::Column(name) if name.eq_ignore_ascii_case(column))
            })
    };
    let exact = dialect == Dialect::Postgres;
    let keyed = parent
        .primary_key
        .as_ref()
        .is_some_and(|pk| matches(&pk.parts, exact))
        || parent.indexes.iter().any(|index| {
            let usable = match dialect {
                Dialect::Mariadb => matches!(index.kind, IndexKind::Plain | IndexKind::Unique),
                Dialect::Postgres => index.kind == IndexKind::Unique && index.predicate.is_none(),
            };
            usable && matches(&index.parts, exact)
        });
    (!keyed).then(|| {
        format!(
            "foreign key {} references {}({}) which no key of {} covers",
            fk.name,
            parent.name,
            fk.referenced_columns.join(", "),
            parent.name
        )
    })
}

/// Same type family and width: what both servers require of key columns.
fn compatible(child: &DataType, parent: &DataType, dialect: Dialect) -> bool {
    match (child, parent) {
        (DataType::Varchar(_), DataType::Varchar(_)) | (DataType::Char(_), DataType::Char(_)) => {
            true
        }
        (DataType::Varbinary(_), DataType::Varbinary(_)) => true,
        (DataType::Decimal { .. }, DataType::Decimal { .. }) => {
            dialect == Dialect::Postgres || child == parent
        }
        (DataType::Integer { .. }, DataType::Integer { .. }) if dialect == Dialect::Postgres => {
            true
        }
        _ => child == parent,
    }
}

fn views(schema: &Schema, options: &LintOptions, errors: &mut Vec<LintError>) {
    for view in schema.views.values() {
        let Some(references) = view_refs::analyze(&view.definition.sql, options.dialect) else {
            continue;
        };
        for relation in &references.relations {
            if !schema.has_relation(relation) {
                errors.push(LintError::new(
                    LintCode::InvalidTableReferencedInView,
                    options,
                    &view.name,
                    format!("view {} references nonexistent table {relation}", view.name),
                ));
            }
        }
        let columns_of = |relation: &str| -> Option<Vec<String>> {
            if let Some(table) = schema.tables.get(relation) {
                return Some(table.columns.iter().map(|c| c.name.clone()).collect());
            }
            let view = schema.views.get(relation)?;
            view_refs::analyze(&view.definition.sql, options.dialect)?.output_columns
        };
        let has =
            |columns: &[String], name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
        for (relation, column) in &references.columns {
            let missing = match relation {
                Some(relation) => {
                    schema.has_relation(relation)
                        && columns_of(relation).is_some_and(|cols| !has(&cols, column))
                }
                None => {
                    let known: Option<Vec<Vec<String>>> =
                        references.relations.iter().map(|r| columns_of(r)).collect();
                    !references.has_opaque_sources
                        && !references.select_aliases.contains(column)
                        && known
                            .is_some_and(|sources| !sources.iter().any(|cols| has(cols, column)))
                }
            };
            if missing {
                let qualified = match relation {
                    Some(relation) => format!("{relation}.{column}"),
                    None => column.clone(),
                };
                errors.push(
                    LintError::new(
                        LintCode::InvalidColumnReferencedInView,
                        options,
                        &view.name,
                        format!(
                            "view {} references nonexistent column {qualified}",
                            view.name
                        ),
                    )
                    .column(column),
                );
            }
        }
    }
}
