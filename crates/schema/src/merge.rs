//! Three-way merge (semantics §8.1 step 2): do a branch's changes still apply to a base
//! that moved on since the branch forked?
//!
//! Every object (table, view, sequence, type) and, inside a table, every column, key,
//! constraint and option is merged on its own: taken from whichever side changed it,
//! adopted when both sides made the identical change, and a [`Conflict`] naming the
//! object when they made different ones. Index and constraint order carry no meaning
//! (normalization sorts them). Column order follows the current base, with the branch's
//! new columns placed after the column that precedes them on the branch.
//!
//! The merged schema must also be valid: a reference that only the combination of both
//! sides breaks (a foreign key to a table the base dropped, a view over a column the
//! base removed) is a conflict on the referencing object.

use std::collections::{BTreeMap, BTreeSet};

use crate::Dialect;
use crate::diff::{ObjectKind, ObjectRef};
use crate::lint::{LintCode, LintOptions, lint};
use crate::model::{Column, Schema, Table};

/// Two sides changed the same thing differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The object both sides changed.
    pub object: ObjectRef,
    /// What collided, in words.
    pub reason: String,
}

/// Applies the branch's changes (`base_at_fork` → `head`) to `current_base`. Returns the
/// merged schema (normalized), or every conflict found.
pub fn three_way(
    base_at_fork: &Schema,
    head: &Schema,
    current_base: &Schema,
    dialect: Dialect,
) -> Result<Schema, Vec<Conflict>> {
    let fork = base_at_fork.normalize(dialect);
    let head = head.normalize(dialect);
    let current = current_base.normalize(dialect);
    let mut conflicts = Vec::new();
    let mut merged = Schema::new();

    let schema_ref = ObjectRef {
        kind: ObjectKind::Table,
        name: String::new(),
    };
    merged.charset = merge_value(
        &fork.charset,
        &head.charset,
        &current.charset,
        &schema_ref,
        "database charset",
        &mut conflicts,
    );
    merged.collation = merge_value(
        &fork.collation,
        &head.collation,
        &current.collation,
        &schema_ref,
        "database collation",
        &mut conflicts,
    );

    for name in keys(&fork.tables, &head.tables, &current.tables) {
        let object = ObjectRef::table(&name);
        let (f, h, c) = (
            fork.tables.get(&name),
            head.tables.get(&name),
            current.tables.get(&name),
        );
        let table = match (f, h, c) {
            (Some(f), Some(h), Some(c)) if h != f && c != f && h != c => {
                merge_table(f, h, c, &mut conflicts)
            }
            _ => merge_object(f, h, c, &object, &mut conflicts),
        };
        if let Some(table) = table {
            merged.tables.insert(name, table);
        }
    }
    for name in keys(&fork.views, &head.views, &current.views) {
        let object = ObjectRef::view(&name);
        if let Some(view) = merge_object(
            fork.views.get(&name),
            head.views.get(&name),
            current.views.get(&name),
            &object,
            &mut conflicts,
        ) {
            merged.views.insert(name, view);
        }
    }
    for name in keys(&fork.sequences, &head.sequences, &current.sequences) {
        let object = ObjectRef {
            kind: ObjectKind::Sequence,
            name: name.clone(),
        };
        if let Some(sequence) = merge_object(
            fork.sequences.get(&name),
            head.sequences.get(&name),
            current.sequences.get(&name),
            &object,
            &mut conflicts,
        ) {
            merged.sequences.insert(name, sequence);
        }
    }
    for name in keys(&fork.enum_types, &head.enum_types, &current.enum_types) {
        let object = ObjectRef {
            kind: ObjectKind::EnumType,
            name: name.clone(),
        };
        if let Some(enum_type) = merge_object(
            fork.enum_types.get(&name),
            head.enum_types.get(&name),
            current.enum_types.get(&name),
            &object,
            &mut conflicts,
        ) {
            merged.enum_types.insert(name, enum_type);
        }
    }
    let merged = merged.normalize(dialect);
    if conflicts.is_empty() {
        conflicts.extend(invalid_combination(&head, &current, &merged, dialect));
    }
    if conflicts.is_empty() {
        Ok(merged)
    } else {
        Err(conflicts)
    }
}

