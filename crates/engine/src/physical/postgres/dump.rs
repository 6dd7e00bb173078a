//! Schema copy on PostgreSQL: `pg_dump --schema-only` of the parent, replayed into the
//! child in one transaction as the child's owner role.
//!
//! pg_dump is the only complete source of a PostgreSQL schema (sequences, types,
//! functions, triggers, extensions, in dependency order); rebuilding that from the
//! catalogs would be a second pg_dump. `--schema-only` leaves out every row and sequence
//! value, so identity and serial columns of the copy start from 1.

use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use tokio::process::Command;
use tokio_postgres::config::Host;

use super::{KIND, PostgresAdmin, database_exists, missing_database, sql};
use crate::cluster::find_pg_dump;
use crate::error::{EngineError, EngineResult};
use crate::physical::PhysicalName;
use crate::physical::names::postgres_identifier;

/// How long pg_dump waits for its ACCESS SHARE locks on the parent's tables (a running
/// ALTER TABLE holds an exclusive one) before giving up.
const LOCK_WAIT_TIMEOUT: &str = "30s";
/// How long pg_dump may take to connect.
const CONNECT_TIMEOUT_SECONDS: &str = "10";
/// The most of pg_dump's stderr an error message carries.
const STDERR_TAIL: usize = 2048;

/// Copies the schema of `from` into `to`, atomically.
///
/// The whole dump is replayed in one transaction that also sets a marker, the comment
/// `dbplane: schema copied from <from>` on database `to`. A crash before the COMMIT
/// leaves `to` as it was; after it the marker is there and a repeat is a no-op. So `to`
/// never holds part of a copy. It runs as `SET ROLE <to>_owner`, which makes the owner
/// role own every copied object (the dump is taken with `--no-owner`), as if an admin
/// had created them.
pub(super) async fn copy_schema(
    admin: &PostgresAdmin,
    from: &PhysicalName,
    to: &PhysicalName,
) -> EngineResult<()> {
    let client = admin.maintenance().await?;
    for db in [from, to] {
        if !database_exists(&client, db).await? {
            return Err(missing_database(db));
        }
    }
    let marker = format!("dbplane: schema copied from {from}");
    let comment: Option<String> = client
        .query_one(
            "SELECT pg_catalog.shobj_description(oid, 'pg_database')
             FROM pg_catalog.pg_database WHERE datname = $1",
            &[&to.as_str()],
        )
        .await
        .map_err(sql)?
        .get(0);
    if comment.as_deref() == Some(marker.as_str()) {
        return Ok(());
    }

    let started = std::time::Instant::now();
    let dump = run_pg_dump(admin, from).await?;
    let dumped = started.elapsed();
    let script = strip_meta_commands(&dump)?;
    let owner = postgres_identifier(to.owner()?.as_str());
    let target = postgres_identifier(to.as_str());
    // `marker` is built from a validated name and fixed text: no quote to escape.
    let transaction = format!(
        "BEGIN;\nSET LOCAL ROLE {owner};\n{script}\nCOMMENT ON DATABASE {target} IS '{marker}';\nCOMMIT;"
    );
    let inside = admin.open(to.as_str()).await?;
    // On error the transaction is left aborted and dropping the connection rolls it back.
    inside.batch_execute(&transaction).await.map_err(sql)?;
    tracing::debug!(
        %from, %to, dump = ?dumped, apply = ?(started.elapsed() - dumped), bytes = dump.len(),
        "schema copied"
    );
    Ok(())
}

/// Runs `pg_dump --schema-only` of `db` with the admin's connection settings and
/// returns its output.
async fn run_pg_dump(admin: &PostgresAdmin, db: &PhysicalName) -> EngineResult<String> {
    let program = match admin.pg_dump.get() {
        Some(program) => program.clone(),
        None => {
            let found = find_pg_dump()?;
            admin.pg_dump.get_or_init(|| found).clone()
        }
    };
    let config = &admin.config;
    let mut command = Command::new(&program);
    command
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            &format!("--lock-wait-timeout={LOCK_WAIT_TIMEOUT}"),
        ])
        // A physical name has no `=`, so pg_dump takes it as a name, not a conninfo.
        .arg(format!("--dbname={db}"))
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
        // Settings meant for other connections must not redirect this one.
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => {
            command.arg(format!("--host={host}"));
        }
        Some(Host::Unix(directory)) => {
            command.arg("--host").arg(directory);
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        command.arg(format!("--port={port}"));
    }
    if let Some(user) = config.get_user() {
        command.arg(format!("--username={user}"));
    }
    // In the environment rather than on the command line, where `ps` would show it.
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", std::ffi::OsStr::from_bytes(password));
    }
    let output = command
        .output()
        .await
        .map_err(|error| EngineError::SchemaCopy {
            kind: KIND,
            detail: format!("run {}: {error}", program.display()),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail = &stderr[stderr.floor_char_boundary(stderr.len().saturating_sub(STDERR_TAIL))..];
        return Err(EngineError::SchemaCopy {
            kind: KIND,
            detail: format!(
                "pg_dump of `{db}` exited ({}): {}",
                output.status,
                tail.trim()
            ),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| EngineError::SchemaCopy {
        kind: KIND,
        detail: format!("pg_dump of `{db}` printed invalid UTF-8"),
    })
}

/// Drops the `\restrict KEY` / `\unrestrict KEY` lines that pg_dump has framed plain
/// dumps with since 15.14 (for psql, which the server does not understand); any other
/// psql meta-command is refused rather than sent to the server.
fn strip_meta_commands(dump: &str) -> EngineResult<String> {
    let mut script = String::with_capacity(dump.len());
    for line in dump.lines() {
        if line.starts_with('\\') {
            if line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ") {
                continue;
            }
            return Err(EngineError::SchemaCopy {
                kind: KIND,
                detail: format!("unexpected psql meta-command in pg_dump output: {line}"),
            });
        }
        script.push_str(line);
        script.push('\n');
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrict_lines_are_dropped_and_others_refused() {
        let dump = "--\n\\restrict abc\nCREATE TABLE public.t ();\n\\unrestrict abc\n";
        assert_eq!(
            strip_meta_commands(dump).unwrap(),
            "--\nCREATE TABLE public.t ();\n"
        );
        assert!(strip_meta_commands("\\connect other\n").is_err());
    }
}
