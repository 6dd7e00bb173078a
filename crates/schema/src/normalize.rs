//! Normalization: the canonical form of a schema for a dialect.
//!
//! The invariant every other module relies on: for two schemas `a` and `b` of the same
//! dialect that a server would treat identically, `a.normalize(d) == b.normalize(d)`.
//! In particular, introspecting what canonical DDL created gives back the normalized
//! model. Normalization is idempotent and never fails; things it cannot make sense of
//! stay as they are, for lint to report.

mod names;
mod values;

use crate::model::{
    DataType, IndexKind, IndexTarget, IntegerKind, LobSize, Schema, Table, canonical_charset,
    canonical_collation, charset_of_collation, default_collation,
};
use crate::sql_text::normalize_expr;
use crate::{Dialect, Expr};

pub(crate) fn normalize_schema(schema: &Schema, dialect: Dialect) -> Schema {
    let mut out = schema.clone();
    match dialect {
        Dialect::Mariadb => {
            let (charset, collation) =
                resolve_collation(out.charset.as_deref(), out.collation.as_deref());
            out.charset = charset;
            out.collation = collation;
        }
        Dialect::Postgres => {
            out.charset = None;
            out.collation = None;
        }
    }
    let schema_collation = out.collation.clone();
    for table in out.tables.values_mut() {
        normalize_table(table, dialect, schema_collation.as_deref());
    }
    for view in out.views.values_mut() {
        let text = view.definition.sql.trim().trim_end_matches(';');
        view.definition = Expr::new(normalize_expr(text, dialect));
    }
    for sequence in out.sequences.values_mut() {
        sequence.data_type = normalize_type(&sequence.data_type, dialect);
    }
    out
}

/// `(charset, collation)` made consistent: the collation names its charset, a bare
/// charset means its default collation.
fn resolve_collation(
    charset: Option<&str>,
    collation: Option<&str>,
) -> (Option<String>, Option<String>) {
    match (charset, collation) {
        (_, Some(collation)) => {
            let collation = canonical_collation(collation);
            (Some(charset_of_collation(&collation)), Some(collation))
        }
        (Some(charset), None) => (
            Some(canonical_charset(charset)),
            Some(default_collation(charset)),
        ),
        (None, None) => (None, None),
    }
}

fn normalize_table(table: &mut Table, dialect: Dialect, schema_collation: Option<&str>) {
    normalize_options(table, dialect, schema_collation);
    // Primary key columns are NOT NULL on both servers, whatever was declared.
    if let Some(primary_key) = &table.primary_key {
        let key_columns: Vec<String> = primary_key
            .parts
            .iter()
            .filter_map(|part| match &part.target {
                IndexTarget::Column(name) => Some(name.clone()),
                IndexTarget::Expression(_) => None,
            })
            .collect();
        for column in &mut table.columns {
            if key_columns
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&column.name))
            {
                column.nullable = false;
            }
        }
    }
    if dialect == Dialect::Mariadb {
        absorb_json_checks(table);
    }
    let table_collation = table.options.collation.clone();
    for column in &mut table.columns {
        column.data_type = normalize_type(&column.data_type, dialect);
        match dialect {
            Dialect::Mariadb => {
                column.identity = None;
                if column.data_type.has_collation() {
                    let (_, collation) =
                        resolve_collation(column.charset.as_deref(), column.collation.as_deref());
                    let inherited = collation.is_none() || collation == table_collation;
                    column.collation = if inherited { None } else { collation };
                    column.charset = column.collation.as_deref().map(charset_of_collation);
                } else {
                    column.charset = None;
                    column.collation = None;
                }
            }
            Dialect::Postgres => {
                column.auto_increment = false;
                column.on_update = None;
                column.charset = None;
                if column.collation.as_deref() == Some("default") {
                    column.collation = None;
                }
                if column.identity.is_some() {
                    column.nullable = false;
                }
            }
        }
        if column.comment.as_deref() == Some("") {
            column.comment = None;
        }
        column.on_update = column
            .on_update
            .as_ref()
            .map(|expr| Expr::new(normalize_expr(&expr.sql, dialect)));
        if let Some(generated) = &mut column.generated {
            generated.expr = Expr::new(normalize_expr(&generated.expr.sql, dialect));
            if dialect == Dialect::Postgres {
                generated.stored = true;
            }
        }
        column.default =
            if column.generated.is_some() || column.identity.is_some() || column.auto_increment {
                None
            } else {
                values::normalize_default(column.default.as_ref(), column, dialect)
            };
    }
    names::assign_implicit_names(table, dialect);
    normalize_keys(table, dialect);
    for check in &mut table.checks {
        check.expr = Expr::new(normalize_expr(&check.expr.sql, dialect));
    }
    table.checks.sort_by(|a, b| a.name.cmp(&b.name));
    for foreign_key in &mut table.foreign_keys {
        if dialect == Dialect::Mariadb {
            use crate::ForeignKeyAction::{NoAction, Restrict};
            // InnoDB has no deferred checks: NO ACTION is RESTRICT.
            if foreign_key.on_delete == NoAction {
                foreign_key.on_delete = Restrict;
            }
            if foreign_key.on_update == NoAction {
                foreign_key.on_update = Restrict;
            }
        }
    }
    table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    if dialect == Dialect::Mariadb {
        names::add_implicit_foreign_key_indexes(table);
    }
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(partitioning) = &mut table.partitioning {
        partitioning.expression = normalize_expr(&partitioning.expression, dialect);
        for partition in &mut partitioning.partitions {
            partition.bound = partition
                .bound
                .as_deref()
                .map(|bound| normalize_expr(bound, dialect));
        }
    }
}