fn keys<T>(
    a: &BTreeMap<String, T>,
    b: &BTreeMap<String, T>,
    c: &BTreeMap<String, T>,
) -> BTreeSet<String> {
    a.keys().chain(b.keys()).chain(c.keys()).cloned().collect()
}

/// Whole-object three-way merge of optional values.
fn merge_object<T: Clone + PartialEq>(
    fork: Option<&T>,
    head: Option<&T>,
    current: Option<&T>,
    object: &ObjectRef,
    conflicts: &mut Vec<Conflict>,
) -> Option<T> {
    if head == fork {
        return current.cloned();
    }
    if current == fork || head == current {
        return head.cloned();
    }
    let what = match (head.is_some(), current.is_some(), fork.is_some()) {
        (true, true, false) => "created differently on the branch and the base",
        (false, true, true) | (true, false, true) => "dropped on one side and changed on the other",
        _ => "changed differently on the branch and the base",
    };
    conflicts.push(Conflict {
        object: object.clone(),
        reason: format!("{} {} {what}", kind_name(object.kind), object.name),
    });
    current.cloned()
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Table => "table",
        ObjectKind::View => "view",
        ObjectKind::Sequence => "sequence",
        ObjectKind::EnumType => "type",
    }
}

fn merge_value<T: Clone + PartialEq>(
    fork: &T,
    head: &T,
    current: &T,
    object: &ObjectRef,
    what: &str,
    conflicts: &mut Vec<Conflict>,
) -> T {
    if head == fork {
        current.clone()
    } else if current == fork || head == current {
        head.clone()
    } else {
        conflicts.push(Conflict {
            object: object.clone(),
            reason: format!(
                "{what} of {} changed differently on the branch and the base",
                object.name
            ),
        });
        current.clone()
    }
}

/// Both sides changed one table: merge it part by part.
fn merge_table(
    fork: &Table,
    head: &Table,
    current: &Table,
    conflicts: &mut Vec<Conflict>,
) -> Option<Table> {
    let object = ObjectRef::table(&head.name);
    let mut merged = current.clone();
    let column_conflicts = conflicts.len();
    let names: BTreeSet<&String> = fork
        .columns
        .iter()
        .chain(&head.columns)
        .chain(&current.columns)
        .map(|c| &c.name)
        .collect();
    let mut columns: BTreeMap<String, Column> = BTreeMap::new();
    for name in names {
        fn find<'t>(table: &'t Table, name: &str) -> Option<&'t Column> {
            table.columns.iter().find(|c| c.name == name)
        }
        let part = ObjectRef::table(format!("{}.{name}", head.name));
        if let Some(column) = merge_object(
            find(fork, name),
            find(head, name),
            find(current, name),
            &part,
            conflicts,
        ) {
            columns.insert(name.clone(), column);
        }
    }
    for conflict in &mut conflicts[column_conflicts..] {
        conflict.reason = conflict.reason.replacen("table ", "column ", 1);
        conflict.object = object.clone();
    }
    merged.columns = merge_column_order(head, current, &mut columns);
    merged.primary_key = merge_value(
        &fork.primary_key,
        &head.primary_key,
        &current.primary_key,
        &object,
        "primary key",
        conflicts,
    );
    merged.indexes = merge_named(
        &fork.indexes,
        &head.indexes,
        &current.indexes,
        |i| &i.name,
        &object,
        "index",
        conflicts,
    );
    merged.foreign_keys = merge_named(
        &fork.foreign_keys,
        &head.foreign_keys,
        &current.foreign_keys,
        |f| &f.name,
        &object,
        "foreign key",
        conflicts,
    );
    merged.checks = merge_named(
        &fork.checks,
        &head.checks,
        &current.checks,
        |c| &c.name,
        &object,
        "check constraint",
        conflicts,
    );
    let (fo, ho, co) = (&fork.options, &head.options, &current.options);
    merged.options.engine = merge_value(
        &fo.engine, &ho.engine, &co.engine, &object, "engine", conflicts,
    );
    let collation = merge_value(
        &(&fo.charset, &fo.collation),
        &(&ho.charset, &ho.collation),
        &(&co.charset, &co.collation),
        &object,
        "charset",
        conflicts,
    );
    (merged.options.charset, merged.options.collation) = (collation.0.clone(), collation.1.clone());
    merged.options.comment = merge_value(
        &fo.comment,
        &ho.comment,
        &co.comment,
        &object,
        "comment",
        conflicts,
    );
    merged.options.row_format = merge_value(
        &fo.row_format,
        &ho.row_format,
        &co.row_format,
        &object,
        "row format",
        conflicts,
    );
    merged.partitioning = merge_value(
        &fork.partitioning,
        &head.partitioning,
        &current.partitioning,
        &object,
        "partitioning",
        conflicts,
    );
    Some(merged)
}

