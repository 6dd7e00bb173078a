//! MariaDB: `information_schema` for tables, columns, keys and constraints, `SHOW CREATE
//! VIEW` for view bodies (information_schema qualifies every name with the database).

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use super::{IntrospectError, IntrospectResult, unexpected};
use crate::model::{
    CheckConstraint, Column, ColumnDefault, DataType, ForeignKey, ForeignKeyAction, Generated,
    Index, IndexKind, IndexPart, IndexTarget, Partition, Partitioning, PartitioningKind,
    PrimaryKey, Schema, Table, View,
};
use crate::{Dialect, Expr};

/// Connects to `url` (TCP, as `mysql_async` URLs go) and introspects `database`.
pub async fn mariadb_url(url: &str, database: &str) -> IntrospectResult<Schema> {
    let options =
        mysql_async::Opts::from_url(url).map_err(|e| unexpected(format!("bad url: {e}")))?;
    let options = mysql_async::OptsBuilder::from_opts(options).prefer_socket(false);
    let mut connection = mysql_async::Conn::new(options).await?;
    let schema = mariadb(&mut connection, database).await;
    connection.disconnect().await?;
    schema
}

/// Introspects `database` over an open connection.
pub async fn mariadb(
    connection: &mut mysql_async::Conn,
    database: &str,
) -> IntrospectResult<Schema> {
    let mut schema = Schema::new();
    let rows: Vec<Row> = connection
        .exec(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await?;
    let Some(row) = rows.first() else {
        return Err(IntrospectError::NotFound {
            name: database.to_owned(),
        });
    };
    schema.charset = text(row, 0)?;
    schema.collation = text(row, 1)?;

    let mut views = Vec::new();
    let rows: Vec<Row> = connection
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (database,),
        )
        .await?;
    for row in &rows {
        let name = required(row, 0, "table name")?;
        match text(row, 1)?.as_deref() {
            Some("VIEW") => {
                views.push(name);
                continue;
            }
            Some("BASE TABLE" | "SYSTEM VERSIONED") => {}
            // MariaDB sequences and temporary tables are outside the model.
            _ => continue,
        }
        let mut table = Table::new(name.clone());
        table.options.engine = text(row, 2)?;
        table.options.collation = text(row, 3)?;
        table.options.comment = text(row, 5)?;
        let create_options = text(row, 4)?.unwrap_or_default();
        table.options.row_format = create_options
            .split_whitespace()
            .find_map(|option| option.strip_prefix("row_format="))
            .map(str::to_ascii_uppercase);
        schema.tables.insert(name, table);
    }

    read_columns(connection, database, &mut schema.tables).await?;
    // The reads are separate statements: a table dropped (or renamed away) between the
    // list and its columns would come out with none, which no server accepts back.
    schema.tables.retain(|_, table| !table.columns.is_empty());
    read_indexes(connection, database, &mut schema.tables).await?;
    read_foreign_keys(connection, database, &mut schema.tables).await?;
    read_checks(connection, database, &mut schema.tables).await?;
    read_partitions(connection, database, &mut schema.tables).await?;

    if !views.is_empty() {
        // `SHOW CREATE VIEW` writes the body's names relative to the session's default
        // database: qualified with this database's (physical, per-branch) name from any
        // other. Make them relative to it, so the same view reads the same on every
        // branch, whatever database a reused connection was left in.
        connection
            .query_drop(format!("USE {}", crate::ddl::mariadb::ident(database)))
            .await?;
    }
    for name in views {
        let query = format!(
            "SHOW CREATE VIEW {}.{}",
            crate::ddl::mariadb::ident(database),
            crate::ddl::mariadb::ident(&name)
        );
        let rows: Vec<Row> = connection.query(query).await?;
        let create = rows
            .first()
            .map(|row| required(row, 1, "view definition"))
            .transpose()?;
        let create = create.ok_or_else(|| unexpected(format!("no definition for view {name}")))?;
        // `CREATE ALGORITHM=... DEFINER=... SQL SECURITY ... VIEW `v` AS select ...`
        // (older servers may still qualify the view's own name).
        let view = crate::ddl::mariadb::ident(&name);
        let qualified = format!("{}.{view}", crate::ddl::mariadb::ident(database));
        let body = [format!("VIEW {view} AS "), format!("VIEW {qualified} AS ")]
            .iter()
            .find_map(|marker| create.split_once(marker.as_str()))
            .map(|(_, body)| body.to_owned())
            .ok_or_else(|| unexpected(format!("cannot read definition of view {name}")))?;
        schema.views.insert(name.clone(), View::new(name, body));
    }
    Ok(schema.normalize(Dialect::Mariadb))
}

