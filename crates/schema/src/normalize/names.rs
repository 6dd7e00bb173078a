//! Implicit names: what each server calls a key or constraint created without a name,
//! and the index InnoDB creates behind a foreign key that has none.

use std::collections::HashSet;

use crate::Dialect;
use crate::model::{Index, IndexKind, IndexTarget, Table};

/// PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1).
const POSTGRES_MAX_NAME: usize = 63;

pub(super) fn assign_implicit_names(table: &mut Table, dialect: Dialect) {
    match dialect {
        Dialect::Mariadb => mariadb_names(table),
        Dialect::Postgres => postgres_names(table),
    }
}

fn mariadb_names(table: &mut Table) {
    if let Some(primary_key) = &mut table.primary_key {
        primary_key.name = "PRIMARY".to_owned();
    }
    let mut taken: HashSet<String> = table
        .indexes
        .iter()
        .map(|index| index.name.to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    taken.insert("primary".to_owned());
    for index in &mut table.indexes {
        if !index.name.is_empty() {
            continue;
        }
        // MariaDB names a key after its first column, then `_2`, `_3`...
        let base = index
            .column_names()
            .next()
            .map(str::to_owned)
            .unwrap_or_else(|| "key".to_owned());
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.contains(&name.to_ascii_lowercase()) {
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        taken.insert(name.to_ascii_lowercase());
        index.name = name;
    }
    let prefix = format!("{}_ibfk_", table.name);
    let mut next_number = table
        .foreign_keys
        .iter()
        .filter_map(|fk| fk.name.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    for foreign_key in &mut table.foreign_keys {
        if foreign_key.name.is_empty() {
            foreign_key.name = format!("{prefix}{next_number}");
            next_number += 1;
        }
    }
    let mut check_names: HashSet<String> = table
        .checks
        .iter()
        .map(|check| check.name.to_ascii_lowercase())
        .collect();
    let mut next_check = 1;
    for check in &mut table.checks {
        if check.name.is_empty() {
            while check_names.contains(&format!("constraint_{next_check}")) {
                next_check += 1;
            }
            check.name = format!("CONSTRAINT_{next_check}");
            check_names.insert(check.name.to_ascii_lowercase());
        }
    }
}

fn postgres_names(table: &mut Table) {
    let table_name = table.name.clone();
    if let Some(primary_key) = &mut table.primary_key
        && primary_key.name.is_empty()
    {
        primary_key.name = postgres_object_name(&table_name, "", "pkey");
    }
    let mut taken: HashSet<String> = table
        .indexes
        .iter()
        .map(|index| index.name.clone())
        .chain(table.primary_key.iter().map(|key| key.name.clone()))
        .collect();
    for index in &mut table.indexes {
        if !index.name.is_empty() {
            continue;
        }
        let columns: Vec<String> = index
            .parts
            .iter()
            .map(|part| match &part.target {
                IndexTarget::Column(name) => name.clone(),
                IndexTarget::Expression(expr) => expression_label(&expr.sql),
            })
            .collect();
        let label = if index.constraint { "key" } else { "idx" };
        let name = unique_name(&table_name, &columns.join("_"), label, &taken);
        taken.insert(name.clone());
        index.name = name;
    }
    let mut constraint_names: HashSet<String> = table
        .foreign_keys
        .iter()
        .map(|fk| fk.name.clone())
        .chain(table.checks.iter().map(|check| check.name.clone()))
        .collect();
    for foreign_key in &mut table.foreign_keys {
        if foreign_key.name.is_empty() {
            let name = unique_name(
                &table_name,
                &foreign_key.columns.join("_"),
                "fkey",
                &constraint_names,
            );
            constraint_names.insert(name.clone());
            foreign_key.name = name;
        }
    }
    for check in &mut table.checks {
        if check.name.is_empty() {
            let name = unique_name(&table_name, "", "check", &constraint_names);
            constraint_names.insert(name.clone());
            check.name = name;
        }
    }
}

/// PostgreSQL's `FigureColname` for an index expression: the outermost function name.
fn expression_label(sql: &str) -> String {
    let word: String = sql
        .trim_start_matches('(')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        "expr".to_owned()
    } else {
        word.to_ascii_lowercase()
    }
}

fn unique_name(table: &str, columns: &str, label: &str, taken: &HashSet<String>) -> String {
    let mut name = postgres_object_name(table, columns, label);
    let mut suffix = 1;
    while taken.contains(&name) {
        name = postgres_object_name(table, columns, &format!("{label}{suffix}"));
        suffix += 1;
    }
    name
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, truncating the longer of the two
/// names until the whole fits in 63 bytes.
pub(crate) fn postgres_object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = label.len() + 1 + if name2.is_empty() { 0 } else { 1 };
    let mut length1 = name1.len();
    let mut length2 = name2.len();
    while length1 + length2 + overhead > POSTGRES_MAX_NAME {
        if length1 > length2 {
            length1 -= 1;
        } else {
            length2 -= 1;
        }
    }
    let cut = |name: &str, mut length: usize| {
        while !name.is_char_boundary(length) {
            length -= 1;
        }
        name[..length].to_owned()
    };
    let mut out = cut(name1, length1);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&cut(name2, length2));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// InnoDB needs an index whose leading columns are a foreign key's columns, and creates
/// one named after the constraint when none exists. Spelling it out keeps the model equal
/// to what the server reports.
pub(super) fn add_implicit_foreign_key_indexes(table: &mut Table) {
    let mut additions = Vec::new();
    for foreign_key in &table.foreign_keys {
        let leading_columns_match = |parts: &[crate::IndexPart]| {
            foreign_key.columns.len() <= parts.len()
                && foreign_key.columns.iter().zip(parts).all(|(column, part)| {
                    part.prefix.is_none()
                        && matches!(&part.target, IndexTarget::Column(name) if name.eq_ignore_ascii_case(column))
                })
        };
        let covered = table
            .primary_key
            .as_ref()
            .is_some_and(|key| leading_columns_match(&key.parts))
            || table
                .indexes
                .iter()
                .chain(additions.iter())
                .any(|index: &Index| {
                    matches!(index.kind, IndexKind::Plain | IndexKind::Unique)
                        && leading_columns_match(&index.parts)
                });
        let name_taken = table
            .indexes
            .iter()
            .any(|index| index.name.eq_ignore_ascii_case(&foreign_key.name));
        if !covered && !name_taken && !foreign_key.columns.is_empty() {
            let columns: Vec<&str> = foreign_key.columns.iter().map(String::as_str).collect();
            additions.push(Index::on(
                foreign_key.name.clone(),
                IndexKind::Plain,
                &columns,
            ));
        }
    }
    table.indexes.extend(additions);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_names_truncate_like_the_server() {
        assert_eq!(postgres_object_name("t", "a_b", "key"), "t_a_b_key");
        assert_eq!(postgres_object_name("t", "", "pkey"), "t_pkey");
        let long = "x".repeat(70);
        let name = postgres_object_name(&long, "col", "idx");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_col_idx"));
    }
}