/// Current's order for the columns it has, the branch's new columns after their
/// predecessor on the branch (or at the end).
fn merge_column_order(
    head: &Table,
    current: &Table,
    columns: &mut BTreeMap<String, Column>,
) -> Vec<Column> {
    let mut order: Vec<String> = current
        .columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| columns.contains_key(n))
        .collect();
    for (position, column) in head.columns.iter().enumerate() {
        if order.contains(&column.name) || !columns.contains_key(&column.name) {
            continue;
        }
        let after = head.columns[..position]
            .iter()
            .rev()
            .find_map(|previous| order.iter().position(|n| *n == previous.name));
        match after {
            Some(index) => order.insert(index + 1, column.name.clone()),
            None => order.insert(0, column.name.clone()),
        }
    }
    order
        .iter()
        .filter_map(|name| columns.remove(name))
        .collect()
}

fn merge_named<T: Clone + PartialEq>(
    fork: &[T],
    head: &[T],
    current: &[T],
    name: impl Fn(&T) -> &String,
    object: &ObjectRef,
    what: &str,
    conflicts: &mut Vec<Conflict>,
) -> Vec<T> {
    let names: BTreeSet<&String> = fork.iter().chain(head).chain(current).map(&name).collect();
    let mut out = Vec::new();
    for item_name in names {
        let find = |items: &'_ [T]| items.iter().find(|i| name(i) == item_name).cloned();
        let (f, h, c) = (find(fork), find(head), find(current));
        if h == f {
            out.extend(c);
        } else if c == f || h == c {
            out.extend(h);
        } else {
            conflicts.push(Conflict {
                object: object.clone(),
                reason: format!(
                    "{what} {item_name} of table {} changed differently on the branch and the base",
                    object.name
                ),
            });
            out.extend(c);
        }
    }
    out
}

/// Reference errors the merged schema has that neither side had alone.
fn invalid_combination(
    head: &Schema,
    current: &Schema,
    merged: &Schema,
    dialect: Dialect,
) -> Vec<Conflict> {
    let structural = |code: LintCode| {
        matches!(
            code,
            LintCode::ForeignKeysNonexistentTable
                | LintCode::ForeignKeysReferencedView
                | LintCode::ForeignKeysUnresolved
                | LintCode::ForeignKeysCircularDependency
                | LintCode::InvalidTableReferencedInView
                | LintCode::InvalidColumnReferencedInView
        )
    };
    let options = LintOptions::new(dialect, "");
    let errors_of = |schema: &Schema| -> BTreeSet<(String, String)> {
        lint(schema, &options)
            .into_iter()
            .filter(|e| structural(e.lint_error))
            .map(|e| (e.table_name, e.error_description))
            .collect()
    };
    let known: BTreeSet<(String, String)> = errors_of(head)
        .union(&errors_of(current))
        .cloned()
        .collect();
    errors_of(merged)
        .into_iter()
        .filter(|error| !known.contains(error))
        .map(|(table, description)| {
            let kind = if merged.views.contains_key(&table) {
                ObjectKind::View
            } else {
                ObjectKind::Table
            };
            Conflict {
                object: ObjectRef { kind, name: table },
                reason: format!("the merged schema is invalid: {description}"),
            }
        })
        .collect()
}