async fn read_columns(
    connection: &mut mysql_async::Conn,
    database: &str,
    tables: &mut BTreeMap<String, Table>,
) -> IntrospectResult<()> {
    let rows: Vec<Row> = connection
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
             GENERATION_EXPRESSION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        .await?;
    for row in &rows {
        let table_name = required(row, 0, "column table")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let name = required(row, 1, "column name")?;
        let column_type = required(row, 2, "column type")?;
        let mut column = Column::new(name, DataType::parse(&column_type, Dialect::Mariadb));
        column.nullable = text(row, 3)?.as_deref() == Some("YES");
        // 10.2.7+: SQL NULL is "no default", the string NULL is DEFAULT NULL, literals
        // are quoted and expressions are not.
        column.default = match text(row, 4)? {
            None => None,
            Some(value) if value == "NULL" => Some(ColumnDefault::Null),
            Some(value) => Some(ColumnDefault::Expression(Expr::new(value))),
        };
        let extra = text(row, 5)?.unwrap_or_default();
        let extra_lower = extra.to_ascii_lowercase();
        column.auto_increment = extra_lower.contains("auto_increment");
        if let Some(start) = extra_lower.find("on update ") {
            let rest = &extra[start + "on update ".len()..];
            let end = rest.find(')').map(|i| i + 1).unwrap_or(rest.len());
            column.on_update = Some(Expr::new(&rest[..end]));
        }
        if extra_lower.contains("generated") {
            let expr =
                text(row, 6)?.ok_or_else(|| unexpected("generated column without expression"))?;
            column.generated = Some(Generated {
                expr: Expr::new(expr),
                stored: extra_lower.contains("stored"),
            });
            column.default = None;
        }
        column.charset = text(row, 7)?;
        column.collation = text(row, 8)?;
        column.comment = text(row, 9)?;
        table.columns.push(column);
    }
    Ok(())
}

async fn read_indexes(
    connection: &mut mysql_async::Conn,
    database: &str,
    tables: &mut BTreeMap<String, Table>,
) -> IntrospectResult<()> {
    let rows: Vec<Row> = connection
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION, INDEX_COMMENT \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        .await?;
    for row in &rows {
        let table_name = required(row, 0, "index table")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let index_name = required(row, 1, "index name")?;
        let Some(column) = text(row, 3)? else {
            continue;
        };
        let part = IndexPart {
            target: IndexTarget::Column(column),
            prefix: text(row, 4)?.and_then(|p| p.parse().ok()),
            descending: text(row, 6)?.as_deref() == Some("D"),
        };
        if index_name == "PRIMARY" {
            table
                .primary_key
                .get_or_insert_with(|| PrimaryKey {
                    name: "PRIMARY".to_owned(),
                    parts: Vec::new(),
                })
                .parts
                .push(part);
            continue;
        }
        if let Some(index) = table.indexes.iter_mut().find(|i| i.name == index_name) {
            index.parts.push(part);
            continue;
        }
        let index_type = text(row, 5)?.unwrap_or_default().to_ascii_uppercase();
        let kind = match (index_type.as_str(), text(row, 2)?.as_deref()) {
            ("FULLTEXT", _) => IndexKind::Fulltext,
            ("SPATIAL", _) => IndexKind::Spatial,
            (_, Some("0")) => IndexKind::Unique,
            _ => IndexKind::Plain,
        };
        let mut index = Index::on(index_name, kind, &[]);
        index.parts.push(part);
        index.method = (index_type == "HASH").then(|| "HASH".to_owned());
        index.comment = text(row, 7)?;
        table.indexes.push(index);
    }
    Ok(())
}