fn normalize_options(table: &mut Table, dialect: Dialect, schema_collation: Option<&str>) {
    let options = &mut table.options;
    if options.comment.as_deref() == Some("") {
        options.comment = None;
    }
    match dialect {
        Dialect::Mariadb => {
            options.engine = Some(canonical_engine(
                options.engine.as_deref().unwrap_or("InnoDB"),
            ));
            let (charset, collation) =
                resolve_collation(options.charset.as_deref(), options.collation.as_deref());
            let collation = collation.or_else(|| schema_collation.map(str::to_owned));
            options.charset = collation.as_deref().map(charset_of_collation).or(charset);
            options.collation = collation;
            options.row_format = options
                .row_format
                .as_deref()
                .map(str::to_ascii_uppercase)
                .filter(|format| format != "DEFAULT" && !format.is_empty());
        }
        Dialect::Postgres => {
            options.engine = None;
            options.charset = None;
            options.collation = None;
            options.row_format = None;
        }
    }
}

/// The engine name as MariaDB prints it.
fn canonical_engine(engine: &str) -> String {
    let known = [
        "InnoDB",
        "MyISAM",
        "Aria",
        "MEMORY",
        "CSV",
        "ARCHIVE",
        "BLACKHOLE",
        "MRG_MyISAM",
        "SEQUENCE",
        "FEDERATED",
        "CONNECT",
        "ROCKSDB",
        "S3",
        "SPIDER",
    ];
    known
        .iter()
        .find(|name| name.eq_ignore_ascii_case(engine))
        .map(|name| (*name).to_owned())
        .unwrap_or_else(|| engine.to_owned())
}

/// MariaDB prints a JSON column as `longtext ... CHECK (json_valid(col))`: fold that back
/// into [`DataType::Json`].
fn absorb_json_checks(table: &mut Table) {
    let mut absorbed = Vec::new();
    for check in &table.checks {
        let expr = normalize_expr(&check.expr.sql, Dialect::Mariadb);
        let Some(column_name) = expr
            .strip_prefix("json_valid(")
            .and_then(|rest| rest.strip_suffix(')'))
            .map(|name| name.trim_matches('`').to_owned())
        else {
            continue;
        };
        if !check.name.eq_ignore_ascii_case(&column_name) {
            continue;
        }
        if let Some(column) = table
            .columns
            .iter_mut()
            .find(|column| column.name.eq_ignore_ascii_case(&column_name))
            && matches!(
                column.data_type,
                DataType::Text(LobSize::Long) | DataType::Json
            )
        {
            column.data_type = DataType::Json;
            absorbed.push(check.name.clone());
        }
    }
    table.checks.retain(|check| !absorbed.contains(&check.name));
    for column in &mut table.columns {
        if column.data_type == DataType::Json {
            column.charset = None;
            column.collation = None;
        }
    }
}

