//! In-memory diff of two 8,192-table schemas with about 10% of the tables changed
//! (target: under 0.5 s), plus normalization, lint and merge at the same size for
//! reference.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dbplane_schema::diff::diff;
use dbplane_schema::lint::{LintOptions, lint};
use dbplane_schema::merge::three_way;
use dbplane_schema::{
    Column, ColumnDefault, DataType, Dialect, ForeignKey, ForeignKeyAction, Index, IndexKind,
    PrimaryKey, Schema, ServerVersion, Table,
};

const TABLES: usize = 8192;

fn table(index: usize) -> Table {
    let mut table = Table::new(format!("table_{index:05}"));
    table.columns = vec![
        Column::new("id", DataType::BIGINT).not_null(),
        Column::new("name", DataType::Varchar(Some(100))).not_null(),
        Column::new("email", DataType::Varchar(Some(255))),
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
        Column::new("created_at", DataType::DateTime { precision: None }),
        Column::new("notes", DataType::Text(dbplane_schema::LobSize::Regular)),
        Column::new("parent_id", DataType::BIGINT),
    ];
    table.primary_key = Some(PrimaryKey::on(&["id"]));
    table
        .indexes
        .push(Index::on("by_name", IndexKind::Plain, &["name"]));
    table
        .indexes
        .push(Index::on("by_email", IndexKind::Unique, &["email"]));
    if index > 0 {
        table.foreign_keys.push(ForeignKey {
            name: format!("fk_{index:05}"),
            columns: vec!["parent_id".into()],
            referenced_table: format!("table_{:05}", index - 1),
            referenced_columns: vec!["id".into()],
            on_delete: ForeignKeyAction::Cascade,
            on_update: ForeignKeyAction::NoAction,
        });
    }
    table
}

/// A and B: B changes every tenth table in one of four ways.
fn schemas() -> (Schema, Schema) {
    let mut a = Schema::new();
    a.collation = Some("utf8mb4_unicode_ci".into());
    for index in 0..TABLES {
        a.add_table(table(index));
    }
    let mut b = a.clone();
    for index in (0..TABLES).step_by(10) {
        let table = b
            .tables
            .get_mut(&format!("table_{index:05}"))
            .expect("table exists");
        match index / 10 % 4 {
            0 => table.columns.push(Column::new("extra", DataType::INT)),
            1 => table.columns[1].data_type = DataType::Varchar(Some(200)),
            2 => table.indexes.push(Index::on(
                "by_status",
                IndexKind::Plain,
                &["status", "created_at"],
            )),
            _ => {
                table.indexes.retain(|i| i.name != "by_name");
                table.columns.retain(|c| c.name != "notes");
            }
        }
    }
    (a, b)
}

fn benches(c: &mut Criterion) {
    let (a, b) = schemas();
    let dialect = Dialect::Mariadb;
    let version = ServerVersion::MARIADB_10_11;
    let started = std::time::Instant::now();
    let changes = diff(&a, &b, dialect, version);
    eprintln!(
        "diff of {TABLES} tables: {} statements in {:?}",
        changes.statements.len(),
        started.elapsed()
    );
    let mut group = c.benchmark_group("schema");
    group.sample_size(10);
    group.bench_function("diff_8192_tables_10pct_changed", |bench| {
        bench.iter(|| diff(black_box(&a), black_box(&b), dialect, version))
    });
    group.bench_function("diff_8192_tables_postgres", |bench| {
        bench.iter(|| {
            diff(
                black_box(&a),
                black_box(&b),
                Dialect::Postgres,
                ServerVersion::POSTGRES_15,
            )
        })
    });
    group.bench_function("normalize_8192_tables", |bench| {
        bench.iter(|| black_box(&a).normalize(dialect))
    });
    let options = LintOptions::new(dialect, "main");
    group.bench_function("lint_8192_tables", |bench| {
        bench.iter(|| lint(black_box(&b), &options))
    });
    group.bench_function("three_way_8192_tables", |bench| {
        bench.iter(|| three_way(black_box(&a), black_box(&b), black_box(&a), dialect))
    });
    group.finish();
}

criterion_group!(diff_benches, benches);
criterion_main!(diff_benches);
