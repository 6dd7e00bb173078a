//! The typed schema model: what a database's schema *is*, independent of how it was
//! spelled.
//!
//! A [`Schema`] is plain data. Two schemas are the same schema when they are equal after
//! [`Schema::normalize`] for the same [`Dialect`]; every consumer (diff, merge, lint)
//! normalizes first, so callers may build models by hand in any spelling. Objects are
//! keyed by name in ordered maps, which keeps every output deterministic.

mod charset;
mod data_type;
mod keys;

use std::collections::BTreeMap;

pub use charset::{
    canonical_charset, canonical_collation, charset_of_collation, default_collation,
    max_bytes_per_char,
};
pub use data_type::{DataType, IntegerKind, LobSize};
pub use keys::{
    CheckConstraint, ForeignKey, ForeignKeyAction, Index, IndexKind, IndexPart, IndexTarget,
    PrimaryKey,
};

use crate::Dialect;

/// A database's schema (MariaDB database, or one PostgreSQL schema).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Default character set of the database (MariaDB); new tables inherit it.
    pub charset: Option<String>,
    /// Default collation of the database (MariaDB); new tables inherit it.
    pub collation: Option<String>,
    /// Base tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Views by name.
    pub views: BTreeMap<String, View>,
    /// Free-standing sequences by name (PostgreSQL; identity sequences belong to their
    /// column and are not listed).
    pub sequences: BTreeMap<String, Sequence>,
    /// Enum types by name (PostgreSQL `CREATE TYPE ... AS ENUM`).
    pub enum_types: BTreeMap<String, EnumType>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Schema::default()
    }

    /// Adds (or replaces) a table, keyed by its name.
    pub fn add_table(&mut self, table: Table) -> &mut Self {
        self.tables.insert(table.name.clone(), table);
        self
    }

    /// Adds (or replaces) a view, keyed by its name.
    pub fn add_view(&mut self, view: View) -> &mut Self {
        self.views.insert(view.name.clone(), view);
        self
    }

    /// The canonical form of this schema for `dialect`: equivalent spellings become equal
    /// (type aliases, display widths, implicit names, inherited charsets, expression
    /// spelling). Idempotent.
    pub fn normalize(&self, dialect: Dialect) -> Schema {
        crate::normalize::normalize_schema(self, dialect)
    }

    /// Whether `name` is a table or a view of this schema.
    pub fn has_relation(&self, name: &str) -> bool {
        self.tables.contains_key(name) || self.views.contains_key(name)
    }
}

/// A base table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Columns in their physical order.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    pub primary_key: Option<PrimaryKey>,
    /// Secondary indexes (unique, plain, fulltext, spatial), sorted by name once
    /// normalized: index order carries no meaning.
    pub indexes: Vec<Index>,
    /// Foreign keys, sorted by name once normalized.
    pub foreign_keys: Vec<ForeignKey>,
    /// Check constraints, sorted by name once normalized.
    pub checks: Vec<CheckConstraint>,
    /// Engine, charset, comment and friends.
    pub options: TableOptions,
    /// Partitioning, if the table is partitioned.
    pub partitioning: Option<Partitioning>,
}

impl Table {
    /// An empty table called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            ..Table::default()
        }
    }

    /// The column called `name`; MariaDB column names compare case-insensitively.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|column| column.name == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .find(|column| column.name.eq_ignore_ascii_case(name))
            })
    }

    /// The index called `name`.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|index| index.name == name)
    }
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The column's type.
    pub data_type: DataType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default, if any. A nullable column without a default defaults to NULL, which
    /// normalization spells as `None`.
    pub default: Option<ColumnDefault>,
    /// MariaDB `ON UPDATE` expression (`current_timestamp()`).
    pub on_update: Option<Expr>,
    /// Generated column expression.
    pub generated: Option<Generated>,
    /// Character set when it differs from the table's (MariaDB).
    pub charset: Option<String>,
    /// Collation when it differs from the table's (MariaDB) or the type's default
    /// (PostgreSQL).
    pub collation: Option<String>,
    /// MariaDB `AUTO_INCREMENT`.
    pub auto_increment: bool,
    /// PostgreSQL identity column.
    pub identity: Option<Identity>,
    /// Column comment (MariaDB).
    pub comment: Option<String>,
}

impl Column {
    /// A nullable column without default.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Column {
            name: name.into(),
            data_type,
            nullable: true,
            default: None,
            on_update: None,
            generated: None,
            charset: None,
            collation: None,
            auto_increment: false,
            identity: None,
            comment: None,
        }
    }

    /// The same column, NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }

    /// The same column with a default.
    pub fn with_default(mut self, default: ColumnDefault) -> Self {
        self.default = Some(default);
        self
    }
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnDefault {
    /// `DEFAULT NULL`, written out (normalization turns it into "no default" where that
    /// means the same).
    Null,
    /// A literal value, unquoted (`it's`, `1.5`, `true`); rendered quoted or not by type.
    Literal(String),
    /// Any other expression (`current_timestamp()`, `(1 + 1)`, `nextval('s'::regclass)`).
    Expression(Expr),
}

