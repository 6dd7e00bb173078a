//! `pg_dump --schema-only`: the one complete source of a PostgreSQL schema (sequences,
//! types, functions, triggers, extensions, in dependency order); rebuilding that from the
//! catalogs would be a second pg_dump. `--schema-only` leaves out every row and sequence
//! value, so identity and serial columns of a copy start from 1. The schema copy that
//! replays it is in [`super::template`].

use std::process::Stdio;

use super::{KIND, PostgresAdmin};
use crate::cluster::find_pg_dump;
use crate::error::{EngineError, EngineResult};
use crate::physical::PhysicalName;

/// How long pg_dump waits for its ACCESS SHARE locks on the parent's tables (a running
/// ALTER TABLE holds an exclusive one) before giving up.
const LOCK_WAIT_TIMEOUT: &str = "30s";
/// The most of pg_dump's stderr an error message carries.
const STDERR_TAIL: usize = 2048;

/// Runs `pg_dump --schema-only` of `db` with the admin's connection settings and
/// returns its output.
pub(super) async fn run_pg_dump(admin: &PostgresAdmin, db: &PhysicalName) -> EngineResult<String> {
    let program = match admin.pg_dump.get() {
        Some(program) => program.clone(),
        None => {
            let found = find_pg_dump()?;
            admin.pg_dump.get_or_init(|| found).clone()
        }
    };
    let mut command = crate::pg_tool::command(&program, &admin.config);
    command
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            &format!("--lock-wait-timeout={LOCK_WAIT_TIMEOUT}"),
        ])
        // A physical name has no `=`, so pg_dump takes it as a name, not a conninfo.
        .arg(format!("--dbname={db}"))
        .stdin(Stdio::null());
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
pub(super) fn strip_meta_commands(dump: &str) -> EngineResult<String> {
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
