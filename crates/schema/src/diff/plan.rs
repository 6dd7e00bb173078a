//! Ordering a diff's statements so the server accepts every one of them.
//!
//! Phases, in order:
//! 1. drop views that go away (and, on PostgreSQL, views to re-create because they
//!    change or read a table that changes: it refuses to alter columns a view uses);
//! 2. PostgreSQL enum types and sequences that tables may use;
//! 3. foreign key drops that must run first (same-name re-adds on MariaDB, keys whose
//!    columns change type, keys in a cycle of dependent `ALTER`s);
//! 4. new tables, referenced ones first;
//! 5. one `ALTER TABLE` per changed table, ordered so that a table adding a key to
//!    another runs after it and a table dropping a key to another runs before it;
//! 6. foreign keys added last (those split off in phase 3, and new tables' keys to
//!    tables that are altered or created later);
//! 7. dropped tables, referencing ones first (keys inside a dropped cycle removed first);
//! 8. PostgreSQL sequences and types that go away, and `OWNED BY` changes;
//! 9. new and changed views, after what they read.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::table::TableDiff;
use super::{Diff, DiffStatement, ObjectKind, ObjectRef, StatementKind, TableStatements};
use crate::ddl::{self, view_order, view_relations};
use crate::graph::{cycles, topological_order};
use crate::model::{ForeignKey, Schema};
use crate::{Dialect, ServerVersion};

/// Which foreign keys of a table leave its main statement.
#[derive(Debug, Default)]
pub(crate) struct SplitForeignKeys {
    /// Dropped in phase 3.
    pub(crate) drop_before: HashSet<String>,
    /// Added in phase 6.
    pub(crate) add_after: HashSet<String>,
}

