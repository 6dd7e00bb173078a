//! MariaDB DDL fragments, in the spelling `SHOW CREATE TABLE` uses where it matters.

use crate::model::{
    Column, ColumnDefault, DataType, ForeignKey, Index, IndexKind, IndexPart, IndexTarget,
    Partitioning, PrimaryKey, Table,
};
use crate::sql_text::{quote_identifier, quote_string};
use crate::{CheckConstraint, Dialect, View};

const D: Dialect = Dialect::Mariadb;

pub(crate) fn ident(name: &str) -> String {
    quote_identifier(name, D)
}

/// `CREATE TABLE` with every column, key and constraint; foreign keys for which
/// `include_foreign_key` says no are left out (added later to break cycles).
pub(crate) fn create_table(
    table: &Table,
    include_foreign_key: impl Fn(&ForeignKey) -> bool,
) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(column_definition).collect();
    if let Some(primary_key) = &table.primary_key {
        lines.push(primary_key_clause(primary_key));
    }
    lines.extend(table.indexes.iter().map(index_clause));
    lines.extend(
        table
            .foreign_keys
            .iter()
            .filter(|fk| include_foreign_key(fk))
            .map(foreign_key_clause),
    );
    lines.extend(table.checks.iter().map(check_clause));
    let mut sql = format!(
        "CREATE TABLE {} (\n  {}\n)",
        ident(&table.name),
        lines.join(",\n  ")
    );
    let options = table_options(table);
    if !options.is_empty() {
        sql.push(' ');
        sql.push_str(&options);
    }
    if let Some(partitioning) = &table.partitioning {
        sql.push('\n');
        sql.push_str(&partition_clause(partitioning));
    }
    sql
}

/// A column definition as in `CREATE TABLE` / `ADD COLUMN` / `MODIFY COLUMN`.
pub(crate) fn column_definition(column: &Column) -> String {
    let mut sql = format!("{} {}", ident(&column.name), column.data_type.render(D));
    if column.data_type.has_collation()
        && let Some(collation) = &column.collation
    {
        let charset = column
            .charset
            .clone()
            .unwrap_or_else(|| crate::model::charset_of_collation(collation));
        sql.push_str(&format!(" CHARACTER SET {charset} COLLATE {collation}"));
    }
    if let Some(generated) = &column.generated {
        let storage = if generated.stored {
            "STORED"
        } else {
            "VIRTUAL"
        };
        sql.push_str(&format!(
            " GENERATED ALWAYS AS ({}) {storage}",
            generated.expr.sql
        ));
    }
    if !column.nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(&default_value(default, &column.data_type));
    }
    if let Some(on_update) = &column.on_update {
        sql.push_str(&format!(" ON UPDATE {}", on_update.sql));
    }
    if column.auto_increment {
        sql.push_str(" AUTO_INCREMENT");
    }
    if let Some(comment) = &column.comment {
        sql.push_str(&format!(" COMMENT {}", quote_string(comment, D)));
    }
    sql
}

/// A default as MariaDB accepts it: numbers bare, strings quoted, expressions in
/// parentheses unless they are the time functions `ON UPDATE` also accepts.
pub(crate) fn default_value(default: &ColumnDefault, data_type: &DataType) -> String {
    match default {
        ColumnDefault::Null => "NULL".to_owned(),
        ColumnDefault::Literal(value) => {
            let bare = (data_type.is_numeric() || matches!(data_type, DataType::Bit(_)))
                && !value.is_empty()
                && value
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.');
            if bare {
                value.clone()
            } else {
                quote_string(value, D)
            }
        }
        ColumnDefault::Expression(expr) => {
            let sql = expr.sql.as_str();
            let typed_literal = sql.len() > 2
                && (sql.starts_with("b'") || sql.starts_with("x'") || sql.starts_with("_"));
            if sql.starts_with("current_timestamp(") || typed_literal {
                sql.to_owned()
            } else {
                format!("({sql})")
            }
        }
    }
}

