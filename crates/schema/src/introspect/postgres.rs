//! PostgreSQL: `pg_catalog` for one schema (namespace). Partitions, materialized views
//! and objects of other schemas are outside the model and skipped.

use tokio_postgres::Row;

use super::{IntrospectError, IntrospectResult, unexpected};
use crate::model::{
    CheckConstraint, Column, ColumnDefault, DataType, EnumType, ForeignKey, ForeignKeyAction,
    Generated, Identity, Index, IndexKind, IndexPart, IndexTarget, Partition, Partitioning,
    PartitioningKind, PrimaryKey, Schema, Sequence, Table, View,
};
use crate::{Dialect, Expr};

const TABLES: &str = "SELECT c.relname, obj_description(c.oid, 'pg_class'), \
    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, \
    ARRAY(SELECT p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid \
          WHERE i.inhparent = c.oid ORDER BY p.relname), \
    ARRAY(SELECT pg_get_expr(p.relpartbound, p.oid) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid \
          WHERE i.inhparent = c.oid ORDER BY p.relname) \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition";

const COLUMNS: &str = "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
    pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
    CASE WHEN a.attcollation <> t.typcollation THEN co.collname END, col_description(c.oid, a.attnum) \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_type t ON t.oid = a.atttypid \
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    LEFT JOIN pg_collation co ON co.oid = a.attcollation \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), \
    ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) \
          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), \
    f.relname, \
    ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) \
          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o), \
    k.confupdtype::text, k.confdeltype::text \
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_class f ON f.oid = k.confrelid \
    WHERE n.nspname = $1 AND k.contype IN ('p', 'u', 'f', 'c') \
    ORDER BY c.relname, k.conname";

