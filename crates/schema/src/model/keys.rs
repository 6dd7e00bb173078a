//! Keys and constraints: primary key, secondary indexes, foreign keys, checks.

use super::Expr;

/// The primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    /// Constraint name: always `PRIMARY` on MariaDB, `<table>_pkey` by default on
    /// PostgreSQL. Empty means "the implicit name".
    pub name: String,
    /// Key parts in order.
    pub parts: Vec<IndexPart>,
}

impl PrimaryKey {
    /// A primary key over whole columns, with the implicit name.
    pub fn on(columns: &[&str]) -> Self {
        PrimaryKey {
            name: String::new(),
            parts: columns.iter().map(|name| IndexPart::column(name)).collect(),
        }
    }
}

/// What kind of secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// A plain (non-unique) index.
    Plain,
    /// A unique index (or PostgreSQL unique constraint, see [`Index::constraint`]).
    Unique,
    /// MariaDB `FULLTEXT`.
    Fulltext,
    /// MariaDB `SPATIAL`.
    Spatial,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name. Empty means "the implicit name" until normalized.
    pub name: String,
    /// Plain, unique, fulltext or spatial.
    pub kind: IndexKind,
    /// Key parts in order.
    pub parts: Vec<IndexPart>,
    /// Access method (PostgreSQL `btree`, `hash`, `gin`...; MariaDB `HASH`/`BTREE` only
    /// when spelled out). `None` is the default method.
    pub method: Option<String>,
    /// PostgreSQL partial index predicate.
    pub predicate: Option<Expr>,
    /// PostgreSQL: the index backs a `UNIQUE` constraint rather than being a plain
    /// `CREATE UNIQUE INDEX`.
    pub constraint: bool,
    /// Index comment (MariaDB).
    pub comment: Option<String>,
}

impl Index {
    /// An index of `kind` over whole columns.
    pub fn on(name: impl Into<String>, kind: IndexKind, columns: &[&str]) -> Self {
        Index {
            name: name.into(),
            kind,
            parts: columns.iter().map(|name| IndexPart::column(name)).collect(),
            method: None,
            predicate: None,
            constraint: false,
            comment: None,
        }
    }

    /// The names of the whole or prefixed columns the index covers, in order
    /// (expressions are skipped).
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match &part.target {
            IndexTarget::Column(name) => Some(name.as_str()),
            IndexTarget::Expression(_) => None,
        })
    }
}

/// One key part of an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexPart {
    /// A column or an expression.
    pub target: IndexTarget,
    /// MariaDB prefix length in characters (`name(10)`).
    pub prefix: Option<u32>,
    /// `DESC` ordering.
    pub descending: bool,
}

impl IndexPart {
    /// A whole column, ascending.
    pub fn column(name: &str) -> Self {
        IndexPart {
            target: IndexTarget::Column(name.to_owned()),
            prefix: None,
            descending: false,
        }
    }
}

/// What a key part indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexTarget {
    /// A column by name.
    Column(String),
    /// An expression (PostgreSQL expression index).
    Expression(Expr),
}

/// A foreign key's referential action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForeignKeyAction {
    /// `NO ACTION` (the SQL default; InnoDB treats it as RESTRICT).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl ForeignKeyAction {
    /// The SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            ForeignKeyAction::NoAction => "NO ACTION",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::Cascade => "CASCADE",
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
        }
    }

    /// Parses a catalog rule (`CASCADE`, `SET NULL`, ...) or a PostgreSQL action code
    /// (`a`, `r`, `c`, `n`, `d`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "NO ACTION" | "A" => ForeignKeyAction::NoAction,
            "RESTRICT" | "R" => ForeignKeyAction::Restrict,
            "CASCADE" | "C" => ForeignKeyAction::Cascade,
            "SET NULL" | "N" => ForeignKeyAction::SetNull,
            "SET DEFAULT" | "D" => ForeignKeyAction::SetDefault,
            _ => return None,
        })
    }
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Constraint name. Empty means "the implicit name" until normalized.
    pub name: String,
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// Referenced table (same database / schema).
    pub referenced_table: String,
    /// Referenced columns, in order.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action.
    pub on_delete: ForeignKeyAction,
    /// `ON UPDATE` action.
    pub on_update: ForeignKeyAction,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// Constraint name. Empty means "the implicit name" until normalized.
    pub name: String,
    /// The boolean expression.
    pub expr: Expr,
}
