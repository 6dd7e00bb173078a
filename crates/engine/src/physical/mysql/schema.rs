//! Schema copy and introspection on MariaDB, from the server's own `SHOW CREATE` text.
//!
//! Every statement here runs with the session's current database set (`USE`): MariaDB
//! then prints references to that database's objects unqualified, so definitions read
//! from `from` replay unchanged inside `to`, and [`schema`] is independent of the
//! database's name.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};

use super::{CREDENTIAL_HOST, KIND, checkout, database_exists, missing_database, sql};
use crate::error::{EngineError, EngineResult};
use crate::physical::{PhysicalName, SchemaObject, SchemaObjectKind};
use dbplane_schema::quote::mariadb_ident;

/// How many sessions create tables side by side during a copy.
const COPY_CONNECTIONS: usize = 4;
/// ER_NO_SUCH_TABLE: a view refers to a view that is not created yet.
const NO_SUCH_TABLE: u16 = 1146;

/// What `information_schema.TABLES` says an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ObjectKind {
    /// `BASE TABLE` or `SYSTEM VERSIONED`.
    Table,
    /// A MariaDB `SEQUENCE`, which SHOW CREATE TABLE would print as a plain table.
    Sequence,
    /// `VIEW`.
    View,
}

/// A table, sequence or view of a database.
#[derive(Clone, Debug)]
pub(super) struct Object {
    pub(super) name: String,
    pub(super) kind: ObjectKind,
}

/// The objects of `db` without deploy artifacts, sorted by name (byte order, independent
/// of collations).
pub(super) async fn objects(connection: &mut Conn, db: &str) -> EngineResult<Vec<Object>> {
    let rows: Vec<(String, String)> = connection
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .map_err(sql)?;
    let mut objects: Vec<Object> = rows
        .into_iter()
        .filter(|(name, _)| !crate::deploy::is_deploy_artifact(name))
        .map(|(name, kind)| Object {
            name,
            kind: match kind.as_str() {
                "VIEW" => ObjectKind::View,
                "SEQUENCE" => ObjectKind::Sequence,
                _ => ObjectKind::Table,
            },
        })
        .collect();
    objects.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(objects)
}

/// Copies every table, sequence and view of `from` into `to`, schema only.
///
/// Idempotent without a marker: objects already in `to` are left alone and only the
/// missing ones are created, so a copy interrupted after some CREATEs (each one is
/// atomic in MariaDB 10.6+) is finished by the next run, and a completed one is a no-op.
/// Tables are created with foreign key checks off, so their order does not matter (and
/// several sessions create them at once, see [`create_tables`]);
/// views come after them, retried in rounds until those they read from exist. Copied
/// views get `to`'s owner account as definer: the parent's definer is a credential of
/// the parent, which does not exist on the child.
pub(super) async fn copy_schema(
    pool: &Pool,
    connect_timeout: Duration,
    from: &PhysicalName,
    to: &PhysicalName,
) -> EngineResult<()> {
    let mut connection = checkout(pool, connect_timeout).await?;
    for db in [from, to] {
        if !database_exists(&mut connection, db.as_str()).await? {
            return Err(missing_database(db));
        }
    }
    let existing: HashSet<String> = objects(&mut connection, to.as_str())
        .await?
        .into_iter()
        .map(|object| object.name)
        .collect();
    use_database(&mut connection, from).await?;
    let mut tables = Vec::new();
    let mut views = Vec::new();
    for object in objects(&mut connection, from.as_str()).await? {
        if existing.contains(&object.name) {
            continue;
        }
        let definition = show_create(&mut connection, &object).await?;
        match object.kind {
            ObjectKind::View => views.push(definition),
            ObjectKind::Table => tables.push(strip_auto_increment(&definition)),
            ObjectKind::Sequence => tables.push(definition),
        }
    }
    if tables.is_empty() && views.is_empty() {
        return Ok(());
    }

    create_tables(pool, connect_timeout, to, tables).await?;
    use_database(&mut connection, to).await?;
    let views = views
        .iter()
        .map(|view| crate::views::owned_by(view, to))
        .collect::<EngineResult<Vec<_>>>()?;
    create_views(&mut connection, views).await
}

/// Runs the CREATE TABLE statements on [`COPY_CONNECTIONS`] sessions at once, each with
/// foreign key checks off. A CREATE TABLE costs about ten fsyncs in MariaDB (DDL log,
/// `.frm`, tablespace), so sessions waiting on the disk side by side make a wide schema
/// copy several times faster than one session would.
async fn create_tables(
    pool: &Pool,
    connect_timeout: Duration,
    to: &PhysicalName,
    tables: Vec<String>,
) -> EngineResult<()> {
    let sessions = COPY_CONNECTIONS.min(tables.len());
    let queue = Arc::new(std::sync::Mutex::new(tables));
    let mut workers: tokio::task::JoinSet<EngineResult<()>> = tokio::task::JoinSet::new();
    for _ in 0..sessions {
        let pool = pool.clone();
        let queue = Arc::clone(&queue);
        let to = to.clone();
        workers.spawn(async move {
            let mut connection = checkout(&pool, connect_timeout).await?;
            use_database(&mut connection, &to).await?;
            connection
                .query_drop("SET SESSION FOREIGN_KEY_CHECKS = 0")
                .await
                .map_err(sql)?;
            loop {
                // The guard is dropped at the end of the statement, before the await.
                let next = queue.lock().map(|mut queue| queue.pop()).ok().flatten();
                let Some(table) = next else {
                    return Ok(());
                };
                connection.query_drop(table).await.map_err(sql)?;
            }
        });
    }
    // The first failure wins; dropping the JoinSet aborts the other sessions.
    while let Some(outcome) = workers.join_next().await {
        outcome.map_err(|error| EngineError::SchemaCopy {
            kind: KIND,
            detail: format!("a table-creating task failed: {error}"),
        })??;
    }
    Ok(())
}

