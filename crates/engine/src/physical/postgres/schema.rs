//! Introspection of a PostgreSQL database's `public` schema from `pg_catalog`.
//!
//! PostgreSQL has no SHOW CREATE TABLE, so one is rebuilt: columns with their types
//! (`format_type`), collations, defaults, identity or generation expressions and NOT
//! NULL, then every constraint (`pg_get_constraintdef`: primary key, unique, exclusion,
//! check, foreign key) and after the statement the indexes that back no constraint
//! (`pg_get_indexdef`). Views are `CREATE VIEW name AS` + `pg_get_viewdef`. Expressions
//! are printed under the session's default search path, where `public` is visible, so
//! nothing names the database: equal schemas give equal text in any two databases.

use std::collections::HashMap;

use tokio_postgres::Client;

use super::sql;
use crate::error::EngineResult;
use crate::physical::{SchemaObject, SchemaObjectKind};

/// The relations of `public` that are tables or views (partitions are left to their
/// parent), with their kind.
const RELATIONS: &str = "
    SELECT c.relname, c.relkind::text,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END,
           CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
           pg_catalog.quote_ident(c.relname)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition";

const COLUMNS: &str = "
    SELECT c.relname, pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod),
           a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid),
           a.attidentity::text, a.attgenerated::text,
           CASE WHEN a.attcollation <> t.typcollation THEN pg_catalog.quote_ident(co.collname) END
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum";

/// Constraints in a stable order: primary key, unique, exclusion, check, foreign key,
/// then by name.
const CONSTRAINTS: &str = "
    SELECT c.relname, pg_catalog.quote_ident(con.conname), pg_catalog.pg_get_constraintdef(con.oid, true)
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'x', 'c', 'f')
    ORDER BY c.relname, array_position(ARRAY['p', 'u', 'x', 'c', 'f'], con.contype::text),
             con.conname";

/// Indexes that no constraint owns (those are printed with their constraint).
const INDEXES: &str = "
    SELECT c.relname, pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                      WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
    ORDER BY c.relname, ic.relname";

/// The base and partitioned tables of `public`, sorted.
pub(super) async fn table_names(client: &Client) -> EngineResult<Vec<String>> {
    let rows = client.query(RELATIONS, &[]).await.map_err(sql)?;
    let mut names: Vec<String> = rows
        .iter()
        .filter(|row| matches!(row.get::<_, &str>(1), "r" | "p"))
        .map(|row| row.get(0))
        .collect();
    names.sort();
    Ok(names)
}

/// The tables and views of `public`, sorted by name.
pub(super) async fn schema(client: &Client) -> EngineResult<Vec<SchemaObject>> {
    // One read-only snapshot, so the four queries see the same catalog.
    let transaction_start = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    client.batch_execute(transaction_start).await.map_err(sql)?;
    let relations = client.query(RELATIONS, &[]).await.map_err(sql)?;
    let columns = client.query(COLUMNS, &[]).await.map_err(sql)?;
    let constraints = client.query(CONSTRAINTS, &[]).await.map_err(sql)?;
    let indexes = client.query(INDEXES, &[]).await.map_err(sql)?;
    client.batch_execute("COMMIT").await.map_err(sql)?;

    let mut lines: HashMap<String, Vec<String>> = HashMap::new();
    for row in &columns {
        let table: String = row.get(0);
        let column = Column {
            name: row.get(1),
            data_type: row.get(2),
            not_null: row.get(3),
            expression: row.get(4),
            identity: row.get(5),
            generated: row.get(6),
            collation: row.get(7),
        };
        lines.entry(table).or_default().push(column.render());
    }
    for row in &constraints {
        let table: String = row.get(0);
        let name: String = row.get(1);
        let definition: String = row.get(2);
        lines
            .entry(table)
            .or_default()
            .push(format!("CONSTRAINT {name} {definition}"));
    }
    let mut table_indexes: HashMap<String, Vec<String>> = HashMap::new();
    for row in &indexes {
        table_indexes
            .entry(row.get(0))
            .or_default()
            .push(row.get(1));
    }

    let mut schema: Vec<SchemaObject> = relations
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let kind: &str = row.get(1);
            let view_definition: Option<String> = row.get(2);
            let partition_key: Option<String> = row.get(3);
            let quoted: String = row.get(4);
            let (kind, definition) = match (kind, view_definition) {
                (relkind, Some(body)) => {
                    let what = if relkind == "m" {
                        "MATERIALIZED VIEW"
                    } else {
                        "VIEW"
                    };
                    let body = body.trim_end().trim_end_matches(';');
                    (
                        SchemaObjectKind::View,
                        format!("CREATE {what} {quoted} AS\n{body};"),
                    )
                }
                (_, None) => {
                    let body = lines.remove(&name).unwrap_or_default();
                    let mut definition = format!("CREATE TABLE {quoted} (");
                    if !body.is_empty() {
                        definition.push_str("\n    ");
                        definition.push_str(&body.join(",\n    "));
                        definition.push('\n');
                    }
                    definition.push(')');
                    if let Some(key) = partition_key {
                        definition.push_str(&format!(" PARTITION BY {key}"));
                    }
                    definition.push(';');
                    for index in table_indexes.remove(&name).unwrap_or_default() {
                        definition.push_str(&format!("\n{index};"));
                    }
                    (SchemaObjectKind::Table, definition)
                }
            };
            SchemaObject {
                name,
                kind,
                definition,
            }
        })
        .collect();
    schema.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(schema)
}

/// One column as `pg_attribute` describes it.
struct Column {
    /// Quoted where needed (`quote_ident`), as are the collation's and constraints' names.
    name: String,
    data_type: String,
    not_null: bool,
    /// The default, or the generation expression when `generated` is `s`.
    expression: Option<String>,
    /// `a` (ALWAYS), `d` (BY DEFAULT) or empty.
    identity: String,
    /// `s` (STORED) or empty.
    generated: String,
    /// A collation other than the type's default.
    collation: Option<String>,
}

impl Column {
    fn render(&self) -> String {
        let mut line = format!("{} {}", self.name, self.data_type);
        if let Some(collation) = &self.collation {
            line.push_str(&format!(" COLLATE {collation}"));
        }
        match (
            self.identity.as_str(),
            self.generated.as_str(),
            &self.expression,
        ) {
            ("a", _, _) => line.push_str(" GENERATED ALWAYS AS IDENTITY"),
            ("d", _, _) => line.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            (_, "s", Some(expression)) => {
                line.push_str(&format!(" GENERATED ALWAYS AS ({expression}) STORED"));
            }
            (_, _, Some(expression)) => line.push_str(&format!(" DEFAULT {expression}")),
            _ => {}
        }
        if self.not_null {
            line.push_str(" NOT NULL");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(identity: &str, generated: &str, expression: Option<&str>) -> Column {
        Column {
            name: "c".to_owned(),
            data_type: "integer".to_owned(),
            not_null: true,
            expression: expression.map(str::to_owned),
            identity: identity.to_owned(),
            generated: generated.to_owned(),
            collation: None,
        }
    }

    #[test]
    fn columns_render_like_create_table() {
        assert_eq!(
            column("a", "", None).render(),
            "c integer GENERATED ALWAYS AS IDENTITY NOT NULL"
        );
        assert_eq!(
            column("", "s", Some("(a * 2)")).render(),
            "c integer GENERATED ALWAYS AS ((a * 2)) STORED NOT NULL"
        );
        assert_eq!(
            column("", "", Some("0")).render(),
            "c integer DEFAULT 0 NOT NULL"
        );
    }
}
