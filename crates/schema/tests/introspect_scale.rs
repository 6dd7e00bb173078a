//! Introspection at scale: a 1,000-table MariaDB database and a 1,000-table PostgreSQL
//! schema, each introspected in under 2 s (target). Ignored by default because creating
//! the tables takes a while; run with
//! `cargo test -p dbplane-schema --test introspect_scale -- --ignored --nocapture`.

#[path = "roundtrip/servers.rs"]
mod servers;

use std::time::{Duration, Instant};

use dbplane_schema::{
    Column, ColumnDefault, DataType, ForeignKey, ForeignKeyAction, Index, IndexKind, PrimaryKey,
    Schema, Table,
};
use dbplane_schema::{Dialect, ddl};
use servers::Servers;

const TABLES: usize = 1000;
const TARGET: Duration = Duration::from_secs(2);

fn schema(dialect: Dialect) -> Schema {
    let mut schema = Schema::new();
    if dialect == Dialect::Mariadb {
        schema.collation = Some("utf8mb4_unicode_ci".into());
    }
    for index in 0..TABLES {
        let mut table = Table::new(format!("t{index:04}"));
        table.columns = vec![
            Column::new("id", DataType::BIGINT).not_null(),
            Column::new("name", DataType::Varchar(Some(100))).not_null(),
            Column::new(
                "amount",
                DataType::Decimal {
                    precision: Some(12),
                    scale: Some(2),
                    unsigned: false,
                },
            ),
            Column::new("status", DataType::INT)
                .not_null()
                .with_default(ColumnDefault::Literal("0".into())),
            Column::new("parent_id", DataType::BIGINT),
        ];
        table.primary_key = Some(PrimaryKey::on(&["id"]));
        table.indexes.push(Index::on(
            format!("t{index:04}_name"),
            IndexKind::Plain,
            &["name"],
        ));
        if index > 0 {
            table.foreign_keys.push(ForeignKey {
                name: format!("t{index:04}_parent"),
                columns: vec!["parent_id".into()],
                referenced_table: format!("t{:04}", index - 1),
                referenced_columns: vec!["id".into()],
                on_delete: ForeignKeyAction::Cascade,
                on_update: ForeignKeyAction::NoAction,
            });
        }
        schema.add_table(table);
    }
    schema
}

#[test]
#[ignore = "creates 2,000 tables; run explicitly for the timing"]
fn introspecting_a_thousand_tables_is_fast() {
    let servers = Servers::start();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        servers.runtime.block_on(async {
            let mut report = Vec::new();
            for dialect in [Dialect::Mariadb, Dialect::Postgres] {
                let expected = schema(dialect);
                let mut engine = servers.connect(dialect).await;
                assert_eq!(engine.dialect(), dialect);
                engine.create_database("scale").await.expect("create database");
                let statements = ddl::create_statements(&expected, dialect);
                let created = Instant::now();
                engine.apply("scale", &statements).await.expect("create tables");
                let creation = created.elapsed();
                let started = Instant::now();
                let introspected = engine.introspect("scale").await.expect("introspect");
                let elapsed = started.elapsed();
                assert_eq!(introspected, expected.normalize(dialect));
                report.push(format!(
                    "{dialect:?}: created {TABLES} tables in {creation:?}, introspected in {elapsed:?}"
                ));
                engine.drop_database("scale").await.expect("drop database");
                assert!(elapsed < TARGET, "{dialect:?} introspection took {elapsed:?}");
            }
            eprintln!("{}", report.join("\n"));
        })
    }));
    servers.stop();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