pub(super) fn plan(from: &Schema, to: &Schema, dialect: Dialect, version: ServerVersion) -> Diff {
    // MariaDB: renamed columns are compared under their new names (see `renames.rs`).
    let (renamed_from, renames) = match dialect {
        Dialect::Mariadb => super::renames::reconcile(from, to),
        Dialect::Postgres => (from.clone(), BTreeMap::new()),
    };
    let from = &renamed_from;
    let mut diff = Diff::default();
    let new_tables: Vec<&String> = to
        .tables
        .keys()
        .filter(|n| !from.tables.contains_key(*n))
        .collect();
    let dropped_tables: Vec<&String> = from
        .tables
        .keys()
        .filter(|n| !to.tables.contains_key(*n))
        .collect();

    // Foreign keys whose columns (on either side) change type or collation must be
    // dropped and re-added around the change: both servers refuse it otherwise.
    let retyped = retyped_columns(from, to);
    let mut table_diffs: Vec<TableDiff> = Vec::new();
    let mut bounced: BTreeMap<String, Vec<&ForeignKey>> = BTreeMap::new();
    for (name, new) in &to.tables {
        let Some(old) = from.tables.get(name) else {
            continue;
        };
        let bounce: Vec<&ForeignKey> = new
            .foreign_keys
            .iter()
            .filter(|fk| old.foreign_keys.contains(fk))
            .filter(|fk| {
                fk.columns
                    .iter()
                    .any(|c| retyped.contains(&(name.clone(), c.clone())))
                    || fk
                        .referenced_columns
                        .iter()
                        .any(|c| retyped.contains(&(fk.referenced_table.clone(), c.clone())))
            })
            .collect();
        let renamed = renames.get(name).cloned().unwrap_or_default();
        if old != new || !bounce.is_empty() || !renamed.is_empty() {
            let mut table_diff = TableDiff::compute(old, new);
            table_diff.renamed_columns = renamed;
            for fk in &bounce {
                table_diff.dropped_foreign_keys.push(fk);
                table_diff.added_foreign_keys.push(fk);
            }
            if !bounce.is_empty() {
                bounced.insert(name.clone(), bounce);
            }
            table_diffs.push(table_diff);
        }
    }
    let altered: BTreeSet<String> = table_diffs.iter().map(|d| d.to.name.clone()).collect();

    // Split foreign key operations where one statement per table cannot be ordered.
    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for table_diff in &table_diffs {
        let name = &table_diff.to.name;
        dependencies.entry(name.clone()).or_default();
        for fk in &table_diff.added_foreign_keys {
            if altered.contains(&fk.referenced_table) && fk.referenced_table != *name {
                dependencies
                    .entry(name.clone())
                    .or_default()
                    .insert(fk.referenced_table.clone());
            }
        }
        for fk in &table_diff.dropped_foreign_keys {
            if altered.contains(&fk.referenced_table) && fk.referenced_table != *name {
                dependencies
                    .entry(fk.referenced_table.clone())
                    .or_default()
                    .insert(name.clone());
            }
        }
    }
    let in_cycle: BTreeSet<String> = cycles(&dependencies).into_iter().flatten().collect();
    let mut splits: BTreeMap<String, SplitForeignKeys> = BTreeMap::new();
    for table_diff in &table_diffs {
        let name = &table_diff.to.name;
        let split = splits.entry(name.clone()).or_default();
        let bounce = bounced.get(name);
        for fk in &table_diff.dropped_foreign_keys {
            let re_added = table_diff
                .added_foreign_keys
                .iter()
                .any(|a| a.name == fk.name);
            let is_bounced = bounce.is_some_and(|b| b.iter().any(|x| x.name == fk.name));
            if in_cycle.contains(name) || is_bounced || (re_added && dialect == Dialect::Mariadb) {
                split.drop_before.insert(fk.name.clone());
            }
        }
        // A key to the table itself may need the key this very statement adds.
        let keys_change = table_diff.primary_key.is_some() || !table_diff.added_indexes.is_empty();
        for fk in &table_diff.added_foreign_keys {
            let is_bounced = bounce.is_some_and(|b| b.iter().any(|x| x.name == fk.name));
            let self_reference = fk.referenced_table == *name && keys_change;
            if in_cycle.contains(name) || is_bounced || self_reference {
                split.add_after.insert(fk.name.clone());
            }
        }
    }
    if !in_cycle.is_empty() {
        for name in &in_cycle {
            dependencies.insert(name.clone(), BTreeSet::new());
        }
        for deps in dependencies.values_mut() {
            deps.retain(|dep| !in_cycle.contains(dep));
        }
    }
    let alter_order = topological_order(&dependencies);

    let mut per_table: BTreeMap<String, TableStatements> = BTreeMap::new();
    for table_diff in &table_diffs {
        let split = &splits[&table_diff.to.name];
        let statements = match dialect {
            Dialect::Mariadb => super::mariadb::alter_table(table_diff, split, version),
            Dialect::Postgres => {
                super::postgres::alter_table(table_diff, split, &mut diff.unsupported)
            }
        };
        per_table.insert(table_diff.to.name.clone(), statements);
    }

    // Phase 1: views.
    // PostgreSQL refuses to drop or retype a column a view reads: such tables take their
    // views down and back up.
    let view_breaking: BTreeSet<String> = table_diffs
        .iter()
        .filter(|d| {
            !d.dropped_columns.is_empty()
                || d.changed_columns.iter().any(|c| {
                    c.from.data_type != c.to.data_type
                        || c.from.collation != c.to.collation
                        || c.from.generated != c.to.generated
                })
        })
        .map(|d| d.to.name.clone())
        .collect();
    let (views_to_drop, views_to_create) =
        view_changes(from, to, dialect, &view_breaking, &dropped_tables);
    let mut drop_order = view_order(from, dialect, views_to_drop.iter());
    drop_order.reverse();
    for name in drop_order {
        diff.statements.push(simple(
            ObjectRef::view(&name),
            StatementKind::Drop,
            ddl::drop_view(&name, dialect),
        ));
    }
    // Phase 2.
    if dialect == Dialect::Postgres {
        super::postgres::types_and_sequences_before(from, to, &mut diff);
    }
    // Phase 3. A table about to be dropped still references tables that may lose the
    // referenced key in their ALTER: its keys go first.
    for name in &dropped_tables {
        let Some(table) = from.tables.get(*name) else {
            continue;
        };
        for fk in table
            .foreign_keys
            .iter()
            .filter(|fk| altered.contains(&fk.referenced_table))
        {
            let sql = super::drop_foreign_key_sql(name, &fk.name, dialect);
            let mut statement = simple(ObjectRef::table(*name), StatementKind::Alter, sql);
            statement.removed_foreign_keys = vec![fk.name.clone()];
            diff.statements.push(statement);
        }
    }
    for name in &alter_order {
        if let Some(statements) = per_table.get_mut(name) {
            diff.statements.append(&mut statements.before);
        }
    }
    // Phase 4.
    let mut deferred: Vec<DiffStatement> = Vec::new();
    let creation_order =
        topological_order(&ddl::table_dependencies(to, new_tables.iter().copied()));
    let mut created: BTreeSet<&str> = BTreeSet::new();
    for name in &creation_order {
        let Some(table) = to.tables.get(name) else {
            continue;
        };
        created.insert(name);
        let ready = |fk: &ForeignKey| {
            fk.referenced_table == *name
                || created.contains(fk.referenced_table.as_str())
                || (from.tables.contains_key(&fk.referenced_table)
                    && !altered.contains(&fk.referenced_table))
        };
        for fk in table.foreign_keys.iter().filter(|fk| !ready(fk)) {
            let mut statement = simple(
                ObjectRef::table(name),
                StatementKind::Alter,
                ddl::add_foreign_key(name, fk, dialect),
            );
            statement.instant_eligible = false;
            deferred.push(statement);
        }
        for sql in ddl::create_table(table, dialect, ready) {
            diff.statements
                .push(simple(ObjectRef::table(name), StatementKind::Create, sql));
        }
    }
    // Phase 5 and 6.
    for name in &alter_order {
        if let Some(statements) = per_table.get_mut(name) {
            diff.statements.append(&mut statements.main);
        }
    }
    for name in &alter_order {
        if let Some(statements) = per_table.get_mut(name) {
            diff.statements.append(&mut statements.after);
        }
    }
    diff.statements.append(&mut deferred);
    // Phase 7.
    drop_tables(from, &dropped_tables, dialect, &mut diff);
    // Phase 8.
    if dialect == Dialect::Postgres {
        super::postgres::types_and_sequences_after(from, to, &mut diff);
    }
    // Phase 9.
    for name in view_order(to, dialect, views_to_create.iter()) {
        let Some(view) = to.views.get(&name) else {
            continue;
        };
        let replace = dialect == Dialect::Mariadb && from.views.contains_key(&name);
        let kind = if replace {
            StatementKind::Alter
        } else {
            StatementKind::Create
        };
        diff.statements.push(simple(
            ObjectRef::view(&name),
            kind,
            ddl::create_view(view, dialect, replace),
        ));
    }
    diff
}