fn normalize_keys(table: &mut Table, dialect: Dialect) {
    let column_type = |name: &str| {
        table
            .columns
            .iter()
            .find(|column| column.name.eq_ignore_ascii_case(name))
            .map(|column| column.data_type.clone())
    };
    // InnoDB silently shortens a non-unique key on a long string column to the longest
    // prefix that fits 3072 bytes.
    let table_charset = table
        .options
        .charset
        .clone()
        .unwrap_or_else(|| "utf8mb4".to_owned());
    let key_prefix_limit = |name: &str| -> Option<u32> {
        let column = table
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))?;
        let (DataType::Varchar(Some(length)) | DataType::Char(length)) = column.data_type else {
            return None;
        };
        let charset = column
            .charset
            .clone()
            .unwrap_or_else(|| table_charset.clone());
        let bytes = crate::model::max_bytes_per_char(&charset);
        (length * bytes > 3072).then_some(3072 / bytes)
    };
    if dialect == Dialect::Mariadb {
        for index in &mut table.indexes {
            if index.kind != IndexKind::Plain {
                continue;
            }
            for part in &mut index.parts {
                if let IndexTarget::Column(name) = &part.target
                    && part.prefix.is_none()
                {
                    part.prefix = key_prefix_limit(name);
                }
            }
        }
    }
    let normalize_parts = |parts: &mut Vec<crate::IndexPart>| {
        for part in parts.iter_mut() {
            match &mut part.target {
                IndexTarget::Column(name) => {
                    // A prefix as long as the column is no prefix at all.
                    let full_length = match column_type(name) {
                        Some(DataType::Varchar(Some(n)) | DataType::Char(n)) => Some(n),
                        Some(DataType::Varbinary(n) | DataType::Binary(n)) => Some(n),
                        _ => None,
                    };
                    if dialect == Dialect::Postgres
                        || (part.prefix.is_some() && part.prefix == full_length)
                    {
                        part.prefix = None;
                    }
                }
                IndexTarget::Expression(expr) => {
                    *expr = Expr::new(normalize_expr(&expr.sql, dialect));
                }
            }
        }
    };
    if let Some(primary_key) = &mut table.primary_key {
        normalize_parts(&mut primary_key.parts);
    }
    for index in &mut table.indexes {
        normalize_parts(&mut index.parts);
        if index.comment.as_deref() == Some("") {
            index.comment = None;
        }
        index.predicate = index
            .predicate
            .as_ref()
            .map(|expr| Expr::new(normalize_expr(&expr.sql, dialect)));
        index.method = index
            .method
            .as_deref()
            .map(str::to_ascii_lowercase)
            .filter(|method| method != "btree" && !method.is_empty());
        match dialect {
            Dialect::Mariadb => {
                index.constraint = false;
                index.predicate = None;
                if matches!(index.kind, IndexKind::Fulltext | IndexKind::Spatial) {
                    index.method = None;
                }
                index.method = index.method.as_deref().map(str::to_ascii_uppercase);
            }
            Dialect::Postgres => {
                if index.kind != IndexKind::Unique {
                    index.constraint = false;
                }
                index.comment = None;
            }
        }
    }
}

/// The canonical type for `dialect`: aliases and defaults spelled out one way.
pub(crate) fn normalize_type(data_type: &DataType, dialect: Dialect) -> DataType {
    let zero_is_default = |p: &Option<u32>, default: u32| p.filter(|p| *p != default);
    match (dialect, data_type) {
        (Dialect::Mariadb, DataType::Boolean) => DataType::Integer {
            kind: IntegerKind::Tiny,
            unsigned: false,
        },
        (Dialect::Mariadb, DataType::Bytea) => DataType::Blob(LobSize::Long),
        (Dialect::Mariadb, DataType::Jsonb) => DataType::Json,
        (Dialect::Mariadb, DataType::Varchar(None)) => DataType::Varchar(Some(255)),
        (
            Dialect::Mariadb,
            DataType::Decimal {
                precision,
                scale,
                unsigned,
            },
        ) => DataType::Decimal {
            precision: Some(precision.unwrap_or(10)),
            scale: Some(scale.unwrap_or(0)),
            unsigned: *unsigned,
        },
        (Dialect::Mariadb, DataType::Time { precision, .. }) => DataType::Time {
            precision: zero_is_default(precision, 0),
            with_time_zone: false,
        },
        (Dialect::Mariadb, DataType::DateTime { precision }) => DataType::DateTime {
            precision: zero_is_default(precision, 0),
        },
        (Dialect::Mariadb, DataType::Timestamp { precision, .. }) => DataType::Timestamp {
            precision: zero_is_default(precision, 0),
            with_time_zone: false,
        },
        (Dialect::Postgres, DataType::Integer { kind, .. }) => DataType::Integer {
            kind: match kind {
                IntegerKind::Tiny | IntegerKind::Small => IntegerKind::Small,
                IntegerKind::Medium | IntegerKind::Int => IntegerKind::Int,
                IntegerKind::Big => IntegerKind::Big,
            },
            unsigned: false,
        },
        (
            Dialect::Postgres,
            DataType::Decimal {
                precision, scale, ..
            },
        ) => DataType::Decimal {
            precision: *precision,
            scale: precision.map(|_| scale.unwrap_or(0)),
            unsigned: false,
        },
        (Dialect::Postgres, DataType::Float { .. }) => DataType::Float { unsigned: false },
        (Dialect::Postgres, DataType::Double { .. }) => DataType::Double { unsigned: false },
        (Dialect::Postgres, DataType::Text(_)) => DataType::Text(LobSize::Long),
        (Dialect::Postgres, DataType::Blob(_)) => DataType::Bytea,
        (Dialect::Postgres, DataType::DateTime { precision }) => DataType::Timestamp {
            precision: zero_is_default(precision, 6),
            with_time_zone: false,
        },
        (
            Dialect::Postgres,
            DataType::Timestamp {
                precision,
                with_time_zone,
            },
        ) => DataType::Timestamp {
            precision: zero_is_default(precision, 6),
            with_time_zone: *with_time_zone,
        },
        (
            Dialect::Postgres,
            DataType::Time {
                precision,
                with_time_zone,
            },
        ) => DataType::Time {
            precision: zero_is_default(precision, 6),
            with_time_zone: *with_time_zone,
        },
        (Dialect::Postgres, DataType::Array(element)) => {
            DataType::Array(Box::new(normalize_type(element, dialect)))
        }
        (_, other) => other.clone(),
    }
}

#[cfg(test)]
mod tests;
