//! Diff: the ordered statements that turn schema A into schema B, each classified for
//! the deploy path (data loss, removed foreign keys, instant eligibility, rebuild).
//!
//! Both schemas are normalized first, so a diff of two spellings of one schema is empty.
//! Statements come in an order the server accepts (see [`plan`]): views that go away or
//! must be rebuilt are dropped first, then new tables are created (referenced ones
//! first), existing tables altered (one `ALTER TABLE` per table where the server allows),
//! dropped tables dropped (referencing ones first), and views created last, after what
//! they read. What the dialect cannot express is listed in [`Diff::unsupported`] instead
//! of being silently approximated.

mod mariadb;
mod plan;
mod postgres;
mod renames;
pub(crate) mod table;

pub use renames::ColumnRenames;

use crate::model::Schema;
use crate::{Dialect, ServerVersion};

/// What kind of object a statement changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// A base table (its columns, keys, constraints, options and indexes).
    Table,
    /// A view.
    View,
    /// A PostgreSQL sequence.
    Sequence,
    /// A PostgreSQL enum type.
    EnumType,
}

/// The object a statement changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Table, view, sequence or type.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
}

impl ObjectRef {
    /// A table reference.
    pub fn table(name: impl Into<String>) -> Self {
        ObjectRef {
            kind: ObjectKind::Table,
            name: name.into(),
        }
    }

    /// A view reference.
    pub fn view(name: impl Into<String>) -> Self {
        ObjectRef {
            kind: ObjectKind::View,
            name: name.into(),
        }
    }
}

/// The operation, as PlanetScale's `operation_name` (`CREATE | ALTER | DROP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// The object is created (or, for a changed view, re-created).
    Create,
    /// The object is changed in place.
    Alter,
    /// The object is dropped.
    Drop,
}

/// One executable statement of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffStatement {
    /// What it changes.
    pub object: ObjectRef,
    /// Create, alter or drop.
    pub kind: StatementKind,
    /// The SQL, without a trailing semicolon.
    pub sql: String,
    /// Whether running it can lose stored data (dropped table or column, narrowing type
    /// change).
    pub can_drop_data: bool,
    /// Foreign keys the statement removes (and does not re-add under the same name).
    pub removed_foreign_keys: Vec<String>,
    /// Whether the server can run it as a metadata-only change (MariaDB
    /// `ALGORITHM=INSTANT`; PostgreSQL without rewrite, scan or index build).
    pub instant_eligible: bool,
    /// Whether the server copies or rewrites the table to run it.
    pub needs_rebuild: bool,
    /// Columns the statement renames, `(old, new)`: their values follow them (MariaDB).
    pub renamed_columns: ColumnRenames,
    /// For an `ALTER TABLE` of a table: its clauses, what follows the table's name (the
    /// online schema change applies them to a copy of the table).
    pub alter_clauses: Option<String>,
}

impl DiffStatement {
    fn new(object: ObjectRef, kind: StatementKind, sql: String) -> Self {
        let alter_clauses = (kind == StatementKind::Alter && object.kind == ObjectKind::Table)
            .then(|| {
                // Every table ALTER this crate writes starts with this prefix.
                let prefix = format!(
                    "ALTER TABLE {} ",
                    crate::sql_text::quote_identifier(&object.name, Dialect::Mariadb)
                );
                sql.strip_prefix(&prefix).map(str::to_string)
            })
            .flatten();
        DiffStatement {
            object,
            kind,
            sql,
            can_drop_data: false,
            removed_foreign_keys: Vec::new(),
            instant_eligible: true,
            needs_rebuild: false,
            renamed_columns: Vec::new(),
            alter_clauses,
        }
    }
}

/// A change the dialect cannot express as DDL; the diff leaves it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedChange {
    /// The object concerned.
    pub object: ObjectRef,
    /// Why it cannot be done.
    pub reason: String,
}

/// The result of [`diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Statements in execution order.
    pub statements: Vec<DiffStatement>,
    /// Changes left out because the dialect cannot express them.
    pub unsupported: Vec<UnsupportedChange>,
}