/// `(table, column)` pairs whose type or collation changes.
fn retyped_columns(from: &Schema, to: &Schema) -> HashSet<(String, String)> {
    let mut retyped = HashSet::new();
    for (name, new) in &to.tables {
        let Some(old) = from.tables.get(name) else {
            continue;
        };
        if old == new {
            continue;
        }
        for column in &new.columns {
            if let Some(previous) = old.columns.iter().find(|c| c.name == column.name)
                && (previous.data_type != column.data_type
                    || previous.collation != column.collation
                    || previous.charset != column.charset)
            {
                retyped.insert((name.clone(), column.name.clone()));
            }
        }
    }
    retyped
}

/// Views to drop first and views to create last.
fn view_changes(
    from: &Schema,
    to: &Schema,
    dialect: Dialect,
    altered: &BTreeSet<String>,
    dropped_tables: &[&String],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let changed: BTreeSet<String> = to
        .views
        .iter()
        .filter(|(name, view)| from.views.get(*name).is_some_and(|old| old != *view))
        .map(|(name, _)| name.clone())
        .collect();
    let removed: BTreeSet<String> = from
        .views
        .keys()
        .filter(|n| !to.views.contains_key(*n))
        .cloned()
        .collect();
    let added: BTreeSet<String> = to
        .views
        .keys()
        .filter(|n| !from.views.contains_key(*n))
        .cloned()
        .collect();
    match dialect {
        Dialect::Mariadb => (removed, added.union(&changed).cloned().collect()),
        Dialect::Postgres => {
            // Everything that reads a changing relation, transitively, is rebuilt.
            let mut rebuild: BTreeSet<String> = changed.clone();
            let touched = |relation: &String, rebuild: &BTreeSet<String>| {
                altered.contains(relation)
                    || dropped_tables.contains(&relation)
                    || rebuild.contains(relation)
                    || removed.contains(relation)
            };
            loop {
                let before = rebuild.len();
                for (name, view) in &from.views {
                    if view_relations(from, view, dialect)
                        .iter()
                        .any(|r| touched(r, &rebuild))
                    {
                        rebuild.insert(name.clone());
                    }
                }
                if rebuild.len() == before {
                    break;
                }
            }
            let drops: BTreeSet<String> = removed.union(&rebuild).cloned().collect();
            let creates = added
                .union(
                    &rebuild
                        .into_iter()
                        .filter(|n| to.views.contains_key(n))
                        .collect(),
                )
                .cloned()
                .collect();
            (drops, creates)
        }
    }
}

fn drop_tables(from: &Schema, dropped: &[&String], dialect: Dialect, diff: &mut Diff) {
    // Referencing tables go first: reverse of the creation order.
    let mut order = topological_order(&ddl::table_dependencies(from, dropped.iter().copied()));
    order.reverse();
    let position: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    // Keys of a later-dropped table into an earlier-dropped one (a cycle) go first.
    for name in &order {
        let Some(table) = from.tables.get(name) else {
            continue;
        };
        for fk in &table.foreign_keys {
            let target = position.get(fk.referenced_table.as_str());
            if target.is_some_and(|t| *t < position[name.as_str()]) {
                let sql = super::drop_foreign_key_sql(name, &fk.name, dialect);
                let mut statement = simple(ObjectRef::table(name), StatementKind::Alter, sql);
                statement.removed_foreign_keys = vec![fk.name.clone()];
                diff.statements.push(statement);
            }
        }
    }
    for name in &order {
        let Some(table) = from.tables.get(name) else {
            continue;
        };
        let mut statement = simple(
            ObjectRef::table(name),
            StatementKind::Drop,
            ddl::drop_table(name, dialect),
        );
        statement.can_drop_data = true;
        statement.removed_foreign_keys = table
            .foreign_keys
            .iter()
            .map(|fk| fk.name.clone())
            .collect();
        diff.statements.push(statement);
    }
}

/// A statement with default flags: creates and drops are instant, nothing rebuilt.
pub(super) fn simple(object: ObjectRef, kind: StatementKind, sql: String) -> DiffStatement {
    let instant = !matches!(object.kind, ObjectKind::Table) || kind != StatementKind::Alter;
    DiffStatement {
        instant_eligible: instant,
        ..DiffStatement::new(object, kind, sql)
    }
}
