//! Lint: the schema problems of §7 of the semantics reference that apply to one
//! MariaDB or PostgreSQL server, as PlanetScale's lint error objects.
//!
//! Lint takes any schema, including ones no server would accept (that is its point):
//! unknown types, dangling foreign keys, views over missing columns. Each problem is one
//! [`LintError`] with the fields the API returns filled in; lint never panics and never
//! stops at the first problem. Output is sorted by table, then code, so it is stable.

mod features;
mod keys;
mod references;

use crate::Dialect;
use crate::model::Schema;

/// Base of the documentation links in [`LintError::docs_url`].
pub const DOCS_BASE_URL: &str = "https://planetscale.com/docs/reference/schema-lint-errors";

/// The lint codes that apply to a single-server keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LintCode {
    /// No primary key and no unique key over NOT NULL, non-TEXT/BLOB, non-prefix columns.
    NoUniqueKey,
    /// The primary key contains a TEXT or BLOB column.
    BlobInUniqueKey,
    /// The primary key uses a prefix length.
    PartialKeyInUniqueKey,
    /// A charset outside the allowed set.
    InvalidCharset,
    /// A foreign key while the database disallows them.
    ForeignKeysDisallowed,
    /// Tables whose foreign keys form a cycle.
    ForeignKeysCircularDependency,
    /// A foreign key to a table that does not exist.
    ForeignKeysNonexistentTable,
    /// A foreign key to a view.
    ForeignKeysReferencedView,
    /// A foreign key whose columns, types or parent key do not line up.
    ForeignKeysUnresolved,
    /// A view reads a table or view that does not exist.
    InvalidTableReferencedInView,
    /// A view reads a column that does not exist.
    InvalidColumnReferencedInView,
    /// An ENUM or SET repeats a value.
    DuplicateEnumValue,
    /// An engine, type, check or construct the platform does not support.
    UnsupportedFeature,
    /// Partitioning other than RANGE, HASH or KEY, or subpartitioning.
    UnsupportedPartitioningFeature,
    /// A table named like one of the platform's own objects (`LintOptions::reserved`).
    ReservedTableName,
}

impl LintCode {
    /// The API spelling (`NO_UNIQUE_KEY`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LintCode::NoUniqueKey => "NO_UNIQUE_KEY",
            LintCode::BlobInUniqueKey => "BLOB_IN_UNIQUE_KEY",
            LintCode::PartialKeyInUniqueKey => "PARTIAL_KEY_IN_UNIQUE_KEY",
            LintCode::InvalidCharset => "INVALID_CHARSET",
            LintCode::ForeignKeysDisallowed => "FOREIGN_KEYS_DISALLOWED",
            LintCode::ForeignKeysCircularDependency => "FOREIGN_KEYS_CIRCULAR_DEPENDENCY",
            LintCode::ForeignKeysNonexistentTable => "FOREIGN_KEYS_NONEXISTENT_TABLE",
            LintCode::ForeignKeysReferencedView => "FOREIGN_KEYS_REFERENCED_VIEW",
            LintCode::ForeignKeysUnresolved => "FOREIGN_KEYS_UNRESOLVED",
            LintCode::InvalidTableReferencedInView => "INVALID_TABLE_REFERENCED_IN_VIEW",
            LintCode::InvalidColumnReferencedInView => "INVALID_COLUMN_REFERENCED_IN_VIEW",
            LintCode::DuplicateEnumValue => "DUPLICATE_ENUM_VALUE",
            LintCode::UnsupportedFeature => "UNSUPPORTED_FEATURE",
            LintCode::UnsupportedPartitioningFeature => "UNSUPPORTED_PARTITIONING_FEATURE",
            LintCode::ReservedTableName => "RESERVED_TABLE_NAME",
        }
    }
}