/// A generated column's definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Generated {
    /// The generation expression.
    pub expr: Expr,
    /// `STORED` (true) or `VIRTUAL` (false; PostgreSQL 15 only has stored).
    pub stored: bool,
}

/// PostgreSQL identity kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
}

/// A SQL expression as text. Compared after normalization, which canonicalizes case,
/// quoting, spacing and redundant outer parentheses, not semantics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expr {
    /// The expression's SQL text.
    pub sql: String,
}

impl Expr {
    /// An expression from its SQL text.
    pub fn new(sql: impl Into<String>) -> Self {
        Expr { sql: sql.into() }
    }
}

/// Table options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Storage engine (MariaDB; `InnoDB` once normalized).
    pub engine: Option<String>,
    /// Default character set (MariaDB; derived from the collation once normalized).
    pub charset: Option<String>,
    /// Default collation (MariaDB; inherited from the schema once normalized).
    pub collation: Option<String>,
    /// Table comment.
    pub comment: Option<String>,
    /// Declared `ROW_FORMAT` (MariaDB), upper case; `None` is the engine default.
    pub row_format: Option<String>,
}

/// The partitioning method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitioningKind {
    /// `RANGE (expr)`.
    Range,
    /// `RANGE COLUMNS (cols)`.
    RangeColumns,
    /// `LIST (expr)`.
    List,
    /// `LIST COLUMNS (cols)`.
    ListColumns,
    /// `HASH (expr)`.
    Hash,
    /// `LINEAR HASH (expr)`.
    LinearHash,
    /// `KEY (cols)`.
    Key,
    /// `LINEAR KEY (cols)`.
    LinearKey,
    /// MariaDB `SYSTEM_TIME` (system-versioned tables).
    SystemTime,
}

impl PartitioningKind {
    /// The SQL spelling after `PARTITION BY`.
    pub fn sql(self) -> &'static str {
        match self {
            PartitioningKind::Range => "RANGE",
            PartitioningKind::RangeColumns => "RANGE COLUMNS",
            PartitioningKind::List => "LIST",
            PartitioningKind::ListColumns => "LIST COLUMNS",
            PartitioningKind::Hash => "HASH",
            PartitioningKind::LinearHash => "LINEAR HASH",
            PartitioningKind::Key => "KEY",
            PartitioningKind::LinearKey => "LINEAR KEY",
            PartitioningKind::SystemTime => "SYSTEM_TIME",
        }
    }

    /// Parses `information_schema.PARTITIONS.PARTITION_METHOD`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "RANGE" => PartitioningKind::Range,
            "RANGE COLUMNS" => PartitioningKind::RangeColumns,
            "LIST" => PartitioningKind::List,
            "LIST COLUMNS" => PartitioningKind::ListColumns,
            "HASH" => PartitioningKind::Hash,
            "LINEAR HASH" => PartitioningKind::LinearHash,
            "KEY" => PartitioningKind::Key,
            "LINEAR KEY" => PartitioningKind::LinearKey,
            "SYSTEM_TIME" => PartitioningKind::SystemTime,
            _ => return None,
        })
    }
}

/// Table partitioning (MariaDB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitioning {
    /// The method.
    pub kind: PartitioningKind,
    /// The partitioning expression or column list, as SQL.
    pub expression: String,
    /// The partitions in order.
    pub partitions: Vec<Partition>,
    /// The subpartitioning method, if any (`HASH`, `KEY`): unsupported by lint.
    pub subpartitioning: Option<String>,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Partition name.
    pub name: String,
    /// `VALUES LESS THAN (...)` / `VALUES IN (...)` bound text, `None` for HASH/KEY.
    pub bound: Option<String>,
}

/// A view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// View name.
    pub name: String,
    /// The `SELECT` text.
    pub definition: Expr,
}

impl View {
    /// A view from its select text.
    pub fn new(name: impl Into<String>, definition: impl Into<String>) -> Self {
        View {
            name: name.into(),
            definition: Expr::new(definition),
        }
    }
}

/// A PostgreSQL sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// Sequence name.
    pub name: String,
    /// Value type (`bigint` by default).
    pub data_type: DataType,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
    /// `OWNED BY table.column`.
    pub owned_by: Option<(String, String)>,
}

impl Sequence {
    /// A `bigint` sequence with PostgreSQL's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        Sequence {
            name: name.into(),
            data_type: DataType::Integer {
                kind: IntegerKind::Big,
                unsigned: false,
            },
            start: 1,
            increment: 1,
            min_value: 1,
            max_value: i64::MAX,
            cache: 1,
            cycle: false,
            owned_by: None,
        }
    }
}

/// A PostgreSQL enum type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    /// Type name.
    pub name: String,
    /// Labels in sort order.
    pub values: Vec<String>,
}