impl Diff {
    /// No statement and nothing unsupported: the schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.unsupported.is_empty()
    }

    /// The statements' SQL, in order.
    pub fn sql(&self) -> Vec<&str> {
        self.statements.iter().map(|s| s.sql.as_str()).collect()
    }

    /// Whether every statement is instant-eligible (PlanetScale's
    /// `instant_ddl_eligible`); false for an empty diff.
    pub fn instant_eligible(&self) -> bool {
        !self.statements.is_empty() && self.statements.iter().all(|s| s.instant_eligible)
    }

    /// Whether any statement can lose stored data.
    pub fn can_drop_data(&self) -> bool {
        self.statements.iter().any(|s| s.can_drop_data)
    }
}

/// The statements that turn `from` into `to` on a `dialect` server of `version`.
pub fn diff(from: &Schema, to: &Schema, dialect: Dialect, version: ServerVersion) -> Diff {
    let from = from.normalize(dialect);
    let to = to.normalize(dialect);
    if from == to {
        return Diff::default();
    }
    plan::plan(&from, &to, dialect, version)
}

/// The statements of one table's change, grouped by when they may run.
#[derive(Debug, Default)]
pub(crate) struct TableStatements {
    /// Before any table is created or altered (foreign key drops that cannot share the
    /// main statement).
    pub(crate) before: Vec<DiffStatement>,
    /// The table's own change.
    pub(crate) main: Vec<DiffStatement>,
    /// After every table is altered (foreign key adds split off to break a cycle).
    pub(crate) after: Vec<DiffStatement>,
}

/// Flags shared by the statement builders.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Classification {
    pub(crate) instant: bool,
    pub(crate) rebuild: bool,
}

impl Classification {
    /// Instant and no rebuild: the identity for [`Classification::and`].
    pub(crate) const INSTANT: Classification = Classification {
        instant: true,
        rebuild: false,
    };
    /// Neither instant nor a rebuild (index builds, validation scans).
    pub(crate) const IN_PLACE: Classification = Classification {
        instant: false,
        rebuild: false,
    };
    /// A table copy or rewrite.
    pub(crate) const REBUILD: Classification = Classification {
        instant: false,
        rebuild: true,
    };

    pub(crate) fn and(self, other: Classification) -> Classification {
        Classification {
            instant: self.instant && other.instant,
            rebuild: self.rebuild || other.rebuild,
        }
    }
}

pub(crate) fn statement(
    object: ObjectRef,
    kind: StatementKind,
    sql: String,
    classification: Classification,
) -> DiffStatement {
    DiffStatement {
        instant_eligible: classification.instant,
        needs_rebuild: classification.rebuild,
        ..DiffStatement::new(object, kind, sql)
    }
}

/// `ALTER TABLE t DROP FOREIGN KEY fk` (MariaDB) / `DROP CONSTRAINT fk` (PostgreSQL).
pub(crate) fn drop_foreign_key_sql(table: &str, name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mariadb => format!(
            "ALTER TABLE {} DROP FOREIGN KEY {}",
            crate::ddl::mariadb::ident(table),
            crate::ddl::mariadb::ident(name)
        ),
        Dialect::Postgres => format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            crate::ddl::postgres::ident(table),
            crate::ddl::postgres::ident(name)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, DataType, Index, IndexKind, PrimaryKey, Table};

    #[test]
    fn table_alters_carry_their_clauses() {
        let mut old = Table::new("a;\n`t'");
        old.columns = vec![
            Column::new("id", DataType::INT),
            Column::new("v", DataType::INT),
        ];
        old.primary_key = Some(PrimaryKey::on(&["id"]));
        let mut new = old.clone();
        new.columns.push(Column::new("w;\n", DataType::INT));
        new.indexes.push(Index::on("k", IndexKind::Plain, &["v"]));
        let (mut from, mut to) = (Schema::new(), Schema::new());
        from.add_table(old);
        to.add_table(new);
        let diff = diff(&from, &to, Dialect::Mariadb, ServerVersion::MARIADB_10_11);
        let alters: Vec<&DiffStatement> = diff
            .statements
            .iter()
            .filter(|s| s.kind == StatementKind::Alter)
            .collect();
        assert!(!alters.is_empty());
        for alter in alters {
            let clauses = alter.alter_clauses.as_deref().expect("clauses");
            assert_eq!(alter.sql, format!("ALTER TABLE `a;\n``t'` {clauses}"));
        }
    }
}