/// One lint error, field for field the API's object. Fields that do not apply are empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// The code.
    pub lint_error: LintCode,
    /// Always `table` here (`vschema` and `routing_rules` are Vitess-only).
    pub subject_type: String,
    /// The keyspace (database) linted.
    pub keyspace_name: String,
    /// The table (or view) with the error.
    pub table_name: String,
    /// A lowercase, human-readable description.
    pub error_description: String,
    /// Documentation link for the code.
    pub docs_url: String,
    /// The column concerned.
    pub column_name: String,
    /// The foreign key's columns.
    pub foreign_key_column_names: Vec<String>,
    /// Auto-increment columns concerned.
    pub auto_increment_column_names: Vec<String>,
    /// The charset concerned.
    pub charset_name: String,
    /// The engine concerned.
    pub engine_name: String,
    /// Vitess vindex (always empty here).
    pub vindex_name: String,
    /// JSON path of an invalid VSchema (always empty here).
    pub json_path: String,
    /// The check constraint concerned.
    pub check_constraint_name: String,
    /// The enum value concerned.
    pub enum_value: String,
    /// The partitioning method concerned.
    pub partitioning_type: String,
    /// The partition concerned.
    pub partition_name: String,
}

impl LintError {
    /// An error of `code` on `table_name`, other fields empty.
    pub(crate) fn new(
        code: LintCode,
        options: &LintOptions,
        table_name: &str,
        description: String,
    ) -> Self {
        LintError {
            lint_error: code,
            subject_type: "table".to_owned(),
            keyspace_name: options.keyspace_name.clone(),
            table_name: table_name.to_owned(),
            error_description: description,
            docs_url: format!(
                "{DOCS_BASE_URL}#{}",
                code.as_str().to_ascii_lowercase().replace('_', "-")
            ),
            column_name: String::new(),
            foreign_key_column_names: Vec::new(),
            auto_increment_column_names: Vec::new(),
            charset_name: String::new(),
            engine_name: String::new(),
            vindex_name: String::new(),
            json_path: String::new(),
            check_constraint_name: String::new(),
            enum_value: String::new(),
            partitioning_type: String::new(),
            partition_name: String::new(),
        }
    }

    pub(crate) fn column(mut self, column: &str) -> Self {
        self.column_name = column.to_owned();
        self
    }
}

/// What lint checks against.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// The schema's dialect.
    pub dialect: Dialect,
    /// Reported as `keyspace_name`.
    pub keyspace_name: String,
    /// Whether the database allows foreign keys (PlanetScale's database setting).
    pub foreign_keys_allowed: bool,
    /// Allowed charsets. §7: `utf8, utf8mb4, utf8mb3, latin1, ascii`.
    pub allowed_charsets: Vec<String>,
    /// The most columns a table may have (InnoDB's limit).
    pub max_columns: usize,
    /// Table names the platform keeps for its own objects (a deployment's artifacts): a
    /// user table named so would be taken for one, so it is reported.
    pub reserved: Option<fn(&str) -> bool>,
}

impl LintOptions {
    /// Defaults for `dialect`: foreign keys allowed, the wider charset set of §7.
    pub fn new(dialect: Dialect, keyspace_name: impl Into<String>) -> Self {
        LintOptions {
            dialect,
            keyspace_name: keyspace_name.into(),
            foreign_keys_allowed: true,
            allowed_charsets: ["utf8", "utf8mb4", "utf8mb3", "latin1", "ascii"]
                .map(str::to_owned)
                .to_vec(),
            max_columns: 1017,
            reserved: None,
        }
    }
}

/// Every lint error of `schema` (normalized first), sorted by table then code.
pub fn lint(schema: &Schema, options: &LintOptions) -> Vec<LintError> {
    let schema = schema.normalize(options.dialect);
    let mut errors = Vec::new();
    keys::check(&schema, options, &mut errors);
    references::check(&schema, options, &mut errors);
    features::check(&schema, options, &mut errors);
    if let Some(reserved) = options.reserved {
        for name in schema.tables.keys().filter(|name| reserved(name)) {
            errors.push(LintError::new(
                LintCode::ReservedTableName,
                options,
                name,
                format!(
                    "table {name} is named like the platform's deploy artifacts \
                     (`_<table>_dbp_new`, `_dbp_old`, `_dbp_rev`, `_dbp_drop`): rename it"
                ),
            ));
        }
    }
    errors.sort_by(|a, b| {
        (
            &a.table_name,
            a.lint_error,
            &a.column_name,
            &a.error_description,
        )
            .cmp(&(
                &b.table_name,
                b.lint_error,
                &b.column_name,
                &b.error_description,
            ))
    });
    errors
}
