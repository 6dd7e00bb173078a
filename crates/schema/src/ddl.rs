//! Canonical DDL: the statements that create a schema from nothing.
//!
//! Output is deterministic and dependency-ordered: enum types and sequences first, then
//! tables so that a foreign key's target exists before it (foreign keys inside a cycle
//! are added by `ALTER TABLE` once all tables exist), then views after what they read.
//! Running the statements on an empty database and introspecting it gives back
//! `schema.normalize(dialect)`.

pub(crate) mod mariadb;
pub(crate) mod postgres;

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::topological_order;
use crate::model::{ForeignKey, Schema, Table, View};
use crate::sql_text::{Token, tokenize};
use crate::{Dialect, view_refs};

/// Statements that create `schema` (normalized first) in an empty database.
pub fn create_statements(schema: &Schema, dialect: Dialect) -> Vec<String> {
    let schema = schema.normalize(dialect);
    let mut statements = Vec::new();
    if dialect == Dialect::Postgres {
        statements.extend(schema.enum_types.values().map(postgres::create_enum_type));
        statements.extend(schema.sequences.values().map(postgres::create_sequence));
    }
    let order = topological_order(&table_dependencies(&schema, schema.tables.keys()));
    let mut created: BTreeSet<&str> = BTreeSet::new();
    let mut deferred: Vec<(&Table, &ForeignKey)> = Vec::new();
    for name in &order {
        let Some(table) = schema.tables.get(name) else {
            continue;
        };
        created.insert(&table.name);
        // A key to a table not created yet (a cycle) is added once all exist.
        let ready = |fk: &ForeignKey| {
            created.contains(fk.referenced_table.as_str())
                || !schema.tables.contains_key(&fk.referenced_table)
        };
        deferred.extend(
            table
                .foreign_keys
                .iter()
                .filter(|fk| !ready(fk))
                .map(|fk| (table, fk)),
        );
        statements.extend(create_table(table, dialect, ready));
    }
    for (table, foreign_key) in deferred {
        statements.push(add_foreign_key(&table.name, foreign_key, dialect));
    }
    for name in view_order(&schema, dialect, schema.views.keys()) {
        if let Some(view) = schema.views.get(&name) {
            statements.push(create_view(view, dialect, false));
        }
    }
    if dialect == Dialect::Postgres {
        statements.extend(
            schema
                .sequences
                .values()
                .filter(|sequence| sequence.owned_by.is_some())
                .map(postgres::sequence_owned_by),
        );
    }
    statements
}

/// The statements creating one (normalized) table; foreign keys failing
/// `include_foreign_key` are left out.
pub(crate) fn create_table(
    table: &Table,
    dialect: Dialect,
    include_foreign_key: impl Fn(&ForeignKey) -> bool,
) -> Vec<String> {
    match dialect {
        Dialect::Mariadb => vec![mariadb::create_table(table, include_foreign_key)],
        Dialect::Postgres => postgres::create_table(table, include_foreign_key),
    }
}

pub(crate) fn add_foreign_key(table: &str, foreign_key: &ForeignKey, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => format!(
            "ALTER TABLE {} ADD {}",
            mariadb::ident(table),
            mariadb::foreign_key_clause(foreign_key)
        ),
        Dialect::Postgres => format!(
            "ALTER TABLE {} ADD {}",
            postgres::ident(table),
            postgres::foreign_key_clause(foreign_key)
        ),
    }
}

/// The statement creating one view (`CREATE OR REPLACE` when `or_replace`).
pub fn create_view(view: &View, dialect: Dialect, or_replace: bool) -> String {
    match dialect {
        Dialect::Mariadb => mariadb::create_view(view, or_replace),
        Dialect::Postgres => postgres::create_view(view, or_replace),
    }
}

pub(crate) fn drop_view(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => format!("DROP VIEW {}", mariadb::ident(name)),
        Dialect::Postgres => format!("DROP VIEW {}", postgres::ident(name)),
    }
}

pub(crate) fn drop_table(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => format!("DROP TABLE {}", mariadb::ident(name)),
        Dialect::Postgres => format!("DROP TABLE {}", postgres::ident(name)),
    }
}

/// For each of `tables`, the tables its foreign keys reference.
pub(crate) fn table_dependencies<'a>(
    schema: &Schema,
    tables: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, BTreeSet<String>> {
    tables
        .filter_map(|name| schema.tables.get(name))
        .map(|table| {
            let references = table
                .foreign_keys
                .iter()
                .map(|fk| fk.referenced_table.clone())
                .collect();
            (table.name.clone(), references)
        })
        .collect()
}

/// The relations (tables and views of `schema`) a view reads. Falls back to the
/// relation names its text mentions when the body does not parse.
pub(crate) fn view_relations(schema: &Schema, view: &View, dialect: Dialect) -> BTreeSet<String> {
    if let Some(references) = view_refs::analyze(&view.definition.sql, dialect) {
        return references.relations;
    }
    tokenize(&view.definition.sql, dialect)
        .into_iter()
        .filter_map(|lexeme| match lexeme.token {
            Token::Word(word) | Token::QuotedIdentifier(word) => Some(word),
            _ => None,
        })
        .filter(|word| schema.has_relation(word))
        .collect()
}

/// `views` ordered so that each comes after the views it reads.
pub(crate) fn view_order<'a>(
    schema: &Schema,
    dialect: Dialect,
    views: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let dependencies: BTreeMap<String, BTreeSet<String>> = views
        .filter_map(|name| schema.views.get(name))
        .map(|view| {
            let reads = view_relations(schema, view, dialect)
                .into_iter()
                .filter(|relation| schema.views.contains_key(relation))
                .collect();
            (view.name.clone(), reads)
        })
        .collect();
    topological_order(&dependencies)
}