fn key_parts(parts: &[IndexPart]) -> String {
    parts
        .iter()
        .map(|part| {
            let mut sql = match &part.target {
                IndexTarget::Column(name) => ident(name),
                IndexTarget::Expression(expr) => format!("({})", expr.sql),
            };
            if let Some(prefix) = part.prefix {
                sql.push_str(&format!("({prefix})"));
            }
            if part.descending {
                sql.push_str(" DESC");
            }
            sql
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn primary_key_clause(primary_key: &PrimaryKey) -> String {
    format!("PRIMARY KEY ({})", key_parts(&primary_key.parts))
}

/// `[UNIQUE|FULLTEXT|SPATIAL] KEY name (parts) [USING m] [COMMENT '...']`.
pub(crate) fn index_clause(index: &Index) -> String {
    let kind = match index.kind {
        IndexKind::Plain => "KEY",
        IndexKind::Unique => "UNIQUE KEY",
        IndexKind::Fulltext => "FULLTEXT KEY",
        IndexKind::Spatial => "SPATIAL KEY",
    };
    let mut sql = format!(
        "{kind} {} ({})",
        ident(&index.name),
        key_parts(&index.parts)
    );
    if let Some(method) = &index.method {
        sql.push_str(&format!(" USING {method}"));
    }
    if let Some(comment) = &index.comment {
        sql.push_str(&format!(" COMMENT {}", quote_string(comment, D)));
    }
    sql
}

pub(crate) fn foreign_key_clause(foreign_key: &ForeignKey) -> String {
    let columns = |names: &[String]| {
        names
            .iter()
            .map(|name| ident(name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        ident(&foreign_key.name),
        columns(&foreign_key.columns),
        ident(&foreign_key.referenced_table),
        columns(&foreign_key.referenced_columns),
        foreign_key.on_delete.sql(),
        foreign_key.on_update.sql()
    )
}

pub(crate) fn check_clause(check: &CheckConstraint) -> String {
    format!(
        "CONSTRAINT {} CHECK ({})",
        ident(&check.name),
        check.expr.sql
    )
}

/// `ENGINE=... DEFAULT CHARSET=... COLLATE=... ROW_FORMAT=... COMMENT='...'`.
pub(crate) fn table_options(table: &Table) -> String {
    let options = &table.options;
    let mut parts = Vec::new();
    if let Some(engine) = &options.engine {
        parts.push(format!("ENGINE={engine}"));
    }
    if let Some(charset) = &options.charset {
        parts.push(format!("DEFAULT CHARSET={charset}"));
    }
    if let Some(collation) = &options.collation {
        parts.push(format!("COLLATE={collation}"));
    }
    if let Some(row_format) = &options.row_format {
        parts.push(format!("ROW_FORMAT={row_format}"));
    }
    if let Some(comment) = &options.comment {
        parts.push(format!("COMMENT={}", quote_string(comment, D)));
    }
    parts.join(" ")
}

pub(crate) fn partition_clause(partitioning: &Partitioning) -> String {
    let mut sql = format!(
        "PARTITION BY {} ({})",
        partitioning.kind.sql(),
        partitioning.expression
    );
    if let Some(sub) = &partitioning.subpartitioning {
        sql.push_str(&format!(" SUBPARTITION BY {sub}"));
    }
    let values_keyword = match partitioning.kind {
        crate::PartitioningKind::List | crate::PartitioningKind::ListColumns => "IN",
        _ => "LESS THAN",
    };
    let partitions: Vec<String> = partitioning
        .partitions
        .iter()
        .map(|partition| match &partition.bound {
            Some(bound) if bound.eq_ignore_ascii_case("maxvalue") => {
                format!(
                    "PARTITION {} VALUES LESS THAN MAXVALUE",
                    ident(&partition.name)
                )
            }
            Some(bound) => format!(
                "PARTITION {} VALUES {values_keyword} ({bound})",
                ident(&partition.name)
            ),
            None => format!("PARTITION {}", ident(&partition.name)),
        })
        .collect();
    if !partitions.is_empty() {
        sql.push_str(&format!("\n({})", partitions.join(",\n ")));
    }
    sql
}

pub(crate) fn create_view(view: &View, or_replace: bool) -> String {
    let verb = if or_replace {
        "CREATE OR REPLACE"
    } else {
        "CREATE"
    };
    format!(
        "{verb} VIEW {} AS {}",
        ident(&view.name),
        view.definition.sql
    )
}