const INDEXES: &str = "SELECT c.relname, ic.relname, i.indisunique, am.amname, pg_get_expr(i.indpred, i.indrelid, true), \
    ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
    ARRAY(SELECT (i.indkey[k - 1] <> 0) FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
    ARRAY(SELECT (i.indoption[k - 1] & 1) = 1 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
    EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) \
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = ic.relam \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
    ORDER BY c.relname, ic.relname";

const VIEWS: &str = "SELECT c.relname, pg_get_viewdef(c.oid, true) FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'";

const SEQUENCES: &str = "SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, \
    s.seqmax, s.seqcache, s.seqcycle, oc.relname, oa.attname \
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' \
    LEFT JOIN pg_class oc ON oc.oid = d.refobjid \
    LEFT JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid \
    WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass \
      AND i.objid = c.oid AND i.deptype = 'i')";

const ENUMS: &str = "SELECT t.typname, ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) \
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typtype = 'e'";

/// Introspects schema (namespace) `schema_name` of the database `client` is connected to.
pub async fn postgres(
    client: &tokio_postgres::Client,
    schema_name: &str,
) -> IntrospectResult<Schema> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            &[&schema_name],
        )
        .await?;
    if exists.is_none() {
        return Err(IntrospectError::NotFound {
            name: schema_name.to_owned(),
        });
    }
    let qualifier = format!("{schema_name}.");
    let local_type = |type_name: String| match type_name.strip_prefix(&qualifier) {
        Some(rest) => rest.to_owned(),
        None => type_name,
    };
    let mut schema = Schema::new();
    for row in client.query(TABLES, &[&schema_name]).await? {
        let name: String = get(&row, 0)?;
        let mut table = Table::new(name.clone());
        table.options.comment = get(&row, 1)?;
        // Declarative partitioning: `RANGE (at)` plus the partitions' bounds.
        if let Some(key) = get::<Option<String>>(&row, 2)? {
            let (method, expression) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            let kind = PartitioningKind::parse(method)
                .ok_or_else(|| unexpected(format!("partition method {method}")))?;
            let names: Vec<String> = get(&row, 3)?;
            let bounds: Vec<String> = get(&row, 4)?;
            table.partitioning = Some(Partitioning {
                kind,
                expression: expression
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_owned(),
                partitions: names
                    .into_iter()
                    .zip(bounds)
                    .map(|(name, bound)| Partition {
                        name,
                        bound: Some(bound),
                    })
                    .collect(),
                subpartitioning: None,
            });
        }
        schema.tables.insert(name, table);
    }
    let tables = &mut schema.tables;
    for row in client.query(COLUMNS, &[&schema_name]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, 0)?) else {
            continue;
        };
        let type_name = local_type(get(&row, 2)?);
        let mut column = Column::new(
            get::<String>(&row, 1)?,
            DataType::parse(&type_name, Dialect::Postgres),
        );
        column.nullable = !get::<bool>(&row, 3)?;
        let default: Option<String> = get(&row, 4)?;
        let generated: String = get(&row, 6)?;
        if generated == "s" {
            let expr = default.ok_or_else(|| unexpected("generated column without expression"))?;
            column.generated = Some(Generated {
                expr: Expr::new(expr),
                stored: true,
            });
        } else {
            column.default = default.map(|d| ColumnDefault::Expression(Expr::new(d)));
        }
        column.identity = match get::<String>(&row, 5)?.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        column.collation = get(&row, 7)?;
        column.comment = get(&row, 8)?;
        table.columns.push(column);
    }
    for row in client.query(CONSTRAINTS, &[&schema_name]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, 0)?) else {
            continue;
        };
        let name: String = get(&row, 1)?;
        let columns: Vec<String> = get(&row, 4)?;
        let parts = columns.iter().map(|c| IndexPart::column(c)).collect();
        match get::<String>(&row, 2)?.as_str() {
            "p" => table.primary_key = Some(PrimaryKey { name, parts }),
            "u" => {
                let mut index = Index::on(name, IndexKind::Unique, &[]);
                index.parts = parts;
                index.constraint = true;
                table.indexes.push(index);
            }
            "f" => {
                let action = |code: String| ForeignKeyAction::parse(&code).unwrap_or_default();
                table.foreign_keys.push(ForeignKey {
                    name,
                    columns,
                    referenced_table: get::<Option<String>>(&row, 5)?
                        .ok_or_else(|| unexpected("foreign key without table"))?,
                    referenced_columns: get(&row, 6)?,
                    on_update: action(get(&row, 7)?),
                    on_delete: action(get(&row, 8)?),
                });
            }
            _ => {
                let definition: String = get(&row, 3)?;
                let body = definition.trim();
                let body = body.strip_suffix(" NOT VALID").unwrap_or(body);
                let body = body.strip_prefix("CHECK ").unwrap_or(body);
                table.checks.push(CheckConstraint {
                    name,
                    expr: Expr::new(body),
                });
            }
        }
    }
    for row in client.query(INDEXES, &[&schema_name]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, 0)?) else {
            continue;
        };
        if get::<bool>(&row, 8)? {
            continue; // Backs a primary key or unique constraint, read above.
        }
        let definitions: Vec<String> = get(&row, 5)?;
        let is_column: Vec<bool> = get(&row, 6)?;
        let descending: Vec<bool> = get(&row, 7)?;
        let unique: bool = get(&row, 2)?;
        let kind = if unique {
            IndexKind::Unique
        } else {
            IndexKind::Plain
        };
        let mut index = Index::on(get::<String>(&row, 1)?, kind, &[]);
        for (position, definition) in definitions.into_iter().enumerate() {
            let target = if is_column.get(position).copied().unwrap_or(false) {
                IndexTarget::Column(unquote(&definition))
            } else {
                IndexTarget::Expression(Expr::new(definition))
            };
            index.parts.push(IndexPart {
                target,
                prefix: None,
                descending: descending.get(position).copied().unwrap_or(false),
            });
        }
        index.method = Some(get::<String>(&row, 3)?);
        index.predicate = get::<Option<String>>(&row, 4)?.map(Expr::new);
        table.indexes.push(index);
    }
    for row in client.query(VIEWS, &[&schema_name]).await? {
        let name: String = get(&row, 0)?;
        let body: String = get(&row, 1)?;
        schema.views.insert(name.clone(), View::new(name, body));
    }
    for row in client.query(SEQUENCES, &[&schema_name]).await? {
        let mut sequence = Sequence::new(get::<String>(&row, 0)?);
        sequence.data_type = DataType::parse(&get::<String>(&row, 1)?, Dialect::Postgres);
        sequence.start = get(&row, 2)?;
        sequence.increment = get(&row, 3)?;
        sequence.min_value = get(&row, 4)?;
        sequence.max_value = get(&row, 5)?;
        sequence.cache = get(&row, 6)?;
        sequence.cycle = get(&row, 7)?;
        let owner: (Option<String>, Option<String>) = (get(&row, 8)?, get(&row, 9)?);
        if let (Some(table), Some(column)) = owner {
            sequence.owned_by = Some((table, column));
        }
        schema.sequences.insert(sequence.name.clone(), sequence);
    }
    for row in client.query(ENUMS, &[&schema_name]).await? {
        let name: String = get(&row, 0)?;
        let values: Vec<String> = get(&row, 1)?;
        schema
            .enum_types
            .insert(name.clone(), EnumType { name, values });
    }
    Ok(schema.normalize(Dialect::Postgres))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> IntrospectResult<T> {
    row.try_get(index)
        .map_err(|error| unexpected(format!("catalog column {index}: {error}")))
}

/// `"Weird"` → `Weird`; plain names pass through.
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_owned(),
    }
}
