//! Round trips on real servers, one MariaDB and one PostgreSQL shared by every case (a
//! fresh database per case, dropped after):
//!
//! - `introspect(create(ddl(A))) == normalize(A)`,
//! - `introspect(apply(diff(A, B), A)) == normalize(B)`,
//! - `diff(A, A)` is empty.
//!
//! Cases per engine: `DBPLANE_SCHEMA_CASES` (default 300). Seed: `DBPLANE_SCHEMA_SEED`
//! or `PROPTEST_RNG_SEED` (default fixed), so a failure reproduces.

#[path = "golden/changes.rs"]
mod changes;
#[path = "roundtrip/generator.rs"]
mod generator;
#[path = "roundtrip/servers.rs"]
mod servers;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use dbplane_schema::diff::diff;
use dbplane_schema::{Dialect, Schema, ServerVersion, ddl};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use servers::{EngineConnection, Servers};

fn config() -> Config {
    let cases = std::env::var("DBPLANE_SCHEMA_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed = std::env::var("DBPLANE_SCHEMA_SEED")
        .or_else(|_| std::env::var("PROPTEST_RNG_SEED"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00d8_91a4_e5ee_d5ee);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    }
}

/// PostgreSQL appends new columns: the order B can reach from A.
fn reachable_column_order(a: &Schema, b: &mut Schema) {
    let a = a.normalize(Dialect::Postgres);
    for (name, table) in b.tables.iter_mut() {
        let Some(old) = a.tables.get(name) else {
            continue;
        };
        let same_generation = |column: &dbplane_schema::Column| {
            old.columns
                .iter()
                .find(|c| c.name == column.name)
                .is_some_and(|c| c.generated.is_some() == column.generated.is_some())
        };
        let mut kept: Vec<_> = Vec::new();
        for old_column in &old.columns {
            if let Some(column) = table.columns.iter().find(|c| c.name == old_column.name)
                && same_generation(column)
            {
                kept.push(column.clone());
            }
        }
        let rest: Vec<_> = table
            .columns
            .iter()
            .filter(|c| !kept.iter().any(|k| k.name == c.name))
            .cloned()
            .collect();
        kept.extend(rest);
        table.columns = kept;
    }
}

/// Every golden change kind, forward then backward, on the real server.
fn run_change_kinds(engine: &mut EngineConnection, runtime: &tokio::runtime::Handle) {
    let dialect = engine.dialect();
    let specific = match dialect {
        Dialect::Mariadb => changes::MARIADB_ONLY,
        Dialect::Postgres => changes::POSTGRES_ONLY,
    };
    let mut failures = Vec::new();
    for (position, (name, change)) in changes::COMMON.iter().chain(specific).enumerate() {
        let from = changes::base(dialect);
        let mut to = from.clone();
        change(&mut to, dialect);
        let version = ServerVersion::default_for(dialect);
        let reverse_supported = diff(&to, &from, dialect, version).unsupported.is_empty();
        if !diff(&from, &to, dialect, version).unsupported.is_empty() {
            continue;
        }
        let database = format!("kind_{position}");
        if let Err(error) = runtime.block_on(check_case(engine, &database, &from, &to)) {
            failures.push(format!("{name}: {error}"));
        } else if !reverse_supported {
            continue;
        } else if let Err(error) = runtime.block_on(check_case(engine, &database, &to, &from)) {
            failures.push(format!("{name} (reverse): {error}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{dialect:?} change kinds failed:\n{}",
        failures.join("\n\n")
    );
}

fn run_property(engine: EngineConnection, runtime: &tokio::runtime::Handle) {
    let dialect = engine.dialect();
    // proptest wants an `Fn`; cases run one at a time.
    let engine = tokio::sync::Mutex::new(engine);
    let counter = AtomicU32::new(0);
    let started = Instant::now();
    let mut runner = TestRunner::new(config());
    let strategy = (any::<u64>(), 1usize..5, 0usize..7);
    let result = runner.run(&strategy, |(seed, tables, mutations)| {
        let (a, mut b) = generator::schema_pair(seed, tables, mutations, dialect);
        if dialect == Dialect::Postgres {
            reachable_column_order(&a, &mut b);
        }
        let case = counter.fetch_add(1, Ordering::Relaxed);
        let database = format!("rt_{case}");
        runtime
            .block_on(async {
                let mut engine = engine.lock().await;
                check_case(&mut engine, &database, &a, &b).await
            })
            .map_err(TestCaseError::fail)
    });
    eprintln!(
        "{dialect:?}: {} cases in {:?}",
        counter.load(Ordering::Relaxed),
        started.elapsed()
    );
    if let Err(error) = result {
        panic!("{dialect:?} round trip failed: {error}");
    }
}

async fn check_case(
    engine: &mut EngineConnection,
    database: &str,
    a: &Schema,
    b: &Schema,
) -> Result<(), String> {
    let dialect = engine.dialect();
    let version = ServerVersion::default_for(dialect);
    let outcome = async {
        engine.create_database(database).await?;
        let create = ddl::create_statements(a, dialect);
        engine.apply(database, &create).await?;
        let introspected = engine.introspect(database).await?;
        let expected_a = a.normalize(dialect);
        if introspected != expected_a {
            return Err(format!(
                "introspect(create(A)) != A\nDDL:\n{}\n{}",
                create.join(";\n"),
                describe_difference(&expected_a, &introspected, dialect)
            ));
        }
        if !diff(a, a, dialect, version).is_empty() {
            return Err("diff(A, A) is not empty".to_owned());
        }
        let changes = diff(a, b, dialect, version);
        if !changes.unsupported.is_empty() {
            return Err(format!("unsupported: {:?}", changes.unsupported));
        }
        let statements: Vec<String> = changes.statements.iter().map(|s| s.sql.clone()).collect();
        engine
            .apply(database, &statements)
            .await
            .map_err(|e| format!("{e}\nA DDL:\n{}", create.join(";\n")))?;
        let introspected = engine.introspect(database).await?;
        let expected_b = b.normalize(dialect);
        if introspected != expected_b {
            return Err(format!(
                "introspect(apply(diff(A, B))) != B\nA DDL:\n{}\nDIFF:\n{}\n{}",
                create.join(";\n"),
                statements.join(";\n"),
                describe_difference(&expected_b, &introspected, dialect)
            ));
        }
        if !diff(&introspected, b, dialect, version).is_empty() {
            return Err("diff(introspected B, B) is not empty".to_owned());
        }
        Ok(())
    }
    .await;
    let dropped = engine.drop_database(database).await;
    outcome?;
    dropped
}

/// The tables and views that differ, as canonical DDL (what a reader compares best),
/// with the model's debug form when the DDL alone does not show it.
fn describe_difference(expected: &Schema, actual: &Schema, dialect: Dialect) -> String {
    let mut out = String::new();
    let names: std::collections::BTreeSet<&String> =
        expected.tables.keys().chain(actual.tables.keys()).collect();
    let single = |schema: &Schema, name: &str| {
        let mut one = Schema::new();
        one.collation = schema.collation.clone();
        if let Some(table) = schema.tables.get(name) {
            one.add_table(table.clone());
        }
        ddl::create_statements(&one, dialect).join(";\n")
    };
    for name in names {
        if expected.tables.get(name) != actual.tables.get(name) {
            let (want, got) = (single(expected, name), single(actual, name));
            out.push_str(&format!(
                "table {name}\n expected: {want}\n actual:   {got}\n"
            ));
            if want == got {
                out.push_str(&format!(
                    " models: {:?}\n vs      {:?}\n",
                    expected.tables.get(name),
                    actual.tables.get(name)
                ));
            }
        }
    }
    if expected.views != actual.views {
        out.push_str(&format!(
            "views: expected {:?}\n actual {:?}\n",
            expected.views, actual.views
        ));
    }
    if expected.sequences != actual.sequences || expected.enum_types != actual.enum_types {
        out.push_str(&format!(
            "sequences/types: expected {:?} {:?}\n actual {:?} {:?}\n",
            expected.sequences, expected.enum_types, actual.sequences, actual.enum_types
        ));
    }
    if expected.charset != actual.charset || expected.collation != actual.collation {
        out.push_str("database charset differs\n");
    }
    out
}

#[test]
fn diffs_round_trip_on_real_mariadb_and_postgres() {
    let servers = Servers::start();
    let handle = servers.runtime.handle().clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::thread::scope(|scope| {
            let mariadb = scope.spawn(|| {
                let mut engine = handle.block_on(servers.connect(Dialect::Mariadb));
                run_change_kinds(&mut engine, &handle);
                run_property(engine, &handle);
            });
            let postgres = scope.spawn(|| {
                let mut engine = handle.block_on(servers.connect(Dialect::Postgres));
                run_change_kinds(&mut engine, &handle);
                run_property(engine, &handle);
            });
            let results = [mariadb.join(), postgres.join()];
            for result in results {
                if let Err(panic) = result {
                    std::panic::resume_unwind(panic);
                }
            }
        })
    }));
    servers.stop();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
