//! Column renames on MariaDB, found before the diff so that a renamed column keeps its
//! values instead of being dropped and added empty.
//!
//! Two kinds:
//! - **a change of letter case** (`c2` → `C2`): MariaDB compares column names without case,
//!   so it is the same column, whatever else changes in its definition;
//! - **a rename**: a column that goes away and one that appears in its place — same
//!   definition but for the name, and the same preceding column (among the columns both
//!   versions keep) — the heuristic Vitess's schema diff offers. Anything looser (another
//!   type, another position) stays a drop and an add, and the diff says it can drop data.
//!
//! The result is `from` with the renamed columns (and the keys that name them) already
//! called by their new names, so the rest of the diff compares like with like, and the list
//! of renames per table, from which the `ALTER` writes `CHANGE COLUMN old new …`.

use std::collections::BTreeMap;

use crate::model::{Column, IndexPart, IndexTarget, Schema, Table};

/// `(old name, new name)` pairs of one table.
pub type ColumnRenames = Vec<(String, String)>;

/// `from` with its columns renamed as in `to`, and the renames of each table.
pub(crate) fn reconcile(from: &Schema, to: &Schema) -> (Schema, BTreeMap<String, ColumnRenames>) {
    let mut renamed = from.clone();
    let mut all = BTreeMap::new();
    for (name, old) in &from.tables {
        let Some(new) = to.tables.get(name) else {
            continue;
        };
        let renames = table_renames(old, new);
        if renames.is_empty() {
            continue;
        }
        if let Some(table) = renamed.tables.get_mut(name) {
            apply(table, &renames);
        }
        all.insert(name.clone(), renames);
    }
    (renamed, all)
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn table_renames(old: &Table, new: &Table) -> ColumnRenames {
    let mut renames: ColumnRenames = Vec::new();
    // Letter case only.
    for column in &old.columns {
        if new.columns.iter().any(|c| c.name == column.name) {
            continue;
        }
        if let Some(target) = new
            .columns
            .iter()
            .find(|c| same_name(&c.name, &column.name))
        {
            renames.push((column.name.clone(), target.name.clone()));
        }
    }
    // Whether `name` of `old` survives in `new` (by name or by a rename found so far).
    let kept_in_new = |renames: &ColumnRenames, name: &str| -> Option<String> {
        renames
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.clone())
            .or_else(|| {
                new.columns
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| c.name.clone())
            })
    };
    let gone: Vec<&Column> = old
        .columns
        .iter()
        .filter(|c| kept_in_new(&renames, &c.name).is_none())
        .collect();
    for column in gone {
        let taken = |renames: &ColumnRenames, name: &str| {
            old.columns.iter().any(|c| same_name(&c.name, name))
                || renames.iter().any(|(_, to)| to == name)
        };
        let before_old = preceding(&old.columns, &column.name)
            .map(|p| kept_in_new(&renames, p))
            .unwrap_or(Some(String::new()));
        let candidate = new.columns.iter().find(|candidate| {
            !taken(&renames, &candidate.name)
                && same_definition(column, candidate)
                && before_old.as_deref()
                    == Some(preceding(&new.columns, &candidate.name).unwrap_or(""))
        });
        if let Some(candidate) = candidate {
            renames.push((column.name.clone(), candidate.name.clone()));
        }
    }
    renames
}

/// The name of the column before `name` in `columns`.
fn preceding<'a>(columns: &'a [Column], name: &str) -> Option<&'a str> {
    let index = columns.iter().position(|c| c.name == name)?;
    index.checked_sub(1).map(|i| columns[i].name.as_str())
}

fn same_definition(a: &Column, b: &Column) -> bool {
    let mut renamed = a.clone();
    renamed.name = b.name.clone();
    renamed == *b
}

/// Renames the columns of `table`, and their mentions in its keys.
fn apply(table: &mut Table, renames: &ColumnRenames) {
    let rename = |name: &mut String| {
        if let Some((_, to)) = renames.iter().find(|(from, _)| from == name) {
            *name = to.clone();
        }
    };
    for column in &mut table.columns {
        rename(&mut column.name);
    }
    let parts = |parts: &mut Vec<IndexPart>| {
        for part in parts {
            if let IndexTarget::Column(name) = &mut part.target {
                rename(name);
            }
        }
    };
    if let Some(primary_key) = &mut table.primary_key {
        parts(&mut primary_key.parts);
    }
    for index in &mut table.indexes {
        parts(&mut index.parts);
    }
    for foreign_key in &mut table.foreign_keys {
        for column in &mut foreign_key.columns {
            rename(column);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DataType, Index, IndexKind, PrimaryKey};

    fn table(columns: &[(&str, DataType)]) -> Table {
        let mut table = Table::new("t");
        table.columns = columns
            .iter()
            .map(|(name, data_type)| Column::new(*name, data_type.clone()))
            .collect();
        table.primary_key = Some(PrimaryKey::on(&["id"]));
        table
    }

    #[test]
    fn a_case_change_is_a_rename() {
        let old = table(&[("id", DataType::INT), ("c2", DataType::INT)]);
        let new = table(&[("id", DataType::INT), ("C2", DataType::BIGINT)]);
        assert_eq!(table_renames(&old, &new), [("c2".into(), "C2".into())]);
    }

    #[test]
    fn a_column_in_the_same_place_with_the_same_definition_is_renamed() {
        let old = table(&[
            ("id", DataType::INT),
            ("c2", DataType::Varchar(Some(10))),
            ("z", DataType::INT),
        ]);
        let new = table(&[
            ("id", DataType::INT),
            ("c3", DataType::Varchar(Some(10))),
            ("z", DataType::INT),
        ]);
        assert_eq!(table_renames(&old, &new), [("c2".into(), "c3".into())]);
        // Another type or another place: a drop and an add.
        let retyped = table(&[
            ("id", DataType::INT),
            ("c3", DataType::Varchar(Some(20))),
            ("z", DataType::INT),
        ]);
        assert!(table_renames(&old, &retyped).is_empty());
        let moved = table(&[
            ("id", DataType::INT),
            ("z", DataType::INT),
            ("c3", DataType::Varchar(Some(10))),
        ]);
        assert!(table_renames(&old, &moved).is_empty());
    }

    #[test]
    fn renames_reach_the_keys() {
        let mut old = table(&[("id", DataType::INT), ("c2", DataType::INT)]);
        old.indexes.push(Index::on("k", IndexKind::Plain, &["c2"]));
        let mut new = table(&[("id", DataType::INT), ("c3", DataType::INT)]);
        new.indexes.push(Index::on("k", IndexKind::Plain, &["c3"]));
        let mut from = Schema::new();
        from.add_table(old);
        let mut to = Schema::new();
        to.add_table(new.clone());
        let (renamed, renames) = reconcile(&from, &to);
        assert_eq!(renamed.tables["t"], new);
        assert_eq!(renames["t"], [("c2".to_string(), "c3".to_string())]);
    }
}