/// Gives the views of `db` whose definer is `'username'@'%'` the database's owner
/// account as definer: a view whose definer was dropped fails on every read.
pub(super) async fn reassign_views(
    connection: &mut Conn,
    username: &PhysicalName,
    db: &PhysicalName,
) -> EngineResult<()> {
    let views: Vec<String> = connection
        .exec(
            "SELECT TABLE_NAME FROM information_schema.VIEWS
             WHERE TABLE_SCHEMA = ? AND DEFINER = ?",
            (db.as_str(), format!("{username}@{CREDENTIAL_HOST}")),
        )
        .await
        .map_err(sql)?;
    if views.is_empty() {
        return Ok(());
    }
    use_database(connection, db).await?;
    for name in views {
        let object = Object {
            name,
            kind: ObjectKind::View,
        };
        let definition = crate::views::owned_by(&show_create(connection, &object).await?, db)?;
        // SHOW CREATE VIEW starts with `CREATE `; OR REPLACE swaps the view atomically.
        let Some(rest) = definition.strip_prefix("CREATE ") else {
            continue;
        };
        connection
            .query_drop(format!("CREATE OR REPLACE {rest}"))
            .await
            .map_err(sql)?;
    }
    Ok(())
}

/// Creates `views` in an order where each one's sources exist: every round creates
/// what it can; a round without progress fails with the server's error.
async fn create_views(connection: &mut Conn, mut pending: Vec<String>) -> EngineResult<()> {
    while !pending.is_empty() {
        let round = pending.len();
        let mut waiting = Vec::new();
        let mut last_error = None;
        for view in pending {
            match connection.query_drop(view.as_str()).await {
                Ok(()) => {}
                Err(mysql_async::Error::Server(error)) if error.code == NO_SUCH_TABLE => {
                    last_error = Some(mysql_async::Error::Server(error));
                    waiting.push(view);
                }
                Err(error) => return Err(sql(error)),
            }
        }
        if waiting.len() == round
            && let Some(error) = last_error
        {
            // Nothing could be created: a source is missing for good.
            return Err(sql(error));
        }
        pending = waiting;
    }
    Ok(())
}

/// The tables and views of `db`, sorted by name, as [`SchemaObject`] documents them.
pub(super) async fn schema(
    connection: &mut Conn,
    db: &PhysicalName,
) -> EngineResult<Vec<SchemaObject>> {
    if !database_exists(connection, db.as_str()).await? {
        return Err(missing_database(db));
    }
    use_database(connection, db).await?;
    let mut schema = Vec::new();
    for object in objects(connection, db.as_str()).await? {
        let definition = show_create(connection, &object).await?;
        let (kind, definition) = match object.kind {
            ObjectKind::View => (
                SchemaObjectKind::View,
                crate::views::without_definer(&definition),
            ),
            ObjectKind::Table => (SchemaObjectKind::Table, strip_auto_increment(&definition)),
            ObjectKind::Sequence => (SchemaObjectKind::Table, definition),
        };
        schema.push(SchemaObject {
            name: object.name,
            kind,
            definition,
        });
    }
    Ok(schema)
}

async fn use_database(connection: &mut Conn, db: &PhysicalName) -> EngineResult<()> {
    connection
        .query_drop(format!("USE {}", mariadb_ident(db.as_str())))
        .await
        .map_err(sql)
}

/// The server's CREATE statement for `object` in the current database.
async fn show_create(connection: &mut Conn, object: &Object) -> EngineResult<String> {
    let what = match object.kind {
        ObjectKind::Table => "TABLE",
        ObjectKind::Sequence => "SEQUENCE",
        ObjectKind::View => "VIEW",
    };
    let row: Option<mysql_async::Row> = connection
        .query_first(format!(
            "SHOW CREATE {what} {}",
            mariadb_ident(&object.name)
        ))
        .await
        .map_err(sql)?;
    // Column 1 is the statement for all three (views add two charset columns after it).
    row.and_then(|row| row.get::<String, _>(1))
        .ok_or_else(|| EngineError::NotFound {
            kind: KIND,
            what: format!("{} `{}`", what.to_lowercase(), object.name),
        })
}

/// Drops the `AUTO_INCREMENT=N` table option: it is the next row id, data rather than
/// schema, and a copy must start from 1. Only the options after the closing parenthesis
/// of the column list are looked at, so a column comment saying `AUTO_INCREMENT=5`
/// stays as it is.
fn strip_auto_increment(definition: &str) -> String {
    const OPTION: &str = " AUTO_INCREMENT=";
    let options_start = definition.rfind("\n)").unwrap_or(definition.len());
    let (columns, options) = definition.split_at(options_start);
    let Some(start) = options.find(OPTION) else {
        return definition.to_owned();
    };
    let digits = options[start + OPTION.len()..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    let end = start + OPTION.len() + digits;
    format!("{columns}{}{}", &options[..start], &options[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_increment_option_is_stripped() {
        let definition = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT COMMENT 'AUTO_INCREMENT=5',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4";
        assert_eq!(
            strip_auto_increment(definition),
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT COMMENT 'AUTO_INCREMENT=5',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        let without = "CREATE TABLE `t` (\n  `id` int(11)\n) ENGINE=InnoDB";
        assert_eq!(strip_auto_increment(without), without);
    }
}