async fn read_foreign_keys(
    connection: &mut mysql_async::Conn,
    database: &str,
    tables: &mut BTreeMap<String, Table>,
) -> IntrospectResult<()> {
    let rows: Vec<Row> = connection
        .exec(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
             r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database,),
        )
        .await?;
    for row in &rows {
        let table_name = required(row, 0, "foreign key table")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let name = required(row, 1, "foreign key name")?;
        let column = required(row, 2, "foreign key column")?;
        let referenced_column = required(row, 4, "referenced column")?;
        if let Some(fk) = table.foreign_keys.iter_mut().find(|fk| fk.name == name) {
            fk.columns.push(column);
            fk.referenced_columns.push(referenced_column);
            continue;
        }
        let action = |value: Option<String>| {
            value
                .as_deref()
                .and_then(ForeignKeyAction::parse)
                .unwrap_or(ForeignKeyAction::Restrict)
        };
        table.foreign_keys.push(ForeignKey {
            name,
            columns: vec![column],
            referenced_table: required(row, 3, "referenced table")?,
            referenced_columns: vec![referenced_column],
            on_update: action(text(row, 5)?),
            on_delete: action(text(row, 6)?),
        });
    }
    Ok(())
}

async fn read_checks(
    connection: &mut mysql_async::Conn,
    database: &str,
    tables: &mut BTreeMap<String, Table>,
) -> IntrospectResult<()> {
    let rows: Vec<Row> = connection
        .exec(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
            (database,),
        )
        .await?;
    for row in &rows {
        let table_name = required(row, 0, "check table")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        table.checks.push(CheckConstraint {
            name: required(row, 1, "check name")?,
            expr: Expr::new(required(row, 2, "check clause")?),
        });
    }
    Ok(())
}

async fn read_partitions(
    connection: &mut mysql_async::Conn,
    database: &str,
    tables: &mut BTreeMap<String, Table>,
) -> IntrospectResult<()> {
    let rows: Vec<Row> = connection
        .exec(
            "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, SUBPARTITION_METHOD, PARTITION_EXPRESSION, \
             PARTITION_DESCRIPTION FROM information_schema.PARTITIONS \
             WHERE TABLE_SCHEMA = ? AND PARTITION_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION",
            (database,),
        )
        .await?;
    for row in &rows {
        let table_name = required(row, 0, "partition table")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let name = required(row, 1, "partition name")?;
        let method = text(row, 2)?.unwrap_or_default();
        let kind = PartitioningKind::parse(&method)
            .ok_or_else(|| unexpected(format!("partition method {method}")))?;
        let partitioning = table.partitioning.get_or_insert_with(|| Partitioning {
            kind,
            expression: String::new(),
            partitions: Vec::new(),
            subpartitioning: None,
        });
        partitioning.expression = text(row, 4)?.unwrap_or_default();
        partitioning.subpartitioning = text(row, 3)?;
        if partitioning.partitions.iter().any(|p| p.name == name) {
            continue;
        }
        partitioning.partitions.push(Partition {
            name,
            bound: text(row, 5)?,
        });
    }
    Ok(())
}

/// A column as text; NULL is `None`. Bytes that are not UTF-8 are replaced rather than
/// failing, since names and comments are UTF-8 on a utf8mb4 server anyway.
fn text(row: &Row, index: usize) -> IntrospectResult<Option<String>> {
    match row.as_ref(index) {
        None => Err(unexpected(format!("missing column {index}"))),
        Some(Value::NULL) => Ok(None),
        Some(Value::Bytes(bytes)) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        Some(Value::Int(value)) => Ok(Some(value.to_string())),
        Some(Value::UInt(value)) => Ok(Some(value.to_string())),
        Some(other) => Ok(Some(other.as_sql(true).trim_matches('\'').to_owned())),
    }
}

fn required(row: &Row, index: usize, what: &str) -> IntrospectResult<String> {
    text(row, index)?.ok_or_else(|| unexpected(format!("{what} is null")))
}
